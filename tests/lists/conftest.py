"""A scored small cohort shared by the list tests."""

from __future__ import annotations

import pytest

import send_early

AS_OF = "2023-09-01"


@pytest.fixture(scope="session")
def scored(fitted_model, small_cohort):
    return send_early.score(fitted_model, small_cohort, AS_OF)
