"""Small-cell suppression for everything a model card shows.

The rule: no number computed from fewer than ``MIN_CELL`` children is shown. A
count under ``MIN_CELL`` is replaced by the string ``"<10"``; a rate or statistic
whose denominator is under ``MIN_CELL`` children is replaced by ``None`` and the
row is marked ``"suppressed": True``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

__all__ = [
    "MIN_CELL",
    "SMALL",
    "complementary",
    "is_count_key",
    "jsonable",
    "suppress_count",
    "suppress_records",
]

#: Smallest number of children a shown number may be computed from.
MIN_CELL = 10
#: What a suppressed count is shown as.
SMALL = f"<{MIN_CELL}"

# Keys that hold a number of children (or of events among children).
_COUNT_KEYS = {
    "n",
    "k",
    "count",
    "children",
    "rows",
    "true_positives",
    "false_positives",
    "false_negatives",
    "true_negatives",
    "own_flagged",
    "flagged",
    "missed",
    "identified",
}

# Which count column is the denominator of a rate; unknown rates use the row's ``n``.
_DENOMINATOR = {
    "fnr": ("n_positive", "positives", "n_pos"),
    "false_negative_rate": ("n_positive", "positives", "n_pos"),
    "tpr": ("n_positive", "positives", "n_pos"),
    "recall": ("n_positive", "positives", "n_pos"),
    "recall_at_k": ("n_positive", "positives", "n_pos"),
    "true_positive_rate": ("n_positive", "positives", "n_pos"),
    "fpr": ("n_negative", "negatives", "n_neg"),
    "false_positive_rate": ("n_negative", "negatives", "n_neg"),
    "precision": ("n_flagged", "flagged", "k"),
    "ppv": ("n_flagged", "flagged", "k"),
    "precision_at_k": ("n_flagged", "flagged", "k"),
    "own_precision": ("own_flagged",),
}
# Rates that reveal a count: (numerator, denominator). Shown only when both the count
# and its complement (denominator - count) are at least MIN_CELL.
_NUMERATOR = {
    "observed_rate": ("n_events", "n"),
    "ci_low": ("n_events", "n"),
    "ci_high": ("n_events", "n"),
    "precision": ("true_positives", "k"),
    "precision_at_k": ("true_positives", "k"),
    "recall": ("true_positives", "n_positive"),
    "recall_at_k": ("true_positives", "n_positive"),
    "lift": ("true_positives", None),
    "lift_at_k": ("true_positives", None),
}
_ROW_N = ("n", "n_children", "n_test", "count", "children", "size", "k")


def jsonable(obj):
    """numpy/pandas scalars to Python, NaN/NA to None, recursively (tuples become lists)."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, pd.DataFrame):
        return jsonable(obj.to_dict(orient="records"))
    if isinstance(obj, pd.Series):
        return jsonable(obj.to_dict())
    if isinstance(obj, list | tuple | set):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if obj is None or obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(float(obj)) else None
    if isinstance(obj, pd.Timestamp):
        return obj.date().isoformat() if obj == obj.normalize() else obj.isoformat()
    if isinstance(obj, np.datetime64):
        return jsonable(pd.Timestamp(obj)) if not np.isnat(obj) else None
    return obj


def is_count_key(key: str) -> bool:
    """True for keys that hold a number of children."""
    k = str(key)
    return k in _COUNT_KEYS or k.startswith("n_") or k.endswith("_count")


def _number(v) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int | float | np.integer | np.floating):
        f = float(v)
        return f if math.isfinite(f) else None
    return None


def suppress_count(v):
    """A count of children as shown: ``"<10"`` when under :data:`MIN_CELL`.

    Examples
    --------
    >>> from send_early.report._privacy import suppress_count
    >>> suppress_count(9), suppress_count(10), suppress_count(None)
    ('<10', 10, None)
    """
    f = _number(v)
    if f is None:
        return v if isinstance(v, str) else None
    return SMALL if f < MIN_CELL else (int(f) if float(f).is_integer() else f)


def _denominator(row: Mapping, key: str):
    for cand in _DENOMINATOR.get(key, ()):
        if cand in row:
            return row[cand]
    return None


def suppress_records(
    records: Iterable[Mapping],
    *,
    row_n: Iterable[str] = _ROW_N,
    keep: Iterable[str] = (),
    row_flag: str | None = "suppressed",
) -> list[dict]:
    """Suppress a table given as records (a list of dicts), returning new records.

    * A row whose size (the first of ``row_n`` present) is under :data:`MIN_CELL`
      or that is already marked by ``row_flag`` keeps only its labels (strings,
      booleans and the ``keep`` keys); every other number becomes None.
    * Otherwise a rate whose own denominator (for example ``n_positive`` for a
      false negative rate) is under :data:`MIN_CELL` becomes None.
    * A rate that reveals a count (``observed_rate`` from ``n_events``, precision and
      recall from ``true_positives``) becomes None when that count or its complement
      is under :data:`MIN_CELL`.
    * Every count under :data:`MIN_CELL` becomes ``"<10"``.

    ``suppressed`` is set on every row.

    Examples
    --------
    >>> from send_early.report._privacy import suppress_records
    >>> suppress_records([{"group": "a", "n": 9, "fnr": 0.25},
    ...                   {"group": "b", "n": 40, "n_positive": 8, "fnr": 0.5, "fpr": 0.1}])
    [{'group': 'a', 'n': '<10', 'fnr': None, 'suppressed': True},
     {'group': 'b', 'n': 40, 'n_positive': '<10', 'fnr': None, 'fpr': 0.1, 'suppressed': False}]
    """
    keep = set(keep)
    row_n = tuple(row_n)
    out = []
    for rec in records:
        rec = dict(jsonable(rec))
        size_key = next((c for c in row_n if c in rec), None)
        size = _number(rec.get(size_key)) if size_key else None
        small_row = bool(row_flag and rec.get(row_flag)) or (
            size_key is not None and (size is None or size < MIN_CELL)
        )
        new = {}
        for key, v in rec.items():
            if key == "suppressed" or key in keep or isinstance(v, str | bool) or v is None:
                new[key] = v
                continue
            if is_count_key(key):
                new[key] = SMALL if small_row else suppress_count(v)
                continue
            if small_row:
                new[key] = None
                continue
            if key in _NUMERATOR and _NUMERATOR[key][0] in rec:
                num_key, den_key = _NUMERATOR[key]
                num = _number(rec.get(num_key))
                den = _number(rec.get(den_key)) if den_key in rec else None
                if num is None or num < MIN_CELL or (den is not None and den - num < MIN_CELL):
                    new[key] = None
                    continue
            if any(c in rec for c in _DENOMINATOR.get(key, ())):
                dn = _number(_denominator(rec, key))
                if dn is None or dn < MIN_CELL:
                    new[key] = None
                    continue
            new[key] = v
        new["suppressed"] = small_row or bool(rec.get("suppressed"))
        out.append(new)
    return out


def complementary(
    records: list[dict], *, by: str | None = None, size: str = "n", keep: Iterable[str] = ()
) -> list[dict]:
    """Secondary suppression: where exactly one row of a block is suppressed, also
    suppress the smallest shown row, so the hidden count cannot be worked out from
    a total. ``by`` names the column defining blocks (e.g. ``feature``); ``keep``
    lists numeric label columns left as they are.

    Examples
    --------
    >>> from send_early.report._privacy import complementary, suppress_records
    >>> rows = suppress_records([{"g": "a", "n": 5, "rate": 0.2}, {"g": "b", "n": 30, "rate": 0.5},
    ...                          {"g": "c", "n": 60, "rate": 0.4}])
    >>> [r["suppressed"] for r in complementary(rows)]
    [True, True, False]
    """
    keep = set(keep)
    blocks: dict = {}
    for i, r in enumerate(records):
        blocks.setdefault(r.get(by) if by else None, []).append(i)
    out = [dict(r) for r in records]
    for idx in blocks.values():
        hidden = [i for i in idx if out[i].get("suppressed") and out[i].get(size) in (None, SMALL)]
        shown = [i for i in idx if not out[i].get("suppressed")]
        if len(hidden) == 1 and shown:
            smallest = min(shown, key=lambda i: _number(out[i].get(size)) or 0.0)
            r = out[smallest]
            for key, v in list(r.items()):
                if key == by or key in keep or isinstance(v, str | bool) or v is None:
                    continue
                r[key] = SMALL if is_count_key(key) else None
            r["suppressed"] = True
    return out
