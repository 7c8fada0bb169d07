"""Contract v3: children.locality is optional, checked as text when given; v1/v2 folders read."""

from __future__ import annotations

import json

import pandas as pd

from send_early.schema import CONTRACT_VERSION, check_tables, read_tables, validate, write_tables


def test_a_folder_without_locality_still_reads_and_validates_with_a_note(tiny_tables, tmp_path):
    assert CONTRACT_VERSION == "3"
    assert "locality" not in tiny_tables["children"]
    report = validate(tiny_tables)
    assert report.ok and report.problems.empty, report.to_text()
    assert any("children.locality is absent" in n and "not_on_roll" in n for n in report.notes)
    write_tables(tiny_tables, tmp_path, format="csv")
    manifest = tmp_path / "manifest.json"  # a folder written by a v2 release
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "contract_version": "2"}))
    back = read_tables(tmp_path)
    assert validate(back).ok
    col = check_tables(back)["children"]["locality"]  # read as an empty text column
    assert col.isna().all() and pd.api.types.is_string_dtype(col)


def test_locality_is_read_back_as_text(tiny_tables, tmp_path):
    kids = tiny_tables["children"]
    teams = pd.array((["L1", "L2", None] * len(kids))[: len(kids)], dtype="str")
    tables = tiny_tables.replace(children=kids.assign(locality=teams))
    report = validate(tables)
    assert report.ok and not [n for n in report.notes if "locality" in n], report.to_text()
    write_tables(tables, tmp_path, format="parquet")
    back = read_tables(tmp_path)["children"]["locality"]
    assert back.fillna("").tolist() == pd.Series(teams).fillna("").tolist()


def test_a_locality_of_the_wrong_type_is_refused_by_name(tiny_tables):
    kids = tiny_tables["children"]
    bad = kids.assign(locality=pd.array([1.5] * len(kids), dtype="Float64"))  # numbers
    report = validate(tiny_tables.replace(children=bad))
    assert not report.ok
    row = report.problems.query("column == 'locality'")
    assert row["rule"].tolist() == ["type"] and row["n_rows"].item() == len(kids)
    assert "children.locality must be text; found values that are not" in row["message"].item()
    mixed = kids.assign(locality=pd.Series(["L1", 3] + [None] * (len(kids) - 2), dtype=object))
    row = validate(tiny_tables.replace(children=mixed)).problems.query("column == 'locality'")
    assert row["rule"].tolist() == ["type"] and row["n_rows"].item() == 1
