"""Synthetic localities: a handful per council, following deprivation, from a stream of their own."""

from __future__ import annotations

import numpy as np
import pandas as pd

import send_early.datasets._cohort as cohort
from send_early import validate
from send_early.datasets import make_cohort


def test_each_council_has_four_to_six_localities_that_follow_deprivation():
    tables = make_cohort(20_000, random_state=4, councils=2)  # about 12 school areas each
    kids = tables["children"]
    assert validate(tables).ok
    per = kids.dropna(subset=["locality"]).groupby("council_id")["locality"].nunique()
    assert per.between(4, 6).all() and len(per) == 2
    owners = kids.dropna(subset=["locality"]).groupby("locality")["council_id"].nunique()
    assert (owners == 1).all()  # a locality belongs to one council
    assert 0.002 < kids["locality"].isna().mean() < 0.03
    one = kids[kids["council_id"] == kids["council_id"].mode()[0]].dropna(subset=["locality"])
    number = one["locality"].str[1:].astype(int)
    rho = one["imd_decile"].astype(float).corr(number.astype(float), method="spearman")
    assert rho < -0.3  # L1 is the council's least deprived locality


def test_the_locality_stream_leaves_every_other_column_unchanged(monkeypatch):
    kw = {"random_state": 11, "councils": 2, "return_truth": True}
    with_teams, truth = make_cohort(1500, **kw)

    def no_teams(rng, prim, *args):
        return pd.array([None] * len(prim), dtype="str")

    monkeypatch.setattr(cohort, "_localities", no_teams)
    without, truth_without = make_cohort(1500, **kw)
    assert without["children"]["locality"].isna().all()
    assert with_teams["children"]["locality"].notna().mean() > 0.9
    for name in with_teams:
        pd.testing.assert_frame_equal(
            with_teams[name].drop(columns=["locality"], errors="ignore"),
            without[name].drop(columns=["locality"], errors="ignore"),
        )
    pd.testing.assert_frame_equal(truth, truth_without)
    monkeypatch.undo()  # and the same seed gives the same localities
    again = make_cohort(1500, **kw)[0]["children"]["locality"]
    np.testing.assert_array_equal(again.fillna(""), with_teams["children"]["locality"].fillna(""))
