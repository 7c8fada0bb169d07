"""Synthetic cohort generator: a seeded simulation of children, signals and SEN identification.

The simulation has two separate processes (see ``docs/synthetic_data.md``):

1. **Need.** Every child has a latent developmental need (continuous), built from
   sex, family deprivation, gestation, small size for gestational age and an
   individual term. Early signals (ASQ-3, EYFSP, phonics, attendance, exclusions,
   referrals, social care) are noisy consequences of need and circumstance.
2. **Identification.** Whether and when a child is recorded with SEN support or an
   EHC plan depends on need *and* on the school attended (a large random effect),
   relative age, sex, English as an additional language, absence, deprivation
   and social care. Identified SEN is therefore not the same as need.

Everything is vectorised with numpy (no loop over children) and driven by one
``numpy.random.Generator``; the same seed gives identical tables.
"""

from __future__ import annotations

import logging
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from ..schema import (
    ASQ_DOMAINS,
    EPISODES,
    ETHNICITY,
    MEASURES,
    PRIMARY_NEEDS,
    REVIEW_TYPES,
    SEN_EVENTS,
    SERVICES,
    SEX,
    TABLES,
    Tables,
)

logger = logging.getLogger(__name__)

__all__ = ["make_cohort"]

_EPOCH = np.datetime64("1970-01-01", "D")
_STR = pd.StringDtype(storage="pyarrow", na_value=np.nan)
_NAT = np.iinfo(np.int64).min // 2  # empty date
_NEVER = np.iinfo(np.int64).max // 2  # an event that never happens

# --------------------------------------------------------------------------------------
# Parameters. Every effect size is documented, with its source, in docs/synthetic_data.md.
# --------------------------------------------------------------------------------------

#: Need types (the child's *kind* of difficulty; the recorded primary need at identification).
_TYPES = ("SLCN", "ASD", "SEMH", "MLD", "SPLD", "SLD", "PMLD", "PD", "HI", "VI", "MSI", "OTH", "DS")
#: Base probability of each type, boys and girls (ASD M:F ~4.3:1, SEMH more common in boys).
_TYPE_P_BOY = np.array(
    [0.25, 0.14, 0.24, 0.15, 0.12, 0.0, 0.0, 0.025, 0.012, 0.007, 0.002, 0.034, 0.0]
)
_TYPE_P_GIRL = np.array(
    [0.28, 0.05, 0.20, 0.20, 0.16, 0.0, 0.0, 0.025, 0.013, 0.008, 0.002, 0.042, 0.0]
)
#: Severe-need types that replace the base type for the most severe tail.
_SEVERE_TYPES = np.array([_TYPES.index(t) for t in ("SLD", "PMLD", "DS", "PD", "ASD")])
_SEVERE_P = np.array([0.40, 0.10, 0.10, 0.15, 0.25])
#: Loadings of each type on four channels: communication, cognition, behaviour, motor.
_LOAD = np.array(
    [
        [1.0, 0.3, 0.2, 0.0],  # SLCN
        [0.8, 0.2, 0.8, 0.1],  # ASD
        [0.1, 0.1, 1.0, 0.0],  # SEMH
        [0.3, 1.0, 0.1, 0.2],  # MLD
        [0.0, 0.8, 0.0, 0.1],  # SPLD
        [1.0, 1.0, 0.5, 0.6],  # SLD
        [1.0, 1.0, 0.5, 1.0],  # PMLD
        [0.0, 0.1, 0.1, 1.0],  # PD
        [0.8, 0.2, 0.1, 0.0],  # HI
        [0.2, 0.3, 0.1, 0.5],  # VI
        [0.8, 0.5, 0.2, 0.6],  # MSI
        [0.3, 0.3, 0.3, 0.3],  # OTH
        [1.0, 1.0, 0.3, 0.6],  # DS
    ]
)
#: Extra log-odds of an EHC needs assessment request by type (ASD is a third of plans).
_TYPE_REQUEST = np.array([-0.3, 0.9, 0.0, -0.2, -1.2, 2.5, 3.0, 0.8, 0.5, 0.5, 1.0, 0.0, 3.0])

_ETH_P = np.array([0.70, 0.065, 0.12, 0.06, 0.008, 0.025, 0.022])
_EAL_P = np.array([0.07, 0.20, 0.75, 0.45, 0.80, 0.75, 0.30])

#: Gestation bands: (low, high, probability) in completed weeks. Preterm (<37) ~7.5%.
_GEST_BANDS = (
    (23, 27, 0.004),
    (28, 32, 0.010),
    (33, 36, 0.061),
    (37, 38, 0.22),
    (39, 41, 0.665),
    (42, 42, 0.040),
)
#: Shift of latent need by gestation band (calibrated to MacKay 2010 odds ratios vs 40 weeks).
_GEST_SHIFT = {23: 2.8, 28: 1.4, 33: 0.55, 37: 0.25, 39: 0.0, 42: 0.0}
#: Mean birth weight (g) at 40 weeks; the mean falls by ~190 g a week below 40 (term growth).
_BW_MEAN40 = 3450.0


@dataclass(frozen=True)
class _P:
    """Calibrated constants of the identification and signal models."""

    # latent need
    need_male: float = 0.35
    need_dep: float = 0.38
    need_sga: float = 0.35
    true_need_threshold: float = 1.0  # ~ top 20% of need
    # identification by the end of primary (logit scale)
    id_a0: float = -2.15
    id_need: float = 1.7
    id_school_sd: float = 1.3
    id_male: float = 0.9
    id_rel_age: float = 1.0  # youngest vs oldest in year (Aug vs Sep), log-odds
    id_eal: float = -0.55
    id_absence: float = -0.30
    id_dep: float = 0.8
    id_social_care: float = 0.35
    # identification in secondary, if not before
    sec_a0: float = -3.3
    sec_need: float = 1.0
    # EHC needs assessment request among the identified
    req_a0: float = -2.6
    req_need: float = 1.6
    req_male: float = 0.45
    req_absence: float = -0.45
    issue_a0: float = 0.6
    # ASQ-3 means at 2 years (scores 0-60)
    asq_mu: tuple[float, ...] = (41.0, 51.0, 49.0, 43.0, 46.0)
    asq_sd: float = 9.0
    # free school meals threshold on the family deprivation scale (~25% eligible)
    fsm_threshold: float = 0.8
    # mean years on SEN support before leaving it (scaled by need)
    sen_support_years: float = 12.0
    # timing of identification in primary: larger = earlier
    timing_power: float = 2.2
    # EYFSP area thresholds on the latent scale
    eyfsp_thr: float = -1.45
    eyfsp_need: float = 1.3
    phonics_mu: float = 37.8
    phonics_sd: float = 7.0
    # absence: log of the median rate, spread
    abs_log_median: float = np.log(0.045)
    abs_sd: float = 0.62


_PARAMS = _P()


# --------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------------------


def _check_args(n_children, birth_years, extract_date, random_state):
    if isinstance(n_children, bool) or not isinstance(n_children, numbers.Integral):
        raise TypeError(
            f"n_children must be a whole number of children; found {type(n_children).__name__}."
        )
    if n_children < 1:
        raise ValueError(
            f"n_children must be at least 1; found {n_children}. Pass a positive number of children."
        )
    try:
        y0, y1 = birth_years
    except (TypeError, ValueError):
        raise ValueError(
            f"birth_years must be a pair (first, last) of years such as (2010, 2022); found {birth_years!r}."
        ) from None
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
    if extract < pd.Timestamp(year=y0, month=1, day=1):
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


# --------------------------------------------------------------------------------------
# calendars
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# the simulation
# --------------------------------------------------------------------------------------


def make_cohort(
    n_children: int,
    *,
    random_state=None,
    birth_years: tuple[int, int] = (2010, 2022),
    extract_date="2025-08-31",
    return_truth: bool = False,
    under_identify=None,
):
    """Simulate a synthetic cohort of children in every table of the data contract.

    The data are synthetic: no real child is described. Children have a latent
    developmental need; the early signals in the tables are noisy consequences of
    need and circumstance, and SEN identification is a separate process that also
    depends on the school, relative age, sex, English as an additional language,
    absence and deprivation. Identified SEN is not the same as need. The rates
    are calibrated to published English statistics (see ``docs/synthetic_data.md``).

    Parameters
    ----------
    n_children : int
        Number of children (at least 1).
    random_state : int, numpy.random.Generator or None, default=None
        Seed. The same integer gives identical tables; None draws fresh entropy.
    birth_years : (int, int), default=(2010, 2022)
        First and last calendar year of birth (inclusive). Births are spread
        evenly over these years, up to ``extract_date``.
    extract_date : date-like, default="2025-08-31"
        The day the data are extracted. No record is dated after it.
    return_truth : bool, default=False
        Also return the latent truth (need, identification components).
    under_identify : dict, optional
        Test knob for fairness audits: ``{"sex": {"F": 0.5}}`` multiplies the chance that
        a child of that group is ever identified (in primary and in secondary) by the
        factor, with need and every early signal unchanged (under-identification with
        equal need). Keys ``"sex"`` and ``"ethnicity"``, groups as in the children table,
        factors in [0, 1]. The random draws are the same with or without it, so only the
        named group's identification (and the records that follow from it) changes.

    Returns
    -------
    tables : Tables
        All nine contract tables in their contract dtypes, with ``extract_date`` set.
    truth : DataFrame
        Only when ``return_truth=True``: one row per child, indexed by
        ``child_id``, with the latent need (``need``, ``true_need``,
        ``need_type``), the components of the identification log-odds
        (``logit_*``), ``school_effect``, the probabilities of identification
        (``p_identify_primary``, ``p_identify_secondary``, ``p_identify``) and
        the latent (scheduled) identification dates.

    Raises
    ------
    ValueError
        If ``n_children < 1``, ``birth_years`` is not an ordered pair of years,
        or ``extract_date`` is not a date on or after the first birth year.
    TypeError
        If ``n_children`` or ``random_state`` has the wrong type.

    Examples
    --------
    >>> from send_early.datasets import make_cohort
    >>> from send_early import validate
    >>> tables = make_cohort(200, random_state=0)
    >>> sorted(tables)[:3]
    ['assessments', 'attendance', 'census']
    >>> len(tables["children"]), validate(tables).ok
    (200, True)
    >>> tables, truth = make_cohort(50, random_state=1, return_truth=True)
    >>> truth.index.name, bool(truth["need"].notna().all())
    ('child_id', True)
    """
    n, y0, y1, extract, rng = _check_args(n_children, birth_years, extract_date, random_state)
    plant = _check_under_identify(under_identify)
    tables, truth = _simulate(n, y0, y1, extract, rng, _PARAMS, plant)
    out = Tables(tables, extract_date=extract)
    logger.debug(
        "make_cohort: %d children, %s", n, ", ".join(f"{k}={len(v)}" for k, v in tables.items())
    )
    if return_truth:
        return out, truth
    return out


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


def _simulate(
    n: int,
    y0: int,
    y1: int,
    extract: pd.Timestamp,
    rng: np.random.Generator,
    P: _P,
    plant: Mapping[str, Mapping[str, float]] | None = None,
):
    ext = _days(extract)
    # ---------------------------------------------------------------- children, births
    first_day = _days(pd.Timestamp(year=y0, month=1, day=1))
    last_day = min(_days(pd.Timestamp(year=y1, month=12, day=31)), ext)
    birth = rng.integers(first_day, last_day + 1, size=n)
    male = rng.random(n) < 0.512
    eth = rng.choice(len(ETHNICITY), size=n, p=_ETH_P)
    eal = rng.random(n) < _EAL_P[eth]
    month = _month_of(birth)
    msy = (month - 9) % 12 + 1  # 1 = September (oldest) ... 12 = August (youngest)
    youth = (msy - 6.5) / 5.5  # -1 oldest ... +1 youngest in the year group
    ay_birth = _year_of(birth) - (month < 9)
    reception = ay_birth + 5  # September of the Reception year

    # schools: primary and secondary, each with an area deprivation level and a random effect
    per_year = n / max(1, y1 - y0 + 1)
    n_prim = max(1, int(round(per_year / 40)))
    n_sec = max(1, int(round(per_year / 180)))
    prim_w = rng.gamma(4.0, size=n_prim)
    prim = rng.choice(n_prim, size=n, p=prim_w / prim_w.sum())
    # school-level effects are centred and scaled over the area's pupils, so that the area as a
    # whole matches the calibration targets whatever the draw (schools differ, the area does not)
    prim_share = prim_w / prim_w.sum()
    area_dep = _standardise(rng.normal(0, 1, size=n_prim), prim_share) * 0.7
    u_prim = _standardise(rng.normal(0, 1, size=n_prim), prim_share) * P.id_school_sd
    u_sec = (
        _standardise(rng.normal(0, 1, size=n_sec), np.full(n_sec, 1 / n_sec)) * P.id_school_sd * 0.8
    )
    feeder = rng.integers(0, n_sec, size=n_prim)
    dep = area_dep[prim] + rng.normal(0, 0.7, size=n)
    imd_x = area_dep[prim] + rng.normal(0, 0.35, size=n)
    imd = np.clip(10 - np.floor(_norm_cdf(imd_x / 0.78) * 10), 1, 10).astype(np.int64)
    imd_missing = rng.random(n) < 0.02

    # gestation and birth weight
    band_p = np.array([b[2] for b in _GEST_BANDS])
    band = rng.choice(len(_GEST_BANDS), size=n, p=band_p / band_p.sum())
    lo = np.array([b[0] for b in _GEST_BANDS])[band]
    hi = np.array([b[1] for b in _GEST_BANDS])[band]
    gest = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(np.int64)
    gshift = np.array([_GEST_SHIFT[b[0]] for b in _GEST_BANDS])[band]
    # expected weight by gestation (approximate growth curve), then size-for-age z
    wk = gest.astype(float)
    mean_bw = np.where(
        wk >= 37,
        _BW_MEAN40 - 150 * (40 - wk),
        np.maximum(450.0, _BW_MEAN40 - 150 * 3 - 260 * (37 - wk)),
    )
    bw_z = rng.normal(0, 1, size=n) - 0.10 * dep
    bw = np.clip(np.round(mean_bw * (1 + 0.12 * bw_z)), 300, 6000).astype(np.int64)
    sga = bw_z < -1.28  # below ~10th centile
    gest_missing = rng.random(n) < 0.03
    bw_missing = gest_missing | (rng.random(n) < 0.015)

    # ---------------------------------------------------------------- latent need
    need = (
        P.need_male * male
        + P.need_dep * dep
        + gshift
        + P.need_sga * sga
        + rng.normal(0, 1, size=n)
        - 0.25
    )
    u = rng.random(n)
    cum_b = np.cumsum(_TYPE_P_BOY / _TYPE_P_BOY.sum())
    cum_g = np.cumsum(_TYPE_P_GIRL / _TYPE_P_GIRL.sum())
    ntype = np.where(
        male, np.searchsorted(cum_b, u, side="right"), np.searchsorted(cum_g, u, side="right")
    )
    ntype = np.minimum(ntype, len(_TYPES) - 1)
    severe = (need > 2.6) & (rng.random(n) < 0.55)
    ntype = np.where(severe, _SEVERE_TYPES[rng.choice(len(_SEVERE_P), size=n, p=_SEVERE_P)], ntype)
    load = _LOAD[ntype]
    chan = need[:, None] * (0.55 + 0.9 * load)  # need on communication, cognition, behaviour, motor
    true_need = need > P.true_need_threshold

    # absence propensity and social care propensity (child level)
    abs_z = 0.30 * chan[:, 2] + 0.35 * dep + rng.normal(0, 0.85, size=n)
    sc_z = 0.85 * dep + 0.45 * need + rng.normal(0, 1, size=n)

    # out-of-area moves (~1.7% a year) and children outside state schools (~3%)
    move_t = birth + 1 + np.round(rng.exponential(60 * 365.25, size=n)).astype(np.int64)
    moved = move_t <= ext
    cutoff = np.where(moved, move_t - 1, ext)  # last day a record may carry
    no_school = rng.random(n) < 0.03

    # ---------------------------------------------------------------- social care episodes
    social = _social_care(n, birth, cutoff, moved, move_t, ext, sc_z, rng)
    sc_latent = social.pop("_ever_latent")

    # ---------------------------------------------------------------- identification
    school_u = u_prim[prim]
    sec = np.where(rng.random(n) < 0.75, feeder[prim], rng.integers(0, n_sec, size=n))
    comp = {
        "logit_intercept": np.full(n, P.id_a0),
        "logit_need": P.id_need * need,
        "logit_school": school_u,
        "logit_relative_age": P.id_rel_age * youth / 2,
        "logit_sex": P.id_male * male,
        "logit_eal": P.id_eal * eal,
        "logit_absence": P.id_absence * abs_z,
        "logit_deprivation": P.id_dep * dep,
        "logit_social_care": P.id_social_care * sc_latent,
    }
    logit_a = sum(comp.values())
    p_a = _sigmoid(logit_a)
    logit_b = (
        P.sec_a0
        + P.sec_need * need
        + u_sec[sec]
        + P.id_male * male
        + P.id_eal * eal
        + P.id_absence * abs_z
        + P.id_dep * dep
        + P.id_social_care * sc_latent
    )
    p_b = _sigmoid(logit_b)
    # test knob (make_cohort's under_identify): same need, lower chance of identification
    keep = np.ones(n)
    codes = {"sex": np.where(male, SEX.index("M"), SEX.index("F")), "ethnicity": eth}
    for col, groups in (plant or {}).items():
        labels = SEX if col == "sex" else ETHNICITY
        for g, factor in groups.items():
            keep = np.where(codes[col] == labels.index(g), keep * factor, keep)
    id_a = rng.random(n) < p_a * keep
    id_b = ~id_a & (rng.random(n) < p_b * keep)
    # timing, in years from the start of Reception: earlier for higher need
    c = P.timing_power * np.exp(0.45 * (need - 1.0))
    t_a = -1.4 + 8.4 * rng.random(n) ** c
    t_b = 7.0 + 5.0 * rng.random(n)
    t_id = np.where(id_a, t_a, np.where(id_b, t_b, np.nan))
    rec_start = _ymd(reception, 9, 1)
    id_day = np.where(np.isnan(t_id), 0, rec_start + np.round(np.nan_to_num(t_id) * 365.25)).astype(
        np.int64
    )
    identified = ~np.isnan(t_id)
    # EHC needs assessment request and plan
    logit_r = (
        P.req_a0
        + P.req_need * need
        + _TYPE_REQUEST[ntype]
        + P.req_male * male
        + P.req_absence * abs_z
        + 0.5 * school_u
    )
    request = identified & (rng.random(n) < _sigmoid(logit_r))
    gap_years = rng.exponential(1.6, size=n) * np.exp(-0.5 * np.clip(need - 1.5, -1, 3))
    req_day = id_day + np.round(np.maximum(gap_years * 365.25, 30)).astype(np.int64)
    end_school = _ymd(reception + 12, 7, 22)
    request = request & (req_day < end_school)
    issued = request & (rng.random(n) < _sigmoid(P.issue_a0 + 1.0 * (need - 1.5)))
    ehcp_day = req_day + np.round(np.clip(rng.normal(22, 6, size=n), 10, 52) * 7).astype(np.int64)
    # children on SEN support (no plan) may leave it: duration in years, longer for higher need
    dur = rng.exponential(P.sen_support_years, size=n) * np.exp(0.5 * np.clip(need - 1.0, -2, 2))
    exit_day = np.where(issued, _NEVER, id_day + np.round(dur * 365.25).astype(np.int64))
    # requests and plans only while the child is still on SEN support
    request = request & (req_day < exit_day)
    issued = issued & request
    exit_day = np.where(issued, _NEVER, exit_day)
    in_sen_window = identified & (id_day >= birth + 2 * 365)

    need_code = np.array([PRIMARY_NEEDS.index(t) for t in _TYPES])[ntype]
    nsa = rng.random(n) < 0.07
    sen_events = _sen_events(
        n, id_day, req_day, ehcp_day, in_sen_window, request, issued, need_code, nsa, cutoff, birth
    )

    # ---------------------------------------------------------------- school years, census, attendance
    cal = _calendar(
        int(reception.min()) if n else y0 + 5,
        max(int(_year_of(np.array([ext]))[0]), int(reception.max())),
    )
    census, attendance, school_info = _school_records(
        n,
        birth,
        reception,
        cutoff,
        no_school,
        prim,
        sec,
        n_prim,
        n_sec,
        dep,
        eal,
        abs_z,
        id_day,
        identified & in_sen_window,
        np.where(issued, ehcp_day, _NEVER),
        exit_day,
        cal,
        rng,
        P,
    )
    # ---------------------------------------------------------------- exclusions
    exclusions = _exclusions(school_info, chan, male, dep, cutoff, cal, rng)

    # ---------------------------------------------------------------- health reviews
    health = _health_reviews(n, birth, cutoff, chan, dep, eal, gest, rng, P)

    # ---------------------------------------------------------------- assessments: EYFSP, phonics
    assessments = _assessments(
        n,
        birth,
        reception,
        cutoff,
        no_school,
        chan,
        need,
        youth,
        dep,
        eal,
        male,
        np.where(issued, ehcp_day, _NEVER),
        rng,
        P,
    )

    # ---------------------------------------------------------------- referrals
    referrals = _referrals(n, birth, cutoff, chan, need, dep, sc_z, gest, request, req_day, rng)

    # ---------------------------------------------------------------- assemble
    child_ids = _ids("c", n, 7)
    school_ids = _ids("s", n_prim + n_sec, 4)
    children = _frame(
        "children",
        {
            "child_id": _take_str(child_ids, np.arange(n)),
            "birth_date": _dates(birth),
            "sex": _cat(np.where(male, SEX.index("M"), SEX.index("F")), SEX),
            "ethnicity": _cat(eth, ETHNICITY),
            "imd_decile": _int(imd, imd_missing),
            "gestation_weeks": _int(gest, gest_missing),
            "birth_weight_g": _int(bw, bw_missing),
            "moved_out_date": _dates(move_t, ~moved),
        },
    )
    tables = {"children": children}
    for name, raw in (
        ("health_reviews", health),
        ("census", census),
        ("attendance", attendance),
        ("exclusions", exclusions),
        ("assessments", assessments),
        ("social_care", social),
        ("referrals", referrals),
        ("sen_events", sen_events),
    ):
        tables[name] = _to_frame(name, raw, child_ids, school_ids)

    truth = pd.DataFrame(
        {
            "need": need,
            "true_need": true_need,
            "need_type": pd.Categorical(np.array(_TYPES)[ntype], categories=list(_TYPES)),
            "need_communication": chan[:, 0],
            "need_cognition": chan[:, 1],
            "need_behaviour": chan[:, 2],
            "need_motor": chan[:, 3],
            "deprivation": dep,
            "absence_propensity": abs_z,
            "social_care_propensity": sc_z,
            "social_care_latent": sc_latent,
            "relative_age": youth,
            "school_effect": school_u,
            "school_effect_secondary": u_sec[sec],
            **comp,
            "logit_identify_primary": logit_a,
            "p_identify_primary": p_a,
            "p_identify_secondary": p_b,
            "p_identify": 1 - (1 - p_a) * (1 - p_b),
            "identified_latent": identified & in_sen_window,
            "first_sen_date_latent": _dates(id_day, ~(identified & in_sen_window)),
            "ehcp_date_latent": _dates(np.where(issued, ehcp_day, 0), ~(issued & in_sen_window)),
            "in_state_school": ~no_school,
        },
        index=pd.Index(_take_str(child_ids, np.arange(n)), name="child_id"),
    )
    return tables, truth


def _standardise(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Centre ``x`` to weighted mean 0 and scale it to weighted SD 1 (left as is for one value)."""
    if len(x) < 2:
        return np.zeros_like(x)
    m = np.sum(w * x)
    sd = np.sqrt(np.sum(w * (x - m) ** 2))
    return (x - m) / sd if sd > 0 else x - m


def _norm_cdf(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF (Abramowitz-Stegun 7.1.26 approximation of erf, vectorised)."""
    z = np.asarray(x, float) / np.sqrt(2.0)
    s = np.sign(z)
    a = np.abs(z)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (
        ((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592
    ) * t * np.exp(-a * a)
    return 0.5 * (1.0 + s * y)


# --------------------------------------------------------------------------------------
# table builders. Each returns a "raw" dict: "child" (int index), dates as int day
# numbers (_NAT for empty), codes as int codes, numbers as float (nan for empty).
# --------------------------------------------------------------------------------------


def _uniform_days(rng, lo, hi) -> np.ndarray:
    """Integer day numbers uniform on [lo, hi] (arrays)."""
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    return lo + np.floor(rng.random(lo.shape) * (np.maximum(hi - lo, 0) + 1)).astype(np.int64)


def _social_care(n, birth, cutoff, moved, move_t, ext, sc_z, rng) -> dict:
    """CIN, CPP and CLA episodes for the children with the highest social-care propensity."""
    year = 365.25
    in_cin = sc_z > 1.65
    n_cin = np.where(in_cin, 1 + rng.poisson(0.35, size=n), 0)
    c_owner, _ = _expand(n_cin)
    c_start = birth[c_owner] + np.round(rng.random(len(c_owner)) * 16 * year).astype(np.int64)
    c_end = c_start + 30 + np.round(rng.exponential(240, size=len(c_owner))).astype(np.int64)
    # child protection plans follow a CIN episode for the highest propensities
    first = np.r_[True, c_owner[1:] != c_owner[:-1]] if len(c_owner) else np.zeros(0, bool)
    cpp = first & (sc_z[c_owner] > 2.3)
    p_owner = c_owner[cpp]
    p_start = c_start[cpp] + 30 + rng.integers(0, 60, size=len(p_owner))
    p_end = p_start + 60 + np.round(rng.exponential(300, size=len(p_owner))).astype(np.int64)
    # looked after
    cla = first & (sc_z[c_owner] > 3.0) & (rng.random(len(c_owner)) < 0.7)
    l_owner = c_owner[cla]
    l_start = c_start[cla] + rng.integers(60, 400, size=len(l_owner))
    l_end = l_start + 30 + np.round(rng.exponential(2.5 * year, size=len(l_owner))).astype(np.int64)
    child = np.concatenate([c_owner, p_owner, l_owner])
    start = np.concatenate([c_start, p_start, l_start])
    end = np.concatenate([c_end, p_end, l_end])
    episode = np.concatenate(
        [
            np.full(len(c_owner), EPISODES.index("CIN")),
            np.full(len(p_owner), EPISODES.index("CPP")),
            np.full(len(l_owner), EPISODES.index("CLA")),
        ]
    )
    keep = start <= cutoff[child]
    child, start, end, episode = child[keep], start[keep], end[keep], episode[keep]
    over = end > cutoff[child]
    end = np.where(over & moved[child], cutoff[child], np.where(over, _NAT, end))
    return {
        "child": child,
        "start_date": start,
        "end_date": end,
        "episode": episode,
        "_ever_latent": in_cin,
    }


def _sen_events(
    n, id_day, req_day, ehcp_day, identified, request, issued, need_code, nsa, cutoff, birth
) -> dict:
    nsa_code = PRIMARY_NEEDS.index("NSA")
    parts = []
    for ev, mask, day, code in (
        ("sen_support", identified, id_day, np.where(nsa, nsa_code, need_code)),
        ("ehc_request", identified & request, req_day, np.full(n, -1)),
        ("ehcp", identified & issued, ehcp_day, need_code),
    ):
        m = mask & (day <= cutoff) & (day >= birth)
        idx = np.flatnonzero(m)
        parts.append((idx, day[idx], np.full(len(idx), SEN_EVENTS.index(ev)), code[idx]))
    return {
        "child": np.concatenate([p[0] for p in parts]),
        "event_date": np.concatenate([p[1] for p in parts]),
        "event": np.concatenate([p[2] for p in parts]),
        "primary_need": np.concatenate([p[3] for p in parts]),
    }


def _school_records(
    n,
    birth,
    reception,
    cutoff,
    no_school,
    prim,
    sec,
    n_prim,
    n_sec,
    dep,
    eal,
    abs_z,
    id_day,
    identified,
    ehcp_day,
    exit_day,
    cal,
    rng,
    P,
):
    y_first = int(cal["year"][0])
    cut_month = _month_of(cutoff)
    cut_ay = _year_of(cutoff) - (cut_month < 9)
    n_years = np.where(no_school, 0, np.clip(cut_ay - reception + 1, 0, 12))
    owner, k = _expand(n_years)
    ayear = reception[owner] + k
    yi = ayear - y_first
    secondary = k >= 7
    # moves between schools inside the area: one in primary (10%), one in secondary (7%)
    rec_start = _ymd(reception, 9, 1)
    pmove = np.where(
        rng.random(n) < 0.10, _uniform_days(rng, rec_start + 60, rec_start + 7 * 365 - 60), _NEVER
    )
    prim2 = (prim + 1 + rng.integers(0, max(n_prim - 1, 1), size=n)) % n_prim
    # permanent exclusion (secondary); the child then moves school
    sec_start = rec_start + int(7 * 365.25)
    pex_p = 0.012
    pex = rng.random(n) < pex_p * np.exp(0.6 * abs_z)
    pex_day = np.where(
        pex, _busday(_uniform_days(rng, sec_start + 20, sec_start + int(4.8 * 365))), _NEVER
    )
    pex = pex & (pex_day <= cutoff) & ~no_school
    pex_day = np.where(pex, pex_day, _NEVER)
    smove = np.where(
        rng.random(n) < 0.07, _uniform_days(rng, sec_start + 60, sec_start + 5 * 365 - 60), _NEVER
    )
    smove = np.where(pex, pex_day + 1, smove)
    sec2 = (sec + 1 + rng.integers(0, max(n_sec - 1, 1), size=n)) % n_sec

    # FSM: a persistent family component plus year-to-year change
    fsm_child = dep + rng.normal(0, 0.55, size=n)
    fsm_year = fsm_child[owner] + rng.normal(0, 0.40, size=len(owner)) > P.fsm_threshold
    year_noise = rng.normal(0, 0.35, size=len(owner))

    # --- census: 3 rows per child-year
    c_owner_y = np.repeat(np.arange(len(owner)), 3)
    term = np.tile(np.arange(3), len(owner))
    cday = cal["census"][yi[c_owner_y], term]
    ch = owner[c_owner_y]
    keep = cday <= cutoff[ch]
    c_owner_y, term, cday, ch = c_owner_y[keep], term[keep], cday[keep], ch[keep]
    is_sec = secondary[c_owner_y]
    school = np.where(
        is_sec,
        n_prim + np.where(cday >= smove[ch], sec2[ch], sec[ch]),
        np.where(cday >= pmove[ch], prim2[ch], prim[ch]),
    )
    prov = np.where(
        cday >= ehcp_day[ch],
        2,
        np.where(identified[ch] & (id_day[ch] <= cday) & (cday < exit_day[ch]), 1, 0),
    )
    census = {
        "child": ch,
        "census_date": cday,
        "school_id": school,
        "fsm_eligible": fsm_year[c_owner_y],
        "eal": eal[ch],
        "sen_provision": prov,
    }

    # --- attendance: complete terms only
    a_y = np.repeat(np.arange(len(owner)), 3)
    a_term = np.tile(np.arange(3), len(owner))
    tstart = cal["term_start"][yi[a_y], a_term]
    tend = cal["term_end"][yi[a_y], a_term]
    a_ch = owner[a_y]
    keep = tend <= cutoff[a_ch]
    a_y, a_term, tstart, tend, a_ch = a_y[keep], a_term[keep], tstart[keep], tend[keep], a_ch[keep]
    poss = cal["sessions"][yi[a_y], a_term]
    log_rate = (
        P.abs_log_median
        + P.abs_sd * abs_z[a_ch]
        + year_noise[a_y]
        + rng.normal(0, 0.25, size=len(a_y))
        + 0.25 * secondary[a_y]
        + 0.08 * (a_term == 2)
    )
    rate = np.minimum(np.exp(log_rate), 0.95)
    absent = rng.binomial(poss, rate)
    unauth = rng.binomial(absent, _sigmoid(-1.1 + 0.5 * dep[a_ch] + 0.4 * abs_z[a_ch]))
    attendance = {
        "child": a_ch,
        "term_start": tstart,
        "term_end": tend,
        "possible_sessions": poss.astype(float),
        "authorised_absence": (absent - unauth).astype(float),
        "unauthorised_absence": unauth.astype(float),
    }
    info = {"owner": owner, "k": k, "ayear": ayear, "yi": yi, "pex_day": pex_day, "pex": pex}
    return census, attendance, info


def _exclusions(info, chan, male, dep, cutoff, cal, rng) -> dict:
    owner, k, yi = info["owner"], info["k"], info["yi"]
    beh = chan[owner, 2]
    secondary = k >= 7
    lam = np.exp(-3.1 + 0.9 * beh + 0.5 * male[owner] + 0.35 * dep[owner]) * np.where(
        secondary, 1.0, 0.12
    )
    lam = lam * rng.gamma(0.6, 1 / 0.6, size=len(owner))
    cnt = rng.poisson(lam)
    row_y, _ = _expand(cnt)
    lo = cal["term_start"][yi[row_y], 0]
    hi = cal["term_end"][yi[row_y], 2]
    day = _busday(_uniform_days(rng, lo, hi))
    days = rng.choice(np.array([0.5, 1, 1, 1, 1, 2, 2, 3, 3, 5]), size=len(row_y))
    ch = owner[row_y]
    keep = day <= cutoff[ch]
    pex = np.flatnonzero(info["pex"])
    child = np.concatenate([ch[keep], pex])
    return {
        "child": child,
        "start_date": np.concatenate([day[keep], info["pex_day"][pex]]),
        "category": np.concatenate([np.full(int(keep.sum()), 0), np.full(len(pex), 1)]),
        "days": np.concatenate([days[keep], np.full(len(pex), np.nan)]),
    }


def _health_reviews(n, birth, cutoff, chan, dep, eal, gest, rng, P) -> dict:
    # domain -> channel (communication, gross motor, fine motor, problem solving, personal-social)
    dom_chan = np.array([0, 3, 3, 1, 2])
    dom_ch = chan[:, dom_chan]
    dom_ch = dom_ch.copy()
    dom_ch[:, 2] = 0.6 * chan[:, 3] + 0.4 * chan[:, 1]
    immature = np.clip(37 - gest, 0, 15) / 6.0
    rows = []
    for rtype, p_do, lo, hi, noise in (("1y", 1.5, 300, 470, 1.0), ("2y", 1.35, 730, 913, 0.8)):
        done = rng.random(n) < _sigmoid(p_do - 0.25 * dep - 0.3 * eal)
        day = birth + _uniform_days(rng, np.full(n, lo), np.full(n, hi))
        m = done & (day <= cutoff)
        idx = np.flatnonzero(m)
        z = (
            -0.55 * dom_ch[idx]
            - 0.15 * dep[idx, None]
            - 0.35 * immature[idx, None]
            + rng.normal(0, noise * 0.8, size=(len(idx), 5))
            + rng.normal(0, 0.35, size=(len(idx), 1))
        )
        mu = np.array(P.asq_mu) + (0 if rtype == "2y" else 2.0)
        score = np.clip(5 * np.round((mu + P.asq_sd * z) / 5), 0, 60)
        no_asq = rng.random(len(idx)) < 0.07
        dom_missing = rng.random((len(idx), 5)) < 0.02
        score = np.where(no_asq[:, None] | dom_missing, np.nan, score)
        rows.append((idx, day[idx], np.full(len(idx), REVIEW_TYPES.index(rtype)), score))
    out = {
        "child": np.concatenate([r[0] for r in rows]),
        "review_date": np.concatenate([r[1] for r in rows]),
        "review_type": np.concatenate([r[2] for r in rows]),
    }
    scores = np.concatenate([r[3] for r in rows])
    for j, d in enumerate(ASQ_DOMAINS):
        out[d] = scores[:, j]
    return out


def _assessments(
    n, birth, reception, cutoff, no_school, chan, need, youth, dep, eal, male, ehcp_day, rng, P
) -> dict:
    general = rng.normal(0, 0.55, size=n)  # shared attainment component
    # EYFSP: end of Reception (second half of June)
    e_day = _busday(_ymd(reception + 1, 6, 16) + rng.integers(0, 14, size=n), roll="backward")
    has_e = ~no_school & (e_day <= cutoff) & (rng.random(n) < 0.985)
    area_chan = np.array([0, 2, 3, 1, 1])  # comm_lang, psed, physical, literacy, maths
    area_eal = np.array([0.35, 0.0, 0.0, 0.30, 0.1])
    x = (
        -P.eyfsp_need * chan[:, area_chan]
        - 0.55 * youth[:, None]
        - 0.22 * dep[:, None]
        - area_eal * eal[:, None]
        + 0.32 * (~male)[:, None]
        + general[:, None]
        + rng.normal(0, 0.5, size=(n, 5))
    )
    expected = x > P.eyfsp_thr
    gld = expected.all(axis=1)
    vals = np.column_stack([gld, expected]).astype(float)
    e_idx = np.flatnonzero(has_e)
    e_child = np.repeat(e_idx, 6)
    # MEASURES order: gld, comm_lang, psed, physical, literacy, maths
    e_measure = np.tile(np.arange(6), len(e_idx))
    e_value = vals[e_idx].ravel()
    e_date = np.repeat(e_day[e_idx], 6)
    # phonics screening check: the week of the second Monday of June in Year 1
    p_day = _busday(_ymd(reception + 2, 6, 8), 0, weekmask="Mon") + rng.integers(0, 5, size=n)
    disapplied = ((ehcp_day <= p_day) & (rng.random(n) < 0.47)) | (need > 3.2)
    has_p = ~no_school & (p_day <= cutoff) & ~disapplied & (rng.random(n) < 0.98)
    xp = (
        -0.55 * chan[:, 1]
        - 0.12 * chan[:, 0]
        - 0.30 * youth
        - 0.20 * dep
        - 0.1 * eal
        + 0.25 * ~male
        + 1.1 * general
        + rng.normal(0, 0.55, size=n)
    )
    mark = np.clip(np.round(P.phonics_mu + P.phonics_sd * xp), 0, 40)
    p_idx = np.flatnonzero(has_p)
    return {
        "child": np.concatenate([e_child, p_idx]),
        "assessment_date": np.concatenate([e_date, p_day[p_idx]]),
        "measure": np.concatenate([e_measure, np.full(len(p_idx), MEASURES.index("phonics_mark"))]),
        "value": np.concatenate([e_value, mark[p_idx]]),
    }


def _referrals(n, birth, cutoff, chan, need, dep, sc_z, gest, request, req_day, rng) -> dict:
    year = 365.25
    specs = (
        ("SALT", -3.3 + 1.3 * chan[:, 0], 1.8, 5.5),
        ("paediatrics", -3.6 + 1.0 * need + 1.2 * (gest < 33), 0.3, 9.0),
        ("OT", -4.2 + 1.2 * chan[:, 3], 3.0, 11.0),
        ("CAMHS", -3.8 + 1.0 * chan[:, 2] + 0.3 * (sc_z - 1), 6.0, 16.0),
        ("EP", -4.5 + 1.0 * need, 5.0, 14.0),
        ("early_help", -3.0 + 0.6 * dep + 0.5 * sc_z, 0.2, 12.0),
    )
    parts = []
    for service, logit, a, b in specs:
        hit = rng.random(n) < _sigmoid(logit)
        day = birth + np.round((a + (b - a) * rng.random(n)) * year).astype(np.int64)
        if service == "EP":
            # educational psychologist advice before an EHC needs assessment request
            ep = request & (rng.random(n) < 0.7)
            day = np.where(ep, req_day - rng.integers(30, 200, size=n), day)
            hit = hit | ep
        again = hit & (rng.random(n) < 0.15)
        day2 = day + np.round((0.5 + 1.5 * rng.random(n)) * year).astype(np.int64)
        code = SERVICES.index(service)
        for m, d in ((hit, day), (again, day2)):
            m = m & (d <= cutoff) & (d >= birth)
            idx = np.flatnonzero(m)
            parts.append((idx, d[idx], np.full(len(idx), code)))
    return {
        "child": np.concatenate([p[0] for p in parts]),
        "referral_date": np.concatenate([p[1] for p in parts]),
        "service": np.concatenate([p[2] for p in parts]),
    }


def _to_frame(name: str, raw: dict, child_ids: pa.Array, school_ids: pa.Array) -> pd.DataFrame:
    """Sort a raw table by child and date and convert every column to its contract dtype."""
    table = TABLES[name]
    child = raw["child"]
    order = np.lexsort((raw[table.date_column], child))
    cols = {}
    for c in table.columns:
        if c.name == "child_id":
            cols[c.name] = _take_str(child_ids, child[order])
            continue
        v = raw[c.name][order]
        if c.name == "school_id":
            cols[c.name] = _take_str(school_ids, v)
        elif c.kind == "date":
            cols[c.name] = _dates(np.where(v == _NAT, 0, v), v == _NAT)
        elif c.kind == "code":
            codes = np.asarray(v, dtype=np.int64)
            cols[c.name] = pd.Categorical.from_codes(codes, dtype=c.dtype)
        elif c.kind == "int":
            f = np.asarray(v, dtype=float)
            cols[c.name] = _int(np.nan_to_num(f).astype(np.int64), np.isnan(f))
        elif c.kind == "float":
            cols[c.name] = _float(np.asarray(v, dtype=float))
        elif c.kind == "bool":
            cols[c.name] = pd.array(np.asarray(v, dtype=bool), dtype="boolean")
        else:  # pragma: no cover - no other kinds in the contract
            raise AssertionError(c.kind)
    return pd.DataFrame(cols, columns=table.column_names)
