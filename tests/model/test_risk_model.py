"""RiskModel: fit, calibrate, score, save/load, specs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from send_early import RiskModel, SpecError
from send_early.exceptions import NotFittedError
from send_early.model import load_model_spec, rank_and_flag

from ..conftest import fast_spec_text

AS_OF = "2023-09-01"


def test_fit_records_metadata_without_child_rows(fitted_model):
    md = fitted_model.metadata_
    assert md["train_as_of_dates"] == ["2018-09-01", "2019-09-01", "2020-09-01"]
    assert md["calibration_as_of"] == "2021-09-01"
    assert md["n_train"] > 1000 and 0 < md["n_train_positive"] < md["n_train"]
    assert len(md["model_spec_sha256"]) == 64
    assert not any("c0" in str(v) for v in md.values())


def test_protected_characteristics_are_not_features(fitted_model):
    assert "sex" not in fitted_model.feature_names_
    assert "ethnicity" not in fitted_model.feature_names_
    assert "age_months" in fitted_model.feature_names_


def test_score_columns_ranks_and_capacity(fitted_model, small_cohort):
    s = fitted_model.score(small_cohort, AS_OF)
    assert list(s.columns[:4]) == ["child_id", "risk", "rank", "flagged"]
    assert {"reason_1", "reason_2", "reason_3"} <= set(s.columns)
    assert s["child_id"].is_unique
    assert sorted(s["rank"]) == list(range(1, len(s) + 1))
    assert s["risk"].between(0, 1).all()
    # default policy: top 5% share, rounded down (the capacity is never exceeded)
    assert s["flagged"].sum() == int(0.05 * len(s))
    assert s.loc[s["flagged"], "risk"].min() >= s.loc[~s["flagged"], "risk"].max()
    s2 = fitted_model.score(small_cohort, AS_OF, capacity=25)
    assert s2["flagged"].sum() == 25
    s3 = fitted_model.score(small_cohort, AS_OF, capacity="5%")
    assert s3["flagged"].tolist() == s["flagged"].tolist()


@pytest.mark.parametrize("capacity", [0, -3, 1.5, "150%", "many", True])
def test_bad_capacity_is_refused_before_any_work(capacity):
    # an unfitted model: the capacity is checked before features are built or scored
    model = RiskModel.from_spec("default")
    with pytest.raises((ValueError, TypeError), match="capacity must be a number of children"):
        model.score({}, AS_OF, capacity=capacity)


def test_contributions_sum_to_calibrated_log_odds(fitted_model, small_cohort):
    f = fitted_model.build_features(small_cohort, AS_OF)
    c = fitted_model.contributions(f)
    total = fitted_model.intercept_ + c.to_numpy().sum(axis=1)
    np.testing.assert_allclose(total, fitted_model.decision_function(f), atol=1e-9)
    np.testing.assert_allclose(1 / (1 + np.exp(-total)), fitted_model.predict_proba(f), atol=1e-12)


def test_population_respects_model_age_range(fitted_model, small_cohort):
    f = fitted_model.build_features(small_cohort, AS_OF)
    lo, hi = fitted_model.spec.population_age_months
    assert f["age_months"].between(lo, hi).all()


def test_save_load_round_trip(fitted_model, small_cohort, tmp_path):
    path = fitted_model.save(tmp_path / "m")
    assert {p.name for p in path.iterdir()} == {  # data only: see test_format.py
        "model.json",
        "arrays.npz",
        "model.toml",
        "pipeline.toml",
        "metadata.json",
        "reference.json",
    }
    back = RiskModel.load(path)
    f = fitted_model.build_features(small_cohort, AS_OF)
    np.testing.assert_array_equal(back.predict_proba(f), fitted_model.predict_proba(f))
    pd.testing.assert_frame_equal(back.score_features(f), fitted_model.score_features(f))


def test_feature_schema_is_zero_rows(fitted_model):
    z = fitted_model.feature_schema()
    assert len(z) == 0 and list(z.columns) == fitted_model.feature_names_


def test_unfitted_model_says_so():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        RiskModel.from_spec("default").predict_proba(pd.DataFrame())


def test_fit_needs_two_dates(small_cohort, fast_spec_path):
    with pytest.raises(ValueError, match="at least two as-of dates"):
        RiskModel.from_spec(fast_spec_path).fit(small_cohort, ["2020-09-01"])


def test_scorecard_spec_fits_and_scores(small_cohort, tmp_path):
    p = tmp_path / "card.toml"
    p.write_text(fast_spec_text("scorecard"))
    m = RiskModel.from_spec(p).fit(small_cohort, ["2019-09-01", "2020-09-01", "2021-09-01"])
    f = m.build_features(small_cohort, AS_OF)
    total = m.intercept_ + m.contributions(f).to_numpy().sum(axis=1)
    np.testing.assert_allclose(total, m.decision_function(f), atol=1e-9)
    assert m.score_features(f)["flagged"].any()
    # its global explanation: the points per bin, under the disclosure rule
    from send_early.explain import explain_global

    g = explain_global(m, f)
    assert set(g["term"]) == set(m.estimator_.term_names_)
    points = m.estimator_.points_table_
    assert sorted(g["contribution"]) == sorted(points["points"])
    shown = g["count"].dropna()
    assert ((shown == 0) | (shown >= 10)).all()


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (('outcome = "any_support"', 'outcome = "anything"'), r"\[model\] outcome must be one of"),
        (("horizon_months = 24", "horizon_months = 0"), r"horizon_months must be a whole number"),
        (('kind = "additive"', 'kind = "forest"'), r"\[estimator\] kind must be one of"),
        (('method = "sigmoid"', 'method = "magic"'), r"\[calibration\] method must be one of"),
        (("value = 0.05", "value = 5.5"), r"\[capacity\] value must be between 0 and 1"),
        (("[explain]", "[explainer]"), r"\[explainer\] is not a known section"),
    ],
)
def test_bad_model_spec_names_file_and_entry(tmp_path, edit, match):
    p = tmp_path / "bad.toml"
    p.write_text(fast_spec_text().replace(*edit))
    with pytest.raises(SpecError, match=match) as info:
        load_model_spec(p)
    assert str(p) in str(info.value)


def test_unknown_model_spec_name_lists_available():
    with pytest.raises(SpecError, match="available: .*default"):
        load_model_spec("no_such_model")


@settings(max_examples=50, deadline=None)
@given(
    risk=st.lists(st.sampled_from([0.1, 0.2, 0.3, 0.5]), min_size=1, max_size=60),
    k=st.integers(1, 70),
    seed=st.integers(0, 10_000),
)
def test_rank_and_flag_is_deterministic_and_order_free(risk, k, seed):
    risk = np.array(risk)
    ids = np.array([f"c{i:03d}" for i in range(len(risk))])
    rank, flagged = rank_and_flag(risk, ids, policy="count", value=k)
    assert flagged.sum() == min(k, len(risk))
    perm = np.random.default_rng(seed).permutation(len(risk))
    rank2, flagged2 = rank_and_flag(risk[perm], ids[perm], policy="count", value=k)
    np.testing.assert_array_equal(rank2, rank[perm])
    # ties broken by child_id ascending: equal risk, smaller id, better rank
    order = np.lexsort((ids, -risk))
    assert (np.diff(rank[order]) == 1).all()


def test_shipped_model_specs_pin_their_random_state():
    # a reviewed model version must be refittable to the same tables and reasons
    from send_early._resources import list_specs

    names = list_specs("models")
    assert {"default", "scorecard"} <= set(names)
    for name in names:
        assert "random_state" in load_model_spec(name).params, name
