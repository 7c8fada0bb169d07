"""Validation: every bad-input case is reported with table, column, rule and example ids."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from send_early import SchemaError, Tables, validate
from send_early.schema import TABLES, check_tables, coerce_column

from ..conftest import make_tiny_tables


def _replace(tables: Tables, name: str, df: pd.DataFrame) -> Tables:
    return tables.replace(**{name: df})


def _only(report, rule):
    p = report.problems
    return p[p["rule"] == rule]


def test_tiny_cohort_is_valid(tiny_tables):
    report = validate(tiny_tables)
    assert report.ok, report.to_text()
    assert report.problems.empty
    assert report.n_rows["children"] == 4


def test_missing_required_column_is_named(tiny_tables):
    df = tiny_tables["census"].drop(columns="sen_provision")
    report = validate(_replace(tiny_tables, "census", df))
    assert not report.ok
    row = _only(report, "missing_column").iloc[0]
    assert (row.table, row.column) == ("census", "sen_provision")
    with pytest.raises(
        SchemaError, match=r"census\.sen_provision is a required column and is missing"
    ):
        report.raise_for_errors()


def test_missing_children_table(tiny_tables):
    t = Tables({k: v for k, v in tiny_tables.items() if k != "children"}, tiny_tables.extract_date)
    report = validate(t)
    assert "missing_table" in set(report.problems["rule"])


def test_wrong_type_names_ids_without_values(tiny_tables):
    df = tiny_tables["attendance"].assign(possible_sessions=["140", "lots"])
    report = validate(_replace(tiny_tables, "attendance", df))
    row = _only(report, "type").iloc[0]
    assert (row.table, row.column, row.n_rows, row.example_ids) == (
        "attendance",
        "possible_sessions",
        1,
        "c2",
    )
    assert "whole number" in row.message
    assert "lots" not in row.message  # values of non-code columns are not echoed (privacy)


def test_bad_date_is_a_type_error(tiny_tables):
    df = tiny_tables["children"].assign(
        birth_date=["2017-10-02", "20/07/2018", "2019-01-15", "2016-12-01"]
    )
    report = validate(_replace(tiny_tables, "children", df))
    row = _only(report, "type").iloc[0]
    assert (row.table, row.column, row.example_ids) == ("children", "birth_date", "c2")


def test_unknown_code_lists_found_values(tiny_tables):
    df = tiny_tables["census"].assign(sen_provision=["N", "X", "S", "N"])
    report = validate(_replace(tiny_tables, "census", df))
    row = _only(report, "code").iloc[0]
    assert row.n_rows == 2
    assert row.message.startswith(
        "census.sen_provision must be one of N, K, E; found 'X', 'S' in 2 rows"
    )


def test_out_of_range_and_step(tiny_tables):
    df = tiny_tables["health_reviews"].assign(
        asq_communication=[50, 65, 60], asq_fine_motor=[45, 32, 60]
    )
    report = validate(_replace(tiny_tables, "health_reviews", df))
    assert set(zip(report.problems.column, report.problems.rule, strict=True)) == {
        ("asq_communication", "range"),
        ("asq_fine_motor", "step"),
    }


def test_duplicate_child_id(tiny_tables):
    ch = tiny_tables["children"]
    df = pd.concat([ch, ch.iloc[[1]]], ignore_index=True)
    report = validate(_replace(tiny_tables, "children", df))
    row = _only(report, "unique").iloc[0]
    assert (row.table, row.column, row.n_rows) == ("children", "child_id", 2)
    assert row.example_ids == "c2, c2"


def test_empty_child_id(tiny_tables):
    df = tiny_tables["children"].assign(child_id=["c1", "", "c3", None])
    report = validate(_replace(tiny_tables, "children", df))
    row = _only(report, "not_null").iloc[0]
    assert row.n_rows == 2 and row.example_ids == "row 2, row 4"


def test_orphan_child_id(tiny_tables):
    df = tiny_tables["referrals"].assign(child_id=["c99"])
    report = validate(_replace(tiny_tables, "referrals", df))
    row = _only(report, "orphan").iloc[0]
    assert (row.table, row.column, row.example_ids) == ("referrals", "child_id", "c99")


def test_event_before_birth(tiny_tables):
    df = tiny_tables["referrals"].assign(referral_date=["2017-01-01"])
    report = validate(_replace(tiny_tables, "referrals", df))
    row = _only(report, "before_birth").iloc[0]
    assert (row.table, row.column, row.example_ids) == ("referrals", "referral_date", "c2")


def test_date_in_the_future(tiny_tables):
    df = tiny_tables["sen_events"].assign(event_date=["2026-01-01"])
    report = validate(_replace(tiny_tables, "sen_events", df))
    row = _only(report, "after_extract").iloc[0]
    assert (row.table, row.column) == ("sen_events", "event_date")
    assert "2025-08-31" in row.message


def test_row_rules(tiny_tables):
    att = tiny_tables["attendance"].assign(
        authorised_absence=[150, 2], term_end=["2022-12-20", "2022-09-01"]
    )
    sc = tiny_tables["social_care"].assign(end_date=["2020-01-01"])
    ex = tiny_tables["exclusions"].assign(days=[0.0])
    asm = tiny_tables["assessments"].assign(value=[2, 41])
    report = validate(
        tiny_tables.replace(attendance=att, social_care=sc, exclusions=ex, assessments=asm)
    )
    got = set(zip(report.problems.table, report.problems.rule, strict=True))
    assert {
        ("attendance", "absence_sum"),
        ("attendance", "order"),
        ("social_care", "order"),
        ("exclusions", "range"),
        ("assessments", "measure_value"),
    } <= got


def test_unknown_column_is_a_warning(tiny_tables):
    df = tiny_tables["children"].assign(postcode="XX1")
    report = validate(_replace(tiny_tables, "children", df))
    assert report.ok
    row = report.problems.iloc[0]
    assert (row.severity, row.column, row.rule) == ("warning", "postcode", "unknown_column")


def test_every_problem_reported_at_once(tiny_tables):
    ch = tiny_tables["children"].assign(sex=["F", "Q", "M", "F"], imd_decile=[0, 7, None, 1])
    ref = tiny_tables["referrals"].assign(child_id=["c77"])
    report = validate(tiny_tables.replace(children=ch, referrals=ref))
    assert report.n_errors == 3
    with pytest.raises(SchemaError) as info:
        check_tables(tiny_tables.replace(children=ch, referrals=ref))
    msg = str(info.value)
    assert "children.sex" in msg and "children.imd_decile" in msg and "referrals.child_id" in msg
    assert info.value.report is not None


def test_report_json_and_text(tiny_tables):
    df = tiny_tables["census"].assign(sen_provision=["N", "X", "N", "N"])
    report = validate(_replace(tiny_tables, "census", df))
    d = json.loads(report.to_json())
    assert d["ok"] is False and d["problems"][0]["example_ids"] == ["c1"]
    assert "INVALID: 1 error(s)" in report.to_text()


def test_check_tables_types_everything(tiny_tables):
    typed = check_tables(tiny_tables)
    ch = typed["children"]
    assert str(ch["birth_date"].dtype) == "datetime64[s]"
    assert isinstance(ch["sex"].dtype, pd.CategoricalDtype)
    assert ch["ethnicity"].tolist()[1] == "Unclassified"  # documented: empty means Unclassified
    assert str(ch["imd_decile"].dtype) == "Int64"
    assert str(typed["census"]["fsm_eligible"].dtype) == "boolean"
    # the original frames are not modified
    assert tiny_tables["children"]["ethnicity"].isna().sum() == 1


def test_nothing_silently_coerced():
    col = TABLES["census"].column("fsm_eligible")
    out, bad = coerce_column(pd.Series(["true", "0", "maybe", None]), col)
    assert bad.tolist() == [False, False, True, False]
    col = TABLES["children"].column("imd_decile")
    out, bad = coerce_column(pd.Series(["3", "4.5", "x", None]), col)
    assert bad.tolist() == [False, True, True, False]


def test_numeric_ids_are_accepted_as_text(tiny_tables):
    ch = tiny_tables["children"].assign(child_id=[1, 2, 3, 4])
    t = Tables({"children": ch}, tiny_tables.extract_date, allow_missing=["sen_events"])
    assert validate(t).ok
    assert check_tables(t)["children"]["child_id"].tolist() == ["1", "2", "3", "4"]


def test_plain_dict_needs_dataframes():
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        validate({"children": [1, 2]}, extract_date="2025-08-31")
    with pytest.raises(TypeError, match="mapping of table name"):
        validate([1, 2])


# -- hypothesis: a single corruption of each kind is reported -------------------------------

CORRUPTIONS = {
    "code": ("census", "sen_provision", "Z"),
    "range": ("children", "gestation_weeks", 50),
    "type": ("attendance", "possible_sessions", "many"),
    "orphan": ("referrals", "child_id", "nobody"),
    "before_birth": ("referrals", "referral_date", "2001-01-01"),
    "after_extract": ("assessments", "assessment_date", "2030-01-01"),
    "step": ("health_reviews", "asq_gross_motor", 33),
    "not_null": ("census", "school_id", None),
}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kind=st.sampled_from(sorted(CORRUPTIONS)), data=st.data())
def test_single_corruption_is_reported(kind, data):
    tables = make_tiny_tables()
    table, column, value = CORRUPTIONS[kind]
    df = tables[table].copy()
    i = data.draw(st.integers(0, len(df) - 1), label="row")
    df[column] = df[column].astype(object)
    df.loc[df.index[i], column] = value
    report = validate(tables.replace(**{table: df}))
    p = report.problems
    hit = p[(p.table == table) & (p.column == column) & (p.rule == kind)]
    assert len(hit) == 1, report.to_text()
    assert hit.iloc[0].n_rows == 1
    expected_id = df["child_id"].iloc[i] if column != "child_id" else value
    assert hit.iloc[0].example_ids == expected_id
    assert not report.ok


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 40), dup=st.integers(0, 39))
def test_duplicates_counted_exactly(n, dup):
    ids = [f"c{i}" for i in range(n)]
    if dup < n and n > 1:
        ids[dup] = ids[(dup + 1) % n]
    ch = pd.DataFrame(
        {
            "child_id": ids,
            "birth_date": "2018-01-01",
            "sex": "F",
            "ethnicity": None,
            "imd_decile": np.nan,
            "gestation_weeks": np.nan,
            "birth_weight_g": np.nan,
            "moved_out_date": None,
        }
    )
    report = validate({"children": ch}, extract_date="2025-08-31")
    n_dup = int(pd.Series(ids).duplicated(keep=False).sum())
    got = report.problems.query("rule == 'unique'")
    assert (got.n_rows.sum() if len(got) else 0) == n_dup


def test_provision_without_an_earlier_record_is_a_warning(tiny_tables):
    census = tiny_tables["census"].assign(sen_provision=["N", "E", "K", "N"])
    report = validate(_replace(tiny_tables, "census", census))
    assert report.ok
    got = _only(report, "consistency")
    assert list(zip(got.severity, got.column, got.example_ids, got.message, strict=True)) == [
        (
            "warning",
            "sen_provision",
            "c2",
            "census.sen_provision K or E should follow a sen_events record on or before "
            "census_date; found none in 1 row (child_id c2).",
        ),
        (
            "warning",
            "sen_provision",
            "c1",
            "census.sen_provision E should follow an ehcp event on or before census_date; "
            "found none in 1 row (child_id c1).",
        ),
    ]
