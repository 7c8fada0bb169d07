"""The engine adapter: the only code on scikit-learn's private internals, and its guard."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

from send_early.estimators import AdditiveRiskClassifier, _engine
from send_early.estimators._engine import Engine, check_internals, engine_order
from send_early.estimators._tables import engine_tables, table_raw


def _data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = np.c_[rng.integers(0, 5, n), rng.integers(0, 20, n), rng.integers(0, 30, n)].astype(float)
    X[rng.random(n) < 0.1, 2] = np.nan
    z = (X[:, 0] == 3) + X[:, 1] / 10 - 1 + 0.05 * np.nan_to_num(X[:, 2]) * (X[:, 0] == 1)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return X, y


@pytest.fixture(scope="module")
def fitted():
    X, y = _data()
    params = dict(
        interaction_cst=[[0], [1], [0, 2]],
        categorical_features=[True, False, False],
        max_iter=20,
        random_state=0,
    )
    return Engine(**params).fit(X, y), X


def test_scikit_learn_internals_are_what_the_engine_reads(fitted):
    # this fails, naming the internal, when a scikit-learn release moves a private
    # method, argument or fitted attribute that the tables are read from
    engine, _ = fitted
    problems = check_internals(engine._model)
    assert problems == [], (
        f"scikit-learn {sklearn.__version__} changed internals that "
        f"send_early/estimators/_engine.py relies on: {problems}"
    )


def test_tables_read_from_the_engine_are_its_predictions(fitted):
    # the behaviour the internals stand for: every tree evaluated on every bin, through
    # the engine's own re-encoding of categories, sums to the engine's prediction (a
    # categorical feature, a pair and missing values; categorical columns come first)
    engine, X = fitted
    order = engine_order(np.array([True, False, False]))
    assert order.tolist() == [0, 1, 2]
    n_bins = np.array([5, 20, 30])
    terms = [(0,), (1,), (2,), (0, 2)]
    const, tables = engine_tables([engine], terms, n_bins, order)
    idx = np.where(np.isnan(X), n_bins, np.nan_to_num(X)).astype(int)
    raw = table_raw(const, terms, tables, idx)
    np.testing.assert_allclose(raw, engine.decision_function(X), atol=1e-9, rtol=0)


def _moved_predict(self, X, known, fmap):  # one argument fewer than scikit-learn 1.9's
    raise AssertionError("never called")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda mp: mp.setattr(TreePredictor, "predict", _moved_predict), "TreePredictor.predict"),
        (
            lambda mp: mp.setattr(HistGradientBoostingClassifier, "_should_stop", None),
            "HistGradientBoostingClassifier._should_stop is gone",
        ),
        (
            lambda mp: mp.setattr(_engine, "_FITTED", (*_engine._FITTED, "_renamed_trees")),
            "no _renamed_trees",
        ),
    ],
)
def test_a_changed_internal_stops_the_first_fit_and_is_named(monkeypatch, change, named):
    X, y = _data(200)
    change(monkeypatch)
    model = HistGradientBoostingClassifier(max_iter=3).fit(X, y)
    assert any(named in p for p in check_internals(model))
    monkeypatch.setattr(_engine, "_checked", False)  # as in a fresh process
    with pytest.raises(RuntimeError, match=rf"private parts of scikit-learn.*{named}.*_engine\.py"):
        AdditiveRiskClassifier(n_bags=1, max_iter=3, n_interactions=0).fit(X, y)


def test_fitted_model_keeps_tables_not_engines():
    X, y = _data()
    model = AdditiveRiskClassifier(n_bags=2, max_iter=20, random_state=0).fit(X, y)
    kept = [
        k
        for k, v in vars(model).items()
        if isinstance(v, Engine | HistGradientBoostingClassifier)
        or (isinstance(v, list) and any(isinstance(e, Engine) for e in v))
    ]
    assert kept == [] and not hasattr(model, "estimators_")
    # every attribute fit sets is fitted state, named with a trailing underscore
    fitted = set(vars(model)) - set(model.get_params())
    assert fitted and all(k.endswith("_") for k in fitted), sorted(fitted)


def test_a_column_with_no_value_fits_like_a_constant():
    # scikit-learn 1.9's binner fails on an all-missing column; a small cohort can have one
    # (a standing feature with too few children per birth month)
    import numpy as np

    from send_early.estimators import AdditiveRiskClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] + rng.normal(size=400) > 0).astype(int)
    X_empty = X.copy()
    X_empty[:, 2] = np.nan
    X_const = X.copy()
    X_const[:, 2] = 0.0
    a = AdditiveRiskClassifier(random_state=0).fit(X_empty, y)
    b = AdditiveRiskClassifier(random_state=0).fit(X_const, y)
    np.testing.assert_allclose(a.decision_function(X_empty), b.decision_function(X_const))
