"""Input checks shared by the evaluation and fairness code (private).

Every function takes plain arrays, lists or pandas Series and returns numpy
arrays. Error messages say what must hold, what was found, where and how to
fix it, and never contain child-level values beyond example positions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["check_binary", "check_scores", "check_same_length", "check_tiebreak"]


def _to_numpy(values, name: str) -> np.ndarray:
    if isinstance(values, pd.DataFrame):
        raise TypeError(
            f"{name} must be one-dimensional (array or Series); found a DataFrame with "
            f"{values.shape[1]} columns. Pass a single column, e.g. frame['{name}']."
        )
    if isinstance(values, pd.Series | pd.Index):
        return values.to_numpy(dtype=object if values.hasnans else None)
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; found shape {arr.shape}.")
    return arr


def _positions(mask: np.ndarray, limit: int = 5) -> str:
    pos = np.flatnonzero(mask)[:limit]
    more = ", ..." if mask.sum() > limit else ""
    return ", ".join(str(p) for p in pos) + more


def check_binary(values, name: str = "y_true") -> np.ndarray:
    """Return ``values`` as an int8 array of 0/1; raise on missing or other values."""
    arr = _to_numpy(values, name)
    if arr.dtype == object:
        missing = pd.isna(arr)
        if missing.any():
            raise ValueError(
                f"{name} must hold 0/1 for every child; found {int(missing.sum())} missing "
                f"values (positions {_positions(missing)}). Drop or resolve these children first."
            )
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be numeric or boolean 0/1; found {arr.dtype}.") from exc
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric or boolean 0/1; found dtype {arr.dtype}.")
    if arr.dtype.kind == "f":
        nan = np.isnan(arr)
        if nan.any():
            raise ValueError(
                f"{name} must hold 0/1 for every child; found {int(nan.sum())} missing values "
                f"(positions {_positions(nan)}). Drop or resolve these children first."
            )
    bad = (arr != 0) & (arr != 1)
    if bad.any():
        raise ValueError(
            f"{name} must hold only 0 and 1; found {int(bad.sum())} other values "
            f"(positions {_positions(bad)})."
        )
    return arr.astype(np.int8)


def check_scores(values, name: str = "risk", *, probability: bool = True) -> np.ndarray:
    """Return ``values`` as float64; finite, and within [0, 1] when ``probability``."""
    arr = _to_numpy(values, name)
    try:
        arr = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric; found dtype {arr.dtype}.") from exc
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(
            f"{name} must be a finite number for every child; found {int(bad.sum())} missing or "
            f"infinite values (positions {_positions(bad)}). Score or drop these children first."
        )
    if probability:
        out = (arr < 0) | (arr > 1)
        if out.any():
            raise ValueError(
                f"{name} must be a probability in [0, 1]; found {int(out.sum())} values outside "
                f"(positions {_positions(out)}). Pass calibrated probabilities, not raw scores."
            )
    return arr


def check_same_length(**arrays) -> int:
    """Raise unless all given arrays/Series have one length and Series share one index."""
    lengths = {name: len(a) for name, a in arrays.items() if a is not None}
    if len(set(lengths.values())) > 1:
        found = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise ValueError(f"Inputs must have one row per child and the same length; found {found}.")
    series = [(k, a) for k, a in arrays.items() if isinstance(a, pd.Series | pd.DataFrame)]
    for name, s in series[1:]:
        if not s.index.equals(series[0][1].index):
            raise ValueError(
                f"{name} and {series[0][0]} are pandas objects with different indexes; rows "
                "must refer to the same children in the same order. Align them first, e.g. "
                f"{name} = {name}.reindex({series[0][0]}.index)."
            )
    return next(iter(lengths.values())) if lengths else 0


def check_tiebreak(tiebreak, n: int) -> np.ndarray | None:
    """Return integer codes whose ascending order is the ascending order of ``tiebreak``."""
    if tiebreak is None:
        return None
    arr = _to_numpy(tiebreak, "tiebreak")
    if len(arr) != n:
        raise ValueError(f"tiebreak must have one value per child ({n}); found {len(arr)}.")
    missing = pd.isna(arr)
    if np.any(missing):
        raise ValueError(
            f"tiebreak must have no missing values; found {int(np.sum(missing))} "
            f"(positions {_positions(np.asarray(missing))})."
        )
    codes, _ = pd.factorize(arr, sort=True)
    return codes.astype(np.int64)
