"""The model card: one JSON file of aggregates and one self-contained HTML page."""

from __future__ import annotations

import copy
import datetime as _dt
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..privacy import is_safe
from ..schema import atomic_write
from ._checks import DEFAULT_THRESHOLDS, MANUAL_CHECKLIST, run_checks
from ._privacy import (
    MIN_CELL,
    SMALL,
    jsonable,
    protect_audit,
    protect_cohort,
    protect_rows,
    show_count,
)

logger = logging.getLogger(__name__)

__all__ = ["ModelCard", "build_model_card", "card_summary", "summarise_data"]

CARD_SCHEMA = "send_early.model_card/1"
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
def _as_dict(obj, what: str) -> dict | None:
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


def _model_section(model) -> tuple[dict, dict, dict]:
    """(model, outcome, features) sections from a RiskModel or a look-alike."""
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
    what = {
        "any_support": "recorded with SEN support or an EHC plan",
        "ehcp": "issued an EHC plan",
    }.get(o, f"recorded with outcome {o!r}")
    outcome["text"] = (
        f"The probability that a child not yet identified at the as-of date is {what} "
        f"within {h} months."
        if h
        else f"The probability that a child is {what}."
    )
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
        "not_used": not_used,
    }
    return jsonable(info), jsonable(outcome), jsonable(features)


def _metadata_summary(model) -> dict:
    meta = dict(getattr(model, "metadata_", None) or {})
    out = {}
    for k, v in meta.items():
        if k.endswith("_text") or k.endswith("sha256"):
            continue
        v = jsonable(v)
        if isinstance(v, bool | str) and len(str(v)) <= 120:
            out[k] = v
        elif isinstance(v, int | float):
            out[k] = v
        elif isinstance(v, list) and all(isinstance(x, str) for x in v) and len(v) <= 50:
            out[k] = v
    for k, v in out.items():
        if k.startswith("n_") and isinstance(v, int | float) and not isinstance(v, bool):
            out[k] = show_count(v)
    for key in ("n_train", "n_calibration"):  # each with its later-identified count
        if isinstance(meta.get(key), int | float):
            row = {"n": meta[key], "n_positive": meta.get(f"{key}_positive")}
            safe = protect_rows([row], "data", events="n_positive")[0]
            out[key] = safe["n"]
            if f"{key}_positive" in out:
                out[f"{key}_positive"] = safe["n_positive"]
    return out


_SUMMARY_COUNTS = ("n_children", "n_positive")


def _data_summary(data_summary, model, evaluation: dict) -> dict:
    out: dict = {"training": _metadata_summary(model)}
    head = evaluation.get("headline") or {}
    if head:
        ev = protect_rows(
            [{k: head.get(k) for k in ("n", "n_positive", "prevalence") if k in head}],
            "data",
            events="n_positive",
            rate_key="prevalence",
        )[0]
        ev.pop("suppressed")
        out["evaluation"] = ev
    if data_summary is None:
        return out
    if not isinstance(data_summary, Mapping):
        raise TypeError(
            f"data_summary must be a dict (see summarise_data); found {type(data_summary).__name__}."
        )
    d = jsonable(data_summary)
    given: dict = {}
    if any(k in d for k in (*_SUMMARY_COUNTS, "prevalence")):
        row = {k: d[k] for k in (*_SUMMARY_COUNTS, "prevalence") if k in d}
        row = protect_rows(
            [row], "data", size="n_children", events="n_positive", rate_key="prevalence"
        )[0]
        given |= {k: v for k, v in row.items() if k != "suppressed"}
    for k in ("extract_date", "source", "notes", "as_of_dates", "date_range"):
        if k in d:
            given[k] = d[k]
    if isinstance(d.get("tables"), Mapping):
        rows = [
            {"table": name, **(v if isinstance(v, Mapping) else {"rows": v})}
            for name, v in d["tables"].items()
        ]
        given["tables"] = [
            {k: (show_count(v) if k in ("rows", "children") else v) for k, v in r.items()}
            for r in rows
        ]
    miss = data_summary.get("missingness") if isinstance(data_summary, Mapping) else None
    if isinstance(miss, pd.Series):
        miss = miss.to_dict()
    if isinstance(miss, Mapping):
        # a share missing reveals the children missing (and recorded) among n_children
        n = d.get("n_children", head.get("n"))
        rows = [{"n": n, "prevalence": jsonable(v)} for v in miss.values()]
        safe = protect_rows(rows, "data", rate_key="prevalence") if n is not None else rows
        given["missingness"] = {str(k): r["prevalence"] for k, r in zip(miss, safe, strict=True)}
    ignored = sorted(set(d) - set(given) - {"synthetic", "tables", "missingness", "prevalence"})
    if ignored:
        logger.info("data_summary keys not shown in the card: %s", ", ".join(ignored))
    out["given"] = given
    return out


def summarise_data(
    features: pd.DataFrame | None = None,
    labels=None,
    *,
    tables=None,
    source: str | None = None,
    synthetic: bool = False,
) -> dict:
    """Aggregate data summary for :func:`build_model_card` (no child-level rows).

    Parameters
    ----------
    features : DataFrame, optional
        One row per child (and as-of date); an ``as_of`` column gives the as-of dates.
        Gives ``n_children`` and per-feature ``missingness`` (share missing).
    labels : array-like or DataFrame, optional
        Outcome labels (0/1) or a frame with a ``label`` column; gives ``n_positive``
        and ``prevalence``.
    tables : mapping of name to DataFrame, optional
        Contract tables; gives rows, distinct children and date range per table,
        and ``extract_date`` when the mapping has one.
    source : str, optional
        Where the data came from, in words.
    synthetic : bool, default False
        True when the data are simulated (adds the synthetic-data caveat to the card).

    Returns
    -------
    dict

    Examples
    --------
    >>> import pandas as pd
    >>> from send_early.report import summarise_data
    >>> f = pd.DataFrame({"age_months": [50, 60, None], "eal": [1, 0, 0]})
    >>> s = summarise_data(f, [0, 1, 0], synthetic=True)
    >>> s["n_children"], s["n_positive"], s["missingness"]["age_months"]
    (3, 1, 0.333...)
    """
    out: dict = {"synthetic": bool(synthetic)}
    if source:
        out["source"] = source
    if features is not None:
        out["n_children"] = int(len(features))
        cols = [c for c in features.columns if c != "as_of"]
        out["missingness"] = {c: float(v) for c, v in features[cols].isna().mean().items()}
        if "as_of" in features.columns:
            dates = pd.to_datetime(features["as_of"]).dropna().unique()
            out["as_of_dates"] = sorted(pd.Timestamp(x).date().isoformat() for x in dates)
    if labels is not None:
        y = labels["label"] if isinstance(labels, pd.DataFrame) else labels
        y = pd.Series(np.asarray(y, dtype=float))
        out["n_positive"] = int(y.sum())
        out["prevalence"] = float(y.mean()) if len(y) else None
    if tables is not None:
        summary = {}
        for name, df in tables.items():
            row: dict = {"rows": int(len(df))}
            if "child_id" in df.columns:
                row["children"] = int(df["child_id"].nunique())
            dates = [c for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c])]
            if dates:
                lo = min(df[c].min() for c in dates)
                hi = max(df[c].max() for c in dates)
                if pd.notna(lo):
                    row["from"], row["to"] = lo.date().isoformat(), hi.date().isoformat()
            summary[name] = row
        out["tables"] = summary
        extract = getattr(tables, "extract_date", None)
        if extract is not None:
            out["extract_date"] = pd.Timestamp(extract).date().isoformat()
    return out


def _explanation(global_explanation, model, n_train) -> dict | None:
    tab = global_explanation
    if tab is None and hasattr(model, "estimator_"):
        try:
            from ..explain import explain_global

            tab = explain_global(model)
        except Exception as exc:  # the card still renders; the section says why
            logger.warning("global explanation unavailable: %s", exc)
            return {"error": f"global explanation unavailable ({type(exc).__name__})"}
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
    from ..explain._explain import pair_rows

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
    return {
        "terms": jsonable(terms.to_dict(orient="records")),
        "shapes": shapes,
        "unit": "points" if "points" in tab.columns else "log-odds",
    }


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


def _evaluation_sections(ev: dict) -> dict:
    out: dict = {}
    head = dict(ev.get("headline") or {})
    at_k = ev.get("capacity")
    if head and at_k and "true_positives" in at_k:
        head["true_positives"] = at_k["true_positives"]
    n, n_pos = head.get("n"), head.get("n_positive")
    if head:
        h = protect_cohort([head])[0]
        h.pop("suppressed")
        out["metrics"] = {"headline": h, "params": ev.get("params") or {}}
    else:
        out["metrics"] = {}
    cal = [_pick(r, _CAL_COLS) for r in ev.get("calibration") or []]
    # the bins partition the cohort: its children and those later identified are published
    totals = {None: {"events": n_pos, "others": n - n_pos}} if head and n_pos is not None else True
    out["calibration"] = protect_rows(
        cal, "calibration", events="n_events", rate_key="observed_rate", totals=totals
    )
    curve = [_pick(r, _CAP_COLS) for r in ev.get("capacity_curve") or []]
    out["capacity"] = {
        "at_k": None
        if not at_k
        else protect_cohort([_pick(at_k, _AT_K)], n=n, n_positive=n_pos)[0],
        "curve": protect_cohort(curve, n=n, n_positive=n_pos, cumulative=True),
    }
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
        out["lead_time"] = {"summary": s, "table": table}
    else:
        out["lead_time"] = None
    base = ev.get("baselines")
    if base:
        rows = [dict(r) for r in base.get("table") or []]
        table = protect_cohort(rows, n=n, n_positive=n_pos)
        # the recall difference and the summary give the model's and the best rule's finds
        both = _finds_shown(table, base, n_pos)
        out["baselines"] = {
            "best_rule": base.get("best_rule"),
            "beats_best_rule": base.get("beats_best_rule"),
            "recall_difference": base.get("recall_difference") if both else None,
            "recall_difference_ci": base.get("recall_difference_ci") if both else None,
            "summary": base.get("summary") if both else None,
            "table": table,
        }
    else:
        out["baselines"] = None
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


def _fairness(audit: dict | None) -> dict | None:
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
    band = audit.get("band") or [
        DEFAULT_THRESHOLDS["fnr_ratio_low"],
        DEFAULT_THRESHOLDS["fnr_ratio_high"],
    ]
    return {
        "caveat": audit.get("caveat") or "",
        "min_cell": max(int(audit.get("min_cell") or MIN_CELL), MIN_CELL),
        "band": band,
        "reference": audit.get("reference") or {},
        "overall": overall,
        "by_group": by_group,
        "disparity": disparity,
    }


_BT_METRICS = (
    "roc_auc",
    "average_precision",
    "brier",
    "ece",
    "precision_at_k",
    "recall_at_k",
    "lift_at_k",
    "prevalence",
)


def _backtest(bt: dict | None) -> dict | None:
    if bt is None:
        return None
    by_year = protect_cohort(bt.get("by_year") or [])
    spread = []
    for m in _BT_METRICS:
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
    return {"by_year": by_year, "spread": spread}


# ----------------------------------------------------------------------------- result
@dataclass(frozen=True, repr=False)
class ModelCard:
    """A written model card.

    Attributes
    ----------
    html_path, json_path : Path
        The self-contained HTML page and the JSON file with the same numbers.
    checks : list of dict
        Automatic reviewer checks: ``name``, ``passed``, ``value``, ``threshold``,
        ``detail``.
    passed : bool
        True when every automatic check passed (the manual checklist is separate).
    """

    html_path: Path
    json_path: Path
    checks: list = field(default_factory=list)
    passed: bool = False
    _data: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The card's content as written to the JSON file (a copy)."""
        return copy.deepcopy(self._data)

    def summary(self) -> str:
        """Plain-text summary (see :func:`card_summary`)."""
        return card_summary(self._data)

    def __repr__(self) -> str:
        failed = [c["name"] for c in self.checks if not c["passed"]]
        return f"ModelCard(passed={self.passed}, failed={failed}, html_path='{self.html_path}')"


def _slug(text: str) -> str:
    s = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(text)).strip("_")
    return s or "model"


def build_model_card(
    model,
    evaluation,
    audit,
    *,
    out_dir: str | os.PathLike,
    data_summary: Mapping | None = None,
    backtest=None,
    global_explanation=None,
    title: str | None = None,
    synthetic: bool | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> ModelCard:
    """Write a model card for registry reviewers: ``<name>_card.html`` and ``.json``.

    Every number shown is an aggregate, and none lets a reader recover a group of 1 to
    9 children (:mod:`send_early.privacy`: counts of 1 to 9 read ``"<10"``; rates,
    shares and statistics that would reveal one, and cells that would let a hidden one
    be worked out from a total, are ``None`` / "suppressed"). No child-level row or id
    is written.

    Parameters
    ----------
    model : RiskModel or look-alike
        Read for ``spec``, ``pipeline``, ``feature_names_``, ``metadata_`` and
        ``calibration_`` (any may be missing).
    evaluation : Evaluation or dict
        ``Evaluation`` from :mod:`send_early.evaluation` or its ``to_dict()``.
    audit : GroupAudit or dict or None
        ``GroupAudit`` from :mod:`send_early.fairness` or its ``to_dict()``.
    out_dir : path
        Folder for the two files (created if needed). Files are written atomically.
    data_summary : dict, optional
        Aggregates from :func:`summarise_data` (counts, dates, missingness).
    backtest : BacktestResult or dict, optional
        From :func:`send_early.evaluation.temporal_backtest`.
    global_explanation : DataFrame, optional
        From :func:`send_early.explain.explain_global`; computed from ``model``
        when omitted and the model is fitted.
    title : str, optional
        Page title; default ``"Model card: <name>"``.
    synthetic : bool, optional
        Whether the data are simulated; default ``data_summary["synthetic"]``.
    thresholds : dict, optional
        Overrides of :data:`DEFAULT_THRESHOLDS` (recorded in the card).

    Returns
    -------
    ModelCard

    Examples
    --------
    >>> import tempfile
    >>> from types import SimpleNamespace
    >>> from send_early.report import build_model_card
    >>> model = SimpleNamespace(feature_names_=["age_months"], metadata_={"n_train": 500})
    >>> ev = {"headline": {"n": 800, "n_positive": 90, "ece": 0.012, "roc_auc": 0.74}}
    >>> card = build_model_card(model, ev, None, out_dir=tempfile.mkdtemp())
    >>> card.passed, [c["name"] for c in card.checks if c["passed"]]
    (False, ['ece_below_threshold', 'protected_not_features'])
    >>> card.json_path.name
    'model_card.json'
    """
    if data_summary is not None and not isinstance(data_summary, Mapping):
        raise TypeError(
            f"data_summary must be a dict (see summarise_data); found {type(data_summary).__name__}."
        )
    ev = _as_dict(evaluation, "evaluation") or {}
    bt = _as_dict(backtest, "backtest")
    if bt is None and isinstance(ev.get("backtest"), Mapping):
        bt = ev["backtest"]
    aud = _as_dict(audit, "audit")
    info, outcome, features = _model_section(model)
    meta = dict(getattr(model, "metadata_", None) or {})
    if synthetic is None:
        synthetic = bool((data_summary or {}).get("synthetic") or meta.get("synthetic"))
    name = info.get("name") or "model"
    card: dict = {
        "schema": CARD_SCHEMA,
        "title": title or f"Model card: {name}" + (" (synthetic data)" if synthetic else ""),
        "generated": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
        "synthetic": bool(synthetic),
        "passed": False,
        "checks": [],
        "thresholds": {**DEFAULT_THRESHOLDS, **(thresholds or {})},
        "min_cell": MIN_CELL,
        "manual_checklist": [
            {"id": i, "item": text, "status": "to confirm by the reviewer"}
            for i, text in MANUAL_CHECKLIST
        ],
        "model": info,
        "intended_use": {"intended": list(INTENDED_USE), "out_of_scope": list(OUT_OF_SCOPE)},
        "data_summary": _data_summary(data_summary, model, ev),
        "outcome": outcome,
        "features": features,
        "explanation": _explanation(global_explanation, model, meta.get("n_train")),
    }
    card |= _evaluation_sections(ev)
    card["fairness"] = _fairness(aud)
    card["backtest"] = _backtest(bt)
    card["limitations"] = list(LIMITATIONS) + ([SYNTHETIC_CAVEAT] if synthetic else [])
    checks = run_checks(card, thresholds)
    card["checks"] = jsonable(checks)
    card["passed"] = all(c["passed"] for c in checks)
    card = jsonable(card)

    from ._template import render_html

    html = render_html(card)
    text = json.dumps(card, indent=2, allow_nan=False, ensure_ascii=False) + "\n"
    out = Path(out_dir)
    stem = "model_card" if not info.get("name") else f"{_slug(name)}_card"
    json_path = atomic_write(out / f"{stem}.json", lambda p: p.write_text(text, encoding="utf-8"))
    html_path = atomic_write(out / f"{stem}.html", lambda p: p.write_text(html, encoding="utf-8"))
    logger.info(
        "model card written to %s (%d checks, passed=%s)", html_path, len(checks), card["passed"]
    )
    return ModelCard(
        html_path=html_path,
        json_path=json_path,
        checks=card["checks"],
        passed=card["passed"],
        _data=card,
    )


# ----------------------------------------------------------------------------- summary
def _fmt(v, pct: bool = False) -> str:
    if v is None:
        return "suppressed"
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{100 * v:.1f}%" if pct else f"{v:.3f}"
    return str(v)


def card_summary(card) -> str:
    """A short plain-text summary of a model card: headline metrics, checks, checklist.

    Parameters
    ----------
    card : path, dict or ModelCard
        The card JSON file, its parsed content, or the result of
        :func:`build_model_card`.

    Examples
    --------
    >>> from send_early.report import card_summary
    >>> print(card_summary({"title": "Model card: demo", "passed": False,
    ...     "metrics": {"headline": {"n": 800, "roc_auc": 0.74, "ece": 0.031}},
    ...     "checks": [{"name": "ece_below_threshold", "passed": False, "value": 0.031,
    ...                 "threshold": 0.02, "detail": "..."}],
    ...     "manual_checklist": [{"id": "dpia", "item": "DPIA done."}]}))
    Model card: demo
    Headline: n 800 | roc_auc 0.740 | ece 0.031
    Automatic checks: 0 passed, 1 failed -> NOT READY for promotion
      [FAIL] ece_below_threshold: 0.031 (threshold 0.02)
    Reviewer checklist (confirm by hand):
      [ ] DPIA done.
    """
    if isinstance(card, ModelCard):
        data = card.to_dict()
    elif isinstance(card, Mapping):
        data = dict(card)
    else:
        path = Path(card)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(
                f"A model card JSON file must exist; {path} was not found."
            ) from None
    lines = [str(data.get("title") or "Model card")]
    if data.get("synthetic"):
        lines.append("Synthetic data: these numbers describe no real child.")
    head = (data.get("metrics") or {}).get("headline") or {}
    keys = [
        ("n", False),
        ("prevalence", True),
        ("roc_auc", False),
        ("average_precision", False),
        ("brier", False),
        ("ece", False),
        ("k", False),
        ("precision_at_k", True),
        ("recall_at_k", True),
    ]
    shown = [f"{k} {_fmt(head[k], pct)}" for k, pct in keys if k in head]
    if shown:
        lines.append("Headline: " + " | ".join(shown))
    base = data.get("baselines") or {}
    if base.get("summary"):
        lines.append("Baselines: " + " ".join(str(base["summary"]).split()))
    checks = data.get("checks") or []
    n_pass = sum(1 for c in checks if c.get("passed"))
    verdict = "ready for review" if data.get("passed") and checks else "NOT READY for promotion"
    lines.append(f"Automatic checks: {n_pass} passed, {len(checks) - n_pass} failed -> {verdict}")
    for c in checks:
        mark = "PASS" if c.get("passed") else "FAIL"
        value = c.get("value")
        v = ", ".join(map(str, value)) if isinstance(value, list) else _fmt(value)
        thr = c.get("threshold")
        lines.append(
            f"  [{mark}] {c.get('name')}: {v if value not in (None, []) else 'n/a'}"
            + (f" (threshold {thr})" if thr not in (None, [], True) else "")
        )
    items = data.get("manual_checklist") or []
    if items:
        lines.append("Reviewer checklist (confirm by hand):")
        lines += [f"  [ ] {it.get('item')}" for it in items]
    return "\n".join(lines)
