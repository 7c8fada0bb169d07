"""Contract v2: health_reviews.asq_interval_months is optional and checked when given."""

from __future__ import annotations

import pandas as pd

from send_early.schema import CONTRACT_VERSION, check_tables, read_tables, validate, write_tables


def test_version_1_folder_validates_with_a_note(tiny_tables, tmp_path):
    assert CONTRACT_VERSION == "3"
    assert "asq_interval_months" not in tiny_tables["health_reviews"]
    report = validate(tiny_tables)
    assert report.ok and report.problems.empty, report.to_text()
    assert any("asq_interval_months" in n and "cut-off" in n for n in report.notes)
    assert "NOTE" in report.to_text() and report.to_dict()["notes"] == list(report.notes)
    typed = check_tables(tiny_tables)  # read as an empty column of the contract dtype
    col = typed["health_reviews"]["asq_interval_months"]
    assert str(col.dtype) == "Int64" and col.isna().all()


def test_interval_is_read_back_and_checked(tiny_tables, tmp_path):
    hr = tiny_tables["health_reviews"]
    ok = hr.assign(asq_interval_months=pd.array([12, 27][: len(hr)] * len(hr), "Int64")[: len(hr)])
    report = validate(tiny_tables.replace(health_reviews=ok))
    assert report.ok and not [n for n in report.notes if "asq_interval" in n], report.to_text()
    write_tables(tiny_tables.replace(health_reviews=ok), tmp_path, format="csv")
    back = read_tables(tmp_path)
    assert (
        back["health_reviews"]["asq_interval_months"].tolist() == ok["asq_interval_months"].tolist()
    )
    bad = hr.assign(asq_interval_months=pd.array([25] * len(hr), "Int64"))
    p = validate(tiny_tables.replace(health_reviews=bad)).problems
    row = p.query("column == 'asq_interval_months'")
    assert row["rule"].tolist() == ["asq_interval"] and row["n_rows"].item() == len(hr)
    assert "must be an ASQ-3 interval (2, 4, 6" in row["message"].item()
