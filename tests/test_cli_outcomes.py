"""The command line after scoring: record-outcomes (exit codes, messages, no child rows)."""

from __future__ import annotations

import pandas as pd
import pytest

from send_early.cli import main
from send_early.outcomes import read_outcomes


def outcome_file(tmp_path, n=20, bad=()):
    df = pd.DataFrame(
        {
            "child_id": [f"c{i:03d}" for i in range(n)],
            "model_name": "risk",
            "model_version": "2",
            "as_of": "2025-01-15",
            "outcome": "reviewed",
            "outcome_date": "2025-02-01",
            "priority": range(n),
        }
    )
    for i in bad:
        df.loc[i, "outcome"] = "perhaps"
    path = tmp_path / "outcomes.csv"
    df.to_csv(path, index=False)
    return path


def test_record_outcomes_ok(tmp_path, capsys):
    log = tmp_path / "log.sqlite"
    assert main(["record-outcomes", str(outcome_file(tmp_path)), "--log", str(log)]) == 0
    out = capsys.readouterr().out
    assert "recorded 20" in out and "Ignored columns (not stored): priority" in out
    assert len(read_outcomes(log=log)) == 20


def test_record_outcomes_bad_file_exit_1_names_rule_and_ids(tmp_path, capsys):
    log = tmp_path / "log.sqlite"
    rc = main(["record-outcomes", str(outcome_file(tmp_path, bad=(3, 4))), "--log", str(log)])
    assert rc == 1
    err = capsys.readouterr().err
    assert "outcomes.outcome (allowed_values)" in err
    assert "c003, c004" in err and "nothing was recorded" in err
    assert "Traceback" not in err


def test_record_outcomes_with_rejects(tmp_path, capsys):
    log, rej = tmp_path / "log.sqlite", tmp_path / "rejects.csv"
    src = outcome_file(tmp_path, bad=(3,))
    assert main(["record-outcomes", str(src), "--log", str(log), "--rejects", str(rej)]) == 0
    out = capsys.readouterr().out
    assert "recorded 19" in out and "rejected 1" in out
    assert "c003" not in out  # counts only on screen; ids go to the rejects file
    assert pd.read_csv(rej)["child_id"].tolist() == ["c003"]


@pytest.mark.parametrize(
    "argv",
    [
        ["record-outcomes", "outcomes.txt", "--log", "x.sqlite"],
        ["record-outcomes", "o.csv", "--rejects", "o.csv", "--log", "x.sqlite"],
    ],
)
def test_record_outcomes_usage_errors(argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2


def test_record_outcomes_store_must_exist(tmp_path, capsys):
    rc = main(["record-outcomes", str(outcome_file(tmp_path)), "--store", str(tmp_path / "s")])
    assert rc == 1
    assert "A model store must exist" in capsys.readouterr().err
