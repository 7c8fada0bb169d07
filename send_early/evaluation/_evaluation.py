"""The Evaluation result object: every headline number for one scored cohort."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from .._json import jsonable as _jsonable
from .._validation import check_binary, check_same_length, check_scores, check_tiebreak
from ..privacy import count, protect_frame, rate, statistic
from ._baselines import BaselineComparison, compare_to_baselines
from ._capacity import capacity_curve, capacity_metrics, flag_top_k, resolve_k
from ._lead_time import DEFAULT_BINS, lead_time_summary, lead_time_table
from ._metrics import (
    average_precision,
    brier_score,
    calibration_curve,
    expected_calibration_error,
    roc_auc,
)

logger = logging.getLogger(__name__)

__all__ = ["Evaluation"]


# what each published column of the calibration table reveals (send_early.privacy)
_CALIBRATION = {
    "n": count("events", "others"),
    "n_events": count("events"),
    "observed_rate": rate("events", ["events", "others"]),
    "ci_low": rate("events", ["events", "others"]),
    "ci_high": rate("events", ["events", "others"]),
    "mean_predicted": statistic(["events", "others"]),
}
_LEAD_TIME = {"n": count("n"), "share": count("n")}


def _protect_calibration(cal: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """The disclosure rule on the calibration bins, which partition the cohort."""
    events = cal["n_events"].to_numpy(dtype=float)
    cells = {"events": events, "others": cal["n"].to_numpy(dtype=float) - events}
    return protect_frame(cal, cells=cells, figures=_CALIBRATION, totals=True, min_cell=min_cell)


def _protect_lead_time(table: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """The disclosure rule on the lead-time intervals (a partition of the flagged children
    later identified); a cumulative share is shown only where every interval up to it is."""
    cells = {"n": table["n"].to_numpy(dtype=float)}
    out = protect_frame(table, cells=cells, figures=_LEAD_TIME, totals=True, min_cell=min_cell)
    if "cumulative_share" in out.columns:
        whole = out["n"].notna().cummin().to_numpy(dtype=bool)
        out["cumulative_share"] = out["cumulative_share"].astype("Float64").where(whole)
    return out


class Evaluation:
    """Every headline number for one scored cohort, computed once.

    A result object (like fairlearn's ``MetricFrame``): keyword-only arguments,
    everything computed when it is created, read-only properties, and
    :meth:`to_dict` for a model card. It holds aggregates only; no child-level row
    is kept or returned.

    Parameters
    ----------
    y_true : array-like of 0/1
        1 for children later identified as needing SEN support (identified need,
        not true need).
    risk : array-like of float in [0, 1]
        Predicted probability for each child.
    k, share : optional
        Capacity: number (``k``) or share of children flagged. Default: ``share=0.05``.
    tiebreak : array-like, optional
        Breaks ties in risk when flagging (e.g. ``child_id``), ascending.
    as_of, event_date : optional
        As-of date(s) and identification dates, for lead time.
    X : DataFrame, optional
        Features for the simple baselines; with ``X_train``, ``y_train`` the
        age-only baseline is added.
    n_bins : int, default 10
    calibration_strategy : {"quantile", "uniform"}, default "quantile"
    capacity_shares : sequence of float, optional
        Shares for the capacity curve; default 1%, 2%, ..., 30%.
    min_cell : int, default 10
        Calibration bins and lead-time intervals with fewer children are suppressed
        (value missing, ``suppressed`` True); the lead-time summary is suppressed
        when fewer than ``min_cell`` flagged children were later identified.
    random_state : int, default 0
        Seed for the random baseline and bootstrap intervals.

    Examples
    --------
    >>> import numpy as np
    >>> from send_early.evaluation import Evaluation
    >>> rng = np.random.default_rng(0)
    >>> risk = rng.uniform(0, 0.3, 2000)
    >>> y = (rng.random(2000) < risk).astype(int)
    >>> ev = Evaluation(y_true=y, risk=risk, share=0.1)
    >>> ev.capacity["k"], round(ev.headline["roc_auc"], 2)
    (200, 0.7)
    >>> sorted(ev.to_dict())[:4]
    ['baselines', 'calibration', 'capacity', 'capacity_curve']
    """

    def __init__(
        self,
        *,
        y_true,
        risk,
        k: int | None = None,
        share: float | None = None,
        tiebreak=None,
        as_of=None,
        event_date=None,
        X: pd.DataFrame | None = None,
        X_train: pd.DataFrame | None = None,
        y_train=None,
        n_bins: int = 10,
        calibration_strategy: str = "quantile",
        capacity_shares=None,
        min_cell: int = 10,
        random_state: int | None = 0,
    ):
        check_same_length(y_true=y_true, risk=risk, X=X)
        y = check_binary(y_true, "y_true")
        p = check_scores(risk, "risk")
        if k is None and share is None:
            share = 0.05
        kk = resolve_k(len(y), k, share)
        check_tiebreak(tiebreak, len(y))
        n_pos = int(y.sum())
        both = 0 < n_pos < len(y)
        self._params = {
            "k": kk,
            "n_bins": n_bins,
            "calibration_strategy": calibration_strategy,
            "min_cell": min_cell,
            "random_state": random_state,
        }
        self._headline = {
            "n": len(y),
            "n_positive": n_pos,
            "prevalence": n_pos / len(y) if len(y) else np.nan,
            "mean_risk": float(p.mean()) if len(p) else np.nan,
            "roc_auc": roc_auc(y, p) if both else np.nan,
            "average_precision": average_precision(y, p) if both else np.nan,
            "brier": brier_score(y, p),
            "ece": expected_calibration_error(y, p, n_bins=n_bins, strategy=calibration_strategy),
        }
        self._capacity = capacity_metrics(y, p, k=kk, tiebreak=tiebreak)
        self._headline.update(
            k=kk,
            precision_at_k=self._capacity["precision"],
            recall_at_k=self._capacity["recall"],
            lift_at_k=self._capacity["lift"],
        )
        cal = calibration_curve(y, p, n_bins=n_bins, strategy=calibration_strategy)
        self._calibration = _protect_calibration(cal, min_cell)
        shares = np.arange(1, 31) / 100 if capacity_shares is None else capacity_shares
        self._capacity_curve = capacity_curve(y, p, shares=shares, tiebreak=tiebreak)
        self._lead_time = None
        self._lead_time_table = None
        if (as_of is None) != (event_date is None):
            raise ValueError("Give both as_of and event_date for lead time, or neither.")
        if as_of is not None:
            flagged = np.asarray(flag_top_k(p, kk, tiebreak=tiebreak))
            summary = lead_time_summary(flagged, as_of, event_date, y_true=y)
            if summary["n"] < min_cell:
                summary = {key: np.nan for key in summary} | {"suppressed": True}
            else:
                summary["suppressed"] = False
            self._lead_time = summary
            self._lead_time_table = _protect_lead_time(
                lead_time_table(flagged, as_of, event_date, y_true=y, bins=DEFAULT_BINS), min_cell
            )
        self._baselines = None
        if X is not None:
            self._baselines = compare_to_baselines(
                y,
                p,
                X,
                k=kk,
                tiebreak=tiebreak,
                X_train=X_train,
                y_train=y_train,
                random_state=random_state,
            )
        logger.info("Evaluation on %d children at k=%d.", len(y), kk)

    @property
    def headline(self) -> dict:
        """Headline metrics: n, prevalence, ROC AUC, average precision, Brier, ECE and
        precision / recall / lift at the capacity."""
        return dict(self._headline)

    @property
    def capacity(self) -> dict:
        """:func:`capacity_metrics` at the chosen capacity."""
        return dict(self._capacity)

    @property
    def capacity_curve(self) -> pd.DataFrame:
        """:func:`capacity_curve` over ``capacity_shares``."""
        return self._capacity_curve.copy()

    @property
    def calibration(self) -> pd.DataFrame:
        """:func:`calibration_curve`, with bins under ``min_cell`` children suppressed."""
        return self._calibration.copy()

    @property
    def lead_time(self) -> dict | None:
        """Lead-time summary in months (None without ``as_of``/``event_date``)."""
        return None if self._lead_time is None else dict(self._lead_time)

    @property
    def lead_time_table(self) -> pd.DataFrame | None:
        """Lead-time distribution (None without ``as_of``/``event_date``)."""
        return None if self._lead_time_table is None else self._lead_time_table.copy()

    @property
    def baselines(self) -> BaselineComparison | None:
        """:func:`compare_to_baselines` (None without ``X``)."""
        return self._baselines

    def __repr__(self) -> str:
        h = self._headline
        return (
            f"Evaluation(n={h['n']}, prevalence={h['prevalence']:.3f}, "
            f"roc_auc={h['roc_auc']:.3f}, k={h['k']}, recall_at_k={h['recall_at_k']:.3f})"
        )

    def to_dict(self) -> dict:
        """Everything as a JSON-ready dict of aggregates (no child-level rows)."""
        return _jsonable(
            {
                "params": self._params,
                "headline": self._headline,
                "capacity": self._capacity,
                "capacity_curve": self._capacity_curve.to_dict(orient="records"),
                "calibration": self._calibration.to_dict(orient="records"),
                "lead_time": self._lead_time,
                "lead_time_table": None
                if self._lead_time_table is None
                else self._lead_time_table.to_dict(orient="records"),
                "baselines": None if self._baselines is None else self._baselines.to_dict(),
            }
        )
