"""A 50,000-child seeded cohort, generated once per session, and the calibration measures on it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from send_early.datasets import make_cohort

N_LARGE = 50_000
SEED = 20250831


@pytest.fixture(scope="session")
def large():
    """(tables, truth) for a 50,000-child cohort (about 2 s to generate)."""
    return make_cohort(N_LARGE, random_state=SEED, return_truth=True)


def school_year_start(d: pd.Series) -> np.ndarray:
    return np.where(d.dt.month >= 9, d.dt.year, d.dt.year - 1)


def nc_year(census: pd.DataFrame, birth: pd.Series) -> np.ndarray:
    """National curriculum year at each census row (0 = Reception)."""
    b = birth.reindex(census["child_id"]).to_numpy()
    sy = school_year_start(census["census_date"])
    aug31 = pd.to_datetime(pd.Series(sy).astype(str) + "-08-31").to_numpy()
    age = (aug31 - b) / np.timedelta64(1, "D") / 365.25
    return np.floor(age).astype(int) - 4


def january_primary(tables) -> pd.DataFrame:
    """Last January census, pupils in Reception to Year 6, with sex and NC year."""
    ch = tables["children"].set_index("child_id")
    c = tables["census"]
    jan = c[c["census_date"].dt.month == 1]
    j = jan[jan["census_date"] == jan["census_date"].max()].copy()
    j["ncy"] = nc_year(j, ch["birth_date"])
    j = j[(j["ncy"] >= 0) & (j["ncy"] <= 6)].copy()
    j["male"] = (ch["sex"].reindex(j["child_id"]) == "M").to_numpy()
    j["sen"] = (j["sen_provision"] != "N").to_numpy()
    return j


def first_event(tables) -> pd.Series:
    return tables["sen_events"].groupby("child_id")["event_date"].min()
