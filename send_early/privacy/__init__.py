"""Disclosure control: the one suppression rule for every published number.

No published count, rate or share lets a reader recover a group of 1 to 9 children;
see :func:`protect` and ``docs/governance.md``.
"""

from ._disclosure import (
    MIN_CELL,
    SMALL,
    Figure,
    as_number,
    count,
    is_safe,
    protect,
    protect_frame,
    rate,
    show_count,
    statistic,
)

__all__ = [
    "MIN_CELL",
    "SMALL",
    "Figure",
    "as_number",
    "count",
    "is_safe",
    "protect",
    "protect_frame",
    "rate",
    "show_count",
    "statistic",
]
