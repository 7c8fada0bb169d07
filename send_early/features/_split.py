"""Temporal train/test splits that keep label windows apart."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import LeakageError

__all__ = ["temporal_split"]


def _whole_months(value) -> bool:
    """Whether ``value`` is a label horizon: a whole number of months, 1 or more (not a bool)."""
    return not isinstance(value, bool) and isinstance(value, int | np.integer) and value > 0


def _as_of_values(frame: pd.DataFrame) -> pd.DatetimeIndex:
    if isinstance(frame.index, pd.MultiIndex) and "as_of" in frame.index.names:
        return pd.DatetimeIndex(frame.index.get_level_values("as_of"))
    if "as_of" in frame.columns:
        return pd.DatetimeIndex(frame["as_of"])
    raise ValueError(
        "frame must have an 'as_of' index level or column (as made by make_training_frame); found neither."
    )


def temporal_split(frame: pd.DataFrame, *, test_as_of=None, horizon_months: int | None = None):
    """Split a training frame by as-of date with a gap of one label horizon.

    Whole as-of dates stay together. The test set holds every as-of date on or
    after ``test_as_of``; the training set holds the dates whose label window
    ``(as_of, as_of + horizon]`` ends on or before ``test_as_of``, so no
    training label can see the period the test rows are scored on. Dates in
    between are dropped.

    Parameters
    ----------
    frame : DataFrame
        As made by :func:`make_training_frame` (``as_of`` index level or column).
    test_as_of : date-like, optional
        First test as-of date; default the latest as-of date in ``frame``.
    horizon_months : int, optional
        Label horizon; default ``frame.attrs["horizon_months"]``.

    Returns
    -------
    train, test : DataFrame

    Raises
    ------
    LeakageError
        If no as-of date is early enough to train on (the gap would leave the
        training set empty), or no test rows remain.

    Examples
    --------
    >>> import pandas as pd
    >>> from send_early.features import temporal_split
    >>> idx = pd.MultiIndex.from_product([pd.to_datetime(["2018-09-01", "2019-09-01", "2020-09-01"]),
    ...                                   ["a", "b"]], names=["as_of", "child_id"])
    >>> frame = pd.DataFrame({"x": range(6)}, index=idx)
    >>> train, test = temporal_split(frame, test_as_of="2020-09-01", horizon_months=12)
    >>> sorted(train.index.get_level_values("as_of").year.unique()), len(test)
    ([2018, 2019], 2)
    """
    if horizon_months is None:
        horizon_months = frame.attrs.get("horizon_months")
    if not _whole_months(horizon_months):
        raise ValueError(
            f"horizon_months must be a positive whole number of months (or in frame.attrs); found {horizon_months!r}."
        )
    dates = _as_of_values(frame)
    test_ts = dates.max() if test_as_of is None else pd.Timestamp(test_as_of).normalize()
    is_test = np.asarray(dates >= test_ts)
    ends = dates + pd.DateOffset(months=int(horizon_months))
    is_train = np.asarray(ends <= test_ts)
    if not is_test.any():
        raise LeakageError(
            f"the test set must not be empty; no as-of date is on or after {test_ts.date()} "
            f"(latest is {dates.max().date()}). Pick an earlier test_as_of."
        )
    if not is_train.any():
        raise LeakageError(
            f"training dates must be at least {horizon_months} months before the test as-of {test_ts.date()} "
            f"so that label windows do not overlap; the earliest as-of is {dates.min().date()}. "
            "Add earlier as-of dates or move test_as_of later."
        )
    return frame[is_train], frame[is_test]
