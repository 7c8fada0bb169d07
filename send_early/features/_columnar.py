"""Tables as flat, sorted columns: a child's rows are one contiguous run, dated in order.

Every table is sorted once by (child, date) into numpy arrays (:class:`_Store`); a
snapshot at an as-of date keeps the rows dated on or before it (:class:`_Snapshot`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import TABLES, Tables


def _as_of(value, tables: Tables) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValueError(f"as_of must be a date (e.g. '2021-09-01'); found {value!r}.") from None
    if ts is pd.NaT or pd.isna(ts):
        raise ValueError(f"as_of must be a date (e.g. '2021-09-01'); found {value!r}.")
    if ts.tz is not None:
        raise ValueError(f"as_of must be a date without a time zone; found {value!r}.")
    ts = ts.normalize()
    if ts > tables.extract_date:
        raise ValueError(
            f"as_of must be on or before the extract date {tables.extract_date.date()}; found {ts.date()}. "
            "Records after the extract are unknown: pick an earlier as-of date."
        )
    births = tables["children"]["birth_date"]
    if len(births) and ts < births.min():
        raise ValueError(
            f"as_of must be on or after the earliest birth date {births.min().date()}; found {ts.date()}. "
            "No child was born yet: pick a later as-of date."
        )
    return ts


def _day(ts: pd.Timestamp) -> int:
    return int(np.datetime64(ts.date(), "D").astype(np.int64))


_PER_DAY = {
    "D": 1,
    "h": 24,
    "m": 1440,
    "s": 86_400,
    "ms": 86_400_000,
    "us": 86_400 * 10**6,
    "ns": 86_400 * 10**9,
}


def _days(values) -> np.ndarray:
    """datetime-like array -> int64 days since epoch (NaT -> INT64 min), floored."""
    a = np.asarray(values)
    unit = np.datetime_data(a.dtype)[0] if a.dtype.kind == "M" else None
    if unit not in _PER_DAY:
        return a.astype("datetime64[D]").astype(np.int64)
    i = a.view(np.int64)
    nat = i == np.iinfo(np.int64).min
    return np.where(nat, i, i // _PER_DAY[unit])


_NAT = np.iinfo(np.int64).min


def _arrow_str(s: pd.Series) -> pa.Array:
    try:
        return pa.array(s.array)
    except (
        TypeError,
        pa.ArrowInvalid,
        pa.ArrowTypeError,
    ):  # pragma: no cover - checked tables hold str ids
        return pa.array(s.astype("str").to_numpy(dtype=object), type=pa.large_string())


def _positions(values: pd.Series, ids: pa.Array) -> np.ndarray:
    """Position of each value in ``ids`` (-1 if absent), hashing each run of equal values once.

    Tables are usually grouped by child, so only the first row of each run is
    looked up (with Arrow's C++ hash join) and the result repeated.
    """
    v = _arrow_str(values)
    n = len(v)
    if n == 0:
        return np.zeros(0, np.int64)
    if v.type != ids.type:
        v = v.cast(ids.type)
    neq = pc.fill_null(pc.not_equal(v[1:], v[:-1]), True).to_numpy(zero_copy_only=False)
    heads = np.flatnonzero(np.r_[True, neq])
    if len(heads) < 0.7 * n:
        r = pc.fill_null(pc.index_in(v.take(pa.array(heads)), value_set=ids), -1).to_numpy(
            zero_copy_only=False
        )
        return np.repeat(r.astype(np.int64), np.diff(np.r_[heads, n]))
    return (
        pc.fill_null(pc.index_in(v, value_set=ids), -1)
        .to_numpy(zero_copy_only=False)
        .astype(np.int64)
    )


def _run_starts(p: np.ndarray) -> np.ndarray:
    if len(p) == 0:
        return np.zeros(0, np.int64)
    return np.flatnonzero(np.r_[True, p[1:] != p[:-1]])


def _run_ends(p: np.ndarray) -> np.ndarray:
    if len(p) == 0:
        return np.zeros(0, np.int64)
    return np.flatnonzero(np.r_[p[1:] != p[:-1], True])


class _Store:
    """Typed tables as flat arrays sorted by (child position, date)."""

    def __init__(self, tables: Tables):
        self.tables = tables
        ch = tables["children"]
        self.ids = pd.Index(ch["child_id"].array, dtype="str")
        self._ids_pa = _arrow_str(ch["child_id"])
        self.n = len(ch)
        self.birth = _days(ch["birth_date"].to_numpy())
        mo = ch["moved_out_date"]
        self.moved_out = np.where(
            mo.isna().to_numpy(), np.iinfo(np.int64).max, _days(mo.to_numpy())
        )
        self._sorted: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._cols: dict[tuple[str, str], np.ndarray] = {}

    def has(self, table: str) -> bool:
        return table in self.tables

    def sorted(self, table: str) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        """(row order or None if already sorted, child positions, days), by child then date."""
        if table not in self._sorted:
            df = self.tables[table]
            pos = _positions(df["child_id"], self._ids_pa)
            days = _days(df[TABLES[table].date_column].to_numpy())
            # one int64 sort key: position in the high bits, day (offset to >= 0) in the low 22 bits
            pos = pos.astype(np.int64)
            key = (pos << 22) | (days - days.min(initial=0) if len(days) else days)
            if len(key) < 2 or bool(np.all(key[1:] >= key[:-1])):  # already sorted: no gathers
                self._sorted[table] = (None, pos, days)
            else:
                order = np.argsort(key, kind="stable")
                self._sorted[table] = (order, pos[order], days[order])
        return self._sorted[table]

    def column(self, table: str, col: str) -> np.ndarray:
        """A column as float64 in sorted order (codes for code/str columns, days for dates)."""
        k = (table, col)
        if k not in self._cols:
            order = self.sorted(table)[0]
            s = self.tables[table][col]
            kind = TABLES[table].column(col).kind
            if kind == "code":
                v = s.cat.codes.to_numpy().astype(np.float64)
                v[v < 0] = np.nan
            elif kind in ("str", "id"):
                v = pd.factorize(s)[0].astype(np.float64)
                v[v < 0] = np.nan
            elif kind == "date":
                d = _days(s.to_numpy())
                v = np.where(d == _NAT, np.nan, d.astype(np.float64))
            else:
                v = s.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
            self._cols[k] = v if order is None else v[order]
        return self._cols[k]


class _Snapshot:
    """Rows on or before ``as_of`` of children with ``keep`` set."""

    def __init__(self, store: _Store, as_of: pd.Timestamp, keep: np.ndarray):
        self.store = store
        self.as_of = as_of
        self.day = _day(as_of)
        self.keep = keep
        self._idx: dict[str, np.ndarray] = {}

    def idx(self, table: str) -> np.ndarray:
        """Positions (into the sorted table) of kept rows, in sorted order."""
        if table not in self._idx:
            _, pos, days = self.store.sorted(table)
            m = days <= self.day
            m = m & (pos >= 0)
            m[m] = self.keep[pos[m]]
            self._idx[table] = np.flatnonzero(m)
        return self._idx[table]


def _age_months(birth_days: np.ndarray, as_of: pd.Timestamp) -> np.ndarray:
    b = pd.DatetimeIndex(birth_days.astype("datetime64[D]"))
    m = (as_of.year - b.year.to_numpy()) * 12 + (as_of.month - b.month.to_numpy())
    m = m - (as_of.day < b.day.to_numpy())
    return m.astype(np.float64)
