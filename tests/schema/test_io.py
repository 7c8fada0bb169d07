"""Reading and writing folders of contract tables."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from send_early import SchemaError, read_tables, validate, write_tables
from send_early.schema import atomic_write, contract_markdown

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trip_keeps_every_row_and_type(tiny_tables, tmp_path, fmt):
    write_tables(tiny_tables, tmp_path, format=fmt)
    back = read_tables(tmp_path)
    assert back.extract_date == tiny_tables.extract_date
    assert {k: len(v) for k, v in back.items()} == {k: len(v) for k, v in tiny_tables.items()}
    assert validate(back).ok
    assert str(back["census"]["census_date"].dtype) == "datetime64[s]"
    assert isinstance(back["sen_events"]["event"].dtype, pd.CategoricalDtype)
    assert json.loads((tmp_path / "manifest.json").read_text())["contract_version"] == "1"


def test_mixed_formats_and_bad_values_survive_reading(tiny_tables, tmp_path):
    write_tables(tiny_tables, tmp_path, format="parquet")
    (tmp_path / "census.parquet").unlink()
    bad = tiny_tables["census"].assign(sen_provision=["N", "K", "Q", "N"])
    bad.to_csv(tmp_path / "census.csv", index=False)
    t = read_tables(tmp_path)
    # the bad column is kept as read, not coerced to missing
    assert t["census"]["sen_provision"].tolist() == ["N", "K", "Q", "N"]
    report = validate(t)
    assert report.problems.iloc[0]["rule"] == "code"


def test_table_given_twice_is_refused(tiny_tables, tmp_path):
    write_tables(tiny_tables, tmp_path, format="csv")
    tiny_tables["referrals"].to_parquet(tmp_path / "referrals.parquet")
    with pytest.raises(SchemaError, match="referrals is given twice"):
        read_tables(tmp_path)


def test_missing_folder_and_bad_manifest(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        read_tables(tmp_path / "nope")
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(SchemaError, match="manifest.json must be JSON"):
        read_tables(tmp_path)


def test_unreadable_file_names_the_table(tmp_path):
    (tmp_path / "children.parquet").write_bytes(b"not parquet")
    with pytest.raises(SchemaError, match="children: could not read children.parquet"):
        read_tables(tmp_path)


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "scores.csv"
    target.write_text("old")

    def boom(p):
        p.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, boom)
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_contract_docs_are_generated_from_code():
    page = (ROOT / "docs" / "data_contract.md").read_text()
    assert page == contract_markdown(), (
        "regenerate: python -c 'import send_early.schema as s; print(s.contract_markdown(), end=\"\")' > docs/data_contract.md"
    )
