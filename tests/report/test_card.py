"""Model card: files, checks, privacy (small cells, ids), summary and rendering."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pandas as pd
import pytest

from send_early.privacy import SMALL
from send_early.report import (
    DEFAULT_THRESHOLDS,
    ModelCard,
    build_model_card,
    card_summary,
    summarise_data,
)
from send_early.report._example import example_inputs

DISTINCT = 0.123457  # a metric value that must never be shown (group of 9 children)
DISTINCT_RATIO = 1.618034


def _texts(card: ModelCard) -> tuple[str, str]:
    return card.html_path.read_text(encoding="utf-8"), card.json_path.read_text(encoding="utf-8")


def fake_model(features=("age_months", "eyfsp_gld", "attendance_rate_3t"), **spec_kw):
    spec = SimpleNamespace(
        name="fake",
        description="A fake model.",
        outcome="any_support",
        horizon_months=24,
        population_age_months=(36, 72),
        estimator="additive",
        calibration="sigmoid",
        capacity_policy="share",
        capacity_value=0.05,
        use_protected=False,
        exclude=(),
        sha256="ab" * 32,
    )
    spec.__dict__.update(spec_kw)
    pipeline = SimpleNamespace(
        name="default",
        labels={"age_months": "Age (months)"},
        protected=["sex", "ethnicity"],
        feature_names=[*features, "sex", "ethnicity"],
    )
    return SimpleNamespace(
        spec=spec,
        pipeline=pipeline,
        feature_names_=list(features),
        calibration_={"method": "sigmoid"},
        metadata_={
            "n_train": 5000,
            "n_train_positive": 600,
            "n_calibration": 8,
            "extract_date": "2025-08-31",
            "train_as_of_dates": ["2021-09-01", "2022-09-01"],
        },
    )


def fake_evaluation(ece=0.01, beats=True):
    cal = [
        {
            "bin": i,
            "n": 200,
            "n_events": 20 + 5 * i,
            "mean_predicted": 0.1 + 0.025 * i,
            "observed_rate": (20 + 5 * i) / 200,
            "ci_low": 0.05,
            "ci_high": 0.3,
            "suppressed": False,
        }
        for i in range(5)
    ]
    cal.append(
        {
            "bin": 5,
            "n": 7,
            "n_events": 3,
            "mean_predicted": 0.4321,
            "observed_rate": 3 / 7,
            "ci_low": 0.1,
            "ci_high": 0.8,
            "suppressed": False,
        }
    )
    return {
        "params": {"k": 50},
        "headline": {
            "n": 1007,
            "n_positive": 150,
            "prevalence": 0.149,
            "mean_risk": 0.15,
            "roc_auc": 0.77,
            "average_precision": 0.41,
            "brier": 0.11,
            "ece": ece,
            "k": 50,
            "precision_at_k": 0.6,
            "recall_at_k": 0.2,
            "lift_at_k": 4.0,
        },
        "capacity": {
            "k": 50,
            "share": 0.05,
            "n": 1007,
            "n_positive": 150,
            "true_positives": 30,
            "false_positives": 20,
            "precision": 0.6,
            "recall": 0.2,
            "lift": 4.0,
            "threshold": 0.4444321,
        },
        "capacity_curve": [
            {
                "k": k,
                "share": k / 1007,
                "n": 1007,
                "n_positive": 150,
                "true_positives": max(1, k // 2),
                "precision": 0.5,
                "recall": 0.3,
                "lift": 3.0,
            }
            for k in (5, 10, 50, 100)
        ],
        "calibration": cal,
        "lead_time": {
            "n": 30,
            "median": 9.5,
            "q1": 4.0,
            "q3": 15.0,
            "iqr": 11.0,
            "mean": 9.9,
            "min": 0.0329,
            "max": 23.8765,
            "suppressed": False,
        },
        "lead_time_table": [
            {"months_from": 0.0, "months_to": 6.0, "n": 12, "share": 0.4},
            {"months_from": 6.0, "months_to": 12.0, "n": 15, "share": 0.5},
            {"months_from": 12.0, "months_to": None, "n": 3, "share": 0.1},
        ],
        "baselines": {
            "best_rule": "eyfsp_gld_not_reached",
            "beats_best_rule": beats,
            "recall_difference": 0.08 if beats else -0.02,
            "recall_difference_ci": [0.01, 0.15],
            "summary": "The model beats the best simple rule."
            if beats
            else "The model does not beat the best simple rule.",
            "table": [
                {
                    "baseline": "model",
                    "kind": "model",
                    "k": 50,
                    "true_positives": 30,
                    "precision": 0.6,
                    "recall": 0.2,
                    "lift": 4.0,
                }
            ],
        },
    }


def fake_audit(small_fnr=DISTINCT, ratio=1.1, gate=1.05):
    def row(feature, group, n, fnr, gap=0.0):
        return {
            "feature": feature,
            "group": group,
            "n": n,
            "prevalence": 0.15,
            "flag_rate": round(n * 0.15 * (1 - fnr) / 0.6) / n,  # consistent with precision
            "recall": 1 - fnr,
            "fnr": fnr,
            "precision": 0.6,
            "fpr": 0.02,
            "mean_risk": 0.15 + gap,
            "observed_rate": 0.15,
            "calibration_gap": gap,
            "calibration_gap_low": gap - 0.01,
            "calibration_gap_high": gap + 0.01,
            "suppressed": False,
        }

    return {
        "caveat": "Labels are identified SEN, not need.",
        "band": [0.8, 1.25],
        "min_cell": 10,
        "reference": {"sex": "F", "ethnicity": "White"},
        "by_group": [
            row("sex", "F", 500, 0.7),
            row("sex", "M", 507, 0.7 * ratio),
            row("ethnicity", "White", 700, 0.7),
            row("ethnicity", "Asian", 150, 0.72),
            row("ethnicity", "Black", 148, 0.69),
            row("ethnicity", "Roma", 9, small_fnr),
        ],
        "disparity": [
            *(
                {
                    "feature": "sex",
                    "group": "M",
                    "reference": "F",
                    "metric": metric,
                    "value": ref * gate,
                    "reference_value": ref,
                    "ratio": gate,
                    "ratio_low": gate * 0.85,
                    "ratio_high": gate * 1.15,
                    "within_band": 0.8 <= gate <= 1.25,
                    "suppressed": False,
                }
                for metric, ref in (("recall", 0.3), ("flag_rate", 0.05))
            ),
            {
                "feature": "sex",
                "group": "M",
                "reference": "F",
                "metric": "fnr",
                "value": 0.7 * ratio,
                "reference_value": 0.7,
                "ratio": ratio,
                "ratio_low": 0.9,
                "ratio_high": 1.3,
                "within_band": 0.8 <= ratio <= 1.25,
                "suppressed": False,
            },
            {
                "feature": "ethnicity",
                "group": "Roma",
                "reference": "White",
                "metric": "fnr",
                "value": small_fnr,
                "reference_value": 0.7,
                "ratio": DISTINCT_RATIO,
                "ratio_low": 1.2,
                "ratio_high": 2.0,
                "within_band": False,
                "suppressed": False,
            },
        ],
    }


def fake_backtest(aucs=(0.76, 0.78, 0.77), gaps=None, councils=None):
    gaps = gaps or [0.005 * (i % 2) for i in range(len(aucs))]
    out = {
        "by_year": [
            {
                "test_year": 2020 + i,
                "train_years": "2018-2019",
                "n_train": 900,
                "n_test": 400,
                "prevalence": 0.15,
                "roc_auc": a,
                "average_precision": 0.4,
                "brier": 0.11,
                "ece": 0.015,
                "mean_risk": 0.15 - g,
                "calibration_in_the_large": g,
                "calibration_in_the_large_low": g - 0.035,
                "calibration_in_the_large_high": g + 0.035,
            }
            for i, (a, g) in enumerate(zip(aucs, gaps, strict=True))
        ]
    }
    if councils:  # (council, children, identified) per test year: they partition the year
        out["by_council"] = [
            {
                "test_year": 2020 + i,
                "council_id": c,
                "n_test": n,
                "prevalence": pos / n,
                "mean_risk": 0.15,
                "calibration_in_the_large": pos / n - 0.15,
                "calibration_in_the_large_low": pos / n - 0.2,
                "calibration_in_the_large_high": pos / n - 0.1,
            }
            for i in range(len(aucs))
            for c, n, pos in councils
        ]
    return out


def fake_explanation():
    rows = []
    for term, counts, contrib in (
        ("age_months", [500, 300, 7], [-0.4, 0.1, 0.987654]),
        ("eyfsp_gld", [600, 207], [0.3, -0.2]),
        ("sex", [400, 407], [0.0, 0.0]),
    ):
        for i, (c, v) in enumerate(zip(counts, contrib, strict=True)):
            rows.append(
                {
                    "term": term,
                    "label": term,
                    "bin": f"b{i}",
                    "contribution": v,
                    "count": c,
                    "share": c / sum(counts),
                    "importance": 0.2,
                    "protected": term == "sex",
                }
            )
    return pd.DataFrame(rows)


def build(tmp_path, **kw):
    args = dict(
        model=fake_model(),
        evaluation=fake_evaluation(),
        audit=fake_audit(ratio=1.1),
        backtest=fake_backtest(),
        global_explanation=fake_explanation(),
        data_summary={
            "n_children": 1007,
            "n_positive": 150,
            "synthetic": True,
            "tables": {"social_care": {"rows": 4, "children": 3}},
        },
    )
    args.update(kw)
    return build_model_card(
        args.pop("model"), args.pop("evaluation"), args.pop("audit"), out_dir=tmp_path, **args
    )


@pytest.fixture(scope="module")
def good_card(tmp_path_factory):
    """One card on good fake inputs, shared by the read-only tests."""
    return build(tmp_path_factory.mktemp("card"))


# --------------------------------------------------------------------------- files and JSON
def test_card_files_and_top_level_json(good_card):
    card = good_card
    tmp_path = card.json_path.parent
    assert card.html_path.is_file() and card.json_path.is_file()
    data = json.loads(card.json_path.read_text(encoding="utf-8"))
    assert isinstance(data["passed"], bool) and data["passed"] == card.passed
    assert [c["name"] for c in data["checks"]] == [c["name"] for c in card.checks]
    for c in data["checks"]:
        assert set(c) == {"name", "passed", "value", "value_text", "threshold", "rule", "detail"}
        assert isinstance(c["passed"], bool) and c["detail"]
    assert data == card.to_dict()
    # manual items are never in "checks" (the registry would read them as failures)
    assert {"dpia", "eia", "caseworker_briefing"} <= {m["id"] for m in data["manual_checklist"]}
    assert not list(tmp_path.glob("*.tmp"))  # atomic writes leave nothing behind


def test_all_checks_pass_on_good_inputs(good_card):
    card = good_card
    assert card.passed, [c for c in card.checks if not c["passed"]]
    assert {c["name"] for c in card.checks} == {
        "ece_below_threshold",
        "beats_best_simple_rule",
        "recall_ratio_within_band",
        "flag_rate_ratio_within_band",
        "calibration_in_the_large_by_group",
        "backtest_spread_small",
        "calibration_by_year_within_tolerance",
        "protected_not_features",
    }


@pytest.mark.parametrize(
    "change, failing",
    [
        ({"evaluation": fake_evaluation(ece=0.031)}, "ece_below_threshold"),
        ({"evaluation": fake_evaluation(beats=False)}, "beats_best_simple_rule"),
        ({"audit": fake_audit(gate=0.5)}, "recall_ratio_within_band"),
        ({"audit": fake_audit(gate=1.6)}, "flag_rate_ratio_within_band"),
        ({"audit": None}, "recall_ratio_within_band"),
        ({"backtest": fake_backtest((0.70, 0.79))}, "backtest_spread_small"),
        ({"backtest": fake_backtest((0.77,))}, "backtest_spread_small"),
        ({"backtest": None}, "backtest_spread_small"),
        (
            {"backtest": fake_backtest(gaps=[0.0, 0.01, 0.04])},
            "calibration_by_year_within_tolerance",
        ),
        ({"backtest": None}, "calibration_by_year_within_tolerance"),
        ({"model": fake_model(features=("age_months", "sex"))}, "protected_not_features"),
        ({"model": fake_model(use_protected=True)}, "protected_not_features"),
    ],
)
def test_each_check_fails_when_it_should(tmp_path, change, failing):
    card = build(tmp_path, **change)
    failed = {c["name"] for c in card.checks if not c["passed"]}
    assert failing in failed
    assert card.passed is False
    assert json.loads(card.json_path.read_text())["passed"] is False


def test_calibration_by_group_check_uses_interval(tmp_path):
    audit = fake_audit()
    audit["by_group"][1].update(
        calibration_gap=0.05, calibration_gap_low=0.03, calibration_gap_high=0.07
    )
    card = build(tmp_path, audit=audit)
    check = next(c for c in card.checks if c["name"] == "calibration_in_the_large_by_group")
    assert not check["passed"] and check["value"] == 0.05 and "sex=M" in check["detail"]
    audit["by_group"][1].update(calibration_gap_low=-0.01)  # interval covers 0: chance
    card = build(tmp_path, audit=audit)
    check = next(c for c in card.checks if c["name"] == "calibration_in_the_large_by_group")
    assert check["passed"]


def test_card_shows_calibration_by_year_and_council_with_small_councils_hidden(tmp_path):
    # council C has 35 children of whom 6 identified: its observed rate reveals the 6
    councils = [("A", 200, 30), ("B", 165, 24), ("C", 35, 6)]
    card = build(tmp_path, backtest=fake_backtest(councils=councils))
    html, text = _texts(card)
    assert "Calibration by test year" in html and "Calibration by test year and council" in html
    data = json.loads(text)["backtest"]
    assert data["by_year"][1]["calibration_in_the_large"] == 0.005
    rows = {(r["test_year"], r["council_id"]): r for r in data["by_council"]}
    assert rows[(2020, "A")]["calibration_in_the_large"] == pytest.approx(0.0)
    c = rows[(2020, "C")]
    assert c["calibration_in_the_large"] is None and c["prevalence"] is None
    # complementary suppression: another council of the year hides its rate too
    assert sum(r["prevalence"] is None for (y, _), r in rows.items() if y == 2020) >= 2
    assert f"{6 / 35 - 0.15:+.3f}" not in html
    assert ModelCard.from_dict(card.to_dict()).backtest.by_council == card.backtest.by_council
    # without councils the key is left out: the JSON keeps the layout of schema_version 1
    assert "by_council" not in build(tmp_path).to_dict()["backtest"]
    from send_early.report._render import COLUMNS

    for r in data["by_council"]:
        assert {c.key for c in COLUMNS["calibration_by_council"]} <= set(r)


def test_thresholds_can_be_overridden_and_are_recorded(tmp_path):
    card = build(tmp_path, thresholds={"ece_max": 0.005})
    check = next(c for c in card.checks if c["name"] == "ece_below_threshold")
    assert not check["passed"] and check["threshold"] == 0.005
    assert card.to_dict()["thresholds"]["ece_max"] == 0.005
    assert DEFAULT_THRESHOLDS["ece_max"] == 0.02


# --------------------------------------------------------------------------- privacy
def _variants(x: float) -> list[str]:
    return [repr(x), f"{x:.3f}", f"{x:.4f}", f"{100 * x:.1f}%"]


def test_group_of_nine_children_is_suppressed_everywhere(good_card):
    card = good_card
    html, js = _texts(card)
    for v in _variants(DISTINCT) + _variants(DISTINCT_RATIO) + _variants(1 - DISTINCT):
        assert v not in html and v not in js, v
    data = json.loads(js)
    roma = next(r for r in data["fairness"]["by_group"] if r["group"] == "Roma")
    assert roma["n"] == SMALL and roma["fnr"] is None and roma["suppressed"]
    # complementary suppression: a second ethnicity cell is hidden too
    hidden = [
        r for r in data["fairness"]["by_group"] if r["feature"] == "ethnicity" and r["n"] is None
    ]
    assert len(hidden) == 1
    d = next(r for r in data["fairness"]["disparity"] if r["group"] == "Roma")
    assert d["suppressed"] and d["ratio"] is None and d["value"] is None
    assert "&lt;10" in html and "suppressed" in html


def test_small_bins_counts_and_single_child_figures_are_hidden(good_card):
    card = good_card
    html, js = _texts(card)
    data = json.loads(js)
    small_bin = next(r for r in data["calibration"] if r["bin"] == 5)
    assert small_bin["n"] == SMALL and small_bin["mean_predicted"] is None
    # a shape bin of 7 children, a capacity threshold and lead-time min/max (one child each)
    for v in (0.4321, 0.987654, 0.4444321, 0.0329, 23.8765):
        for s in _variants(v):
            assert s not in html and s not in js, s
    assert data["data_summary"]["training"]["n_calibration"] == SMALL
    assert data["data_summary"]["given"]["tables"][0]["rows"] == SMALL
    # capacity rows flagging fewer than 10 children show no precision
    k5 = next(r for r in data["capacity"]["curve"] if r["k"] == SMALL)
    assert k5["precision"] is None and k5["true_positives"] == SMALL
    lt = data["lead_time"]["table"]
    assert lt[-1]["interval"] == "12 or more" and lt[-1]["n"] == SMALL
    assert sum(r["suppressed"] for r in lt) == 2  # the 12-of-30 row hidden too


def test_no_child_ids_in_card(tmp_path):
    kw = example_inputs(n=1500, seed=3)
    ids = kw.pop("ids")
    card = build_model_card(out_dir=tmp_path, **kw)
    html, js = _texts(card)
    found = set(re.findall(r"SIMCHILD\d+", html + js))
    assert not found & set(ids)
    assert "SIMCHILD" not in html + js


def test_example_card_suppresses_the_group_of_nine(tmp_path):
    kw = example_inputs(n=1500, seed=1)
    kw.pop("ids")
    card = build_model_card(out_dir=tmp_path, **kw)
    data = card.to_dict()
    small = [r for r in data["fairness"]["by_group"] if r["group"] == "Gypsy/Roma"]
    assert small and all(r["n"] in (None, SMALL) and r["fnr"] is None for r in small)
    html, _ = _texts(card)
    assert "example, simulated numbers" in html and "Synthetic data." in html
    assert any("simulated" in s for s in data["limitations"])


def test_the_evaluation_cohort_is_one_table(tmp_path):
    """Its counts once, with what else describes the data (was two tables repeating them)."""
    import re

    kw = example_inputs(n=1500, seed=1)
    kw.pop("ids")
    html = build_model_card(**kw).to_html()
    section = html[html.index("<h3>Evaluation cohort</h3>") :]
    section = section[: section.index("<h3>", 5)] if "<h3>" in section[5:] else section
    assert "<h3>Data used</h3>" not in html
    data = html[
        html.index("<h3>Training and calibration data</h3>") : html.index("<h3>Tables</h3>")
    ]
    assert len(re.findall(r">later identified<", data)) == 1
    assert "extract date" in section


# --------------------------------------------------------------------------- inputs, HTML
def test_fairness_section_says_how_many_groups_were_tested(good_card):
    html, _ = _texts(good_card)
    assert "groups tested" in html and "Holm-Bonferroni" in html
    # one comparison (sex M against F) per gating measure; the card's checks say the same
    checks = {c.name: c for c in good_card.checks}
    assert "over the 1 comparison(s) tested" in checks["recall_ratio_within_band"].detail
    assert "Holm-Bonferroni" in checks["calibration_in_the_large_by_group"].rule


def test_html_is_self_contained_and_responsive(good_card):
    html, _ = _texts(good_card)
    for bad in ("http://", "https://", "<script", "<link", "@import", "url("):
        assert bad not in html
    assert 'name="viewport"' in html and "overflow-x: auto" in html
    assert html.count("data:image/png;base64,") >= 4
    assert "never an eligibility decision" in html
    assert "The model beats the best simple rule" in html


def test_accepts_result_objects_and_rejects_other_types(tmp_path):
    kw = example_inputs(n=1200, seed=2)
    kw.pop("ids")
    card = build_model_card(
        kw["model"],
        kw["evaluation"].to_dict(),
        kw["audit"].to_dict(),
        out_dir=tmp_path,
        backtest=kw["backtest"].to_dict(),
    )
    assert card.to_dict()["metrics"]["headline"]["n"] == 1200
    with pytest.raises(TypeError, match="evaluation must be a result object"):
        build_model_card(kw["model"], [1, 2], None, out_dir=tmp_path)
    with pytest.raises(TypeError, match="data_summary must be a dict"):
        build_model_card(kw["model"], {}, None, out_dir=tmp_path, data_summary=[1])


def test_summarise_data_is_aggregate_only():
    ids = pd.Index([f"KID{i:04d}" for i in range(30)], name="child_id")
    f = pd.DataFrame(
        {"age_months": [50.0] * 29 + [None], "as_of": pd.Timestamp("2024-09-01")}, index=ids
    )
    children = pd.DataFrame({"child_id": ids, "birth_date": pd.Timestamp("2019-01-01")})
    s = summarise_data(f, [0] * 25 + [1] * 5, tables={"children": children})
    assert s["n_children"] == 30 and s["n_positive"] == 5
    assert s["as_of_dates"] == ["2024-09-01"] and s["tables"]["children"]["children"] == 30
    assert "KID" not in json.dumps(s)


def test_card_summary_from_path_dict_and_card(tmp_path):
    card = build(tmp_path, evaluation=fake_evaluation(ece=0.05))
    text = card_summary(card.json_path)
    assert text == card_summary(card.to_dict()) == card.summary()
    assert "[FAIL] ece_below_threshold: 0.050" in text
    assert "NOT READY" in text and "Data Protection Impact Assessment" in text
    assert "roc_auc 0.770" in text
    with pytest.raises(FileNotFoundError, match="must exist"):
        card_summary(tmp_path / "missing.json")


def test_registry_reads_the_checks(tmp_path):
    from send_early.registry._card import parse_checks as _parse_checks

    card = build(tmp_path, evaluation=fake_evaluation(ece=0.05))
    parsed = _parse_checks(json.loads(card.json_path.read_text()))
    assert [c["name"] for c in parsed if c["passed"] is False] == ["ece_below_threshold"]
    assert len(parsed) == len(card.checks)


# --------------------------------------------------------------------------- real model
@pytest.mark.slow
def test_card_from_a_fitted_risk_model(tmp_path):
    from send_early import RiskModel
    from send_early.datasets import make_cohort

    tables = make_cohort(800, random_state=0)
    model = RiskModel("default")
    model.fit(tables, as_of_dates=["2019-09-01", "2020-09-01"])
    card = build_model_card(
        model, fake_evaluation(), fake_audit(), out_dir=tmp_path, backtest=fake_backtest()
    )
    data = card.to_dict()
    assert data["features"]["used"] == list(model.feature_names_)
    assert not {"sex", "ethnicity"} & set(data["features"]["used"])
    assert data["explanation"] and data["explanation"]["terms"]
    assert data["outcome"]["horizon_months"] == model.spec.horizon_months
    assert next(c for c in card.checks if c["name"] == "protected_not_features")["passed"]


def test_pair_terms_are_listed_but_not_drawn_as_bars(tmp_path):
    single = fake_explanation()
    pair = pd.DataFrame(
        [
            {
                "term": "age_months x eyfsp_gld",
                "label": "Age x GLD",
                "bin": f"a{i}",
                "bin_2": f"g{j}",
                "feature_2": "eyfsp_gld",
                "contribution": 0.5 - 0.25 * (i + j),
                "count": 100 + i + j,
                "share": 0.25,
                "importance": 0.9,
                "protected": False,
            }
            for i in range(2)
            for j in range(2)
        ]
    )
    tab = pd.concat([single.assign(feature_2=None), pair], ignore_index=True)
    card = build(tmp_path, global_explanation=tab)
    x = card.to_dict()["explanation"]
    terms = {t["term"]: t for t in x["terms"]}
    # the strongest term is the pair: listed, flagged as a pair, never a bar chart of 2-D cells
    assert (
        x["terms"][0]["term"] == "age_months x eyfsp_gld"
        and terms["age_months x eyfsp_gld"]["pair"]
    )
    assert not terms["age_months"]["pair"]
    assert "age_months x eyfsp_gld" not in x["shapes"] and "age_months" in x["shapes"]
    assert "are pairs" in card.html_path.read_text(encoding="utf-8")
