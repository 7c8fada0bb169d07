"""Calibration targets of the synthetic cohort, measured on a seeded 50,000-child cohort.

Each band is the one in the foundation issue (docs/synthetic_data.md cites the sources).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from send_early.features import CUTOFF_TABLES
from send_early.schema import PHONICS_THRESHOLD

from .conftest import first_event, january_primary, school_year_start


def _between(value, lo, hi, what):
    assert lo <= value <= hi, f"{what} = {value:.3f}, expected in [{lo}, {hi}]"


@pytest.fixture(scope="module")
def jp(large):
    return january_primary(large[0])


def test_january_census_sen_support_and_ehcp_shares(jp):
    _between((jp["sen_provision"] == "K").mean(), 0.12, 0.17, "K share R-Y6")
    _between((jp["sen_provision"] == "E").mean(), 0.03, 0.06, "E share R-Y6")


def test_boys_share_of_k_and_e(jp):
    _between(jp.loc[jp["sen_provision"] == "K", "male"].mean(), 0.60, 0.66, "boys share of K")
    _between(jp.loc[jp["sen_provision"] == "E", "male"].mean(), 0.68, 0.78, "boys share of E")


def test_sen_prevalence_rises_with_age_through_primary(jp):
    prev = jp.groupby("ncy")["sen"].mean()
    assert prev.loc[[5, 6]].mean() - prev.loc[[0, 1]].mean() >= 0.02
    # and broadly monotone: each two-year band above the one before
    bands = [prev.loc[[0, 1]].mean(), prev.loc[[2, 3]].mean(), prev.loc[[4, 5, 6]].mean()]
    assert bands == sorted(bands)


def test_fsm_share_and_sen_ratio(jp):
    fsm = jp["fsm_eligible"].to_numpy(bool)
    _between(fsm.mean(), 0.22, 0.28, "FSM share")
    sen = jp["sen"].to_numpy()
    _between(sen[fsm].mean() / sen[~fsm].mean(), 1.8, 2.5, "SEN FSM/non-FSM ratio")


def test_eal_share(jp):
    _between(jp["eal"].to_numpy(bool).mean(), 0.18, 0.23, "EAL share")


def test_eal_lower_identification_at_equal_need(large):
    tables, truth = large
    eal_ever = tables["census"].groupby("child_id")["eal"].any()
    t = truth.loc[truth["in_state_school"]].copy()
    t["eal"] = eal_ever.reindex(t.index).fillna(False).to_numpy(bool)
    t["need_decile"] = pd.qcut(t["need"], 10, labels=False)
    rates = t.groupby(["need_decile", "eal"])["identified_latent"].mean().unstack()
    # within every need decile EAL children are identified less often
    assert (rates[True] < rates[False]).all(), rates
    # while the identification model's EAL term is negative
    assert (truth["logit_eal"] <= 0).all() and (truth["logit_eal"] < 0).any()


def test_ever_identified_by_11_and_relative_age(large):
    tables, _ = large
    ch = tables["children"].set_index("child_id")
    first = first_event(tables)
    extract = tables.extract_date
    eleven = ch["birth_date"] + pd.DateOffset(years=11)
    old = ch[(eleven <= extract) & ch["moved_out_date"].isna()]
    f = first.reindex(old.index)
    ever = (f.notna() & (f <= old["birth_date"] + pd.DateOffset(years=11))).to_numpy()
    _between(ever.mean(), 0.25, 0.35, "ever identified by 11")
    m = old["birth_date"].dt.month.to_numpy()
    summer, autumn = np.isin(m, [5, 6, 7, 8]), np.isin(m, [9, 10, 11, 12])
    _between(ever[summer].mean() / ever[autumn].mean(), 1.2, 1.6, "summer/autumn RR")


def test_birth_outcomes_and_gestation_gradient(large):
    tables, _ = large
    ch = tables["children"]
    g = ch["gestation_weeks"].astype("Float64").to_numpy(float, na_value=np.nan)
    bw = ch["birth_weight_g"].astype("Float64").to_numpy(float, na_value=np.nan)
    _between((g[~np.isnan(g)] < 37).mean(), 0.06, 0.09, "preterm share")
    _between((bw[~np.isnan(bw)] < 2500).mean(), 0.05, 0.09, "LBW share")
    assert np.isnan(g).mean() > 0.005 and np.isnan(bw).mean() > 0.005  # some missing
    ident = ch["child_id"].isin(first_event(tables).index).to_numpy()

    def odds(mask):
        p = ident[mask].mean()
        return p / (1 - p)

    base = odds(g == 40)
    ors = [
        odds((g >= lo) & (g <= hi)) / base for lo, hi in ((37, 39), (33, 36), (28, 32), (22, 27))
    ]
    # rising steadily as gestation falls, close to MacKay 2010: 1.16 / 1.53 / 2.66 / 6.92
    assert ors == sorted(ors), ors
    for got, pub, tol in zip(ors, (1.16, 1.53, 2.66, 6.92), (0.15, 0.35, 0.9, 3.5), strict=True):
        assert abs(got - pub) <= tol, (ors, pub)


def test_eyfsp_gld_and_later_identification(large):
    tables, _ = large
    a = tables["assessments"]
    gld = a[a["measure"] == "eyfsp_gld"].set_index("child_id")["value"]
    _between(gld.mean(), 0.64, 0.72, "GLD share")
    later = gld.index.isin(first_event(tables).index)
    ratio = later[gld.to_numpy() == 0].mean() / later[gld.to_numpy() == 1].mean()
    _between(ratio, 3.0, 20.0, "identified no-GLD/GLD ratio")


def test_asq_all_five_and_phonics(large):
    tables, _ = large
    h = tables["health_reviews"]
    # the 2-2.5 year review, each against its own questionnaire's cut-offs
    h = h[h["review_type"] == "2y"]
    h = h[h["asq_interval_months"].isin([24, 27, 30])]
    ok = np.ones(len(h), bool)
    for months in (24, 27, 30):
        at = (h["asq_interval_months"] == months).to_numpy()
        for col, cut in CUTOFF_TABLES["asq3"].cutoffs[months].items():
            ok &= ~(at & (h[col].astype("Float64") < cut).fillna(False).to_numpy(bool))
    _between(ok.mean(), 0.78, 0.85, "ASQ all five at or above cut-off")
    a = tables["assessments"]
    ph = a.loc[a["measure"] == "phonics_mark", "value"].astype(float)
    _between((ph >= PHONICS_THRESHOLD).mean(), 0.76, 0.84, "phonics >= 32")


def test_absence_and_persistent_absence_follow_the_national_series(large):
    """Overall and persistent absence by school year: 4.7% / 10.9% in 2018/19, 7.6% / 22.5% in
    2021/22 (send_facts 6.2, [U]); the summer term 2020 was not collected."""
    tables, _ = large
    at = tables["attendance"]
    py = (
        at.assign(
            y=school_year_start(at["term_start"]),
            absent=at["authorised_absence"] + at["unauthorised_absence"],
        )
        .groupby(["y", "child_id"])[["absent", "possible_sessions"]]
        .sum()
    )
    by_year = py.groupby(level=0).sum()
    overall = by_year["absent"] / by_year["possible_sessions"]
    pa = (py["absent"] / py["possible_sessions"] >= 0.10).groupby(level=0).mean()
    _between(overall[2018], 0.040, 0.055, "overall absence 2018/19")
    _between(overall[2021], 0.065, 0.090, "overall absence 2021/22")
    _between(pa[2018], 0.07, 0.15, "persistent absence 2018/19")
    _between(pa[2021], 0.17, 0.28, "persistent absence 2021/22")
    summer_2020 = (at["term_start"].dt.year == 2020) & (at["term_start"].dt.month == 4)
    assert not summer_2020.any()


def test_social_care_identification_ratio(large):
    tables, _ = large
    ch = tables["children"]["child_id"]
    ident = ch.isin(first_event(tables).index).to_numpy()
    sc = ch.isin(tables["social_care"]["child_id"]).to_numpy()
    _between(ident[sc].mean() / ident[~sc].mean(), 2.4, 3.6, "social care identification ratio")


def test_school_effect_is_large(large):
    """Schools differ a lot: the school effect is a big share of the identification log-odds variance."""
    _, truth = large
    var_school = truth["logit_school"].var()
    total = truth["logit_identify_primary"].var() + np.pi**2 / 3
    assert var_school / total > 0.10
    # and the school identification rates are widely spread among schools of similar intake
    assert truth.groupby("school_effect")["identified_latent"].mean().std() > 0.05


def test_identified_is_not_need(large):
    _, truth = large
    ct = pd.crosstab(truth["true_need"], truth["identified_latent"])
    # missed need, and identification without it
    assert ct.loc[True, False] > 0 and ct.loc[False, True] > 0
    assert 0.12 < truth["true_need"].mean() < 0.30
