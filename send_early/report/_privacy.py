"""What each table of the model card reveals, for the disclosure rule of
:mod:`send_early.privacy` (the one rule; this module only describes the card's tables).

Each ``protect_*`` function rebuilds the counts behind a table's rows from the figures
it is given (a result object's ``to_dict()`` or a plain dict), then applies
:func:`send_early.privacy.protect`. A figure whose counts cannot be rebuilt is hidden.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ..privacy import MIN_CELL, SMALL, as_number, count, protect, rate, show_count, statistic

__all__ = [
    "MIN_CELL",
    "SMALL",
    "protect_audit",
    "protect_cohort",
    "protect_rows",
    "show_count",
]


def _r(x: float) -> float:
    return float(round(x)) if math.isfinite(x) else math.nan


def _or(x: float, default: float) -> float:
    """A count that is not given (hidden upstream) filled so the row stays consistent:
    every sum a reader can work out from the figures shown keeps its true value."""
    return default if math.isnan(x) else x


# --------------------------------------------------------------------- one cohort, one cut
# cells: tp, fp (flagged), fn, tn (not flagged); "tied": children tied at the cut-off
_ALL, _POS, _NEG, _FLG = ("tp", "fp", "fn", "tn"), ("tp", "fn"), ("fp", "tn"), ("tp", "fp")
COHORT = {
    "n": count(*_ALL),
    "n_positive": count(*_POS),
    "prevalence": rate(_POS, _ALL),
    "mean_risk": statistic(_ALL),
    "roc_auc": statistic(_POS, _NEG),
    "average_precision": statistic(_POS, _NEG),
    "brier": statistic(_ALL),
    "ece": statistic(_ALL),
    "k": count(*_FLG),
    "share": rate(_FLG, _ALL),
    "flag_rate": rate(_FLG, _ALL),
    "true_positives": count("tp"),
    "false_positives": count("fp"),
    "precision_at_k": rate("tp", _FLG),
    "precision": rate("tp", _FLG),
    "recall_at_k": rate("tp", _POS),
    "recall": rate("tp", _POS),
    "fpr": rate("fp", _NEG),
    "lift_at_k": rate("tp", _FLG, _POS, _ALL),
    "lift": rate("tp", _FLG, _POS, _ALL),
    "n_tied_at_cutoff": count("tied"),
    "n_test": count(*_ALL),
    # calibration in the large: observed rate (reveals it) minus mean risk (a statistic)
    "calibration_in_the_large": rate(_POS, _ALL),
    "calibration_in_the_large_low": rate(_POS, _ALL),
    "calibration_in_the_large_high": rate(_POS, _ALL),
    "n_train": count("train"),
    "own_flagged": count("own_tp", "own_fp"),
    "own_precision": rate("own_tp", ["own_tp", "own_fp"]),
    "own_recall": rate("own_tp", ["own_tp", "own_fn"]),
    "own_lift": rate("own_tp", ["own_tp", "own_fp"], ["own_tp", "own_fn"], _ALL),
}


def _cohort_cells(r: Mapping, n: float, pos: float) -> dict:
    """tp, fp, fn, tn (and the tied and a rule's own cells) rebuilt from a row's figures."""
    n = as_number(r.get("n", r.get("n_test", n)))
    pos = as_number(r.get("n_positive", pos))
    if math.isnan(pos) and not math.isnan(n):
        pos = _r(as_number(r.get("prevalence")) * n)
    k = as_number(r.get("k"))
    tp = as_number(r.get("true_positives"))
    if math.isnan(tp):
        tp = _r(as_number(r.get("precision", r.get("precision_at_k"))) * k)
    if math.isnan(tp):
        tp = _r(as_number(r.get("recall", r.get("recall_at_k"))) * pos)
    prec = as_number(r.get("precision", r.get("precision_at_k")))
    if math.isnan(k) and prec > 0:
        k = _r(tp / prec)
    pos, k = _or(pos, _or(tp, 0.0)), _or(k, _or(tp, 0.0))
    tp = _or(tp, 0.0)
    out = {"tp": tp, "fp": k - tp, "fn": pos - tp, "tn": n - pos - (k - tp)}
    out["tied"] = as_number(r.get("n_tied_at_cutoff"))
    out["train"] = as_number(r.get("n_train"))
    own_k = as_number(r.get("own_flagged"))
    own_tp = _r(as_number(r.get("own_precision")) * own_k)
    if math.isnan(own_tp):
        own_tp = _r(as_number(r.get("own_recall")) * pos)
    own_tp = _or(own_tp, 0.0)
    own_k = _or(own_k, own_tp)
    out |= {"own_tp": own_tp, "own_fp": own_k - own_tp, "own_fn": pos - own_tp}
    return out


def protect_cohort(
    rows: list[Mapping], *, n=None, n_positive=None, cumulative: bool = False, by=None
) -> list[dict]:
    """Headline, capacity, capacity-curve, baseline and backtest rows: each a cut of one
    cohort of ``n`` children (``n_positive`` later identified) unless the row says. With
    ``by``, each block's rows partition a published total (a backtest year's councils)."""
    recs = [dict(r) | _cohort_cells(r, as_number(n), as_number(n_positive)) for r in rows]
    cells = ["tp", "fp", "fn", "tn", "tied", "train", "own_tp", "own_fp", "own_fn"]
    figures = {k: f for k, f in COHORT.items() if any(k in r for r in rows)}
    return protect(
        recs, cells=cells, figures=figures, cumulative=cumulative, by=by, totals=by is not None
    )


# --------------------------------------------------------------------- partitions of children
_BIN = ("events", "others")
TABLES = {
    "calibration": {
        "n": count(*_BIN),
        "n_events": count("events"),
        "observed_rate": rate("events", _BIN),
        "ci_low": rate("events", _BIN),
        "ci_high": rate("events", _BIN),
        "mean_predicted": statistic(_BIN),
    },
    "shape": {
        "count": count(*_BIN),
        "share": count(*_BIN),
        "event_rate": rate("events", _BIN),
        "contribution": statistic(_BIN),
    },
    "lead_time": {"n": count("n"), "share": count("n")},
    "lead_time_summary": {
        "n": count("n"),
        **{k: statistic("n") for k in ("median", "q1", "q3", "iqr", "mean")},
    },
    "data": {
        "n": count(*_BIN),
        "n_children": count(*_BIN),
        "n_positive": count("events"),
        "prevalence": rate("events", _BIN),
    },
}


def _bin_cells(r: Mapping, size: str, events: str | None, rate_key: str | None) -> dict:
    n = as_number(r.get(size))
    ev = as_number(r.get(events)) if events else math.nan
    if math.isnan(ev) and rate_key:
        ev = _r(as_number(r.get(rate_key)) * n)
    return {"events": _or(ev, 0.0), "others": n - _or(ev, 0.0)}


def protect_rows(
    rows: list[Mapping],
    table: str,
    *,
    size: str = "n",
    events: str | None = None,
    rate_key: str | None = None,
    by=None,
    totals=False,
) -> list[dict]:
    """A table whose rows are groups of children split into those later identified
    (``events``, or ``rate_key`` times ``size``) and the others; see :data:`TABLES`."""
    figures = {k: f for k, f in TABLES[table].items() if any(k in r for r in rows)}
    if table.startswith("lead_time"):
        recs = [dict(r) | {"n": as_number(r.get("n"))} for r in rows]
        return protect(recs, cells=["n"], figures=figures, by=by, totals=totals)
    recs = [dict(r) | _bin_cells(r, size, events, rate_key) for r in rows]
    return protect(recs, cells=list(_BIN), figures=figures, by=by, totals=totals)


# --------------------------------------------------------------------- group audit
_AUDIT = {
    "n": count(*_ALL),
    "fnr": rate("fn", _POS),
    "recall": rate("tp", _POS),
    "flag_rate": rate(_FLG, _ALL),
    "precision": rate("tp", _FLG),
    "fpr": rate("fp", _NEG),
    "prevalence": rate(_POS, _ALL),
    "observed_rate": rate(_POS, _ALL),
    "mean_risk": statistic(_ALL),
    "calibration_gap": rate(_POS, _ALL),
    # need is known only in synthetic cohorts and its counts are not in the card's rows
    "recall_vs_need": rate("need_flagged", "need"),
    "identified_among_need": rate("need_identified", "need"),
}


def _audit_cells(r: Mapping) -> dict:
    n = as_number(r.get("n"))
    pos = _r(as_number(r.get("prevalence", r.get("observed_rate"))) * n)
    flg = _r(as_number(r.get("flag_rate")) * n)
    tp = _r(as_number(r.get("recall")) * pos)
    if math.isnan(tp):
        tp = pos - _r(as_number(r.get("fnr")) * pos)
    if math.isnan(tp):
        tp = _r(as_number(r.get("precision")) * flg)
    tp = _or(tp, 0.0)
    pos, flg = _or(pos, tp), _or(flg, tp)
    nan = math.nan
    return {"tp": tp, "fn": pos - tp, "fp": flg - tp, "tn": n - pos - (flg - tp)} | {
        "need": nan,
        "need_flagged": nan,
        "need_identified": nan,
    }


def protect_audit(rows: list[Mapping]) -> list[dict]:
    """The audit's rows by group; each feature's groups partition the cohort. A
    metric's interval (``<metric>_low``, ``_high``) is shown only with the metric."""
    figures = {}
    for m, f in _AUDIT.items():
        figures |= {m: f, f"{m}_low": f, f"{m}_high": f}
    recs = [dict(r) | _audit_cells(r) for r in rows]
    cells = ["tp", "fn", "fp", "tn", "need", "need_flagged", "need_identified"]
    return protect(recs, cells=cells, figures=figures, by=["feature"], totals=True)
