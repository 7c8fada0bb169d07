"""Validation of contract tables: every problem at once, with table, column, rule and ids."""

from __future__ import annotations

import logging

import pandas as pd

from ._coerce import MAX_EXAMPLES, _coerce_table, coerce_column
from ._contract import TABLES
from ._report import ValidationReport, _Collector
from ._rules import _check_cross, _check_required, _check_table, _without_duplicate_columns
from ._tables import Tables

logger = logging.getLogger(__name__)

__all__ = [
    "Tables",
    "ValidationReport",
    "validate",
    "coerce_column",
    "check_tables",
    "row_problems",
    "MAX_EXAMPLES",
]


def validate(tables, *, extract_date=None, allow_missing=None) -> ValidationReport:
    """Check contract tables and report every problem at once.

    Parameters
    ----------
    tables : Tables or mapping of str to DataFrame
        Tables as read by :func:`send_early.read_tables` or built in memory.
    extract_date : date-like, optional
        Overrides ``tables.extract_date``; required for a plain mapping. No
        record may be dated after it.
    allow_missing : iterable of str, optional
        Required tables that may be absent (a warning instead of an error);
        overrides ``tables.allow_missing``. See :class:`Tables`.

    Returns
    -------
    ValidationReport
        ``.ok`` is False when any error was found; ``.problems`` lists them all.

    Examples
    --------
    >>> import pandas as pd
    >>> from send_early import validate
    >>> children = pd.DataFrame({
    ...     "child_id": ["c1", "c2", "c2"], "birth_date": ["2019-01-05"] * 3,
    ...     "sex": ["F", "M", "X"], "ethnicity": [None] * 3, "imd_decile": [3, 11, None],
    ...     "gestation_weeks": [39, 40, None], "birth_weight_g": [3300, None, None],
    ...     "moved_out_date": [None] * 3})
    >>> report = validate({"children": children}, extract_date="2025-08-31")
    >>> report.ok
    False
    >>> report.problems[["table", "column", "rule", "n_rows"]]
            table      column           rule  n_rows
    0    children         sex           code       1
    1    children  imd_decile          range       1
    2    children    child_id         unique       2
    3  sen_events              missing_table       0
    """
    return _run(Tables.coerce(tables, extract_date, allow_missing=allow_missing), _Collector())


def _run(tables: Tables, col: _Collector) -> ValidationReport:
    extract = tables.extract_date
    typed: dict[str, pd.DataFrame] = {}
    n_rows = {}
    for name, df in tables.items():
        if name not in TABLES:
            col.add_whole(
                "warning",
                name,
                "",
                "unknown_table",
                len(df) if hasattr(df, "__len__") else 0,
                f"{name} is not a contract table (expected one of {', '.join(TABLES)}); it is ignored.",
            )
            continue
        if not isinstance(df, pd.DataFrame):
            raise TypeError(
                f"tables[{name!r}] must be a pandas DataFrame; found {type(df).__name__}."
            )
        n_rows[name] = len(df)
        if df.columns.duplicated().any():
            df = _without_duplicate_columns(df, TABLES[name], col)
        typed[name] = _check_table(df, TABLES[name], col, extract)
    _check_required(tables, col)
    _check_cross(typed, col, extract)
    if extract > pd.Timestamp.today().normalize() + pd.Timedelta(days=1):
        col.add_whole(
            "warning",
            "manifest",
            "extract_date",
            "future_extract",
            0,
            f"manifest.extract_date {extract.date()} is after today; dates are checked against it.",
        )
    return ValidationReport(col.problems, n_rows, extract, col.notes)


def row_problems(
    tables, *, extract_date=None, allow_missing=None
) -> tuple[ValidationReport, pd.DataFrame]:
    """Validate and also list every offending row (not just five examples).

    Returns the report and a DataFrame with one row per offending record:
    child_id (empty where the id itself is missing), table, column, rule and
    row (0-based position in that table). Batch scoring uses it to reject
    exactly the children whose records break the contract.
    """
    col = _Collector(keep_rows=True)
    report = _run(Tables.coerce(tables, extract_date, allow_missing=allow_missing), col)
    cols = ["child_id", "table", "column", "rule", "row"]
    rows = (
        pd.concat(col.rows, ignore_index=True)
        if col.rows
        else pd.DataFrame(
            {
                "child_id": pd.array([], dtype="str"),
                "table": [],
                "column": [],
                "rule": [],
                "row": [],
            }
        )[cols]
    )
    return report, rows


def check_tables(tables, *, extract_date=None, allow_missing=None) -> Tables:
    """Validate and return typed tables, or raise :class:`~send_early.SchemaError`.

    The typed tables hold every contract column in its contract dtype (dates as
    ``datetime64``, codes as categoricals, nullable integers as ``Int64``).
    Warnings are logged, not raised. ``extract_date`` and ``allow_missing`` are
    as in :func:`validate`.
    """
    tables = Tables.coerce(tables, extract_date, allow_missing=allow_missing)
    report = validate(tables)
    report.raise_for_errors()
    for p in report._problems:  # no ids in logs: counts and rules only
        logger.warning(
            "data contract warning: %s.%s %s in %d rows", p.table, p.column, p.rule, p.n_rows
        )
    out = {}
    for name, df in tables.items():
        if name in TABLES:
            out[name] = _coerce_table(df, TABLES[name])[0]
    return Tables(out, tables.extract_date, allow_missing=tables.allow_missing)
