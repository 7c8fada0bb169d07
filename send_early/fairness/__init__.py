"""Group audits of risk scores and flags: rates, ratios and intervals by group,
with small-cell suppression. Sensitive features are audit inputs only, never
model inputs; the audit describes differences, it does not remove them."""

from ._audit import BAND, CAVEAT, METRICS, GroupAudit, standard_groups

__all__ = ["BAND", "CAVEAT", "METRICS", "GroupAudit", "standard_groups"]
