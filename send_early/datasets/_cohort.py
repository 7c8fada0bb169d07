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
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..schema import (
    ETHNICITY,
    PRIMARY_NEEDS,
    SEX,
    Tables,
)
from ._checks import _check_area, _check_args, _check_under_identify
from ._locality import _localities
from ._params import (
    _BW_MEAN40,
    _EAL_P,
    _ETH_TYPE,
    _GEST_BANDS,
    _GEST_SHIFT,
    _LOAD,
    _NEVER,
    _P,
    _PARAMS,
    _PROFILES,
    _REQUESTS,
    _SEN_ALL,
    _SEVERE_P,
    _SEVERE_TYPES,
    _TYPE_P_BOY,
    _TYPE_P_GIRL,
    _TYPE_REQUEST,
    _TYPE_TIMING,
    _TYPES,
    _by_year,
)
from ._records import (
    _assessments,
    _exclusions,
    _health_reviews,
    _norm_cdf,
    _referrals,
    _school_records,
    _Schooling,
    _sen_events,
    _social_care,
    _standardise,
    _to_frame,
)
from ._util import (
    _calendar,
    _cat,
    _dates,
    _days,
    _frame,
    _ids,
    _int,
    _month_of,
    _sigmoid,
    _take_str,
    _year_of,
    _ymd,
)

logger = logging.getLogger(__name__)

__all__ = ["make_cohort"]


def _secondary_in(sec_la: np.ndarray, la: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A secondary school in council ``la`` for each uniform ``u`` (any school if it has none)."""
    n_sec = len(sec_la)
    order = np.argsort(sec_la, kind="stable")
    counts = np.bincount(sec_la, minlength=int(la.max(initial=0)) + 1)
    starts = np.cumsum(counts) - counts
    c = counts[la]
    inside = order[
        np.minimum(starts[la] + np.floor(u * np.maximum(c, 1)).astype(np.int64), n_sec - 1)
    ]
    return np.where(c > 0, inside, np.floor(u * n_sec).astype(np.int64))


def _request_day(start: np.ndarray, hazard: np.ndarray, e: np.ndarray, P: _P) -> np.ndarray:
    """Day of the request: the cumulative hazard from ``start`` reaches the Exp(1) draw ``e``.

    ``hazard`` is per year at the latest year's national request rate; each calendar year
    scales it by that year's requests over the latest year's (``cal_request`` power).
    """
    years = np.arange(1990, 2101)
    knots = _ymd(years, 1, 1)
    rate = (_by_year(_REQUESTS, years) / _REQUESTS[max(_REQUESTS)]) ** P.cal_request
    cum = np.concatenate([[0.0], np.cumsum(rate[:-1] * np.diff(knots) / 365.25)])
    target = np.interp(start, knots, cum) + e / np.maximum(hazard, 1e-12)
    day = np.interp(np.minimum(target, cum[-1]), cum, knots)
    return np.where(target >= cum[-1], _NEVER, np.round(day)).astype(np.int64)


def _calendar_shift(rec_start: np.ndarray, t: np.ndarray, strength: float) -> np.ndarray:
    """Identification log-odds for an event ``t`` years after Reception starts, by its year.

    The event counts towards the next January census; the shift is ``strength`` times the
    log-ratio of that census's national all-SEN share to the latest one (0 from then on).
    """
    year = _year_of(rec_start + np.round(t * 365.25).astype(np.int64)) + 1
    return strength * np.log(_by_year(_SEN_ALL, year) / _SEN_ALL[max(_SEN_ALL)])


def make_cohort(
    n_children: int,
    *,
    random_state=None,
    birth_years: tuple[int, int] | None = None,
    extract_date="2025-08-31",
    return_truth: bool = False,
    under_identify=None,
    councils: int = 1,
    profile: str | None = None,
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
    birth_years : (int, int) or None, default=None
        First and last calendar year of birth (inclusive). Births are spread
        evenly over these years, up to ``extract_date``. None (the default) means
        every day from 1 September 2004 (or twelve years before the extract year,
        if earlier) to ``extract_date``: every primary year group of every January
        census from 2016 to the extract, and children born up to the extract day.
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
    councils : int, default=1
        Number of councils the schools (and so the children) are split between. Councils
        differ in identification practice, EHC needs assessment requests (plan rates about
        2x apart) and the weeks they take to issue a plan. The children table gets a
        ``council_id`` column (``LA01``, ...) whatever the number.
    profile : {None, "london", "urban", "county"}, default=None
        The kind of area: ethnicity mix, English as an additional language and
        deprivation. None is England as a whole.

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
        ``extract_date`` is not a date on or after the first birth year,
        ``councils`` is not a positive whole number or ``profile`` is unknown.
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
    area = _check_area(councils, profile)
    tables, truth = _simulate(n, y0, y1, extract, rng, _PARAMS, plant, area)
    out = Tables(tables, extract_date=extract)
    logger.debug(
        "make_cohort: %d children, %s", n, ", ".join(f"{k}={len(v)}" for k, v in tables.items())
    )
    if return_truth:
        return out, truth
    return out


def _simulate(
    n: int,
    y0: int,
    y1: int,
    extract: pd.Timestamp,
    rng: np.random.Generator,
    P: _P,
    plant: Mapping[str, Mapping[str, float]] | None = None,
    area: tuple[int, str | None] = (1, None),
):
    ext = _days(extract)
    n_la, profile = area
    eth_p, eal_mult, dep_shift = _PROFILES[profile]
    # ---------------------------------------------------------------- children, births
    if y0 is None:  # every day from Year 6 of January 2016 (or 12 years back) to the extract
        first_day = _days(pd.Timestamp(year=min(2004, extract.year - 12), month=9, day=1))
        last_day = ext
    else:
        first_day = _days(pd.Timestamp(year=y0, month=1, day=1))
        last_day = min(_days(pd.Timestamp(year=y1, month=12, day=31)), ext)
    birth = rng.integers(first_day, last_day + 1, size=n)
    male = rng.random(n) < 0.512
    eth = rng.choice(len(ETHNICITY), size=n, p=eth_p / eth_p.sum())
    eal = rng.random(n) < np.minimum(_EAL_P[eth] * eal_mult, 0.95)
    month = _month_of(birth)
    msy = (month - 9) % 12 + 1  # 1 = September (oldest) ... 12 = August (youngest)
    youth = (msy - 6.5) / 5.5  # -1 oldest ... +1 youngest in the year group
    ay_birth = _year_of(birth) - (month < 9)
    reception = ay_birth + 5  # September of the Reception year

    # schools: primary and secondary, each with an area deprivation level and a random effect
    per_year = n / max(1.0, (last_day - first_day + 1) / 365.25)
    n_prim = max(1, int(round(per_year / 40)))
    n_sec = max(1, int(round(per_year / 180)))
    prim_w = rng.gamma(4.0, size=n_prim)
    prim = rng.choice(n_prim, size=n, p=prim_w / prim_w.sum())
    # councils: schools are split between councils, each with its own identification and
    # request practice and its own pace of issuing plans (centred over the children)
    la_w = rng.gamma(6.0, size=n_la)
    prim_la = rng.choice(n_la, size=n_prim, p=la_w / la_w.sum())
    sec_la = rng.choice(n_la, size=n_sec, p=la_w / la_w.sum())
    la = prim_la[prim]
    la_share = np.bincount(la, minlength=n_la) / max(n, 1)
    la_id = _standardise(rng.normal(0, 1, size=n_la), la_share) * P.council_id_sd
    la_req = _standardise(rng.normal(0, 1, size=n_la), la_share) * P.council_req_sd
    la_weeks = P.plan_weeks + (
        _standardise(rng.normal(0, 1, size=n_la), la_share) * P.plan_weeks_council_sd
    )
    # school-level effects are centred and scaled over the area's pupils, so that the area as a
    # whole matches the calibration targets whatever the draw (schools differ, the area does not)
    prim_share = prim_w / prim_w.sum()
    area_dep = _standardise(rng.normal(0, 1, size=n_prim), prim_share) * 0.7
    u_prim = _standardise(rng.normal(0, 1, size=n_prim), prim_share) * P.id_school_sd
    u_sec = (
        _standardise(rng.normal(0, 1, size=n_sec), np.full(n_sec, 1 / n_sec)) * P.id_school_sd * 0.8
    )
    feeder = _secondary_in(sec_la, prim_la, rng.random(n_prim))
    dep = area_dep[prim] + rng.normal(0, 0.7, size=n) + dep_shift
    imd_x = area_dep[prim] + rng.normal(0, 0.35, size=n) + dep_shift
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
    sec = np.where(rng.random(n) < 0.75, feeder[prim], _secondary_in(sec_la, la, rng.random(n)))
    # when identification would happen, in years from the start of Reception: a share before
    # Reception (from age 2, more with higher need), otherwise in primary, earlier for higher
    # need and for SLCN, ASD and the severe types, later for SEMH and SPLD
    rec_start = _ymd(reception, 9, 1)
    pre = rng.random(n) < _sigmoid(P.pre_a0 + P.pre_need * (need - 1.5))
    pre_years = np.maximum((rec_start - birth) / 365.25 - 2.0, 0.0)
    c = P.timing_power * np.exp(0.45 * (need - 1.0)) * _TYPE_TIMING[ntype]
    t_a = np.where(pre, -pre_years * rng.random(n), 7.0 * rng.random(n) ** c)
    t_b = 7.0 + 5.0 * rng.random(n)
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
        "logit_ethnicity": _ETH_TYPE[eth, ntype],
        "logit_council": la_id[la],
        "logit_calendar": _calendar_shift(rec_start, t_a, P.cal_identify),
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
        + _ETH_TYPE[eth, ntype]
        + la_id[la]
        + _calendar_shift(rec_start, t_b, P.cal_identify)
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
    t_id = np.where(id_a, t_a, np.where(id_b, t_b, np.nan))
    id_day = np.where(np.isnan(t_id), 0, rec_start + np.round(np.nan_to_num(t_id) * 365.25)).astype(
        np.int64
    )
    identified = ~np.isnan(t_id)
    # EHC needs assessment request: whether one will be made (need, type, sex, absence, school,
    # council), then when: a hazard from identification on (at least 30 days later), scaled
    # year by year by the national number of requests against the latest year
    logit_r = (
        P.req_a0
        + P.req_need * need
        + _TYPE_REQUEST[ntype]
        + P.req_male * male
        + P.req_absence * abs_z
        + 0.5 * school_u
        + la_req[la]
    )
    hazard = P.req_hazard * np.exp(0.5 * np.clip(need - 1.5, -1, 3))
    req_day = _request_day(id_day + 30, hazard, rng.exponential(1.0, size=n), P)
    request = identified & (rng.random(n) < _sigmoid(logit_r))
    end_school = _ymd(reception + 12, 7, 22)
    request = request & (req_day < end_school)
    issued = request & (rng.random(n) < _sigmoid(P.issue_a0 + 1.0 * (need - 1.5)))
    weeks = np.clip(rng.normal(la_weeks[la], 4.0, size=n), 10, 52)
    ehcp_day = req_day + np.round(weeks * 7).astype(np.int64)
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
    schooling = _Schooling(
        birth=birth,
        reception=reception,
        cutoff=cutoff,
        no_school=no_school,
        prim=prim,
        sec=sec,
        dep=dep,
        eal=eal,
        abs_z=abs_z,
        id_day=id_day,
        identified=identified & in_sen_window,
        ehcp_day=np.where(issued, ehcp_day, _NEVER),
        exit_day=exit_day,
        n_prim=n_prim,
        n_sec=n_sec,
    )
    census, attendance, school_info = _school_records(schooling, cal, rng, P)
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
            "council_id": _take_str(_ids("LA", n_la, 2), la),
            "locality": _localities(rng, prim, prim_la, area_dep, n_la),
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
