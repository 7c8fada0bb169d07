"""The review policy in one place: the automatic checks of a model card, their thresholds,
the fairness band and gating metrics, and the reviewer checklist.

The group audit (:mod:`send_early.fairness`), the model card (:mod:`send_early.report`),
the registry and the command line all read these names from here, so a threshold or a
checklist item is written once. See ``docs/governance.md``.
"""

from ._checks import run_checks
from ._multiplicity import GateResult, band_p_value, gap_gate, gap_p_value, holm, ratio_gate
from ._policy import (
    BAND,
    DEFAULT_THRESHOLDS,
    FAMILY_ERROR,
    GATING,
    MANUAL_CHECKLIST,
    MIN_EXPECTED,
)

__all__ = [
    "BAND",
    "DEFAULT_THRESHOLDS",
    "FAMILY_ERROR",
    "GATING",
    "GateResult",
    "MANUAL_CHECKLIST",
    "MIN_EXPECTED",
    "band_p_value",
    "gap_gate",
    "gap_p_value",
    "holm",
    "ratio_gate",
    "run_checks",
]
