"""Each contract table's records, simulated from need, circumstance and identification."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd
import pyarrow as pa

from ..schema import (
    ASQ_DOMAINS,
    EPISODES,
    MEASURES,
    PRIMARY_NEEDS,
    REVIEW_TYPES,
    SEN_EVENTS,
    SERVICES,
    TABLES,
)
from ._params import (
    _ABSENCE,
    _ASQ_EXTRA_CUTOFFS,
    _ASQ_FROM_AGE,
    _ASQ_LATE_REVIEW,
    _EPOCH,
    _FSM,
    _GLD,
    _NAT,
    _NEVER,
    _NO_ASSESSMENT_YEARS,
    _by_year,
)
from ._util import (
    _busday,
    _d,
    _dates,
    _expand,
    _float,
    _int,
    _month_of,
    _sigmoid,
    _take_str,
    _year_of,
    _ymd,
)


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
    in_cin = sc_z > 1.2
    n_cin = np.where(in_cin, 1 + rng.poisson(0.5, size=n), 0)
    c_owner, _ = _expand(n_cin)
    c_start = birth[c_owner] + np.round(rng.random(len(c_owner)) * 16 * year).astype(np.int64)
    c_end = c_start + 30 + np.round(rng.exponential(600, size=len(c_owner))).astype(np.int64)
    # child protection plans follow a CIN episode for the highest propensities
    first = np.r_[True, c_owner[1:] != c_owner[:-1]] if len(c_owner) else np.zeros(0, bool)
    cpp = first & (sc_z[c_owner] > 2.1)
    p_owner = c_owner[cpp]
    p_start = c_start[cpp] + 30 + rng.integers(0, 60, size=len(p_owner))
    p_end = p_start + 60 + np.round(rng.exponential(300, size=len(p_owner))).astype(np.int64)
    # looked after
    cla = first & (sc_z[c_owner] > 2.4) & (rng.random(len(c_owner)) < 0.7)
    l_owner = c_owner[cla]
    l_start = c_start[cla] + rng.integers(60, 400, size=len(l_owner))
    l_end = l_start + 30 + np.round(rng.exponential(3.5 * year, size=len(l_owner))).astype(np.int64)
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


@dataclass(frozen=True)
class _Schooling:
    """What each child's school records are simulated from: one value per child (arrays).

    ``cutoff`` is the last day a record may carry; ``identified``, ``id_day``, ``ehcp_day``
    and ``exit_day`` describe SEN support and plans as the census records them.
    """

    birth: np.ndarray
    reception: np.ndarray
    cutoff: np.ndarray
    no_school: np.ndarray
    prim: np.ndarray
    sec: np.ndarray
    dep: np.ndarray
    eal: np.ndarray
    abs_z: np.ndarray
    id_day: np.ndarray
    identified: np.ndarray
    ehcp_day: np.ndarray
    exit_day: np.ndarray
    n_prim: int
    n_sec: int


def _school_records(s: _Schooling, cal, rng, P):
    """Census (three a school year), attendance (complete terms) and the school-year rows."""
    n, reception, cutoff, dep, eal, abs_z = (
        len(s.birth),
        s.reception,
        s.cutoff,
        s.dep,
        s.eal,
        s.abs_z,
    )
    prim, sec, n_prim, n_sec = s.prim, s.sec, s.n_prim, s.n_sec
    id_day, identified, ehcp_day, exit_day = s.id_day, s.identified, s.ehcp_day, s.exit_day
    y_first = int(cal["year"][0])
    cut_month = _month_of(cutoff)
    cut_ay = _year_of(cutoff) - (cut_month < 9)
    n_years = np.where(s.no_school, 0, np.clip(cut_ay - reception + 1, 0, 12))
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
    pex = pex & (pex_day <= cutoff) & ~s.no_school
    pex_day = np.where(pex, pex_day, _NEVER)
    smove = np.where(
        rng.random(n) < 0.07, _uniform_days(rng, sec_start + 60, sec_start + 5 * 365 - 60), _NEVER
    )
    smove = np.where(pex, pex_day + 1, smove)
    sec2 = (sec + 1 + rng.integers(0, max(n_sec - 1, 1), size=n)) % n_sec

    # FSM: a persistent family component plus year-to-year change
    # the threshold follows the national January share of the school year (send_facts 6.1)
    fsm_thr = {y: P.fsm_sd * NormalDist().inv_cdf(1 - v / 100) for y, v in _FSM.items()}
    fsm_child = dep + rng.normal(0, 0.55, size=n)
    fsm_year = fsm_child[owner] + rng.normal(0, 0.40, size=len(owner)) > _by_year(
        fsm_thr, ayear + 1
    )
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
    # summer term 2020 (schools closed to most pupils) was not collected
    keep = (tend <= cutoff[a_ch]) & ~((a_term == 2) & (ayear[a_y] == 2019))
    a_y, a_term, tstart, tend, a_ch = a_y[keep], a_term[keep], tstart[keep], tend[keep], a_ch[keep]
    poss = cal["sessions"][yi[a_y], a_term]
    sen_k = identified[a_ch] & (id_day[a_ch] <= tstart) & (tstart < exit_day[a_ch])
    sen_e = tstart >= ehcp_day[a_ch]
    log_rate = (
        P.abs_log_median
        + np.log(_by_year(_ABSENCE, ayear[a_y]) / P.abs_reference)
        + P.abs_sen_support * (sen_k & ~sen_e)
        + P.abs_ehcp * sen_e
        + P.abs_sd * abs_z[a_ch]
        + year_noise[a_y]
        + rng.normal(0, 0.25, size=len(a_y))
        + 0.25 * secondary[a_y]
        + 0.08 * (a_term == 2)
    )
    rate = np.minimum(np.exp(log_rate), 0.95)
    # a stream of its own: binomial draws use a varying amount of randomness, and the rate
    # depends on identification, so later tables keep the same draws whatever is identified
    arng = np.random.default_rng(rng.integers(0, 2**63))
    absent = arng.binomial(poss, rate)
    unauth = arng.binomial(absent, _sigmoid(-1.1 + 0.5 * dep[a_ch] + 0.4 * abs_z[a_ch]))
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


def _asq_interval(birth: np.ndarray, day: np.ndarray) -> np.ndarray:
    """The ASQ-3 questionnaire interval (months) for a review on ``day``, by age at the review.

    An age of m months and d days is reached on the day-of-month of birth m calendar months
    on (the month's last day if it is shorter), plus d days.
    """
    out = np.full(len(day), _ASQ_FROM_AGE[0][2], dtype=np.int64)
    if not len(day):
        return out
    birth_month = _d(birth).astype("datetime64[M]").astype(np.int64)
    first = int(birth_month.min())
    span = np.arange(first, int(birth_month.max()) + _ASQ_FROM_AGE[-1][0] + 2)
    month_start = (span.astype("datetime64[M]").astype("datetime64[D]") - _EPOCH).astype(np.int64)
    offset = birth - month_start[birth_month - first]  # day of the month of birth, from 0
    for months, days, interval in _ASQ_FROM_AGE[1:]:
        t = birth_month - first + months
        reached = month_start[t] + np.minimum(offset, month_start[t + 1] - month_start[t] - 1)
        out = np.where(day >= reached + days, interval, out)
    return out


def _asq_anchor_cutoffs() -> dict[int, np.ndarray]:
    """Cut-offs by interval that place the simulated scores (shipped ones first)."""
    from ..features import CUTOFF_TABLES

    table = CUTOFF_TABLES["asq3"]
    cut = {m: np.array([c[d] for d in ASQ_DOMAINS]) for m, c in table.cutoffs.items()}
    cut |= {m: np.array(v) for m, v in _ASQ_EXTRA_CUTOFFS.items()}
    cut.setdefault(33, (cut[30] + cut[36]) / 2)
    return cut


def _health_reviews(n, birth, cutoff, chan, dep, eal, gest, rng, P) -> dict:
    # domain -> channel (communication, gross motor, fine motor, problem solving, personal-social)
    dom_chan = np.array([0, 3, 3, 1, 2])
    dom_ch = chan[:, dom_chan]
    dom_ch = dom_ch.copy()
    dom_ch[:, 2] = 0.6 * chan[:, 3] + 0.4 * chan[:, 1]
    immature = np.clip(37 - gest, 0, 15) / 6.0
    # scores sit as far above each interval's cut-off, in that interval's spread, as they sit
    # above the 24-month cut-off at 24 months, so the share below a cut-off is the same whichever
    # questionnaire the age at the review calls for. Scores step by 5: a score is under a cut-off
    # when it is under the step boundary below it (25.17 -> a score of 25 or less)
    anchor = _asq_anchor_cutoffs()
    months = np.array(sorted(anchor))
    edge = 5 * np.ceil(np.stack([anchor[m] for m in months]) / 5) - 2.5
    spread = (60 - edge) / (60 - edge[months == 24])
    mus = edge + np.array(P.asq_gap) * spread
    rows = []
    covid = (_ymd(2020, 4, 1), _ymd(2021, 3, 31))  # fewer reviews, many remote, in 2020/21
    for rtype, p_do, lo, hi, noise in (("1y", 1.5, 300, 470, 1.0), ("2y", 1.35, 730, 913, 0.8)):
        u = rng.random(n)
        if rtype == "2y":  # most by 30 months, some later (to 36 months)
            late = u >= 1 - _ASQ_LATE_REVIEW
            u = np.where(
                late, (u - 1 + _ASQ_LATE_REVIEW) / _ASQ_LATE_REVIEW, u / (1 - _ASQ_LATE_REVIEW)
            )
            lo, hi = np.where(late, hi + 1, lo), np.where(late, 1095, hi)
        day = birth + lo + np.floor(u * (np.maximum(hi - lo, 0) + 1)).astype(np.int64)
        drop = P.review_covid_drop * ((day >= covid[0]) & (day <= covid[1]))
        done = rng.random(n) < _sigmoid(p_do - 0.25 * dep - 0.3 * eal - drop)
        m = done & (day <= cutoff)
        idx = np.flatnonzero(m)
        z = (
            -0.55 * dom_ch[idx]
            - 0.15 * dep[idx, None]
            - 0.35 * immature[idx, None]
            + rng.normal(0, noise * 0.6, size=(len(idx), 5))
            + rng.normal(0, 0.5, size=(len(idx), 1))
        )
        interval = _asq_interval(birth[idx], day[idx])
        k = np.searchsorted(months, interval)
        score = np.clip(5 * np.round((mus[k] + P.asq_sd * spread[k] * z) / 5), 0, 60)
        no_asq = rng.random(len(idx)) < 0.07
        dom_missing = rng.random((len(idx), 5)) < 0.02
        score = np.where(no_asq[:, None] | dom_missing, np.nan, score)
        rows.append((idx, day[idx], np.full(len(idx), REVIEW_TYPES.index(rtype)), score, interval))
    out = {
        "child": np.concatenate([r[0] for r in rows]),
        "review_date": np.concatenate([r[1] for r in rows]),
        "review_type": np.concatenate([r[2] for r in rows]),
        # the questionnaire a health visitor picks by the child's age at the review
        "asq_interval_months": np.concatenate([r[4] for r in rows]).astype(float),
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
    no_eyfsp = np.isin(reception + 1, _NO_ASSESSMENT_YEARS)  # not collected (pandemic)
    has_e = ~no_school & (e_day <= cutoff) & (rng.random(n) < 0.985) & ~no_eyfsp
    # the national GLD share of the year (2022 on: the reformed profile)
    norm = NormalDist()
    gld_shift = P.eyfsp_scale * np.array(
        [norm.inv_cdf(v / 100) - norm.inv_cdf(P.eyfsp_reference) for v in _GLD.values()]
    )
    gld_shift = _by_year(dict(zip(_GLD, gld_shift, strict=True)), reception + 1)
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
        + gld_shift[:, None]
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
    # no June check in 2020 or 2021; Year 2 took a past check in the autumn term of 2020
    autumn = _busday(_ymd(np.full(n, 2020), 11, 16) + rng.integers(0, 26, size=n))
    p_day = np.where(reception + 2 == 2020, autumn, p_day)
    p_none = reception + 2 == 2021
    disapplied = ((ehcp_day <= p_day) & (rng.random(n) < 0.47)) | (need > 3.2)
    has_p = ~no_school & (p_day <= cutoff) & ~disapplied & (rng.random(n) < 0.98) & ~p_none
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


def _child_date_order(child: np.ndarray, day: np.ndarray) -> np.ndarray:
    """The rows in (child, date) order, ties kept in place (``np.lexsort((day, child))``).

    Census and attendance rows are built in that order already: checked in one pass. Other
    tables sort on one int64 key (a stable sort on one key is several times faster than
    ``lexsort`` on two), unless the dates span too much for the key.
    """
    child = np.asarray(child, dtype=np.int64)
    day = np.asarray(day, dtype=np.int64)
    if len(child) < 2:
        return np.arange(len(child))
    same = child[1:] == child[:-1]
    if np.all((child[1:] > child[:-1]) | (same & (day[1:] >= day[:-1]))):
        return np.arange(len(child))
    lo, width = int(day.min()), int(day.max()) - int(day.min()) + 1
    if width * (int(child.max()) + 1) >= 2**62:  # pragma: no cover - empty dates in the key
        return np.lexsort((day, child))
    return np.argsort(child * width + (day - lo), kind="stable")


def _to_frame(name: str, raw: dict, child_ids: pa.Array, school_ids: pa.Array) -> pd.DataFrame:
    """Sort a raw table by child and date and convert every column to its contract dtype."""
    table = TABLES[name]
    child = raw["child"]
    order = _child_date_order(child, raw[table.date_column])
    cols = {}
    for c in table.columns:
        if c.name == "child_id":
            cols[c.name] = _take_str(child_ids, child[order])
            continue
        if c.optional and c.name not in raw:  # an optional column the generator does not write
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
    return pd.DataFrame(cols, columns=[c for c in table.column_names if c in cols])
