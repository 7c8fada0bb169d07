"""Model cards for registry reviewers: a typed :class:`ModelCard` of aggregate sections,
written as a self-contained HTML page and a JSON file with the same numbers, small
cells suppressed, and automatic checks."""

from .._json import jsonable
from ..governance import DEFAULT_THRESHOLDS, MANUAL_CHECKLIST, run_checks
from ._card import (
    CARD_SCHEMA,
    SCHEMA_VERSION,
    ModelCard,
    build_model_card,
    card_summary,
    refuse_unknown_version,
)
from ._data import summarise_data
from ._privacy import MIN_CELL
from ._schema import card_json_schema
from ._sections import (
    Backtest,
    Baselines,
    Calibration,
    Capacity,
    Check,
    DataSummary,
    Explanation,
    Fairness,
    Features,
    IntendedUse,
    LeadTime,
    ManualItem,
    Metrics,
    ModelInfo,
    Outcome,
)

__all__ = [
    "CARD_SCHEMA",
    "DEFAULT_THRESHOLDS",
    "MANUAL_CHECKLIST",
    "MIN_CELL",
    "SCHEMA_VERSION",
    "Backtest",
    "Baselines",
    "Calibration",
    "Capacity",
    "Check",
    "DataSummary",
    "Explanation",
    "Fairness",
    "Features",
    "IntendedUse",
    "LeadTime",
    "ManualItem",
    "Metrics",
    "ModelCard",
    "ModelInfo",
    "Outcome",
    "build_model_card",
    "card_json_schema",
    "card_summary",
    "refuse_unknown_version",
    "run_checks",
    "jsonable",
    "summarise_data",
]
