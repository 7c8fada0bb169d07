"""build_labels and make_training_frame with engine="duckdb" equal the memory engine."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from send_early import Tables
from send_early.datasets import make_cohort
from send_early.features import OUTCOMES, build_labels, make_training_frame

from .test_engines import assert_same

pytest.importorskip("duckdb")


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
    outcome=st.sampled_from(sorted(OUTCOMES)),
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
    assert_same_frames(mem, duck)


def assert_same_frames(mem: pd.DataFrame, duck: pd.DataFrame) -> None:
    """Two training frames hold the same labels and, to 1e-9, the same features."""
    labels = ["label", "event_date", "months_to_event"]
    pd.testing.assert_frame_equal(duck[labels], mem[labels], check_exact=False, rtol=0, atol=1e-9)
    feats = [c for c in mem.columns if c not in labels]
    a, b = mem[feats].reset_index(level=0, drop=True), duck[feats].reset_index(level=0, drop=True)
    a.attrs = b.attrs = {}
    assert_same(a, b)


@pytest.fixture(scope="module")
def cohort():
    return make_cohort(1500, random_state=4)


@pytest.mark.parametrize("outcome", sorted(OUTCOMES))
def test_every_outcome_labels_the_same_children_on_duckdb(cohort, outcome):
    tables = cohort
    for as_of in ("2019-09-01", "2021-02-28"):
        mem = build_labels(tables, as_of, 24, outcome)
        duck = build_labels(tables, as_of, 24, outcome, engine="duckdb")
        assert_same_labels(mem, duck)
        assert len(mem) >= 40 and mem["label"].sum() > 0  # a population with events in it


def _support_tables(events: list[tuple], census: list[tuple]) -> Tables:
    ids = sorted({r[0] for r in events + census} | {"none"})
    children = pd.DataFrame(
        {
            "child_id": ids,
            "birth_date": "2015-01-01",
            "sex": "F",
            "ethnicity": None,
            "imd_decile": 5,
            "gestation_weeks": 40,
            "birth_weight_g": 3300,
            "moved_out_date": None,
        }
    )
    ev = pd.DataFrame(events, columns=["child_id", "event_date", "event", "primary_need"])
    ce = pd.DataFrame(census, columns=["child_id", "census_date", "school_id", "sen_provision"])
    ce = ce.assign(fsm_eligible=False, eal=False)
    return Tables({"children": children, "sen_events": ev, "census": ce}, extract_date="2025-08-31")


def test_the_escalation_population_follows_the_latest_record_on_both_engines():
    events = [
        ("k_then_n", "2020-01-10", "sen_support", "SLCN"),  # support, then census N: ended
        ("n_then_k", "2020-01-10", "sen_support", "SLCN"),
        ("same_day", "2020-10-01", "sen_support", "ASD"),  # K and N on one day: on support
        ("requested", "2020-02-01", "sen_support", "MLD"),
        ("requested", "2020-06-01", "ehc_request", "MLD"),  # a request: not in the population
        ("after", "2021-03-01", "sen_support", "SEMH"),  # after the as-of date: not yet
        ("escalates", "2020-03-01", "sen_support", "SEMH"),
        ("escalates", "2021-05-01", "ehc_request", "SEMH"),  # the event in the window
    ]
    census = [
        ("k_then_n", "2020-10-01", "s1", "N"),
        ("n_then_k", "2019-10-01", "s1", "N"),
        ("same_day", "2020-10-01", "s1", "N"),
        ("census_k", "2020-10-01", "s1", "K"),
        ("census_e", "2020-10-01", "s1", "E"),  # a plan: requested already
    ]
    tables = _support_tables(events, census)
    mem = build_labels(tables, "2021-01-15", 12, "escalation")
    duck = build_labels(tables, "2021-01-15", 12, "escalation", engine="duckdb")
    assert_same_labels(mem, duck)
    assert sorted(duck.index) == ["census_k", "escalates", "n_then_k", "same_day"]
    assert duck["label"].to_dict() == {"n_then_k": 0, "same_day": 0, "census_k": 0, "escalates": 1}


def test_duckdb_escalation_frame_equals_memory():
    # the population on SEN support with no request yet: features and labels of the same children
    tables = make_cohort(1500, random_state=5)
    dates = ["2019-09-01", "2021-01-15"]
    mem = make_training_frame(tables, dates, 12, outcome="escalation")
    duck = make_training_frame(tables, dates, 12, outcome="escalation", engine="duckdb")
    assert mem.index.equals(duck.index) and len(mem) >= 20
    assert mem.attrs == duck.attrs
    assert_same_frames(mem, duck)


def test_unknown_engines_are_refused():
    tables = make_cohort(60, random_state=1)
    with pytest.raises(ValueError, match="engine must be .*found 'pandas'"):
        make_training_frame(tables, ["2020-09-01"], 12, engine="pandas")
