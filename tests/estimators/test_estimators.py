"""Behaviour of the interpretable classifiers: exactness, monotonicity, accuracy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from send_early.estimators import AdditiveRiskClassifier, ScorecardClassifier


def _frame(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    age = rng.uniform(48, 60, n)
    gest = rng.normal(39, 2, n).round()
    gest[rng.random(n) < 0.1] = np.nan
    gld = rng.integers(0, 2, n).astype(float)
    eth = pd.Categorical(rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1]))
    eth[rng.random(n) < 0.05] = np.nan
    z = (
        -1
        - 0.2 * (age - 54)
        - 0.3 * (np.nan_to_num(gest, nan=36) - 39)
        - gld
        + (eth == "c") * 0.7
        + 0.8 * gld * (age > 55)
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    X = pd.DataFrame(
        {"age_months": age, "gestation_weeks": gest, "eyfsp_gld": gld, "ethnicity": eth}
    )
    return X, y


@pytest.fixture(scope="module")
def data():
    return _frame()


@pytest.fixture(scope="module")
def additive(data):
    X, y = data
    return AdditiveRiskClassifier(n_bags=2, max_iter=300, n_interactions=2, random_state=0).fit(
        X, y
    )


@pytest.fixture(scope="module")
def scorecard(data):
    X, y = data
    return ScorecardClassifier(random_state=0).fit(X, y)


def test_additive_tables_reproduce_the_boosted_trees(data):
    X, y = data
    model = AdditiveRiskClassifier(n_bags=1, max_iter=200, n_interactions=2, random_state=0)
    model.fit(X, y)
    idx = model.bin_indices(X)
    n_value_bins = np.array([t.shape[0] - 1 for t in model.tables_[: X.shape[1]]])
    Xb = np.where(idx == n_value_bins, np.nan, idx).astype(float)
    raw = model.estimators_[0].decision_function(Xb[:, model.engine_feature_order_])
    np.testing.assert_allclose(model.decision_function(X), raw, atol=1e-9, rtol=0)
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], 1 / (1 + np.exp(-raw)), atol=1e-9)


def test_additive_terms_names_and_centering(additive, data):
    X, _ = data
    assert additive.term_names_[:4] == list(X.columns)
    assert len(additive.term_names_) == 4 + len(additive.interactions_)
    assert all(" x " in name for name in additive.term_names_[4:])
    contrib = additive.contributions(X)
    np.testing.assert_allclose(contrib.mean(axis=0), 0, atol=1e-9)


def test_additive_shape_tables_carry_counts_and_categories(additive, data):
    X, y = data
    tables = additive.shape_tables()
    eth = tables[tables["term"] == "ethnicity"]
    assert eth["bin"].tolist() == ["a", "b", "c", "d", "missing"]
    assert eth["count"].sum() == len(X)
    assert (
        eth.set_index("bin").loc["c", "contribution"]
        > eth.set_index("bin").loc["a", "contribution"]
    )
    gest = tables[tables["term"] == "gestation_weeks"]
    assert gest["bin"].iloc[-1] == "missing"
    assert gest["count"].iloc[-1] == X["gestation_weeks"].isna().sum()
    np.testing.assert_allclose((gest["event_rate"] * gest["count"]).sum(), y.sum(), rtol=1e-9)
    labels = additive.bin_labels(X.iloc[:5])
    assert labels.shape == (5, 4)
    assert labels["eyfsp_gld"].isin(["0", "1"]).all()


def test_additive_unknown_category_scores_as_missing(additive, data):
    X, _ = data
    row = X.iloc[[0, 0]].copy()
    row["ethnicity"] = pd.Categorical(["zz", np.nan])
    c = additive.contributions(row)
    assert c[0, 3] == c[1, 3]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(1, 40),
)
def test_additive_contributions_sum_to_log_odds(additive, data, seed, n):
    X, _ = data
    rng = np.random.default_rng(seed)
    Xr = X.sample(n, random_state=seed, replace=True).reset_index(drop=True)
    Xr["age_months"] = rng.uniform(30, 80, n)  # also outside the training range
    Xr.loc[rng.random(n) < 0.3, "age_months"] = np.nan
    d = additive.decision_function(Xr)
    np.testing.assert_allclose(
        additive.intercept_ + additive.contributions(Xr).sum(1), d, atol=1e-9
    )
    np.testing.assert_allclose(additive.predict_proba(Xr)[:, 1], 1 / (1 + np.exp(-d)), atol=1e-12)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**31 - 1))
def test_predictions_invariant_to_row_order(additive, scorecard, data, seed):
    X, _ = data
    Xs = X.iloc[:200]
    perm = np.random.default_rng(seed).permutation(200)
    for model in (additive, scorecard):
        np.testing.assert_array_equal(
            model.decision_function(Xs)[perm], model.decision_function(Xs.iloc[perm])
        )


@pytest.fixture(scope="module")
def monotone_models(data):
    X, y = data
    cst = {"age_months": -1, "gestation_weeks": -1}
    return [
        AdditiveRiskClassifier(n_bags=2, max_iter=200, monotonic_cst=cst, random_state=0).fit(X, y),
        ScorecardClassifier(monotonic_cst=cst, random_state=0).fit(X, y),
        ScorecardClassifier(
            monotonic_cst=cst, encoding="onehot", binning="quantile", random_state=0
        ).fit(X, y),
    ]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    base=st.floats(30, 80),
    step=st.floats(0, 20),
    gest=st.floats(25, 44),
    row=st.integers(0, 1499),
)
def test_monotone_constraints_hold(monotone_models, data, base, step, gest, row):
    X, _ = data
    pair = X.iloc[[row, row]].copy()
    pair["age_months"] = [base, base + step]
    pair["gestation_weeks"] = [gest, gest + step / 4]
    for model in monotone_models:
        d = model.decision_function(pair)
        assert d[1] <= d[0] + 1e-12


def test_monotone_scorecard_points_are_ordered(monotone_models):
    for model in monotone_models[1:]:
        table = model.points_table_
        age = table[(table["feature"] == "age_months") & (table["bin"] != "missing")]
        assert np.all(np.diff(age["points"].to_numpy()) <= 0)


def test_scorecard_points_are_integers_and_add_up(scorecard, data):
    X, _ = data
    table = scorecard.points_table_
    assert table["points"].dtype == np.int64
    assert list(table.columns[:8]) == [
        "feature",
        "bin",
        "lower",
        "upper",
        "category",
        "points",
        "count",
        "event_rate",
    ]
    assert (table.groupby("feature")["points"].min() == 0).all()
    per_row = scorecard.points(X)
    total = scorecard.score_points(X)
    assert total.dtype == np.int64
    np.testing.assert_array_equal(scorecard.base_points_ + per_row.sum(axis=1), total)
    lookup = scorecard.points_to_probability().set_index("points")["probability"]
    np.testing.assert_allclose(lookup.loc[total].to_numpy(), scorecard.predict_proba(X)[:, 1])
    d = scorecard.decision_function(X)
    np.testing.assert_allclose(
        scorecard.intercept_ + scorecard.contributions(X).sum(1), d, atol=1e-9
    )
    np.testing.assert_allclose(d, total / scorecard.points_per_logit_)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 30))
def test_scorecard_points_sum_on_random_rows(scorecard, data, seed, n):
    X, _ = data
    rng = np.random.default_rng(seed)
    Xr = X.sample(n, random_state=seed, replace=True).reset_index(drop=True)
    Xr["gestation_weeks"] = np.where(rng.random(n) < 0.3, np.nan, rng.uniform(20, 45, n))
    by_hand = scorecard.base_points_ + scorecard.points(Xr).sum(axis=1).to_numpy()
    np.testing.assert_array_equal(by_hand, scorecard.score_points(Xr))
    np.testing.assert_allclose(
        scorecard.intercept_ + scorecard.contributions(Xr).sum(1),
        scorecard.decision_function(Xr),
        atol=1e-9,
    )


def test_scorecard_max_features_keeps_a_short_checklist(data):
    X, y = data
    card = ScorecardClassifier(max_features=2, random_state=0).fit(X, y)
    assert len(card.term_names_) <= 2
    assert set(card.points_table_["feature"]) == set(card.term_names_)
    assert card.contributions(X).shape == (len(X), len(card.term_names_))


def test_works_in_pipeline_gridsearch_and_clone(data):
    X, y = data
    pipe = make_pipeline(FunctionTransformer(), ScorecardClassifier(random_state=0))
    search = GridSearchCV(pipe, {"scorecardclassifier__max_bins": [3, 5]}, cv=2, scoring="roc_auc")
    search.fit(X, y)
    assert search.best_params_["scorecardclassifier__max_bins"] in (3, 5)
    model = AdditiveRiskClassifier(n_bags=1, max_iter=50, random_state=3)
    fitted = clone(model).fit(X, y)
    assert not hasattr(clone(fitted), "tables_")
    assert clone(model).get_params() == model.get_params()


def test_categorical_by_name_and_index_agree():
    X, y = _frame(600, seed=1)
    Xn = X.copy()
    Xn["ethnicity"] = Xn["ethnicity"].cat.codes.astype(float).where(Xn["ethnicity"].notna())
    by_name = ScorecardClassifier(categorical_features=["ethnicity"], random_state=0).fit(Xn, y)
    by_index = ScorecardClassifier(categorical_features=[3], random_state=0).fit(Xn.to_numpy(), y)
    np.testing.assert_array_equal(by_name.score_points(Xn), by_index.score_points(Xn.to_numpy()))
    assert by_name.is_categorical_.tolist() == [False, False, False, True]


def test_errors_say_what_must_hold(data):
    X, y = data
    with pytest.raises(ValueError, match="Only binary classification"):
        ScorecardClassifier().fit(X, np.arange(len(y)) % 3)
    with pytest.raises(ValueError, match="monotonic constraints need numeric"):
        AdditiveRiskClassifier(monotonic_cst={"ethnicity": 1}).fit(X, y)
    with pytest.raises(ValueError, match="categorical_features names must be columns"):
        AdditiveRiskClassifier(categorical_features=["nope"]).fit(X, y)
    with pytest.raises(ValueError, match="n_bags must be an integer >= 1"):
        AdditiveRiskClassifier(n_bags=0).fit(X, y)
    bad = X.assign(eyfsp_gld=X["eyfsp_gld"].astype(str))
    with pytest.raises(TypeError, match="Numeric features must hold numbers"):
        ScorecardClassifier(categorical_features=None).fit(bad, y)


def test_additive_accuracy_close_to_unconstrained_hgb():
    rng = np.random.default_rng(7)
    n = 12_000
    X = rng.normal(size=(n, 5))
    z = X[:, 0] + np.sin(2 * X[:, 1]) + 0.5 * X[:, 2] ** 2 - 1 + 0.6 * (X[:, 3] > 0.5)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    tr, te = slice(0, 8000), slice(8000, None)
    gam = AdditiveRiskClassifier(n_bags=1, n_interactions=0, random_state=0).fit(X[tr], y[tr])
    hgb = HistGradientBoostingClassifier(random_state=0).fit(X[tr], y[tr])
    auc_gam = roc_auc_score(y[te], gam.decision_function(X[te]))
    auc_hgb = roc_auc_score(y[te], hgb.decision_function(X[te]))
    assert auc_gam >= auc_hgb - 0.01


def test_additive_finds_the_true_pair():
    rng = np.random.default_rng(3)
    n = 8000
    X = rng.normal(size=(n, 5))
    z = X[:, 0] + 1.5 * X[:, 2] * X[:, 4]
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    model = AdditiveRiskClassifier(n_bags=1, n_interactions=1, max_iter=300, random_state=0)
    model.fit(X, y)
    assert model.interactions_ == [(2, 4)]
    assert model.term_names_[-1] == "x2 x x4"
