"""Simulated inputs for an example model card (tests, docs screenshot, bench).

Nothing here describes a real child: risks, labels and groups are random draws.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

__all__ = ["example_inputs"]

_FEATURES = {
    "age_months": "Age (months)",
    "summer_born": "Born in the summer term",
    "asq_communication_below": "ASQ-3 communication below cut-off",
    "eyfsp_gld": "EYFSP good level of development",
    "attendance_rate_3t": "Attendance rate (last 3 terms)",
    "fsm_current": "Free school meals now",
    "referrals_salt_365d": "Speech and language referrals (last year)",
    "cin_ever": "Ever a child in need",
}


def example_inputs(n: int = 4000, seed: int = 0) -> dict:
    """Keyword arguments for :func:`build_model_card` built on simulated numbers.

    Returns a dict with ``model`` (a look-alike of a fitted RiskModel),
    ``evaluation`` (an :class:`~send_early.evaluation.Evaluation`), ``audit`` (a
    :class:`~send_early.fairness.GroupAudit`), ``backtest``, ``global_explanation``,
    ``data_summary`` and ``title``. Child ids are in ``ids`` (for leak tests only).
    """
    from ..evaluation import Evaluation, flag_top_k, temporal_backtest
    from ..fairness import GroupAudit

    rng = np.random.default_rng(seed)
    ids = np.array([f"SIMCHILD{i:06d}" for i in range(n)])
    X = pd.DataFrame(
        {
            "age_months": rng.integers(36, 72, n),
            "eyfsp_gld": (rng.random(n) < 0.7).astype(int),
            "asq_any_below_cutoff": (rng.random(n) < 0.15).astype(int),
            "persistent_absence": (rng.random(n) < 0.1).astype(int),
        }
    )
    logit = (
        -2.6
        + 1.4 * (1 - X["eyfsp_gld"])
        + 1.1 * X["asq_any_below_cutoff"]
        + 0.6 * X["persistent_absence"]
        + rng.normal(0, 0.8, n)
    )
    risk = 1 / (1 + np.exp(-logit.to_numpy()))
    y = (rng.random(n) < risk).astype(int)
    as_of = pd.Timestamp("2023-09-01")
    months = rng.uniform(0, 24, n)
    event = pd.Series(as_of + pd.to_timedelta(months * 30.4375, unit="D")).where(y == 1)
    share = 0.05
    ev = Evaluation(
        y_true=y, risk=risk, share=share, tiebreak=ids, as_of=as_of, event_date=event, X=X
    )
    flagged = flag_top_k(risk, share=share, tiebreak=ids)
    eth = rng.choice(
        np.array(["White", "Asian", "Black", "Mixed", "Other"], dtype=object),
        n,
        p=[0.7, 0.12, 0.08, 0.07, 0.03],
    )
    eth[:9] = "Gypsy/Roma"  # a group of nine children: every figure must be suppressed
    groups = {
        "sex": rng.choice(["F", "M"], n),
        "ethnicity": eth,
        "fsm": np.where(rng.random(n) < 0.2, "FSM", "not FSM"),
    }
    audit = GroupAudit(
        y_true=y,
        risk=risk,
        flagged=flagged,
        sensitive_features=groups,
        random_state=seed,
        n_bootstrap=100,
    )
    years = rng.choice([2019, 2020, 2021, 2022], n)
    frame = X.assign(label=y, as_of=pd.to_datetime(years.astype(str) + "-09-01"), risk=risk)

    def fit_predict(X_train, y_train, X_test):
        return X_test["risk"].to_numpy()

    backtest = temporal_backtest(frame, fit_predict=fit_predict, share=share)
    rows = []
    for j, (term, label) in enumerate(_FEATURES.items()):
        nb = 6 if term in ("age_months", "attendance_rate_3t") else 2
        counts = rng.multinomial(n, np.full(nb, 1 / nb))
        contrib = np.sort(rng.normal(0, 0.6 / (1 + j), nb)) * (-1 if j % 2 else 1)
        contrib = contrib - np.average(contrib, weights=counts)  # mean zero over children
        bins = [f"{36 + 6 * b}-{42 + 6 * b}" for b in range(nb)] if nb > 2 else ["no", "yes"]
        rows += [
            {
                "term": term,
                "label": label,
                "bin": bins[b],
                "contribution": contrib[b],
                "count": int(counts[b]),
                "share": counts[b] / n,
            }
            for b in range(nb)
        ]
    rows.append(
        {
            "term": "sex",
            "label": "Sex",
            "bin": "F",
            "contribution": 0.0,
            "count": n // 2,
            "share": 0.5,
        }
    )
    expl = pd.DataFrame(rows)
    expl["importance"] = (
        (expl["contribution"].abs() * expl["share"]).groupby(expl["term"]).transform("sum")
    )
    expl["protected"] = expl["term"].eq("sex")
    spec = SimpleNamespace(
        name="default",
        description="Any SEN support within 24 months, for children aged 3 to 6.",
        outcome="any_support",
        horizon_months=24,
        population_age_months=(36, 72),
        estimator="additive",
        calibration="sigmoid",
        capacity_policy="share",
        capacity_value=share,
        use_protected=False,
        exclude=("school_id",),
        text="",
        sha256="0" * 64,
    )
    pipeline = SimpleNamespace(
        name="default",
        labels=dict(_FEATURES) | {"sex": "Sex"},
        protected=["sex", "ethnicity"],
        feature_names=[*_FEATURES, "sex", "ethnicity", "school_id"],
    )
    model = SimpleNamespace(
        spec=spec,
        pipeline=pipeline,
        feature_names_=list(_FEATURES),
        calibration_={"method": "sigmoid", "slope": 1.0, "intercept": 0.0},
        metadata_={
            "train_as_of_dates": ["2019-09-01", "2020-09-01", "2021-09-01"],
            "calibration_as_of": "2022-09-01",
            "extract_date": "2025-08-31",
            "n_train": 3 * n,
            "n_train_positive": int(3 * y.sum()),
            "n_calibration": n,
            "n_calibration_positive": int(y.sum()),
            "contract_version": "1",
            "estimator": "AdditiveRiskClassifier",
        },
    )
    data_summary = {
        "synthetic": True,
        "source": "simulated cohort (example)",
        "extract_date": "2025-08-31",
        "n_children": n,
        "n_positive": int(y.sum()),
        "prevalence": float(y.mean()),
        "as_of_dates": ["2023-09-01"],
        "tables": {
            "children": {"rows": n, "children": n, "from": "2016-09-01", "to": "2020-08-31"},
            "sen_events": {
                "rows": int(y.sum()),
                "children": int(y.sum()),
                "from": "2023-09-02",
                "to": "2025-08-30",
            },
            "social_care": {"rows": 7, "children": 7, "from": "2021-01-04", "to": "2024-02-01"},
        },
        "missingness": {
            "asq_communication": 0.18,
            "eyfsp_gld": 0.05,
            "gestation_weeks": 0.11,
            "attendance_rate_3t": 0.02,
        },
    }
    return {
        "model": model,
        "evaluation": ev,
        "audit": audit,
        "backtest": backtest,
        "global_explanation": expl,
        "data_summary": data_summary,
        "title": "Model card: default (example, simulated numbers)",
        "ids": ids,
    }
