"""Vectorised helpers of the generator: day arithmetic, school calendars, typed columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ..schema import (
    TABLES,
)
from ._params import _EPOCH, _STR


def _days(value) -> int:
    """Days since 1970-01-01 of a date-like value."""
    return int((np.datetime64(pd.Timestamp(value).date(), "D") - _EPOCH).astype(np.int64))


def _d(arr: np.ndarray) -> np.ndarray:
    """int day numbers -> datetime64[D]."""
    return _EPOCH + np.asarray(arr, dtype=np.int64).astype("timedelta64[D]")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _year_of(days: np.ndarray) -> np.ndarray:
    return _d(days).astype("datetime64[Y]").astype(np.int64) + 1970


def _month_of(days: np.ndarray) -> np.ndarray:
    return _d(days).astype("datetime64[M]").astype(np.int64) % 12 + 1


def _ymd(year: np.ndarray, month: int, day: int) -> np.ndarray:
    """Day numbers of year-month-day for an array of years."""
    y = np.asarray(year, dtype=np.int64)
    m = (y - 1970) * 12 + (month - 1)
    first = m.astype("datetime64[M]").astype("datetime64[D]")
    return (first - _EPOCH).astype(np.int64) + (day - 1)


def _busday(
    days: np.ndarray, offset: int = 0, roll: str = "forward", weekmask: str = "1111100"
) -> np.ndarray:
    out = np.busday_offset(_d(days), offset, roll=roll, weekmask=weekmask)
    return (out - _EPOCH).astype(np.int64)


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For per-owner counts return (owner index, position within owner) of every row."""
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    pos = np.arange(len(owner)) - np.repeat(starts, counts)
    return owner, pos


def _ids(prefix: str, n: int, width: int) -> pa.Array:
    width = max(width, len(str(n)))
    nums = np.char.zfill(np.arange(1, n + 1).astype(str), width)
    return pa.array(np.char.add(prefix, nums).tolist(), type=pa.string())


def _take_str(ids: pa.Array, idx: np.ndarray) -> pd.arrays.ArrowStringArray:
    taken = ids.take(pa.array(np.asarray(idx, dtype=np.int64)))
    return pd.array(taken, dtype=_STR)


def _cat(codes: np.ndarray, categories: tuple[str, ...]) -> pd.Categorical:
    return pd.Categorical.from_codes(
        np.asarray(codes, dtype=np.int64), dtype=pd.CategoricalDtype(list(categories))
    )


def _int(values: np.ndarray, missing: np.ndarray | None = None) -> pd.arrays.IntegerArray:
    v = np.asarray(values, dtype=np.int64)
    m = np.zeros(len(v), bool) if missing is None else np.asarray(missing, bool)
    return pd.arrays.IntegerArray(np.where(m, 0, v), m)


def _float(values: np.ndarray, missing: np.ndarray | None = None) -> pd.arrays.FloatingArray:
    v = np.asarray(values, dtype=np.float64)
    m = np.isnan(v) if missing is None else (np.asarray(missing, bool) | np.isnan(v))
    return pd.arrays.FloatingArray(np.where(m, 0.0, v), m)


def _dates(days: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    out = _d(days).astype("datetime64[s]")
    if missing is not None:
        out = np.where(missing, np.datetime64("NaT", "s"), out)
    return out


def _frame(name: str, cols: dict) -> pd.DataFrame:
    df = pd.DataFrame(cols, columns=TABLES[name].column_names, copy=False)
    return df


def _calendar(first_year: int, last_year: int) -> dict[str, np.ndarray]:
    """Term and census dates for academic years starting September ``first_year..last_year``.

    Term dates are typical English ones (autumn from early September to just before
    Christmas; spring from early January to about 1 April; summer from mid-April to
    about 22 July); possible sessions are two per weekday minus a half-term week and
    an INSET day. Census days: autumn = first Thursday of October, spring = third
    Thursday of January, summer = third Thursday of May.
    """
    y = np.arange(first_year, last_year + 1)
    starts = np.stack(
        [
            _busday(_ymd(y, 9, 3)),
            _busday(_ymd(y + 1, 1, 4)),
            _busday(_ymd(y + 1, 4, 15)),
        ],
        axis=1,
    )
    ends = np.stack(
        [
            _busday(_ymd(y, 12, 20), roll="backward"),
            _busday(_ymd(y + 1, 4, 1), roll="backward"),
            _busday(_ymd(y + 1, 7, 22), roll="backward"),
        ],
        axis=1,
    )
    weekdays = np.busday_count(_d(starts), _d(ends + 1))
    bank = np.array([0, 0, 2])  # two May bank holidays in the summer term
    sessions = 2 * (weekdays - 5 - 1 - bank)
    census = np.stack(
        [
            _busday(_ymd(y, 10, 1), 0, weekmask="Thu"),
            _busday(_ymd(y + 1, 1, 1), 2, weekmask="Thu"),
            _busday(_ymd(y + 1, 5, 1), 2, weekmask="Thu"),
        ],
        axis=1,
    )
    return {
        "year": y,
        "term_start": starts,
        "term_end": ends,
        "sessions": sessions,
        "census": census,
    }
