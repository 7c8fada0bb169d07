import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from send_early.evaluation import capacity_curve, capacity_metrics, flag_top_k, rank_scores


def test_rank_ties_original_order_then_tiebreak():
    risk = [0.5, 0.9, 0.5, 0.5, 0.1]
    assert rank_scores(risk).tolist() == [2, 1, 3, 4, 5]
    assert rank_scores(risk, tiebreak=["c3", "c9", "c1", "c2", "c0"]).tolist() == [4, 1, 2, 3, 5]
    # numeric tiebreak and full tie
    assert rank_scores([0.2, 0.2, 0.2], tiebreak=[3, 1, 2]).tolist() == [3, 1, 2]


def test_flag_top_k_series_and_share():
    s = pd.Series([0.1, 0.7, 0.3, 0.7], index=["a", "b", "c", "d"])
    out = flag_top_k(s, 2)
    assert isinstance(out, pd.Series) and list(out.index) == ["a", "b", "c", "d"]
    assert out.tolist() == [False, True, False, True]
    # share rounds down: 0.29 * 100 must be 29, not 28 (float error) and never 30
    assert flag_top_k(np.linspace(0, 1, 100), share=0.29).sum() == 29
    assert flag_top_k(np.linspace(0, 1, 7), share=0.5).sum() == 3


def test_capacity_hand_computed_with_tie_at_cutoff():
    y = [1, 0, 1, 0, 0, 1, 0, 0, 0, 0]
    risk = [0.9, 0.8, 0.6, 0.6, 0.6, 0.3, 0.2, 0.2, 0.1, 0.0]
    m = capacity_metrics(y, risk, k=4)
    # flagged: 0.9, 0.8, 0.6 (pos 2), 0.6 (pos 3): tp = 2
    assert m["true_positives"] == 2 and m["false_positives"] == 2
    assert m["precision"] == 0.5 and m["recall"] == pytest.approx(2 / 3)
    assert m["flag_rate"] == 0.4 and m["lift"] == pytest.approx(0.5 / 0.3)
    assert m["fpr"] == pytest.approx(2 / 7)
    assert m["threshold"] == 0.6 and m["n_tied_at_cutoff"] == 3 and m["n_tied_flagged"] == 2
    # a tie key changes who is flagged among the tied
    m2 = capacity_metrics(y, risk, k=4, tiebreak=[0, 1, 9, 2, 3, 4, 5, 6, 7, 8])
    assert m2["true_positives"] == 1
    no_tie = capacity_metrics(y, risk, k=2)
    assert no_tie["n_tied_at_cutoff"] == 1 and no_tie["n_tied_flagged"] == 1
    assert capacity_metrics(y, risk, share=0.25)["k"] == 2


def test_k_and_share_errors():
    with pytest.raises(ValueError, match="exactly one of k"):
        capacity_metrics([0, 1], [0.1, 0.2], k=1, share=0.5)
    with pytest.raises(ValueError, match="exactly one of k"):
        capacity_metrics([0, 1], [0.1, 0.2])
    with pytest.raises(TypeError, match="whole number.*use share="):
        capacity_metrics([0, 1], [0.1, 0.2], k=0.5)
    with pytest.raises(ValueError, match="k must be 0 or more children; found -1"):
        flag_top_k([0.1, 0.2], -1)
    with pytest.raises(ValueError, match="share must be between 0 and 1.*found 1.5"):
        capacity_metrics([0, 1], [0.1, 0.2], share=1.5)
    with pytest.raises(ValueError, match="share must be between 0 and 1.*found nan"):
        flag_top_k([0.1, 0.2], share=float("nan"))
    # a count above the cohort flags every child (a capacity is an upper limit)
    assert flag_top_k([0.1, 0.2], 3).tolist() == [True, True]
    assert capacity_metrics([0, 1], [0.1, 0.2], k=3)["k"] == 2
    with pytest.raises(ValueError, match="tiebreak must have no missing"):
        rank_scores([0.1, 0.2], tiebreak=["a", None])


def test_curve_equals_pointwise():
    rng = np.random.default_rng(0)
    risk = np.round(rng.random(300), 1)  # many ties
    y = (rng.random(300) < risk).astype(int)
    curve = capacity_curve(y, risk, ks=[0, 1, 17, 150, 300])
    for _, row in curve.iterrows():
        single = capacity_metrics(y, risk, k=int(row["k"]))
        for key, value in single.items():
            np.testing.assert_equal(row[key], value)
    assert capacity_curve(y, risk).shape[0] == 100


@given(
    st.lists(
        st.tuples(st.integers(0, 1), st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0])),
        min_size=1,
        max_size=80,
    ),
    st.data(),
)
@settings(max_examples=80, deadline=None)
def test_invariants(pairs, data):
    y = np.array([a for a, _ in pairs])
    risk = np.array([b for _, b in pairs])
    n = len(y)
    k = data.draw(st.integers(0, n))
    mask = flag_top_k(risk, k)
    assert mask.sum() == k
    # flagged children never have lower risk than unflagged ones
    if 0 < k < n:
        assert risk[mask].min() >= risk[~mask].max()
    ranks = rank_scores(risk)
    assert sorted(ranks.tolist()) == list(range(1, n + 1))
    curve = capacity_curve(y, risk, ks=list(range(n + 1)))
    if y.sum():
        assert np.all(np.diff(curve["recall"].to_numpy()) >= 0)
        assert curve["recall"].iloc[-1] == 1
    assert (
        curve["true_positives"] == [int(y[rank_scores(risk) <= j].sum()) for j in range(n + 1)]
    ).all()
