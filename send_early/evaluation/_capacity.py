"""Ranking, flagging the top k and metrics at a fixed capacity."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._validation import check_binary, check_same_length, check_scores, check_tiebreak, resolve_k

__all__ = ["rank_scores", "flag_top_k", "capacity_metrics", "capacity_curve"]


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
    """Flag the ``k`` children with the highest risk (exactly ``k``, ties broken stably).

    Parameters
    ----------
    risk : array-like or Series of float
    k : int, optional
        Number of children to flag (for example the number of places a team can
        review). Give ``k`` or ``share``, not both.
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
    ranks = rank_scores(risk, tiebreak=tiebreak)
    k = resolve_k(len(ranks), k, share)
    mask = ranks <= k
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
    cut = np.where(has, p_sorted[np.maximum(ks - 1, 0)], np.nan)
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
