"""The synthetic world's parameters: need types, loadings, shares and the calibrated constants."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

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
    [0.22, 0.22, 0.21, 0.13, 0.12, 0.0, 0.0, 0.025, 0.012, 0.007, 0.002, 0.034, 0.0]
)
_TYPE_P_GIRL = np.array(
    [0.28, 0.09, 0.19, 0.18, 0.15, 0.0, 0.0, 0.025, 0.013, 0.008, 0.002, 0.042, 0.0]
)
#: Severe-need types that replace the base type for the most severe tail.
_SEVERE_TYPES = np.array([_TYPES.index(t) for t in ("SLD", "PMLD", "DS", "PD", "ASD")])
_SEVERE_P = np.array([0.30, 0.08, 0.08, 0.12, 0.42])
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
_TYPE_REQUEST = np.array([-0.8, 3.3, -0.3, -0.2, -1.2, 2.5, 3.0, 0.8, 0.5, 0.5, 1.0, 0.0, 3.0])
#: Timing of identification by type: > 1 earlier (SLCN, ASD, severe), < 1 later (SEMH, SPLD).
_TYPE_TIMING = np.array([1.5, 1.2, 0.6, 1.0, 0.55, 2.0, 2.0, 1.5, 1.5, 1.5, 2.0, 1.0, 2.0])
#: Identification log-odds by ethnicity (rows, schema.ETHNICITY) and need type (columns,
#: _TYPES): Chinese pupils about half as likely to be identified, Asian pupils about half as
#: likely for ASD, Black pupils more often for SEMH (send_facts 1.5; Black Caribbean ~2x,
#: diluted in the major group).
_ETH_TYPE = np.zeros((7, 13))
_ETH_TYPE[2, :] = -0.15
_ETH_TYPE[2, 1] = -0.9
_ETH_TYPE[3, 2] = 0.7
_ETH_TYPE[4, :] = -1.2

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
    id_a0: float = -1.5
    id_need: float = 1.7
    id_school_sd: float = 1.3
    id_male: float = 0.9
    id_rel_age: float = 1.0  # youngest vs oldest in year (Aug vs Sep), log-odds
    id_eal: float = -0.55
    id_absence: float = -0.30
    id_dep: float = 0.8
    id_social_care: float = 0.7
    # identification in secondary, if not before
    sec_a0: float = -3.3
    sec_need: float = 1.0
    # EHC needs assessment request among the identified
    req_a0: float = -2.0
    req_need: float = 1.6
    req_male: float = 0.45
    req_absence: float = -0.45
    issue_a0: float = 0.4
    req_hazard: float = 0.6  # requests a year at the latest year's rate
    # ASQ-3: mean score above the cut-off's step boundary, by domain, and the spread, both at
    # 24 months (scaled to each interval's room above its cut-off)
    asq_gap: tuple[float, ...] = (9.7, 11.6, 12.0, 12.5, 11.7)
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
    # absence: extra log-rate while on SEN support / with an EHC plan
    abs_sen_support: float = 0.25
    abs_ehcp: float = 0.25
    # calendar time: log-odds per log-ratio of the national all-SEN share (identification)
    # and of national requests (EHC needs assessment requests), against the latest year
    cal_identify: float = 4.0
    cal_request: float = 1.6
    # identification before Reception (from age 2): share of the identified, by need
    pre_a0: float = -0.3
    pre_need: float = 0.9
    # councils: SD of the identification and request log-odds, mean weeks to a plan
    council_id_sd: float = 0.25
    council_req_sd: float = 0.40
    plan_weeks: float = 20.5
    plan_weeks_council_sd: float = 4.0
    # absence: the overall rate the unshifted model gives (the year series is relative to it)
    abs_reference: float = 7.2
    # EYFSP: latent shift per probit step of the national GLD share, and the GLD share the
    # unshifted thresholds give
    eyfsp_scale: float = 1.7
    eyfsp_reference: float = 0.69
    # health visitor reviews: lower log-odds of a review due April 2020 to March 2021
    review_covid_drop: float = 0.8
    # FSM: SD of the family FSM propensity (deprivation + persistent + yearly noise)
    fsm_sd: float = 1.197


_PARAMS = _P()


# --------------------------------------------------------------------------------------
# Calendar time: national series by year (send_facts 6.1, 6.2; [U] figures are flagged in
# docs/synthetic_data.md). Years outside a table take its nearest end.
# --------------------------------------------------------------------------------------

#: January census year -> all-SEN share of pupils (EHC plan + SEN support), England.
_SEN_ALL = {
    2016: 14.4, 2017: 14.4, 2018: 14.6, 2019: 15.0, 2020: 15.4,
    2021: 15.9, 2022: 16.6, 2023: 17.3, 2024: 18.4, 2025: 19.5,
}  # fmt: skip
#: Calendar year -> initial requests for an EHC needs assessment, England.
_REQUESTS = {
    2018: 72_400, 2019: 82_329, 2020: 76_000, 2021: 93_302,
    2022: 114_500, 2023: 138_200, 2024: 154_489,
}  # fmt: skip
#: January census year -> FSM-eligible share of pupils.
_FSM = {
    2016: 14.3, 2017: 14.1, 2018: 13.6, 2019: 15.4, 2020: 17.3,
    2021: 20.8, 2022: 22.5, 2023: 23.8, 2024: 24.6, 2025: 25.7,
}  # fmt: skip
#: Academic year (September start) -> overall absence, state-funded schools. 2019/20 and
#: 2020/21 are assumptions (summer 2020 not collected; attendance fell in 2020/21).
_ABSENCE = {
    2015: 4.6, 2016: 4.7, 2017: 4.8, 2018: 4.7, 2019: 4.9,
    2020: 5.9, 2021: 7.6, 2022: 7.4, 2023: 7.1, 2024: 6.9,
}  # fmt: skip
#: EYFSP summer -> GLD share (none in 2020 and 2021; the profile was reformed from
#: September 2021, so 2022 onward is not comparable with 2019 and earlier).
_GLD = {
    2016: 69.3,
    2017: 70.7,
    2018: 71.5,
    2019: 71.8,
    2022: 65.2,
    2023: 67.2,
    2024: 67.7,
    2025: 68.3,
}
#: Summers with no EYFSP and no June phonics check (pandemic).
_NO_ASSESSMENT_YEARS = (2020, 2021)

#: ASQ-3 questionnaire a health visitor picks by the child's age at the review (send_facts 3.9;
#: the publisher's age windows): (months, days) of age from which each interval is used. A
#: review before 23 months is the 1-year review and gets the 12-month questionnaire.
_ASQ_FROM_AGE = ((0, 0, 12), (23, 0, 24), (25, 16, 27), (28, 16, 30), (31, 16, 33), (34, 16, 36))
#: Cut-offs (mean - 2 SD) of the intervals the shipped table (features/asq_cutoffs.toml) does
#: not hold, used only to place the simulated scores: 12 months as cited from the ASQ-3 User's
#: Guide by a secondary source [U]; 33 months midway between the 30- and 36-month rows.
_ASQ_EXTRA_CUTOFFS = {12: (15.64, 21.49, 34.50, 27.32, 21.73)}
#: Share of 2-year reviews done late, after 30 months (up to 36) [assumption].
_ASQ_LATE_REVIEW = 0.10


def _by_year(table: dict[int, float], years: np.ndarray) -> np.ndarray:
    """Look ``years`` up in a year -> value table, taking the nearest end outside it."""
    keys = np.array(sorted(table))
    vals = np.array([table[k] for k in keys], dtype=float)
    y = np.clip(np.asarray(years, dtype=np.int64), keys[0], keys[-1])
    return np.interp(y, keys, vals)


#: Council profiles: ethnicity shares (order of schema.ETHNICITY), EAL multiplier and a
#: shift of family deprivation (SD units). None is England as a whole.
_PROFILES = {
    None: (_ETH_P, 1.0, 0.0),
    "london": (np.array([0.44, 0.10, 0.20, 0.16, 0.015, 0.06, 0.025]), 1.5, 0.25),
    "urban": (np.array([0.62, 0.07, 0.19, 0.07, 0.008, 0.025, 0.017]), 1.15, 0.40),
    "county": (np.array([0.88, 0.045, 0.035, 0.015, 0.005, 0.01, 0.01]), 0.7, -0.35),
}
