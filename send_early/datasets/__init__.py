"""Synthetic cohorts for trying, testing and benchmarking send_early.

The data are simulated: no real child is described. See ``docs/synthetic_data.md``.
"""

from ._cohort import make_cohort

__all__ = ["make_cohort"]
