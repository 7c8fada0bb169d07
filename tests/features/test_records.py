"""The record behind a feature value: its date (never after the as-of date), an ASQ-3
review's interval and cut-off, how many records a count summarises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from send_early import Tables
from send_early.datasets import make_cohort
from send_early.features import CUTOFF_TABLES, build_features, feature_records

from ..conftest import make_tiny_tables


def _reviews_of_one_child() -> Tables:
    t = make_tiny_tables()
    health = pd.DataFrame(
        {
            "child_id": ["c3", "c3", "c3"],
            "review_date": ["2020-01-10", "2021-03-02", "2023-06-01"],
            "review_type": ["1y", "2y", "2y"],
            "asq_interval_months": [12, 27, 36],
            "asq_communication": [20, 10, 55],
            "asq_gross_motor": [50, 50, 50],
            "asq_fine_motor": [50, 50, 50],
            "asq_problem_solving": [50, 50, 50],
            "asq_personal_social": [50, 50, 50],
        }
    )
    return t.replace(health_reviews=health)


def test_the_record_is_the_one_the_feature_reads_never_a_later_one():
    t = _reviews_of_one_child()
    r = feature_records(t, "2022-12-31").loc["c3"]
    x = build_features(t, "2022-12-31").loc["c3"]
    assert x["asq_communication"] == 10  # the 2-year review is preferred
    assert r[("asq_communication", "date")] == pd.Timestamp("2021-03-02")  # not 2023-06-01
    assert r[("asq_communication", "interval_months")] == 27
    cut = CUTOFF_TABLES["asq3"].cutoffs[27]["asq_communication"]
    assert r[("asq_communication", "cutoff")] == cut
    assert r[("asq_communication_below", "cutoff")] == cut
    assert x["asq_communication_below"] == float(10 < cut)
    assert r[("asq_communication", "cutoff_confirmed")] == float(
        CUTOFF_TABLES["asq3"].confirmed[27]
    )
    # a later review, once on or before the as-of date, is the record
    later = feature_records(t, "2023-08-31").loc["c3"]
    assert later[("asq_communication", "date")] == pd.Timestamp("2023-06-01")
    assert later[("asq_communication", "interval_months")] == 36


def test_a_12_month_review_is_never_read_against_a_2_year_cut_off():
    t = _reviews_of_one_child()
    r = feature_records(t, "2020-06-30").loc["c3"]  # only the 1-year review so far
    assert r[("asq_communication", "date")] == pd.Timestamp("2020-01-10")
    assert r[("asq_communication", "interval_months")] == 12
    assert np.isnan(r[("asq_communication", "cutoff")])


def test_counts_name_how_many_records_and_the_latest_births_the_birth_date():
    t = make_tiny_tables()
    r = feature_records(t, "2023-08-31")
    assert r.loc["c1", ("suspensions_365d", "n_records")] == 1
    assert r.loc["c1", ("suspensions_365d", "date")] == pd.Timestamp("2023-03-01")
    assert np.isnan(r.loc["c2", ("suspensions_365d", "n_records")])  # none: no record
    assert r.loc["c2", ("gestation_weeks", "date")] == pd.Timestamp("2018-07-20")
    assert r.loc["c2", ("preterm", "at_birth")] == 1  # a threshold reads its source's record
    assert r.loc["c1", ("phonics_met", "date")] == pd.Timestamp("2023-06-15")


_COHORT = make_cohort(600, random_state=3)


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 8 * 12))
def test_no_record_date_is_after_the_as_of_date(months):
    as_of = pd.Timestamp("2016-08-31") + pd.DateOffset(months=months)
    r = feature_records(_COHORT, as_of, check=False)
    dates = r.xs("date", axis=1, level="field")
    assert (dates.max().dropna() <= as_of).all()
    # a one-record feature has a record exactly where it has a value
    x = build_features(_COHORT, as_of, check=False)
    for f in ("asq_communication", "eyfsp_gld", "phonics_mark", "fsm_current"):
        got = dates[f].reindex(x.index).notna()
        assert (got == x[f].notna()).all(), f


def test_a_bad_as_of_date_is_refused():
    with pytest.raises(ValueError, match="as_of must be on or before the extract date"):
        feature_records(make_tiny_tables(), "2030-01-01")
