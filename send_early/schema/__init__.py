"""The data contract: tables, columns, reading and validation."""

from ._contract import (
    ASQ_CUTOFFS,
    ASQ_DOMAINS,
    CONTRACT_VERSION,
    EPISODES,
    ETHNICITY,
    MEASURES,
    PHONICS_THRESHOLD,
    PRIMARY_NEEDS,
    REVIEW_TYPES,
    SEN_EVENTS,
    SERVICES,
    SEX,
    TABLE_NAMES,
    TABLES,
    Column,
    Table,
)
from ._dates import parse_iso_date, parse_iso_dates
from ._docs import contract_markdown
from ._io import atomic_write, read_manifest, read_tables, write_tables
from ._validate import Tables, ValidationReport, check_tables, coerce_column, row_problems, validate

__all__ = [
    "ASQ_CUTOFFS",
    "ASQ_DOMAINS",
    "CONTRACT_VERSION",
    "EPISODES",
    "ETHNICITY",
    "MEASURES",
    "PRIMARY_NEEDS",
    "REVIEW_TYPES",
    "SEN_EVENTS",
    "SERVICES",
    "SEX",
    "PHONICS_THRESHOLD",
    "TABLES",
    "TABLE_NAMES",
    "Column",
    "Table",
    "Tables",
    "ValidationReport",
    "atomic_write",
    "check_tables",
    "coerce_column",
    "contract_markdown",
    "parse_iso_date",
    "parse_iso_dates",
    "read_manifest",
    "read_tables",
    "row_problems",
    "validate",
    "write_tables",
]
