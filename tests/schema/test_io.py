"""Reading and writing folders of contract tables."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from send_early import SchemaError, read_tables, validate, write_tables
from send_early.schema import atomic_write, contract_markdown, parse_iso_date

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
    assert json.loads((tmp_path / "manifest.json").read_text())["contract_version"] == "3"


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
    with pytest.raises(SchemaError, match="children: children.parquet is not a Parquet file"):
        read_tables(tmp_path, extract_date="2025-08-31")


def test_a_missing_manifest_is_refused_never_today(tiny_tables, tmp_path):
    write_tables(tiny_tables, tmp_path)
    (tmp_path / "manifest.json").unlink()
    with pytest.raises(
        SchemaError,
        match=r"must hold manifest.json with the extract date; found none in .*--extract-date",
    ):
        read_tables(tmp_path)
    t = read_tables(tmp_path, extract_date="2025-08-31")
    assert t.extract_date == pd.Timestamp("2025-08-31")
    with pytest.raises(ValueError, match="extract_date must be an ISO date, YYYY-MM-DD"):
        read_tables(tmp_path, extract_date="31/08/2025")


@pytest.mark.parametrize(
    ("manifest", "match"),
    [
        ({"contract_version": "1"}, "manifest.json must give extract_date; found no extract_date"),
        (
            {"extract_date": "01/02/2025"},
            r"extract_date must be an ISO date, YYYY-MM-DD .* found '01/02/2025'",
        ),
        ({"extract_date": "2025-02-30"}, "not a day of the calendar"),
    ],
)
def test_manifest_extract_date_must_be_iso(tiny_tables, tmp_path, manifest, match):
    write_tables(tiny_tables, tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SchemaError, match=match):
        read_tables(tmp_path)
    # an explicit date overrides the manifest
    assert read_tables(tmp_path, extract_date="2025-08-31").extract_date.year == 2025


@pytest.mark.parametrize(
    "text",
    ["01/02/2023", "15/01/2026", "2023-1-2", "20230102", "2023-01-02T00:00", "", "2023-13-01"],
)
def test_parse_iso_date_refuses_every_other_form(text):
    with pytest.raises(ValueError, match="as_of must be an ISO date, YYYY-MM-DD"):
        parse_iso_date(text, what="as_of")


def test_parse_iso_date_reads_iso_and_dates():
    import datetime as dt

    assert parse_iso_date("2023-01-02") == pd.Timestamp("2023-01-02")
    assert parse_iso_date(dt.date(2023, 1, 2)) == pd.Timestamp("2023-01-02")
    assert parse_iso_date(pd.Timestamp("2023-01-02 13:00")) == pd.Timestamp("2023-01-02")
    with pytest.raises(ValueError, match="found Timestamp"):
        parse_iso_date(pd.Timestamp("2023-01-02", tz="UTC"))


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
