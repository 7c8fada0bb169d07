"""Typing a column as its contract says: values read, rows that are not."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._contract import Column, Table
from ._dates import parse_iso_dates

__all__ = ["MAX_EXAMPLES", "coerce_column"]

#: How many example ids a problem lists.
MAX_EXAMPLES = 5

_TRUE = {"true", "t", "1", "yes", "y", "1.0"}
_FALSE = {"false", "f", "0", "no", "n", "0.0"}


def _examples(df: pd.DataFrame, mask: np.ndarray) -> list[str]:
    idx = np.flatnonzero(mask)[:MAX_EXAMPLES]
    if "child_id" in df.columns:
        ids = df["child_id"].iloc[idx]
        return [
            str(v) if isinstance(v, str) and v.strip() else f"row {i + 1}"
            for v, i in zip(ids, idx, strict=True)
        ]
    return [f"row {i + 1}" for i in idx]


def _values(series: pd.Series, mask: np.ndarray, n: int = 5) -> str:
    vals = pd.unique(series[mask].astype(str))[:n]
    return ", ".join(repr(v) for v in vals)


def coerce_column(series: pd.Series, column: Column) -> tuple[pd.Series, np.ndarray]:
    """Convert ``series`` to the contract dtype of ``column``.

    Returns the converted series and a boolean mask of the rows whose non-empty
    value could not be converted. Those rows are *not* silently fixed: the caller
    reports them, and :func:`send_early.read_tables` leaves such a column as read.
    Empty values stay empty (nullability is checked separately).
    """
    kind = column.kind
    isna = series.isna().to_numpy()
    if kind in ("id", "str"):
        if pd.api.types.is_string_dtype(series) or series.dtype == object:
            out = series.astype("str")
            if series.dtype == object:
                notstr = ~isna & ~series.map(lambda v: isinstance(v, str)).to_numpy(bool)
                return out, notstr
            return out, np.zeros(len(series), bool)
        if pd.api.types.is_integer_dtype(series):
            return series.astype("str"), np.zeros(len(series), bool)
        return series.astype("str"), ~isna
    if kind == "date":
        return parse_iso_dates(series)
    if kind in ("int", "float"):
        if pd.api.types.is_bool_dtype(series):
            return series, ~isna
        num = pd.to_numeric(series, errors="coerce")
        with np.errstate(invalid="ignore"):
            infinite = np.isinf(num.astype("Float64").fillna(0).to_numpy(float))
        bad = (~isna & num.isna().to_numpy()) | infinite
        if kind == "int":
            with np.errstate(invalid="ignore"):
                frac = (num.astype("Float64") % 1 != 0).fillna(False).to_numpy(bool)
            bad = bad | frac
            if bad.any():
                return num, bad
            return num.astype("Float64").astype("Int64"), bad
        return num.astype("Float64"), bad
    if kind == "bool":
        if pd.api.types.is_bool_dtype(series):
            return series.astype("boolean"), np.zeros(len(series), bool)
        low = series.astype("str").str.strip().str.lower()
        t = low.isin(_TRUE).to_numpy()
        f = low.isin(_FALSE).to_numpy()
        bad = ~isna & ~t & ~f
        out = pd.Series(pd.array(np.where(t, True, False), dtype="boolean"), index=series.index)
        out[isna] = pd.NA
        return out, bad
    if kind == "code":
        codes = list(column.codes or ())
        s = series
        if column.null_means is not None:
            s = s.astype("object").where(~isna, column.null_means)
            isna = np.zeros(len(series), bool)
        if isinstance(s.dtype, pd.CategoricalDtype):
            vals = s.astype("str").where(s.notna())
        else:
            vals = s.astype("str").where(s.notna())
        bad = ~isna & ~vals.isin(codes).to_numpy()
        if bad.any():
            return series, bad
        return vals.astype(pd.CategoricalDtype(codes)), bad
    raise ValueError(f"unknown column kind {kind!r}")  # pragma: no cover


def _coerce_table(df: pd.DataFrame, table: Table) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Convert every clean contract column of ``df``; return bad-value masks per column."""
    out = {}
    bad = {}
    for col in table.columns:
        if col.optional and col.name not in df.columns:  # absent: read as empty
            out[col.name] = pd.Series(pd.NA, df.index, col.dtype)
            continue
        if col.name not in df.columns:
            continue
        conv, mask = coerce_column(df[col.name], col)
        bad[col.name] = mask
        out[col.name] = conv if not mask.any() else df[col.name]
    typed = df.assign(**out) if out else df
    return typed, bad


def _kind_words(col: Column) -> str:
    return {
        "id": "a non-empty text id",
        "str": "text",
        "date": "an ISO date, YYYY-MM-DD, without a time or time zone",
        "int": "a whole number",
        "float": "a finite number",
        "bool": "true or false",
        "code": "one of " + ", ".join(col.codes or ()),
    }[col.kind]
