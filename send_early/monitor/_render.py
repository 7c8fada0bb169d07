"""HTML for the monitoring report: tables formatted here, laid out by a Jinja2 template
(autoescaped) in ``templates/``. On a phone each table row becomes a small card."""

from __future__ import annotations

import math

from .._templates import render as _render

__all__ = ["render_monitor"]


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and not math.isfinite(v))


def pct(v) -> str:
    """A share as a percentage to one decimal; hidden or absent reads as a dash."""
    return "–" if _missing(v) or isinstance(v, str) else f"{100 * v:.1f}%"


def num(v, digits: int = 3) -> str:
    return "–" if _missing(v) or isinstance(v, str) else f"{v:.{digits}f}"


def cnt(v) -> str:
    """A count as published: ``<10`` stays, a hidden count reads "hidden"."""
    if isinstance(v, str):
        return v
    return "hidden" if _missing(v) else f"{int(v):,}"


def _yes(v) -> str:
    return "yes" if v else "no"


def _text(v) -> str:
    return "" if v is None else str(v)


# (label, key, formatter, numeric) per column of each table
_COLUMNS = {
    "runs": [
        ("Run (as of, version)", "run", _text, False),
        ("Scored", "scored", cnt, True),
        ("Flagged", "flagged", cnt, True),
        ("Rejected", "rejected", cnt, True),
        ("Warnings", "warnings", _text, True),
    ],
    "stability": [
        ("From", "from", _text, False),
        ("To", "to", _text, False),
        ("Flagged again", "kept_share", pct, True),
        ("Kept", "kept", cnt, True),
        ("Dropped", "dropped", cnt, True),
        ("Gone", "gone", cnt, True),
        ("New", "new", cnt, True),
    ],
    "labels": [
        ("Run", "run", _text, False),
        ("Labels until", "labels_until", _text, False),
        ("Months", "months_elapsed", lambda v: num(v, 1), True),
        ("Complete", "complete", _yes, False),
        ("Flagged and identified", "flagged_identified", cnt, True),
        ("Precision so far", "precision", pct, True),
        ("Identified", "identified", cnt, True),
        ("Recall so far", "recall", pct, True),
    ],
    "calibration": [
        ("Run", "run", _text, False),
        ("Fifth of scores", "band", _text, False),
        ("Children", "children", cnt, True),
        ("Predicted", "mean_risk", pct, True),
        ("Observed so far", "observed_so_far", pct, True),
        ("Complete", "complete", _yes, False),
    ],
    "drift": [
        ("Run", "run", _text, False),
        ("Feature", "name", _text, False),
        ("PSI", "psi", num, True),
        ("Verdict", "verdict", _text, False),
    ],
    "forecast": [
        ("Measure", "measure", _text, False),
        ("Phase", "phase", _text, False),
        ("Term or need", "group", _text, False),
        ("Expected", "expected", lambda v: num(v, 0), True),
        ("95% interval", "interval", lambda v: "–" if v is None else v, True),
    ],
    "outcomes": [
        ("Version", "model_version", _text, False),
        ("Outcome", "text", _text, False),
        ("Flags", "flags", cnt, True),
        ("Share", "share", pct, True),
        ("Median days", "median_days", lambda v: num(v, 0), True),
    ],
}


def _table(kind: str, rows: list[dict]) -> dict:
    cols = [c for c in _COLUMNS[kind] if any(c[1] in r for r in rows)]
    return {
        "columns": [(label, numeric) for label, _, _, numeric in cols],
        "rows": [
            {
                "alert": r.get("verdict") == "alert",
                "cells": [(label, fmt(r.get(key)), numeric) for label, key, fmt, numeric in cols],
            }
            for r in rows
        ],
    }


def render_monitor(report) -> str:
    d = report.to_dict()
    tables = {k: _table(k, d[k]) for k in _COLUMNS if k != "forecast"}
    for by in ("term", "need"):
        tables[f"forecast_{by}"] = _table("forecast", [r for r in d["forecast"] if r["by"] == by])
    return _render("send_early.monitor", "monitor.html.j2", r=report, d=d, tables=tables)
