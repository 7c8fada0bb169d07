"""The command line after scoring: record-outcomes (exit codes, messages, no child rows)."""

from __future__ import annotations

import json

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


# -- transparency: a real store, a version logged with a card and approved by another person


@pytest.fixture(scope="module")
def approved_store(tmp_path_factory, fitted_model):
    import json

    from send_early.registry import log_model, promote

    root = tmp_path_factory.mktemp("atrs")
    card = root / "card.json"
    card.write_text(
        json.dumps(
            {
                "schema": "send_early.model_card/1",
                "schema_version": 1,
                "checks": [{"name": "ece_below_threshold", "passed": True}],
                "outcome": {"text": "Chance of SEN support within 24 months."},
                "limitations": ["Identified SEN is not need."],
            }
        )
    )
    log_model(fitted_model, card_paths=[card], registered_name="risk", tracking_uri=root / "s")
    promote("risk", 1, reviewer="second", note="ok", tracking_uri=root / "s")
    return root, card


def test_transparency_writes_record_and_dpia(approved_store, tmp_path, capsys):
    root, card = approved_store
    out = tmp_path / "atrs"
    argv = ["transparency", "risk", "1", "--out", str(out), "--store", str(root / "s")]
    assert main([*argv, "--card", str(card)]) == 0
    said = capsys.readouterr().out
    assert "fields are for a person to complete" in said
    record = json.loads((out / "transparency.json").read_text())
    fields = record["sections"]["tier_1"]["fields"]
    assert fields["description"]["value"].startswith("Chance of SEN support")
    assert record["sections"]["metadata"]["fields"]["phase"]["value"] == "Production"
    assert (out / "dpia.html").read_text().startswith("<!DOCTYPE html>")


def test_transparency_refuses_another_card(approved_store, tmp_path, capsys):
    root, _ = approved_store
    other = tmp_path / "other.json"
    other.write_text("{}")
    argv = ["transparency", "risk", "1", "--out", str(tmp_path / "o"), "--store", str(root / "s")]
    assert main([*argv, "--card", str(other)]) == 1
    assert "must be the one registered" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing written
    assert main([*argv, "--card", str(tmp_path / "missing.json")]) == 2
    assert (
        main(
            ["transparency", "risk", "9", "--out", str(tmp_path / "o"), "--store", str(root / "s")]
        )
        == 1
    )


# -- monitor: published runs in, an HTML report out


def _published(tmp_path, as_of, flagged, drift=()):
    import numpy as np

    from send_early.batch import REJECT_COLUMNS, ScoringResult, write_run

    ids = [f"c{i:03d}" for i in range(100)]
    scores = pd.DataFrame(
        {
            "child_id": pd.array(ids, dtype="str"),
            "as_of": pd.Timestamp(as_of),
            "risk": np.linspace(0.3, 0.01, 100),
            "rank": np.arange(1, 101),
            "flagged": np.isin(ids, flagged),
        }
    )
    counts = {"input_children": 100, "scored": 100, "rejected": 0, "flagged": len(flagged)}
    meta = {
        "as_of": as_of,
        "model": {"name": "m", "version": "1", "uri": "models:/risk/1"},
        "counts": counts,
        "drift": [{"name": n, "psi": p, "status": "alert"} for n, p in drift],
        "warnings": [],
    }
    rejects = pd.DataFrame({c: pd.Series([], dtype="str") for c in REJECT_COLUMNS})
    res = ScoringResult(scores=scores, rejects=rejects, counts=counts, metadata=meta)
    return write_run(res, tmp_path / f"scores_{as_of}.csv")


def test_monitor_writes_the_report(tmp_path, capsys):
    ids = [f"c{i:03d}" for i in range(100)]
    runs = [
        _published(tmp_path, "2024-01-15", ids[:20]),
        _published(tmp_path, "2024-09-01", ids[5:25], drift=[("imd_decile", 0.4)]),
    ]
    log = tmp_path / "log.sqlite"
    rows = pd.DataFrame(
        {
            "child_id": ids[:12],
            "model_name": "risk",
            "model_version": "1",
            "as_of": "2024-01-15",
            "outcome": "sen_support_started",
            "outcome_date": "2024-03-01",
        }
    )
    from send_early.outcomes import record_outcomes

    record_outcomes(rows, log=log)
    argv = ["monitor", "risk", "--runs", *map(str, runs), "--out", str(tmp_path / "mon")]
    assert main([*argv, "--log", str(log)]) == 0
    out = capsys.readouterr().out
    assert "1 drift alert(s): imd_decile (2024-09-01 (v1))" in out
    page = (tmp_path / "mon" / "monitor.html").read_text()
    assert "What followed flags" in page and "Precision so far" in page
    assert "c001" not in page
    assert main([*argv, "--known-shift", "imd_decile"]) == 0
    assert "0 drift alert(s)." in capsys.readouterr().out


def test_monitor_usage_errors(tmp_path):
    out = ["--out", str(tmp_path / "mon")]
    assert main(["monitor", "risk", "--runs", str(tmp_path / "none_run.json"), *out]) == 2
    run = _published(tmp_path, "2024-01-15", ["c001"])
    with pytest.raises(SystemExit) as info:  # refused while parsing
        main(["monitor", "risk", "--runs", str(run), "--horizon-months", "0", *out])
    assert info.value.code == 2
    assert main(["monitor", "other", "--runs", str(run), *out]) == 1  # no run of that model


def test_out_must_be_a_folder_and_the_horizon_a_count(tmp_path, capsys):
    run = _published(tmp_path, "2024-01-15", ["c001"])
    a_file = tmp_path / "taken.txt"
    a_file.write_text("not a folder")
    assert main(["monitor", "risk", "--runs", str(run), "--out", str(a_file)]) == 2
    assert f"--out must be a folder; {a_file} is a file." in capsys.readouterr().err
    argv = ["lists", str(tmp_path), "--model", "m", "--as-of", "2024-01-15"]
    assert main([*argv, "--out", str(a_file)]) == 2
    assert f"--out must be a folder for the lists; {a_file} is a file." in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(
            ["monitor", "risk", "--runs", str(run), "--out", str(tmp_path / "m")]
            + ["--horizon-months", "two"]
        )
    assert info.value.code == 2
    assert "the horizon must be a whole number of months, 1 or more; found 'two'." in (
        capsys.readouterr().err
    )
