"""Issue 18: a synthetic England that moves with time, the pandemic years, need mix, social
care and councils that differ. Targets and sources are in docs/synthetic_data.md."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from send_early.datasets import make_cohort

from . import _measures as m
from .conftest import SEED


def _between(value, lo, hi, what):
    assert lo <= value <= hi, f"{what} = {value:.3f}, expected in [{lo}, {hi}]"


@pytest.fixture(scope="session")
def seeds():
    """Three more 30,000-child cohorts for the rates that are noisy on one cohort."""
    return [make_cohort(30_000, random_state=s) for s in (1, 2, 3)]


@pytest.fixture(scope="session")
def area():
    """Eight councils of a London-like area."""
    return make_cohort(40_000, random_state=SEED, councils=8, profile="london")


def test_births_continue_to_the_extract_and_every_primary_year_is_covered(large):
    tables, _ = large
    birth = tables["children"]["birth_date"]
    assert (tables.extract_date - birth.max()).days <= 2
    for year in range(2016, 2026):
        ncy = m.january(tables, year)["ncy"]
        counts = ncy.value_counts()
        assert set(counts.index) == set(range(7)), (year, counts)
        assert counts.min() > 0.6 * counts.max(), (year, counts)


def test_plan_support_and_fsm_shares_grow_as_nationally(large, seeds):
    """EHC plans ~1.8x and SEN support ~1.2x Jan 2018 -> Jan 2025, FSM ~1.7x 2019 -> 2025."""
    growth = []
    for tables in [large[0], *seeds]:
        a18, a19, a25 = (m.shares(tables, y) for y in (2018, 2019, 2025))
        growth.append((a25["E"] / a18["E"], a25["K"] / a18["K"], a25["FSM"] / a19["FSM"]))
    e, k, fsm = np.mean(growth, axis=0)
    _between(e, 1.45, 2.2, "EHC plan growth 2018-2025")
    _between(k, 1.05, 1.35, "SEN support growth 2018-2025")
    _between(fsm, 1.5, 1.9, "FSM growth 2019-2025")
    # every cohort grows, not only the average
    assert all(g[0] > 1.2 and g[1] > 1.0 for g in growth), growth


def test_requests_grow_and_a_third_are_refused(large, seeds):
    res = [m.plans_and_requests(t) for t in [large[0], *seeds]]
    growth = np.mean([r["requests 2024"] / r["requests 2018"] for r in res])
    _between(growth, 1.7, 2.9, "requests per child 2024 / 2018 (national 2.13)")
    _between(np.mean([r["refused"] for r in res]), 0.25, 0.42, "share of requests refused")
    _between(np.mean([r["plans before 5"] for r in res]), 0.12, 0.28, "new plans before age 5")


def test_no_eyfsp_in_2020_and_2021_and_reformed_gld(large):
    tables, _ = large
    a = tables["assessments"]
    e = a[a["measure"] == "eyfsp_gld"]
    year = e["assessment_date"].dt.year
    assert not year.isin([2020, 2021]).any()
    gld = e.groupby(year)["value"].mean()
    _between(gld[2019], 0.69, 0.75, "GLD 2019 (71.8%)")
    _between(gld[2022], 0.62, 0.68, "GLD 2022 (65.2%)")
    assert gld[2019] - gld[2022] > 0.03


def test_health_visitor_reviews_drop_in_2020_21(large):
    tables, _ = large
    ch = tables["children"]
    h = tables["health_reviews"]
    two = h.loc[h["review_type"] == "2y", "child_id"]
    due = ch["birth_date"] + pd.DateOffset(months=27)
    done = ch["child_id"].isin(two)

    def coverage(lo, hi):
        sel = (due >= lo) & (due < hi) & ch["moved_out_date"].isna()
        return done[sel].mean()

    before = coverage("2018-06-01", "2019-12-01")
    during = coverage("2020-06-01", "2021-02-01")
    assert before - during > 0.05, (before, during)


def test_need_mix(large):
    plan_mix, support_mix = m.need_mix(large[0])
    _between(plan_mix["ASD"], 0.27, 0.38, "ASD share of EHC plans (31.5-33.6%)")
    recorded = support_mix.drop("NSA", errors="ignore")
    assert recorded.index[0] == "SLCN", recorded.head()


def test_ethnicity_effects_by_need(large):
    r = m.ethnicity_ratios(large[0])
    _between(r["Chinese any"], 0.35, 0.75, "Chinese / White, ever identified")
    _between(r["Asian ASD"], 0.35, 0.85, "Asian / White, ASD")
    _between(r["Black SEMH"], 1.1, 1.9, "Black / White, SEMH")


def test_social_care_at_national_rates(large):
    r = m.social_care(large[0])
    _between(r["CIN"], 270, 400, "children in need per 10,000 (~330)")
    _between(r["CPP"], 28, 60, "child protection plans per 10,000 (~42)")
    _between(r["CLA"], 50, 95, "looked after per 10,000 (~70)")
    _between(r["SEN share of CIN pupils"], 0.35, 0.6, "SEN among CIN pupils (~48%)")


def test_absence_by_sen_status(large):
    r = m.absence_by_provision(large[0])
    _between(r["E"] / r["N"], 1.7, 2.4, "absence EHC plan / no SEN (~2.0)")
    _between(r["K"] / r["N"], 1.4, 2.0, "absence SEN support / no SEN (~1.7)")


def test_early_years_identification(large):
    r = m.early_years(large[0])
    _between(r["age 2"], 0.005, 0.05, "identified by age 2")
    _between(r["age 3-4"], 0.03, 0.09, "identified at 3-4, before Reception")


def test_councils_differ(area):
    r = m.councils(area)
    assert area["children"]["council_id"].nunique() == 8
    _between(r["E max/min"], 1.5, 4.0, "EHC plan share, highest / lowest council")
    assert r["within 20 weeks min"] < 0.3 and r["within 20 weeks max"] > 0.7, r


def test_one_council_by_default(large):
    tables, _ = large
    assert tables["children"]["council_id"].unique().tolist() == ["LA01"]
    _between(m.councils(tables)["within 20 weeks all"], 0.35, 0.6, "plans within 20 weeks")


def test_profiles_change_the_area_not_the_contract():
    london = make_cohort(3_000, random_state=4, profile="london")
    county = make_cohort(3_000, random_state=4, profile="county")
    eal = [t["census"]["eal"].to_numpy(bool).mean() for t in (london, county)]
    white = [(t["children"]["ethnicity"] == "White").mean() for t in (london, county)]
    assert eal[0] > 2 * eal[1] and white[0] < white[1]
    a = make_cohort(300, random_state=9, councils=3, profile="urban")
    b = make_cohort(300, random_state=9, councils=3, profile="urban")
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
