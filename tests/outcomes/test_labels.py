"""Labels whose identification came on or after a flag are marked (or dropped)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from send_early.outcomes import AFTER_FLAG, mark_identified_after_flag


def frame():
    idx = pd.MultiIndex.from_arrays(
        [
            pd.to_datetime(["2022-09-01"] * 4 + ["2023-09-01"] * 2).astype("datetime64[s]"),
            ["a", "b", "c", "d", "a", "e"],
        ],
        names=["as_of", "child_id"],
    )
    return pd.DataFrame(
        {
            "x": np.arange(6.0),
            "label": pd.array([1, 1, 0, 1, 1, 1], dtype="Int8"),
            "event_date": pd.to_datetime(
                ["2024-02-01", "2023-01-01", None, "2024-05-01", "2024-02-01", "2024-09-01"]
            ),
        },
        index=idx,
    )


LOG = pd.DataFrame(
    {
        "child_id": ["a", "b", "c", "e", "a"],
        "model_version": ["1", "1", "1", "2", "2"],
        "as_of": pd.to_datetime(["2024-01-15"] * 4 + ["2023-06-01"]),
        "outcome": ["reviewed", "reviewed", "no_action", "declined", "unknown"],
    }
)


def test_marks_identification_on_or_after_the_first_flag():
    out = mark_identified_after_flag(frame(), LOG)
    # a: flagged 2023-06-01, identified 2024-02-01 (both snapshots); b identified before
    # the flag; c has no label; d was never flagged; e identified after its flag
    assert out[AFTER_FLAG].tolist() == [True, False, False, False, True, True]
    assert out.attrs[AFTER_FLAG] == 3
    assert out["x"].tolist() == frame()["x"].tolist()  # nothing else changes


def test_drop_leaves_the_marked_rows_out():
    out = mark_identified_after_flag(frame(), LOG, drop=True)
    assert out.index.get_level_values("child_id").tolist() == ["b", "c", "d"]
    assert AFTER_FLAG not in out.columns


def test_only_some_outcomes_count():
    out = mark_identified_after_flag(frame(), LOG, outcome_codes={"reviewed"})
    # a's first reviewed flag is 2024-01-15, still before its identification
    assert out[AFTER_FLAG].tolist() == [True, False, False, False, True, False]
    with pytest.raises(ValueError, match="outcome_codes must be among"):
        mark_identified_after_flag(frame(), LOG, outcome_codes={"acted"})


def test_labels_frame_indexed_by_child():
    labels = frame().xs(pd.Timestamp("2022-09-01"), level="as_of")
    assert mark_identified_after_flag(labels, LOG)[AFTER_FLAG].sum() == 1


def test_bad_frame_is_refused():
    with pytest.raises(ValueError, match="event_date"):
        mark_identified_after_flag(frame().drop(columns="event_date"), LOG)
    with pytest.raises(ValueError, match="indexed by child_id"):
        mark_identified_after_flag(frame().reset_index(drop=True), LOG)


def test_with_make_training_frame(tiny_tables):
    from send_early.features import make_training_frame

    tf = make_training_frame(tiny_tables, ["2020-09-01", "2021-09-01"], horizon_months=24)
    pos = tf[tf["label"] == 1]
    assert len(pos)  # the tiny cohort has an identification to mark
    child = pos.index.get_level_values("child_id")[0]
    flag = pos["event_date"].iloc[0] - pd.Timedelta(days=30)
    log = pd.DataFrame({"child_id": [child], "as_of": [flag], "outcome": ["reviewed"]})
    out = mark_identified_after_flag(tf, log)
    marked = out[out[AFTER_FLAG]]
    assert set(marked.index.get_level_values("child_id")) == {child}
    assert (marked["event_date"] >= flag).all()


@settings(max_examples=60, deadline=None)
@given(
    labels=st.lists(st.tuples(st.booleans(), st.integers(0, 400)), min_size=1, max_size=30),
    flags=st.lists(st.tuples(st.integers(0, 29), st.integers(0, 400)), max_size=30),
)
def test_marked_only_positives_and_drop_matches(labels, flags):
    n = len(labels)
    base = pd.Timestamp("2024-01-01")
    f = pd.DataFrame(
        {
            "label": pd.array([int(y) for y, _ in labels], dtype="Int8"),
            "event_date": [base + pd.Timedelta(days=d) if y else pd.NaT for y, d in labels],
        },
        index=pd.Index([f"c{i}" for i in range(n)], name="child_id"),
    )
    log = pd.DataFrame(
        {
            "child_id": [f"c{i}" for i, _ in flags],
            "as_of": [base + pd.Timedelta(days=d) for _, d in flags],
            "outcome": "reviewed",
        }
    )
    out = mark_identified_after_flag(f, log)
    assert not out.loc[out["label"] == 0, AFTER_FLAG].any()
    dropped = mark_identified_after_flag(f, log, drop=True)
    assert len(dropped) == n - out.attrs[AFTER_FLAG]
    first = log.groupby("child_id")["as_of"].min()
    for cid, row in out[out[AFTER_FLAG]].iterrows():  # test oracle: a handful of rows
        assert row["event_date"] >= first[cid]
