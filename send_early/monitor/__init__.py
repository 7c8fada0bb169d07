"""Monitoring across terms: a report over the scoring runs on record (aggregates only)."""

from ._monitor import AGE_LINKED_TABLES, MonitorReport, monitor_report

__all__ = ["AGE_LINKED_TABLES", "MonitorReport", "monitor_report"]
