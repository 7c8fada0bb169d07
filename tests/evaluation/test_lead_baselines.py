import json

import numpy as np
import pandas as pd
import pytest

from send_early.evaluation import (
    DAYS_PER_MONTH,
    Evaluation,
    baseline_table,
    compare_to_baselines,
    lead_time_months,
    lead_time_summary,
    lead_time_table,
    temporal_backtest,
)


def test_lead_time_hand_computed():
    flagged = [1, 1, 1, 1, 0]
    y = [1, 1, 0, 1, 1]
    as_of = ["2024-01-01"] * 5
    events = ["2024-01-31", "2024-12-31", "2024-03-01", None, "2024-02-01"]
    m = lead_time_months(flagged, as_of, events, y_true=y)
    np.testing.assert_allclose(m, [30 / DAYS_PER_MONTH, 365 / DAYS_PER_MONTH])
    s = lead_time_summary(flagged, as_of, events, y_true=y)
    assert s["n"] == 2 and s["median"] == pytest.approx(197.5 / DAYS_PER_MONTH)
    assert s["iqr"] == pytest.approx(167.5 / DAYS_PER_MONTH)
    # without y_true the third child counts too
    assert lead_time_summary(flagged, "2024-01-01", events)["n"] == 3
    t = lead_time_table(flagged, as_of, events, y_true=y, bins=[0, 3, 12, 24])
    assert t["n"].tolist() == [
        1,
        1,
        0,
    ]  # 365 days = 11.99 months and t["cumulative_share"].iloc[-1] == 1


def test_lead_time_per_child_as_of_and_early_event_error():
    m = lead_time_months([1, 1], ["2023-01-01", "2024-01-01"], ["2023-02-01", "2024-01-01"])
    np.testing.assert_allclose(m, [31 / DAYS_PER_MONTH, 0])
    with pytest.raises(ValueError, match="identified before it"):
        lead_time_months([1], "2024-01-01", ["2023-12-01"])
    assert lead_time_summary([0], "2024-01-01", ["2024-02-01"])["n"] == 0


def _frame():
    return pd.DataFrame(
        {
            "eyfsp_gld": pd.array([0, 0, 1, 1, None, 1, 0, 1], dtype="Int64"),
            "asq_any_below_cutoff": pd.array(
                [True, False, False, False, True, False, False, False], dtype="boolean"
            ),
            "persistent_absence": [0, 0, 0, 0, 0, 0, 0, 1],
            "age_months": [60, 62, 64, 66, 68, 70, 72, 74],
        }
    )


def test_rules_own_and_at_k_with_documented_order():
    X = _frame()
    y = np.array([1, 0, 0, 1, 1, 0, 1, 0])
    t = baseline_table(y, X, k=2).set_index("baseline")
    # eyfsp: positives rows 0, 1, 6 (missing counts as not met) -> tp 2 of 3 flagged
    assert t.loc["eyfsp_gld_not_reached", "own_flagged"] == 3
    assert t.loc["eyfsp_gld_not_reached", "own_recall"] == pytest.approx(2 / 4)
    # at k=2: rows 0 and 1 (input order among rule-positives) -> 1 true positive
    assert t.loc["eyfsp_gld_not_reached", "true_positives"] == 1
    assert t.loc["eyfsp_gld_not_reached", "n_tied_at_cutoff"] == 3
    # tiebreak key reverses the order among rule-positives: rows 6 and 1 -> 1 tp
    t2 = baseline_table(y, X, k=2, tiebreak=[7, 6, 5, 4, 3, 2, 1, 0]).set_index("baseline")
    assert t2.loc["eyfsp_gld_not_reached", "true_positives"] == 1
    # asq flags rows 0 and 4 (both positive); k=3 fills with row 1 (first other)
    t3 = baseline_table(y, X, k=3).set_index("baseline")
    assert t3.loc["asq_any_below_cutoff", "own_precision"] == 1
    assert t3.loc["asq_any_below_cutoff", "true_positives"] == 2
    assert t3.loc["random_expected", "precision"] == pytest.approx(0.5)
    assert t3.loc["random_expected", "lift"] == 1
    assert "age_only" not in t3.index


def test_random_baseline_seeded_and_age_only():
    rng = np.random.default_rng(0)
    n = 2000
    age = rng.uniform(48, 72, n)
    y = (rng.random(n) < 1 / (1 + np.exp((age - 60) / 3))).astype(int)  # younger = higher
    X = pd.DataFrame({"age_months": age})
    a = baseline_table(y, X, share=0.1, random_state=1, X_train=X, y_train=y)
    b = baseline_table(y, X, share=0.1, random_state=1, X_train=X, y_train=y)
    pd.testing.assert_frame_equal(a, b)
    a = a.set_index("baseline")
    assert a.loc["age_only", "lift"] > 1.5
    assert abs(a.loc["random", "lift"] - 1) < 0.5
    with pytest.raises(ValueError, match="both X_train and y_train"):
        baseline_table(y, X, k=5, X_train=X)


def test_compare_to_baselines_states_result():
    X = _frame()
    y = np.array([1, 0, 0, 1, 1, 0, 1, 0])
    good = compare_to_baselines(y, y * 0.8 + 0.1, X, k=4)
    assert good.beats_best_rule is True
    assert "The model beats the best simple rule" in good.summary
    assert good.table.loc[good.table["baseline"] == "eyfsp_gld_not_reached", "model_better"].item()
    bad = compare_to_baselines(y, (1 - y) * 0.8 + 0.1, X, k=4)
    assert bad.beats_best_rule is False and "does not beat" in bad.summary
    json.dumps(bad.to_dict())
    with pytest.raises(ValueError, match="missing: r needs nope"):
        from send_early.evaluation import BaselineRule

        compare_to_baselines(y, y, X, k=2, rules=[BaselineRule("r", "", ("nope",), len)])


def test_compare_to_baselines_passes_its_options_to_baseline_table():
    rng = np.random.default_rng(3)
    n = 300
    X = pd.DataFrame(
        {"persistent_absence": rng.integers(0, 2, n), "age_months": rng.uniform(36, 72, n)}
    )
    y = rng.integers(0, 2, n)
    risk = rng.random(n)
    opts = {"share": 0.1, "tiebreak": np.arange(n)[::-1], "X_train": X, "y_train": y}
    for seed in ({}, {"random_state": 4}):  # baseline_table's default seed, then a given one
        c = compare_to_baselines(y, risk, X, n_bootstrap=20, **opts, **seed)
        base = c.table.iloc[1:].drop(columns="model_better").reset_index(drop=True)
        pd.testing.assert_frame_equal(base, baseline_table(y, X, **opts, **seed), check_dtype=False)
    model = c.table.iloc[0]
    assert model["baseline"] == "model" and model["k"] == 30 and np.isnan(model["own_flagged"])
    with pytest.raises(TypeError, match="random_sate"):
        compare_to_baselines(y, risk, X, k=5, random_sate=4)


def test_temporal_backtest_expanding_gap_and_leak_free():
    rng = np.random.default_rng(0)
    years = np.repeat([2018, 2019, 2020, 2021], 150)
    df = pd.DataFrame(
        {
            "as_of": pd.to_datetime([f"{y}-09-01" for y in years]),
            "x": rng.normal(size=len(years)),
            "child_id": np.arange(len(years)),
        }
    )
    df["label"] = (rng.random(len(df)) < 1 / (1 + np.exp(-2 * df["x"]))).astype(int)
    seen = []

    def fit_predict(X_train, y_train, X_test):
        assert "label" not in X_test.columns and "as_of" not in X_train.columns
        seen.append((len(X_train), len(X_test)))
        return 1 / (1 + np.exp(-2 * X_test["x"].to_numpy()))

    r = temporal_backtest(df, fit_predict=fit_predict, k=15, tiebreak_col="child_id")
    assert r.by_year["test_year"].tolist() == [2019, 2020, 2021]
    assert r.by_year["n_train"].tolist() == [150, 300, 450]
    assert r.spread.loc["roc_auc", "n_years"] == 3
    assert r.spread.loc["roc_auc", "min"] <= r.spread.loc["roc_auc", "mean"]
    assert r.spread.loc["roc_auc", "sd"] == pytest.approx(r.by_year["roc_auc"].std())
    g = temporal_backtest(df, fit_predict=fit_predict, gap_years=1, window_years=1)
    assert g.by_year["test_year"].tolist() == [2020, 2021]
    assert g.by_year["train_years"].tolist() == ["2018-2018", "2019-2019"]
    by_dict = temporal_backtest(
        {y: f for y, f in df.groupby(df["as_of"].dt.year)}, fit_predict=fit_predict
    )
    assert len(by_dict.by_year) == 3
    json.dumps(r.to_dict())
    with pytest.raises(ValueError, match="No test year"):
        temporal_backtest(df, fit_predict=fit_predict, gap_years=5)


def test_evaluation_object_read_only_and_json():
    rng = np.random.default_rng(3)
    n = 3000
    risk = rng.uniform(0, 0.4, n)
    y = (rng.random(n) < risk).astype(int)
    as_of = pd.Timestamp("2023-09-01")
    events = pd.Series(pd.NaT, index=range(n), dtype="datetime64[s]")
    events[y == 1] = as_of + pd.to_timedelta(rng.integers(0, 700, int(y.sum())), unit="D")
    X = pd.DataFrame({"persistent_absence": (rng.random(n) < 0.1).astype(int)})
    ev = Evaluation(
        y_true=y, risk=risk, k=300, as_of=as_of, event_date=events, X=X, tiebreak=np.arange(n)
    )
    assert ev.headline["recall_at_k"] == ev.capacity["recall"]
    assert ev.lead_time["n"] == ev.capacity["true_positives"]
    assert ev.baselines.beats_best_rule is True
    with pytest.raises(AttributeError):
        ev.headline = {}
    ev.headline["n"] = -1  # a copy: the object does not change
    assert ev.headline["n"] == n
    d = ev.to_dict()
    text = json.dumps(d)
    assert "NaN" not in text
    assert len(d["calibration"]) == 10
    with pytest.raises(TypeError):
        Evaluation(y, risk)  # keyword-only


def test_evaluation_suppresses_small_bins():
    y = np.array([0, 1] * 10)
    risk = np.linspace(0.05, 0.95, 20)
    ev = Evaluation(
        y_true=y,
        risk=risk,
        k=5,
        n_bins=4,
        min_cell=10,
        as_of="2024-01-01",
        event_date=["2024-06-01"] * 20,
    )
    assert ev.calibration["suppressed"].all()
    assert ev.calibration["observed_rate"].isna().all()
    assert ev.lead_time["suppressed"] is True and np.isnan(ev.lead_time["median"])
    d = ev.to_dict()
    assert all(row["n"] is None for row in d["calibration"])
