"""Group audits of risk scores and flags: rates, ratios and intervals by group,
with small-cell suppression. Sensitive features are audit inputs only, never
model inputs; the audit describes differences, it does not remove them."""

from ..governance import BAND, GATING
from ._audit import CAVEAT, METRICS, GroupAudit
from ._groups import NEW_ARRIVAL_MONTHS, NO_RECORDS, months_known, standard_groups
from ._schools import school_at, school_comparison, school_spread

__all__ = [
    "BAND",
    "CAVEAT",
    "GATING",
    "METRICS",
    "NEW_ARRIVAL_MONTHS",
    "NO_RECORDS",
    "GroupAudit",
    "months_known",
    "school_at",
    "school_comparison",
    "school_spread",
    "standard_groups",
]
