"""Within-school comparison of flags, published as a spread over schools.

One school's flag rate against the rest would reveal groups of fewer than ten
children in most schools, so only summaries over many schools are published: how
much school flag rates (and recalls) vary, against the variation one common rate
would give by chance.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import stats

from .._json import jsonable
from .._validation import check_binary, check_same_length
from ..privacy import MIN_CELL

logger = logging.getLogger(__name__)

__all__ = ["school_at", "school_spread"]


def school_at(tables, as_of, children) -> pd.Series:
    """Each child's school at ``as_of``: the latest census record on or before it.

    Parameters
    ----------
    tables : Tables or dict of DataFrames
        With a ``census`` table (``child_id``, ``census_date``, ``school_id``).
    as_of : date-like
    children : sequence of str
        Child ids; the result is indexed by them (NaN for a child with no census).
    """
    c = tables["census"]
    as_of = pd.Timestamp(as_of)
    c = c[c["census_date"] <= as_of].sort_values("census_date")
    latest = c.groupby(c["child_id"].astype(str))["school_id"].last().astype("string")
    idx = pd.Index(children)
    out = latest.reindex(idx.astype(str))
    out.index = idx
    return out.rename("school_id")


def _spread(events: np.ndarray, sizes: np.ndarray, min_n: int) -> dict:
    """Spread of ``events / sizes`` over units with at least ``min_n`` in ``sizes``:
    the standard deviation of the unit rates, the standard deviation one common rate
    would give by chance, and a chi-square test of one common rate."""
    keep = sizes >= min_n
    e, n = events[keep].astype(float), sizes[keep].astype(float)
    out = {"n_schools": int(keep.sum()), "n_children": int(n.sum())}
    if keep.sum() < MIN_CELL:
        # fewer than ten schools: a spread would come close to one school's rate
        return out | {"suppressed": True}
    p = e.sum() / n.sum()
    rates = e / n
    chance_sd = float(np.sqrt(np.mean(p * (1 - p) / n)))
    if 0 < p < 1:
        table = np.stack([e, n - e])
        chi2, pval, dof, _ = stats.chi2_contingency(table, correction=False)
    else:
        chi2, pval, dof = 0.0, 1.0, int(keep.sum()) - 1
    return out | {
        "pooled_rate": float(p),
        "sd": float(rates.std(ddof=1)),
        "chance_sd": chance_sd,
        "chi2": float(chi2),
        "df": int(dof),
        "p_value": float(pval),
        "suppressed": False,
    }


def school_spread(school, y_true, flagged, *, min_children: int = MIN_CELL) -> dict:
    """How much flag rates and recalls differ between schools, beyond chance.

    Only schools with at least ``min_children`` children count for the flag rate,
    and only schools with at least ``min_children`` later-identified children count
    for recall; with fewer than ten such schools the spread is suppressed. No
    school's own figure is returned.

    Parameters
    ----------
    school : array-like of str
        Each child's school (e.g. from :func:`school_at`); missing values are left out.
    y_true : array-like of 0/1
        Later identified.
    flagged : array-like of bool
    min_children : int, default 10
        At least 10 (the disclosure rule).

    Returns
    -------
    dict
        ``flag_rate`` and ``recall``, each with ``n_schools``, ``n_children``,
        ``pooled_rate``, ``sd`` (standard deviation of the school rates), ``chance_sd``
        (what one common rate would give by chance), ``chi2``, ``df`` and ``p_value``
        (chi-square test of one common rate), ``suppressed``. A p-value below 0.05
        with ``sd`` well above ``chance_sd`` means schools differ beyond chance; it
        does not say why (intakes differ in need as well as in practice).

    Examples
    --------
    >>> import numpy as np
    >>> from send_early.fairness import school_spread
    >>> rng = np.random.default_rng(0)
    >>> school = np.repeat([f"s{i}" for i in range(20)], 50)
    >>> out = school_spread(school, rng.random(1000) < 0.3, rng.random(1000) < 0.1)
    >>> out["flag_rate"]["n_schools"], out["flag_rate"]["p_value"] > 0.01
    (20, True)
    """
    check_same_length(school=school, y_true=y_true, flagged=flagged)
    y = check_binary(y_true, "y_true")
    f = check_binary(flagged, "flagged")
    if not isinstance(min_children, int | np.integer) or min_children < MIN_CELL:
        raise ValueError(
            f"min_children must be a whole number of at least {MIN_CELL}; found {min_children!r}."
        )
    s = pd.Series(np.asarray(school, dtype=object)).astype("string")
    known = s.notna().to_numpy()
    codes, _ = pd.factorize(s[known])
    n = np.bincount(codes)
    flg = np.bincount(codes, weights=f[known])
    pos = np.bincount(codes, weights=y[known])
    tp = np.bincount(codes, weights=(y * f)[known])
    out = {
        "min_children": int(min_children),
        "flag_rate": _spread(flg, n, min_children),
        "recall": _spread(tp, pos, min_children),
    }
    logger.info(
        "school_spread: %d schools with >= %d children, %d with >= %d identified.",
        out["flag_rate"]["n_schools"],
        min_children,
        out["recall"]["n_schools"],
        min_children,
    )
    return jsonable(out)
