"""HTML for the monitoring report: tables formatted here (their columns declared in
``columns.toml``), laid out by a Jinja2 template (autoescaped) in ``templates/``. On a phone each table row becomes a small card."""

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


_FORMATS = {
    "text": _text,
    "range": lambda v: "–" if v is None else str(v),
    "yes": _yes,
    "count": cnt,
    "pct": pct,
    "num": num,
    "num0": lambda v: num(v, 0),
    "num1": lambda v: num(v, 1),
}


def _load_columns() -> dict[str, list[tuple]]:
    """(label, key, formatter, numeric) per column of each table, from ``columns.toml``."""
    import tomllib
    from importlib.resources import files

    text = files(__package__).joinpath("columns.toml").read_text(encoding="utf-8")
    return {
        kind: [(label, key, _FORMATS[fmt], numeric) for label, key, fmt, numeric in cols]
        for kind, cols in tomllib.loads(text).items()
    }


_COLUMNS = _load_columns()


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
