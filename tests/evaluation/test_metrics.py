import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.calibration import calibration_curve as sk_calibration_curve
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from send_early.evaluation import (
    average_precision,
    brier_score,
    calibration_curve,
    expected_calibration_error,
    roc_auc,
    wilson_interval,
)

Y = np.array([0, 0, 1, 0, 1, 1, 0, 1, 0, 0])
P = np.array([0.1, 0.2, 0.3, 0.3, 0.7, 0.9, 0.05, 0.6, 0.4, 0.2])


def test_hand_computed_values():
    # positives 0.3, 0.7, 0.9, 0.6; negatives 0.1, 0.2, 0.3, 0.05, 0.4, 0.2
    # pairs won: 0.3 beats 4 and ties 1 -> 4.5; 0.7, 0.9, 0.6 beat all 6 -> 18; total 22.5 / 24
    assert roc_auc(Y, P) == pytest.approx(22.5 / 24)
    assert brier_score([0, 1], [0.2, 0.6]) == pytest.approx((0.04 + 0.16) / 2)
    assert average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(
        0.5 * 1 + 0.5 * (2 / 3)
    )


@given(st.lists(st.tuples(st.integers(0, 1), st.floats(0, 1)), min_size=2, max_size=60))
@settings(max_examples=60, deadline=None)
def test_equal_to_sklearn(pairs):
    y = np.array([a for a, _ in pairs])
    p = np.array([b for _, b in pairs])
    assert brier_score(y, p) == pytest.approx(brier_score_loss(y, p, labels=[0, 1]))
    if 0 < y.sum() < len(y):
        assert roc_auc(y, p) == pytest.approx(roc_auc_score(y, p))
        assert average_precision(y, p) == pytest.approx(average_precision_score(y, p))


@pytest.mark.parametrize("strategy", ["quantile", "uniform"])
def test_calibration_curve_matches_sklearn(strategy):
    rng = np.random.default_rng(1)
    p = rng.random(500)
    y = (rng.random(500) < p).astype(int)
    ours = calibration_curve(y, p, n_bins=7, strategy=strategy)
    prob_true, prob_pred = sk_calibration_curve(y, p, n_bins=7, strategy=strategy)
    np.testing.assert_allclose(ours["observed_rate"], prob_true)
    np.testing.assert_allclose(ours["mean_predicted"], prob_pred)
    assert ours["n"].sum() == 500
    assert (ours["ci_low"] <= ours["observed_rate"]).all()
    assert (ours["observed_rate"] <= ours["ci_high"]).all()


def test_ece_hand_computed_and_weighting():
    # equal-width bins [0, .5), [.5, 1]: bin0 = {0.1, 0.2, 0.3} y={0,0,1}: |0.2-1/3|
    # bin1 = {0.6, 0.7, 0.9, 0.95} y={0,1,1,1}: |0.7875-0.75|
    y = [0, 0, 1, 0, 1, 1, 1]
    p = [0.1, 0.2, 0.3, 0.6, 0.7, 0.9, 0.95]
    expected = 3 / 7 * abs(0.2 - 1 / 3) + 4 / 7 * abs(0.7875 - 0.75)
    assert expected_calibration_error(y, p, n_bins=2, strategy="uniform") == pytest.approx(expected)
    assert expected_calibration_error([0, 1], [0.0, 1.0], n_bins=2, strategy="uniform") == 0


def test_wilson_hand_value_and_empty():
    low, high = wilson_interval([0, 5, 3], [10, 10, 0])
    assert low[0] == 0 and high[0] == pytest.approx(0.2775, abs=1e-4)
    assert low[1] == pytest.approx(0.2366, abs=1e-4) and high[1] == pytest.approx(0.7634, abs=1e-4)
    assert np.isnan(low[2]) and np.isnan(high[2])


def test_input_errors_say_what_and_where():
    with pytest.raises(ValueError, match=r"only 0 and 1; found 1 other values \(positions 2\)"):
        roc_auc([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="probability in \\[0, 1\\]"):
        brier_score([0, 1], [0.1, 1.5])
    with pytest.raises(ValueError, match="missing"):
        brier_score(pd.Series([0, None], dtype="Int8"), [0.1, 0.2])
    with pytest.raises(ValueError, match="same length"):
        brier_score([0, 1], [0.1])
    with pytest.raises(ValueError, match="with and without the outcome"):
        roc_auc([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="different indexes"):
        brier_score(pd.Series([0, 1], index=[1, 2]), pd.Series([0.1, 0.2], index=[2, 1]))
    with pytest.raises(ValueError, match="strategy must be one of"):
        calibration_curve([0, 1], [0.1, 0.2], strategy="kmeans")


def test_nullable_dtypes_accepted():
    y = pd.Series([0, 1, 1], dtype="Int8")
    p = pd.Series([0.1, 0.8, 0.6], dtype="Float64")
    assert roc_auc(y, p) == 1.0
