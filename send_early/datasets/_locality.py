"""Synthetic locality teams: the health visiting / early help team of each child's home area."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._params import _STR

#: Locality teams per council (drawn uniformly, at most one per primary school area).
LOCALITIES_PER_COUNCIL = (4, 6)
#: Share of children with no locality recorded (e.g. moved in after the last review).
LOCALITY_MISSING = 0.01
#: Noise on a school area's deprivation when areas are grouped into localities: localities
#: are geographic, so they follow deprivation closely but not exactly.
_AREA_NOISE_SD = 0.35


def _localities(
    rng: np.random.Generator,
    prim: np.ndarray,
    prim_la: np.ndarray,
    area_dep: np.ndarray,
    n_la: int,
) -> pd.arrays.ArrowStringArray:
    """Each child's locality (``L1``, ``L2``, ...; numbered across councils), or empty.

    Within a council, the primary school areas are ordered by deprivation (plus noise) and
    cut into equal runs of areas, one per locality; a child belongs to the locality of its
    home area's primary school. The draws come from a stream spawned from ``rng``, which
    leaves ``rng``'s own draws (every other column) unchanged.
    """
    lrng = rng.spawn(1)[0]
    n_prim = len(prim_la)
    lo, hi = LOCALITIES_PER_COUNCIL
    areas = np.bincount(prim_la, minlength=n_la)
    n_loc = np.maximum(np.minimum(lrng.integers(lo, hi + 1, size=n_la), areas), 1)
    score = pd.Series(area_dep + lrng.normal(0, _AREA_NOISE_SD, size=n_prim))
    order = score.groupby(prim_la).rank(method="first").to_numpy() - 1  # 0 = least deprived
    within = np.floor(order / np.maximum(areas[prim_la], 1) * n_loc[prim_la]).astype(np.int64)
    school_loc = (np.cumsum(n_loc) - n_loc)[prim_la] + within
    names = np.char.add("L", (school_loc[prim] + 1).astype(str))
    missing = lrng.random(len(prim)) < LOCALITY_MISSING
    return pd.array(np.where(missing, None, names).tolist(), dtype=_STR)
