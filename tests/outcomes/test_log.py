"""The outcome log: checking a file, recording it in one transaction, reading it back."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from send_early.exceptions import SchemaError
from send_early.outcomes import (
    LOG_NAME,
    OUTCOME_CODES,
    check_outcomes,
    outcome_log_path,
    read_outcomes,
    record_outcomes,
)

TODAY = "2025-06-30"


def rows(n=30, seed=0, version="3"):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "child_id": [f"c{i:04d}" for i in range(n)],
            "model_name": "risk",
            "model_version": version,
            "as_of": "2025-01-15",
            "outcome": rng.choice(list(OUTCOME_CODES[:5]), n),
            "outcome_date": "2025-03-01",
        }
    )


def test_records_and_reads_back(tmp_path):
    log = tmp_path / "o.sqlite"
    res = record_outcomes(rows(), log=log, today=TODAY)
    assert (res.read, res.recorded, res.already_recorded, res.rejected) == (30, 30, 0, 0)
    back = read_outcomes(log=log)
    assert len(back) == 30
    assert str(back["as_of"].dtype) == "datetime64[s]"
    assert set(back["outcome"]) <= set(OUTCOME_CODES)


def test_same_file_twice_changes_nothing(tmp_path):
    log = tmp_path / "o.sqlite"
    record_outcomes(rows(), log=log, today=TODAY)
    res = record_outcomes(rows(), log=log, today=TODAY)
    assert (res.recorded, res.already_recorded) == (0, 30)
    assert len(read_outcomes(log=log)) == 30


def test_every_problem_named_and_nothing_written(tmp_path):
    log = tmp_path / "o.sqlite"
    df = rows()
    df.loc[0, "outcome"] = "maybe"
    df.loc[1, "outcome_date"] = "01/03/2025"
    df.loc[2, "outcome_date"] = "2024-12-01"  # before the flag
    df.loc[3, "child_id"] = ""
    df.loc[4, "as_of"] = "2026-01-01"  # after today
    df.loc[5, "outcome_date"] = ""  # only unknown may have no date
    df = pd.concat([df, df.iloc[[10]]], ignore_index=True)
    with pytest.raises(SchemaError) as info:
        record_outcomes(df, log=log, today=TODAY)
    msg = str(info.value)
    for part in (
        r"outcomes.outcome (allowed_values)",
        "child_id c0000",
        r"outcomes.outcome_date (iso_date)",
        "c0001",
        r"outcomes.outcome_date (not_before_flag)",
        r"outcomes.child_id (required)",
        r"outcomes.as_of (not_in_future)",
        r"outcomes.outcome_date (required)",
        r"outcomes.outcome (unique)",
        "nothing was recorded",
    ):
        assert part in msg
    with sqlite3.connect(log) as con:  # the log may exist, but holds nothing
        assert con.execute("SELECT count(*) FROM outcomes").fetchone() == (0,)


def test_rejects_file_keeps_valid_rows(tmp_path):
    log, rej = tmp_path / "o.sqlite", tmp_path / "rejects.csv"
    df = rows()
    df.loc[[0, 7], "outcome"] = "maybe"
    res = record_outcomes(df, log=log, rejects=rej, today=TODAY)
    assert (res.recorded, res.rejected) == (28, 2)
    r = pd.read_csv(rej, dtype=str)
    assert r["child_id"].tolist() == ["c0000", "c0007"]
    assert r["row"].tolist() == ["1", "8"]
    assert set(r["rule"]) == {"allowed_values"}
    assert set(read_outcomes(log=log)["child_id"]) == set(df["child_id"]) - {"c0000", "c0007"}


def test_another_date_for_a_recorded_outcome_is_refused(tmp_path):
    log = tmp_path / "o.sqlite"
    record_outcomes(rows(), log=log, today=TODAY)
    df = rows()
    df.loc[3, "outcome_date"] = "2025-04-01"
    df["child_id"] = df["child_id"].where(df.index == 3, df["child_id"] + "x")
    with pytest.raises(SchemaError, match=r"matches_log.*c0003"):
        record_outcomes(df, log=log, today=TODAY)
    assert len(read_outcomes(log=log)) == 30  # the whole file was refused


def test_missing_column_is_refused(tmp_path):
    with pytest.raises(SchemaError, match="outcome_date missing"):
        record_outcomes(rows().drop(columns="outcome_date"), log=tmp_path / "o.sqlite")


def test_other_columns_are_not_stored(tmp_path):
    log = tmp_path / "o.sqlite"
    res = record_outcomes(rows().assign(reason_1="speech"), log=log, today=TODAY)
    assert res.ignored_columns == ("reason_1",)
    with sqlite3.connect(log) as con:
        cols = [r[1] for r in con.execute("PRAGMA table_info(outcomes)")]
    assert "reason_1" not in cols


def test_csv_file_and_unknown_without_date(tmp_path):
    df = rows(5)
    df.loc[0, ["outcome", "outcome_date"]] = ["unknown", ""]
    src = tmp_path / "outcomes.csv"
    df.to_csv(src, index=False)
    record_outcomes(src, log=tmp_path / "o.sqlite", today=TODAY)
    back = read_outcomes(log=tmp_path / "o.sqlite")
    assert back.loc[back["child_id"] == "c0000", "outcome_date"].isna().all()


def test_a_failed_write_leaves_the_log_as_it_was(tmp_path, monkeypatch):
    log = tmp_path / "o.sqlite"
    record_outcomes(rows(), log=log, today=TODAY)
    import send_early.schema as schema_mod  # the rejects file is written inside the transaction

    def boom(path, write):
        raise OSError("disk full")

    monkeypatch.setattr("send_early.outcomes._log.atomic_write", boom)
    df = rows(40, seed=1, version="4")
    df.loc[0, "outcome"] = "maybe"
    with pytest.raises(OSError, match="disk full"):
        record_outcomes(df, log=log, rejects=tmp_path / "r.csv", today=TODAY)
    assert len(read_outcomes(log=log)) == 30
    assert schema_mod.atomic_write is not boom


def test_log_beside_an_embedded_store(tmp_path):
    from send_early.registry import open_store

    open_store(tmp_path / "store")  # an empty embedded store
    assert outcome_log_path(tmp_path / "store") == (tmp_path / "store" / LOG_NAME).resolve()
    record_outcomes(rows(), store=tmp_path / "store", today=TODAY)
    assert (tmp_path / "store" / LOG_NAME).is_file()
    assert len(read_outcomes(store=tmp_path / "store")) == 30


def test_no_store_no_log(tmp_path):
    with pytest.raises(FileNotFoundError):
        outcome_log_path(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="record outcomes first"):
        read_outcomes(log=tmp_path / "none.sqlite")


codes = st.sampled_from([*OUTCOME_CODES, "maybe", ""])
dates = st.sampled_from(["2025-01-15", "2025-02-01", "2024-12-31", "2025-13-01", "", "2026-01-01"])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", ""]), codes, dates), min_size=1, max_size=25
    )
)
def test_every_row_is_recorded_or_rejected(tmp_path_factory, data):
    """Row conservation: each row of the file is in the log, already there, or rejected."""
    tmp = tmp_path_factory.mktemp("log")
    df = pd.DataFrame(data, columns=["child_id", "outcome", "outcome_date"]).assign(
        model_name="risk", model_version="1", as_of="2025-01-15"
    )
    clean, rejects, problems = check_outcomes(df, today=TODAY)
    assert len(clean) + rejects["row"].nunique() == len(df)
    assert bool(problems) == bool(len(rejects))
    res = record_outcomes(df, log=tmp / "o.sqlite", rejects=tmp / "r.csv", today=TODAY)
    assert res.recorded + res.rejected == len(df)
    again = record_outcomes(df, log=tmp / "o.sqlite", rejects=tmp / "r.csv", today=TODAY)
    assert again.recorded == 0 and again.already_recorded == res.recorded


def test_a_contradicted_row_is_rejected_with_its_file_row(tmp_path):
    log, rej = tmp_path / "o.sqlite", tmp_path / "r.csv"
    record_outcomes(rows(), log=log, today=TODAY)
    df = pd.concat([rows(5, version="9"), rows()], ignore_index=True)  # 5 new rows first
    df.loc[5 + 3, "outcome_date"] = "2025-04-01"  # c0003 of version 3, file row 9
    res = record_outcomes(df, log=log, rejects=rej, today=TODAY)
    assert (res.recorded, res.already_recorded, res.rejected) == (5, 29, 1)
    r = pd.read_csv(rej, dtype=str)
    assert r[["child_id", "row", "rule"]].values.tolist() == [["c0003", "9", "matches_log"]]
