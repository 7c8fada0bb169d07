"""Scoring with the features built on another engine gives the memory engine's outputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import send_early
from send_early.cli import main
from send_early.schema import write_tables

pytest.importorskip("duckdb")

AS_OF = "2023-09-01"


def _same_runs(mem, other) -> None:
    """Scores, rejects, counts, drift and the run record equal, but for the engine named."""
    pd.testing.assert_frame_equal(other.scores, mem.scores, check_exact=False, rtol=0, atol=1e-12)
    pd.testing.assert_frame_equal(other.rejects, mem.rejects)
    assert other.counts == mem.counts and other.warnings == mem.warnings
    pd.testing.assert_frame_equal(other.drift, mem.drift, check_exact=False, rtol=0, atol=1e-12)
    assert {k: v for k, v in other.metadata.items() if k != "engine"} == {
        k: v for k, v in mem.metadata.items() if k != "engine"
    }


def test_duckdb_scores_equal_memory(fitted_model, small_cohort):
    mem = send_early.score(fitted_model, small_cohort, AS_OF)
    duck = send_early.score(fitted_model, small_cohort, AS_OF, engine="duckdb")
    assert len(mem.scores) > 500 and mem.scores["flagged"].sum() > 0
    _same_runs(mem, duck)
    assert (mem.metadata["engine"], duck.metadata["engine"]) == ("memory", "duckdb")
    # the ranks, flags and reasons are the same child by child, not just in distribution
    assert duck.scores["child_id"].tolist() == mem.scores["child_id"].tolist()
    assert duck.scores["flagged"].tolist() == mem.scores["flagged"].tolist()


def test_duckdb_keeps_every_child_when_records_break_the_contract(fitted_model, small_cohort):
    # a value of the wrong type, an orphan record and a record after the extract: the children
    # they belong to are rejected on both engines, and nobody is lost
    att = small_cohort["attendance"].copy()
    att["possible_sessions"] = att["possible_sessions"].astype("object")
    att.loc[att.index[0], "possible_sessions"] = "lots"
    ref = small_cohort["referrals"].copy()
    orphan = ref.iloc[[0]].assign(child_id="nobody")
    late = ref.iloc[[5]].assign(referral_date=pd.Timestamp("2030-01-01"))
    ref = pd.concat([ref, orphan, late], ignore_index=True)
    bad = small_cohort.replace(attendance=att, referrals=ref)
    mem = send_early.score(fitted_model, bad, AS_OF)
    duck = send_early.score(fitted_model, bad, AS_OF, engine="duckdb")
    _same_runs(mem, duck)
    rules = set(duck.rejects.loc[duck.rejects["table"] != "population", "rule"])
    assert {"type", "orphan", "after_extract"} <= rules
    ids = set(small_cohort["children"]["child_id"].astype(str))
    scored, rejected = set(duck.scores["child_id"]), set(duck.rejects["child_id"]) & ids
    assert scored.isdisjoint(rejected) and scored | rejected == ids
    assert att["child_id"].iloc[0] not in scored


def test_chunks_and_a_capacity_give_the_same_flags_on_duckdb(fitted_model, small_cohort):
    mem = send_early.score(fitted_model, small_cohort, AS_OF, capacity=25)
    duck = send_early.score(
        fitted_model, small_cohort, AS_OF, capacity=25, chunk_size=600, engine="duckdb"
    )
    _same_runs(mem, duck)
    assert duck.scores["flagged"].sum() == 25


def test_an_unknown_engine_is_refused_before_reading(fitted_model):
    with pytest.raises(ValueError, match=r"engine must be one of memory, duckdb, spark; found 'x'"):
        send_early.score(fitted_model, "not tables", AS_OF, engine="x")


def test_cli_score_engine_duckdb_writes_the_memory_scores(fitted_model, small_cohort, tmp_path):
    data, model = tmp_path / "extract", tmp_path / "model"
    write_tables(small_cohort, data)
    fitted_model.save(model)
    out = {}
    for engine in ("memory", "duckdb"):
        path = tmp_path / f"scores_{engine}.csv"
        argv = ["score", str(data), "--model", str(model), "--as-of", AS_OF, "--out", str(path)]
        assert main([*argv, "--engine", engine]) == 0
        out[engine] = (pd.read_csv(path), pd.read_csv(tmp_path / f"scores_{engine}_rejects.csv"))
    (ms, mr), (ds, dr) = out["memory"], out["duckdb"]
    pd.testing.assert_frame_equal(ds, ms, check_exact=False, rtol=0, atol=1e-12)
    pd.testing.assert_frame_equal(dr, mr)
    assert np.isin(small_cohort["children"]["child_id"], pd.concat([ds, dr])["child_id"]).all()


def test_cli_refuses_an_unknown_engine_before_reading(tmp_path, capsys):
    argv = ["score", str(tmp_path / "nope"), "--model", "m", "--as-of", AS_OF, "--out", "s.csv"]
    with pytest.raises(SystemExit) as info:
        main([*argv, "--engine", "pandas"])
    assert info.value.code == 2
    assert "--engine: invalid choice: 'pandas'" in capsys.readouterr().err


def test_spark_scores_equal_memory(fitted_model, small_cohort, spark):
    # ``spark``: the shared local session (tests/conftest.py); the engine runs on the active one
    mem = send_early.score(fitted_model, small_cohort, AS_OF)
    on_spark = send_early.score(fitted_model, small_cohort, AS_OF, engine="spark")
    _same_runs(mem, on_spark)
    assert on_spark.metadata["engine"] == "spark"
