"""Scoring outputs are one unit: published by a manifest written last, read back checked."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile

import pandas as pd
import pytest

import send_early
from send_early import IntegrityError, write_tables
from send_early.batch import RUN_FORMAT, check_outputs, read_run, write_run
from send_early.batch import _publish as publish
from send_early.cli import main

AS_OF, OTHER_AS_OF = "2023-09-01", "2024-09-01"
STEPS = [
    "wrote scores",
    "wrote rejects",
    "run folder complete",
    "manifest written",
    "refreshed scores",
    "refreshed rejects",
]


@pytest.fixture(scope="module")
def results(fitted_model, small_cohort):
    return {d: send_early.score(fitted_model, small_cohort, d) for d in (AS_OF, OTHER_AS_OF)}


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _expected_files(folder, run_id, suffix=".csv"):
    store = f".scores.send-early-runs/{run_id}"
    return sorted(
        [
            ".scores.send-early-runs",
            store,
            f"{store}/rejects.csv",
            f"{store}/scores{suffix}",
            f"scores{suffix}",
            "scores_rejects.csv",
            "scores_run.json",
        ]
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_run_reads_back_as_written_with_its_summary(results, tmp_path, suffix):
    res = results[AS_OF]
    out = tmp_path / f"scores{suffix}"
    manifest = write_run(res, out)
    assert manifest == tmp_path / "scores_run.json"
    m = json.loads(manifest.read_text())
    assert m["format"] == RUN_FORMAT and m["as_of"] == AS_OF
    assert m["counts"]["input_children"] == m["counts"]["scored"] + m["counts"]["rejected"]
    assert {"name", "version", "uri", "source"} <= set(m["model"])
    assert {"requested", "card_policy", "card_value"} <= set(m["capacity"])
    assert [w["kind"] for w in m["warnings"]] == ["not_registered"]
    assert m["files"]["scores"]["rows"] == len(res.scores)
    assert m["files"]["rejects"]["rows"] == len(res.rejects)
    # --out and the rejects file hold the bytes the manifest names
    assert _sha(out) == m["files"]["scores"]["sha256"]
    assert _sha(tmp_path / "scores_rejects.csv") == m["files"]["rejects"]["sha256"]
    assert _files(tmp_path) == _expected_files(tmp_path, m["run_id"], suffix)

    back = read_run(out)  # by the scores path or by the manifest
    assert back.metadata == read_run(manifest).metadata == m
    assert back.counts == res.counts and back.warnings == res.warnings
    if suffix == ".parquet":  # every column as scored (as_of comes back in ms, not s)
        pd.testing.assert_frame_equal(back.scores, res.scores, check_dtype=False)
        assert (back.scores.dtypes.drop("as_of") == res.scores.dtypes.drop("as_of")).all()
    cols = ["child_id", "risk", "rank", "flagged", "reason_1"]
    pd.testing.assert_frame_equal(back.scores[cols], res.scores[cols], check_dtype=False)
    assert list(back.scores.columns) == list(res.scores.columns)
    assert list(back.rejects.columns) == list(res.rejects.columns)
    assert back.rejects["child_id"].tolist() == res.rejects["child_id"].tolist()


def test_ids_read_back_as_text(results, tmp_path):
    """School and child ids like "0012" keep their leading zeros through a CSV run."""
    import dataclasses

    res = results[AS_OF]
    scores = res.scores.assign(
        child_id=[f"{i:05d}" for i in range(len(res.scores))],
        setting_id=[f"00{i % 7}" for i in range(len(res.scores))],
    )
    write_run(
        dataclasses.replace(res, scores=scores, rejects=res.rejects.iloc[:0]), tmp_path / "s.csv"
    )
    back = read_run(tmp_path / "s.csv").scores
    assert back["setting_id"].tolist() == scores["setting_id"].tolist()
    assert back["child_id"].tolist() == scores["child_id"].tolist()


def test_a_new_run_replaces_the_previous_one_whole(results, tmp_path):
    out = tmp_path / "scores.csv"
    write_run(results[AS_OF], out)
    second = json.loads(write_run(results[OTHER_AS_OF], out).read_text())
    back = read_run(out)
    assert back.metadata["as_of"] == OTHER_AS_OF
    assert back.counts == results[OTHER_AS_OF].counts
    assert _files(tmp_path) == _expected_files(tmp_path, second["run_id"])  # the old run is gone


@pytest.mark.parametrize("step", STEPS)
def test_an_error_at_any_step_leaves_one_complete_run_and_no_temporary_file(
    results, tmp_path, monkeypatch, step
):
    out = tmp_path / "scores.csv"
    first = json.loads(write_run(results[AS_OF], out).read_text())

    def fail_at(name):
        if name == step:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(publish, "_step", fail_at)
    with pytest.raises(OSError, match="No space left on device"):
        write_run(results[OTHER_AS_OF], out)
    published = STEPS.index(step) >= STEPS.index("manifest written")
    back = read_run(out)
    assert back.metadata["as_of"] == (OTHER_AS_OF if published else AS_OF)
    run_id = back.metadata["run_id"]
    assert (run_id != first["run_id"]) == published
    assert _files(tmp_path) == _expected_files(tmp_path, run_id)
    if not published:  # the previous run's files are untouched, --out included
        assert _sha(out) == first["files"]["scores"]["sha256"]


def test_leftovers_of_a_stopped_run_are_removed_and_nothing_else(results, tmp_path):
    out = tmp_path / "scores.csv"
    write_run(results[AS_OF], out)
    store = tmp_path / ".scores.send-early-runs"
    junk = [
        tmp_path / ".scores.csv.k2j4h5.tmp",  # an earlier release's atomic write
        tmp_path / ".scores_run.json.1a2b3c4d.send-early.tmp",
        tmp_path / ".scores_rejects.csv.1a2b3c4d.send-early.tmp",
        store / "20250101T000000000000Z-abcdef",  # complete, never published
        store / ".20250102T000000000000Z-abcdef.send-early.tmp",  # half written
        tmp_path / ".probe.x1y2z3.send-early.tmp",  # check_outputs' write probe
    ]
    for j in junk:
        if j.parent == store:
            j.mkdir()
            (j / "scores.csv").write_text("child_id\n")
        else:
            j.write_text("half")
    mine = [tmp_path / "notes.txt", tmp_path / ".other.csv.k2j4h5.tmp"]
    for f in mine:
        f.write_text("a person's file")
    m = json.loads(write_run(results[OTHER_AS_OF], out).read_text())
    assert not any(j.exists() for j in junk)
    assert all(f.exists() for f in mine)
    left = [f for f in _files(tmp_path) if f not in ("notes.txt", ".other.csv.k2j4h5.tmp")]
    assert left == _expected_files(tmp_path, m["run_id"])


def test_a_mixed_or_changed_set_is_refused(results, tmp_path):
    out = tmp_path / "scores.csv"
    a = json.loads(write_run(results[AS_OF], out).read_text())
    other = tmp_path / "other"
    other.mkdir()
    b = json.loads(write_run(results[OTHER_AS_OF], other / "scores.csv").read_text())
    # the defect this prevents: new scores beside the previous run's rejects
    (tmp_path / a["files"]["scores"]["path"]).write_bytes(
        (other / b["files"]["scores"]["path"]).read_bytes()
    )
    with pytest.raises(IntegrityError, match=r"the scores file .* differs from its SHA-256"):
        read_run(out)
    (tmp_path / a["files"]["rejects"]["path"]).unlink()
    with pytest.raises(IntegrityError, match=r"must be unchanged .* rejects file .* is missing"):
        read_run(out)


def test_a_second_writer_of_the_same_outputs_is_refused_while_the_first_runs(results, tmp_path):
    out = tmp_path / "scores.csv"
    first = json.loads(write_run(results[AS_OF], out).read_text())
    store = os.open(tmp_path / ".scores.send-early-runs", os.O_RDONLY)
    try:
        fcntl.flock(store, fcntl.LOCK_EX)  # as a run that is publishing holds it
        with pytest.raises(BlockingIOError, match=r"another run is writing .*scores.csv"):
            write_run(results[OTHER_AS_OF], out)
    finally:
        os.close(store)
    assert read_run(out).metadata == first
    assert write_run(results[OTHER_AS_OF], out)  # the lock went with its holder


def test_a_manifest_naming_files_outside_its_folder_is_refused(results, tmp_path):
    manifest = write_run(results[AS_OF], tmp_path / "scores.csv")
    m = json.loads(manifest.read_text())
    m["files"]["scores"]["path"] = "../elsewhere/scores.csv"
    manifest.write_text(json.dumps(m))
    with pytest.raises(IntegrityError, match="the scores file must be in the run folder"):
        read_run(manifest)


def test_a_manifest_that_is_absent_or_of_an_earlier_release_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no published scoring run at .* no run finished"):
        read_run(tmp_path / "scores.csv")
    (tmp_path / "scores_run.json").write_text(json.dumps({"as_of": AS_OF, "outputs": {}}))
    with pytest.raises(ValueError, match="must be a run manifest of format 'send_early.run/1'"):
        read_run(tmp_path / "scores.csv")


def test_counts_that_do_not_add_up_are_refused(results, tmp_path):
    manifest = write_run(results[AS_OF], tmp_path / "scores.csv")
    m = json.loads(manifest.read_text())
    m["counts"]["rejected"] += 1
    manifest.write_text(json.dumps(m))
    with pytest.raises(IntegrityError, match=r"children read \(4000\) must equal scored"):
        read_run(manifest)


# -- every output path is checked before anything is read -------------------------------------


def _score_argv(tmp_path, *extra):
    # neither the tables folder nor the model exists: a path refused first is a usage error (2)
    argv = ["score", str(tmp_path / "no_tables"), "--model", str(tmp_path / "no_model")]
    return [*argv, "--as-of", AS_OF, *extra]


@pytest.mark.parametrize(
    ("paths", "message"),
    [
        (
            ["--out", "{t}/scores.csv", "--rejects", "{t}/typo/rejects.csv"],
            "--rejects must be in an existing folder; {t}/typo does not exist",
        ),
        (["--out", "{t}/nope/scores.csv"], "--out must be in an existing folder; {t}/nope"),
        (["--out", "{t}/dir.csv"], "--out must be a file; {t}/dir.csv is a folder"),
        (
            ["--out", "{t}/s.csv", "--rejects", "{t}/dir.csv"],
            "--rejects must be a file; {t}/dir.csv is a folder",
        ),
        (
            ["--out", "{t}/s.csv", "--rejects", "{t}/file.txt/r.csv"],
            "--rejects must be in an existing folder; {t}/file.txt is a file",
        ),
        (
            ["--out", "{t}/s.csv", "--rejects", "{t}/rejects.txt"],
            "--rejects must end in .csv or .parquet; found 'rejects.txt'",
        ),
        (
            ["--out", "{t}/s.csv", "--rejects", "{t}/s.csv"],
            "--out and --rejects must be different files; both are {t}/s.csv",
        ),
    ],
)
def test_a_bad_output_path_is_refused_before_anything_is_read(tmp_path, capsys, paths, message):
    (tmp_path / "dir.csv").mkdir()
    (tmp_path / "file.txt").write_text("")
    before = _files(tmp_path)
    t = str(tmp_path)
    assert main(_score_argv(tmp_path, *[p.format(t=t) for p in paths])) == 2
    err = capsys.readouterr().err
    assert message.format(t=t) in err
    assert "no_tables" not in err and "model" not in err and "Traceback" not in err
    assert _files(tmp_path) == before  # nothing created, not even a probe


def test_every_bad_path_is_named_at_once_and_a_read_only_folder_is_refused(
    tmp_path, capsys, monkeypatch
):
    locked = tmp_path / "locked"
    locked.mkdir()
    real = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kw):  # a folder this user cannot write to (tests run as root)
        if str(dir) == str(locked):
            raise PermissionError(13, "Permission denied")
        return real(*args, dir=dir, **kw)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    argv = _score_argv(tmp_path, "--out", str(locked / "s.csv"), "--rejects", "r.txt")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"--out must be in a folder this user can write to; {locked}: Permission denied" in err
    assert "--rejects must end in .csv or .parquet; found 'r.txt'" in err
    with pytest.raises(ValueError, match="scores must be in a folder this user can write to"):
        check_outputs(locked / "s.csv")


# -- a population with nobody in it -------------------------------------------------------------


def test_an_empty_population_writes_empty_scores_all_rejects_and_exits_1(
    fitted_model, small_cohort, results, tmp_path, capsys
):
    # a year after the cohort's first birth nobody is 24 months old
    first = small_cohort["children"]["birth_date"].min()
    as_of = (first + pd.DateOffset(months=12)).date().isoformat()
    write_tables(small_cohort, tmp_path / "extract")
    model = fitted_model.save(tmp_path / "model")
    out = tmp_path / "scores.csv"
    argv = ["score", str(tmp_path / "extract"), "--model", str(model), "--out", str(out)]
    assert main([*argv, "--as-of", as_of]) == 1
    err = capsys.readouterr().err
    n = len(small_cohort["children"])
    assert (
        f"No child is in the model's population at {as_of} (ages 24-120 months): {n:,} "
        "children read, all rejected ("
    ) in err
    assert "; nothing to score." in err
    assert "Found array" not in err and "Traceback" not in err and "warning: No child" not in err
    run = read_run(out)
    assert run.scores.empty and list(run.scores.columns) == list(results[AS_OF].scores.columns)
    assert out.read_text().strip() == ",".join(results[AS_OF].scores.columns)  # the header only
    assert run.rejects["child_id"].nunique() == n == run.counts["rejected"]
    assert run.rejects["reason"].notna().all()
    assert run.counts["scored"] == 0
    assert [w["kind"] for w in run.metadata["warnings"]][-1] == "nothing_to_score"
