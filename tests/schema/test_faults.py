"""Input faults (issue 16): required tables, header and encoding faults, strict dates, bounds.

Every fault is named (table, column, rule, example ids or row numbers) without a traceback and
without echoing the data values that were found.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from send_early import SchemaError, Tables, read_tables, score, validate, write_tables
from send_early.cli import main
from send_early.schema import TABLES, check_tables, parse_iso_date, parse_iso_dates

AS_OF = "2023-09-01"


def _rules(report, table=None):
    p = report.problems
    return set(p["rule"] if table is None else p.loc[p["table"] == table, "rule"])


def _without(tables, name):
    return Tables({k: v for k, v in tables.items() if k != name}, tables.extract_date)


@pytest.fixture
def folder(tiny_tables, tmp_path):
    write_tables(tiny_tables, tmp_path / "extract", format="csv")
    return tmp_path / "extract"


@pytest.fixture(scope="module")
def saved_model(fitted_model, tmp_path_factory):
    return fitted_model.save(tmp_path_factory.mktemp("model") / "m")


# -- 1. required tables ---------------------------------------------------------------------


def test_required_and_optional_tables_are_declared_in_the_contract():
    required = {n for n, t in TABLES.items() if t.required}
    assert required == {"children", "sen_events"}


def test_missing_sen_events_fails_validation_naming_the_table(tiny_tables):
    report = validate(_without(tiny_tables, "sen_events"))
    assert not report.ok
    hit = report.problems.query("rule == 'missing_table'")
    assert hit[["severity", "table"]].values.tolist() == [["error", "sen_events"]]
    assert "already identified" in hit.iloc[0]["message"]
    assert "--allow-missing-table sen_events" in hit.iloc[0]["message"]
    with pytest.raises(SchemaError, match="sen_events is required"):
        check_tables(_without(tiny_tables, "sen_events"))


def test_allow_missing_is_an_explicit_opt_out_with_a_warning(tiny_tables):
    t = Tables(
        {k: v for k, v in tiny_tables.items() if k != "sen_events"},
        tiny_tables.extract_date,
        allow_missing=("sen_events",),
    )
    report = validate(t)
    assert report.ok
    hit = report.problems.query("rule == 'missing_table'")
    assert hit[["severity", "table"]].values.tolist() == [["warning", "sen_events"]]
    # the opt-out travels with the tables (replace, check_tables) and can be given to validate
    assert check_tables(t).allow_missing == ("sen_events",)
    assert t.replace(children=t["children"]).allow_missing == ("sen_events",)
    assert validate(_without(tiny_tables, "sen_events"), allow_missing=["sen_events"]).ok
    with pytest.raises(ValueError, match="allow_missing cannot include children"):
        Tables({}, "2025-08-31", allow_missing=["children"])
    with pytest.raises(ValueError, match="allow_missing must name contract tables"):
        validate(tiny_tables, allow_missing=["sen_event"])


def test_a_folder_without_sen_events_fails_read_and_validate_unless_allowed(folder, capsys):
    (folder / "sen_events.csv").unlink()
    assert not validate(read_tables(folder)).ok
    assert validate(read_tables(folder, allow_missing=("sen_events",))).ok
    assert main(["validate", str(folder)]) == 1
    assert "ERROR   sen_events is required" in capsys.readouterr().out
    assert main(["validate", str(folder), "--allow-missing-table", "sen_events"]) == 0
    assert "WARNING sen_events is required but was allowed to be missing" in (
        capsys.readouterr().out
    )
    with pytest.raises(SystemExit) as info:
        main(["validate", str(folder), "--allow-missing-table", "children"])
    assert info.value.code == 2
    assert "--allow-missing-table must name a required table" in capsys.readouterr().err


def test_scoring_refuses_missing_sen_events_unless_allowed(fitted_model, small_cohort):
    without = _without(small_cohort, "sen_events")
    with pytest.raises(SchemaError, match="cannot score: sen_events is required"):
        score(fitted_model, without, AS_OF)
    full = score(fitted_model, small_cohort, AS_OF)
    allowed = Tables(dict(without), small_cohort.extract_date, allow_missing=["sen_events"])
    res = score(fitted_model, allowed, AS_OF)
    # the documented consequence: children identified only through sen_events are scored
    assert res.counts["scored"] > full.counts["scored"]
    assert res.counts["input_children"] == full.counts["input_children"]
    # ... and the run says so, on the terminal and in its record
    said = [w for w in res.warnings if w.startswith("sen_events was not given (allowed missing)")]
    assert len(said) == 1 and not [w for w in full.warnings if "allowed missing" in w]
    assert "missing_table" in [w["kind"] for w in res.metadata["warnings"]]
    # the opt-out survives setting aside a child whose records break the contract
    census = allowed["census"].assign(
        sen_provision=allowed["census"]["sen_provision"].astype("str")
    )
    census.loc[census.index[0], "sen_provision"] = "Q"
    res = score(fitted_model, allowed.replace(census=census), AS_OF)
    assert res.counts["rejected_contract"] == 1


def test_cli_score_refuses_a_folder_without_sen_events(saved_model, small_cohort, tmp_path, capsys):
    write_tables(_without(small_cohort, "sen_events"), tmp_path / "x", format="csv")
    argv = ["score", str(tmp_path / "x"), "--model", str(saved_model), "--as-of", AS_OF]
    assert main([*argv, "--out", str(tmp_path / "s.csv")]) == 1
    err = capsys.readouterr().err
    assert "sen_events is required" in err and "Traceback" not in err
    assert not (tmp_path / "s.csv").exists()


def test_extract_date_is_never_today(tiny_tables):
    with pytest.raises(ValueError, match="extract_date is required.*never assumed"):
        Tables(dict(tiny_tables))
    with pytest.raises(ValueError, match="extract_date is required"):
        validate(dict(tiny_tables))
    with pytest.raises(ValueError, match="extract_date must be an ISO date"):
        Tables(dict(tiny_tables), "01/08/2025")
    assert Tables(dict(tiny_tables), "2025-08-01").extract_date == pd.Timestamp("2025-08-01")


# -- 2. header and encoding faults ----------------------------------------------------------


def test_a_dropped_header_row_is_one_error_without_the_row(folder, capsys):
    path = folder / "children.csv"
    lines = path.read_text().splitlines(keepends=True)
    first_row = lines[1].strip().split(",")
    path.write_text("".join(lines[1:]))
    with pytest.raises(SchemaError, match="Was the header row dropped") as info:
        read_tables(folder)
    msg = str(info.value)
    assert "children.csv: the first line must be the header with columns child_id" in msg
    assert first_row[0] not in msg and first_row[1] not in msg  # child id, birth date
    assert main(["validate", str(folder)]) == 1
    out = capsys.readouterr()
    assert out.err.count("header row dropped") == 1 and out.out == ""
    for value in (first_row[0], first_row[1]):  # the child id and birth date are not shown
        assert value not in out.err


def test_a_frame_whose_header_is_a_data_row_is_one_problem(tiny_tables):
    ch = tiny_tables["children"]
    row = ch.iloc[0].tolist()
    headless = pd.DataFrame(ch.iloc[1:].to_numpy(), columns=[str(v) for v in row])
    report = validate(tiny_tables.replace(children=headless))
    p = report.problems.query("table == 'children'")
    assert p[["severity", "rule"]].values.tolist() == [["error", "no_header"]]
    assert "was the header row dropped?" in p.iloc[0]["message"]
    assert "c1" not in p.iloc[0]["message"] and "2017-10-02" not in p.iloc[0]["message"]


def test_cli_score_with_a_dropped_header_row_is_named_not_a_key_error(
    saved_model, folder, tmp_path, capsys
):
    path = folder / "children.csv"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[1:]))
    argv = ["score", str(folder), "--model", str(saved_model), "--as-of", "2024-01-15"]
    assert main([*argv, "--out", str(tmp_path / "s.csv")]) == 1
    err = capsys.readouterr().err
    assert "Was the header row dropped" in err
    assert "KeyError" not in err and "Traceback" not in err


def test_header_only_children_is_an_empty_population(tiny_tables, folder):
    path = folder / "children.csv"
    path.write_text(path.read_text().splitlines(keepends=True)[0])
    report = validate(read_tables(folder))  # was an IndexError in the cross-table checks
    p = report.problems
    empty = p.query("rule == 'empty_table'")
    assert empty[["severity", "table"]].values.tolist() == [["warning", "children"]]
    assert "population is empty" in empty.iloc[0]["message"]
    assert set(p.loc[p.severity == "error", "rule"]) == {"orphan"}  # every record has no child
    # every table header-only: valid, with the empty population named
    for name in TABLES:
        f = folder / f"{name}.csv"
        f.write_text(f.read_text().splitlines(keepends=True)[0])
    report = validate(read_tables(folder))
    assert report.ok and set(report.problems["rule"]) == {"empty_table"}
    assert report.n_rows == dict.fromkeys(TABLES, 0)


def test_a_utf8_byte_order_mark_is_read(tiny_tables, folder):
    path = folder / "children.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # Excel's "CSV UTF-8"
    t = read_tables(folder)
    assert list(t["children"].columns)[0] == "child_id"
    assert validate(t).ok


def test_a_latin1_file_is_named_with_its_first_bad_line(folder):
    path = folder / "children.csv"
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace("White", "Whit\xe9") if "White" in lines[2] else "\xe9" + lines[2]
    path.write_bytes("".join(lines).encode("latin-1"))
    with pytest.raises(SchemaError, match=r"children.csv must be UTF-8 text; line 3 is not") as e:
        read_tables(folder)
    assert "\xe9" not in str(e.value) and "0xe9" not in str(e.value)


def test_duplicate_column_names_are_named(tiny_tables, folder, tmp_path):
    path = folder / "census.csv"
    df = pd.read_csv(path, dtype="str")
    df.insert(len(df.columns), "school_id_2", df["school_id"])
    text = df.to_csv(index=False).replace("school_id_2", "school_id", 1)
    path.write_text(text)
    with pytest.raises(SchemaError, match="census.csv: each column name must appear once"):
        read_tables(folder)
    # in memory: one error per repeated name, the rest still checked, no crash
    ch = tiny_tables["children"]
    dup = pd.concat([ch, ch[["sex"]]], axis=1)
    report = validate(tiny_tables.replace(children=dup))
    hit = report.problems.query("rule == 'duplicate_column'")
    assert hit[["table", "column"]].values.tolist() == [["children", "sex"]]
    assert _rules(report) == {"duplicate_column"}


def test_a_parquet_file_that_is_not_parquet_or_repeats_a_column(tiny_tables, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    write_tables(tiny_tables, tmp_path)
    (tmp_path / "census.parquet").write_text("child_id,census_date\nc1,2020-01-01\n")
    ref = tiny_tables["referrals"]
    cols = [pa.array(ref["child_id"]), pa.array(ref["service"]), pa.array(ref["service"])]
    pq.write_table(
        pa.table(cols, ["child_id", "service", "service"]), tmp_path / "referrals.parquet"
    )
    with pytest.raises(SchemaError) as info:
        read_tables(tmp_path)
    msg = str(info.value)
    assert msg.startswith("2 table file(s)")  # every unreadable file in one error
    assert "census: census.parquet is not a Parquet file" in msg
    assert "referrals: referrals.parquet: each column name must appear once; found service" in msg


def test_the_cli_shows_file_faults_without_a_traceback(folder, capsys):
    (folder / "children.csv").write_bytes(b"")
    assert main(["validate", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "children.csv is empty; the first line must be the header" in err
    assert "Traceback" not in err


# -- 3. dates -------------------------------------------------------------------------------

BAD_DATES = [
    "2016-2-5",
    "20200101",
    "2016-02-05 10:00",
    "2016-02-05T00:00:00",
    "2016-02-05T00:00:00+01:00",
    "2016-02-05Z",
    "05/02/2016",
    "2016-02-30",
]


@pytest.mark.parametrize("text", BAD_DATES)
def test_table_dates_must_be_iso_calendar_dates(folder, text):
    path = folder / "census.csv"
    df = pd.read_csv(path, dtype="str")
    df.loc[2, "census_date"] = text
    df.to_csv(path, index=False)
    report = validate(read_tables(folder))  # no raw pandas error for an offset
    hit = report.problems.query("table == 'census' and column == 'census_date'")
    assert hit[["rule", "n_rows", "example_ids"]].values.tolist() == [
        ["type", 1, df.loc[2, "child_id"]]
    ]
    msg = hit.iloc[0]["message"]
    assert "YYYY-MM-DD, without a time or time zone" in msg and text not in msg


@pytest.mark.parametrize(
    ("values", "bad"),
    [
        (pd.to_datetime(["2021-02-05 00:00", "2021-02-06 10:00"]), [False, True]),
        (pd.to_datetime(["2021-02-05", "2021-02-06"]).tz_localize("Europe/London"), [True, True]),
        (pd.to_datetime(["2021-02-05", "2021-02-06"]), [False, False]),
        ([dt.date(2021, 2, 5), dt.date(2021, 2, 6)], [False, False]),  # Parquet date32
    ],
)
def test_parquet_dates_are_midnight_without_a_time_zone(tiny_tables, tmp_path, values, bad):
    ref = pd.concat([tiny_tables["referrals"]] * 2, ignore_index=True).assign(referral_date=values)
    write_tables(tiny_tables, tmp_path)
    ref.to_parquet(tmp_path / "referrals.parquet", index=False)
    t = read_tables(tmp_path)
    report = validate(t)
    hit = report.problems.query("table == 'referrals' and rule == 'type'")
    assert (hit.iloc[0]["n_rows"] if len(hit) else 0) == sum(bad)
    if not any(bad):
        assert str(t["referrals"]["referral_date"].dtype) == "datetime64[s]"
        assert report.ok


@pytest.mark.parametrize(
    ("value", "shown"),
    [("01/08/2025", "'01/08/2025'"), (20250801, "20250801"), (None, "None"), (["2025-08-01"], "[")],
)
def test_manifest_dates_are_named_schema_errors(folder, value, shown):
    (folder / "manifest.json").write_text(json.dumps({"extract_date": value}))
    with pytest.raises(SchemaError, match="manifest.json extract_date must be an ISO date") as e:
        read_tables(folder)
    assert f"found {shown}" in str(e.value)


_TEXTS = st.one_of(
    st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)).map(
        lambda d: d.strftime(
            ["%Y-%m-%d", "%Y%m%d", "%d/%m/%Y", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"][d.day % 5]
        )
    ),
    st.from_regex(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}", fullmatch=True),
    st.text(max_size=12),
)


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(_TEXTS, max_size=8))
def test_the_column_parser_agrees_with_the_scalar_parser(texts):
    parsed, bad = parse_iso_dates(pd.Series(texts, dtype="str"))
    for text, p, b in zip(texts, parsed, bad, strict=True):
        try:
            expected = parse_iso_date(text)
        except ValueError:
            assert b and pd.isna(p)
        else:
            assert not b and p == expected


# -- 4. numeric bounds ----------------------------------------------------------------------

NUMERIC = [(t.name, c) for t in TABLES.values() for c in t.columns if c.kind in ("int", "float")]


def test_every_numeric_column_has_finite_documented_bounds():
    for table, c in NUMERIC:
        assert c.min is not None and c.max is not None, f"{table}.{c.name}"
        assert math.isfinite(c.min) and math.isfinite(c.max) and c.min < c.max
    assert TABLES["exclusions"].column("days").max == 190


@pytest.mark.parametrize(("table", "column"), [(t, c.name) for t, c in NUMERIC])
def test_inf_and_huge_numbers_are_refused(tiny_tables, table, column):
    c = TABLES[table].column(column)
    df = pd.concat([tiny_tables[table]] * (1 if table == "children" else 2), ignore_index=True)
    if c.optional and column not in df:  # an optional column the synthetic cohort does not write
        df[column] = 24
    df[column] = df[column].astype("object")
    df.loc[df.index[0], column] = np.inf
    df.loc[df.index[-1], column] = 1e300 if c.kind == "float" else c.max + (c.step or 1)
    report = validate(tiny_tables.replace(**{table: df}))
    p = report.problems.query("table == @table and column == @column")
    by_rule = dict(zip(p["rule"], p["n_rows"], strict=True))
    assert by_rule.get("type") == 1, report.to_text()
    assert by_rule.get("range") == 1, report.to_text()
    assert "inf" not in " ".join(p["message"]) and "1e+300" not in " ".join(p["message"])


def test_exclusion_days_of_inf_or_1e300_are_refused_in_a_csv(folder):
    path = folder / "exclusions.csv"
    df = pd.concat([pd.read_csv(path, dtype="str")] * 2, ignore_index=True)
    df["days"] = ["inf", "1e300"]
    df.to_csv(path, index=False)
    p = validate(read_tables(folder)).problems.query("column == 'days'")
    assert sorted(p["rule"]) == ["range", "type"]
    assert "must be between 0 and 190" in " ".join(p["message"])
