"""Features that measure need (issue 19): ASQ-3 against the review's own interval, attainment
relative to age, school moves outside the normal transfer points, and months known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from send_early.datasets import make_cohort
from send_early.features import build_features, load_pipeline
from send_early.schema import Tables

AS_OF = "2021-09-01"
SPEC = """
name = "need"
version = "0"
description = "issue 19 features"
[population]
min_age_months = 0
max_age_months = 400

[[feature]]
name = "comm"
label = "Communication"
role = "need"
table = "health_reviews"
column = "asq_communication"
aggregation = "latest"
prefer = { review_type = "2y" }

[[feature]]
name = "comm_below"
label = "Communication below the interval's cut-off"
role = "need"
table = "health_reviews"
column = "asq_communication"
aggregation = "below_cutoff"
prefer = { review_type = "2y" }
cutoff_table = "asq3"
interval_column = "asq_interval_months"

[[feature]]
name = "phonics_standing"
label = "Phonics standing"
role = "need"
table = "assessments"
column = "value"
aggregation = "standing"
filter = { measure = "phonics_mark" }
min_group = 2

[[feature]]
name = "moves"
label = "Moves"
role = "context"
table = "census"
column = "school_id"
aggregation = "moves"
normal_year_groups = [0, 3, 7]
missing = "zero"

[[feature]]
name = "known"
label = "Months known"
role = "context"
aggregation = "months_known"
"""


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    p = tmp_path_factory.mktemp("spec") / "need.toml"
    p.write_text(SPEC, encoding="utf-8")
    return load_pipeline(p)


def _children(rows):
    df = pd.DataFrame(rows, columns=["child_id", "birth_date"])
    return df.assign(
        sex="F", ethnicity=None, imd_decile=5, gestation_weeks=40, birth_weight_g=3300,
        moved_out_date=None,
    )  # fmt: skip


def _tables(children, **tables) -> Tables:
    empty = pd.DataFrame({"child_id": [], "event_date": [], "event": [], "primary_need": []})
    return Tables({"children": _children(children), "sen_events": empty, **tables}, "2025-08-31")


def _reviews(rows):
    cols = ["child_id", "review_date", "review_type", "asq_communication", "asq_interval_months"]
    df = pd.DataFrame(rows, columns=cols)
    df["asq_interval_months"] = pd.array(df["asq_interval_months"], dtype="Int64")
    for d in ("asq_gross_motor", "asq_fine_motor", "asq_problem_solving", "asq_personal_social"):
        df[d] = 50
    return df


def test_each_review_is_compared_with_its_own_intervals_cutoff(spec):
    children = [(c, "2019-01-15") for c in ("a", "b", "c", "d", "e")]
    reviews = _reviews(
        [
            ("a", "2021-01-20", "2y", 20, 24),  # 20 < 25.17 (24 months)
            ("b", "2021-04-20", "2y", 25, 27),  # 25 >= 24.02 (27 months), though < 25.17
            ("c", "2020-01-20", "1y", 5, 12),  # no 12-month cut-offs shipped: never the 2-year ones
            ("d", "2021-01-20", "2y", 10, None),  # no interval recorded: missing, not guessed
            ("e", "2020-01-20", "1y", 5, 12),  # the 2-year review is the one compared
            ("e", "2021-06-20", "2y", 45, 30),
        ]
    )
    X = build_features(_tables(children, health_reviews=reviews), AS_OF, spec)
    assert X["comm"].tolist() == [20, 25, 5, 10, 45]
    assert X.loc[["a", "b", "e"], "comm_below"].tolist() == [1.0, 0.0, 0.0]
    assert X.loc[["c", "d"], "comm_below"].isna().all()


def test_contract_v1_tables_give_missing_flags(spec):
    reviews = _reviews([("a", "2021-01-20", "2y", 20, 24)]).drop(columns="asq_interval_months")
    X = build_features(_tables([("a", "2019-01-15")], health_reviews=reviews), AS_OF, spec)
    assert X.loc["a", "comm"] == 20 and np.isnan(X.loc["a", "comm_below"])


def _phonics(rows):
    df = pd.DataFrame(rows, columns=["child_id", "assessment_date", "value"])
    return df.assign(measure="phonics_mark")


def test_standing_is_within_birth_month_and_assessment_year(spec):
    # a, b: born in August (youngest); c, d: born in September (oldest); all in Year 1 2020/21
    children = [("a", "2014-08-10"), ("b", "2014-08-20"), ("c", "2013-09-05"), ("d", "2013-09-25")]
    children += [("e", "2013-09-10"), ("f", "2014-08-01")]
    ph = _phonics(
        [
            ("a", "2021-06-15", 20),
            ("b", "2021-06-15", 30),
            ("c", "2021-06-15", 36),
            ("d", "2021-06-15", 40),
            ("e", "2021-06-15", 38),  # a third September child
            ("f", "2021-09-15", 0),  # after the as-of date: no leakage into a's or b's group
        ]
    )
    X = build_features(_tables(children, assessments=ph), AS_OF, spec)
    z = X["phonics_standing"]
    # August: mean 25, population SD 5; September: mean 38, SD sqrt(8/3)
    assert z["a"] == pytest.approx(-1.0) and z["b"] == pytest.approx(1.0)
    assert z["c"] == pytest.approx(-2 / np.sqrt(8 / 3)) and z["d"] == pytest.approx(
        2 / np.sqrt(8 / 3)
    )
    assert np.isnan(z["f"])  # assessed after the as-of date
    # the summer-born child with 30 marks stands above her group; the autumn-born with 36 below his
    assert z["b"] > 0 > z["c"]


def test_standing_needs_min_group(spec, tmp_path):
    children = [("a", "2014-08-10"), ("c", "2013-09-05"), ("d", "2013-09-25")]
    ph = _phonics([("a", "2021-06-15", 20), ("c", "2021-06-15", 36), ("d", "2021-06-15", 40)])
    X = build_features(_tables(children, assessments=ph), AS_OF, spec)
    assert np.isnan(X.loc["a", "phonics_standing"])  # alone in the August group (min_group = 2)
    assert X.loc["c", "phonics_standing"] == pytest.approx(-1.0)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    marks=st.lists(st.integers(0, 40), min_size=8, max_size=8),
    shift=st.integers(-20, 20),
)
def test_standing_ignores_children_born_in_other_months(spec, marks, shift):
    # four August-born and four September-born children: changing the September children's
    # marks never changes an August child's standing
    kids = [(f"a{i}", f"2014-08-{10 + i}") for i in range(4)]
    kids += [(f"s{i}", f"2013-09-{10 + i}") for i in range(4)]
    rows = [(k, "2021-06-15", m) for (k, _), m in zip(kids, marks, strict=True)]
    moved = [(k, d, min(40, max(0, m + shift)) if k[0] == "s" else m) for k, d, m in rows]
    z1 = build_features(_tables(kids, assessments=_phonics(rows)), AS_OF, spec)["phonics_standing"]
    z2 = build_features(_tables(kids, assessments=_phonics(moved)), AS_OF, spec)["phonics_standing"]
    august = [k for k, _ in kids if k[0] == "a"]
    pd.testing.assert_series_equal(z1[august], z2[august])
    assert abs(z1[august].mean()) < 1e-9  # standings are centred within the group


def _census(rows):
    df = pd.DataFrame(rows, columns=["child_id", "census_date", "school_id"])
    return df.assign(fsm_eligible=False, eal=False, sen_provision="N")


def test_moves_skip_normal_transfer_points(spec):
    # born 2010-01-10: Reception 2014/15, Year 3 2017/18, Year 7 2021/22
    kids = [("a", "2010-01-10"), ("b", "2010-01-10"), ("c", "2010-01-10"), ("d", "2010-01-10")]
    census = _census(
        [
            ("a", "2014-05-20", "N1"),  # nursery
            ("a", "2014-10-02", "P1"),  # Reception entry: normal
            ("a", "2017-05-18", "P1"),
            ("a", "2017-10-05", "J1"),  # infant -> junior at Year 3: normal
            ("a", "2021-05-20", "J1"),
            ("a", "2021-10-07", "S1"),  # primary -> secondary at Year 7: normal (after as-of too)
            ("b", "2015-10-01", "P1"),
            ("b", "2016-01-21", "P2"),  # mid-year move in Year 1: counted
            ("b", "2016-05-19", "P1"),  # and back: counted again
            ("c", "2015-05-21", "P1"),  # Year 0 ...
            ("c", "2017-10-05", "J1"),  # ... to Year 3 with a gap year: not the normal step
            ("d", "2019-10-03", "J1"),
            ("d", "2020-10-01", "J2"),  # into Year 6: counted
        ]
    )
    X = build_features(_tables(kids, census=census), AS_OF, spec)
    assert X["moves"].to_dict() == {"a": 0.0, "b": 2.0, "c": 1.0, "d": 1.0}


def test_months_known_counts_from_the_first_record_in_any_table(spec):
    kids = [("a", "2015-01-10"), ("b", "2015-01-10"), ("c", "2015-01-10")]
    census = _census([("a", "2020-03-15", "P1"), ("b", "2021-09-02", "P1")])
    ph = _phonics([("a", "2016-06-15", 20)])  # a's first record of all: 2016-06-15
    X = build_features(_tables(kids, census=census, assessments=ph), AS_OF, spec)
    assert X["known"].to_dict() == {"a": 62.0, "b": 0.0, "c": 0.0}  # b's record is after as-of


@pytest.fixture(scope="module")
def cohort_with_intervals():
    tables = make_cohort(400, random_state=5)
    hr = tables["health_reviews"]
    rng = np.random.default_rng(0)
    iv = np.where(hr["review_type"] == "1y", 12, rng.choice([24, 27, 30, 33, 36], len(hr)))
    iv = pd.array(iv, dtype="Int64")
    iv[rng.random(len(hr)) < 0.1] = pd.NA
    return tables.replace(health_reviews=hr.assign(asq_interval_months=iv))


@pytest.mark.parametrize("as_of", ["2019-09-01", "2022-03-01"])
def test_duckdb_equals_memory_on_the_new_kinds(spec, cohort_with_intervals, as_of):
    from .test_engines import assert_same

    for pipeline in (spec, "default"):
        mem = build_features(cohort_with_intervals, as_of, pipeline)
        assert (
            mem["asq_communication_below" if pipeline == "default" else "comm_below"].notna().any()
        )
        assert_same(mem, build_features(cohort_with_intervals, as_of, pipeline, engine="duckdb"))
