import json
import logging

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from send_early.fairness import CAVEAT, GroupAudit, standard_groups


def _small_example():
    # group A: y 1 1 1 0 0 0, flags 1 1 0 1 0 0 ; group B: y 1 1 0 0, flags 1 0 0 0
    y = np.array([1, 1, 1, 0, 0, 0, 1, 1, 0, 0])
    f = np.array([1, 1, 0, 1, 0, 0, 1, 0, 0, 0])
    risk = np.array([0.9, 0.8, 0.3, 0.7, 0.2, 0.1, 0.6, 0.4, 0.2, 0.2])
    g = np.array(["A"] * 6 + ["B"] * 4)
    return y, f, risk, g


def test_group_metrics_hand_computed():
    y, f, risk, g = _small_example()
    a = GroupAudit(
        y_true=y, risk=risk, flagged=f, sensitive_features={"g": g}, min_cell=1, n_bootstrap=0
    )
    bg = a.by_group.set_index("group")
    assert bg.loc["A", "n"] == 6 and bg.loc["B", "n"] == 4
    assert bg.loc["A", "prevalence"] == 0.5 and bg.loc["B", "prevalence"] == 0.5
    assert bg.loc["A", "flag_rate"] == 0.5 and bg.loc["B", "flag_rate"] == 0.25
    assert bg.loc["A", "recall"] == pytest.approx(2 / 3) and bg.loc["B", "recall"] == 0.5
    assert bg.loc["A", "fnr"] == pytest.approx(1 / 3) and bg.loc["B", "fnr"] == 0.5
    assert bg.loc["A", "precision"] == pytest.approx(2 / 3) and bg.loc["B", "precision"] == 1
    assert bg.loc["A", "fpr"] == pytest.approx(1 / 3) and bg.loc["B", "fpr"] == 0
    assert bg.loc["A", "mean_risk"] == pytest.approx(3.0 / 6)
    assert bg.loc["B", "calibration_gap"] == pytest.approx(1.4 / 4 - 0.5)
    assert a.reference == {"g": "A"}
    d = a.disparity.set_index("group")
    assert d.loc["B", "ratio"] == pytest.approx(0.5 / (1 / 3))
    assert d.loc["B", "within_band"] is False or d.loc["B", "within_band"] == False  # noqa: E712
    o = a.overall
    assert o.loc["recall", "value"] == pytest.approx(3 / 5)
    assert a.ratios("to_overall", metrics=["recall"]).set_index("group").loc[
        "B", "ratio"
    ] == pytest.approx(0.5 / 0.6)
    bt = a.ratios("between_groups", metrics=["flag_rate"]).iloc[0]
    assert bt["group"] == "B" and bt["reference"] == "A" and bt["ratio"] == 0.5


def _cohort(n_small: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    n_big = 200
    # the small group: 7 of n_small identified, 5 flagged (distinctive rates)
    y_small = np.r_[np.ones(7), np.zeros(n_small - 7)].astype(int)
    f_small = np.r_[np.ones(5), np.zeros(n_small - 5)].astype(int)
    y_big = (rng.random(n_big) < 0.3).astype(int)
    f_big = (rng.random(n_big) < 0.2).astype(int)
    y = np.r_[y_big, y_small]
    f = np.r_[f_big, f_small]
    risk = np.clip(0.2 + 0.1 * y + rng.normal(0, 0.05, len(y)), 0, 1)
    g = np.r_[["big"] * n_big, ["small"] * n_small]
    return y, f, risk, g


@pytest.mark.parametrize("n_small", [9, 10])
def test_small_cell_suppression_everywhere(n_small, caplog):
    y, f, risk, g = _cohort(n_small)
    with caplog.at_level(logging.DEBUG):
        a = GroupAudit(
            y_true=y, risk=risk, flagged=f, sensitive_features={"grp": g}, random_state=0
        )
    bg = a.by_group.set_index("group")
    frame = a.to_frame()
    d = a.to_dict()
    text = str(a)
    small_rows = frame[(frame["feature"] == "grp") & (frame["group"] == "small")]
    exact = {f"{7 / n_small:.3f}", f"{5 / n_small:.3f}", f"{2 / n_small:.3f}"}
    if n_small == 9:
        # every value about the 9 children is hidden: table, frame, dict, text and log
        assert bg.loc["small", "n"] is pd.NA
        assert bg.loc["small", "suppressed"]
        assert small_rows["suppressed"].all() and small_rows["value"].isna().all()
        assert small_rows["ci_low"].isna().all() and small_rows["group_n"].isna().all()
        # complementary suppression: with two groups, the other follows from the total
        assert bg.loc["big", "n"] is pd.NA and np.isnan(bg.loc["big", "prevalence"])
        dict_small = [r for r in d["by_group"] if r["group"] == "small"][0]
        assert dict_small["n"] is None
        assert all(dict_small[m] is None for m in ("prevalence", "flag_rate", "mean_risk"))
        assert all(r["suppressed"] for r in d["disparity"])
        assert all(r["ratio"] is None for r in d["ratios"])
        line = [ln for ln in text.splitlines() if " small " in ln][0]
        assert "suppressed" in line and " 9 " not in line
        for value in exact:
            assert value not in text
        blob = json.dumps(d)
        assert str(7 / 9)[:8] not in blob and str(5 / 9)[:8] not in blob
    else:
        # a group of 10 is shown with its mean risk; every rate that reveals 7 positives,
        # 5 flagged or 3 negatives (as numerator, denominator or complement) is not
        assert bg.loc["small", "n"] == 10 and np.isfinite(bg.loc["small", "mean_risk"])
        for m in ("prevalence", "flag_rate", "recall", "fnr", "precision", "fpr"):
            assert np.isnan(bg.loc["small", m]) and m in bg.loc["small", "suppressed_metrics"]
        # complementary: the big group's counts would give the small one's from the total
        assert np.isnan(bg.loc["big", "prevalence"]) and np.isnan(bg.loc["big", "flag_rate"])
        # ratios on suppressed values are suppressed too
        r = a.ratios().set_index(["group", "metric"])
        assert r.loc[("small", "fnr"), "suppressed"]
        assert r.loc[("small", "flag_rate"), "suppressed"]
        assert "0.700" not in text and "0.500" not in text
    # no number from fewer than min_cell children anywhere: every shown value has a
    # denominator of at least 10
    shown = frame[~frame["suppressed"]]
    assert (shown["denominator"] >= 10).all()
    assert frame.loc[frame["suppressed"], ["value", "ci_low", "ci_high"]].isna().all().all()
    assert CAVEAT in text and d["caveat"].startswith(CAVEAT)
    assert all("small" not in rec.getMessage() for rec in caplog.records)


def test_secondary_suppression_needs_combined_min_cell():
    # groups of 3 and 4 suppressed: together 7 < 10, so the next smallest (15) goes too
    g = np.r_[["a"] * 3, ["b"] * 4, ["c"] * 15, ["d"] * 100]
    n = len(g)
    rng = np.random.default_rng(1)
    a = GroupAudit(
        y_true=(rng.random(n) < 0.5).astype(int),
        risk=rng.random(n),
        flagged=(rng.random(n) < 0.5).astype(int),
        sensitive_features=pd.DataFrame({"g": g}),
        n_bootstrap=0,
    )
    bg = a.by_group.set_index("group")
    assert bg["n"].isna().tolist() == [True, True, True, False]


def test_ratio_symmetry_and_reference_dict():
    y, f, risk, g = _cohort(40, seed=2)
    kw = dict(y_true=y, risk=risk, flagged=f, n_bootstrap=0, min_cell=1)
    ab = GroupAudit(**kw, sensitive_features={"grp": g}, reference={"grp": "big"})
    ba = GroupAudit(**kw, sensitive_features={"grp": g}, reference={"grp": "small"})
    r1 = ab.ratios(metrics=["fnr", "flag_rate"]).set_index("metric")["ratio"]
    r2 = ba.ratios(metrics=["fnr", "flag_rate"]).set_index("metric")["ratio"]
    np.testing.assert_allclose(r1 * r2, 1.0)
    with pytest.raises(ValueError, match="unknown groups"):
        GroupAudit(**kw, sensitive_features={"grp": g}, reference={"grp": "nope"})
    with pytest.raises(ValueError, match="method must be"):
        ab.ratios("max_over_min")


@given(seed=st.integers(0, 10_000), n=st.integers(60, 400))
@settings(max_examples=15, deadline=None)
def test_bootstrap_interval_contains_point_estimate(seed, n):
    rng = np.random.default_rng(seed)
    g = rng.choice(["x", "y", "z"], n)
    risk = rng.random(n)
    y = (rng.random(n) < risk).astype(int)
    f = risk > np.quantile(risk, 0.7)
    a = GroupAudit(
        y_true=y,
        risk=risk,
        flagged=f,
        sensitive_features={"g": g},
        random_state=seed,
        n_bootstrap=100,
    )
    t = a.to_frame()
    t = t[~t["suppressed"]].dropna(subset=["value", "ci_low"])
    inside = (t["ci_low"] - 1e-12 <= t["value"]) & (t["value"] <= t["ci_high"] + 1e-12)
    assert inside.mean() >= 0.9
    # the same seed gives the same intervals
    b = GroupAudit(
        y_true=y,
        risk=risk,
        flagged=f,
        sensitive_features={"g": g},
        random_state=seed,
        n_bootstrap=100,
    )
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())


def test_recall_vs_need():
    rng = np.random.default_rng(5)
    n = 600
    g = np.where(rng.random(n) < 0.5, "p", "q")
    need = (rng.random(n) < 0.3).astype(int)
    # group q is under-identified: only half of its need is labelled
    identified = need * np.where(g == "q", rng.random(n) < 0.5, 1)
    risk = np.clip(0.1 + 0.5 * identified + rng.normal(0, 0.05, n), 0, 1)
    f = risk > np.quantile(risk, 0.8)
    a = GroupAudit(
        y_true=identified.astype(int),
        risk=risk,
        flagged=f,
        sensitive_features={"g": g},
        y_need=need,
        n_bootstrap=50,
        random_state=0,
    )
    r = a.recall_vs_need.set_index(["feature", "group"])
    expected = f[(need == 1) & (g == "q")].mean()
    assert r.loc[("g", "q"), "recall_vs_need"] == pytest.approx(expected)
    assert r.loc[("g", "q"), "identified_among_need"] < r.loc[("g", "p"), "identified_among_need"]
    assert r.loc[("overall", "all"), "n_need"] == need.sum()
    assert "true need" in a.caveat and "Among children with true need" in str(a)
    assert (
        GroupAudit(
            y_true=identified.astype(int),
            risk=risk,
            flagged=f,
            sensitive_features={"g": g},
            n_bootstrap=0,
        ).recall_vs_need
        is None
    )


def test_inputs_and_missing_groups():
    y, f, risk, g = _small_example()
    with pytest.raises(TypeError, match="keyword|positional"):
        GroupAudit(y, risk, f, {"g": g})
    with pytest.raises(ValueError, match="one row per child"):
        GroupAudit(y_true=y, risk=risk, flagged=f, sensitive_features={"g": g[:5]})
    g2 = pd.Series(g, dtype="object")
    g2[0] = None
    a = GroupAudit(
        y_true=y, risk=risk, flagged=f, sensitive_features={"g": g2}, min_cell=1, n_bootstrap=0
    )
    assert "(missing)" in a.by_group["group"].tolist()
    assert a.reference["g"] == "A"  # "(missing)" is never the reference


def test_standard_groups():
    X = pd.DataFrame(
        {
            "sex": pd.Categorical(["F", "M", "F"]),
            "ethnicity": pd.Categorical(["White", None, "Asian"]),
            "fsm_current": pd.array([True, False, None], dtype="boolean"),
            "eal": [False, True, False],
            "imd_decile": pd.array([2, 3, None], dtype="Int64"),
            "summer_born": [True, False, True],
            "school": ["s1", "s2", None],
        },
        index=["c1", "c2", "c3"],
    )
    out = standard_groups(X, extra=["school"])
    assert list(out.columns) == [
        "sex",
        "ethnicity",
        "fsm",
        "eal",
        "imd_quintile",
        "summer_born",
        "sex_ethnicity",
        "school",
    ]
    assert out["sex_ethnicity"].tolist() == ["F / White", "M / Unclassified", "F / Asian"]
    assert out.loc["c2", "ethnicity"] == "Unclassified"
    # a missing value is named for what it is: no record, never "not FSM"
    assert out["fsm"].tolist() == ["FSM", "not FSM", "FSM not recorded"]
    assert out["imd_quintile"].tolist() == [
        "Q1 (most deprived)",
        "Q2",
        "home area deprivation not recorded",
    ]
    assert out["summer_born"].tolist() == ["summer-born", "not summer-born", "summer-born"]
    assert out.loc["c3", "school"] == "not recorded"
    assert list(standard_groups(X, columns=["eal"]).columns) == ["eal"]
    with pytest.raises(ValueError, match="source missing"):
        standard_groups(X[["sex"]], columns=["fsm"])


def test_standard_groups_care_health_review_and_new_arrivals():
    X = pd.DataFrame(
        {
            "cla_ever": [1.0, 0.0, 0.0, 1.0],
            "cin_ever": [1.0, 1.0, 0.0, 0.0],
            "cpp_ever": [0.0, 0.0, 1.0, 0.0],
            "asq_review_missing": [0.0, 1.0, 0.0, np.nan],
            "months_known": [3.0, 11.0, 12.0, np.nan],
            "age_months": [60.0, 30.0, 60.0, 60.0],
        },
        index=["c1", "c2", "c3", "c4"],
    )
    out = standard_groups(X)
    assert list(out.columns) == ["social_care", "health_review", "new_arrival"]
    # looked after wins over child in need; a child protection plan counts as in need
    assert out["social_care"].tolist() == [
        "looked after",
        "child in need",
        "child in need",
        "looked after",
    ]
    assert out["health_review"].tolist() == [
        "health review",
        "no health review",
        "health review",
        "health reviews not recorded",
    ]
    # c2 is 30 months old: a first record 11 months ago is the 2-year review, not arrival
    assert out["new_arrival"].tolist() == [
        "new arrival",
        "not a new arrival",
        "not a new arrival",
        "no records before the as-of date",  # c4: nothing dated in any table yet
    ]
    with pytest.raises(ValueError, match="tables= and as_of="):
        standard_groups(X[["cla_ever"]], columns=["new_arrival"])


def test_months_known_from_the_first_record_in_any_table():
    from send_early.fairness import months_known

    tables = {
        "children": pd.DataFrame({"child_id": ["a", "b", "c"]}),
        "census": pd.DataFrame(
            {
                "child_id": ["a", "a", "b"],
                "census_date": pd.to_datetime(["2020-01-16", "2024-01-18", "2024-05-16"]),
            }
        ),
        "referrals": pd.DataFrame(
            {
                "child_id": ["b", "c"],
                "referral_date": pd.to_datetime(["2023-09-01", "2025-06-01"]),
            }
        ),
    }
    m = months_known(tables, "2024-09-01", ["a", "b", "c"])
    assert m.loc["a"] == 55 and m.loc["b"] == 12  # b: the referral, a year before
    assert pd.isna(m.loc["c"])  # only a record after the as-of date


def test_school_spread_publishes_only_summaries_over_ten_schools():
    from send_early.fairness import school_spread

    rng = np.random.default_rng(0)
    school = np.repeat([f"s{i}" for i in range(30)], 40)
    y = rng.random(len(school)) < 0.3
    same = rng.random(len(school)) < 0.1
    out = school_spread(school, y, same)
    assert out["flag_rate"]["n_schools"] == 30 and not out["flag_rate"]["suppressed"]
    assert "s1" not in str(out)  # no school's own figure
    # schools that differ: half flag 2%, half 30%
    differ = rng.random(len(school)) < np.where(np.arange(len(school)) < 600, 0.02, 0.3)
    hi = school_spread(school, y, differ)["flag_rate"]
    assert hi["p_value"] < 1e-6 and hi["sd"] > 2 * hi["chance_sd"]
    assert out["flag_rate"]["p_value"] > 0.001
    few = school_spread(school[:360], y[:360], same[:360])  # 9 schools
    assert few["flag_rate"] == {"n_schools": 9, "n_children": 360, "suppressed": True}
    with pytest.raises(ValueError, match="at least 10"):
        school_spread(school, y, same, min_children=5)


def test_null_groups_rarely_fail_the_gate():
    """Groups drawn at random (no difference by construction): at most 1 of 40 draws
    fails the card's recall or flag-rate gate (measured: 1 of 300 random features on
    five synthetic cohorts, docs/fairness.md)."""
    from send_early.governance import run_checks

    failures = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        n = 6000
        risk = rng.beta(1, 12, n)
        y = (rng.random(n) < risk).astype(int)
        flagged = risk >= np.quantile(risk, 0.95)
        g = np.where(rng.random(n) < (0.5, 0.2, 0.05)[seed % 3], "a", "b")
        d = GroupAudit(
            y_true=y, risk=risk, flagged=flagged, sensitive_features={"g": g}, random_state=seed
        ).to_dict()
        checks = {c["name"]: c for c in run_checks({"fairness": d})}
        gates = [checks["recall_ratio_within_band"], checks["flag_rate_ratio_within_band"]]
        failures += any(not c["passed"] and "could be shown" not in c["detail"] for c in gates)
    assert failures <= 1


def test_text_says_how_many_groups_each_gate_tested_and_the_correction():
    rng = np.random.default_rng(3)
    n = 6000
    risk = rng.beta(1, 12, n)
    y = (rng.random(n) < risk).astype(int)
    flagged = risk >= np.quantile(risk, 0.95)
    g = rng.choice(["a", "b", "c", "d"], n)
    text = str(
        GroupAudit(
            y_true=y, risk=risk, flagged=flagged, sensitive_features={"g": g}, random_state=0
        )
    )
    # three groups compared with the reference, for each gating measure; four calibration gaps
    assert "recall ratio: Holm-Bonferroni over the 3 comparison(s) tested" in text
    assert "flag_rate ratio: Holm-Bonferroni over the 3 comparison(s) tested" in text
    assert "calibration gap: Holm-Bonferroni over the 4 comparison(s) tested" in text
    assert "(family-wise error 5%)" in text


def test_a_not_recorded_group_is_never_the_reference():
    from send_early.fairness import standard_groups

    rng = np.random.default_rng(0)
    n = 3000
    fsm = np.where(rng.random(n) < 0.6, np.nan, (rng.random(n) < 0.3).astype(float))
    groups = standard_groups(pd.DataFrame({"fsm_current": fsm, "eal": np.full(n, np.nan)}))
    assert (groups["fsm"] == "FSM not recorded").mean() > 0.5  # the largest group
    risk = rng.random(n)
    a = GroupAudit(
        y_true=(rng.random(n) < risk).astype(int),
        risk=risk,
        flagged=risk > 0.8,
        sensitive_features=groups,
        n_bootstrap=0,
    )
    assert a.reference["fsm"] == "not FSM"
    assert (a.by_group["group"] != "(missing)").all()


def test_school_comparison_finds_a_planted_school_and_hides_small_ones():
    from send_early.fairness import school_comparison

    found = 0
    for seed in range(5):
        rng = np.random.default_rng(seed)
        school = np.repeat([f"s{i:02d}" for i in range(30)], 60)
        school = np.r_[school, ["tiny"] * 8]  # fewer than 10 children: never shown
        rate_ = np.where(school == "s07", 0.45, 0.15)
        flagged = rng.random(len(school)) < rate_
        y = rng.random(len(school)) < 0.2
        out = school_comparison(school, y, flagged)
        assert "tiny" not in set(out["school_id"])
        assert out.attrs["tested"]["flag_rate"] == 30
        hit = out[out["differs"].fillna(False) & (out["metric"] == "flag_rate")]
        found += hit["school_id"].tolist() == ["s07"]
        # a shown rate never rests on 1 to 9 children
        shown = out[~out["suppressed"]]
        k = np.round(shown["value"] * shown["n"]).to_numpy()
        assert ((k == 0) | (k >= 10)).all() and (
            (shown["n"] - k == 0) | (shown["n"] - k >= 10)
        ).all()
    assert found >= 4  # the planted school is found in at least 4 of 5 seeds


def test_school_comparison_without_a_plant_rarely_fails():
    from send_early.fairness import school_comparison

    failed = 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        school = np.repeat([f"s{i:02d}" for i in range(30)], 60)
        out = school_comparison(school, rng.random(1800) < 0.2, rng.random(1800) < 0.15)
        failed += bool(out["differs"].fillna(False).any())
    assert failed <= 3  # family-wise error 5% per measure: at most 3 of 20 seeds
