"""Each child's setting at an as-of date: the one rule batch scoring and training's card use."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The setting of a child on no census record: under school age, or not on a roll.
NOT_ON_ROLL = "not_on_roll"


def current_setting(tables, as_of, ids) -> tuple[pd.Series, pd.Series]:
    """Each child's setting at ``as_of``: type (school, early_years, not_on_roll) and id.

    The school is the one on the child's latest census record dated on or before ``as_of``
    (never a later record; two records on one day: the greater school_id). The contract
    records no early-years setting, so a child with no such census record is
    ``not_on_roll``; its id is the child's ``children.locality`` (contract v3: the health
    visiting / early help team that would act), or empty without one (docs/lists.md).
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
    off_roll = kind == NOT_ON_ROLL
    where[off_roll] = recorded_locality(tables, ids)[off_roll]
    return pd.Series(kind, dtype="str"), pd.Series(where, dtype="str")


def recorded_locality(tables, ids) -> np.ndarray:
    """Each child's recorded locality team (``children.locality``, contract v3), as an
    array of str; empty where none is recorded or the column is absent (contract v1, v2)."""
    ids = np.asarray(ids, dtype=str)
    kids = tables["children"] if "children" in tables else None
    if kids is None or "locality" not in kids.columns or not len(ids):
        return np.full(len(ids), "", dtype=object)
    known = kids.loc[kids["locality"].notna(), ["child_id", "locality"]]
    at = pd.Index(known["child_id"].astype(str)).get_indexer(pd.Index(ids))
    out = np.full(len(ids), "", dtype=object)
    out[at >= 0] = known["locality"].astype(str).to_numpy(dtype=object)[at[at >= 0]]
    return out


def setting_key(kind, where) -> np.ndarray:
    """One value per child for capacity by setting: the school id, ``not_on_roll_<locality>``
    for a child on no roll with a recorded locality (that locality team's list), or
    ``not_on_roll`` (children on no roll and with no locality form one setting, as in the
    work lists)."""
    kind = np.asarray(kind, dtype=object)
    where = np.asarray(where, dtype=object).astype(str)
    off = np.where(where == "", NOT_ON_ROLL, np.char.add(NOT_ON_ROLL + "_", where))
    return np.where(kind == NOT_ON_ROLL, off, where).astype(str)
