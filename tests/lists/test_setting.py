"""Every score carries the child's setting at the as-of date, decided by no later record."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import send_early
from send_early import Tables

AS_OF = pd.Timestamp("2023-09-01")


@pytest.fixture(scope="module")
def few(small_cohort):
    """400 children of the small cohort (fast to score many times)."""
    keep = set(small_cohort["children"]["child_id"].iloc[:400])
    return Tables(
        {n: df[df["child_id"].isin(keep)] for n, df in small_cohort.items()},
        small_cohort.extract_date,
    )


def _expected(census: pd.DataFrame, ids) -> pd.Series:
    """The school of each child's latest census record on or before AS_OF, by a second route."""
    c = census[pd.to_datetime(census["census_date"]) <= AS_OF]
    c = c.sort_values(["child_id", "census_date", "school_id"])
    last = c.groupby("child_id")["school_id"].last()
    return pd.Series(ids, index=ids).map(last).fillna("")


def test_setting_columns_follow_the_latest_census_on_or_before_as_of(fitted_model, few):
    s = send_early.score(fitted_model, few, AS_OF).scores
    assert list(s.columns[-2:]) == ["setting_type", "setting_id"]
    assert set(s["setting_type"]) <= {"school", "early_years", "not_on_roll"}
    want = _expected(few["census"], s["child_id"].to_numpy())
    on_roll = want.to_numpy() != ""
    # on no roll, the id is the child's recorded locality team (empty without one)
    team = few["children"].set_index("child_id")["locality"].reindex(s["child_id"]).fillna("")
    want = np.where(on_roll, want.to_numpy(), team.to_numpy())
    assert (s["setting_id"].fillna("").to_numpy() == want).all()
    assert (want[~on_roll] != "").any()
    assert (s["setting_type"].to_numpy()[on_roll] == "school").all()
    assert (s["setting_type"].to_numpy()[~on_roll] == "not_on_roll").all()
    assert 0 < on_roll.sum() < len(s)  # both kinds occur: the test can fail either way


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**32 - 1),
    days=st.lists(st.integers(1, 700), min_size=1, max_size=30),
)
def test_no_record_after_as_of_decides_a_setting(fitted_model, few, seed, days):
    base = send_early.score(fitted_model, few, AS_OF).scores.set_index("child_id")
    rng = np.random.default_rng(seed)
    ids = rng.choice(base.index.to_numpy(), size=len(days))
    later = pd.DataFrame(
        {
            "child_id": ids,
            "census_date": [(AS_OF + pd.Timedelta(days=d)).date().isoformat() for d in days],
            "school_id": [f"late{i}" for i in rng.integers(0, 5, len(days))],
            "fsm_eligible": False,
            "eal": False,
            "sen_provision": "N",
        }
    )
    census = few["census"].astype({"census_date": "str"}) if "census" in few else later[:0]
    tables = few.replace(census=pd.concat([census, later], ignore_index=True))
    got = send_early.score(fitted_model, tables, AS_OF).scores.set_index("child_id")
    assert got.index.equals(base.index)
    pd.testing.assert_series_equal(got["setting_type"], base["setting_type"])
    pd.testing.assert_series_equal(got["setting_id"], base["setting_id"])
    assert not got["setting_id"].str.startswith("late").any()
