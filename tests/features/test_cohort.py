"""The feature engine on a synthetic cohort from send_early.datasets.make_cohort."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from send_early import datasets
from send_early.features import (
    CUTOFF_TABLES,
    build_features,
    build_labels,
    make_training_frame,
    population,
    temporal_split,
)


@pytest.fixture(scope="module")
def cohort():
    return datasets.make_cohort(1500, random_state=7)


def test_features_on_a_cohort(cohort):
    as_of = "2020-09-01"
    X = build_features(cohort, as_of)
    pop = population(cohort, as_of)
    assert sum(pop.attrs["counts"].values()) == len(cohort["children"])
    assert len(X) == pop.attrs["counts"]["in_population"] > 0
    assert X.index.is_unique
    assert X["age_months"].between(12, 131).all()
    for c in ("attendance_rate_3t", "unauth_absence_rate_3t"):
        assert X[c].dropna().between(0, 1).all()
    assert X["asq_review_missing"].isin([0, 1]).all()
    assert (X["school_moves"] >= 0).all()
    # flags agree with the values they threshold
    # below-cut-off flags: known only with a score; a score under every interval's cut-off is
    # below, one at or above every interval's cut-off is not (which interval is the review's own)
    cuts = CUTOFF_TABLES["asq3"].lookup("asq_communication")
    score, below = X["asq_communication"], X["asq_communication_below"]
    assert (score.isna() <= below.isna()).all()
    known = below.notna()
    assert (below[known & (score < np.nanmin(cuts))] == 1).all()
    assert (below[known & (score >= np.nanmax(cuts))] == 0).all()
    ok = X["phonics_mark"].notna()
    assert ((X.loc[ok, "phonics_mark"] >= 32) == (X.loc[ok, "phonics_met"] == 1)).all()
    assert (X["eyfsp_gld_status"] == "assessed").sum() == X["eyfsp_gld"].notna().sum()


def test_labels_and_split_on_a_cohort(cohort):
    dates = [f"{y}-09-01" for y in range(2016, 2023)]
    frame = make_training_frame(cohort, dates, horizon_months=24)
    assert set(frame["label"].unique()) <= {0, 1}
    assert frame["label"].sum() > 0
    for s in frame.attrs["snapshots"]:
        assert (
            s["n_labelled"] + s["n_censored_moved_out"] + s["n_censored_extract"]
            == s["n_population"]
        )
    # 2023-09-01 + 24 months is after the 2025-08-31 extract: that snapshot is wholly censored
    y = build_labels(cohort, "2023-09-01")
    assert len(y) == 0 and y.attrs["summary"]["n_censored_extract"] > 0
    train, test = temporal_split(frame, test_as_of="2022-09-01")
    last_train = train.index.get_level_values("as_of").max()
    assert last_train + pd.DateOffset(months=24) <= test.index.get_level_values("as_of").min()
    assert np.isin(train.index.get_level_values("as_of").year, [2016, 2017, 2018, 2019, 2020]).all()


def test_row_order_does_not_matter(cohort):
    # make_cohort writes rows grouped by child (the engine's fast path); shuffled rows take the sort path
    rng = np.random.default_rng(0)
    shuffled = type(cohort)(
        {k: v.iloc[rng.permutation(len(v))] for k, v in cohort.items()}, cohort.extract_date
    )
    a = build_features(cohort, "2021-09-01", check=False)
    b = build_features(shuffled, "2021-09-01", check=False)
    pd.testing.assert_frame_equal(a, b.loc[a.index])
