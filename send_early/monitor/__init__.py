"""Monitoring across terms: a report over the scoring runs on record (aggregates only), and
next year's forecast of new SEN support and EHC needs assessment requests."""

from ._forecast import TERMS, forecast, term_of
from ._monitor import AGE_LINKED_TABLES, MonitorReport, monitor_report

__all__ = [
    "AGE_LINKED_TABLES",
    "TERMS",
    "MonitorReport",
    "forecast",
    "monitor_report",
    "term_of",
]
