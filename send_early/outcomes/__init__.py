"""The outcome log: what happened after each flag, and what evaluation makes of it.

Outcomes are kept in ``outcomes.sqlite`` beside the model store (never in MLflow
artifacts): :func:`record_outcomes` checks a file and adds it in one transaction,
:func:`read_outcomes` reads the log, :func:`mark_identified_after_flag` marks labels
that may have been caused by a flag, and :func:`outcome_summary` says what followed
flags under the disclosure rule.
"""

from ._labels import AFTER_FLAG, mark_identified_after_flag
from ._log import (
    LOG_NAME,
    OUTCOME_CODES,
    OUTCOME_COLUMNS,
    RecordResult,
    check_outcomes,
    outcome_log_path,
    read_outcomes,
    record_outcomes,
)
from ._summary import OUTCOME_TEXT, latest_outcomes, outcome_section, outcome_summary

__all__ = [
    "AFTER_FLAG",
    "LOG_NAME",
    "OUTCOME_CODES",
    "OUTCOME_COLUMNS",
    "OUTCOME_TEXT",
    "RecordResult",
    "check_outcomes",
    "latest_outcomes",
    "mark_identified_after_flag",
    "outcome_log_path",
    "outcome_section",
    "outcome_summary",
    "read_outcomes",
    "record_outcomes",
]
