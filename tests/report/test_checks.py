"""Card checks: the value shown, the comparison and the detail text are one number."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from send_early.governance import run_checks
from send_early.report import DEFAULT_THRESHOLDS

T = DEFAULT_THRESHOLDS


def _card(
    ece=0.01,
    diff=0.05,
    ratios=((1.0, 0.9, 1.1),),
    gaps=((0.0, -0.01, 0.01),),
    aucs=(0.75, 0.76),
):
    return {
        "metrics": {"headline": {"ece": ece}},
        "baselines": {
            "beats_best_rule": diff > 0,
            "recall_difference": diff,
            "best_rule": "gld",
            "summary": "The model against the best rule.",
        },
        "fairness": {
            "disparity": [
                {
                    "feature": "sex",
                    "group": f"g{i}",
                    "metric": m,
                    "ratio": r,
                    "ratio_low": lo,
                    "ratio_high": hi,
                    "value": 0.2 * r,
                    "reference_value": 0.2,
                }
                for m in ("recall", "flag_rate", "fnr")
                for i, (r, lo, hi) in enumerate(ratios)
            ],
            "by_group": [
                {
                    "feature": "ethnicity",
                    "group": f"e{i}",
                    "n": 500,
                    "calibration_gap": g,
                    "calibration_gap_low": lo,
                    "calibration_gap_high": hi,
                }
                for i, (g, lo, hi) in enumerate(gaps)
            ],
        },
        "backtest": {"by_year": [{"roc_auc": a} for a in aucs]},
        "features": {"used": ["age_months"], "protected": ["sex"], "use_protected": False},
    }


def _by_name(card) -> dict:
    return {c["name"]: c for c in run_checks(card)}


@pytest.mark.parametrize("ece, passed", [(0.0199, True), (0.01996, False), (0.02, False)])
def test_strict_comparison_is_made_on_the_shown_value(ece, passed):
    # 0.01996 is shown as 0.0200: "below 0.02" must then fail, not pass at "0.020"
    c = _by_name(_card(ece=ece))["ece_below_threshold"]
    assert c["passed"] is passed
    assert c["rule"] == "below 0.02"
    assert c["value"] == float(c["value_text"]) and c["value_text"] in c["detail"]


@pytest.mark.parametrize(
    "aucs, passed", [((0.70, 0.75), True), ((0.70, 0.75004), True), ((0.70, 0.7501), False)]
)
def test_backtest_spread_is_compared_as_shown(aucs, passed):
    c = _by_name(_card(aucs=aucs))["backtest_spread_small"]
    assert c["passed"] is passed and c["rule"] == "at most 0.05"
    assert c["value"] == float(c["value_text"]) and c["value_text"] in c["detail"]


def test_calibration_value_is_the_gap_the_detail_names():
    # a large gap within chance (-0.0585, interval covers 0) and a smaller one beyond chance:
    # the value is the gap that decides, and the detail names that same number
    card = _card(gaps=((-0.0585, -0.12, 0.003), (-0.031, -0.05, -0.012)))
    c = _by_name(card)["calibration_in_the_large_by_group"]
    assert not c["passed"] and c["value"] == -0.031 and c["value_text"] == "-0.0310"
    assert "-0.0310" in c["detail"] and "-0.0585" not in c["detail"]
    ok = _by_name(_card(gaps=((-0.0585, -0.12, 0.003),)))["calibration_in_the_large_by_group"]
    assert ok["passed"] and ok["value"] == 0.0


GATES = ("recall_ratio_within_band", "flag_rate_ratio_within_band")


@pytest.mark.parametrize("name", GATES)
@pytest.mark.parametrize(
    "ratio, low, high, passed",
    [
        (0.39, 0.25, 0.6, False),  # the least deprived quintile's recall in issue 19
        (0.65, 0.45, 0.95, True),  # outside the band, but the interval reaches into it
        (1.6, 1.3, 2.0, False),
        (1.0, 0.9, 1.1, True),
    ],
)
def test_ratio_fails_only_when_its_whole_interval_is_outside_the_band(
    name, ratio, low, high, passed
):
    c = _by_name(_card(ratios=((1.0, 0.9, 1.1), (ratio, low, high))))[name]
    assert c["passed"] is passed
    assert c["threshold"] == [0.8, 1.25] and "outside 0.8 to 1.25 beyond chance" in c["rule"]
    assert "Holm-Bonferroni over the 2 comparison(s) tested" in c["detail"]
    if not passed:
        assert c["value"] == ratio and f"sex=g1 ({ratio:.3f}" in c["detail"]


@pytest.mark.parametrize("name", GATES)
def test_many_groups_tested_at_once_are_corrected_for_multiplicity(name):
    # 1.6 (1.27-2.02): the 95% interval just clears the band (p about 0.04), so one group
    # fails alone; among 12 groups tested at once, Holm needs p below 0.05 / 12
    near = (1.6, 1.27, 2.02)
    alone = _by_name(_card(ratios=(near,)))[name]
    assert not alone["passed"] and "over the 1 comparison(s) tested" in alone["detail"]
    many = _by_name(_card(ratios=(near,) + ((1.0, 0.9, 1.1),) * 11))[name]
    assert many["passed"] and "over the 12 comparison(s) tested" in many["detail"]
    assert "1 comparison(s) have a 95% interval wholly outside the band" in many["detail"]
    # far outside (p < 0.001): still fails among the 12, with its adjusted p-value shown
    far = _by_name(_card(ratios=((2.5, 1.8, 3.4),) + ((1.0, 0.9, 1.1),) * 11))[name]
    assert not far["passed"] and "adjusted p <0.001" in far["detail"]


def test_fnr_is_reported_but_no_longer_gates():
    card = _card()
    card["fairness"]["disparity"].append(
        {"feature": "sex", "group": "g9", "metric": "fnr", "ratio": 3.0, "value": 0.9}
    )
    checks = _by_name(card)
    assert "fnr_disparity_within_band" not in checks
    assert all(checks[g]["passed"] for g in GATES)


def test_a_zero_on_few_expected_children_is_chance_not_a_failure():
    # a group of 40 with no child flagged, against a reference flagging 5%: 2 expected
    card = _card()
    row = {"feature": "eth", "group": "small", "metric": "flag_rate", "reference": "big"}
    card["fairness"]["disparity"].append(
        row
        | {"ratio": 0.0, "ratio_low": 0.0, "ratio_high": 0.0, "value": 0.0, "reference_value": 0.05}
    )
    card["fairness"]["by_group"].append({"feature": "eth", "group": "small", "n": 40})
    c = _by_name(card)["flag_rate_ratio_within_band"]
    assert c["passed"] and "fewer than 5 expected" in c["detail"]
    card["fairness"]["by_group"][-1]["n"] = 400  # 20 expected, none flagged: a failure
    c = _by_name(card)["flag_rate_ratio_within_band"]
    assert not c["passed"] and c["value"] == 0.0 and "eth=small" in c["detail"]


def test_unbounded_ratio_fails_and_says_so():
    card = _card()
    card["fairness"]["disparity"].append(
        {"feature": "sex", "group": "F", "metric": "recall", "ratio": None, "value": 0.3}
    )
    card["fairness"]["by_group"].append(
        {"feature": "sex", "group": "F", "n": 400, "prevalence": 0.2}
    )
    c = _by_name(card)["recall_ratio_within_band"]
    assert not c["passed"] and c["value"] is None and c["value_text"] == "unbounded"
    assert "reference has none" in c["detail"]


@pytest.mark.parametrize("name", GATES)
def test_gates_fail_closed_without_a_shown_ratio(name):
    card = _card()
    for r in card["fairness"]["disparity"]:
        r["suppressed"] = True
    c = _by_name(card)[name]
    assert not c["passed"] and "could be shown" in c["detail"] and "hidden" in c["detail"]
    assert not _by_name(_card() | {"fairness": None})[name]["passed"]


@settings(max_examples=200, deadline=None)
@given(
    ece=st.floats(0, 0.1),
    diff=st.floats(-0.2, 0.2),
    ratios=st.lists(
        st.tuples(st.floats(0.3, 3.0), st.floats(0.0, 0.5)).map(
            lambda t: (t[0], t[0] * (1 - t[1]), t[0] * (1 + t[1]))
        ),
        min_size=1,
        max_size=5,
    ),
    gaps=st.lists(
        st.tuples(st.floats(-0.1, 0.1), st.floats(0.0, 0.05)).map(
            lambda t: (t[0], t[0] - t[1], t[0] + t[1])
        ),
        min_size=1,
        max_size=5,
    ),
    aucs=st.lists(st.floats(0.5, 0.9), min_size=2, max_size=5),
)
def test_every_check_passes_exactly_when_its_shown_value_meets_its_rule(
    ece, diff, ratios, gaps, aucs
):
    checks = _by_name(_card(ece=ece, diff=diff, ratios=ratios, gaps=gaps, aucs=aucs))
    for c in checks.values():
        assert c["value_text"] and c["rule"] and c["detail"]
        if isinstance(c["value"], float):
            # the value is stored at the precision shown, and the detail quotes it
            assert c["value"] == float(c["value_text"])
            assert c["value_text"] in c["detail"]
    v = {name: c["value"] for name, c in checks.items()}
    assert checks["ece_below_threshold"]["passed"] == (v["ece_below_threshold"] < T["ece_max"])
    assert checks["beats_best_simple_rule"]["passed"] == (v["beats_best_simple_rule"] > 0)
    lo, hi = T["ratio_band_low"], T["ratio_band_high"]
    outside = _holm_rejected(ratios, lo, hi)
    for name in GATES:
        assert checks[name]["passed"] == (not outside)
        # the correction only ever turns a failure into a pass, never the other way
        assert set(outside) <= {r for r, low, high in ratios if high < lo or low > hi}
        # the ratio shown is the furthest from 1 among the failing (or all) groups
        pool = outside or [r for r, _, _ in ratios]
        far = max(abs(math.log(round(r, 3))) for r in pool)
        assert math.isclose(abs(math.log(v[name])), far)
    assert checks["calibration_in_the_large_by_group"]["passed"] == (
        abs(v["calibration_in_the_large_by_group"]) <= T["calibration_gap_max"]
    )
    assert checks["backtest_spread_small"]["passed"] == (
        v["backtest_spread_small"] <= T["backtest_auc_range_max"]
    )
    assert not math.isnan(v["backtest_spread_small"])


def _holm_rejected(ratios, lo, hi, alpha=0.05):
    """Reference: p from the half interval facing the band (log scale), then Holm."""
    ps = []
    for r, low, high in ratios:
        shown = round(r, 3)
        if lo <= shown <= hi:
            ps.append((1.0, r))
            continue
        edge, side = (hi, low) if shown > hi else (lo, high)
        half = abs(math.log(shown) - math.log(side))
        dist = abs(math.log(shown) - math.log(edge))
        z = math.inf if half == 0 else dist / (half / 1.959963984540054)
        ps.append((math.erfc(z / math.sqrt(2)), r))
    ps.sort()
    out = []
    for j, (p, r) in enumerate(ps):
        if p >= alpha / (len(ps) - j):
            break
        out.append(r)
    return out


def test_holm_matches_the_textbook_example():
    from send_early.governance import holm

    # four p-values at alpha 0.05: 0.01 < 0.0125 and 0.015 < 0.0167 rejected, 0.03 > 0.025 stops
    reject, adjusted = holm([0.03, 0.01, 0.04, 0.015], 0.05)
    assert reject == [False, True, False, True]
    assert adjusted == pytest.approx([0.06, 0.04, 0.06, 0.045])


@settings(max_examples=200, deadline=None)
@given(
    ratio=st.floats(0.3, 3.0),
    width=st.tuples(st.floats(0.0, 0.6), st.floats(0.0, 0.6)),
)
def test_for_one_group_the_corrected_gate_is_the_whole_interval_rule(ratio, width):
    low, high = ratio * (1 - width[0]), ratio * (1 + width[1])
    shown = round(ratio, 3)
    c = _by_name(_card(ratios=((ratio, low, high),)))["recall_ratio_within_band"]
    outside = (shown < 0.8 and high < 0.8) or (shown > 1.25 and low > 1.25)
    assert c["passed"] == (not outside)


def test_example_card_shows_the_recall_difference_its_check_compares(tmp_path):
    # counts come back from JSON as floats: a shown count must still count as shown
    from send_early.report import build_model_card
    from send_early.report._example import example_inputs

    kw = example_inputs(n=4000, seed=0)
    kw.pop("ids")
    card = build_model_card(out_dir=tmp_path, **kw)
    base = card.to_dict()["baselines"]
    check = next(c for c in card.checks if c["name"] == "beats_best_simple_rule")
    assert base["beats_best_rule"] and base["recall_difference"] is not None
    assert check["passed"] and check["value"] == round(base["recall_difference"], 6)


def _years(*gaps):
    return {
        "by_year": [
            {
                "test_year": 2020 + i,
                "roc_auc": 0.75,
                "calibration_in_the_large": g,
                "calibration_in_the_large_low": g - 0.004,
                "calibration_in_the_large_high": g + 0.004,
            }
            for i, g in enumerate(gaps)
        ]
    }


@pytest.mark.parametrize(
    "gaps, passed, value",
    [
        ((0.004, -0.011, 0.019), True, 0.019),
        ((0.004, 0.012, 0.0312), False, 0.0312),  # identification grew: under-stated
        ((-0.0251, 0.0), False, -0.0251),
        ((0.02, 0.01), True, 0.02),  # at most the tolerance
    ],
)
def test_calibration_by_year_fails_when_a_year_drifts_beyond_tolerance(gaps, passed, value):
    card = _card() | {"backtest": _years(*gaps)}
    c = _by_name(card)["calibration_by_year_within_tolerance"]
    assert c["passed"] is passed and c["value"] == value and c["threshold"] == 0.02
    assert c["value_text"] in c["detail"]
    if not passed:
        assert "Recalibrate: refit the calibrator on the latest as-of year" in c["detail"]
        assert ("under-states" if value > 0 else "over-states") in c["detail"]
    looser = {c["name"]: c for c in run_checks(card, {"calibration_year_gap_max": 0.05})}
    assert looser["calibration_by_year_within_tolerance"]["passed"]


def test_calibration_by_year_fails_closed_without_per_year_calibration():
    for backtest in (None, {"by_year": [{"test_year": 2020, "roc_auc": 0.7}]}):
        c = _by_name(_card() | {"backtest": backtest})["calibration_by_year_within_tolerance"]
        assert not c["passed"] and c["value"] is None and "run temporal_backtest" in c["detail"]


def test_the_policy_has_one_owner_and_the_old_names_still_work():
    import send_early.fairness as fairness
    import send_early.governance as gov
    import send_early.report as report

    assert report.run_checks is gov.run_checks
    assert report.DEFAULT_THRESHOLDS is gov.DEFAULT_THRESHOLDS
    assert report.MANUAL_CHECKLIST is gov.MANUAL_CHECKLIST
    assert fairness.BAND is gov.BAND and fairness.GATING is gov.GATING
    t = gov.DEFAULT_THRESHOLDS
    assert (t["ratio_band_low"], t["ratio_band_high"]) == gov.BAND
    assert (t["fnr_ratio_low"], t["fnr_ratio_high"]) == gov.BAND
    assert t["ratio_min_expected"] == gov.MIN_EXPECTED
