"""Monitoring across terms: a report over the scoring runs on record (aggregates only), the
register of published runs it reads, and next year's forecast of new SEN support and EHC
needs assessment requests."""

from ._forecast import TERMS, forecast, term_of
from ._monitor import AGE_LINKED_TABLES, MonitorReport, monitor_report
from ._record import REGISTER_NAME, record_run, run_register_path, runs_on_record

__all__ = [
    "AGE_LINKED_TABLES",
    "REGISTER_NAME",
    "TERMS",
    "MonitorReport",
    "forecast",
    "monitor_report",
    "record_run",
    "run_register_path",
    "runs_on_record",
    "term_of",
]
