"""SIGKILL a scoring run anywhere: a reader sees the previous complete run or the new one.

The driver is bench/kill_scoring.py (the 50,000-child version of this test): here it kills
runs on a small cohort at every publishing step and at random moments, in a subprocess.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from send_early import write_tables
from send_early.batch import read_run
from send_early.cli import main
from send_early.datasets import make_cohort

DRIVER = Path(__file__).resolve().parents[2] / "bench" / "kill_scoring.py"
AS_OF = ("2023-09-01", "2024-09-01")
PUBLISHED_AT = "manifest written"  # the step after which a run is the new one


@pytest.mark.slow  # about 10 s: a dozen scoring runs in subprocesses
def test_a_run_killed_anywhere_leaves_one_complete_run(fitted_model, tmp_path):
    write_tables(make_cohort(400, random_state=11), tmp_path / "cohort", format="csv")
    model = fitted_model.save(tmp_path / "model")
    expected = {}  # the files of each complete run, written here without any kill
    for as_of in AS_OF:
        out = tmp_path / f"ref_{as_of}" / "scores.csv"
        out.parent.mkdir()
        argv = ["score", str(tmp_path / "cohort"), "--model", str(model), "--as-of", as_of]
        assert main([*argv, "--out", str(out)]) == 0
        files = read_run(out).metadata["files"]
        expected[as_of] = (files["scores"]["sha256"], files["rejects"]["sha256"])
    assert expected[AS_OF[0]][1] != expected[AS_OF[1]][1]  # a mix would show in either file

    argv = [sys.executable, str(DRIVER), "--cohort", str(tmp_path / "cohort")]
    argv += ["--model", str(model), "--work", str(tmp_path / "work"), "--kills", "4", "--json"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    res = json.loads(done.stdout)
    attempts = res["attempts"]
    assert len(attempts) == 6 + 4
    for a in attempts:
        assert a["error"] is None, a
        assert a["seen"] in (a["before"], a["new"]), a
        assert (a["scores_sha256"], a["rejects_sha256"]) == expected[a["seen"]], a
        assert a["counts"]["input_children"] == a["counts"]["scored"] + a["counts"]["rejected"]
    steps = [a for a in attempts if a["kill"] == "step"]
    assert all(a["exit"] == -signal.SIGKILL for a in steps)
    published = [a["at"] for a in steps].index(PUBLISHED_AT)
    assert [a["seen"] == a["new"] for a in steps] == [i >= published for i in range(len(steps))]
    # the last complete run removed what the killed ones left
    assert res["last_exit"] == 0
    run = [p for p in res["left"] if p.count("/") == 1]
    assert len(run) == 1 and run[0].startswith(".scores.send-early-runs/")
    assert res["left"] == sorted(
        [
            ".scores.send-early-runs",
            run[0],
            f"{run[0]}/rejects.csv",
            f"{run[0]}/scores.csv",
            "scores.csv",
            "scores_rejects.csv",
            "scores_run.json",
        ]
    )
