"""build_labels and make_training_frame with engine="duckdb" equal the memory engine."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from send_early.datasets import make_cohort
from send_early.features import build_labels, make_training_frame

from .test_engines import assert_same

pytest.importorskip("duckdb")

OUTCOMES = ["any_support", "ehc_request", "need_communication_interaction"]


def assert_same_labels(mem: pd.DataFrame, duck: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(duck, mem, check_exact=False, rtol=0, atol=1e-9)
    assert duck.index.dtype == mem.index.dtype and duck.attrs == mem.attrs


@settings(
    max_examples=8,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(60, 400),
    as_of=st.dates(pd.Timestamp("2014-01-01").date(), pd.Timestamp("2025-06-30").date()),
    horizon=st.sampled_from([6, 12, 24]),
    outcome=st.sampled_from(OUTCOMES),
)
def test_duckdb_labels_equal_memory(seed, n, as_of, horizon, outcome):
    tables = make_cohort(n, random_state=seed)
    mem = build_labels(tables, as_of, horizon, outcome)
    duck = build_labels(tables, as_of, horizon, outcome, engine="duckdb")
    assert_same_labels(mem, duck)


def test_a_window_past_the_extract_censors_everyone_on_both_engines():
    tables = make_cohort(200, random_state=3)
    mem = build_labels(tables, "2024-09-01", 24)
    duck = build_labels(tables, "2024-09-01", 24, engine="duckdb")
    assert_same_labels(mem, duck)
    assert len(duck) == 0 and duck.attrs["summary"]["n_censored_extract"] > 0


@pytest.mark.parametrize("outcome", ["any_support", "need_communication_interaction"])
def test_duckdb_training_frame_equals_memory(outcome):
    tables = make_cohort(500, random_state=9)
    dates = ["2019-09-01", "2018-09-01", "2020-09-01"]
    mem = make_training_frame(tables, dates, 24, outcome=outcome)
    duck = make_training_frame(tables, dates, 24, outcome=outcome, engine="duckdb")
    assert mem.index.equals(duck.index) and len(mem) > 300
    assert mem.attrs == duck.attrs
    labels = ["label", "event_date", "months_to_event"]
    pd.testing.assert_frame_equal(duck[labels], mem[labels], check_exact=False, rtol=0, atol=1e-9)
    feats = [c for c in mem.columns if c not in labels]
    a, b = mem[feats].reset_index(level=0, drop=True), duck[feats].reset_index(level=0, drop=True)
    a.attrs = b.attrs = {}
    assert_same(a, b)


def test_escalation_and_unknown_engines_are_refused():
    tables = make_cohort(60, random_state=1)
    with pytest.raises(ValueError, match="not-identified population only"):
        build_labels(tables, "2020-09-01", 12, "escalation", engine="duckdb")
    with pytest.raises(ValueError, match="engine must be 'memory' or 'duckdb'"):
        make_training_frame(tables, ["2020-09-01"], 12, engine="spark")
