"""make_cohort: contract, determinism, age-appropriateness, consistency and argument errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from send_early import Tables, validate
from send_early.datasets import make_cohort
from send_early.schema import TABLE_NAMES, TABLES, check_tables, write_tables


def _assert_contract_dtypes(tables):
    assert set(tables) == set(TABLE_NAMES)
    for name in TABLE_NAMES:
        df = tables[name]
        assert list(df.columns) == TABLES[name].column_names, name
        for col, dtype in TABLES[name].dtypes.items():
            assert df[col].dtype == dtype, (name, col, df[col].dtype, dtype)


def test_returns_tables_with_contract_dtypes(large):
    tables, _ = large
    assert isinstance(tables, Tables)
    assert tables.extract_date == pd.Timestamp("2025-08-31")
    _assert_contract_dtypes(tables)


def test_typed_reader_changes_nothing():
    tables = make_cohort(2_000, random_state=5)
    typed = check_tables(tables)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(typed[name], tables[name])


def test_large_cohort_validates_without_warnings(large):
    report = validate(large[0])
    assert report.ok, report.to_text()
    assert report.problems.empty, report.to_text()


def test_ids_are_pseudonymous_strings(large):
    tables, _ = large
    ids = tables["children"]["child_id"]
    assert ids.is_unique and ids.str.fullmatch(r"c\d{7}").all()
    assert tables["census"]["school_id"].str.fullmatch(r"s\d{4}").all()


def test_same_seed_same_tables_and_bytes(tmp_path):
    a = make_cohort(300, random_state=7)
    b = make_cohort(300, random_state=7)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(a[name], b[name])
    for fmt in ("parquet", "csv"):
        write_tables(a, tmp_path / f"a_{fmt}", format=fmt)
        write_tables(b, tmp_path / f"b_{fmt}", format=fmt)
        for name in TABLE_NAMES:
            fa = (tmp_path / f"a_{fmt}" / f"{name}.{fmt}").read_bytes()
            fb = (tmp_path / f"b_{fmt}" / f"{name}.{fmt}").read_bytes()
            assert fa == fb, (fmt, name)


def test_different_seed_different_tables():
    a = make_cohort(300, random_state=1)
    b = make_cohort(300, random_state=2)
    assert not a["children"].equals(b["children"])
    assert not a["census"].equals(b["census"])


def test_generator_random_state_is_used_and_no_global_rng():
    np.random.seed(0)  # noqa: NPY002 - checks that the legacy global RNG is left alone
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    a = make_cohort(50, random_state=np.random.default_rng(3))
    b = make_cohort(50, random_state=3)
    assert a["children"].equals(b["children"])
    assert (np.random.get_state()[1] == before).all()  # noqa: NPY002


def _birth(tables, df):
    return tables["children"].set_index("child_id")["birth_date"].reindex(df["child_id"]).to_numpy()


def _limits(tables, df):
    """(moved_out_date or NaT, extract date) for each row of ``df``."""
    ch = tables["children"].set_index("child_id")
    moved = ch["moved_out_date"].reindex(df["child_id"]).to_numpy()
    return moved, np.datetime64(tables.extract_date.date(), "s")


def test_no_record_before_birth_after_move_out_or_extract(large):
    tables, _ = large
    for name in TABLE_NAMES:
        if name == "children":
            continue
        df = tables[name]
        b = _birth(tables, df)
        moved, ext = _limits(tables, df)
        for col in TABLES[name].date_columns:
            d = df[col].to_numpy()
            ok = ~pd.isna(d)
            assert (d[ok] >= b[ok]).all(), (name, col, "before birth")
            assert (d[ok] <= ext).all(), (name, col, "after extract")
            mv = ok & ~pd.isna(moved)
            assert (d[mv] < moved[mv]).all(), (name, col, "after moving out")
    ch = tables["children"]
    moved = ch["moved_out_date"].notna()
    assert 0.05 < moved.mean() < 0.4
    assert (ch.loc[moved, "moved_out_date"] > ch.loc[moved, "birth_date"]).all()


def _reception_year(birth: pd.Series) -> np.ndarray:
    """Calendar year of the September the child starts Reception."""
    return np.where(birth.dt.month >= 9, birth.dt.year + 5, birth.dt.year + 4)


def test_age_appropriate_assessments(large):
    tables, _ = large
    a = tables["assessments"]
    birth = tables["children"].set_index("child_id")["birth_date"]
    rec = _reception_year(birth.reindex(a["child_id"]))
    d = a["assessment_date"]
    ph = (a["measure"] == "phonics_mark").to_numpy()
    # phonics in June of Year 1, except the pandemic years: no June check in 2020 or 2021,
    # a past check in the autumn term of 2020 for that Year 2; EYFSP only in June at the
    # end of Reception, none in 2020 or 2021
    june = (d.dt.month == 6).to_numpy()
    autumn_2020 = ((d.dt.year == 2020) & d.dt.month.isin([11, 12])).to_numpy()
    assert (june | (ph & autumn_2020)).all()
    assert (d.dt.year.to_numpy()[ph & june] == rec[ph & june] + 2).all()
    assert (rec[ph & autumn_2020] == 2018).all() and (ph & autumn_2020).sum() > 100
    assert not (june & d.dt.year.isin([2020, 2021]).to_numpy()).any()
    assert (d.dt.year.to_numpy()[~ph] == rec[~ph] + 1).all()
    assert a.groupby(["child_id", "measure"], observed=True).size().max() == 1
    # GLD is the conjunction of the five areas
    e = a[~ph].pivot(index="child_id", columns="measure", values="value")
    areas = ["eyfsp_comm_lang", "eyfsp_psed", "eyfsp_physical", "eyfsp_literacy", "eyfsp_maths"]
    assert (e["eyfsp_gld"] == e[areas].min(axis=1)).all()


def test_school_records_only_from_reception(large):
    tables, _ = large
    birth = tables["children"].set_index("child_id")["birth_date"]
    for name, col in (
        ("census", "census_date"),
        ("attendance", "term_start"),
        ("exclusions", "start_date"),
    ):
        df = tables[name]
        rec = _reception_year(birth.reindex(df["child_id"]))
        start = pd.to_datetime(pd.Series(rec).astype(str) + "-09-01").to_numpy()
        end = pd.to_datetime(pd.Series(rec + 12).astype(str) + "-08-31").to_numpy()
        d = df[col].to_numpy()
        assert (d >= start).all() and (d <= end).all(), name


def test_census_days_and_terms(large):
    tables, _ = large
    days = pd.Series(tables["census"]["census_date"].unique())
    assert (days.dt.day_of_week == 3).all()  # Thursdays
    m, dd = days.dt.month, days.dt.day
    assert m.isin([10, 1, 5]).all()
    assert ((m != 10) | (dd <= 7)).all()  # first Thursday of October
    assert ((m == 10) | ((dd >= 15) & (dd <= 21))).all()  # third Thursday of January / May
    at = tables["attendance"]
    assert at["term_start"].dt.month.isin([9, 1, 4]).all()
    assert (at["term_start"].dt.day_of_week < 5).all() and (at["term_end"].dt.day_of_week < 5).all()
    assert at["possible_sessions"].between(100, 160).all()


def test_health_reviews_at_the_right_ages(large):
    tables, _ = large
    h = tables["health_reviews"]
    age = (h["review_date"] - pd.Series(_birth(tables, h), index=h.index)).dt.days / 30.44
    one = (h["review_type"] == "1y").to_numpy()
    # 2-year reviews: most by 30 months, some late (to 36 months)
    assert age[one].between(9, 16).all() and age[~one].between(23.9, 36.1).all()
    assert h.groupby(["child_id", "review_type"], observed=True).size().max() == 1
    # not every child has every review, and some reviews lack ASQ scores
    n = len(tables["children"])
    assert (h["review_type"] == "2y").sum() < 0.9 * n
    assert h["asq_communication"].isna().any()


def test_census_consistent_with_sen_events(large):
    tables, _ = large
    c, ev = tables["census"], tables["sen_events"]
    first = ev.groupby("child_id")["event_date"].min()
    ehcp = ev[ev["event"] == "ehcp"].groupby("child_id")["event_date"].min()
    ke = c[c["sen_provision"] != "N"]
    f = first.reindex(ke["child_id"]).to_numpy()
    assert (~pd.isna(f) & (f <= ke["census_date"].to_numpy())).all()
    e = c[c["sen_provision"] == "E"]
    f = ehcp.reindex(e["child_id"]).to_numpy()
    assert (~pd.isna(f) & (f <= e["census_date"].to_numpy())).all()
    # order of events: sen_support, then ehc_request, then ehcp
    piv = ev.pivot_table(
        index="child_id", columns="event", values="event_date", aggfunc="min", observed=True
    )
    has_plan = piv["ehcp"].notna()
    assert (piv.loc[has_plan, "ehc_request"] < piv.loc[has_plan, "ehcp"]).all()
    has_req = piv["ehc_request"].notna()
    assert (piv.loc[has_req, "sen_support"] < piv.loc[has_req, "ehc_request"]).all()
    # some requests are refused, some children leave SEN support
    assert has_req.sum() > has_plan.sum()
    assert ev["primary_need"].isin(["NSA"]).any()


def test_schools_and_moves(large):
    tables, _ = large
    c = tables["census"]
    n_schools = c.groupby("child_id")["school_id"].nunique()
    assert (n_schools >= 2).mean() > 0.2  # primary then secondary, plus some moves
    assert c["school_id"].nunique() > 50


def test_truth_shape(large):
    tables, truth = large
    assert truth.index.name == "child_id"
    assert truth.index.equals(pd.Index(tables["children"]["child_id"]))
    for col in (
        "need",
        "true_need",
        "school_effect",
        "p_identify",
        "p_identify_primary",
        "logit_need",
        "logit_school",
        "logit_relative_age",
        "logit_sex",
        "logit_eal",
        "logit_absence",
        "identified_latent",
    ):
        assert col in truth.columns, col
    assert truth["p_identify"].between(0, 1).all()
    assert truth["true_need"].dtype == bool
    parts = [c for c in truth.columns if c.startswith("logit_") and c != "logit_identify_primary"]
    np.testing.assert_allclose(truth[parts].sum(axis=1), truth["logit_identify_primary"])
    # identified children (observed, any time) all have identified_latent
    ident = truth.index.isin(tables["sen_events"]["child_id"])
    assert truth.loc[ident, "identified_latent"].all()


def test_birth_years_and_extract_respected():
    t = make_cohort(400, random_state=0, birth_years=(2015, 2016), extract_date="2016-06-30")
    b = t["children"]["birth_date"]
    assert b.min() >= pd.Timestamp("2015-01-01") and b.max() <= pd.Timestamp("2016-06-30")
    assert t.extract_date == pd.Timestamp("2016-06-30")
    assert len(t["census"]) == 0 and validate(t).ok


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"n_children": 0}, ValueError, "n_children must be at least 1; found 0"),
        ({"n_children": -5}, ValueError, "n_children must be at least 1"),
        ({"n_children": 2.5}, TypeError, "n_children must be a whole number"),
        ({"n_children": 10, "birth_years": (2022, 2010)}, ValueError, "first <= last"),
        ({"n_children": 10, "birth_years": 2010}, ValueError, "birth_years must be a pair"),
        ({"n_children": 10, "birth_years": (2010, "x")}, ValueError, "two whole years"),
        ({"n_children": 10, "birth_years": (1800, 2010)}, ValueError, "between 1990 and 2100"),
        (
            {"n_children": 10, "extract_date": "not a date"},
            ValueError,
            "extract_date must be an ISO date",
        ),
        (
            {"n_children": 10, "birth_years": (2010, 2022), "extract_date": "2005-01-01"},
            ValueError,
            "on or after the first day",
        ),
        ({"n_children": 10, "councils": 0}, ValueError, "councils must be a whole number"),
        ({"n_children": 10, "councils": 2.5}, ValueError, "councils must be a whole number"),
        ({"n_children": 10, "profile": "rural"}, ValueError, "profile must be None or one of"),
        ({"n_children": 10, "random_state": "seed"}, TypeError, "random_state must be"),
        ({"n_children": 10, "random_state": -1}, ValueError, "non-negative"),
    ],
)
def test_argument_errors(kwargs, exc, match):
    n = kwargs.pop("n_children")
    with pytest.raises(exc, match=match):
        make_cohort(n, **kwargs)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 400),
    seed=st.integers(0, 2**32 - 1),
    y0=st.integers(2005, 2022),
    span=st.integers(0, 8),
    extract=st.dates(
        min_value=pd.Timestamp("2023-01-01").date(), max_value=pd.Timestamp("2025-12-31").date()
    ),
)
def test_any_small_cohort_validates(n, seed, y0, span, extract):
    y1 = min(y0 + span, 2024)
    tables, truth = make_cohort(
        n, random_state=seed, birth_years=(y0, y1), extract_date=extract, return_truth=True
    )
    report = validate(tables)
    assert report.ok and report.problems.empty, report.to_text()
    _assert_contract_dtypes(tables)
    assert len(tables["children"]) == n == len(truth)
    assert (tables["children"]["birth_date"] <= pd.Timestamp(extract)).all()
