"""The standard audit groups, derived from features (and tables, for new arrivals)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["NEW_ARRIVAL_MONTHS", "months_known", "standard_groups"]

_MISSING = "(missing)"
#: What a group of children whose value is not recorded is called, per audit column (named
#: honestly: "FSM not recorded" is not "not FSM"); other columns use :data:`NOT_RECORDED`.
_UNRECORDED = {
    "sex": "sex not recorded",
    "fsm": "FSM not recorded",
    "eal": "EAL not recorded",
    "imd_quintile": "home area deprivation not recorded",
    "summer_born": "birth date not recorded",
    "social_care": "social care not recorded",
    "health_review": "health reviews not recorded",
}
NOT_RECORDED = "not recorded"
#: The new-arrival group of children with no dated record in any table up to the as-of date
#: (nothing is known about them yet, so every feature is missing and they are rarely flagged).
NO_RECORDS = "no records before the as-of date"


def standard_groups(
    features: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    extra: Sequence[str] = (),
    tables=None,
    as_of=None,
) -> pd.DataFrame:
    """Derive the standard audit groups from a feature (or children) frame.

    ======================  ==================  =======================================
    audit column            from                groups
    ======================  ==================  =======================================
    ``sex``                 ``sex``             as recorded
    ``ethnicity``           ``ethnicity``       as recorded; missing = "Unclassified"
    ``fsm``                 ``fsm_current``     "FSM", "not FSM"
    ``eal``                 ``eal``             "EAL", "not EAL"
    ``imd_quintile``        ``imd_decile``      "Q1 (most deprived)" ... "Q5 (least deprived)"
    ``summer_born``         ``summer_born``     "summer-born", "not summer-born"
    ``social_care``         ``cla_ever``,       "looked after" (ever), else "child in
                            ``cin_ever``        need" (ever CIN or CPP), else "neither"
    ``health_review``       ``asq_review_missing``  "no health review", "health review"
    ``new_arrival``         ``months_known``    "new arrival" (first record in any
                            (``age_months``)    table under 12 months before the
                                                as-of date, and at least 36 months
                                                after birth), "not a new arrival",
                                                "no records before the as-of date"
                                                (no dated record in any table yet)
    ``sex_ethnicity``       ``sex``,            "F / Asian", ... (the intersection;
                            ``ethnicity``       small cells are suppressed like any)
    ======================  ==================  =======================================

    A missing value is named for what it is, so no child drops out and none is counted as
    "not FSM" for want of a record: "FSM not recorded", "EAL not recorded", "home area
    deprivation not recorded", "sex not recorded" and so on; ``extra`` columns say
    "not recorded". Such a group is never the audit's reference group.
    ``months_known`` is not a model feature of the default pipeline: pass ``tables``
    and ``as_of`` and it is worked out from the tables (:func:`months_known`).

    Parameters
    ----------
    features : DataFrame
        One row per child.
    columns : sequence of str, optional
        Audit columns to build (names in the first column above). Default: every one
        whose source column is present; a requested column whose source is absent
        raises ``ValueError``.
    extra : sequence of str
        Further columns of ``features`` to audit as they are.
    tables : Tables or dict of DataFrames, optional
    as_of : date-like, optional
        With ``tables``: derive ``months_known`` (for ``new_arrival``) when ``features``
        lacks it. Children are matched on the index of ``features`` (``child_id``).

    Returns
    -------
    DataFrame
        Same index as ``features``; one string column per audit feature. Pass it as
        ``sensitive_features`` to :class:`GroupAudit`, never as model input.

    Examples
    --------
    >>> import pandas as pd
    >>> from send_early.fairness import standard_groups
    >>> f = pd.DataFrame({"fsm_current": [True, False, None], "imd_decile": [1, 6, 10]})
    >>> standard_groups(f)
                    fsm        imd_quintile
    0               FSM  Q1 (most deprived)
    1           not FSM                  Q3
    2  FSM not recorded  Q5 (least deprived)
    """
    if not isinstance(features, pd.DataFrame):
        raise TypeError(f"features must be a DataFrame; found {type(features).__name__}.")
    if tables is not None and as_of is not None and "months_known" not in features.columns:
        features = features.assign(months_known=months_known(tables, as_of, features.index))
    if {"sex", "ethnicity"} <= set(features.columns):
        features = features.assign(_sex_ethnicity=_intersection(features))
    if {"cla_ever", "cin_ever"} <= set(features.columns):
        features = features.assign(_social_care=_care(features))
    if "months_known" in features.columns:
        features = features.assign(_new_arrival=_new_arrival(features))
    builders = {
        "sex": ("sex", lambda s: s.astype("string")),
        "ethnicity": ("ethnicity", lambda s: s.astype("string").fillna("Unclassified")),
        "fsm": ("fsm_current", lambda s: _yes_no(s, "FSM", "not FSM")),
        "eal": ("eal", lambda s: _yes_no(s, "EAL", "not EAL")),
        "imd_quintile": ("imd_decile", _quintile),
        "summer_born": ("summer_born", lambda s: _yes_no(s, "summer-born", "not summer-born")),
        "social_care": ("_social_care", lambda s: s),
        "health_review": (
            "asq_review_missing",
            lambda s: _yes_no(s, "no health review", "health review"),
        ),
        "new_arrival": ("_new_arrival", lambda s: s),
        "sex_ethnicity": ("_sex_ethnicity", lambda s: s),
    }
    if columns is None:
        wanted = [c for c, (src, _) in builders.items() if src in features.columns]
    else:
        unknown = [c for c in columns if c not in builders]
        missing = [
            f"{c} (needs {_NEEDS.get(c, builders[c][0])})"
            for c in columns
            if c in builders and builders[c][0] not in features.columns
        ]
        if unknown or missing:
            raise ValueError(
                f"columns must be among {list(builders)} with their source column present; "
                f"unknown: {unknown}, source missing: {missing}. Use extra= for other columns."
            )
        wanted = list(columns)
    absent = [c for c in extra if c not in features.columns]
    if absent:
        raise ValueError(f"extra columns must be in features; not found: {absent}.")
    out = {}
    for name in wanted:
        src, build = builders[name]
        out[name] = build(features[src]).fillna(_UNRECORDED.get(name, NOT_RECORDED)).astype(str)
    for name in extra:
        out[name] = features[name].astype("string").fillna(NOT_RECORDED).astype(str)
    if not out:
        raise ValueError(
            "No audit group could be built: features has none of "
            f"{[_NEEDS.get(c, src) for c, (src, _) in builders.items()]} and extra is empty."
        )
    return pd.DataFrame(out, index=features.index)


_NEEDS = {
    "social_care": "cla_ever and cin_ever",
    "new_arrival": "months_known, or tables= and as_of=",
    "sex_ethnicity": "sex and ethnicity",
}

#: A child whose first record in any table is this recent is a new arrival ...
NEW_ARRIVAL_MONTHS = 12
#: ... when it came at least this many months after birth (records start with the
#: 1- and 2-year health reviews, so a 2-year-old's first record is recent by age).
NEW_ARRIVAL_AGE_GAP = 36


def months_known(tables, as_of, children=None) -> pd.Series:
    """Whole months from each child's first dated record in any table to ``as_of``.

    Records dated after ``as_of`` are ignored; a child with no dated record by then
    gets NaN. ``children`` (child ids) sets the index of the result.
    """
    as_of = pd.Timestamp(as_of)
    firsts = []
    for name in list(tables):
        t = tables[name]
        if name == "children" or "child_id" not in t.columns:
            continue
        dates = [c for c in t.columns if str(t[c].dtype).startswith("datetime")]
        for c in dates:
            d = t[c].where(t[c] <= as_of)
            firsts.append(d.groupby(t["child_id"].astype(str)).min())
    first = pd.concat(firsts, axis=1).min(axis=1) if firsts else pd.Series(dtype="datetime64[ns]")
    days = (as_of - first).dt.days.astype("Float64")
    out = np.floor(days / 30.4375)
    if children is not None:
        out = out.reindex(pd.Index(children).astype(str))
        out.index = children
    return out.rename("months_known")


def _new_arrival(f: pd.DataFrame) -> pd.Series:
    m = pd.to_numeric(f["months_known"], errors="coerce").astype("Float64")
    new = m < NEW_ARRIVAL_MONTHS
    if "age_months" in f.columns:
        # a toddler's first record (the 2-year review) is recent by age, not by arrival
        age = pd.to_numeric(f["age_months"], errors="coerce").astype("Float64")
        new = new & (age - m >= NEW_ARRIVAL_AGE_GAP)
    out = _yes_no(new, "new arrival", "not a new arrival")
    return out.where(m.notna().to_numpy(), NO_RECORDS)


def _intersection(f: pd.DataFrame) -> pd.Series:
    sex = f["sex"].astype("string").fillna(_UNRECORDED["sex"])
    eth = f["ethnicity"].astype("string").fillna("Unclassified")
    return (sex + " / " + eth).astype("string")


def _care(f: pd.DataFrame) -> pd.Series:
    cla = f["cla_ever"].astype("boolean")
    cin = f["cin_ever"].astype("boolean")
    if "cpp_ever" in f.columns:
        cin = cin | f["cpp_ever"].astype("boolean")
    out = np.where(
        cla.fillna(False), "looked after", np.where(cin.fillna(False), "child in need", "neither")
    )
    known = cla.notna() | cin.notna()
    return pd.Series(out, index=f.index, dtype="string").where(known.to_numpy())


def _unrecorded(groups) -> np.ndarray:
    """Which of ``groups`` hold children whose value is not recorded (never a reference)."""
    g = pd.Index(groups).astype(str)
    return np.asarray((g == _MISSING) | g.str.contains(NOT_RECORDED) | (g == NO_RECORDS))


def _yes_no(s: pd.Series, yes: str, no: str) -> pd.Series:
    b = s.astype("boolean")
    return pd.Series(np.where(b.fillna(False), yes, no), index=s.index).where(b.notna())


def _quintile(s: pd.Series) -> pd.Series:
    d = pd.to_numeric(s, errors="coerce").astype("Float64")
    q = np.ceil(d / 2)
    labels = {
        1.0: "Q1 (most deprived)",
        2.0: "Q2",
        3.0: "Q3",
        4.0: "Q4",
        5.0: "Q5 (least deprived)",
    }
    return q.map(labels, na_action="ignore").astype("string")


def _group_labels(sensitive_features, n: int) -> pd.DataFrame:
    if isinstance(sensitive_features, pd.Series):
        sensitive_features = sensitive_features.to_frame()
    if isinstance(sensitive_features, Mapping):
        sensitive_features = pd.DataFrame(
            {
                k: (v.to_numpy() if isinstance(v, pd.Series) else np.asarray(v))
                for k, v in sensitive_features.items()
            }
        )
    if not isinstance(sensitive_features, pd.DataFrame):
        raise TypeError(
            "sensitive_features must be a DataFrame or a dict of columns; found "
            f"{type(sensitive_features).__name__}."
        )
    if sensitive_features.shape[1] == 0:
        raise ValueError("sensitive_features must have at least one column; found none.")
    if len(sensitive_features) != n:
        raise ValueError(
            f"sensitive_features must have one row per child ({n}); "
            f"found {len(sensitive_features)}."
        )
    return pd.DataFrame(
        {
            str(c): sensitive_features[c].astype("string").fillna(_MISSING).astype(str)
            for c in sensitive_features.columns
        }
    )
