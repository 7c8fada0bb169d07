"""build_features and population on hand-worked tables, and each aggregation."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

from send_early import SchemaError
from send_early.features import STATUSES, build_features, load_pipeline, population

AS_OF = "2021-09-01"


@pytest.fixture(scope="module")
def X(hand_tables_shared):
    return build_features(hand_tables_shared, AS_OF)


def test_population_statuses_and_conservation(hand_tables):
    pop = population(hand_tables, AS_OF)
    expected = {
        "c01": "in_population", "c02": "in_population", "c03": "moved_out", "c04": "already_identified",
        "c05": "not_born", "c06": "too_young", "c07": "too_old", "c08": "already_identified",
        "c09": "in_population", "c10": "in_population", "c11": "in_population",
    }  # fmt: skip
    assert pop["status"].astype(str).to_dict() == expected
    assert list(pop["status"].cat.categories) == list(STATUSES)
    counts = pop.attrs["counts"]
    assert sum(counts.values()) == len(hand_tables["children"])
    assert counts["in_population"] == 5 and counts["already_identified"] == 2


def test_population_age_bounds_are_half_open(hand_tables):
    # c06 born 2020-12-01: 12 months on 2021-12-01 (in), 11 on 2021-11-30 (too young)
    assert population(hand_tables, "2021-12-01").loc["c06", "status"] == "in_population"
    assert population(hand_tables, "2021-11-30").loc["c06", "status"] == "too_young"
    # c07 born 2008-01-01 is 131 months on 2018-12-31 (in), 132 on 2019-01-01 (too old)
    assert population(hand_tables, "2018-12-31").loc["c07", "status"] == "in_population"
    assert population(hand_tables, "2019-01-01").loc["c07", "status"] == "too_old"


def test_rows_are_the_population_and_attrs(hand_tables, X):
    assert list(X.index) == ["c01", "c02", "c09", "c10", "c11"]
    assert X.index.name == "child_id"
    assert X.attrs["as_of"] == AS_OF and X.attrs["pipeline"] == "default"
    assert X.attrs["population"]["in_population"] == len(X)
    assert sum(X.attrs["population"].values()) == len(hand_tables["children"])
    assert list(X.columns) == load_pipeline("default").columns


def test_dtypes(X):
    spec = load_pipeline("default")
    for f in spec.features:
        if f.dtype == "category":
            assert isinstance(X[f.name].dtype, pd.CategoricalDtype)
        else:
            assert X[f.name].dtype == np.float64, f.name
        if f.dtype == "flag":
            assert set(X[f.name].dropna().unique()) <= {0.0, 1.0}, f.name
    assert list(X["sex"].cat.categories) == ["F", "M"]
    assert "Unclassified" in X["ethnicity"].cat.categories
    assert list(X["eyfsp_gld_status"].cat.categories) == ["assessed", "not_yet_due", "missing"]


def test_hand_worked_child_features(X):
    c1 = X.loc["c01"]
    assert c1["age_months"] == 43 and c1["month_in_school_year"] == 5 and c1["summer_born"] == 0
    assert c1["preterm"] == 1 and c1["low_birth_weight"] == 1
    # 2-year review (2020-02-01) preferred over the later-dated 1-year one; the 2021-12 review is after as_of
    assert c1["asq_communication"] == 20 and c1["asq_communication_below"] == 1
    assert c1["asq_fine_motor"] == 30 and c1["asq_fine_motor_below"] == 1
    assert c1["asq_gross_motor_below"] == 0 and c1["asq_any_below_cutoff"] == 1
    assert c1["asq_review_missing"] == 0
    # last 3 terms on or before as_of: 0.9, 0.9, 0.8 attendance
    assert c1["attendance_rate_3t"] == pytest.approx(1 - 40 / 300)
    assert c1["unauth_absence_rate_3t"] == pytest.approx(15 / 300)
    assert c1["attendance_trend"] == pytest.approx(-0.1)
    assert c1["persistent_absence"] == 1
    assert c1["suspensions_365d"] == 1 and c1["exclusion_days_365d"] == 2
    assert c1["permanent_exclusion_ever"] == 0
    assert c1["fsm_current"] == 0 and c1["fsm_ever"] == 1 and c1["eal"] == 1
    assert c1["school_moves"] == 1
    assert c1["cin_ever"] == 1 and c1["cpp_ever"] == 1 and c1["cla_ever"] == 0
    assert c1["social_care_current"] == 1  # CPP open on as_of, closed later
    assert c1["days_since_social_care"] == 31
    assert c1["referrals_salt_365d"] == 1 and c1["referrals_camhs_365d"] == 0
    assert c1["eyfsp_gld_status"] == "not_yet_due" and np.isnan(c1["eyfsp_gld"])
    assert c1["sex"] == "F" and c1["ethnicity"] == "White"


def test_hand_worked_other_children(X):
    c2 = X.loc["c02"]
    assert c2["asq_review_missing"] == 1 and np.isnan(c2["asq_communication"])
    assert np.isnan(c2["asq_any_below_cutoff"])
    assert c2["birth_weight_g_missing"] == 1 and np.isnan(c2["low_birth_weight"])
    assert (
        np.isnan(c2["imd_decile"]) and c2["summer_born"] == 1 and c2["month_in_school_year"] == 11
    )
    assert c2["suspensions_365d"] == 0 and np.isnan(c2["attendance_rate_3t"])
    assert np.isnan(c2["days_since_social_care"]) and c2["social_care_current"] == 0
    c11 = X.loc["c11"]
    # 2y review preferred; its fine motor score is empty so the 1y review's known value is used
    assert c11["asq_communication"] == 40 and c11["asq_fine_motor"] == 10
    assert c11["social_care_current"] == 0  # closed on the as-of day
    assert c11["days_since_social_care"] == (pd.Timestamp(AS_OF) - pd.Timestamp("2019-01-01")).days
    assert c11["cla_ever"] == 0  # CLA starts after as_of
    assert c11["referrals_early_help_365d"] == 1 and c11["permanent_exclusion_ever"] == 1
    assert (
        c11["eyfsp_gld"] == 1
        and c11["eyfsp_gld_status"] == "assessed"
        and c11["eyfsp_comm_lang"] == 0
    )
    assert c11["phonics_mark_status"] == "not_yet_due"
    assert np.isnan(c11["attendance_trend"])  # one term only
    assert X.loc["c09", "ethnicity"] == "Other"


def never_identified(tables):
    """The hand tables without identification, so every child stays in the population."""
    census = tables["census"].assign(sen_provision="N")
    return tables.replace(census=census, sen_events=tables["sen_events"].iloc[:0])


def test_not_assessed_becomes_missing_after_due_date(hand_tables):
    # c11 (born Oct 2015) is due the Year 1 phonics check by 31 July 2022 and has none
    hand_tables = never_identified(hand_tables)
    X = build_features(hand_tables, "2022-08-01")
    assert X.loc["c11", "phonics_mark_status"] == "missing"
    X = build_features(hand_tables, "2022-07-31")
    assert X.loc["c11", "phonics_mark_status"] == "not_yet_due"


def test_absent_tables_give_missing_features(hand_tables):
    t = {k: v for k, v in hand_tables.items() if k not in ("exclusions", "attendance")}
    X = build_features(type(hand_tables)(t, hand_tables.extract_date), AS_OF)
    assert X["suspensions_365d"].isna().all() and X["attendance_rate_3t"].isna().all()
    assert X.attrs["missing_tables"] == ["attendance", "exclusions"]
    assert X["referrals_salt_365d"].notna().all()


@pytest.mark.parametrize(
    ("as_of", "match"),
    [
        ("2025-09-01", "on or before the extract date 2025-08-31"),
        ("2007-12-31", "on or after the earliest birth date 2008-01-01"),
        ("not a date", "as_of must be a date"),
        (None, "as_of must be a date"),
        (pd.Timestamp("2021-01-01", tz="UTC"), "without a time zone"),
    ],
)
def test_bad_as_of(hand_tables, as_of, match):
    with pytest.raises(ValueError, match=match):
        build_features(hand_tables, as_of)


def test_invalid_tables_raise_schema_error(hand_tables):
    bad = hand_tables.replace(census=hand_tables["census"].assign(sen_provision="Z"))
    with pytest.raises(SchemaError, match="census.sen_provision must be one of N, K, E"):
        build_features(bad, AS_OF)


# ------------------------------------------------------------------ aggregations, one by one

HEAD = """
name = "agg"
version = "0"
description = "aggregation tests"
[population]
min_age_months = 0
max_age_months = 400
"""


def one(tmp_path, tables, as_of, body) -> pd.Series:
    p = tmp_path / "agg.toml"
    p.write_text(
        HEAD + '[[feature]]\nname = "f"\nlabel = "F"\nrole = "need"\n' + textwrap.dedent(body)
    )
    return build_features(tables, as_of, pipeline=p)["f"]


def many(tmp_path, tables, as_of, bodies: dict[str, str]) -> pd.DataFrame:
    text = HEAD + "".join(
        f'[[feature]]\nname = "{k}"\nlabel = "{k}"\nrole = "need"\n' + textwrap.dedent(v) + "\n"
        for k, v in bodies.items()
    )
    p = tmp_path / "many.toml"
    p.write_text(text)
    return build_features(tables, as_of, pipeline=p)


def test_min_max_mean_sum_latest_count_and_windows(tmp_path, hand_tables):
    base = 'table = "attendance"\ncolumn = "authorised_absence"\n'
    expected = {"min": 0, "max": 10, "mean": 25 / 4, "sum": 25, "latest": 10, "count": 4}
    bodies = {a: base + f'aggregation = "{a}"\n' for a in expected}
    bodies["max_180d"] = base + 'aggregation = "max"\nwindow = "180d"\n'
    bodies["sum_6m"] = base + 'aggregation = "sum"\nwindow = "6m"\nmissing = "zero"\n'
    bodies["mean_2t"] = base + 'aggregation = "mean"\nwindow = "2 terms"\n'
    X = many(tmp_path, hand_tables, AS_OF, bodies)
    for agg, value in expected.items():
        assert X.loc["c01", agg] == pytest.approx(value), agg
        assert np.isnan(X.loc["c02", agg]), agg  # no rows: missing (rule "missing")
    assert X.loc["c01", "max_180d"] == 10  # 2021-03-31 and 2021-07-21 are within 180 days
    assert X.loc["c01", "sum_6m"] == 20 and X.loc["c02", "sum_6m"] == 0
    assert X.loc["c01", "mean_2t"] == 10
    assert X.loc["c11", "count"] == 1 and X.loc["c11", "min"] == 1


def test_window_edges_are_inclusive_of_as_of_and_exclusive_of_start(tmp_path, hand_tables):
    body = 'table = "referrals"\naggregation = "count"\nwindow = "1d"\nmissing = "zero"\n'
    # c11 referral on 2021-08-31: in a 1-day window ending 2021-08-31, not one ending 2021-09-01
    assert one(tmp_path, hand_tables, "2021-08-31", body)["c11"] == 1
    assert one(tmp_path, hand_tables, "2021-09-01", body)["c11"] == 0
    assert one(tmp_path, hand_tables, "2021-08-30", body)["c11"] == 0


def test_any_absent_days_since_distinct_open_at(tmp_path, hand_tables):
    t = never_identified(hand_tables)
    bodies = {
        "any": 'table = "census"\ncolumn = "eal"\naggregation = "any"\nmissing = "zero"\n',
        "absent": 'table = "census"\naggregation = "absent"\n',
        "since": 'table = "referrals"\naggregation = "days_since"\n',
        "distinct": 'table = "census"\ncolumn = "school_id"\naggregation = "distinct"\n',
        "open": 'table = "social_care"\naggregation = "open_at"\nend_column = "end_date"\nmissing = "zero"\n',
    }
    X = many(tmp_path, t, AS_OF, bodies)
    assert X.loc["c01", "any"] == 1 and X.loc["c11", "any"] == 0 and X.loc["c02", "any"] == 0
    assert X.loc["c01", "absent"] == 0 and X.loc["c02", "absent"] == 1
    assert X.loc["c01", "since"] == (pd.Timestamp(AS_OF) - pd.Timestamp("2021-01-01")).days
    assert X.loc["c11", "since"] == 1
    assert X.loc["c01", "distinct"] == 2 and X.loc["c11", "distinct"] == 1
    X = many(tmp_path, t, "2021-12-31", bodies)
    assert X.loc["c01", "distinct"] == 3 and X.loc["c01", "open"] == 1
    X = many(tmp_path, t, "2022-01-01", bodies)
    assert X.loc["c01", "open"] == 0  # closed that day
    assert X.loc["c11", "open"] == 1  # CLA, open (no end date)


def test_latest_category_threshold_any_of(tmp_path, hand_tables):
    body = """table = "census"
    column = "sen_provision"
    aggregation = "latest"
    dtype = "category"
    """
    spec = (
        HEAD
        + '[[feature]]\nname = "f"\nlabel = "F"\nrole = "need"\n'
        + textwrap.dedent(body)
        + textwrap.dedent("""
    [[feature]]
    name = "g"
    label = "G"
    role = "need"
    table = "children"
    column = "imd_decile"
    aggregation = "latest"

    [[feature]]
    name = "g_low"
    label = "G low"
    role = "need"
    aggregation = "threshold"
    source = "g"
    op = "<="
    cutoff = 3
    missing = "zero"

    [[feature]]
    name = "either"
    label = "Either"
    role = "need"
    aggregation = "any_of"
    sources = ["g_low"]
    """)
    )
    p = tmp_path / "cat.toml"
    p.write_text(spec)
    X = build_features(hand_tables, "2021-06-01", pipeline=p)
    assert X["f"].dtype == pd.CategoricalDtype(["N", "K", "E"])
    assert X.loc["c01", "f"] == "N" and pd.isna(X.loc["c02", "f"])
    assert X.loc["c01", "g_low"] == 1 and X.loc["c02", "g_low"] == 0  # imd missing -> zero rule
    assert X.loc["c11", "g_low"] == 0 and X.loc["c01", "either"] == 1


def test_hand_tables_with_plain_dict_and_typed_input_agree(hand_tables):
    a = build_features(hand_tables, AS_OF)
    with pytest.raises(ValueError, match="extract_date is required"):  # never today
        build_features(dict(hand_tables), AS_OF)
    b = build_features(type(hand_tables)(dict(hand_tables), hand_tables.extract_date), AS_OF)
    pd.testing.assert_frame_equal(a, b, check_like=False)


def test_check_false_needs_typed_tables_and_agrees(hand_tables):
    from send_early.schema import check_tables

    with pytest.raises(
        SchemaError, match=r"with check=False every contract column must .*children.birth_date"
    ):
        build_features(hand_tables, AS_OF, check=False)
    typed = check_tables(hand_tables)
    pd.testing.assert_frame_equal(
        build_features(typed, AS_OF, check=False), build_features(hand_tables, AS_OF)
    )


@pytest.mark.parametrize("end", ["2021-09-02", "2025-08-31", None])
def test_an_end_date_after_as_of_is_not_known_at_as_of(hand_tables, end):
    sc = hand_tables["social_care"].copy()
    sc.loc[(sc["child_id"] == "c01") & (sc["episode"] == "CPP"), "end_date"] = end
    changed = hand_tables.replace(social_care=sc)
    a, b = build_features(hand_tables, AS_OF), build_features(changed, AS_OF)
    pd.testing.assert_frame_equal(a, b)
    assert b.loc["c01", "social_care_current"] == 1


def test_moving_out_after_as_of_is_not_known_at_as_of(hand_tables):
    ch = hand_tables["children"].copy()
    ch.loc[ch["child_id"] == "c01", "moved_out_date"] = "2021-09-02"
    pd.testing.assert_frame_equal(
        build_features(hand_tables, AS_OF), build_features(hand_tables.replace(children=ch), AS_OF)
    )


CHILDREN_SPEC = """
name = "children_only"
version = "0"
description = "Features on the children table (tests only)."

[population]
min_age_months = 0
max_age_months = 240

[[feature]]
name = "age"
label = "Age"
role = "need"
table = "children"
aggregation = "derive"
transform = "age_months"

[[feature]]
name = "on_record"
label = "On record"
role = "need"
table = "children"
aggregation = "count"
"""


def test_children_table_features_count_every_child_and_refuse_codes_as_numbers(
    hand_tables, tmp_path
):
    from send_early.exceptions import SpecError
    from send_early.features import load_pipeline

    path = tmp_path / "children.toml"
    path.write_text(CHILDREN_SPEC)
    X = build_features(hand_tables, AS_OF, pipeline=load_pipeline(path))
    assert len(X) and (X["on_record"] == 1).all()  # was an IndexError (no column)
    bad = CHILDREN_SPEC + (
        '\n[[feature]]\nname = "sex_latest"\nlabel = "Sex"\nrole = "context"\ntable = "children"\n'
        'column = "sex"\naggregation = "latest"\n'
    )
    path.write_text(bad)
    with pytest.raises(SpecError, match=r"sex_latest.*children\.sex holds codes.*category"):
        build_features(hand_tables, AS_OF, pipeline=load_pipeline(path))
