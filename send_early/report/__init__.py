"""Model cards for registry reviewers: a self-contained HTML page and a JSON file
with the same aggregate numbers, small cells suppressed, and automatic checks."""

from ._card import ModelCard, build_model_card, card_summary, summarise_data
from ._checks import DEFAULT_THRESHOLDS, MANUAL_CHECKLIST
from ._privacy import MIN_CELL

__all__ = [
    "DEFAULT_THRESHOLDS",
    "MANUAL_CHECKLIST",
    "MIN_CELL",
    "ModelCard",
    "build_model_card",
    "card_summary",
    "summarise_data",
]
