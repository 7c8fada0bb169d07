"""ASQ-3 at the health visitor reviews: the questionnaire follows the child's age at the review,
and the share below each interval's cut-offs is plausible (send_facts 2.7 and 3.9)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from send_early.features import CUTOFF_TABLES
from send_early.schema import ASQ_DOMAINS

#: The publisher's age windows, written out here rather than read from the generator:
#: (months, days) of age from which each questionnaire is used.
WINDOWS = [((23, 0), 24), ((25, 16), 27), ((28, 16), 30), ((31, 16), 33), ((34, 16), 36)]
#: England 2022/23, share of children at or above expected per domain at 2-2.5 years.
NATIONAL_BELOW = {
    "asq_communication": 0.147,
    "asq_gross_motor": 0.072,
    "asq_fine_motor": 0.074,
    "asq_problem_solving": 0.082,
    "asq_personal_social": 0.097,
}


@pytest.fixture(scope="module")
def reviews(large):
    tables, _ = large
    h = tables["health_reviews"].copy()
    birth = tables["children"].set_index("child_id")["birth_date"]
    h["birth"] = birth.reindex(h["child_id"]).to_numpy()
    return h


def _expected_interval(h: pd.DataFrame) -> pd.Series:
    out = pd.Series(12, index=h.index)
    for (months, days), interval in WINDOWS:
        start = h["birth"] + pd.DateOffset(months=months) + pd.Timedelta(days=days)
        out = out.mask(h["review_date"] >= start, interval)
    return out


def test_questionnaire_follows_the_age_at_the_review(reviews):
    h = reviews
    got = h["asq_interval_months"].astype(int)
    pd.testing.assert_series_equal(got, _expected_interval(h), check_names=False)
    assert (got[h["review_type"] == "1y"] == 12).all()
    two = got[h["review_type"] == "2y"].value_counts(normalize=True)
    # most 2-year reviews fall in the 24-30 month windows; some are late (33 and 36 months)
    assert two.reindex([24, 27, 30]).min() > 0.15, two
    assert 0.03 < two.reindex([33, 36]).sum() < 0.2, two
    last = h["birth"] + pd.DateOffset(months=38) + pd.Timedelta(days=30)
    assert (h["review_date"] <= last).all()


def test_share_below_cutoff_is_plausible_per_interval(reviews):
    table = CUTOFF_TABLES["asq3"]
    all_five = {}
    for months, cut in table.cutoffs.items():
        r = reviews[reviews["asq_interval_months"] == months]
        assert len(r) > 500, (months, len(r))
        below = pd.DataFrame({d: r[d].astype(float) < cut[d] for d in ASQ_DOMAINS})
        scored = r[list(ASQ_DOMAINS)].notna()
        for d in ASQ_DOMAINS:
            share = below[d][scored[d]].mean()
            lo, hi = NATIONAL_BELOW[d] - 0.04, NATIONAL_BELOW[d] + 0.04
            assert lo <= share <= hi, f"{months} months, {d}: {share:.3f} not in [{lo}, {hi}]"
        all_five[months] = 1 - below.any(axis=1).mean()
    # England: 79.2% (2022/23) to 83.3% (before the pandemic) with all five at or above
    for months, share in all_five.items():
        assert 0.74 <= share <= 0.86, (months, share)
    main = [all_five[m] for m in (24, 27, 30)]
    assert max(main) - min(main) < 0.03, all_five


def test_intervals_without_cutoffs_still_have_scores(reviews):
    for months in (12, 33):
        r = reviews[reviews["asq_interval_months"] == months]
        assert len(r) > 500
        means = r[list(ASQ_DOMAINS)].astype(float).mean()
        assert means.between(25, 55).all(), (months, means)
        scores = r[list(ASQ_DOMAINS)].astype(float).to_numpy().ravel()
        assert np.isin(scores[~np.isnan(scores)], np.arange(0, 61, 5)).all()
