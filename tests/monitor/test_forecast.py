"""Next year's forecast: new SEN support from the scores, EHC requests from history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from send_early.batch import REJECT_COLUMNS, ScoringResult
from send_early.monitor import TERMS, forecast, term_of

AS_OF = "2025-01-15"


def world(n_young=60, n_old=60, n_teen=4, risk=0.2, seed=0):
    """Children scored at AS_OF (3-year-olds, 8-year-olds, a few 11-year-olds) and a history."""
    rng = np.random.default_rng(seed)
    births = ["2021-06-01"] * n_young + ["2016-06-01"] * n_old + ["2013-09-01"] * n_teen
    ids = [f"c{i:03d}" for i in range(len(births))]
    hist_ids = [f"h{i:03d}" for i in range(90)]
    n = len(ids) + len(hist_ids)
    children = pd.DataFrame(
        {
            "child_id": ids + hist_ids,
            "birth_date": births + ["2017-03-01"] * 90,
            "sex": ["F", "M"] * (n // 2),
            "ethnicity": [None] * n,
            "imd_decile": [5] * n,
            "gestation_weeks": [39] * n,
            "birth_weight_g": [3300] * n,
            "moved_out_date": [None] * n,
        }
    )
    # history: 90 first identifications in the last three years (60 autumn, 30 summer),
    # needs SEMH (45), SLCN (40), VI (5: pooled); 24 EHC requests (12 a year in autumn)
    dates = ["2023-10-10"] * 30 + ["2024-10-10"] * 30 + ["2024-06-10"] * 30
    needs = ["SEMH"] * 45 + ["SLCN"] * 40 + ["VI"] * 5
    events = pd.DataFrame(
        {
            "child_id": hist_ids + hist_ids[:24],
            "event_date": dates + ["2023-11-01"] * 12 + ["2024-11-01"] * 12,
            "event": ["sen_support"] * 90 + ["ehc_request"] * 24,
            "primary_need": needs + [None] * 24,
        }
    )
    scores = pd.DataFrame(
        {
            "child_id": pd.array(ids, dtype="str"),
            "as_of": pd.Timestamp(AS_OF),
            "risk": np.full(len(ids), risk) if np.isscalar(risk) else risk,
            "rank": np.arange(1, len(ids) + 1),
            "flagged": rng.random(len(ids)) < 0.1,
        }
    )
    rejects = pd.DataFrame({c: pd.Series([], dtype="str") for c in REJECT_COLUMNS})
    run = ScoringResult(scores=scores, rejects=rejects, metadata={"as_of": AS_OF})
    return run, {"children": children, "sen_events": events}


def test_terms():
    dates = pd.to_datetime(["2025-12-31", "2025-01-01", "2025-04-01", "2025-08-31"])
    assert term_of(dates).tolist() == [0, 1, 2, 2]
    assert TERMS == ("autumn", "spring", "summer")


def test_new_support_is_risk_times_share_split_by_history():
    run, tables = world()
    f = forecast(run, tables, share_within_12=0.5)
    new = f[(f["measure"] == "new SEN support") & (f["by"] == "term")].set_index(["phase", "group"])
    # 60 children x 0.2 x 0.5 = 6 expected per phase; two thirds in autumn, none in spring
    assert new.loc[("under 5", "autumn"), "expected"] == pytest.approx(4.0)
    assert new.loc[("primary", "summer"), "expected"] == pytest.approx(2.0)
    assert ("under 5", "spring") not in new.index  # no identification in spring: no row
    low, high = new.loc[("under 5", "autumn"), ["low", "high"]]
    assert 0 <= low < 4.0 < high


def test_small_phases_and_small_needs_are_hidden():
    run, tables = world()
    f = forecast(run, tables, share_within_12=0.5)
    teen = f[(f["measure"] == "new SEN support") & (f["phase"] == "secondary")]
    assert teen["expected"].isna().all()  # 4 children: a statistic on fewer than 10
    needs = set(f[f["by"] == "need"]["group"])
    assert "VI" not in needs  # 5 in the history: pooled
    assert {"SEMH", "SLCN"} <= needs


def test_ehc_requests_from_history():
    run, tables = world()
    f = forecast(run, tables, share_within_12=0.5, years=2)
    ehc = f[(f["measure"] == "EHC needs assessment requests") & (f["by"] == "term")]
    autumn = ehc[(ehc["phase"] == "primary") & (ehc["group"] == "autumn")]
    assert autumn["expected"].item() == pytest.approx(12.0)
    assert autumn["low"].item() < 12 < autumn["high"].item()
    assert ehc[ehc["group"] == "spring"]["expected"].fillna(0).eq(0).all()


def test_measured_share_within_12_months(tiny_tables):
    # with real Tables the share comes from build_labels on the latest complete window
    from send_early.schema import Tables

    run, _ = world()
    t = Tables.coerce(tiny_tables)
    ids = t["children"]["child_id"].astype(str).tolist()
    run.scores["child_id"] = pd.array((ids * 40)[: len(run.scores)], dtype="str")
    f = forecast(run, t)
    assert 0 <= f.attrs["share_within_12"] <= 1


@settings(max_examples=25, deadline=None)
@given(risk=st.lists(st.floats(0, 1), min_size=124, max_size=124), share=st.floats(0.05, 1))
def test_by_term_and_by_need_add_up_to_the_same(risk, share):
    run, tables = world(risk=np.array(risk))
    f = forecast(run, tables, share_within_12=share)
    new = f[f["measure"] == "new SEN support"]
    for phase in ("under 5", "primary"):
        by_term = new[(new["phase"] == phase) & (new["by"] == "term")]["expected"].sum()
        by_need = new[(new["phase"] == phase) & (new["by"] == "need")]["expected"].sum()
        assert by_term == pytest.approx(by_need, abs=0.2)  # both partition the phase's total
        assert (new["low"].dropna() >= 0).all()


def test_forecast_in_the_monitoring_report():
    from send_early.monitor import monitor_report

    run, tables = world()
    run.metadata["model"] = {"name": "m", "version": "1"}
    from send_early.schema import Tables

    t = Tables(tables, extract_date="2025-06-30")
    rep = monitor_report([run], tables=t, expected=set(), horizon_months=12)
    assert rep.forecast and {r["measure"] for r in rep.forecast} == {
        "new SEN support",
        "EHC needs assessment requests",
    }
    page = rep.html()
    assert "Next year: expected new SEN support" in page
    assert any("Forecast: the 12 months after 2025-01-15" in n for n in rep.notes)
    assert "c001" not in page and "h001" not in page
