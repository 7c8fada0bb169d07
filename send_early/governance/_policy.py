"""The review policy as data: the fairness band, the gating metrics, the thresholds of the
automatic checks and the reviewer checklist. Every layer reads them from here."""

from __future__ import annotations

__all__ = [
    "BAND",
    "DEFAULT_THRESHOLDS",
    "FAMILY_ERROR",
    "GATING",
    "MANUAL_CHECKLIST",
    "MIN_EXPECTED",
]

#: Ratios of a group's value to its reference group's inside this band (inclusive) count as
#: no difference; 0.8 and 1.25 are reciprocals, so the band is the same either way round.
BAND: tuple[float, float] = (0.8, 1.25)

#: Metrics whose ratios to the reference group gate a model (see ``docs/fairness.md``):
#: at a low capacity the false negative rate is near 1 in every group, so its ratio
#: cannot leave the band; recall and flag rate are small numbers whose ratios can.
GATING: tuple[str, ...] = ("recall", "flag_rate")

#: A group's ratio is tested only when at least this many of its children would count
#: (flagged, or flagged among the identified) at the reference group's rate: below it a
#: zero is chance, not evidence.
MIN_EXPECTED = 5

#: Family-wise error rate of each check that tests many groups at once (Holm-Bonferroni
#: over the groups the check tests; ``docs/fairness.md``).
FAMILY_ERROR = 0.05

#: Thresholds of the automatic checks (override with ``build_model_card(thresholds=)``).
DEFAULT_THRESHOLDS: dict[str, float] = {
    "ece_max": 0.02,
    "fnr_ratio_low": BAND[0],
    "fnr_ratio_high": BAND[1],
    "ratio_band_low": BAND[0],
    "ratio_band_high": BAND[1],
    "ratio_min_expected": MIN_EXPECTED,
    "family_error": FAMILY_ERROR,
    "calibration_gap_max": 0.02,
    "calibration_year_gap_max": 0.02,
    "backtest_auc_range_max": 0.05,
}

#: The one reviewer checklist: ``(id, item)`` pairs a reviewer confirms by hand before
#: promotion (never ticked automatically). The model card, ``send-early review``
#: (:func:`send_early.registry.review_summary`) and the registry's version description
#: all show these items.
MANUAL_CHECKLIST: tuple[tuple[str, str], ...] = (
    (
        "card_checks",
        "Every model card check passed, or each failure is understood and recorded as the reason.",
    ),
    (
        "champion_comparison",
        "Headline and capacity metrics (flags per year, precision and recall at capacity) "
        "are at least as good as the current champion's on the same back-test.",
    ),
    (
        "calibration",
        "Calibration: predicted risk matches observed rates in the card's reliability table.",
    ),
    (
        "subgroup_gaps",
        "Subgroup gaps (sex, ethnicity, FSM, EAL) are within the agreed tolerance, and any "
        "gap is explained in the promotion note.",
    ),
    (
        "dpia",
        "A Data Protection Impact Assessment (DPIA) covering this model and its data "
        "flows is complete and signed off by the Data Protection Officer.",
    ),
    (
        "eia",
        "An Equality Impact Assessment (EIA) has considered the fairness audit in this "
        "card, including the groups whose figures are suppressed.",
    ),
    (
        "caseworker_briefing",
        "Caseworkers and SENCOs who will see the flags have been briefed: "
        "a flag prompts the 'assess' step of the graduated approach; it is "
        "never an eligibility decision and never replaces professional "
        "judgement.",
    ),
    (
        "intended_use",
        "The deployment matches the intended use in this card: a score is decision "
        "support for a practitioner who reviews every flag, never a decision about a "
        "child (no school rankings, no automated decisions, no use outside the stated "
        "population and horizon).",
    ),
    (
        "data_currency",
        "The data extract date and contract version are current, and the "
        "pipeline and model spec hashes are the specs that were reviewed.",
    ),
    (
        "limitations_read",
        "The limitations section has been read, including label bias "
        "(identified SEN is not the same as need).",
    ),
)
