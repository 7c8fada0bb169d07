"""Ranking, the capacity rule (who is flagged) and metrics at a fixed capacity.

The capacity rule lives here and only here: :func:`flag_capacity` (and
:func:`resolve_k`, its count) is what the model's scoring, batch scoring, the
workflow, the evaluation, the baselines, the report example and the group audit's
flags all call, so they flag the same children.
"""

from __future__ import annotations

import logging
import math
import re
from typing import NamedTuple

import numpy as np
import pandas as pd

from .._validation import check_binary, check_same_length, check_scores, check_tiebreak

logger = logging.getLogger(__name__)

__all__ = [
    "CapacityFlags",
    "capacity_curve",
    "capacity_metrics",
    "flag_capacity",
    "flag_top_k",
    "parse_capacity",
    "rank_scores",
    "resolve_k",
]

# a share is read to within 1e-9 of a child, so 0.29 * 100 is 29 children and not 28
SHARE_TOLERANCE = 1e-9


def resolve_k(n: int, k: int | None = None, share: float | None = None) -> int:
    """Number of children to flag out of ``n``: exactly one of ``k`` or ``share``.

    The capacity rule: a count is capped at ``n`` (there are no more children to
    flag); a share is turned into a count by rounding down, ``floor(share * n)``,
    so the stated capacity is never exceeded. A share too small for the cohort
    gives 0 children (5% of 19 children is 0.95 of a child, so none): give a
    count such as ``k=1`` to flag at least one.

    Parameters
    ----------
    n : int
        Number of children in the cohort.
    k : int, optional
        Number of children, 0 or more.
    share : float, optional
        Share of the cohort, in [0, 1].

    Returns
    -------
    int
        Between 0 and ``n``.

    Examples
    --------
    >>> from send_early.evaluation import resolve_k
    >>> resolve_k(19_990, share=0.05), resolve_k(30, share=0.05), resolve_k(19, share=0.05)
    (999, 1, 0)
    >>> resolve_k(150, k=200)
    150
    """
    if (k is None) == (share is None):
        raise ValueError(
            "Give exactly one of k (a number of children, e.g. k=200) or share (a share of "
            f"the cohort, e.g. share=0.05); found k={k!r}, share={share!r}."
        )
    if k is not None:
        if isinstance(k, bool) or not isinstance(k, int | np.integer):
            raise TypeError(
                f"k must be a whole number of children; found {k!r} ({type(k).__name__}). "
                "For a share of the cohort use share= instead."
            )
        if k < 0:
            raise ValueError(f"k must be 0 or more children; found {k}.")
        return int(min(k, n))
    if isinstance(share, bool) or not isinstance(share, int | float | np.integer | np.floating):
        raise TypeError(
            f"share must be a number between 0 and 1; found {share!r} ({type(share).__name__})."
        )
    share = float(share)
    if not 0.0 <= share <= 1.0:  # also refuses NaN
        raise ValueError(
            f"share must be between 0 and 1 (a share of the cohort); found {share}. "
            "For a number of children use k= instead."
        )
    return min(n, math.floor(share * n + SHARE_TOLERANCE))


class CapacityFlags(NamedTuple):
    """What :func:`flag_capacity` returns: ``rank``, ``flagged`` and ``k``."""

    rank: np.ndarray
    """Rank of each child, 1 = highest risk, in the input order (int64)."""
    flagged: np.ndarray
    """Whether each child is flagged (bool), in the input order."""
    k: int
    """How many children are flagged."""


def flag_capacity(
    risk,
    *,
    k: int | None = None,
    share: float | None = None,
    threshold: float | None = None,
    tiebreak=None,
) -> CapacityFlags:
    """Rank children and flag those within a capacity: the one capacity rule.

    Children are ranked by descending risk, ties broken by ``tiebreak`` ascending
    (the child id), then by position; the top ``k`` are flagged. Give exactly one
    capacity:

    - ``k``: a number of children (capped at the number of children);
    - ``share``: a share of the cohort, rounded **down** to whole children
      (``floor(share * n)``, see :func:`resolve_k`): a council's capacity is a
      limit, so it is never exceeded, and a share that rounds to 0 flags nobody;
    - ``threshold``: every child with ``risk >= threshold`` (then ``k`` is how
      many that is, and the flags are again the top ``k``).

    Every path that flags children (:meth:`~send_early.RiskModel.score_features`,
    :func:`send_early.batch.score`, the workflow, :class:`Evaluation`,
    :func:`flag_top_k`, the baselines) calls this function.

    Parameters
    ----------
    risk : array-like of float
        Scores, finite; higher means more likely to need support.
    k : int, optional
    share : float, optional
    threshold : float, optional
    tiebreak : array-like, optional
        One value per child, sorted ascending to break ties (the child id).

    Returns
    -------
    CapacityFlags
        ``(rank, flagged, k)``.

    Examples
    --------
    >>> from send_early.evaluation import flag_capacity
    >>> f = flag_capacity([0.2, 0.5, 0.5, 0.1], k=2, tiebreak=["d", "c", "a", "b"])
    >>> f.rank.tolist(), f.flagged.tolist(), f.k
    ([3, 2, 1, 4], [False, True, True, False], 2)
    >>> flag_capacity([0.2, 0.5, 0.5, 0.1], threshold=0.2).flagged.tolist()
    [True, True, True, False]

    The same cohort at 5% gives the same children wherever it is flagged:
    ``floor(0.05 * 19_990) = 999``.

    >>> import numpy as np
    >>> flag_capacity(np.linspace(0, 1, 19_990), share=0.05).k
    999
    """
    p = check_scores(risk, "risk", probability=False)
    n = len(p)
    if threshold is not None and (k is not None or share is not None):
        raise ValueError(
            "Give exactly one capacity: k (a number of children), share (of the cohort) or "
            f"threshold (a risk); found k={k!r}, share={share!r}, threshold={threshold!r}."
        )
    order = _order(p, check_tiebreak(tiebreak, n))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    if threshold is not None:
        if isinstance(threshold, bool) or not np.isfinite(_as_float(threshold, "threshold")):
            raise ValueError(f"threshold must be a finite risk; found {threshold!r}.")
        kk = int(np.count_nonzero(p >= float(threshold)))
    else:
        kk = resolve_k(n, k, share)
        if share is not None and kk == 0 and n and share > 0:
            logger.warning(
                "A capacity of %s of %d children rounds down to 0: no child is flagged. "
                "Give a number of children (e.g. k=1) to flag at least one.",
                f"{100 * share:g}%",
                n,
            )
    return CapacityFlags(rank, rank <= kk, kk)


def _as_float(value, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a number; found {value!r}.") from exc


_PERCENT = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*%\s*$")


def parse_capacity(value) -> dict:
    """Read a capacity a person gave: a number of children or a share of the cohort.

    A whole number (``200``, ``"200"``) is a number of children, at least 1. A
    number with a decimal point (``0.05``, ``"0.05"``) or a percentage
    (``"5%"``) is a share of the cohort, above 0 and at most 1 (100%). Anything
    else (0, negative numbers, shares above 100%, ``True``, text) is refused
    with a message saying what must hold.

    Returns
    -------
    dict
        ``{"k": int}`` or ``{"share": float}``: keyword arguments for
        :func:`flag_capacity`.

    Examples
    --------
    >>> from send_early.evaluation import parse_capacity
    >>> parse_capacity(200), parse_capacity("5%"), parse_capacity("0.05")
    ({'k': 200}, {'share': 0.05}, {'share': 0.05})
    >>> parse_capacity(0)
    Traceback (most recent call last):
    ...
    ValueError: capacity must be a number of children of 1 or more (e.g. 200) or a share of the cohort above 0 and at most 100% (e.g. 0.05 or 5%); found 0.
    """
    must = (
        "capacity must be a number of children of 1 or more (e.g. 200) or a share of the "
        "cohort above 0 and at most 100% (e.g. 0.05 or 5%)"
    )
    if isinstance(value, str):
        text = value.strip()
        m = _PERCENT.match(text)
        if m:
            number = float(m.group(1)) / 100
        elif re.fullmatch(r"[+-]?[0-9]+", text):
            number = int(text)
        else:
            try:
                number = float(text)
            except ValueError:
                raise ValueError(f"{must}; found {value!r}.") from None
    elif isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{must}; found {value!r} ({type(value).__name__}).")
    else:
        number = value
    if isinstance(number, int | np.integer):
        if number < 1:
            raise ValueError(f"{must}; found {value!r}.")
        return {"k": int(number)}
    number = float(number)
    if not 0 < number <= 1:  # also refuses NaN
        hint = ""
        if number > 1 and number.is_integer():
            hint = f" For {int(number)} children write a whole number ({int(number)})."
        raise ValueError(f"{must}; found {value!r}.{hint}")
    return {"share": number}


def _order(risk: np.ndarray, tiebreak_codes: np.ndarray | None) -> np.ndarray:
    """Positions sorted by descending risk, then ascending tiebreak, then original order."""
    n = len(risk)
    pos = np.arange(n)
    if tiebreak_codes is None:
        return np.lexsort((pos, -risk))
    return np.lexsort((pos, tiebreak_codes, -risk))


def rank_scores(risk, *, tiebreak=None) -> np.ndarray:
    """Rank children by risk: 1 is the highest risk; every rank is used exactly once.

    Ties in ``risk`` are broken by ``tiebreak`` ascending (for example ``child_id``),
    then by original position. With the same inputs the ranking is always the same.

    Parameters
    ----------
    risk : array-like of float
        Scores; higher means more likely to need support. Need not be probabilities.
    tiebreak : array-like, optional
        One value per child (numbers or strings), sorted ascending to break ties.

    Returns
    -------
    ndarray of int64
        Rank of each child, in the input order.

    Examples
    --------
    >>> from send_early.evaluation import rank_scores
    >>> rank_scores([0.2, 0.9, 0.2, 0.5]).tolist()
    [3, 1, 4, 2]
    >>> rank_scores([0.2, 0.9, 0.2, 0.5], tiebreak=["c9", "c1", "c2", "c5"]).tolist()
    [4, 1, 3, 2]
    """
    p = check_scores(risk, "risk", probability=False)
    order = _order(p, check_tiebreak(tiebreak, len(p)))
    ranks = np.empty(len(p), dtype=np.int64)
    ranks[order] = np.arange(1, len(p) + 1)
    return ranks


def flag_top_k(risk, k: int | None = None, *, share: float | None = None, tiebreak=None):
    """Flag the ``k`` children with the highest risk (ties broken stably).

    The flags of :func:`flag_capacity` (the one capacity rule), as an array or Series.

    Parameters
    ----------
    risk : array-like or Series of float
    k : int, optional
        Number of children to flag (for example the number of places a team can
        review); capped at the number of children. Give ``k`` or ``share``, not both.
    share : float, optional
        Share of the cohort to flag, in [0, 1]; turned into a count by rounding
        down (``floor(share * n)``) so a capacity is never exceeded.
    tiebreak : array-like, optional
        Breaks ties in risk, ascending (for example ``child_id``); remaining ties
        go by original position. See :func:`rank_scores`.

    Returns
    -------
    ndarray of bool, or Series of bool when ``risk`` is a Series (same index)

    Examples
    --------
    >>> from send_early.evaluation import flag_top_k
    >>> flag_top_k([0.2, 0.9, 0.2, 0.5], k=3).tolist()
    [True, True, False, True]
    >>> flag_top_k([0.2, 0.9, 0.2, 0.5], share=0.5).tolist()
    [False, True, False, True]
    """
    mask = flag_capacity(risk, k=k, share=share, tiebreak=tiebreak).flagged
    if isinstance(risk, pd.Series):
        return pd.Series(mask, index=risk.index, name="flagged")
    return mask


def _curve(y: np.ndarray, p: np.ndarray, tb, ks: np.ndarray) -> pd.DataFrame:
    """Metrics at each k in ``ks`` from one sort (vectorised over k)."""
    n = len(y)
    order = _order(p, tb)
    y_sorted = y[order]
    p_sorted = p[order]
    cum_tp = np.concatenate([[0], np.cumsum(y_sorted, dtype=np.int64)])
    n_pos = int(cum_tp[-1])
    tp = cum_tp[ks]
    prevalence = n_pos / n if n else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(ks > 0, tp / np.maximum(ks, 1), np.nan)
        recall = tp / n_pos if n_pos else np.full(len(ks), np.nan)
        lift = precision / prevalence if n_pos else np.full(len(ks), np.nan)
        fpr = (ks - tp) / (n - n_pos) if n > n_pos else np.full(len(ks), np.nan)
    # ties at the cut-off: children whose risk equals the risk of the k-th child
    neg_sorted = -p_sorted  # ascending
    has = ks > 0
    cut = np.full(len(ks), np.nan)
    cut[has] = p_sorted[ks[has] - 1]  # (no child: no cut-off)
    first = np.searchsorted(neg_sorted, -cut, side="left")
    last = np.searchsorted(neg_sorted, -cut, side="right")
    n_tied = np.where(has, last - first, 0)
    tied_flagged = np.where(has, ks - first, 0)
    return pd.DataFrame(
        {
            "k": ks,
            "share": ks / n if n else np.nan,
            "n": n,
            "n_positive": n_pos,
            "true_positives": tp,
            "false_positives": ks - tp,
            "precision": precision,
            "recall": recall,
            "flag_rate": ks / n if n else np.nan,
            "fpr": fpr,
            "lift": lift,
            "threshold": cut,
            "n_tied_at_cutoff": n_tied,
            "n_tied_flagged": tied_flagged,
        }
    )


def _prepare(y_true, risk, tiebreak):
    check_same_length(y_true=y_true, risk=risk)
    y = check_binary(y_true, "y_true")
    p = check_scores(risk, "risk", probability=False)
    return y, p, check_tiebreak(tiebreak, len(p))


def capacity_metrics(
    y_true, risk, *, k: int | None = None, share: float | None = None, tiebreak=None
) -> dict:
    """What happens if exactly ``k`` children (or a ``share`` of them) are flagged.

    Children are flagged by descending risk; ties go by ``tiebreak`` ascending, then by
    original position (as in :func:`flag_top_k`).

    Parameters
    ----------
    y_true : array-like of 0/1
        1 for children who were later identified as needing support.
    risk : array-like of float
    k : int, optional
        Number of children flagged. Give ``k`` or ``share``.
    share : float, optional
        Share of the cohort flagged (rounded down to whole children).
    tiebreak : array-like, optional

    Returns
    -------
    dict
        ``k``, ``share`` (k / n), ``n``, ``n_positive``, ``true_positives``,
        ``false_positives``, ``precision`` (share of flagged children who were later
        identified), ``recall`` (share of the children later identified who were
        flagged), ``flag_rate``, ``fpr``, ``lift`` (precision / prevalence: how many
        times better than flagging at random), ``threshold`` (risk of the last child
        flagged), ``n_tied_at_cutoff`` (children whose risk equals that threshold)
        and ``n_tied_flagged`` (how many of those were flagged). If
        ``n_tied_flagged < n_tied_at_cutoff`` the tie rule decided who was flagged.

    Examples
    --------
    >>> from send_early.evaluation import capacity_metrics
    >>> m = capacity_metrics([1, 0, 1, 0, 0, 1], [0.9, 0.8, 0.6, 0.6, 0.2, 0.1], k=3)
    >>> m["precision"], m["recall"], m["lift"], m["n_tied_at_cutoff"], m["n_tied_flagged"]
    (0.666..., 0.666..., 1.333..., 2, 1)
    """
    y, p, tb = _prepare(y_true, risk, tiebreak)
    kk = resolve_k(len(y), k, share)
    row = _curve(y, p, tb, np.array([kk], dtype=np.int64)).iloc[0]
    out = {}
    for key, value in row.items():
        if key in (
            "k",
            "n",
            "n_positive",
            "true_positives",
            "false_positives",
            "n_tied_at_cutoff",
            "n_tied_flagged",
        ):
            out[key] = int(value)
        else:
            out[key] = float(value)
    return out


def capacity_curve(y_true, risk, *, ks=None, shares=None, tiebreak=None) -> pd.DataFrame:
    """:func:`capacity_metrics` across a range of capacities, from one sort.

    Parameters
    ----------
    y_true, risk, tiebreak
        As in :func:`capacity_metrics`.
    ks : array-like of int, optional
        Capacities as counts.
    shares : array-like of float, optional
        Capacities as shares of the cohort (each rounded down). Give ``ks`` or
        ``shares``; by default the shares 1%, 2%, ..., 100%.

    Returns
    -------
    DataFrame
        One row per capacity, with the keys of :func:`capacity_metrics` as columns,
        in the order given.

    Examples
    --------
    >>> from send_early.evaluation import capacity_curve
    >>> c = capacity_curve([1, 0, 1, 0, 0, 1], [0.9, 0.8, 0.6, 0.6, 0.2, 0.1], ks=[1, 2, 6])
    >>> c[["k", "precision", "recall"]]
       k  precision    recall
    0  1   1.000000  0.333333
    1  2   0.500000  0.333333
    2  6   0.500000  1.000000
    """
    y, p, tb = _prepare(y_true, risk, tiebreak)
    n = len(y)
    if ks is not None and shares is not None:
        raise ValueError("Give ks (counts) or shares (of the cohort), not both.")
    if ks is None:
        if shares is None:
            shares = np.arange(1, 101) / 100
        kk = [resolve_k(n, None, float(s)) for s in np.atleast_1d(shares)]
    else:
        kk = [resolve_k(n, int(x) if float(x).is_integer() else x, None) for x in np.atleast_1d(ks)]
    return _curve(y, p, tb, np.asarray(kk, dtype=np.int64))
