"""The checks of make_cohort's arguments, each reporting what must hold and what was found."""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..schema import ETHNICITY, SEX
from ._params import _PROFILES


def _check_args(n_children, birth_years, extract_date, random_state):
    """Checked arguments; ``y0``/``y1`` are None for the default birth range."""
    if isinstance(n_children, bool) or not isinstance(n_children, numbers.Integral):
        raise TypeError(
            f"n_children must be a whole number of children; found {type(n_children).__name__}."
        )
    if n_children < 1:
        raise ValueError(
            f"n_children must be at least 1; found {n_children}. Pass a positive number of children."
        )
    try:
        y0, y1 = (None, None) if birth_years is None else birth_years
    except (TypeError, ValueError):
        raise ValueError(
            f"birth_years must be a pair (first, last) of years such as (2010, 2022); found {birth_years!r}."
        ) from None
    if birth_years is not None:
        bad = [y for y in (y0, y1) if isinstance(y, bool) or not isinstance(y, numbers.Integral)]
        if bad:
            raise ValueError(
                f"birth_years must hold two whole years such as (2010, 2022); found {birth_years!r}."
            )
        y0, y1 = int(y0), int(y1)
        if not (1990 <= y0 <= 2100 and 1990 <= y1 <= 2100):
            raise ValueError(f"birth_years must lie between 1990 and 2100; found {birth_years!r}.")
        if y0 > y1:
            raise ValueError(
                f"birth_years must be (first, last) with first <= last; found {birth_years!r}. Swap the two years."
            )
    try:
        extract = pd.Timestamp(extract_date)
    except (TypeError, ValueError):
        raise ValueError(
            f"extract_date must be an ISO date such as '2025-08-31'; found {extract_date!r}."
        ) from None
    if pd.isna(extract):
        raise ValueError(
            f"extract_date must be an ISO date such as '2025-08-31'; found {extract_date!r}."
        )
    extract = extract.normalize()
    if y0 is not None and extract < pd.Timestamp(year=y0, month=1, day=1):
        raise ValueError(
            f"extract_date must be on or after the first day of the first birth year ({y0}-01-01) so that "
            f"some children are born by then; found {extract.date()}. Use a later extract_date or earlier "
            "birth_years."
        )
    if isinstance(random_state, np.random.Generator):
        rng = random_state
    elif random_state is None or (
        isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)
    ):
        if random_state is not None and random_state < 0:
            raise ValueError(f"random_state must be a non-negative integer; found {random_state}.")
        rng = np.random.default_rng(random_state)
    else:
        raise TypeError(
            f"random_state must be None, a non-negative int or a numpy Generator; found {type(random_state).__name__}."
        )
    return int(n_children), y0, y1, extract, rng


def _check_area(councils, profile) -> tuple[int, str | None]:
    """The councils and profile arguments, checked (see make_cohort)."""
    if isinstance(councils, bool) or not isinstance(councils, numbers.Integral) or councils < 1:
        raise ValueError(
            f"councils must be a whole number of councils, at least 1; found {councils!r}."
        )
    if profile not in _PROFILES:
        names = [p for p in _PROFILES if p is not None]
        raise ValueError(f"profile must be None or one of {names}; found {profile!r}.")
    return int(councils), profile


def _check_under_identify(under_identify) -> dict[str, dict[str, float]]:
    """The under-identification knob as ``{column: {group: factor}}`` (see make_cohort)."""
    if under_identify is None:
        return {}
    allowed = {"sex": SEX, "ethnicity": ETHNICITY}
    if not isinstance(under_identify, Mapping):
        raise TypeError(
            "under_identify must be a dict such as {'sex': {'F': 0.5}}; "
            f"found {type(under_identify).__name__}."
        )
    problems, out = [], {}
    for col, groups in under_identify.items():
        if col not in allowed or not isinstance(groups, Mapping):
            problems.append(f"{col!r} (keys: {list(allowed)}, each a dict group -> factor)")
            continue
        for g, factor in groups.items():
            ok = isinstance(factor, numbers.Real) and not isinstance(factor, bool)
            if g not in allowed[col] or not ok or not 0 <= factor <= 1:
                problems.append(f"{col}={g!r}: {factor!r} (groups {list(allowed[col])}, 0-1)")
            else:
                out.setdefault(col, {})[g] = float(factor)
    if problems:
        raise ValueError(
            "under_identify must map sex or ethnicity groups to factors in [0, 1]; found "
            + "; ".join(problems)
            + "."
        )
    return out
