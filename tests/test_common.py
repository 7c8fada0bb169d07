"""scikit-learn's common estimator checks for the interpretable classifiers."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from send_early.estimators import AdditiveRiskClassifier, ScorecardClassifier

_EXPECTED = {
    "ScorecardClassifier": {
        "check_sample_weight_equivalence_on_dense_data": (
            "Tree bins need a minimum number of rows per bin and the weight of evidence "
            "adds a pseudo-count per bin; both count rows, not weights."
        )
    },
}


def _expected_failed_checks(estimator):
    return _EXPECTED.get(type(estimator).__name__, {})


@parametrize_with_checks(
    [
        AdditiveRiskClassifier(n_bags=2, max_iter=50, n_interactions=1, random_state=0),
        ScorecardClassifier(random_state=0),
        ScorecardClassifier(binning="quantile", encoding="onehot", max_features=2, random_state=0),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible(estimator, check, monkeypatch):
    # scikit-learn skips its array API check (NumPy inputs with array API dispatch on) unless
    # SCIPY_ARRAY_API is set; the check reads it when it runs, so set it here: no check skips.
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    check(estimator)
