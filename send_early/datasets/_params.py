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
