"""``build_labels`` and ``make_training_frame`` with ``engine="duckdb"``, ``"spark"`` or
``"ibis"``: the label window
compiled through Ibis (first qualifying event per child in one grouped query), the same
labels, censoring and summary as the memory engine (``._labels``)."""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd

from ._ibis import (
    _DAY,
    _ROW,
    _arrow,
    _connect,
    _ibis,
    _population,
    build_features_ibis,
    check_compiled,
)
from ._labels import _label_frame, _stack
from ._population import _REQUESTED, STATUSES


def _day(ts: pd.Timestamp) -> int:
    return (ts.date() - dt.date(1970, 1, 1)).days


def population_of(tables: dict, as_of: pd.Timestamp, spec, day: int, population: str):
    """Every child with its status (index into STATUSES) and age in ``population``, as the
    memory engine's ``._population._status``: ``not_identified`` is ``._ibis._population``;
    ``sen_support`` keeps its births, moves and ages and asks, of the others, whether the latest
    record on or before ``day`` that says anything is a ``sen_support`` event or a census ``K``
    (a later census ``N`` ends it), and whether a request or plan (an ``ehc_request`` or
    ``ehcp`` event, a census ``E``) is on record by then."""
    ibis = _ibis()
    base = _population(tables, as_of, spec, day)
    if population == "not_identified":
        return base
    kinds = []  # (child, day, 1 support / 2 no SEN / 3 request or plan)
    if "sen_events" in tables:
        ev = tables["sen_events"]
        kind = ibis.cases((ev.event == "sen_support", 1), (ev.event.isin(_REQUESTED), 3), else_=0)
        kinds.append(ev.filter(ev[_DAY] <= day).select(_k=ev.child_id, _d=ev[_DAY], _w=kind))
    if "census" in tables:
        ce = tables["census"]
        p = ce.sen_provision
        kind = ibis.cases((p == "K", 1), (p == "N", 2), (p == "E", 3), else_=0)
        kinds.append(ce.filter(ce[_DAY] <= day).select(_k=ce.child_id, _d=ce[_DAY], _w=kind))
    common = base._status.isin([STATUSES.index(s) for s in STATUSES[2:6]])
    if not kinds:  # nobody is on SEN support
        return base.mutate(
            _status=ibis.ifelse(common, base._status, STATUSES.index("not_on_sen_support"))
        )
    u = kinds[0] if len(kinds) == 1 else ibis.union(*kinds, distinct=False)
    g = u.group_by("_k").aggregate(
        _sup=u._d.max(where=u._w == 1),
        _no=u._d.max(where=u._w == 2),
        _req=u._w.max(where=u._w == 3),
    )
    t = base.left_join(g, base.child_id == g._k).drop("_k")
    on_support = t._sup.notnull() & (t._no.isnull() | (t._sup >= t._no)).fill_null(False)
    status = ibis.cases(
        (common, t._status),
        (t._req.notnull(), STATUSES.index("ehc_requested")),
        (~on_support, STATUSES.index("not_on_sen_support")),
        else_=0,
    )
    return t.mutate(_status=status).drop("_sup", "_no", "_req")


def _labels(tables, as_of, horizon_months: int, outcome, spec, extract: pd.Timestamp):
    """(labels frame, summary): as ``._labels._labels``, from one query."""
    ibis = _ibis()
    if "sen_events" not in tables:
        raise ValueError(
            "labels need the sen_events table; the tables given have none. Add sen_events.csv/.parquet."
        )
    day = _day(as_of)
    end_ts = as_of + pd.DateOffset(months=horizon_months)
    end = _day(end_ts)
    everyone = population_of(tables, as_of, spec, day, outcome.population)
    pop = everyone.filter(everyone._status == 0)
    moved = pop.moved_out_date.delta(ibis.date(1970, 1, 1), unit="day")
    t = pop.select("child_id", _ROW, _moved=moved)
    ev = tables["sen_events"]
    hit = ev.filter(ev.event.isin(list(outcome.events)), ev._se_day > day, ev._se_day <= end)
    if outcome.needs:
        known = hit.primary_need.notnull().cast("int32")
        rec = hit.group_by(_rk=hit.child_id).aggregate(_rec=known.sum())
        t = t.left_join(rec, t.child_id == rec._rk).drop("_rk")
        hit = hit.filter(hit.primary_need.isin(list(outcome.needs)))
    first = hit.group_by(_fk=hit.child_id).aggregate(_first=hit._se_day.min())
    t = t.left_join(first, t.child_id == first._fk).drop("_fk").order_by(_ROW)
    r = _arrow(t)

    def col(name, fill):  # an integer column, nulls as ``fill``
        import pyarrow as pa

        return r.column(name).cast(pa.int64()).fill_null(fill).to_numpy()

    big = np.iinfo(np.int64).max
    first = col("_first", big)
    has = first != big
    moved_out = (col("_moved", big) < end) & ~has
    ids = pd.Index(r.column("child_id").to_numpy(zero_copy_only=False), dtype="str")
    unrecorded = (col("_rec", -1) == 0) if outcome.needs else None
    return _label_frame(
        ids.rename("child_id"),
        has,
        first,
        day,
        moved_out,
        unrecorded,
        as_of=as_of,
        end_ts=end_ts,
        horizon_months=horizon_months,
        outcome=outcome,
        extract=extract,
    )


def build_labels_ibis(
    source, as_of, horizon_months: int, outcome, spec, *, engine="duckdb", check=True
):
    """``build_labels(..., engine=...)`` for "duckdb", "spark" and "ibis" (see
    :func:`send_early.features.build_labels`)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "fetch_arrow_table", DeprecationWarning)
        with _connect(source, as_of, check, engine) as (_, tables, as_of, extract):
            out, summary = _labels(tables, as_of, horizon_months, outcome, spec, extract)
    out.attrs = {"summary": summary}
    return out


def make_training_frame_ibis(
    source, as_of_dates, horizon_months, outcome, spec, *, engine="duckdb", check=True
):
    """``make_training_frame(..., engine=...)`` for "duckdb", "spark" and "ibis" (see
    :func:`send_early.features.make_training_frame`)."""
    check_compiled(spec)
    spec = replace(spec, population=outcome.population)  # the outcome's population
    dates = sorted({pd.Timestamp(d) for d in as_of_dates})
    if not dates:
        raise ValueError("as_of_dates must hold at least one date; found none.")

    def snapshot(k, d):
        first = check and k == 0  # validate the tables once
        X = build_features_ibis(source, d, spec, engine=engine, check=first)
        y = build_labels_ibis(source, d, horizon_months, outcome, spec, engine=engine, check=False)
        return pd.Timestamp(X.attrs["as_of"]), X, y, y.attrs["summary"]

    return _stack((snapshot(k, d) for k, d in enumerate(dates)), spec, horizon_months, outcome)
