"""One capacity rule: every path that flags children flags the same ones (issue 14).

The paths: :func:`send_early.evaluation.flag_capacity` (the rule),
:func:`send_early.model.rank_and_flag` and :meth:`RiskModel.apply_capacity` (what
``score_features``, batch scoring and the evaluation workflow call, with the spec's
policy or an override), :meth:`RiskModel.score_features` itself, ``flag_top_k``,
``capacity_metrics``, ``capacity_curve``, ``compare_to_baselines``, ``Evaluation``
and the counts of a ``GroupAudit`` given the model's flags (as the workflow gives it).

To see that the evaluation flags the very same children (not only as many), the
evaluation paths are run with ``y_true`` = the rule's flags: then ``true_positives ==
k == flagged`` holds only if the evaluation's top ``k`` are exactly those children.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from send_early import RiskModel
from send_early.evaluation import (
    Evaluation,
    capacity_curve,
    capacity_metrics,
    compare_to_baselines,
    flag_capacity,
    flag_top_k,
    parse_capacity,
    resolve_k,
)
from send_early.fairness import GroupAudit
from send_early.model import rank_and_flag

AS_OF = "2023-09-01"
_PREFIXES = np.array(["c", "C", "b-", "z", "", "é"])
_SPECIAL_SHARES = [0.0, 0.01, 0.05, 0.1, 0.29, 1 / 3, 0.5, 0.999, 1.0]


def _ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unique string ids whose text order is not their numeric or input order."""
    nums = rng.choice(10 * n + 10, size=n, replace=False)
    pre = rng.choice(_PREFIXES, size=n)
    return np.array([f"{p}{x}" for p, x in zip(pre, nums, strict=True)], dtype=str)


def _risk(rng: np.random.Generator, n: int) -> np.ndarray:
    """Probabilities with many ties (a handful of distinct values)."""
    values = rng.random(rng.integers(1, 8))
    return rng.choice(values, size=n)


@st.composite
def _capacities(draw, n: int) -> dict:
    if draw(st.booleans()):
        return {"k": draw(st.integers(0, n + 5))}
    return {"share": draw(st.one_of(st.sampled_from(_SPECIAL_SHARES), st.floats(0, 1)))}


def _oracle(risk, ids, k: int) -> np.ndarray:
    """The rule written out by hand: top k by risk desc, then child id, then position."""
    order = sorted(range(len(risk)), key=lambda i: (-risk[i], ids[i], i))
    out = np.zeros(len(risk), dtype=bool)
    out[order[:k]] = True
    return out


def _check_capacity_kept(flagged: np.ndarray, cap: dict, n: int) -> None:
    got = int(flagged.sum())
    if "k" in cap:
        assert got == min(cap["k"], n)
    else:  # never more than the share allows, and no whole child left unused
        assert got <= cap["share"] * n + 1e-9
        assert got == n or got + 1 > cap["share"] * n - 1e-9


_FEATURES: dict = {}  # the fitted model's features, built once
_MODEL = RiskModel.from_spec("default")  # unfitted: apply_capacity needs only the spec


def _model_with(cap: dict) -> RiskModel:
    policy, value = ("count", cap["k"]) if "k" in cap else ("share", cap["share"])
    spec = dataclasses.replace(_MODEL.spec, capacity_policy=policy, capacity_value=value)
    m = RiskModel.__new__(RiskModel)
    m.spec = spec
    return m


@settings(max_examples=150, deadline=None)
@given(
    n=st.one_of(st.integers(0, 40), st.integers(0, 25_000)),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
@example(n=19_990, seed=0, data=None)
@example(n=30, seed=1, data=None)
def test_every_path_flags_the_same_children(n, seed, data):
    rng = np.random.default_rng(seed)
    cap = data.draw(_capacities(n)) if data is not None else {"share": 0.05}
    risk, ids = _risk(rng, n), _ids(rng, n)
    k = resolve_k(n, **cap)

    rule = flag_capacity(risk, tiebreak=ids, **cap)
    assert rule.k == k == int(rule.flagged.sum())
    _check_capacity_kept(rule.flagged, cap, n)
    expected = rule.flagged
    if n <= 2000:
        np.testing.assert_array_equal(expected, _oracle(risk, ids, k))
    else:  # the oracle in numpy for speed: ids as text, then position
        order = np.lexsort((np.arange(n), ids, -risk))
        np.testing.assert_array_equal(np.sort(order[:k]), np.flatnonzero(expected))

    # the model's paths: the spec's policy, and an override as a person would give it
    policy, value = ("count", cap["k"]) if "k" in cap else ("share", cap["share"])
    np.testing.assert_array_equal(rank_and_flag(risk, ids, policy=policy, value=value)[1], expected)
    np.testing.assert_array_equal(_model_with(cap).apply_capacity(risk, ids).flagged, expected)
    given_cap = cap.get("k", cap.get("share"))
    if given_cap:  # 0 is refused as an override (a person asking to flag nobody)
        override = _MODEL.apply_capacity(risk, ids, capacity=given_cap)
        np.testing.assert_array_equal(override.flagged, expected)

    # the evaluation's paths
    np.testing.assert_array_equal(flag_top_k(risk, tiebreak=ids, **cap), expected)
    y = expected.astype(int)
    m = capacity_metrics(y, risk, tiebreak=ids, **cap)
    assert m["k"] == k and m["true_positives"] == k
    curve = capacity_curve(
        y, risk, tiebreak=ids, **({"ks": [cap["k"]]} if "k" in cap else {"shares": [cap["share"]]})
    )
    assert curve["k"].tolist() == [k] and curve["true_positives"].tolist() == [k]
    if n == 0:
        return
    base = compare_to_baselines(y, risk, pd.DataFrame(index=range(n)), tiebreak=ids, **cap)
    assert base.table.loc[0, "k"] == k and base.table.loc[0, "true_positives"] == k
    ev = Evaluation(y_true=y, risk=risk, tiebreak=ids, capacity_shares=[], **cap)
    assert ev.capacity["k"] == k and ev.capacity["true_positives"] == k

    # the group audit counts the flags the workflow hands it: the model's
    audit = GroupAudit(
        y_true=y,
        risk=risk,
        flagged=_model_with(cap).apply_capacity(risk, ids).flagged,
        sensitive_features={"g": np.where(rng.random(n) < 0.5, "a", "b")},
        n_bootstrap=0,
        min_cell=1,
    )
    assert math.isclose(audit.overall.loc["flag_rate", "value"] * n, k)


def test_the_issue_example():
    # issue 14: 19,990 children at 5%; the audit flagged 1,000 and the evaluation 999
    risk = np.linspace(0, 1, 19_990)
    ids = np.array([f"c{i:05d}" for i in range(19_990)])
    assert rank_and_flag(risk, ids, policy="share", value=0.05)[1].sum() == 999
    assert flag_top_k(risk, share=0.05).sum() == 999
    assert rank_and_flag(risk[:30], ids[:30], policy="share", value=0.05)[1].sum() == 1
    assert rank_and_flag(risk[:19], ids[:19], policy="share", value=0.05)[1].sum() == 0


def test_threshold_is_the_top_k_above_it():
    risk = np.array([0.3, 0.7, 0.3, 0.1, 0.7])
    ids = np.array(["e", "d", "c", "b", "a"])
    f = flag_capacity(risk, threshold=0.3, tiebreak=ids)
    assert f.flagged.tolist() == [True, True, True, False, True] and f.k == 4
    np.testing.assert_array_equal(flag_capacity(risk, k=4, tiebreak=ids).flagged, f.flagged)
    _, flagged = rank_and_flag(risk, ids, policy="threshold", value=0.1, threshold=0.3)
    np.testing.assert_array_equal(flagged, f.flagged)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({}, ValueError, "exactly one of k .* or share"),
        ({"k": 2, "share": 0.1}, ValueError, "exactly one of k"),
        ({"k": 2, "threshold": 0.5}, ValueError, "exactly one capacity: .*found k=2"),
        ({"k": -1}, ValueError, "k must be 0 or more children; found -1"),
        ({"k": 2.5}, TypeError, "k must be a whole number of children; found 2.5"),
        ({"share": 1.2}, ValueError, "share must be between 0 and 1 .*found 1.2"),
        ({"share": "5%"}, TypeError, "share must be a number between 0 and 1; found '5%'"),
        ({"threshold": float("nan")}, ValueError, "threshold must be a finite risk; found nan"),
    ],
)
def test_bad_capacities_say_what_must_hold(kwargs, error, match):
    with pytest.raises(error, match=match):
        flag_capacity([0.1, 0.2, 0.3], **kwargs)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (200, {"k": 200}),
        (np.int64(3), {"k": 3}),
        ("200", {"k": 200}),
        (0.05, {"share": 0.05}),
        ("0.05", {"share": 0.05}),
        ("5%", {"share": 0.05}),
        (" 12.5 % ", {"share": 0.125}),
        ("100%", {"share": 1.0}),
        (1.0, {"share": 1.0}),
    ],
)
def test_parse_capacity_reads_counts_and_shares(value, expected):
    assert parse_capacity(value) == expected


@pytest.mark.parametrize(
    ("value", "found"),
    [
        (0, "0"),
        (-3, "-3"),
        ("0", "'0'"),
        ("-5%", "'-5%'"),
        ("150%", "'150%'"),
        (0.0, "0.0"),
        (float("nan"), "nan"),
        ("5 children", "'5 children'"),
        (200.0, r"200.0\. For 200 children write a whole number \(200\)"),
    ],
)
def test_parse_capacity_refuses_with_what_must_hold(value, found):
    with pytest.raises(
        ValueError, match=f"capacity must be a number of children of 1 or more .*found {found}"
    ):
        parse_capacity(value)
    with pytest.raises(TypeError, match="found True"):
        parse_capacity(True)


@settings(max_examples=12, deadline=None)
@given(n=st.integers(1, 300), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_score_features_flags_the_rule_children(fitted_model, small_cohort, n, seed, data):
    # a fitted model on feature rows drawn with repeats: equal features, equal risk (ties);
    # n >= 1 as the estimators refuse an empty frame
    feats = _FEATURES.setdefault("f", fitted_model.build_features(small_cohort, AS_OF))
    rng = np.random.default_rng(seed)
    rows = feats.iloc[rng.integers(0, len(feats), size=n)]
    rows = rows.set_axis(pd.Index(_ids(rng, n), name="child_id"))
    cap = data.draw(_capacities(n))
    given_cap = cap.get("k", cap.get("share"))
    if not given_cap:  # an override of 0 is refused; the spec's 5% share then applies
        cap, given_cap = {"share": 0.05}, None
    out = fitted_model.score_features(rows, capacity=given_cap)
    rule = flag_capacity(out["risk"].to_numpy(), tiebreak=out["child_id"].to_numpy(), **cap)
    np.testing.assert_array_equal(out["flagged"].to_numpy(), rule.flagged)
    np.testing.assert_array_equal(out["rank"].to_numpy(), rule.rank)
    _check_capacity_kept(out["flagged"].to_numpy(), cap, n)


def test_batch_score_flags_the_rule_children(fitted_model, small_cohort):
    from send_early.batch import score

    res = score(fitted_model, small_cohort, AS_OF, capacity="5%")
    s = res.scores
    rule = flag_capacity(s["risk"].to_numpy(), share=0.05, tiebreak=s["child_id"].to_numpy())
    np.testing.assert_array_equal(s["flagged"].to_numpy(), rule.flagged)
    assert int(s["flagged"].sum()) == math.floor(0.05 * len(s) + 1e-9)
    with pytest.raises(ValueError, match="capacity must be a number of children"):
        score(fitted_model, small_cohort, AS_OF, capacity=0)
