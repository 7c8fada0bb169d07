"""Memory-engine aggregations that read more than one child's rows or another table:
below an interval's cut-off, standing among children born in the same month, school moves
outside the normal transfer points, and months known (see ``AGGREGATIONS``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import TABLES
from ._columnar import _age_months, _run_ends, _run_starts, _Snapshot, _Store
from ._cutoffs import CUTOFF_TABLES
from ._spec import FeatureSpec

__all__ = ["below_cutoff", "months_known", "moves", "school_year", "standing"]


def school_year(days: np.ndarray) -> np.ndarray:
    """The school year (starting 1 September) a day falls in, as the year it starts."""
    d = days.astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    return y - (m < 9)


def _month_in_school_year(days: np.ndarray) -> np.ndarray:
    m = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1
    return (m - 9) % 12 + 1


def _filter_mask(store: _Store, f: FeatureSpec, rows: np.ndarray) -> np.ndarray:
    m = np.ones(len(rows), bool)
    for col, vals in f.filter.items():
        codes = TABLES[f.table].column(col).codes
        m &= np.isin(store.column(f.table, col)[rows], [codes.index(x) for x in vals])
    return m


def _latest_row(snap: _Snapshot, f: FeatureSpec, idx: np.ndarray) -> np.ndarray:
    """Per child, the sorted-table row of the latest record with a value (``prefer`` first), or -1."""
    store = snap.store
    v = store.column(f.table, f.column[0])[idx]
    sel = idx[~np.isnan(v)]
    p = store.sorted(f.table)[1][sel]
    pref = np.ones(len(sel), bool) if f.prefer else np.zeros(len(sel), bool)
    for col, vals in f.prefer.items():
        codes = TABLES[f.table].column(col).codes
        pref &= np.isin(store.column(f.table, col)[sel], [codes.index(x) for x in vals])
    out = np.full(store.n, -1, np.int64)
    for part in (~pref, pref):  # the fallback first, a preferred record overwrites it
        e = _run_ends(p[part])
        out[p[part][e]] = sel[part][e]
    return out


def below_cutoff(snap: _Snapshot, f: FeatureSpec, idx: np.ndarray) -> np.ndarray:
    """1/0 against the cut-off of the chosen review's own interval; NaN without one."""
    store = snap.store
    row = _latest_row(snap, f, idx)
    has = np.flatnonzero(row >= 0)
    score = store.column(f.table, f.column[0])[row[has]]
    interval = store.column(f.table, f.interval_column)[row[has]]
    lookup = CUTOFF_TABLES[f.cutoff_table].lookup(f.column[0])
    ok = ~np.isnan(interval) & (interval >= 0) & (interval < len(lookup))
    cut = np.full(len(has), np.nan)
    cut[ok] = lookup[interval[ok].astype(np.int64)]
    out = np.full(store.n, np.nan)
    out[has] = np.where(np.isnan(cut), np.nan, (score < cut).astype(np.float64))
    return out


def standing(snap: _Snapshot, f: FeatureSpec, idx: np.ndarray) -> np.ndarray:
    """z-score of the latest value within (school year assessed, month of birth in school year).

    The groups are built from every child's records dated on or before the as-of date.
    """
    store = snap.store
    _, pos, days = store.sorted(f.table)
    rows = np.flatnonzero((days <= snap.day) & (pos >= 0))
    rows = rows[_filter_mask(store, f, rows)]
    v = store.column(f.table, f.column[0])[rows]
    rows, v = rows[~np.isnan(v)], v[~np.isnan(v)]

    def group(r: np.ndarray) -> np.ndarray:
        return school_year(days[r]) * 12 + _month_in_school_year(store.birth[pos[r]]) - 1

    keys, inv = np.unique(group(rows), return_inverse=True)
    n = np.bincount(inv, minlength=len(keys)).astype(np.float64)
    mean = np.bincount(inv, weights=v, minlength=len(keys)) / np.maximum(n, 1)
    sd = np.sqrt(np.bincount(inv, weights=(v - mean[inv]) ** 2, minlength=len(keys)) / n)
    row = _latest_row(snap, f, idx)
    has = np.flatnonzero(row >= 0)
    g = np.searchsorted(keys, group(row[has]))  # every chosen row is in its own group
    x = store.column(f.table, f.column[0])[row[has]]
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(sd[g] > 0, (x - mean[g]) / sd[g], 0.0)
    out = np.full(store.n, np.nan)
    # rounded: a standing computed in two groups of different sizes is then one value
    out[has] = np.where(n[g] >= f.min_group, np.round(z, 9), np.nan)
    return out


def moves(snap: _Snapshot, f: FeatureSpec, idx: np.ndarray) -> np.ndarray:
    """Changes of ``column`` between consecutive records, except normal transfers."""
    store = snap.store
    _, pos, days = store.sorted(f.table)
    p, d, v = pos[idx], days[idx], store.column(f.table, f.column[0])[idx]
    yg = school_year(d) - school_year(store.birth[p]) - 5  # 0 = Reception
    same = p[1:] == p[:-1]
    changed = same & (v[1:] != v[:-1])
    normal = np.isin(yg[1:], list(f.normal_year_groups)) & (yg[:-1] == yg[1:] - 1)
    out = np.bincount(p[1:][changed & ~normal], minlength=store.n).astype(np.float64)
    out[np.bincount(p, minlength=store.n) == 0] = np.nan
    return out


def months_known(store: _Store, day: int, as_of: pd.Timestamp) -> np.ndarray:
    """Completed months since the earliest record in any table but children (0 if none)."""
    first = np.full(store.n, day, np.int64)
    for name in TABLES:
        if name == "children" or not store.has(name):
            continue
        _, pos, days = store.sorted(name)
        m = (days <= day) & (pos >= 0)
        p, d = pos[m], days[m]
        s = _run_starts(p)  # sorted by child then date: a run's first row is its earliest
        first[p[s]] = np.minimum(first[p[s]], d[s])
    return np.maximum(_age_months(first, as_of), 0.0)
