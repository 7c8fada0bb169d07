"""The record behind each child's feature value: its date and, for ASQ-3 scores, the
questionnaire interval and the cut-off it is read against.

A side output for reasons a practitioner can check; never a model input.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._columnar import _as_of, _run_ends, _Snapshot, _Store
from ._cutoffs import CUTOFF_TABLES
from ._engine import _feature_rows
from ._population import _typed
from ._spec import FeatureSpec, load_pipeline
from ._special import _latest_row

__all__ = ["feature_records"]

#: Aggregations whose value is one record's (the latest, a preferred one first).
_ONE_RECORD = ("latest", "below_cutoff", "standing")
#: Fields of :func:`feature_records` per feature.
FIELDS = ("date", "n_records", "at_birth", "interval_months", "cutoff", "cutoff_confirmed")


def _cutoff_source(spec, f: FeatureSpec) -> FeatureSpec | None:
    """The spec feature whose cut-off table reads ``f``'s column: ``f`` itself for a
    below-cut-off feature, else a below-cut-off feature on the same table and column."""
    if f.aggregation == "below_cutoff":
        return f
    for g in spec.features:  # loop over features, never over children
        if g.aggregation == "below_cutoff" and g.table == f.table and g.column == f.column:
            return g
    return None


def _one_record(snap: _Snapshot, spec, f: FeatureSpec) -> dict[str, np.ndarray]:
    store = snap.store
    row = _latest_row(snap, f, _feature_rows(snap, f))
    has = row >= 0
    days = store.sorted(f.table)[2]
    date = np.full(store.n, np.nan)
    date[has] = days[row[has]]
    out = {"date": date}
    g = _cutoff_source(spec, f)
    if g is not None:
        interval = np.full(store.n, np.nan)
        interval[has] = store.column(g.table, g.interval_column)[row[has]]
        table = CUTOFF_TABLES[g.cutoff_table]
        lookup = table.lookup(g.column[0])
        confirmed = np.zeros(len(lookup))
        for months, ok in table.confirmed.items():
            confirmed[months] = float(ok)
        known = ~np.isnan(interval) & (interval >= 0) & (interval < len(lookup))
        cut, conf = np.full(store.n, np.nan), np.full(store.n, np.nan)
        at = interval[known].astype(np.int64)
        cut[known], conf[known] = lookup[at], confirmed[at]
        conf[np.isnan(cut)] = np.nan
        out |= {"interval_months": interval, "cutoff": cut, "cutoff_confirmed": conf}
    return out


def _many_records(snap: _Snapshot, f: FeatureSpec) -> dict[str, np.ndarray]:
    """Records behind a count, rate or other summary: how many, and the latest one's date."""
    store = snap.store
    idx = _feature_rows(snap, f)
    _, pos, days = store.sorted(f.table)
    p = pos[idx]
    n = np.bincount(p, minlength=store.n).astype(np.float64)
    date = np.full(store.n, np.nan)
    e = _run_ends(p)
    date[p[e]] = days[idx][e]
    n[n == 0] = np.nan
    return {"date": date, "n_records": n}


def feature_records(tables, as_of, pipeline="default", *, check: bool = True) -> pd.DataFrame:
    """The record behind each child's value of each one-record feature, at ``as_of``.

    A feature whose value is one record's (aggregation ``latest``, ``below_cutoff`` or
    ``standing`` on a dated table, and ``threshold``/``any_of`` features built on them) gets
    the date of that record: the latest one on or before ``as_of`` (a preferred record
    first, as the feature engine picks it), never a later one. A feature summarising
    several records (a count, a rate over a window) gets how many (``n_records``) and the
    latest one's date; a birth record (gestation, birth weight) the birth date
    (``at_birth`` 1.0). Features read against a
    cut-off table (ASQ-3 scores and their below-cut-off flags) get the questionnaire
    interval of that review, the cut-off for it and whether the cut-off was confirmed
    against the publisher's tables. Reasons name the record with these
    (:func:`send_early.explain.explain_local`); they are never model inputs.

    Parameters
    ----------
    tables : Tables or mapping of str to DataFrame
    as_of : date-like
    pipeline : str, path-like or PipelineSpec, default "default"
    check : bool, default True
        Validate the tables first (as :func:`build_features`).

    Returns
    -------
    DataFrame
        Indexed by ``child_id`` (every child in ``children``), with two column levels:
        feature and field (``date`` as datetime64, ``n_records``, ``at_birth``, ``interval_months``,
        ``cutoff``, ``cutoff_confirmed`` as 1.0/0.0), missing where there is no such record.

    Examples
    --------
    >>> from send_early.datasets import make_cohort
    >>> from send_early.features import feature_records
    >>> r = feature_records(make_cohort(300, random_state=0), "2023-08-31")
    >>> sorted(r["asq_communication"].columns)
    ['cutoff', 'cutoff_confirmed', 'date', 'interval_months']
    >>> bool((r.xs("date", axis=1, level=1).max().dropna() <= "2023-08-31").all())
    True
    """
    spec = load_pipeline(pipeline)
    tables = _typed(tables, check)
    as_of = _as_of(as_of, tables)
    store = _Store(tables)
    snap = _Snapshot(store, as_of, np.ones(store.n, bool))
    found: dict[str, dict[str, np.ndarray]] = {}
    for f in spec.features:  # loop over features, never over children
        if f.table == "children" and f.column and f.aggregation == "latest":
            if f.dtype == "category":  # sex, ethnicity: no record to name
                continue
            # a birth record (gestation, birth weight): its date is the birth date
            birth = np.where(store.birth <= snap.day, store.birth, np.nan)
            found[f.name] = {"date": birth, "at_birth": np.ones(store.n)}
        elif f.table and f.table != "children":
            if not store.has(f.table) or f.aggregation == "absent":
                continue
            if f.aggregation in _ONE_RECORD:
                found[f.name] = _one_record(snap, spec, f)
            else:
                found[f.name] = _many_records(snap, f)
        elif f.aggregation == "threshold" and f.source in found:
            found[f.name] = found[f.source]
        elif f.aggregation == "any_of" and all(s in found for s in f.sources):
            # the latest of the sources' records that give a value (a cut-off where needed)
            dates = [
                np.where(np.isnan(found[s].get("cutoff", 0.0)), np.nan, found[s]["date"])
                for s in f.sources
            ]
            found[f.name] = {"date": np.fmax.reduce(dates)}
    cols = {}
    for name, rec in found.items():
        for field in FIELDS:
            if field not in rec:
                continue
            v = rec[field]
            if field == "date":
                days = np.where(np.isnan(v), np.iinfo(np.int64).min, v).astype(np.int64)
                v = days.astype("datetime64[D]").astype("datetime64[ns]")
            cols[(name, field)] = v
    columns = pd.MultiIndex.from_tuples(list(cols), names=["feature", "field"])
    index = pd.Index(store.ids, name="child_id")
    if not cols:
        return pd.DataFrame(index=index, columns=columns)
    return pd.DataFrame(cols, index=index).set_axis(columns, axis=1)
