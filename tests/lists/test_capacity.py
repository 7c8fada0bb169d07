"""The lists package re-exports the capacity policies of the evaluation package."""

from __future__ import annotations

import send_early.evaluation as evaluation
import send_early.lists as lists


def test_lists_reexport_the_same_capacity_policy_objects():
    assert lists.compare_capacity_policies is evaluation.compare_capacity_policies
    assert lists.capacity_by_setting is evaluation.capacity_by_setting
    assert lists.CAPACITY_POLICIES is evaluation.CAPACITY_POLICIES
    assert {"capacity_by_setting", "compare_capacity_policies"} <= set(lists.__all__)
