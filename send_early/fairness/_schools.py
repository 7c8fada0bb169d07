"""Within-school comparison of flags: each school against the rest, and the spread over schools.

Each school's flag rate (and recall) is compared with the rest of the schools'
(:func:`school_comparison`), Holm-corrected over the schools; a figure that would reveal
1 to 9 children is hidden, which at a low capacity hides most schools' rates, so a summary
over many schools is published as well (:func:`school_spread`): how much school rates vary,
against the variation one common rate would give by chance.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import stats

from .._json import jsonable
from .._validation import check_binary, check_same_length
from ..governance import FAMILY_ERROR, holm
from ..privacy import MIN_CELL, count, protect, rate

logger = logging.getLogger(__name__)

__all__ = ["school_at", "school_comparison", "school_spread"]


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


def _school_inputs(school, y_true, flagged, min_children):
    """Checked labels and flags, the school ids as strings and which children have one."""
    check_same_length(school=school, y_true=y_true, flagged=flagged)
    y = check_binary(y_true, "y_true")
    f = check_binary(flagged, "flagged")
    if not isinstance(min_children, int | np.integer) or min_children < MIN_CELL:
        raise ValueError(
            f"min_children must be a whole number of at least {MIN_CELL}; found {min_children!r}."
        )
    s = pd.Series(np.asarray(school, dtype=object)).astype("string")
    return y, f, s, s.notna().to_numpy()


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
    y, f, s, known = _school_inputs(school, y_true, flagged, min_children)
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


_COMPARED = {"flag_rate": "children", "recall": "later-identified children"}


def school_comparison(
    school, y_true, flagged, *, min_children: int = MIN_CELL, alpha: float = FAMILY_ERROR
) -> pd.DataFrame:
    """Each school's flag rate and recall against the rest of the schools, Holm-corrected.

    A school is compared on flag rate when it has at least ``min_children`` children, and on
    recall when it has at least ``min_children`` later-identified children; smaller schools
    are never shown. Each comparison is a two-sided Fisher exact test of the school's 2 x 2
    table against the rest's; Holm's step-down correction runs over the schools compared on
    one measure, at family-wise error ``alpha`` (as the card's gates do). Figures follow the
    disclosure rule (:mod:`send_early.privacy`): where a school's or the rest's rate would
    reveal 1 to 9 children, the rates, ratio, p-values and verdict are hidden
    (``suppressed``), though the school stays in the tested family. A school that differs
    beyond chance is a question about intake or practice, not an answer: schools differ in
    need as well as in how they identify it.

    Parameters
    ----------
    school : array-like of str
        Each child's school (e.g. from :func:`school_at`); children without one are left out.
    y_true : array-like of 0/1
    flagged : array-like of bool
    min_children : int, default 10
        At least 10 (the disclosure rule).
    alpha : float, default ``send_early.governance.FAMILY_ERROR``

    Returns
    -------
    DataFrame
        One row per school and measure compared: ``school_id``, ``metric`` (``flag_rate``,
        ``recall``), ``n`` (children, or later-identified children, in the school),
        ``value``, ``rest_value``, ``ratio`` (school to rest), ``p_value``, ``p_adjusted``
        (Holm), ``differs`` (beyond chance after the correction) and ``suppressed``. Sorted by
        measure then school. ``.attrs["tested"]`` counts the schools tested per measure.

    Examples
    --------
    >>> import numpy as np
    >>> from send_early.fairness import school_comparison
    >>> rng = np.random.default_rng(0)
    >>> school = np.repeat([f"s{i}" for i in range(20)], 100)
    >>> flagged = rng.random(2000) < np.where(school == "s3", 0.6, 0.2)  # s3 flags more
    >>> out = school_comparison(school, rng.random(2000) < 0.3, flagged)
    >>> out.loc[out["differs"].fillna(False), ["school_id", "metric"]].values.tolist()
    [['s3', 'flag_rate'], ['s3', 'recall']]
    """
    y, f, s, known = _school_inputs(school, y_true, flagged, min_children)
    codes, names = pd.factorize(s[known], sort=True)
    yk, fk = y[known].astype(float), f[known].astype(float)
    n = np.bincount(codes, minlength=len(names))
    base = {
        "flag_rate": (np.bincount(codes, fk, len(names)), n),
        "recall": (np.bincount(codes, yk * fk, len(names)), np.bincount(codes, yk, len(names))),
    }
    frames, tested = [], {}
    for metric, (hit, den) in base.items():  # two measures; loops below run over schools
        keep = np.flatnonzero(den >= min_children)
        tested[metric] = len(keep)
        if not len(keep):
            continue
        h, d = hit[keep], den[keep].astype(float)
        rh, rd = hit.sum() - h, den.sum() - d
        p = np.array(
            [
                stats.fisher_exact([[a, b - a], [c, e - c]])[1] if b and e else 1.0
                for a, b, c, e in zip(h, d, rh, rd, strict=True)
            ]
        )
        reject, adjusted = holm(list(p), alpha)
        with np.errstate(divide="ignore", invalid="ignore"):
            value, rest = h / d, np.where(rd > 0, rh / rd, np.nan)
            ratio = np.where(rest > 0, value / rest, np.nan)
        recs = [
            {
                "school_id": str(names[k]),
                "metric": metric,
                "n": int(d[i]),
                "value": float(value[i]),
                "rest_value": float(rest[i]),
                "ratio": float(ratio[i]),
                "p_value": float(p[i]),
                "p_adjusted": float(adjusted[i]),
                "differs": bool(reject[i]),
                "hit": h[i],
                "miss": d[i] - h[i],
                "rest_hit": rh[i],
                "rest_miss": rd[i] - rh[i],
            }
            for i, k in enumerate(keep)
        ]
        both = rate(["hit", "rest_hit"], ["hit", "miss", "rest_hit", "rest_miss"])
        figures = {
            "n": count("hit", "miss"),
            "value": rate("hit", ["hit", "miss"]),
            "rest_value": rate("rest_hit", ["rest_hit", "rest_miss"]),
            "ratio": both,
            "p_value": both,
            "p_adjusted": both,
        }
        cells = ["hit", "miss", "rest_hit", "rest_miss"]
        frames.append(pd.DataFrame(protect(recs, cells=cells, figures=figures)))
    cols = ["school_id", "metric", "n", "value", "rest_value", "ratio", "p_value"]
    cols += ["p_adjusted", "differs", "suppressed"]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    out = out[cols]
    for c in ("value", "rest_value", "ratio", "p_value", "p_adjusted"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    # the verdict is hidden with the figures it rests on
    out["differs"] = out["differs"].astype("boolean").mask(out["suppressed"].astype(bool))
    out.attrs["tested"] = tested
    out.attrs["correction"] = f"Holm-Bonferroni over the schools compared (family-wise {alpha:.0%})"
    logger.info(
        "school_comparison: %s schools tested; %d differ beyond chance where shown.",
        tested,
        int(out["differs"].fillna(False).sum()),
    )
    return out
