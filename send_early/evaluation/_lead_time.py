"""Lead time: how long before identification a flagged child was found."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_binary, check_same_length

__all__ = ["lead_time_months", "lead_time_summary", "lead_time_table", "DAYS_PER_MONTH"]

#: Average length of a month in days (365.25 / 12), used to turn days into months.
DAYS_PER_MONTH = 365.25 / 12

#: Default edges (months) of the lead-time distribution table.
DEFAULT_BINS = (0, 3, 6, 12, 18, 24, 36, np.inf)


def _dates(values, name: str, n: int) -> np.ndarray:
    if isinstance(values, str | pd.Timestamp | np.datetime64) or not hasattr(values, "__len__"):
        return np.full(n, pd.Timestamp(values).to_datetime64().astype("datetime64[s]"))
    s = pd.to_datetime(pd.Series(values) if not isinstance(values, pd.Series) else values)
    if len(s) != n:
        raise ValueError(f"{name} must have one date per child ({n}); found {len(s)}.")
    return s.to_numpy(dtype="datetime64[s]")


def lead_time_months(flagged, as_of, event_date, *, y_true=None) -> np.ndarray:
    """Months from the as-of date to identification, for flagged children later identified.

    Parameters
    ----------
    flagged : array-like of bool
        Which children were flagged.
    as_of : date-like or array-like of dates
        The date the score was made (one date for everyone, or one per child).
    event_date : array-like of dates
        Date each child was first identified (NaT if never within the window).
    y_true : array-like of 0/1, optional
        If given, only children with ``y_true == 1`` count (so an identification
        after the label window is not counted).

    Returns
    -------
    ndarray of float
        One value per flagged, later-identified child (days / 30.4375), in input
        order. Identification on the as-of date gives 0.

    Raises
    ------
    ValueError
        If a flagged child was identified before the as-of date: such a child was
        already known and should not have been scored.

    Examples
    --------
    >>> from send_early.evaluation import lead_time_months
    >>> lead_time_months([True, True, False], "2024-01-01",
    ...                  ["2024-07-01", None, "2024-03-01"]).round(2).tolist()
    [5.98]
    """
    check_same_length(flagged=flagged, event_date=event_date, y_true=y_true)
    f = check_binary(flagged, "flagged").astype(bool)
    n = len(f)
    ev = _dates(event_date, "event_date", n)
    ao = _dates(as_of, "as_of", n)
    keep = f & ~np.isnat(ev)
    if y_true is not None:
        keep = keep & check_binary(y_true, "y_true").astype(bool)
    days = (ev[keep] - ao[keep]).astype("timedelta64[D]").astype(np.float64)
    early = days < 0
    if early.any():
        raise ValueError(
            f"Every identification counted in lead time must be on or after the as-of date; "
            f"found {int(early.sum())} flagged children identified before it. Children already "
            "identified at the as-of date must be left out of the scored cohort."
        )
    return days / DAYS_PER_MONTH


def lead_time_summary(flagged, as_of, event_date, *, y_true=None) -> dict:
    """Median, quartiles and range of lead time in months (see :func:`lead_time_months`).

    Returns
    -------
    dict
        ``n`` (flagged children later identified), ``median``, ``q1``, ``q3``,
        ``iqr``, ``mean``, ``min``, ``max``; the statistics are NaN when ``n`` is 0.

    Examples
    --------
    >>> from send_early.evaluation import lead_time_summary
    >>> s = lead_time_summary([1, 1, 1, 0], "2024-01-01",
    ...                       ["2024-02-01", "2024-04-01", "2025-01-01", "2024-02-01"])
    >>> s["n"], round(s["median"], 2)
    (3, 2.99)
    """
    m = lead_time_months(flagged, as_of, event_date, y_true=y_true)
    if len(m) == 0:
        nan = float("nan")
        return {
            "n": 0,
            "median": nan,
            "q1": nan,
            "q3": nan,
            "iqr": nan,
            "mean": nan,
            "min": nan,
            "max": nan,
        }
    q1, med, q3 = np.percentile(m, [25, 50, 75])
    return {
        "n": len(m),
        "median": float(med),
        "q1": float(q1),
        "q3": float(q3),
        "iqr": float(q3 - q1),
        "mean": float(m.mean()),
        "min": float(m.min()),
        "max": float(m.max()),
    }


def lead_time_table(flagged, as_of, event_date, *, y_true=None, bins=DEFAULT_BINS) -> pd.DataFrame:
    """Distribution of lead time: how many flagged children were identified in each
    interval of months after the as-of date.

    Parameters
    ----------
    bins : sequence of float
        Increasing edges in months; intervals are closed on the left, ``[a, b)``.

    Returns
    -------
    DataFrame
        ``months_from``, ``months_to``, ``n``, ``share`` (of flagged children later
        identified), ``cumulative_share``.

    Examples
    --------
    >>> from send_early.evaluation import lead_time_table
    >>> lead_time_table([1, 1, 1], "2024-01-01", ["2024-02-01", "2024-04-01", "2024-10-01"],
    ...                 bins=[0, 6, 12, 24])
       months_from  months_to  n     share  cumulative_share
    0          0.0        6.0  2  0.666667          0.666667
    1          6.0       12.0  1  0.333333          1.000000
    2         12.0       24.0  0  0.000000          1.000000
    """
    edges = np.asarray(bins, dtype=np.float64)
    if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"bins must be at least two increasing edges; found {list(bins)}.")
    m = lead_time_months(flagged, as_of, event_date, y_true=y_true)
    ids = np.searchsorted(edges, m, side="right") - 1
    inside = (ids >= 0) & (ids < len(edges) - 1)
    counts = np.bincount(ids[inside], minlength=len(edges) - 1)
    total = len(m)
    share = counts / total if total else np.full(len(counts), np.nan)
    return pd.DataFrame(
        {
            "months_from": edges[:-1],
            "months_to": edges[1:],
            "n": counts.astype(np.int64),
            "share": share,
            "cumulative_share": np.cumsum(share),
        }
    )
