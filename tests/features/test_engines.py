"""The DuckDB engine (the spec compiled through Ibis) equals the memory engine, child by child."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from send_early import Tables
from send_early.datasets import make_cohort
from send_early.features import AGGREGATIONS, build_features, load_pipeline
from send_early.schema import write_tables

# Every aggregation kind, window unit, op and missing rule of the spec language, on the contract.
ALL_KINDS = """
name = "all_kinds"
version = "0"
description = "Every aggregation kind (tests only)."

[population]
min_age_months = 12
max_age_months = 132

[[feature]]
name = "age"
label = "Age"
role = "need"
table = "children"
aggregation = "derive"
transform = "age_months"

[[feature]]
name = "misy"
label = "Month in school year"
role = "need"
table = "children"
aggregation = "derive"
transform = "month_in_school_year"

[[feature]]
name = "summer"
label = "Summer born"
role = "need"
table = "children"
aggregation = "derive"
transform = "summer_born"

[[feature]]
name = "ch_count"
label = "One"
role = "need"
table = "children"
column = "imd_decile"  # the memory engine reads a column even for count (IndexError without)
aggregation = "count"

[[feature]]
name = "ch_any_decile1"
label = "Most deprived decile"
role = "need"
table = "children"
column = "imd_decile"
aggregation = "any"

[[feature]]
name = "ch_min_imd"
label = "IMD"
role = "need"
table = "children"
column = "imd_decile"
aggregation = "min"

[[feature]]
name = "ch_max_gest"
label = "Gestation"
role = "need"
table = "children"
column = "gestation_weeks"
aggregation = "max"
indicator = true

[[feature]]
name = "ch_mean_weight"
label = "Weight"
role = "need"
table = "children"
column = "birth_weight_g"
aggregation = "mean"

[[feature]]
name = "ch_sum_imd"
label = "IMD sum"
role = "need"
table = "children"
column = "imd_decile"
aggregation = "sum"
missing = "zero"

[[feature]]
name = "ch_ethnicity"
label = "Ethnicity"
role = "need"
table = "children"
column = "ethnicity"
aggregation = "latest"
dtype = "category"

[[feature]]
name = "hr_latest_12m"
label = "ASQ communication, 12 months"
role = "need"
table = "health_reviews"
column = "asq_communication"
aggregation = "latest"
window = "12m"
prefer = { review_type = "1y" }
indicator = true

[[feature]]
name = "hr_type"
label = "Latest review type"
role = "need"
table = "health_reviews"
column = "review_type"
aggregation = "latest"
dtype = "category"

[[feature]]
name = "hr_min_2y"
label = "Min gross motor"
role = "need"
table = "health_reviews"
column = "asq_gross_motor"
aggregation = "min"
window = "2y"

[[feature]]
name = "hr_max"
label = "Max gross motor"
role = "need"
table = "health_reviews"
column = "asq_gross_motor"
aggregation = "max"

[[feature]]
name = "hr_mean_30m"
label = "Mean fine motor"
role = "need"
table = "health_reviews"
column = "asq_fine_motor"
aggregation = "mean"
window = "30 months"

[[feature]]
name = "hr_sum_two"
label = "Sum of two domains"
role = "need"
table = "health_reviews"
column = ["asq_fine_motor", "asq_problem_solving"]
aggregation = "sum"

[[feature]]
name = "hr_count_2t"
label = "Reviews, latest two"
role = "need"
table = "health_reviews"
aggregation = "count"
window = "2 terms"

[[feature]]
name = "att_unauth_3t"
label = "Unauthorised sessions"
role = "need"
table = "attendance"
column = "unauthorised_absence"
aggregation = "sum"
window = "3 terms"
missing = "zero"

[[feature]]
name = "att_rate_365d"
label = "Absence rate, a year"
role = "need"
table = "attendance"
column = ["authorised_absence", "unauthorised_absence"]
denominator = "possible_sessions"
aggregation = "rate"
window = "365d"

[[feature]]
name = "att_trend_4t"
label = "Absence trend"
role = "need"
table = "attendance"
column = "authorised_absence"
denominator = "possible_sessions"
aggregation = "trend"
window = "4 terms"

[[feature]]
name = "att_trend_all"
label = "Attendance trend"
role = "need"
table = "attendance"
column = ["authorised_absence", "unauthorised_absence"]
denominator = "possible_sessions"
complement = true
aggregation = "trend"

[[feature]]
name = "att_last_start"
label = "Latest term start (days)"
role = "need"
table = "attendance"
column = "term_start"
aggregation = "latest"

[[feature]]
name = "att_days_since"
label = "Days since a term ended"
role = "need"
table = "attendance"
aggregation = "days_since"

[[feature]]
name = "ex_max_perm"
label = "Longest permanent exclusion"
role = "need"
table = "exclusions"
column = "days"
aggregation = "max"
filter = { category = "permanent" }

[[feature]]
name = "ex_mean_8w"
label = "Mean exclusion length"
role = "need"
table = "exclusions"
column = "days"
aggregation = "mean"
window = "8w"
indicator = true

[[feature]]
name = "ex_since"
label = "Days since an exclusion"
role = "need"
table = "exclusions"
aggregation = "days_since"
filter = { category = ["suspension", "permanent"] }

[[feature]]
name = "phonics_min"
label = "Lowest phonics mark"
role = "need"
table = "assessments"
column = "value"
aggregation = "min"
filter = { measure = "phonics_mark" }
missing = "not_assessed"
due_year_group = 1
indicator = true

[[feature]]
name = "gld_latest"
label = "GLD"
role = "need"
table = "assessments"
column = "value"
aggregation = "latest"
filter = { measure = "eyfsp_gld" }
missing = "not_assessed"
due_year_group = 0

[[feature]]
name = "ce_any_eal"
label = "EAL ever"
role = "need"
table = "census"
column = "eal"
aggregation = "any"

[[feature]]
name = "ce_fsm_1y"
label = "FSM in a year"
role = "need"
table = "census"
column = "fsm_eligible"
aggregation = "any"
window = "1y"
missing = "zero"

[[feature]]
name = "ce_schools_24m"
label = "Schools in 24 months"
role = "need"
table = "census"
column = "school_id"
aggregation = "distinct"
window = "24m"

[[feature]]
name = "ce_moves"
label = "School moves"
role = "need"
table = "census"
column = "school_id"
aggregation = "distinct"
offset = -1

[[feature]]
name = "ce_provision"
label = "SEN provision"
role = "need"
table = "census"
column = "sen_provision"
aggregation = "latest"
dtype = "category"

[[feature]]
name = "sc_open"
label = "Open episode"
role = "need"
table = "social_care"
aggregation = "open_at"
end_column = "end_date"

[[feature]]
name = "sc_open_cla"
label = "Open CLA episode"
role = "need"
table = "social_care"
aggregation = "open_at"
end_column = "end_date"
filter = { episode = "CLA" }
missing = "zero"

[[feature]]
name = "sc_any"
label = "Any episode"
role = "need"
table = "social_care"
aggregation = "any"

[[feature]]
name = "sc_absent"
label = "No episode"
role = "need"
table = "social_care"
aggregation = "absent"

[[feature]]
name = "ref_count_6m"
label = "Referrals in 6 months"
role = "need"
table = "referrals"
aggregation = "count"
window = "6m"

[[feature]]
name = "ref_no_ep_365d"
label = "No EP referral in a year"
role = "need"
table = "referrals"
aggregation = "absent"
filter = { service = "EP" }
window = "365d"

[[feature]]
name = "ref_latest_service"
label = "Latest service"
role = "need"
table = "referrals"
column = "service"
aggregation = "latest"
dtype = "category"

[[feature]]
name = "sen_events_n"
label = "SEN events"
role = "need"
table = "sen_events"
aggregation = "count"
missing = "zero"

[[feature]]
name = "t_le"
label = "t"
role = "need"
aggregation = "threshold"
source = "hr_latest_12m"
op = "<="
cutoff = 30

[[feature]]
name = "t_gt"
label = "t"
role = "need"
aggregation = "threshold"
source = "att_rate_365d"
op = ">"
cutoff = 0.1

[[feature]]
name = "t_ge"
label = "t"
role = "need"
aggregation = "threshold"
source = "phonics_min"
op = ">="
cutoff = "PHONICS_THRESHOLD"

[[feature]]
name = "t_eq"
label = "t"
role = "need"
aggregation = "threshold"
source = "ce_moves"
op = "=="
cutoff = 0
missing = "zero"

[[feature]]
name = "t_ne"
label = "t"
role = "need"
aggregation = "threshold"
source = "att_trend_4t"
op = "!="
cutoff = 0
indicator = true

[[feature]]
name = "t_lt"
label = "t"
role = "need"
aggregation = "threshold"
source = "hr_min_2y"
op = "<"
cutoff = "ASQ_CUTOFFS"

[[feature]]
name = "hr_below"
label = "Gross motor below the cut-off of the review's interval"
role = "need"
table = "health_reviews"
column = "asq_gross_motor"
aggregation = "below_cutoff"
cutoff_table = "asq3"
interval_column = "asq_interval_months"
window = "2y"

[[feature]]
name = "gld_standing"
label = "GLD standing among children born in the same month"
role = "need"
table = "assessments"
column = "value"
aggregation = "standing"
filter = { measure = "eyfsp_gld" }
min_group = 3

[[feature]]
name = "ce_moves_odd"
label = "Moves except into Year 3"
role = "context"
table = "census"
column = "school_id"
aggregation = "moves"
normal_year_groups = [3]

[[feature]]
name = "known"
label = "Months known"
role = "context"
aggregation = "months_known"

[[feature]]
name = "any_signal"
label = "Any signal"
role = "need"
aggregation = "any_of"
sources = ["t_le", "t_gt", "t_ne", "sc_open"]
"""

AS_OFS = ("2014-03-31", "2017-09-01", "2019-12-31", "2021-07-31", "2022-08-01", "2024-02-29")


@pytest.fixture(scope="module")
def all_kinds(tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "all_kinds.toml"
    path.write_text(ALL_KINDS, encoding="utf-8")
    return load_pipeline(path)


def assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Same children in the same order, same columns and dtypes, values to 1e-9, NaN where NaN."""
    assert a.index.equals(b.index)
    assert a.index.dtype == b.index.dtype and a.index.name == b.index.name
    assert list(a.columns) == list(b.columns)
    assert a.attrs == b.attrs
    for c in a.columns:
        x, y = a[c], b[c]
        assert x.dtype == y.dtype, c
        if isinstance(x.dtype, pd.CategoricalDtype):
            assert (
                x.astype(object).fillna("<NA>").tolist() == y.astype(object).fillna("<NA>").tolist()
            ), c
        else:
            np.testing.assert_allclose(y.to_numpy(), x.to_numpy(), rtol=0, atol=1e-9, err_msg=c)


def test_all_kinds_covers_the_spec_language(all_kinds):
    # the equality tests below exercise every aggregation kind and window unit there is
    assert {f.aggregation for f in all_kinds.features} == set(AGGREGATIONS)
    assert {f.window.unit for f in all_kinds.features} == {"all", "days", "months", "terms"}
    assert {f.op for f in all_kinds.features if f.op} == {"<", "<=", ">", ">=", "==", "!="}


@settings(
    max_examples=4,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # shrinking a cohort takes minutes
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(60, 400),
    as_of=st.sampled_from(AS_OFS),
    pipeline=st.sampled_from(["default", "all_kinds"]),
)
def test_duckdb_equals_memory_on_random_cohorts(all_kinds, seed, n, as_of, pipeline):
    tables = make_cohort(n, random_state=seed)
    spec = all_kinds if pipeline == "all_kinds" else "default"
    mem = build_features(tables, as_of, spec)
    assert_same(mem, build_features(tables, as_of, spec, engine="duckdb"))


@pytest.mark.slow
@settings(max_examples=20, deadline=None, phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(500, 3000),
    as_of=st.dates(pd.Timestamp("2012-01-01").date(), pd.Timestamp("2025-08-31").date()),
)
def test_duckdb_equals_memory_on_larger_cohorts_and_any_date(all_kinds, seed, n, as_of):
    tables = make_cohort(n, random_state=seed)
    for spec in ("default", all_kinds):
        mem = build_features(tables, as_of, spec)
        assert_same(mem, build_features(tables, as_of, spec, engine="duckdb"))


@pytest.mark.parametrize("as_of", ["2021-09-01", "2021-12-01", "2022-09-01"])
def test_duckdb_equals_memory_on_hand_tables(hand_tables_shared, all_kinds, as_of):
    for spec in ("default", all_kinds):
        mem = build_features(hand_tables_shared, as_of, spec)
        assert_same(mem, build_features(hand_tables_shared, as_of, spec, engine="duckdb"))


def test_duckdb_equals_memory_with_tables_absent(all_kinds):
    full = make_cohort(300, random_state=7)
    keep = {k: v for k, v in full.items() if k not in ("health_reviews", "attendance", "census")}
    tables = Tables(keep, full.extract_date)
    for spec in ("default", all_kinds):
        mem = build_features(tables, "2021-09-01", spec)
        assert mem.attrs["missing_tables"]
        assert_same(mem, build_features(tables, "2021-09-01", spec, engine="duckdb"))


def test_duckdb_reads_a_folder_without_the_optional_columns(tmp_path):
    """A folder written before contract v2/v3 has no council_id or locality: they read as
    empty text columns (an absent optional text column once stopped the engine)."""
    tables = make_cohort(300, random_state=4)
    children = tables["children"]
    optional = [c for c in ("council_id", "locality") if c in children.columns]
    assert optional  # the generator writes them: dropping them below tests something
    old = Tables({**tables, "children": children.drop(columns=optional)}, tables.extract_date)
    write_tables(old, tmp_path, format="parquet")
    assert_same(
        build_features(old, "2021-01-31"), build_features(tmp_path, "2021-01-31", engine="duckdb")
    )


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_duckdb_reads_a_folder_in_place(tmp_path, all_kinds, fmt):
    tables = make_cohort(300, random_state=3)
    write_tables(tables, tmp_path, format=fmt)
    for spec in ("default", all_kinds):
        mem = build_features(tables, "2020-11-15", spec)
        assert_same(mem, build_features(tmp_path, "2020-11-15", spec, engine="duckdb"))


# Ibis 12's create_table calls DuckDB 2's deprecated fetch_arrow_table()
@pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")
def test_duckdb_reads_an_ibis_connection():
    import ibis
    import pyarrow as pa

    tables = make_cohort(250, random_state=11)
    con = ibis.duckdb.connect()
    for name, df in tables.items():
        # Arrow rather than pandas: Ibis 12 reads a pandas option that pandas 3 deprecates.
        # create_table is what sqlglot>=30.18 breaks under Ibis 12 (the pin in pyproject.toml)
        df = df.astype({c: "str" for c in df.select_dtypes("category")})
        con.create_table(name, pa.Table.from_pandas(df, preserve_index=False))
    got = build_features(con, "2021-01-31", engine="duckdb")
    assert_same(build_features(tables, "2021-01-31"), got)


def test_duckdb_checks_as_of_like_memory(tmp_path):
    tables = make_cohort(50, random_state=1)
    write_tables(tables, tmp_path)
    for source in (tables, tmp_path):
        with pytest.raises(ValueError, match="on or before the extract date 2025-08-31"):
            build_features(source, "2026-01-01", engine="duckdb")
        with pytest.raises(ValueError, match="on or after the earliest birth date"):
            build_features(source, "1990-01-01", engine="duckdb")


def test_duckdb_refuses_a_kind_it_does_not_compile():
    spec = load_pipeline("default")
    f = dataclasses.replace(spec.feature("school_moves"), aggregation="median")
    odd = dataclasses.replace(spec, features=(*spec.features[:-1], f))
    with pytest.raises(NotImplementedError, match=r"school_moves \(median\).*engine='memory'"):
        build_features(make_cohort(20, random_state=0), "2021-09-01", odd, engine="duckdb")


def test_unknown_engine_is_refused():
    with pytest.raises(
        ValueError, match="engine must be one of 'memory', 'duckdb', 'spark', 'ibis'"
    ):
        build_features(make_cohort(20, random_state=0), "2021-09-01", engine="pandas")


def test_missing_extra_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "ibis", None)  # as if ibis-framework were not installed
    with pytest.raises(ImportError, match=r'pip install "send_early\[duckdb\]"'):
        build_features(make_cohort(20, random_state=0), "2021-09-01", engine="duckdb")


def test_import_loads_neither_ibis_nor_duckdb():
    code = (
        "import sys, send_early, send_early.features\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'ibis', 'duckdb', 'sqlglot'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
