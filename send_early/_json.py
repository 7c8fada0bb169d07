"""One JSON helper for every result object and the model card: plain Python values only."""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["jsonable"]


def jsonable(obj):
    """A value ready for :func:`json.dumps` (``allow_nan=False``), converted recursively.

    numpy and pandas scalars become Python ones; NaN, infinities, ``None``, ``pd.NA`` and
    ``NaT`` become ``None``; mappings become dicts with string keys; lists, tuples, sets,
    arrays, Series (as a mapping) and DataFrames (as a list of records) become lists. A
    date, or a timestamp at midnight, is written as an ISO date ``YYYY-MM-DD``; a
    timestamp with a time of day keeps it (ISO 8601). Other objects are returned as they
    are.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> jsonable({"n": np.int64(3), "rate": np.nan, "as_of": pd.Timestamp("2024-09-01")})
    {'n': 3, 'rate': None, 'as_of': '2024-09-01'}
    >>> jsonable((pd.Timestamp("2024-09-01 08:30"), pd.NaT))
    ['2024-09-01T08:30:00', None]
    """
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, pd.DataFrame):
        return jsonable(obj.to_dict(orient="records"))
    if isinstance(obj, pd.Series):
        return jsonable(obj.to_dict())
    if isinstance(obj, list | tuple | set | frozenset):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if obj is None or obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(float(obj)) else None
    if isinstance(obj, np.datetime64):
        return None if np.isnat(obj) else jsonable(pd.Timestamp(obj))
    if isinstance(obj, _dt.datetime):  # pd.Timestamp is a datetime
        ts = pd.Timestamp(obj)
        return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat()
    if isinstance(obj, _dt.date):
        return obj.isoformat()
    return obj
