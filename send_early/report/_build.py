"""Pure builders of the model card's sections from the caller's inputs.

Each builder takes a result object's ``to_dict()`` (or a plain dict) and returns a typed
section (:mod:`._sections`) whose figures already follow the disclosure rule.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .._json import jsonable
from ..evaluation import BACKTEST_METRICS
from ..features import OUTCOMES, outcome_definition
from ..governance import BAND
from ..privacy import is_safe
from ._left_out import left_out_reasons
from ._privacy import MIN_CELL, SMALL, protect_audit, protect_cohort, protect_rows
from ._sections import (
    Backtest,
    Baselines,
    Calibration,
    Capacity,
    Explanation,
    Fairness,
    Features,
    LeadTime,
    Metrics,
    ModelInfo,
    Outcome,
)

logger = logging.getLogger(__name__)

#: Shape plots drawn in the card (most important terms first).
TOP_TERMS = 6

INTENDED_USE = (
    "Decision support for the 'assess' step of the SEND graduated approach (assess, plan, do, "
    "review): a flag prompts a practitioner who knows the child to look again, earlier.",
    "Prioritising a limited number of early reviews (the capacity stated in this card) within "
    "the population, ages, outcome and horizon stated in this card.",
    "Monitoring, in aggregate, whether early signals are picked up similarly across groups.",
)
OUT_OF_SCOPE = (
    "Any eligibility decision: SEN support, EHC needs assessment, EHC plans, funding and "
    "placement are decided by people under the SEND Code of Practice, never by this score.",
    "Automated decisions: nothing is done about a child without a practitioner's review "
    "(UK GDPR Article 22).",
    "Ranking, comparing or judging schools, settings or staff.",
    "Diagnosing a condition, or labelling a child.",
    "Use outside the stated population, ages, outcome and horizon, or on another council's data "
    "without a new evaluation.",
    "Showing a score to anyone without a role in the child's support.",
)
LIMITATIONS = (
    "Identified SEN is not the same as need. The label is a record of SEN support or an EHC "
    "plan; whether a child is identified depends on their school, relative age, language, "
    "family advocacy and services, as well as on need. The model learns who gets identified.",
    "Label bias: groups that are under-identified today have fewer positive labels and so get "
    "lower scores; equal false negative rates against identified labels can hide unequal need.",
    'No figure lets a reader work out a group of 1 to 9 children: such counts read "<10", and '
    'rates, shares and other cells that would reveal one read "suppressed". A missing figure '
    "is not evidence that a group is treated alike.",
    "Calibration and capacity figures hold for the cohort evaluated; re-check them after changes "
    "in recording practice, data feeds or the population (see the backtest and drift checks).",
    "Children with little recorded history (moved in recently, no health review, not yet in "
    "school) have less information behind their score.",
)
SYNTHETIC_CAVEAT = (
    "Every number in this card comes from simulated (synthetic) data. It shows what the card "
    "looks like; it says nothing about how the model would perform for real children."
)


# ----------------------------------------------------------------------------- inputs
def as_dict(obj, what: str) -> dict | None:
    """A result object's ``to_dict()`` (or a dict) as JSON values; None stays None."""
    if obj is None:
        return None
    if hasattr(obj, "to_dict") and not isinstance(obj, Mapping | pd.DataFrame):
        obj = obj.to_dict()
    if not isinstance(obj, Mapping):
        raise TypeError(
            f"{what} must be a result object with .to_dict() or a dict; found {type(obj).__name__}."
        )
    return jsonable(obj)


def _labels(pipeline) -> dict:
    labels = getattr(pipeline, "labels", None) or {}
    if callable(labels):
        labels = labels()
    return dict(labels) if isinstance(labels, Mapping) else {}


def model_sections(model) -> tuple[ModelInfo, Outcome, Features]:
    """The model, outcome and features sections from a RiskModel or a look-alike."""
    spec = getattr(model, "spec", None)
    pipeline = getattr(model, "pipeline", None)
    g = lambda obj, k, d=None: getattr(obj, k, d) if obj is not None else d  # noqa: E731
    meta = dict(getattr(model, "metadata_", None) or {})
    cal = getattr(model, "calibration_", None) or {}
    sha = g(spec, "sha256")
    info = {
        "name": g(spec, "name") or meta.get("model_name") or getattr(model, "name", "model"),
        "description": g(spec, "description", ""),
        "estimator": g(spec, "estimator") or meta.get("estimator"),
        "calibration": (cal.get("method") if isinstance(cal, Mapping) else None)
        or g(spec, "calibration"),
        "capacity_policy": g(spec, "capacity_policy"),
        "capacity_value": g(spec, "capacity_value"),
        "model_spec_sha256": sha or meta.get("model_spec_sha256"),
        "pipeline": g(pipeline, "name"),
        "pipeline_spec_sha256": meta.get("pipeline_spec_sha256") or g(pipeline, "sha256"),
        "contract_version": meta.get("contract_version"),
    }
    ages = g(spec, "population_age_months")
    outcome = {
        "outcome": g(spec, "outcome") or meta.get("outcome"),
        "horizon_months": g(spec, "horizon_months")
        or meta.get("horizon_months")
        or meta.get("horizon"),
        "population_age_months": list(ages) if ages is not None else None,
    }
    o, h = outcome["outcome"], outcome["horizon_months"]
    what = (  # the outcome's own words (send_early.features.Outcome.text)
        outcome_definition(o).text
        if o in OUTCOMES
        else f"a child not yet identified at the as-of date is recorded with outcome {o!r}"
    )
    outcome["text"] = f"The probability that {what}" + (f" within {h} months." if h else ".")
    protected = sorted(set(g(pipeline, "protected", None) or []) | {"sex", "ethnicity"})
    used = list(getattr(model, "feature_names_", None) or [])
    labels = _labels(pipeline)
    available = list(g(pipeline, "feature_names", None) or [])
    exclude = list(g(spec, "exclude", None) or [])
    not_used = [c for c in available if c not in used]
    features = {
        "used": used,
        "labels": {c: labels.get(c, c) for c in used},
        "protected": protected,
        "use_protected": bool(g(spec, "use_protected", False)),
        "excluded_by_spec": exclude,
        "left_out": left_out_reasons(spec),
        "not_used": not_used,
    }
    return ModelInfo(**info), Outcome(**outcome), Features(**features)


def explanation_section(global_explanation, model, n_train) -> Explanation | None:
    """Terms by importance and the shapes of the top single-feature terms."""
    tab = global_explanation
    if tab is None and hasattr(model, "estimator_"):
        try:
            from ..explain import explain_global

            tab = explain_global(model)
        except Exception as exc:  # the card still renders; the section says why
            logger.warning("global explanation unavailable: %s", exc)
            return Explanation(error=f"global explanation unavailable ({type(exc).__name__})")
    if tab is None:
        return None
    if isinstance(tab, Mapping):
        tab = pd.DataFrame(tab)
    elif isinstance(tab, list):
        tab = pd.DataFrame.from_records(tab)
    if not isinstance(tab, pd.DataFrame):
        raise TypeError(
            f"global_explanation must be a DataFrame from explain_global; "
            f"found {type(tab).__name__}."
        )
    tab = tab.copy()
    if "term" not in tab.columns:
        tab["term"] = tab["feature"] if "feature" in tab.columns else tab.index.astype(str)
    if "contribution" not in tab.columns and "points" in tab.columns:
        tab["contribution"] = tab["points"]
    if "label" not in tab.columns:
        tab["label"] = tab["term"]
    if "protected" not in tab.columns:
        tab["protected"] = False
    if "importance" not in tab.columns:
        share = tab["share"].astype(float) if "share" in tab.columns else 1.0
        w = tab["contribution"].astype(float).abs() * share
        tab["importance"] = w.groupby(tab["term"]).transform("sum")
    if "count" not in tab.columns and "share" in tab.columns and isinstance(n_train, int | float):
        tab["count"] = (tab["share"].astype(float) * float(n_train)).round()
    if "bin" in tab.columns:
        tab["bin"] = tab["bin"].astype(str)
    from ..explain import pair_rows

    tab["pair"] = pair_rows(tab)
    terms = (
        tab.groupby("term", sort=False)
        .agg(
            label=("label", "first"),
            importance=("importance", "first"),
            protected=("protected", "first"),
            pair=("pair", "first"),
        )
        .reset_index()
        .sort_values(["importance", "term"], ascending=[False, True], kind="stable")
    )
    shapes = {}
    keep_cols = [
        c for c in ("bin", "contribution", "share", "count", "event_rate") if c in tab.columns
    ]
    # one bar chart per single-feature term; a pair term is a 2-D table, listed (with its
    # importance) in the terms table and kept whole in the explanation logged with the model
    single = ~terms["protected"].astype(bool) & ~terms["pair"].astype(bool)
    for term in terms.loc[single, "term"].head(TOP_TERMS):
        rows = jsonable(tab.loc[tab["term"] == term, keep_cols].to_dict(orient="records"))
        if "count" in keep_cols:  # the term's bins partition the training children
            rows = protect_rows(rows, "shape", size="count", rate_key="event_rate", totals=True)
        shapes[str(term)] = rows
    return Explanation(
        terms=terms.to_dict(orient="records"),
        shapes=shapes,
        unit="points" if "points" in tab.columns else "log-odds",
    )


_CAL_COLS = (
    "bin",
    "n",
    "n_events",
    "mean_predicted",
    "observed_rate",
    "ci_low",
    "ci_high",
    "suppressed",
)
_CAP_COLS = ("k", "share", "n", "n_positive", "true_positives", "precision", "recall", "lift")
_AT_K = (
    "k",
    "share",
    "n",
    "n_positive",
    "true_positives",
    "false_positives",
    "precision",
    "recall",
    "flag_rate",
    "fpr",
    "lift",
    "n_tied_at_cutoff",
)


def _pick(rec: Mapping, cols) -> dict:
    return {c: rec.get(c) for c in cols if c in rec}


def _interval(lo, hi) -> str:
    lo_s = "?" if lo is None else f"{lo:g}"
    return f"{lo_s} or more" if hi is None else f"{lo_s} to under {hi:g}"


def evaluation_sections(ev: Mapping) -> dict:
    """The metrics, calibration, capacity, lead_time and baselines sections (by key)."""
    out: dict = {}
    head = dict(ev.get("headline") or {})
    at_k = ev.get("capacity")
    if head and at_k and "true_positives" in at_k:
        head["true_positives"] = at_k["true_positives"]
    n, n_pos = head.get("n"), head.get("n_positive")
    if head:
        h = protect_cohort([head])[0]
        h.pop("suppressed")
        out["metrics"] = Metrics(headline=h, params=ev.get("params") or {})
    else:
        out["metrics"] = Metrics()
    cal = [_pick(r, _CAL_COLS) for r in ev.get("calibration") or []]
    # the bins partition the cohort: its children and those later identified are published
    totals = {None: {"events": n_pos, "others": n - n_pos}} if head and n_pos is not None else True
    out["calibration"] = protect_rows(
        cal, "calibration", events="n_events", rate_key="observed_rate", totals=totals
    )
    curve = [_pick(r, _CAP_COLS) for r in ev.get("capacity_curve") or []]
    out["capacity"] = Capacity(
        at_k=None if not at_k else protect_cohort([_pick(at_k, _AT_K)], n=n, n_positive=n_pos)[0],
        curve=protect_cohort(curve, n=n, n_positive=n_pos, cumulative=True),
    )
    lt = ev.get("lead_time")
    if lt:
        s = {k: lt.get(k) for k in ("n", "median", "q1", "q3", "iqr", "mean") if k in lt}
        if lt.get("suppressed"):
            s = {k: (SMALL if k == "n" else None) for k in s}
        s = protect_rows([s], "lead_time_summary")[0]
        table = [
            {
                "interval": _interval(r.get("months_from"), r.get("months_to")),
                **_pick(r, ("months_from", "months_to", "n", "share", "suppressed")),
            }
            for r in ev.get("lead_time_table") or []
        ]
        total = s.get("n") if isinstance(s.get("n"), int | float) else None
        table = protect_rows(
            table, "lead_time", totals={None: {"n": total}} if total is not None else True
        )
        out["lead_time"] = LeadTime(summary=s, table=table)
    else:
        out["lead_time"] = None
    base = ev.get("baselines")
    if base:
        rows = [dict(r) for r in base.get("table") or []]
        table = protect_cohort(rows, n=n, n_positive=n_pos)
        # the recall difference and the summary give the model's and the best rule's finds
        both = _finds_shown(table, base, n_pos)
        out["baselines"] = Baselines(
            best_rule=base.get("best_rule"),
            beats_best_rule=base.get("beats_best_rule"),
            recall_difference=base.get("recall_difference") if both else None,
            recall_difference_ci=base.get("recall_difference_ci") if both else None,
            summary=base.get("summary") if both else None,
            table=table,
        )
    else:
        out["baselines"] = None
    out["calibration"] = Calibration(bins=out["calibration"])
    return out


def _is_count(v) -> bool:
    """A shown count (int or float after JSON); hidden counts are "<10" or None."""
    return isinstance(v, int | float) and not isinstance(v, bool)


def _finds_shown(table: list[dict], base: Mapping, n_pos) -> bool:
    """True when the children found by the model and by the best rule are both shown
    (or safe to work out from the recall difference)."""
    model = next((r for r in table if r.get("kind") == "model"), None)
    tp = model.get("true_positives") if model else None
    if not _is_count(tp):
        return False
    best = next((r for r in table if r.get("baseline") == base.get("best_rule")), None)
    if best is not None:
        return _is_count(best.get("true_positives"))
    diff = base.get("recall_difference")
    if not isinstance(diff, int | float) or not isinstance(n_pos, int | float):
        return diff is None
    return is_safe(tp - diff * n_pos)


def _visible(r: Mapping | None, metric: str) -> bool:
    return bool(r) and r.get("n") not in (None, SMALL) and r.get(metric) is not None


def fairness_section(audit: Mapping | None) -> Fairness | None:
    """The group audit with the disclosure rule applied (ratios of hidden groups too)."""
    if audit is None:
        return None
    rows = [
        {k: v for k, v in r.items() if k not in ("suppressed_metrics", "suppressed")}
        for r in audit.get("by_group") or []
    ]
    by_group = protect_audit(rows)
    index = {(r.get("feature"), r.get("group")): r for r in by_group}
    disparity = []
    for d in audit.get("disparity") or []:
        d = dict(d)
        g = index.get((d.get("feature"), d.get("group")))
        ref = index.get((d.get("feature"), d.get("reference")))
        metric = d.get("metric") or "fnr"
        if d.get("suppressed") or not (_visible(g, metric) and _visible(ref, metric)):
            d = {
                k: (v if k in ("feature", "group", "reference", "metric") else None)
                for k, v in d.items()
            } | {"suppressed": True}
        disparity.append(d)
    overall = [r for r in audit.get("overall") or [] if not r.get("suppressed")]
    band = audit.get("band") or list(BAND)
    return Fairness(
        caveat=audit.get("caveat") or "",
        min_cell=max(int(audit.get("min_cell") or MIN_CELL), MIN_CELL),
        band=band,
        reference=audit.get("reference") or {},
        overall=overall,
        by_group=by_group,
        disparity=disparity,
    )


def backtest_section(bt: Mapping | None) -> Backtest | None:
    """The backtest by year and the spread of each metric across test years."""
    if bt is None:
        return None
    by_year = protect_cohort(bt.get("by_year") or [])
    councils = bt.get("by_council")
    if councils is not None:  # each year's councils partition its children
        councils = protect_cohort(councils, by=["test_year"])
    spread = []
    for m in BACKTEST_METRICS:
        vals = np.array(
            [
                r[m]
                for r in by_year
                if isinstance(r.get(m), int | float) and not isinstance(r.get(m), bool)
            ],
            dtype=float,
        )
        if len(vals):
            spread.append(
                {
                    "metric": m,
                    "mean": float(vals.mean()),
                    "sd": float(vals.std(ddof=1)) if len(vals) > 1 else None,
                    "min": float(vals.min()),
                    "max": float(vals.max()),
                    "n_years": len(vals),
                }
            )
    return Backtest(by_year=by_year, spread=spread, by_council=councils)
