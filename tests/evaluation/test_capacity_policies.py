"""Capacity by setting: every policy flags k children, each setting's in the one rule's order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from send_early.evaluation import (
    CAPACITY_POLICIES,
    capacity_by_setting,
    compare_capacity_policies,
    flag_capacity,
)


@st.composite
def cohorts(draw):
    n = draw(st.integers(1, 120))
    risk = draw(st.lists(st.sampled_from([0.1, 0.2, 0.5, 0.7, 0.9]), min_size=n, max_size=n))
    where = draw(st.lists(st.sampled_from(list("abcdef")), min_size=n, max_size=n))
    team = draw(st.lists(st.sampled_from(["L1", "L2", "L3", None]), min_size=n, max_size=n))
    k = draw(st.integers(0, n))
    return np.array(risk), np.array(where), np.array(team, dtype=object), k


@settings(max_examples=60, deadline=None)
@given(cohorts(), st.sampled_from(CAPACITY_POLICIES))
def test_each_policy_flags_k_taking_each_groups_children_in_rank_order(data, policy):
    risk, where, team, k = data
    ids = np.array([f"c{i:03d}" for i in range(len(risk))])
    n_settings = len(set(where))
    minimum = 1 if n_settings <= k else 0
    f = capacity_by_setting(
        risk, where, k=k, policy=policy, minimum=minimum, tiebreak=ids, locality=team
    )
    assert f.flagged.sum() == f.k == k
    whole = flag_capacity(risk, k=len(risk), tiebreak=ids)
    np.testing.assert_array_equal(f.rank, whole.rank)
    # the groups a policy sets quotas for: settings, or locality teams (none: one group)
    group = pd.Series(team).fillna("none").to_numpy() if policy == "locality" else where
    df = pd.DataFrame({"s": group, "rank": f.rank, "flag": f.flagged})
    for _, g in df.groupby("s"):  # within a group, flags are a prefix of the rank order
        g = g.sort_values("rank")
        assert not (np.diff(g["flag"].astype(int)) > 0).any()
    if policy == "council":
        np.testing.assert_array_equal(f.flagged, flag_capacity(risk, k=k, tiebreak=ids).flagged)
    per = df.groupby("s")["flag"].sum()
    n = df.groupby("s").size()
    if policy in ("proportional", "locality"):
        assert (np.abs(per - k * n / len(risk)) < 1 + 1e-9).all()
    if policy == "minimum":
        assert (per >= np.minimum(minimum, n)).all()


def test_minimum_over_capacity_is_refused_and_unknown_policy_too():
    with pytest.raises(ValueError, match="minimum 2 per setting needs 4 flags over 2 settings"):
        capacity_by_setting([0.5] * 6, list("aaabbb"), k=3, policy="minimum", minimum=2)
    with pytest.raises(ValueError, match="policy must be one of council, proportional, minimum"):
        capacity_by_setting([0.5], ["a"], k=1, policy="quota")
    with pytest.raises(ValueError, match="policy 'locality' needs locality="):
        capacity_by_setting([0.5], ["a"], k=1, policy="locality")
    with pytest.raises(ValueError, match="locality must give one value per child: 2 risks, 1"):
        capacity_by_setting([0.5, 0.4], ["a", "b"], k=1, policy="locality", locality=["L1"])


def test_locality_quotas_move_flags_to_the_teams_the_council_wide_rule_leaves_out():
    # two teams of equal size; every high risk in L1: the council-wide top 10 are all L1's
    risk = np.r_[np.linspace(0.99, 0.5, 50), np.linspace(0.4, 0.01, 50)]
    team = np.repeat(["L1", "L2"], 50)
    where = np.repeat(["not_on_roll_L1", "not_on_roll_L2"], 50)
    y = np.r_[np.ones(20, bool), np.zeros(30, bool), np.ones(5, bool), np.zeros(45, bool)]
    council = capacity_by_setting(risk, where, k=10)
    local = capacity_by_setting(risk, where, k=10, policy="locality", locality=team)
    assert council.flagged[:50].sum() == 10 and local.flagged[:50].sum() == 5
    np.testing.assert_array_equal(
        np.flatnonzero(local.flagged), [0, 1, 2, 3, 4, 50, 51, 52, 53, 54]
    )
    t = compare_capacity_policies(risk, y, where, k=10, locality=team).set_index("policy")
    assert t.index.tolist() == list(CAPACITY_POLICIES)
    assert t.loc["locality", "settings_flagged"] == 2 and t.loc["council", "settings_flagged"] == 1
    without = compare_capacity_policies(risk, y, where, k=10)
    assert without["policy"].tolist() == ["council", "proportional", "minimum"]
    chosen = compare_capacity_policies(risk, y, where, k=1, policies=("council", "proportional"))
    assert chosen["policy"].tolist() == ["council", "proportional"]


def test_policies_trade_recall_for_spread():
    rng = np.random.default_rng(0)
    n = 3000
    where = rng.choice([f"s{i}" for i in range(30)], n)
    school_effect = {f"s{i}": v for i, v in enumerate(rng.normal(0, 1.5, 30))}
    logit = rng.normal(-2.5, 1, n) + pd.Series(where).map(school_effect).to_numpy()
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    risk = 1 / (1 + np.exp(-(logit + rng.normal(0, 0.5, n))))
    t = compare_capacity_policies(risk, y, where, k=150).set_index("policy")
    assert (t["flagged"] == 150).all()
    # council-wide top k concentrates flags; quotas spread them over more settings
    assert t.loc["proportional", "settings_flagged"] > t.loc["council", "settings_flagged"]
    assert t.loc["minimum", "settings_flagged"] == 30
    assert t.loc["council", "recall"] >= t.loc["proportional", "recall"]
    assert 0 < t.loc["council", "precision"] <= 1


def test_by_setting_rows_follow_the_disclosure_rule():
    rng = np.random.default_rng(1)
    n = 2000
    where = rng.choice([f"s{i}" for i in range(12)], n, p=np.r_[[0.3, 0.2], np.full(10, 0.05)])
    risk = rng.random(n)
    y = rng.random(n) < risk / 3
    t = compare_capacity_policies(risk, y, where, k=100, by_setting=True)
    assert set(t["policy"]) == set(CAPACITY_POLICIES[:3]) and len(t) == 3 * 12
    shown = t["flagged"].dropna().astype(int)
    assert not shown.between(1, 9).any()  # no count of 1 to 9 children
    assert t["suppressed"].any()  # small settings' counts are hidden, and complemented
    for _, g in t.groupby("policy"):
        hidden = g["flagged"].isna()
        assert hidden.sum() != 1  # one hidden count would follow from the total
