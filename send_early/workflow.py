"""The term-by-term workflow a council runs: train, evaluate (with the model card), register.

These functions join the layers; the CLI and the demo are thin wrappers around them.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "EvaluationRun",
    "TrainingResult",
    "evaluate_model",
    "default_evaluation_as_of",
    "train_model",
]

logger = logging.getLogger(__name__)


@dataclass
class EvaluationRun:
    """What :func:`evaluate_model` produced: the evidence a reviewer reads.

    Attributes
    ----------
    evaluation : send_early.evaluation.Evaluation
    audit : send_early.fairness.GroupAudit
    backtest : send_early.evaluation.BacktestResult or None
    card : send_early.report.ModelCard or None
    as_of : Timestamp
    counts : dict
        Population, labelled and censored children at the as-of date.
    by_phase : send_early.evaluation.PhaseEvaluation or None
        Results by phase (under 5, primary), shown on the card.
    """

    evaluation: object
    audit: object
    backtest: object | None
    card: object | None
    as_of: pd.Timestamp
    counts: dict
    by_phase: object | None = None

    def headline_table(self) -> pd.DataFrame:
        """The headline numbers with the best simple rule beside them."""
        h = self.evaluation.headline
        rows = [
            ("children evaluated", f"{h['n']:,}"),
            ("later identified (base rate)", f"{h['n_positive']:,} ({h['prevalence']:.1%})"),
            ("ROC AUC", f"{h['roc_auc']:.3f}"),
            ("average precision", f"{h['average_precision']:.3f}"),
            (
                "Brier score (base-rate only model)",
                f"{h['brier']:.4f} ({h['prevalence'] * (1 - h['prevalence']):.4f})",
            ),
            ("expected calibration error", f"{h['ece']:.4f}"),
            (f"flagged (capacity k = {h['k']:,})", f"{h['k']:,}"),
            ("precision at k", f"{h['precision_at_k']:.1%}"),
            ("recall at k", f"{h['recall_at_k']:.1%}"),
            ("lift at k", f"{h['lift_at_k']:.1f}x"),
        ]
        lt = self.evaluation.lead_time
        if lt and not lt.get("suppressed"):
            rows.append(
                ("median lead time (flagged, later identified)", f"{lt['median']:.1f} months")
            )
        b = self.evaluation.baselines
        if b is not None:
            rows.append(
                (
                    "beats the best simple rule",
                    f"{'yes' if b.beats_best_rule else 'NO'} ({b.best_rule})",
                )
            )
        if self.backtest is not None:
            sp = self.backtest.spread
            if "roc_auc" in sp.index:
                rows.append(
                    (
                        "backtest ROC AUC (mean, sd over years)",
                        f"{sp.loc['roc_auc', 'mean']:.3f} ({sp.loc['roc_auc', 'sd']:.3f})",
                    )
                )
        if self.card is not None:
            failed = [c["name"] for c in self.card.checks if c.get("passed") is False]
            rows.append(
                (
                    "model card checks",
                    f"{len(self.card.checks)} of {len(self.card.checks)} passed"
                    if not failed
                    else f"{len(failed)} of {len(self.card.checks)} FAILED",
                )
            )
        return pd.DataFrame(rows, columns=["measure", "value"])


def default_evaluation_as_of(tables, horizon_months: int) -> pd.Timestamp:
    """The latest as-of date whose whole label window lies before the extract date."""
    extract = pd.Timestamp(tables.extract_date)
    return (extract - pd.DateOffset(months=horizon_months)).normalize()


def _backtest_capacity(model) -> dict:
    # each backtest year has its own cohort: a count stays a count, a share (or a
    # threshold's share, as the refitted estimators are not calibrated) a share
    spec = model.spec
    if spec.capacity_policy == "count":
        return {"k": int(spec.capacity_value)}
    return {"share": float(spec.capacity_value)}


def _capacity_policies(tables, as_of, ids, y, risk, k: int, say) -> dict | None:
    """What each capacity policy by setting gives on the evaluation cohort at the card's k
    (children on no school roll form one setting per locality team, and one without); the
    locality policy when the children table records localities. None without census
    records. With more settings than k, one flag per setting cannot be given: the minimum
    policy is left out and the card shows the summary only (no row per setting)."""
    from .batch import current_setting, recorded_locality, setting_key
    from .evaluation import CAPACITY_POLICIES, compare_capacity_policies

    if "census" not in tables:
        return None
    setting = setting_key(*current_setting(tables, as_of, ids))
    locality = recorded_locality(tables, ids)
    n_settings = len(np.unique(setting))
    policies = [p for p in CAPACITY_POLICIES if p != "locality" or (locality != "").any()]
    many = n_settings > k
    if many:
        policies.remove("minimum")
    say(f"capacity policies over {n_settings:,} settings" + (" (summary only)" if many else ""))
    args = {"k": k, "minimum": 1, "tiebreak": ids, "locality": locality, "policies": policies}
    table = functools.partial(compare_capacity_policies, risk, y, setting, **args)
    return {"k": k, "summary": table(), "by_setting": None if many else table(by_setting=True)}


def evaluate_model(
    model,
    tables,
    as_of=None,
    *,
    out_dir: str | os.PathLike | None = None,
    truth: pd.DataFrame | None = None,
    backtest: bool = True,
    backtest_dates=None,
    synthetic: bool | None = None,
    progress: Callable[[str], None] | None = None,
) -> EvaluationRun:
    """Evaluate a fitted model on a later cohort and write its model card.

    Parameters
    ----------
    model : fitted RiskModel
    tables : Tables
        Contract tables with ``sen_events`` covering ``as_of + horizon``.
    as_of : date-like, optional
        Default: the latest date whose label window ends by the extract date.
    out_dir : path, optional
        Where to write the model card (HTML and JSON); no card when omitted.
    truth : DataFrame, optional
        Hidden truth of a synthetic cohort (indexed by child_id with a
        ``true_need`` 0/1 column): the audit then also reports recall against
        true need, showing where identification bias hides children.
    backtest : bool
        Run a temporal backtest over the model's training dates (refits the
        estimator once per test year).
    backtest_dates : list of date-like, optional
        Yearly as-of dates for the backtest; default the model's training and
        calibration dates.
    synthetic : bool, optional
        Mark the card as built on simulated data (default: True when ``truth`` is given).
    progress : callable(str), optional
        Told about each step (the CLI prints it).
    """
    from sklearn.base import clone

    from .evaluation import Evaluation, PhaseEvaluation, temporal_backtest
    from .fairness import GroupAudit, standard_groups
    from .features import build_features, build_labels, make_training_frame
    from .schema import check_tables

    say = progress or (lambda s: None)
    tables = check_tables(tables)
    spec = model.spec
    as_of = (
        pd.Timestamp(as_of)
        if as_of is not None
        else default_evaluation_as_of(tables, spec.horizon_months)
    )

    # every training frame below is built with the model's pipeline, horizon and outcome
    frame_args = {
        "horizon_months": spec.horizon_months,
        "pipeline": model.pipeline,
        "outcome": spec.outcome,
    }

    say(f"building features and labels at {as_of.date()}")
    all_feats = build_features(tables, as_of, pipeline=model.pipeline, check=False)
    feats = all_feats[model._in_age_range(all_feats)]
    labels = build_labels(tables, as_of, horizon_months=spec.horizon_months, outcome=spec.outcome)
    idx = feats.index.intersection(labels.index)
    if len(idx) == 0:
        raise ValueError(
            f"no child at {as_of.date()} has a complete {spec.horizon_months}-month label window "
            f"before the extract date {tables.extract_date.date()}; choose an earlier as-of date."
        )
    f, lab = feats.loc[idx], labels.loc[idx]
    y = lab["label"].to_numpy(dtype=int)
    risk = model.predict_proba(f)
    ids = f.index.to_numpy(dtype=str)
    # the model's own capacity rule: the evaluation and the group audit see these children
    _, flagged, k = model.apply_capacity(risk, ids)

    say("age-only baseline data (the model's calibration cohort)")
    cal_as_of = pd.Timestamp(model.metadata_["calibration_as_of"])
    tr = make_training_frame(tables, [cal_as_of], **frame_args)
    tr = tr[model._in_age_range(tr)]  # the model's own population, as its calibration was
    say("metrics, capacity, lead time and baselines")
    evaluation = Evaluation(
        y_true=y,
        risk=risk,
        tiebreak=ids,
        as_of=np.full(len(f), as_of.to_datetime64()),
        event_date=lab["event_date"].to_numpy(),
        X=f,
        X_train=tr.drop(columns=["label"]),
        y_train=tr["label"].to_numpy(dtype=int),
        k=k,
    )
    by_phase = PhaseEvaluation(
        y_true=y, risk=risk, flagged=flagged, age_months=f["age_months"].to_numpy(dtype=float)
    )
    say("group audit")
    groups = standard_groups(f, tables=tables, as_of=as_of)  # tables: new arrivals
    y_need = None
    if truth is not None and "true_need" in truth.columns:
        y_need = truth["true_need"].reindex(f.index).to_numpy(dtype=float)
        if np.isnan(y_need).any():
            y_need = None
    audit = GroupAudit(
        y_true=y,
        risk=risk,
        flagged=flagged,
        sensitive_features=groups,
        y_need=y_need,
        n_bootstrap=200,
        random_state=0,
    )
    bt = None
    if backtest:
        dates = sorted(
            pd.Timestamp(d)
            for d in (
                backtest_dates
                or [*model.metadata_["train_as_of_dates"], model.metadata_["calibration_as_of"]]
            )
        )
        say(f"temporal backtest over {len(dates)} as-of dates (refits the estimator)")
        frame = make_training_frame(tables, dates, **frame_args)
        frame = frame[model._in_age_range(frame)]
        data = frame[[*model.feature_names_, "label"]].reset_index()
        kids = tables["children"]
        if "council_id" in kids.columns:  # calibration per council; never a feature
            data["council_id"] = data["child_id"].map(kids.set_index("child_id")["council_id"])
        data = data.drop(columns=["child_id"])

        def fit_predict(X_train, y_train, X_test):
            est = clone(model.estimator_).fit(X_train[model.feature_names_], y_train)
            return est.predict_proba(X_test[model.feature_names_])[:, 1]

        gap = max(1, int(np.ceil(spec.horizon_months / 12)))
        try:
            bt = temporal_backtest(
                data,
                fit_predict=fit_predict,
                as_of_col="as_of",
                gap_years=gap,
                **_backtest_capacity(model),
            )
        except ValueError as exc:
            logger.warning("backtest skipped: %s", exc)
            say(f"backtest skipped: {exc}")
    card = None
    if out_dir is not None:
        from .explain import explain_global
        from .report import build_model_card, summarise_data

        say("model card")
        summary = summarise_data(
            f,
            y,
            tables=tables,
            synthetic=bool(truth is not None if synthetic is None else synthetic),
        )
        card = build_model_card(
            model,
            evaluation,
            audit,
            out_dir=out_dir,
            data_summary=summary,
            backtest=bt,
            global_explanation=explain_global(model, f),
            by_phase=by_phase,
            capacity_policies=_capacity_policies(tables, as_of, ids, y, risk, k, say),
        )
    counts = {
        "population": int(len(feats)),
        "evaluated": int(len(idx)),
        "censored": int(len(feats) - len(idx)),
        "as_of": as_of.date().isoformat(),
    }
    return EvaluationRun(
        evaluation=evaluation,
        audit=audit,
        backtest=bt,
        card=card,
        as_of=as_of,
        counts=counts,
        by_phase=by_phase,
    )


@dataclass(frozen=True)
class TrainingResult:
    """What :func:`train_model` produced.

    Attributes
    ----------
    model : send_early.RiskModel
        Fitted and calibrated.
    run : EvaluationRun
        The evaluation, group audit, backtest and model card.
    logged : send_early.registry.LoggedModel or None
        The registered candidate (run id, model URI, version), when ``register`` was given.
    """

    model: object
    run: EvaluationRun
    logged: object | None = None


def train_model(
    tables,
    model_spec="default",
    as_of_dates=None,
    *,
    out_dir: str | os.PathLike | None = None,
    register: str | None = None,
    tracking_uri: str | None = None,
    truth: pd.DataFrame | None = None,
    backtest: bool = True,
    backtest_dates=None,
    progress: Callable[[str], None] | None = None,
) -> TrainingResult:
    """Fit, calibrate, evaluate, write the card, and (optionally) log and register.

    ``backtest_dates`` are the yearly as-of dates of the temporal backtest (default: the
    model's training and calibration dates; see :func:`evaluate_model`).

    Returns
    -------
    TrainingResult
        The fitted ``model``, the ``run`` (:class:`EvaluationRun`) and, when registered,
        ``logged`` (run id, model URI, version).
    """
    from .model import RiskModel

    say = progress or (lambda s: None)
    model = RiskModel.from_spec(model_spec)
    say(
        f"fitting {model.spec.estimator} model {model.name!r} "
        "(features and labels at each as-of date, fit, calibration: the longest step)"
    )
    model.fit(tables, as_of_dates)
    say(
        f"fitted on {model.metadata_['n_train']:,} rows (one per child and as-of date), "
        "calibrated on "
        f"{model.metadata_['n_calibration']:,} children at {model.metadata_['calibration_as_of']}"
    )
    out = Path(out_dir) if out_dir is not None else None
    run = evaluate_model(
        model,
        tables,
        out_dir=out,
        truth=truth,
        backtest=backtest,
        backtest_dates=backtest_dates,
        progress=say,
    )
    logged = None
    if out is not None:
        say(f"saving the model to {out / 'model'}")
        model.save(out / "model")
    if register:
        from .registry import log_model

        say(f"logging and registering as {register!r}")
        card_paths = [run.card.html_path, run.card.json_path] if run.card is not None else None
        logged = log_model(
            model,
            evaluation=run.evaluation,
            audit=run.audit,
            card_paths=card_paths,
            registered_name=register,
            tracking_uri=tracking_uri,
        )
    return TrainingResult(model=model, run=run, logged=logged)
