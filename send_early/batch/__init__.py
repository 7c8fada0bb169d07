"""Batch scoring of contract tables: scores, rejects with reasons, drift."""

from ._drift import PSI_ALERT, PSI_WARN, TOO_FEW, drift_report, psi
from ._score import REJECT_COLUMNS, ScoringResult, load_any_model, score

__all__ = [
    "PSI_ALERT",
    "PSI_WARN",
    "REJECT_COLUMNS",
    "ScoringResult",
    "TOO_FEW",
    "drift_report",
    "load_any_model",
    "psi",
    "score",
]
