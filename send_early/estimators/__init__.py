"""Interpretable, scikit-learn compatible classifiers for risk of needing SEND support.

- :class:`AdditiveRiskClassifier`: a bagged additive model (plus a few pairs) learned by
  gradient boosting, with exact per-term shape tables.
- :class:`ScorecardClassifier`: an integer points table a person can add up by hand.

Both give ``contributions(X)`` in log-odds that sum with ``intercept_`` to the decision
function exactly. A score is decision support for a person, never a decision.
"""

from ._additive import AdditiveRiskClassifier
from ._scorecard import ScorecardClassifier

__all__ = ["AdditiveRiskClassifier", "ScorecardClassifier"]
