"""The one setting rule: the latest census on or before the as-of date; no record, no roll."""

from __future__ import annotations

import numpy as np
import pandas as pd

from send_early.batch import NOT_ON_ROLL, current_setting, setting_key


def test_current_setting_and_its_key_for_capacity():
    census = pd.DataFrame(
        {
            "child_id": ["a", "a", "b", "c"],
            "census_date": pd.to_datetime(["2022-01-20", "2023-01-19", "2023-10-05", "2023-01-19"]),
            "school_id": ["S1", "S2", "S3", "S4"],
        }
    )
    kind, where = current_setting({"census": census}, "2023-09-01", ["a", "b", "c", "d"])
    assert kind.tolist() == ["school", NOT_ON_ROLL, "school", NOT_ON_ROLL]  # b: a later record
    assert where.tolist() == ["S2", "", "S4", ""]
    key = setting_key(kind, where)
    np.testing.assert_array_equal(key, ["S2", NOT_ON_ROLL, "S4", NOT_ON_ROLL])
    kind, where = current_setting({}, "2023-09-01", ["a"])  # no census table: no roll
    assert kind.tolist() == [NOT_ON_ROLL] and where.tolist() == [""]


def test_a_child_on_no_roll_is_routed_to_its_recorded_locality_team():
    census = pd.DataFrame(
        {
            "child_id": ["a"],
            "census_date": pd.to_datetime(["2023-01-19"]),
            "school_id": ["S1"],
        }
    )
    children = pd.DataFrame(
        {"child_id": ["a", "b", "c", "d"], "locality": pd.array(["L1", "L2", None, "L2"], "str")}
    )
    tables = {"census": census, "children": children}
    kind, where = current_setting(tables, "2023-09-01", ["a", "b", "c", "d", "e"])
    # a: on a roll (its locality is not its setting); c: no locality; e: not in children
    assert kind.tolist() == ["school", NOT_ON_ROLL, NOT_ON_ROLL, NOT_ON_ROLL, NOT_ON_ROLL]
    assert where.tolist() == ["S1", "L2", "", "L2", ""]
    key = setting_key(kind, where)
    want = ["S1", "not_on_roll_L2", NOT_ON_ROLL, "not_on_roll_L2", NOT_ON_ROLL]
    np.testing.assert_array_equal(key, want)
    # contract v2 tables (no locality column): as before, one not_on_roll setting
    v2 = {"census": census, "children": children.drop(columns="locality")}
    np.testing.assert_array_equal(
        setting_key(*current_setting(v2, "2023-09-01", ["a", "b"])), ["S1", NOT_ON_ROLL]
    )
