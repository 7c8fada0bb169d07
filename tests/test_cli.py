"""The command line: exit codes and messages (no tracebacks for bad data)."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from send_early import write_tables
from send_early.cli import main


def test_validate_ok(tiny_tables, tmp_path, capsys):
    write_tables(tiny_tables, tmp_path, format="csv")
    assert main(["validate", str(tmp_path)]) == 0
    assert "VALID: 0 error(s)" in capsys.readouterr().out


def test_validate_invalid_exit_1_and_json(tiny_tables, tmp_path, capsys):
    bad = tiny_tables.replace(
        census=tiny_tables["census"].assign(sen_provision=["N", "X", "N", "N"])
    )
    write_tables(bad, tmp_path, format="csv")
    assert main(["validate", str(tmp_path), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False
    p = out["problems"][0]
    assert (p["table"], p["column"], p["rule"], p["example_ids"]) == (
        "census",
        "sen_provision",
        "code",
        ["c1"],
    )


def test_validate_missing_folder_is_exit_1_without_traceback(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err
    assert "is not a folder" in err and "Traceback" not in err


def test_usage_error_is_exit_2(capsys):
    import pytest

    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


def _score_args(tmp_path, capacity: str) -> list[str]:
    return [
        "score",
        str(tmp_path / "nope"),
        "--model",
        str(tmp_path / "no_model"),
        "--as-of",
        "2024-01-15",
        "--out",
        str(tmp_path / "scores.csv"),
        f"--capacity={capacity}",
    ]


@pytest.mark.parametrize(
    ("capacity", "found"),
    [("0", "'0'"), ("-5", "'-5'"), ("150%", "'150%'"), ("2.5", "'2.5'"), ("lots", "'lots'")],
)
def test_score_refuses_a_bad_capacity_before_any_work(tmp_path, capsys, capacity, found):
    # the tables folder does not exist: a usage error (2), not a data error (1), shows the
    # capacity was refused before anything was read
    with pytest.raises(SystemExit) as info:
        main(_score_args(tmp_path, capacity))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--capacity: capacity must be a number of children of 1 or more" in err
    assert f"found {found}" in err and "Traceback" not in err


@pytest.mark.parametrize("capacity", ["5%", "0.05", "200", "100%"])
def test_score_accepts_counts_shares_and_percentages(tmp_path, capsys, capacity):
    # accepted while parsing: the run goes on and fails only on the missing tables folder
    assert main(_score_args(tmp_path, capacity)) == 1
    assert "is not a folder" in capsys.readouterr().err


def test_unparseable_csv_is_reported(tmp_path, capsys):
    pd.DataFrame({"child_id": ["a"]}).to_csv(tmp_path / "children.csv", index=False)
    (tmp_path / "manifest.json").write_text('{"extract_date": "2025-08-31"}')
    assert main(["validate", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "children.birth_date is a required column and is missing" in out


def test_synth_output_passes_validate(tmp_path, capsys):
    for fmt in ("csv", "parquet"):
        out = tmp_path / fmt
        assert (
            main(["synth", "--children", "300", "--seed", "3", "--out", str(out), "--format", fmt])
            == 0
        )
        assert (out / f"children.{fmt}").exists() and (out / "manifest.json").exists()
        assert main(["validate", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Wrote a synthetic cohort of 300 children" in text
    assert text.count("VALID: 0 error(s), 0 warning(s).") == 2


# -- strict options: checked before any table is read ----------------------------------------

BAD_DATES = ["01/02/2023", "15/01/2026", "2026-1-15", "20260115", "2026-02-30", "next monday"]


@pytest.mark.parametrize("date", BAD_DATES)
@pytest.mark.parametrize(
    "command",
    [
        ["score", "{dir}", "--model", "{dir}/m", "--out", "s.csv", "--as-of", "{date}"],
        [
            "score",
            "{dir}",
            "--model",
            "m",
            "--out",
            "s.csv",
            "--as-of",
            "2025-01-01",
            "--extract-date",
            "{date}",
        ],
        ["evaluate", "{dir}", "--model", "m", "--as-of", "{date}"],
        ["train", "{dir}", "--as-of-dates", "2019-09-01,{date}"],
        ["validate", "{dir}", "--extract-date", "{date}"],
        ["synth", "--out", "{dir}", "--extract-date", "{date}"],
    ],
    ids=["score", "score-extract", "evaluate", "train", "validate", "synth"],
)
def test_dates_must_be_iso_usage_error_before_anything_is_read(tmp_path, capsys, command, date):
    # the folder does not exist: the date is reported (exit 2), not the folder (exit 1)
    missing = str(tmp_path / "nope")
    argv = [a.format(dir=missing, date=date) for a in command]
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "must be an ISO date, YYYY-MM-DD (e.g. 2026-01-15)" in err
    assert f"found '{date}'" in err
    assert "scoring" not in err and "Traceback" not in err
    assert not (tmp_path / "nope").exists()


def _manifest_only(folder, extract="2025-08-31"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({"extract_date": extract}))
    return folder


def test_as_of_after_the_extract_date_is_refused_naming_it(tmp_path, capsys):
    # only a manifest and no model: the as-of date is refused first
    d = _manifest_only(tmp_path / "extract")
    argv = ["score", str(d), "--model", str(tmp_path / "m"), "--out", str(tmp_path / "s.csv")]
    assert main([*argv, "--as-of", "2026-01-15"]) == 2
    err = capsys.readouterr().err
    assert "--as-of must be on or before the extract date 2025-08-31; found 2026-01-15" in err
    assert "scoring" not in err
    # --extract-date overrides the manifest: now the as-of is fine and the missing model is next
    assert main([*argv, "--as-of", "2026-01-15", "--extract-date", "2026-01-31"]) == 1
    assert "model must be a RiskModel, a folder" in capsys.readouterr().err
    assert main(["evaluate", str(d), "--model", "m", "--as-of", "2025-09-01"]) == 2
    assert "extract date 2025-08-31; found 2025-09-01" in capsys.readouterr().err
    assert main(["train", str(d), "--as-of-dates", "2019-09-01,2025-09-01,2026-01-01"]) == 2
    assert "found 2025-09-01, 2026-01-01" in capsys.readouterr().err


def test_a_folder_without_manifest_needs_extract_date(tiny_tables, tmp_path, capsys):
    write_tables(tiny_tables, tmp_path)
    (tmp_path / "manifest.json").unlink()
    assert main(["validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "must hold manifest.json with the extract date; found none" in err
    assert "--extract-date" in err
    argv = ["score", str(tmp_path), "--model", "m", "--out", "s.csv", "--as-of", "2025-01-01"]
    assert main(argv) == 1
    assert "manifest.json" in capsys.readouterr().err
    assert main(["validate", str(tmp_path), "--extract-date", "2025-08-31"]) == 0
    assert "extract date 2025-08-31" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--out", "scores.txt", "must end in .csv or .parquet; found 'scores.txt'"),
        ("--max-reject-share", "5", "the share must be a number from 0 to 1"),
        ("--max-reject-share", "-0.1", "the share must be a number from 0 to 1"),
    ],
)
def test_score_options_are_usage_errors(tmp_path, capsys, option, value, message):
    argv = ["score", str(tmp_path / "nope"), "--model", "m", "--as-of", "2025-01-01"]
    argv += ["--out", "s.csv", option, value]
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_no_progress_bar_before_an_error(tiny_tables, tmp_path, capsys):
    write_tables(tiny_tables, tmp_path / "extract")
    argv = ["score", str(tmp_path / "extract"), "--model", str(tmp_path / "no_model")]
    assert main([*argv, "--as-of", "2024-01-15", "--out", str(tmp_path / "s.csv")]) == 1
    err = capsys.readouterr().err
    assert "model must be a RiskModel" in err
    assert "scoring" not in err and "chunk" not in err


def test_broken_pipe_exits_141_without_a_traceback(tiny_tables, tmp_path):
    # `send-early validate DIR --json | head`: the reader goes away before the report is written
    import subprocess
    import sys

    write_tables(tiny_tables, tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "send_early", "validate", str(tmp_path), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # what `head` does once it has what it wants
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert err == ""
    # and in a real shell pipeline (pipefail shows our status), quiet either way
    shell = subprocess.run(
        [
            "bash",
            "-c",
            f"set -o pipefail; {sys.executable} -m send_early validate {tmp_path} --json "
            "| head -c 10",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shell.returncode in (0, 141)
    assert shell.stdout.startswith("{") and len(shell.stdout) == 10
    assert "Traceback" not in shell.stderr and "BrokenPipe" not in shell.stderr


def test_train_shows_stages_and_names_each_failed_check(
    small_cohort, fast_spec_path, tmp_path, capsys
):
    write_tables(small_cohort, tmp_path / "extract")
    argv = ["train", str(tmp_path / "extract"), "--model-spec", str(fast_spec_path)]
    argv += ["--out", str(tmp_path / "model"), "--no-backtest"]
    argv += ["--as-of-dates", "2018-09-01,2019-09-01,2020-09-01,2021-09-01"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    # stage lines on stderr, each with the time since the start, from reading to done
    stages = [line for line in captured.err.splitlines() if line.startswith("  [")]
    assert re.match(r"  \[\s*\d+ s\] reading ", stages[0])
    assert any("fitting additive model" in s for s in stages)
    assert any("model card" in s for s in stages) and stages[-1].endswith("] done")
    card = json.loads(next((tmp_path / "model").glob("*_card.json")).read_text())
    failed = [c for c in card["checks"] if c["passed"] is False]
    out = captured.out
    assert "see card" not in out
    if failed:
        assert f"{len(failed)} of {len(card['checks'])} FAILED" in out
        assert f"Model card checks failed ({len(failed)} of {len(card['checks'])}):" in out
        for c in failed:
            assert f"  {c['name']}: {c['value_text']}, must be {c['rule']}." in out
    else:
        assert f"{len(card['checks'])} of {len(card['checks'])} passed" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["registry", "grant", "asmith", "owner"],  # roles: analyst or reviewer
        ["registry"],  # an action is required
        ["registry", "setup", "risk", "--password", "x"],  # no password flags
        ["promote", "risk", "1"],  # --note is required
        ["demote", "risk"],
    ],
)
def test_registry_commands_refuse_bad_usage_with_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_registry_setup_on_the_embedded_store_is_refused_in_one_line(tmp_path, capsys):
    from send_early.registry import open_store

    store = open_store(tmp_path / "store").path
    assert main(["registry", "grant", "asmith", "analyst", "--store", str(store)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "need an MLflow server with basic-auth" in err
