"""The escalation and need-area outcomes: hand-worked labels, populations, no leakage."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from send_early.features import (
    NEED_AREAS,
    OUTCOMES,
    POPULATIONS,
    build_features,
    build_labels,
    make_training_frame,
    outcome_definition,
    population,
)
from send_early.schema import PRIMARY_NEEDS, Tables

from .test_leakage import AFTER_AS_OF, EXTRACT, SPEC, changed_after, features_unchanged

AS_OF = "2021-09-01"
SEN_SUPPORT = dataclasses.replace(SPEC, population="sen_support")


def _tables(events, census=(), moved=None) -> Tables:
    ids = sorted({e[0] for e in events} | {c[0] for c in census} | {"none"})
    moved = moved or {}
    children = pd.DataFrame(
        {
            "child_id": ids,
            "birth_date": "2017-03-01",
            "sex": "F",
            "ethnicity": None,
            "imd_decile": 5,
            "gestation_weeks": 40,
            "birth_weight_g": 3300,
            "moved_out_date": [moved.get(i) for i in ids],
        }
    )
    ev = pd.DataFrame(list(events), columns=["child_id", "event_date", "event", "primary_need"])
    ce = pd.DataFrame(
        [(c, d, "S1", False, False, p) for c, d, p in census],
        columns=["child_id", "census_date", "school_id", "fsm_eligible", "eal", "sen_provision"],
    )
    return Tables({"children": children, "sen_events": ev, "census": ce}, extract_date=EXTRACT)


@pytest.fixture
def escalation_tables() -> Tables:
    events = [
        ("e01", "2020-10-01", "sen_support", "SLCN"),
        ("e01", "2022-03-01", "ehc_request", "SLCN"),  # a request (refused or not): 1
        ("e02", "2020-10-01", "sen_support", None),  # no request: 0
        ("e03", "2020-10-01", "sen_support", None),
        ("e03", "2021-05-01", "ehc_request", None),  # requested before as_of: out
        ("e05", "2022-06-01", "ehcp", "ASD"),  # a plan with no request on record: 1
        ("e07", "2020-10-01", "sen_support", None),  # census E before as_of: out
        ("e08", "2021-10-01", "sen_support", None),  # support starts after as_of: out
        ("e08", "2022-01-01", "ehc_request", None),
        ("e09", "2020-10-01", "sen_support", None),
        ("e09", "2022-10-01", "ehc_request", None),  # after the 12-month window: 0
        ("e10", "2020-10-01", "sen_support", None),  # moves out, no request: censored
    ]
    census = [
        ("e05", "2021-05-20", "K"),  # on SEN support by census only
        ("e06", "2020-05-20", "K"),
        ("e06", "2021-05-20", "N"),  # support ended: out
        ("e07", "2021-01-15", "E"),
        ("e02", "2020-05-20", "N"),  # before the support began: e02 is on support
    ]
    return _tables(events, census, moved={"e10": "2022-01-01"})


def test_escalation_population_is_sen_support_without_a_request(escalation_tables):
    pop = population(escalation_tables, AS_OF, pipeline=SEN_SUPPORT)["status"]
    assert pop.to_dict() == {
        "e01": "in_population",
        "e02": "in_population",
        "e03": "ehc_requested",
        "e05": "in_population",
        "e06": "not_on_sen_support",
        "e07": "ehc_requested",
        "e08": "not_on_sen_support",
        "e09": "in_population",
        "e10": "in_population",
        "none": "not_on_sen_support",
    }
    # the default population is the complement among children of the right age
    default = population(escalation_tables, AS_OF)["status"]
    assert default[default == "in_population"].index.tolist() == ["e06", "e08", "none"]


def test_escalation_labels_hand_worked(escalation_tables):
    y = build_labels(escalation_tables, AS_OF, horizon_months=12, outcome="escalation")
    assert y["label"].to_dict() == {"e01": 1, "e02": 0, "e05": 1, "e09": 0}
    assert y.loc["e05", "event_date"] == pd.Timestamp("2022-06-01")
    s = y.attrs["summary"]
    assert s["population_kind"] == "sen_support" and s["outcome"] == "escalation"
    assert s["n_population"] == 5 and s["n_censored_moved_out"] == 1
    # e08's request follows support that began after as_of: not in this population
    y24 = build_labels(escalation_tables, AS_OF, horizon_months=24, outcome="escalation")
    assert y24.loc["e09", "label"] == 1 and "e08" not in y24.index


def test_escalation_training_frame_builds_features_of_its_population(escalation_tables):
    frame = make_training_frame(
        escalation_tables, ["2020-09-01", AS_OF], horizon_months=12, outcome="escalation"
    )
    assert frame.attrs["population_kind"] == "sen_support"
    snap = frame.xs(pd.Timestamp(AS_OF), level="as_of")
    X = build_features(escalation_tables, AS_OF, pipeline=SEN_SUPPORT)
    assert sorted(X.index) == ["e01", "e02", "e05", "e09", "e10"]
    pd.testing.assert_frame_equal(snap[X.columns], X.loc[snap.index], check_names=False)
    assert frame.attrs["snapshots"][1]["population"]["ehc_requested"] == 2
    # a year earlier only e06 was on SEN support (census K of 2020-05-20)
    assert frame.xs(pd.Timestamp("2020-09-01"), level="as_of").index.tolist() == ["e06"]


@pytest.fixture
def need_tables() -> Tables:
    events = [
        ("n1", "2022-03-01", "sen_support", "SLCN"),
        ("n2", "2022-03-01", "sen_support", None),
        ("n2", "2023-01-01", "ehc_request", "ASD"),
        ("n3", "2022-03-01", "sen_support", None),  # no need recorded: 0 in every area
        ("n4", "2022-03-01", "sen_support", "MLD"),
        ("n4", "2022-09-01", "ehc_request", "SEMH"),
        ("n5", "2022-03-01", "sen_support", "HI"),
        ("n6", "2022-03-01", "sen_support", "OTH"),  # in no area
        ("n7", "2021-03-01", "sen_support", "SLCN"),  # identified before as_of: out
    ]
    return _tables(events)


@pytest.mark.parametrize(
    ("area", "positive", "first"),
    [
        ("communication_interaction", {"n1", "n2"}, {"n1": "2022-03-01", "n2": "2023-01-01"}),
        ("cognition_learning", {"n4"}, {"n4": "2022-03-01"}),
        ("semh", {"n4"}, {"n4": "2022-09-01"}),
        ("sensory_physical", {"n5"}, {"n5": "2022-03-01"}),
    ],
)
def test_need_area_labels_hand_worked(need_tables, area, positive, first):
    y = build_labels(need_tables, AS_OF, horizon_months=24, outcome=f"need_{area}")
    assert set(y.index) == {"n1", "n2", "n3", "n4", "n5", "n6", "none"}
    assert set(y.index[y["label"] == 1]) == positive
    assert {k: str(v.date()) for k, v in y["event_date"].dropna().items()} == first
    assert y.attrs["summary"]["n_need_unrecorded"] == 1  # n3
    anyy = build_labels(need_tables, AS_OF, horizon_months=24)
    assert (y["label"] <= anyy["label"]).all()  # an area is a part of any support


def test_need_areas_are_disjoint_known_codes():
    codes = [c for area in NEED_AREAS.values() for c in area]
    assert len(codes) == len(set(codes)) and set(codes) <= set(PRIMARY_NEEDS)
    assert set(PRIMARY_NEEDS) - set(codes) == {"OTH", "NSA", "DS"}
    for area in NEED_AREAS:
        o = outcome_definition(f"need_{area}")
        assert o.needs == NEED_AREAS[area] and o.population == "not_identified"
    assert {outcome_definition(k).population for k in OUTCOMES} == set(POPULATIONS)
    assert "ehcp" not in OUTCOMES


def test_duckdb_engine_builds_the_sen_support_population_as_memory(escalation_tables):
    from .test_engines import assert_same

    mem = build_features(escalation_tables, AS_OF, pipeline=SEN_SUPPORT)
    duck = build_features(escalation_tables, AS_OF, pipeline=SEN_SUPPORT, engine="duckdb")
    assert len(mem) > 0
    assert_same(mem, duck)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**AFTER_AS_OF)
def test_records_after_as_of_do_not_reach_the_escalation_population(seed, n, frac, how):
    tables, as_of, changed = changed_after(seed, n, frac, how)
    before, _ = features_unchanged(tables, changed, as_of, SEN_SUPPORT)
    ids = tables["children"]["child_id"]
    p0 = population(tables, as_of, pipeline=SEN_SUPPORT, check=False)["status"]
    p1 = population(changed, as_of, pipeline=SEN_SUPPORT, check=False)["status"]
    pd.testing.assert_series_equal(p0.loc[ids], p1.loc[ids])
    for t in (tables, changed):
        y = build_labels(
            t, as_of, horizon_months=12, pipeline=SPEC, outcome="escalation", check=False
        )
        assert set(y.index) <= set(before.index)
    # a child is never in both populations
    default = population(tables, as_of, pipeline=SPEC, check=False)["status"]
    assert not ((p0 == "in_population") & (default == "in_population")).any()
