"""Explanations: global shape tables and points, per-child reasons (data), and plots."""

from ._explain import (
    explain_context,
    explain_global,
    explain_local,
    format_value,
    offers_reason,
    pair_rows,
)
from ._plot import plot_points, plot_shape

__all__ = [
    "explain_context",
    "explain_global",
    "explain_local",
    "format_value",
    "offers_reason",
    "pair_rows",
    "plot_points",
    "plot_shape",
]
