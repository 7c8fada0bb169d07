"""The stored drift reference and the drift report follow the disclosure rule."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from send_early.batch import TOO_FEW, drift_report
from send_early.model import OTHER, drift_reference, reference_cells
from send_early.privacy import MIN_CELL, is_safe


@st.composite
def cohorts(draw, min_n=0, max_n=80):
    """Small cohorts with rare categories, heavy ties and missing values."""
    n = draw(st.integers(min_n, max_n))
    cats = draw(st.lists(st.sampled_from("abcdefg"), min_size=n, max_size=n))
    miss = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    ties = draw(st.lists(st.sampled_from([0.0, 0.0, 0.0, 1.0, 2.0, 5.0]), min_size=n, max_size=n))
    spread = draw(st.lists(st.floats(-50, 50), min_size=n, max_size=n))
    rare = draw(st.integers(0, n))
    X = pd.DataFrame(
        {
            "kind": pd.Categorical([None if m else c for c, m in zip(cats, miss, strict=True)]),
            "ties": ties,
            "spread": [np.nan if m else v for v, m in zip(spread, miss, strict=True)],
            "rare": [1.0 if i < rare else np.nan for i in range(n)],
        }
    )
    return X, np.asarray(draw(st.permutations(ties)), float) / 10


def _check_partition(shares, n):
    """Each share stands for 0 or >= MIN_CELL children, so does its complement; sum is 1."""
    counts = [s * n for s in shares]
    assert all(is_safe(c) for c in counts), counts
    assert all(is_safe(n - c) for c in counts), counts
    if shares:
        assert sum(shares) == pytest.approx(1.0)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cohorts())
def test_every_stored_share_is_a_safe_count(cohort):
    X, risk = cohort
    n = len(X)
    ref = json.loads(json.dumps(drift_reference(X, risk)))  # as saved with the model
    for name, entry in ref["features"].items():
        if entry["kind"] == "categorical":
            _check_partition(list(entry["shares"].values()), n)
        else:
            assert len(entry["shares"]) == (len(entry["edges"]) + 1 if entry["shares"] else 0)
            _check_partition([entry["missing"], *entry["shares"]] if entry["shares"] else [], n)
        if not is_safe(n):
            assert not entry["shares"], name
    _check_partition(ref["score"]["shares"], n)


def test_small_groups_are_pooled_or_merged():
    X = pd.DataFrame(
        {
            "kind": pd.Categorical(["a"] * 40 + ["b"] * 3 + ["c"] * 4 + [None] * 2 + ["d"] * 11),
            "x": [np.nan] * 3 + list(range(57)),
        }
    )
    ref = drift_reference(X, np.linspace(0, 1, 60))
    kind = ref["features"]["kind"]["shares"]
    # b, c and missing (9 children) pool into (other), which takes d (11) to reach 20
    assert {k: round(v * 60) for k, v in kind.items()} == {"a": 40, OTHER: 20}
    x = ref["features"]["x"]
    assert x["missing_pooled"] and x["missing"] == 0.0
    assert [round(s * 60) for s in x["shares"]][0] >= MIN_CELL


def test_drift_report_shows_no_psi_for_fewer_than_min_cell_children(fitted_model, small_cohort):
    f = fitted_model.build_features(small_cohort, "2021-09-01")[fitted_model.feature_names_]
    risk = fitted_model.predict_proba(f)
    for k in (1, 5, MIN_CELL - 1):
        d = drift_report(fitted_model.reference_, f.iloc[:k], risk[:k])
        assert d["psi"].isna().all() and (d["status"] == TOO_FEW).all()
    d = drift_report(fitted_model.reference_, f.iloc[:200], risk[:200])
    assert d.loc[d["name"] == "(score)", "psi"].notna().all()


@settings(max_examples=100, deadline=None)
@given(cohorts(min_n=10, max_n=60), cohorts(min_n=0, max_n=40))
def test_drift_psi_rests_on_safe_batch_groups(ref_cohort, batch):
    X, risk = ref_cohort
    ref = drift_reference(X, risk)
    B, brisk = batch
    d = drift_report(ref, B, brisk).set_index("name")
    entries = {**ref["features"], "(score)": ref["score"]}
    for name, row in d.iterrows():
        values = brisk if name == "(score)" else B[name]
        _, a = reference_cells(entries[name], values)
        if len(B) < MIN_CELL or len(a) < 2:
            assert np.isnan(row["psi"]) and row["status"] == TOO_FEW
        else:  # computed on batch groups of 0 or >= MIN_CELL children
            assert all(is_safe(c) for c in a) and np.isfinite(row["psi"])


def test_unseen_categories_count_as_other():
    entry = {"kind": "categorical", "shares": {"a": 0.5, "b": 0.5}}
    e, a = reference_cells(entry, ["a"] * 20 + ["b"] * 20 + ["z"] * 6 + ["y"] * 6)
    assert e.tolist() == [0.5, 0.5, 0.0] and a.tolist() == [20, 20, 12]


def test_a_reference_saved_before_the_rule_still_reads():
    old = {
        "features": {
            "kind": {"kind": "categorical", "shares": {"a": 0.97, "b": 0.03}},
            "x": {"kind": "numeric", "edges": [1.0], "shares": [0.5, 0.5], "missing": 0.2},
        },
        "score": {"edges": [0.5], "shares": [0.5, 0.5]},
    }
    B = pd.DataFrame({"kind": ["a"] * 30 + ["b"] * 10, "x": [0.0] * 16 + [2.0] * 16 + [None] * 8})
    d = drift_report(old, B, np.r_[np.zeros(20), np.ones(20)]).set_index("name")
    assert d.loc["x", "psi"] == pytest.approx(0.0)
    assert d.loc["(score)", "psi"] == pytest.approx(0.0)
    assert d.loc["kind", "status"] == "alert"
