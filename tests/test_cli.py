"""The command line: exit codes and messages (no tracebacks for bad data)."""

from __future__ import annotations

import json

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
