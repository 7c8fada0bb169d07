"""One strict date rule for tables, manifest and command line: ISO 8601 ``YYYY-MM-DD``."""

from __future__ import annotations

import datetime as _dt
import re

import numpy as np
import pandas as pd

__all__ = ["parse_iso_date", "parse_iso_dates"]

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_DATE_TEXT = r"\s*(?!0000)[0-9]{4}-[0-9]{2}-[0-9]{2}\s*"  # year 0 is no calendar year


def parse_iso_date(value, *, what: str = "date") -> pd.Timestamp:
    """An ISO 8601 calendar date, ``YYYY-MM-DD``, as a Timestamp; anything else is refused.

    ``01/02/2023`` could be the 1st of February or the 2nd of January, so only the
    ISO form is read from text. Dates, datetimes and Timestamps without a time zone
    are accepted as they are (normalised to midnight). Numbers, ``None`` and lists
    are refused.

    Parameters
    ----------
    value : str, date, datetime or Timestamp
    what : str
        What the date is (``"--as-of"``, ``"manifest.json extract_date"``), for the message.

    Examples
    --------
    >>> from send_early.schema import parse_iso_date
    >>> parse_iso_date("2026-01-15").date()
    datetime.date(2026, 1, 15)
    >>> parse_iso_date("15/01/2026", what="as_of")
    Traceback (most recent call last):
    ...
    ValueError: as_of must be an ISO date, YYYY-MM-DD (e.g. 2026-01-15); found '15/01/2026'.
    """
    must = f"{what} must be an ISO date, YYYY-MM-DD (e.g. 2026-01-15); found {value!r}."
    if isinstance(value, str):
        text = value.strip()
        if not _ISO_DATE.fullmatch(text):
            raise ValueError(must)
        try:
            return pd.Timestamp(_dt.date.fromisoformat(text))
        except ValueError:  # 2026-02-30
            raise ValueError(must[:-1] + ", which is not a day of the calendar.") from None
    if isinstance(value, _dt.date | np.datetime64):  # Timestamp and datetime are dates too
        ts = pd.Timestamp(value)
        if not pd.isna(ts) and ts.tz is None:
            return ts.normalize()
    raise ValueError(must)


def parse_iso_dates(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """A column of ISO dates as ``datetime64[s]``, and a mask of the values that are not.

    The column form of :func:`parse_iso_date`, vectorised. Text must be exactly
    ``YYYY-MM-DD`` (surrounding spaces aside) and a day of the calendar:
    ``2016-2-5``, ``20160205``, ``2016-02-05 10:00``, ``2016-02-05T00:00:00`` and
    time zone offsets are refused. Datetime columns (Parquet timestamps) are read
    when every value is at midnight and there is no time zone; Python dates
    (Parquet ``date32``) are read as they are. Empty values stay empty and are
    not marked.

    Parameters
    ----------
    series : Series
        Text, dates or datetimes.

    Returns
    -------
    parsed : Series of datetime64[s]
        The dates, NaT where empty or refused.
    bad : ndarray of bool
        True where a non-empty value is not an ISO calendar date.

    Examples
    --------
    >>> import pandas as pd
    >>> from send_early.schema import parse_iso_dates
    >>> parsed, bad = parse_iso_dates(
    ...     pd.Series(["2016-02-05", "2016-2-5", "20160205", "2016-02-05 10:00", None]))
    >>> bad.tolist()
    [False, True, True, True, False]
    >>> parsed.iloc[0]
    Timestamp('2016-02-05 00:00:00')
    """
    isna = series.isna().to_numpy(bool)
    if isinstance(series.dtype, pd.DatetimeTZDtype):  # an offset: which day is meant is unclear
        return pd.Series(pd.NaT, index=series.index, dtype="datetime64[s]"), ~isna
    if pd.api.types.is_datetime64_dtype(series):
        timed = ~isna & (series != series.dt.normalize()).fillna(False).to_numpy(bool)
        out = series.where(~timed).astype("datetime64[s]")
        return out, timed
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return pd.Series(pd.NaT, index=series.index, dtype="datetime64[s]"), ~isna
    inferred = pd.api.types.infer_dtype(series, skipna=True) if series.dtype == object else ""
    if inferred in ("date", "datetime", "datetime64"):  # Python dates, datetimes, Timestamps
        try:
            as_datetime = pd.to_datetime(series)
        except (ValueError, TypeError):  # mixed time zones
            return pd.Series(pd.NaT, index=series.index, dtype="datetime64[s]"), ~isna
        return parse_iso_dates(as_datetime)
    text = series.astype("str")
    shaped = text.str.fullmatch(_ISO_DATE_TEXT).fillna(False).to_numpy(bool)
    parsed = pd.to_datetime(text.where(shaped).str.strip(), format="%Y-%m-%d", errors="coerce")
    bad = ~isna & parsed.isna().to_numpy(bool)
    return parsed.astype("datetime64[s]"), bad
