"""Each child's setting at an as-of date: the one rule batch scoring and training's card use."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The setting of a child on no census record: under school age, or not on a roll.
NOT_ON_ROLL = "not_on_roll"


def current_setting(tables, as_of, ids) -> tuple[pd.Series, pd.Series]:
    """Each child's setting at ``as_of``: type (school, early_years, not_on_roll) and id.

    The school is the one on the child's latest census record dated on or before ``as_of``
    (never a later record; two records on one day: the greater school_id). The contract v1
    records no early-years setting and no health visiting team or locality, so a child with
    no such census record is ``not_on_roll`` with an empty id (docs/lists.md).
    """
    ids = np.asarray(ids, dtype=str)
    as_of = pd.Timestamp(as_of)
    kind = np.full(len(ids), NOT_ON_ROLL, dtype=object)
    where = np.full(len(ids), "", dtype=object)
    census = tables["census"] if "census" in tables else None
    if census is not None and len(census) and len(ids):
        c = census.loc[census["census_date"] <= as_of, ["child_id", "census_date", "school_id"]]
        c = c.sort_values(["census_date", "school_id"], kind="stable")
        c = c.drop_duplicates("child_id", keep="last")
        at = pd.Index(c["child_id"].astype(str)).get_indexer(pd.Index(ids))
        on_roll = at >= 0
        kind[on_roll] = "school"
        where[on_roll] = c["school_id"].astype(str).to_numpy(dtype=object)[at[on_roll]]
    return pd.Series(kind, dtype="str"), pd.Series(where, dtype="str")


def setting_key(kind, where) -> np.ndarray:
    """One value per child for capacity by setting: the school id, or ``not_on_roll`` (all
    children on no roll form one setting, as in the work lists)."""
    kind = np.asarray(kind, dtype=object)
    return np.where(kind == NOT_ON_ROLL, NOT_ON_ROLL, np.asarray(where, dtype=object)).astype(str)
