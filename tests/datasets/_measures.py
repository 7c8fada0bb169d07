"""The issue-18 targets measured on a cohort (aggregates only), shared by the tests and the docs table."""

from __future__ import annotations

import numpy as np
import pandas as pd


def january(tables, year: int, lo: int = 0, hi: int = 6) -> pd.DataFrame:
    """January census rows of ``year`` for pupils in national curriculum years lo..hi (0 = R)."""
    birth = tables["children"].set_index("child_id")["birth_date"]
    c = tables["census"]
    j = c[(c["census_date"].dt.month == 1) & (c["census_date"].dt.year == year)]
    age = (np.datetime64(f"{year - 1}-08-31") - birth.reindex(j["child_id"]).to_numpy()) / (
        np.timedelta64(1, "D") * 365.25
    )
    ncy = np.floor(age).astype(int) - 4
    return j[(ncy >= lo) & (ncy <= hi)].assign(ncy=ncy[(ncy >= lo) & (ncy <= hi)])


def shares(tables, year: int) -> dict[str, float]:
    j = january(tables, year)
    return {
        "K": float((j["sen_provision"] == "K").mean()),
        "E": float((j["sen_provision"] == "E").mean()),
        "FSM": float(j["fsm_eligible"].to_numpy(bool).mean()),
    }


def need_mix(tables, year: int = 2025) -> tuple[pd.Series, pd.Series]:
    """Primary need shares of pupils (R-Y11) with a plan and on SEN support, January ``year``."""
    ev = tables["sen_events"]
    j = january(tables, year, 0, 11)
    plan = ev[ev["event"] == "ehcp"].groupby("child_id")["primary_need"].last()
    sup = ev[ev["event"] == "sen_support"].groupby("child_id")["primary_need"].first()
    e = plan.reindex(j.loc[j["sen_provision"] == "E", "child_id"]).astype(str)
    k = sup.reindex(j.loc[j["sen_provision"] == "K", "child_id"]).astype(str)
    return e.value_counts(normalize=True), k.value_counts(normalize=True)


def social_care(tables, day: str = "2025-03-31") -> dict[str, float]:
    """Children with an open episode on ``day`` per 10,000 resident children aged 0-17."""
    d = pd.Timestamp(day)
    ch = tables["children"].set_index("child_id")
    res = ch[
        (ch["birth_date"] <= d)
        & (ch["birth_date"] > d - pd.DateOffset(years=18))
        & (ch["moved_out_date"].isna() | (ch["moved_out_date"] > d))
    ]
    sc = tables["social_care"]
    op = sc[
        (sc["start_date"] <= d)
        & (sc["end_date"].isna() | (sc["end_date"] >= d))
        & sc["child_id"].isin(res.index)
    ]
    out = {"CIN": 1e4 * op["child_id"].nunique() / len(res)}
    for epi in ("CPP", "CLA"):
        out[epi] = 1e4 * op.loc[op["episode"] == epi, "child_id"].nunique() / len(res)
    j = january(tables, d.year, 0, 11)
    sen = (j["sen_provision"] != "N").to_numpy()
    out["SEN share of CIN pupils"] = float(
        sen[j["child_id"].isin(op["child_id"]).to_numpy()].mean()
    )
    return out


def absence_by_provision(tables, year: int = 2023) -> dict[str, float]:
    """Autumn-term absence rate by provision at the October census of ``year``."""
    at = tables["attendance"]
    aut = at[(at["term_start"].dt.year == year) & (at["term_start"].dt.month == 9)]
    c = tables["census"]
    oc = c[(c["census_date"].dt.year == year) & (c["census_date"].dt.month == 10)]
    prov = oc.set_index("child_id")["sen_provision"].reindex(aut["child_id"]).to_numpy()
    absent = aut["authorised_absence"] + aut["unauthorised_absence"]
    rate = (absent / aut["possible_sessions"]).to_numpy(float)
    return {p: float(np.nanmean(rate[prov == p])) for p in "NKE"}


def early_years(tables, day: str = "2023-01-15") -> dict[str, float]:
    """Share identified with SEN by ``day`` among resident 2-year-olds and 3-4-year-olds."""
    d = pd.Timestamp(day)
    ch = tables["children"].set_index("child_id")
    ch = ch[ch["moved_out_date"].isna() | (ch["moved_out_date"] > d)]
    age = (d - ch["birth_date"]).dt.days / 365.25
    first = tables["sen_events"].groupby("child_id")["event_date"].min()
    ident = (first.reindex(ch.index) <= d).to_numpy()
    return {
        "age 2": float(ident[((age >= 2) & (age < 3)).to_numpy()].mean()),
        "age 3-4": float(ident[((age >= 3) & (age < 4.4)).to_numpy()].mean()),
    }


def plans_and_requests(tables) -> dict[str, float]:
    """New plans before age 5 (2021-2024), requests per 1,000 residents aged 0-15, refusals."""
    ch = tables["children"].set_index("child_id")
    ev = tables["sen_events"]
    plans = ev[ev["event"] == "ehcp"]
    age = (
        plans["event_date"].to_numpy() - ch["birth_date"].reindex(plans["child_id"]).to_numpy()
    ) / (np.timedelta64(1, "D") * 365.25)
    yr = plans["event_date"].dt.year.to_numpy()
    out = {"plans before 5": float((age[(yr >= 2021) & (yr <= 2024)] < 5).mean())}
    req = ev[ev["event"] == "ehc_request"]
    for y in (2018, 2024):
        d = pd.Timestamp(f"{y}-07-01")
        res = (
            (ch["birth_date"] <= d)
            & (ch["birth_date"] > d - pd.DateOffset(years=16))
            & (ch["moved_out_date"].isna() | (ch["moved_out_date"] > d))
        ).sum()
        out[f"requests {y}"] = 1e3 * (req["event_date"].dt.year == y).sum() / res
    late = req[req["event_date"] < tables.extract_date - pd.Timedelta(days=400)]
    out["refused"] = float(1 - late["child_id"].isin(plans["child_id"]).mean())
    return out


def ethnicity_ratios(tables) -> dict[str, float]:
    """Ever identified (and by first recorded need) against White pupils."""
    ch = tables["children"].set_index("child_id")
    ev = tables["sen_events"]
    eth = ch["ethnicity"].astype(str).to_numpy()
    ever = ch.index.isin(ev["child_id"])
    need = (
        ev[ev["event"] == "sen_support"]
        .groupby("child_id")["primary_need"]
        .first()
        .reindex(ch.index)
        .astype(str)
        .to_numpy()
    )

    def rate(group, what):
        return what[eth == group].mean()

    return {
        "Chinese any": rate("Chinese", ever) / rate("White", ever),
        "Asian ASD": rate("Asian", need == "ASD") / rate("White", need == "ASD"),
        "Black SEMH": rate("Black", need == "SEMH") / rate("White", need == "SEMH"),
    }


def councils(tables) -> dict[str, float]:
    """Between-council spread: EHC plan share (R-Y6, last January) and plans within 20 weeks."""
    ch = tables["children"].set_index("child_id")
    j = january(tables, int(tables["census"]["census_date"].dt.year.max()))
    la = ch["council_id"].reindex(j["child_id"]).to_numpy()
    e = (j["sen_provision"] == "E").groupby(la).mean()
    ev = tables["sen_events"]
    req = ev[ev["event"] == "ehc_request"].groupby("child_id")["event_date"].min()
    plan = ev[ev["event"] == "ehcp"].groupby("child_id")["event_date"].min()
    weeks = (plan - req.reindex(plan.index)).dt.days / 7
    within = (weeks <= 20).groupby(ch["council_id"].reindex(weeks.index).to_numpy()).mean()
    return {
        "E max/min": float(e.max() / e.min()),
        "within 20 weeks min": float(within.min()),
        "within 20 weeks max": float(within.max()),
        "within 20 weeks all": float((weeks <= 20).mean()),
    }
