"""Evaluation of risk scores on plain arrays: discrimination, calibration,
capacity (top-k, and capacity policies by setting), lead time, simple baselines and
temporal backtests.

Every function takes ``y_true`` (0/1 identified need), ``risk`` (probabilities)
and, where it matters, a tie-break key; none depends on a model class.
"""

from ._backtest import BACKTEST_METRICS, BacktestResult, calibration_in_the_large, temporal_backtest
from ._baselines import (
    DEFAULT_RULES,
    BaselineComparison,
    BaselineRule,
    baseline_table,
    compare_to_baselines,
)
from ._capacity import (
    SHARE_TOLERANCE,
    CapacityFlags,
    capacity_curve,
    capacity_metrics,
    flag_capacity,
    flag_top_k,
    parse_capacity,
    rank_scores,
    resolve_k,
)
from ._capacity_policies import CAPACITY_POLICIES, capacity_by_setting, compare_capacity_policies
from ._evaluation import Evaluation
from ._lead_time import DAYS_PER_MONTH, lead_time_months, lead_time_summary, lead_time_table
from ._metrics import (
    average_precision,
    brier_score,
    calibration_curve,
    expected_calibration_error,
    roc_auc,
    wilson_interval,
)
from ._phase import PHASES, PhaseEvaluation, phase_of

__all__ = [
    "SHARE_TOLERANCE",
    "BACKTEST_METRICS",
    "CAPACITY_POLICIES",
    "DAYS_PER_MONTH",
    "DEFAULT_RULES",
    "PHASES",
    "BacktestResult",
    "BaselineComparison",
    "BaselineRule",
    "CapacityFlags",
    "Evaluation",
    "PhaseEvaluation",
    "average_precision",
    "baseline_table",
    "brier_score",
    "calibration_curve",
    "calibration_in_the_large",
    "capacity_by_setting",
    "capacity_curve",
    "capacity_metrics",
    "compare_capacity_policies",
    "compare_to_baselines",
    "expected_calibration_error",
    "flag_capacity",
    "flag_top_k",
    "lead_time_months",
    "lead_time_summary",
    "lead_time_table",
    "parse_capacity",
    "phase_of",
    "rank_scores",
    "resolve_k",
    "roc_auc",
    "temporal_backtest",
    "wilson_interval",
]
