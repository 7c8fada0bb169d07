"""Batch scoring of contract tables: scores, rejects with reasons, drift, published runs."""

from ._drift import PSI_ALERT, PSI_WARN, TOO_FEW, drift_report, psi
from ._publish import RUN_FORMAT, check_outputs, read_run, write_run
from ._score import REJECT_COLUMNS, ScoringResult, load_any_model, score
from ._setting import NOT_ON_ROLL, current_setting, recorded_locality, setting_key

__all__ = [
    "NOT_ON_ROLL",
    "PSI_ALERT",
    "PSI_WARN",
    "REJECT_COLUMNS",
    "RUN_FORMAT",
    "ScoringResult",
    "TOO_FEW",
    "check_outputs",
    "current_setting",
    "drift_report",
    "load_any_model",
    "psi",
    "read_run",
    "recorded_locality",
    "score",
    "setting_key",
    "write_run",
]
