"""Discrimination and calibration metrics on plain arrays."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from .._validation import check_binary, check_same_length, check_scores

__all__ = [
    "roc_auc",
    "average_precision",
    "brier_score",
    "expected_calibration_error",
    "calibration_curve",
    "wilson_interval",
]

_STRATEGIES = ("quantile", "uniform")


def _inputs(y_true, risk):
    check_same_length(y_true=y_true, risk=risk)
    return check_binary(y_true, "y_true"), check_scores(risk, "risk")


def _need_both_classes(y: np.ndarray, metric: str) -> None:
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == len(y):
        raise ValueError(
            f"{metric} needs children with and without the outcome; found {n_pos} of {len(y)} "
            "with the outcome. Evaluate on a larger or longer-followed cohort."
        )


def roc_auc(y_true, risk) -> float:
    """Area under the ROC curve: the chance that a child who later needed support
    was scored higher than one who did not (ties count one half).

    Thin wrapper over :func:`sklearn.metrics.roc_auc_score` with our input checks.

    Parameters
    ----------
    y_true : array-like of 0/1
        1 for children who were later identified.
    risk : array-like of float in [0, 1]
        Predicted probability for each child.

    Returns
    -------
    float

    Examples
    --------
    >>> from send_early.evaluation import roc_auc
    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    y, p = _inputs(y_true, risk)
    _need_both_classes(y, "ROC AUC")
    return float(roc_auc_score(y, p))


def average_precision(y_true, risk) -> float:
    """Average precision (area under the precision-recall curve, step-wise).

    Thin wrapper over :func:`sklearn.metrics.average_precision_score`. Unlike ROC AUC
    it depends on how rare the outcome is: a random score has average precision
    close to the prevalence.

    Examples
    --------
    >>> from send_early.evaluation import average_precision
    >>> round(average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
    0.8333
    """
    y, p = _inputs(y_true, risk)
    _need_both_classes(y, "Average precision")
    return float(average_precision_score(y, p))


def brier_score(y_true, risk) -> float:
    """Brier score: mean squared difference between the predicted probability and
    the outcome (0 is perfect; lower is better).

    Equal to :func:`sklearn.metrics.brier_score_loss` for binary outcomes.

    Examples
    --------
    >>> from send_early.evaluation import brier_score
    >>> brier_score([0, 1], [0.2, 0.6])
    0.1
    """
    y, p = _inputs(y_true, risk)
    if len(y) == 0:
        raise ValueError("brier_score needs at least one child; found none.")
    return float(np.mean((p - y) ** 2))


def wilson_interval(successes, n, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion, vectorised.

    Better behaved than the normal ("Wald") interval for small counts and for
    proportions near 0 or 1; it never leaves [0, 1]. Where ``n`` is 0 both bounds
    are NaN.

    Parameters
    ----------
    successes, n : array-like of int
        Number of events and number of trials.
    confidence : float, default 0.95

    Returns
    -------
    low, high : ndarray of float

    Examples
    --------
    >>> from send_early.evaluation import wilson_interval
    >>> low, high = wilson_interval([5], [10])
    >>> round(float(low[0]), 4), round(float(high[0]), 4)
    (0.2366, 0.7634)
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1; found {confidence}.")
    s = np.asarray(successes, dtype=np.float64)
    m = np.asarray(n, dtype=np.float64)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        phat = s / m
        denom = 1 + z**2 / m
        centre = (phat + z**2 / (2 * m)) / denom
        half = z * np.sqrt(phat * (1 - phat) / m + z**2 / (4 * m**2)) / denom
    low = np.where(s == 0, 0.0, np.clip(centre - half, 0, 1))
    high = np.where(s == m, 1.0, np.clip(centre + half, 0, 1))
    low = np.where(m > 0, low, np.nan)
    high = np.where(m > 0, high, np.nan)
    return np.atleast_1d(low), np.atleast_1d(high)


def _bin_ids(p: np.ndarray, n_bins: int, strategy: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive whole number; found {n_bins!r}.")
    if strategy == "quantile":
        edges = np.percentile(p, np.linspace(0, 100, n_bins + 1))
    elif strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        raise ValueError(f"strategy must be one of {_STRATEGIES}; found {strategy!r}.")
    # same rule as sklearn.calibration.calibration_curve: a value equal to an inner
    # edge goes to the lower bin; the outer edges are closed.
    ids = np.searchsorted(edges[1:-1], p)
    return ids, edges


def calibration_curve(
    y_true, risk, *, n_bins: int = 10, strategy: str = "quantile", confidence: float = 0.95
) -> pd.DataFrame:
    """Binned calibration table: predicted against observed rate, with Wilson intervals.

    Parameters
    ----------
    y_true : array-like of 0/1
    risk : array-like of float in [0, 1]
    n_bins : int, default 10
        Number of bins.
    strategy : {"quantile", "uniform"}, default "quantile"
        ``"quantile"``: equal-frequency bins (edges at the risk percentiles; tied
        risks share a bin, so bins can differ in size and some may be empty).
        ``"uniform"``: equal-width bins on [0, 1]. The bin assignment is the same as
        :func:`sklearn.calibration.calibration_curve`.
    confidence : float, default 0.95
        Level of the Wilson interval on the observed rate.

    Returns
    -------
    DataFrame
        One row per non-empty bin: ``bin`` (0-based), ``bin_low``, ``bin_high``
        (edges), ``n``, ``n_events``, ``mean_predicted``, ``observed_rate``,
        ``ci_low``, ``ci_high``. Empty bins are left out.

    Examples
    --------
    >>> from send_early.evaluation import calibration_curve
    >>> t = calibration_curve([0, 0, 1, 0, 1, 1], [0.1, 0.2, 0.3, 0.6, 0.7, 0.9], n_bins=2)
    >>> t[["bin", "n", "n_events", "mean_predicted", "observed_rate"]]
       bin  n  n_events  mean_predicted  observed_rate
    0    0  3         1        0.200000       0.333333
    1    1  3         2        0.733333       0.666667
    """
    y, p = _inputs(y_true, risk)
    if len(y) == 0:
        raise ValueError("calibration_curve needs at least one child; found none.")
    ids, edges = _bin_ids(p, n_bins, strategy)
    n = np.bincount(ids, minlength=n_bins)
    events = np.bincount(ids, weights=y, minlength=n_bins)
    psum = np.bincount(ids, weights=p, minlength=n_bins)
    keep = n > 0
    low, high = wilson_interval(events[keep], n[keep], confidence)
    return pd.DataFrame(
        {
            "bin": np.flatnonzero(keep),
            "bin_low": edges[:-1][keep],
            "bin_high": edges[1:][keep],
            "n": n[keep],
            "n_events": events[keep].astype(np.int64),
            "mean_predicted": psum[keep] / n[keep],
            "observed_rate": events[keep] / n[keep],
            "ci_low": low,
            "ci_high": high,
        }
    )


def expected_calibration_error(
    y_true, risk, *, n_bins: int = 10, strategy: str = "quantile"
) -> float:
    """Expected calibration error (ECE).

    The children are put into ``n_bins`` bins by predicted risk (see
    :func:`calibration_curve` for the binning); in each bin we take the absolute gap
    between the mean predicted risk and the observed rate, and average the gaps
    weighted by the number of children in the bin::

        ECE = sum over bins of (n_bin / n) * |mean_predicted_bin - observed_rate_bin|

    0 means the predicted risks match the observed rates in every bin. The value
    depends on the binning: report ``n_bins`` and ``strategy`` with it.

    Parameters
    ----------
    y_true : array-like of 0/1
    risk : array-like of float in [0, 1]
    n_bins : int, default 10
    strategy : {"quantile", "uniform"}, default "quantile"
        Equal-frequency (default) or equal-width bins.

    Examples
    --------
    >>> from send_early.evaluation import expected_calibration_error
    >>> round(expected_calibration_error([0, 0, 1, 0, 1, 1],
    ...                                  [0.1, 0.2, 0.3, 0.6, 0.7, 0.9], n_bins=2), 4)
    0.1
    """
    table = calibration_curve(y_true, risk, n_bins=n_bins, strategy=strategy)
    w = table["n"].to_numpy() / table["n"].sum()
    gap = np.abs(table["mean_predicted"].to_numpy() - table["observed_rate"].to_numpy())
    return float(np.sum(w * gap))
