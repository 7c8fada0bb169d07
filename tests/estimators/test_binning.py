"""One binner for both estimators: value bins, then one missing bin."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from send_early.estimators import AdditiveRiskClassifier, ScorecardClassifier
from send_early.estimators._binning import Binner
from send_early.privacy import MIN_CELL


@settings(max_examples=50, deadline=None)
@given(
    edges=st.lists(st.floats(-100, 100), min_size=0, max_size=12, unique=True),
    x=arrays(np.float64, st.integers(1, 60), elements=st.floats(-200, 200) | st.just(np.nan)),
    n_cats=st.integers(1, 6),
    codes=st.lists(st.integers(0, 8) | st.none(), min_size=1, max_size=60),
)
def test_every_value_lands_in_its_bin_and_missing_last(edges, x, n_cats, codes):
    t = np.sort(np.asarray(edges, dtype=np.float64))
    cats = np.asarray([f"c{k}" for k in range(n_cats)], dtype=object)
    m = min(x.size, len(codes))
    code = np.array([np.nan if c is None or c >= n_cats else c for c in codes[:m]], dtype=float)
    Xe = np.c_[x[:m], code]
    binner, idx = Binner.fit(Xe, [t, None], [None, cats])
    assert binner.n_value_bins.tolist() == [t.size + 1, n_cats]
    num, cat = idx[:, 0], idx[:, 1]
    ok = ~np.isnan(Xe[:, 0])
    # a numeric value is in bin k when t[k-1] < x <= t[k]; missing is the last entry
    lower = np.r_[-np.inf, t][num[ok]]
    upper = np.r_[t, np.inf][num[ok]]
    assert np.all((lower < Xe[ok, 0]) & (Xe[ok, 0] <= upper))
    assert np.all(num[~ok] == t.size + 1)
    # a category is its own bin; missing or unknown (encoded as NaN) is the last entry
    known = ~np.isnan(code)
    np.testing.assert_array_equal(cat[known], code[known])
    assert np.all(cat[~known] == n_cats)
    # labels: one per value bin, then "missing"; observed ranges inside the bins
    for j in (0, 1):
        bins = binner.bins(j)
        assert len(bins) == binner.n_value_bins[j] + 1 and bins["bin"].iloc[-1] == "missing"
    # a bin's training value is kept (for its label) only when the bin holds one value
    # shared by at least MIN_CELL rows: no stored extreme can be one child's value
    lo, hi = binner.seen[0]
    filled = np.isfinite(lo)
    assert np.all(lo[filled] == hi[filled]) and np.all(hi[~filled] == -np.inf)
    rows = np.bincount(num[ok], minlength=binner.n_value_bins[0])
    values = pd.Series(Xe[ok, 0]).groupby(num[ok]).nunique().reindex(range(len(rows)), fill_value=0)
    assert filled.tolist() == ((rows >= MIN_CELL) & (values.to_numpy() == 1)).tolist()
    np.testing.assert_array_equal(
        lo[filled], pd.Series(Xe[ok, 0]).groupby(num[ok]).min()[np.flatnonzero(filled)]
    )


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    n = 800
    X = pd.DataFrame(
        {
            "age": rng.uniform(20, 60, n),
            "score": rng.integers(0, 12, n).astype(float),
            "group": pd.Categorical(rng.choice(["a", "b", "c"], n)),
        }
    )
    X.loc[rng.random(n) < 0.1, "age"] = np.nan
    X.loc[rng.random(n) < 0.1, "group"] = np.nan
    z = (X["age"].fillna(40) - 40) / 10 + (X["group"] == "b")
    y = (rng.random(n) < 1 / (1 + np.exp(-z.to_numpy()))).astype(int)
    return X, y


def test_both_estimators_count_bins_the_same_way(frame):
    X, y = frame
    additive = AdditiveRiskClassifier(n_bags=1, max_iter=30, random_state=0).fit(X, y)
    card = ScorecardClassifier(random_state=0).fit(X, y)
    for model in (additive, card):
        assert isinstance(model.binner_, Binner)
        n = model.binner_.n_value_bins
        assert n[2] == 3  # three categories; the missing bin is not a value bin
        assert n[1] == len(model.bin_thresholds_[1]) + 1
        idx = model.binner_.transform(np.c_[[np.nan], [np.nan], [np.nan]])
        np.testing.assert_array_equal(idx[0], n)  # missing is bin n_value_bins, the last
    # every per-bin array holds the value bins and the missing bin
    n = additive.binner_.n_value_bins
    assert [t.shape[0] for t in additive.tables_[:3]] == (n + 1).tolist()
    n = card.binner_.n_value_bins
    assert [c.shape[0] for c in card.bin_counts_] == (n + 1).tolist()
    assert [len(card.points_table_.query("feature == @f")) for f in X.columns] == (n + 1).tolist()
    # saved: edges and observed ranges for numeric features only, one column per value bin
    for model in (additive, card):
        _, arrays = model._to_state()
        seen = sorted(k for k in arrays if k.startswith("bin_seen."))
        assert seen == ["bin_seen.0", "bin_seen.1"]
        assert arrays["bin_seen.0"].shape == (2, model.binner_.n_value_bins[0])
