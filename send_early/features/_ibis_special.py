"""DuckDB (Ibis) versions of the aggregations in :mod:`._special`: each returns one row per
child (``_sk`` the child id, ``_sv`` the value) to be left-joined onto the population."""

from __future__ import annotations

import pandas as pd

from ..schema import TABLES
from ._cutoffs import CUTOFF_TABLES
from ._ibis import _DAY, _KEY, _cond, _ibis, _num, _preferred_key
from ._spec import FeatureSpec

__all__ = ["SPECIAL"]


def _school_year(d):
    return d.year() - (d.month() < 9).cast("int32").cast("int64")  # PostgreSQL: via int32


def _rows(tables: dict, f: FeatureSpec, as_of: pd.Timestamp, day: int):
    t = tables[f.table]
    t = t.filter(t[_DAY] <= day)
    return t.filter(_cond(t, f, as_of, day))


def _with_birth(tables: dict, t):
    ch = tables["children"]
    ch = ch.select(_ck=ch.child_id, _sb=ch.birth_date)
    return t.inner_join(ch, t.child_id == ch._ck)


def below_cutoff(tables: dict, f: FeatureSpec, as_of: pd.Timestamp, day: int):
    ibis = _ibis()
    t = _rows(tables, f, as_of, day)
    x = _num(t, f.table, f.column[0])
    key = _preferred_key(t, f)
    iv = t[f.interval_column]
    table = CUTOFF_TABLES[f.cutoff_table]
    cut = ibis.cases(
        *((iv == m, c[f.column[0]]) for m, c in table.cutoffs.items()),
        else_=ibis.null().cast("float64"),
    )
    # 2 codes "no cut-off" so that arg_max never meets a NULL argument
    code = ibis.cases((cut.isnull(), 2.0), (x < cut, 1.0), else_=0.0)
    a = t.group_by(_sk=t.child_id).aggregate(_c=code.argmax(key, where=x.notnull()))
    return a.select("_sk", _sv=ibis.ifelse(a._c == 2.0, ibis.null().cast("float64"), a._c))


def standing(tables: dict, f: FeatureSpec, as_of: pd.Timestamp, day: int):
    ibis = _ibis()
    t = tables[f.table]
    t = t.filter(t[_DAY] <= day)
    c = ibis.literal(True)
    for col, vals in f.filter.items():
        c = c & t[col].isin(list(vals)).fill_null(False)
    t = _with_birth(tables, t.filter(c))
    d = t[TABLES[f.table].date_column]
    misy = (t._sb.month() + 3) % 12 + 1
    t = t.mutate(_x=_num(t, f.table, f.column[0]), _g=_school_year(d) * 12 + misy - 1)
    t = t.filter(t._x.notnull())
    g = t.group_by(_gg="_g").aggregate(_n=t.count(), _m=t._x.mean(), _sd=t._x.std(how="pop"))
    last = t.group_by(_sk=t.child_id).aggregate(_lx=t._x.argmax(t[_KEY]), _lg=t._g.argmax(t[_KEY]))
    j = last.inner_join(g, last._lg == g._gg)
    z = ibis.cases(
        (j._n < f.min_group, ibis.null().cast("float64")),
        (j._sd > 0, ((j._lx - j._m) / j._sd).round(9)),
        else_=0.0,
    )
    return j.select("_sk", _sv=z)


def moves(tables: dict, f: FeatureSpec, as_of: pd.Timestamp, day: int):
    ibis = _ibis()
    t = _with_birth(tables, _rows(tables, f, as_of, day))
    yg = _school_year(t[TABLES[f.table].date_column]) - _school_year(t._sb) - 5
    w = ibis.window(group_by=t.child_id, order_by=t[_KEY])
    t = t.mutate(_v=t[f.column[0]], _yg=yg)
    t = t.mutate(_pv=t._v.lag().over(w), _pyg=t._yg.lag().over(w))
    changed = t._pv.notnull() & (t._v != t._pv)
    normal = t._yg.isin(list(f.normal_year_groups)) & (t._pyg == t._yg - 1)
    hit = (changed & ~normal.fill_null(False)).cast("int32").cast("int64")
    return t.group_by(_sk=t.child_id).aggregate(_sv=hit.sum().cast("float64"))


def months_known(tables: dict, f: FeatureSpec, as_of: pd.Timestamp, day: int):
    ibis = _ibis()
    parts = []
    for name, t in tables.items():
        if name == "children":
            continue
        t = t.filter(t[_DAY] <= day)
        parts.append(t.select(_sk=t.child_id, _d=t[TABLES[name].date_column]))
    ch = tables["children"]
    if not parts:
        return ch.select(_sk=ch.child_id, _sv=ibis.literal(0.0))
    u = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
    first = u.group_by("_sk").aggregate(_d=u._d.min())
    b = first._d
    m = (
        (as_of.year - b.year()) * 12
        + (as_of.month - b.month())
        - (as_of.day < b.day()).cast("int32").cast("int64")
    )
    return first.select("_sk", _sv=m.cast("float64"))


#: Aggregation kind -> builder of a (``_sk``, ``_sv``) table.
SPECIAL = {
    "below_cutoff": below_cutoff,
    "standing": standing,
    "moves": moves,
    "months_known": months_known,
}
