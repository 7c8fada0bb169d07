"""Labels against hand-worked examples, censoring, training frames and temporal splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from send_early import LeakageError
from send_early.features import build_features, build_labels, make_training_frame, temporal_split

AS_OF = "2021-09-01"


def test_any_support_labels_hand_worked(hand_tables):
    y = build_labels(hand_tables, AS_OF, horizon_months=24)
    # c01 event 2022-03-01 (1); c02 ehcp 2023-09-02 is one day after the window ends (0);
    # c09 moves out 2022-12-01 with no event (censored); c10 event 2022-06-01 then moves (1);
    # c11 sen_support 2022-01-01 (1). c03-c08 are outside the population.
    assert y["label"].to_dict() == {"c01": 1, "c02": 0, "c10": 1, "c11": 1}
    assert y["label"].dtype == "Int8"
    assert y.loc["c01", "event_date"] == pd.Timestamp("2022-03-01")
    assert pd.isna(y.loc["c02", "event_date"]) and np.isnan(y.loc["c02", "months_to_event"])
    assert y.loc["c01", "months_to_event"] == pytest.approx(181 / (365.25 / 12))
    s = y.attrs["summary"]
    assert s["n_population"] == 5 and s["n_labelled"] == 4 and s["n_positive"] == 3
    assert s["n_censored_moved_out"] == 1 and s["n_censored_extract"] == 0
    assert (
        s["n_labelled"] + s["n_censored_moved_out"] + s["n_censored_extract"] == s["n_population"]
    )
    assert s["window_end"] == "2023-09-01"


def test_window_end_is_inclusive(hand_tables):
    # a 24-month-and-a-day horizon is not allowed; move as_of one day later instead
    y = build_labels(hand_tables, "2021-09-02", horizon_months=24)
    assert y.loc["c02", "label"] == 1
    assert y.loc["c02", "event_date"] == pd.Timestamp("2023-09-02")


def test_ehc_request_outcome_counts_only_requests_and_plans(hand_tables):
    y = build_labels(hand_tables, AS_OF, horizon_months=24, outcome="ehc_request")
    # c10's only event is SEN support, and c10 moves out inside the window: censored
    assert y["label"].to_dict() == {"c01": 0, "c02": 0, "c11": 0}
    assert y.attrs["summary"]["n_censored_moved_out"] == 2
    y = build_labels(hand_tables, AS_OF, horizon_months=36, outcome="ehc_request")
    assert y.loc["c11", "label"] == 1  # EHC request 2024-01-01
    assert y.loc["c02", "label"] == 1


def test_ehcp_is_a_deprecated_name_of_ehc_request(hand_tables):
    new = build_labels(hand_tables, AS_OF, horizon_months=36, outcome="ehc_request")
    with pytest.warns(FutureWarning, match="'ehcp' is deprecated.*Use 'ehc_request'"):
        old = build_labels(hand_tables, AS_OF, horizon_months=36, outcome="ehcp")
    pd.testing.assert_frame_equal(old, new)
    assert old.attrs["summary"]["outcome"] == "ehc_request"
    with pytest.warns(FutureWarning, match="deprecated"):
        frame = make_training_frame(hand_tables, [AS_OF], horizon_months=12, outcome="ehcp")
    assert frame.attrs["outcome"] == "ehc_request"


def test_window_past_extract_censors_everyone(hand_tables):
    y = build_labels(hand_tables, "2024-01-01", horizon_months=24)
    assert len(y) == 0
    s = y.attrs["summary"]
    assert s["n_censored_extract"] == s["n_population"] > 0


def test_already_identified_children_get_no_label(hand_tables):
    y = build_labels(hand_tables, AS_OF)
    assert "c04" not in y.index and "c08" not in y.index


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"horizon_months": 0}, "positive whole number"),
        ({"horizon_months": 1.5}, "positive whole number"),
        ({"outcome": "any"}, "outcome must be one of any_support, ehc_request, escalation, need_"),
        ({"outcome": None}, "outcome must be one of"),
    ],
)
def test_bad_label_arguments(hand_tables, kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_labels(hand_tables, AS_OF, **kwargs)


def test_labels_need_sen_events(hand_tables):
    t = {k: v for k, v in hand_tables.items() if k != "sen_events"}
    with pytest.raises(ValueError, match="sen_events is required"):  # validation first
        build_labels(type(hand_tables)(t, hand_tables.extract_date), AS_OF)
    allowed = type(hand_tables)(t, hand_tables.extract_date, allow_missing=["sen_events"])
    with pytest.raises(ValueError, match="labels need the sen_events table"):
        build_labels(allowed, AS_OF)


def test_training_frame_stacks_snapshots(hand_tables):
    dates = ["2021-09-01", "2020-09-01", "2021-09-01"]
    frame = make_training_frame(hand_tables, dates, horizon_months=24)
    assert frame.index.names == ["as_of", "child_id"]
    assert list(frame.index.get_level_values("as_of").unique()) == [
        pd.Timestamp("2020-09-01"),
        pd.Timestamp("2021-09-01"),
    ]
    snap = frame.xs(pd.Timestamp(AS_OF), level="as_of")
    X = build_features(hand_tables, AS_OF)
    y = build_labels(hand_tables, AS_OF)
    pd.testing.assert_frame_equal(snap[X.columns], X.loc[y.index], check_names=False)
    pd.testing.assert_series_equal(snap["label"], y["label"], check_names=False)
    assert [s["as_of"] for s in frame.attrs["snapshots"]] == ["2020-09-01", "2021-09-01"]
    assert frame.attrs["horizon_months"] == 24
    assert not frame.index.duplicated().any()


def _frame(years):
    idx = pd.MultiIndex.from_product(
        [pd.to_datetime([f"{y}-09-01" for y in years]), ["a", "b"]], names=["as_of", "child_id"]
    )
    f = pd.DataFrame({"x": np.arange(len(idx))}, index=idx)
    f.attrs["horizon_months"] = 24
    return f


def test_temporal_split_keeps_a_horizon_gap():
    frame = _frame([2016, 2017, 2018, 2019, 2020])
    train, test = temporal_split(frame, test_as_of="2020-09-01")
    tr = train.index.get_level_values("as_of")
    te = test.index.get_level_values("as_of")
    assert sorted(tr.year.unique()) == [2016, 2017, 2018]  # 2019 + 24 months overlaps the test date
    assert list(te.year.unique()) == [2020]
    assert (tr + pd.DateOffset(months=24)).max() <= te.min()
    train2, test2 = temporal_split(frame)  # defaults: latest date, attrs horizon
    pd.testing.assert_frame_equal(train, train2)
    pd.testing.assert_frame_equal(test, test2)
    # as a column works too
    flat = frame.reset_index()
    train3, _ = temporal_split(flat, test_as_of="2020-09-01", horizon_months=12)
    assert sorted(pd.DatetimeIndex(train3["as_of"]).year.unique()) == [2016, 2017, 2018, 2019]


def test_temporal_split_raises_when_impossible():
    frame = _frame([2019, 2020])
    with pytest.raises(LeakageError, match="at least 24 months before the test as-of 2020-09-01"):
        temporal_split(frame, test_as_of="2020-09-01")
    with pytest.raises(LeakageError, match="test set must not be empty"):
        temporal_split(frame, test_as_of="2021-09-01")
    with pytest.raises(ValueError, match="'as_of' index level or column"):
        temporal_split(pd.DataFrame({"x": [1]}), horizon_months=12)
    with pytest.raises(ValueError, match="horizon_months must be"):
        temporal_split(pd.DataFrame({"as_of": pd.to_datetime(["2020-01-01"])}))
