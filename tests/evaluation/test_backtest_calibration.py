"""Calibration in the large per backtest year and per council (issue 18)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from send_early.evaluation import calibration_in_the_large, temporal_backtest


def _frame(n_per_year=4000, councils=None, drift=0.0, seed=0):
    """Four as-of years; the true rate rises by ``drift`` a year (log-odds) after 2019,
    and council C's children are identified more often than the model knows."""
    rng = np.random.default_rng(seed)
    years = np.repeat([2018, 2019, 2020, 2021], n_per_year)
    x = rng.normal(size=len(years))
    logit = -2.5 + x + drift * np.maximum(years - 2019, 0)
    out = pd.DataFrame({"as_of": pd.to_datetime([f"{y}-09-01" for y in years]), "x": x})
    if councils:
        c = rng.choice(councils, len(years))
        out["council_id"] = c
        logit = logit + np.where(c == "C", 0.8, 0.0)
    out["label"] = (rng.random(len(years)) < 1 / (1 + np.exp(-logit))).astype(int)
    return out


def _fit_predict(X_train, y_train, X_test):
    # the model the early years would give: the 2018-2019 rate with no council effect
    assert "council_id" not in X_train.columns and "council_id" not in X_test.columns
    return 1 / (1 + np.exp(2.5 - X_test["x"].to_numpy()))


def test_calibration_in_the_large_hand_computed():
    c = calibration_in_the_large([1, 0, 0, 0], [0.1, 0.1, 0.1, 0.1])
    assert c["calibration_in_the_large"] == pytest.approx(0.15)
    assert c["mean_risk"] == pytest.approx(0.1)
    se = np.std(np.array([0.9, -0.1, -0.1, -0.1]), ddof=1) / 2
    assert c["calibration_in_the_large_high"] == pytest.approx(0.15 + 1.959964 * se)
    with pytest.raises(ValueError, match="same length"):
        calibration_in_the_large([1, 0], [0.1])


def test_each_test_year_reports_its_calibration_and_drift_shows():
    steady = temporal_backtest(_frame(), fit_predict=_fit_predict)
    drifting = temporal_backtest(_frame(drift=0.5), fit_predict=_fit_predict)
    cols = ["mean_risk", "calibration_in_the_large"]
    cols += ["calibration_in_the_large_low", "calibration_in_the_large_high"]
    assert set(cols) <= set(steady.by_year.columns) and steady.by_council is None
    gap = steady.by_year["calibration_in_the_large"]
    assert (gap.abs() < 0.02).all()  # the model matches the world it was fitted to
    # identification grows from 2020: observed minus predicted grows with the year
    late = drifting.by_year.set_index("test_year")["calibration_in_the_large"]
    assert late[2019] < 0.02 < late[2020] < late[2021]
    low = drifting.by_year.set_index("test_year")["calibration_in_the_large_low"]
    assert low[2021] > 0  # beyond chance
    assert "by_council" not in steady.to_dict()


def test_per_council_rows_when_the_data_name_councils():
    r = temporal_backtest(_frame(councils=["A", "B", "C"]), fit_predict=_fit_predict)
    bc = r.by_council
    assert bc is not None and list(bc["council_id"].unique()) == ["A", "B", "C"]
    assert bc.groupby("test_year")["n_test"].sum().tolist() == r.by_year["n_test"].tolist()
    gaps = bc.groupby("council_id")["calibration_in_the_large"].mean()
    assert gaps["C"] > 0.05 and abs(gaps["A"]) < 0.02  # council C is under-predicted
    assert r.to_dict()["by_council"][0]["council_id"] == "A"
    # without the column (council_col=None) the council is an ordinary feature column
    seen = []
    temporal_backtest(
        _frame(councils=["A", "B"]),
        fit_predict=lambda a, b, c: seen.append(list(c.columns)) or np.full(len(c), 0.1),
        council_col=None,
    )
    assert "council_id" in seen[0]


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 300), seed=st.integers(0, 10_000))
def test_council_rows_add_up_to_the_year(n, seed):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "as_of": pd.to_datetime(["2019-09-01"] * 5 + ["2020-09-01"] * n),
            "x": rng.random(n + 5),
            "council_id": rng.choice(["a", "b", "c"], n + 5),
            "label": (rng.random(n + 5) < 0.3).astype(int),
        }
    )
    r = temporal_backtest(df, fit_predict=lambda a, b, c: c["x"].to_numpy())
    year = r.by_year.iloc[0]
    bc = r.by_council
    assert bc["n_test"].sum() == n
    pooled = (bc["calibration_in_the_large"] * bc["n_test"]).sum() / n
    assert pooled == pytest.approx(year["calibration_in_the_large"])
    assert year["calibration_in_the_large"] == pytest.approx(year["prevalence"] - year["mean_risk"])
