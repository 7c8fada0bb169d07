"""Rolling temporal backtest: train on earlier as-of years, test on the next."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._validation import check_binary, check_scores
from ._capacity import capacity_metrics
from ._metrics import average_precision, brier_score, expected_calibration_error, roc_auc

logger = logging.getLogger(__name__)

__all__ = ["BACKTEST_METRICS", "temporal_backtest", "BacktestResult", "calibration_in_the_large"]

#: The metrics whose spread across test years a backtest reports (and the card shows), in order.
BACKTEST_METRICS = (
    "roc_auc",
    "average_precision",
    "brier",
    "ece",
    "precision_at_k",
    "recall_at_k",
    "lift_at_k",
    "prevalence",
)


@dataclass(frozen=True, repr=False)
class BacktestResult:
    """Result of :func:`temporal_backtest`.

    Attributes
    ----------
    by_year : DataFrame
        One row per test year: ``test_year``, ``train_years``, ``n_train``,
        ``n_test``, then the metrics, then calibration in the large: ``mean_risk``
        and ``calibration_in_the_large`` (observed rate minus mean predicted risk:
        positive means the model under-states risk that year) with its 95% interval
        ``calibration_in_the_large_low`` and ``_high``.
    spread : DataFrame
        Per metric (index): ``mean``, ``sd`` (sample standard deviation across test
        years), ``min``, ``max``, ``n_years``.
    by_council : DataFrame or None
        With a council column in the data: one row per test year and council,
        ``test_year``, ``council_id``, ``n_test``, ``prevalence``, ``mean_risk`` and
        calibration in the large with its interval, as in ``by_year``.
    """

    by_year: pd.DataFrame
    spread: pd.DataFrame
    by_council: pd.DataFrame | None = None

    def __repr__(self) -> str:
        return f"BacktestResult(test_years={self.by_year['test_year'].tolist()})"

    def to_dict(self) -> dict:
        """JSON-ready dict (aggregates only); ``by_council`` only when there are councils."""
        from .._json import jsonable

        out = {
            "by_year": self.by_year.to_dict(orient="records"),
            "spread": self.spread.reset_index(names="metric").to_dict(orient="records"),
        }
        if self.by_council is not None:
            out["by_council"] = self.by_council.to_dict(orient="records")
        return jsonable(out)


#: z of a two-sided 95% normal interval.
_Z95 = 1.959963984540054


def calibration_in_the_large(y_true, risk) -> dict[str, float]:
    """Observed rate minus mean predicted risk, with a 95% interval.

    The interval is normal, with the standard error of the mean of ``y - risk`` over
    the children (no assumption that the model is calibrated). Positive means the
    model under-states risk: more children were identified than it predicted.

    Examples
    --------
    >>> from send_early.evaluation import calibration_in_the_large
    >>> c = calibration_in_the_large([0, 0, 1, 1], [0.2, 0.2, 0.3, 0.3])
    >>> round(c["calibration_in_the_large"], 2), round(c["mean_risk"], 2)
    (0.25, 0.25)
    """
    y = check_binary(y_true, "y_true").astype(np.float64)
    p = check_scores(np.asarray(risk, dtype=np.float64), "risk")
    if len(y) != len(p):
        raise ValueError(f"y_true and risk must have the same length; found {len(y)}, {len(p)}.")
    gap = float(y.mean() - p.mean()) if len(y) else np.nan
    se = float(np.std(y - p, ddof=1) / np.sqrt(len(y))) if len(y) > 1 else np.nan
    return {
        "mean_risk": float(p.mean()) if len(p) else np.nan,
        "calibration_in_the_large": gap,
        "calibration_in_the_large_low": gap - _Z95 * se,
        "calibration_in_the_large_high": gap + _Z95 * se,
    }


def _by_council(test_year: int, councils: pd.Series, y: np.ndarray, risk: np.ndarray) -> list:
    """Calibration in the large of one test year, per council (vectorised over children)."""
    codes, names = pd.factorize(councils.astype("string").fillna("(unknown)"), sort=True)
    n = np.bincount(codes, minlength=len(names)).astype(np.float64)
    pos = np.bincount(codes, weights=y, minlength=len(names))
    r = y - risk
    s1 = np.bincount(codes, weights=r, minlength=len(names))
    s2 = np.bincount(codes, weights=r * r, minlength=len(names))
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = s1 / n
        var = np.where(n > 1, (s2 - n * gap**2) / (n - 1), np.nan)
        se = np.sqrt(np.maximum(var, 0) / n)
        mean_risk = np.bincount(codes, weights=risk, minlength=len(names)) / n
    return [
        {
            "test_year": test_year,
            "council_id": str(names[i]),
            "n_test": int(n[i]),
            "prevalence": float(pos[i] / n[i]),
            "mean_risk": float(mean_risk[i]),
            "calibration_in_the_large": float(gap[i]),
            "calibration_in_the_large_low": float(gap[i] - _Z95 * se[i]),
            "calibration_in_the_large_high": float(gap[i] + _Z95 * se[i]),
        }
        for i in range(len(names))
    ]


def _split_years(data, as_of_col: str) -> dict[int, pd.DataFrame]:
    if isinstance(data, Mapping):
        return {int(y): f for y, f in sorted(data.items())}
    if not isinstance(data, pd.DataFrame):
        raise TypeError(
            "data must be a DataFrame with an as-of column or a mapping "
            f"year -> DataFrame; found {type(data).__name__}."
        )
    if as_of_col not in data.columns:
        raise ValueError(
            f"data must have an as-of date column {as_of_col!r}; columns are "
            f"{list(data.columns)[:10]}. Pass as_of_col= or a mapping of years."
        )
    years = pd.to_datetime(data[as_of_col]).dt.year
    return {int(y): data[years == y] for y in sorted(years.unique())}


def temporal_backtest(
    data,
    *,
    fit_predict: Callable[[pd.DataFrame, np.ndarray, pd.DataFrame], object],
    target: str = "label",
    as_of_col: str = "as_of",
    k: int | None = None,
    share: float | None = None,
    min_train_years: int = 1,
    gap_years: int = 0,
    window_years: int | None = None,
    tiebreak_col: str | None = None,
    n_bins: int = 10,
    council_col: str | None = "council_id",
) -> BacktestResult:
    """Train on as-of years up to Y, test on Y + 1, for every possible Y.

    This mimics how the model is used: fitted on the past and scored on the next
    cohort. The spread of the metrics across test years shows how stable they are.

    Parameters
    ----------
    data : DataFrame or mapping of int to DataFrame
        One row per child and as-of date, with the outcome column ``target``; either
        one frame with an ``as_of_col`` column (the calendar year of that date is the
        year) or a mapping ``year -> frame``.
    fit_predict : callable
        ``fit_predict(X_train, y_train, X_test) -> risk`` for the test rows. ``X_*``
        are the frames without ``target`` and ``as_of_col``; the test outcomes are
        never passed to it.
    target : str, default "label"
    as_of_col : str, default "as_of"
    k, share : optional
        Capacity for the at-k metrics (count or share of each test year's cohort).
    min_train_years : int, default 1
        Smallest number of training years before a year is tested.
    gap_years : int, default 0
        Years left out between training and test. Labels look forward (for example
        24 months): a training row with as-of date in year Y is only fully labelled
        at Y + horizon. To train only on outcomes known at the test as-of date, set
        ``gap_years`` to the horizon in whole years (for a 24-month horizon, 2).
    window_years : int, optional
        Train on only the last ``window_years`` eligible years (rolling window);
        default: all earlier years (expanding window).
    tiebreak_col : str, optional
        Column used to break ties when flagging (e.g. ``"child_id"``).
    n_bins : int, default 10
        Bins for the expected calibration error (equal-frequency).
    council_col : str or None, default "council_id"
        When ``data`` has this column (each row's council), it is never passed to
        ``fit_predict`` and calibration in the large is also reported per test year
        and council (:attr:`BacktestResult.by_council`).

    Returns
    -------
    BacktestResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from send_early.evaluation import temporal_backtest
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"as_of": np.repeat(pd.to_datetime(["2020-09-01", "2021-09-01",
    ...                    "2022-09-01"]), 200), "x": rng.normal(size=600)})
    >>> df["label"] = (rng.random(600) < 1 / (1 + np.exp(-2 * df["x"]))).astype(int)
    >>> def fit_predict(X_train, y_train, X_test):
    ...     return 1 / (1 + np.exp(-2 * X_test["x"].to_numpy()))
    >>> r = temporal_backtest(df, fit_predict=fit_predict, share=0.1)
    >>> r.by_year[["test_year", "train_years", "n_test"]]
       test_year train_years  n_test
    0       2021   2020-2020     200
    1       2022   2020-2021     200
    >>> list(r.spread.columns)
    ['mean', 'sd', 'min', 'max', 'n_years']
    """
    if not callable(fit_predict):
        raise TypeError("fit_predict must be a callable fit_predict(X_train, y_train, X_test).")
    for name, v in (("min_train_years", min_train_years), ("gap_years", gap_years)):
        if v < 0:
            raise ValueError(f"{name} must be 0 or more; found {v}.")
    frames = _split_years(data, as_of_col)
    years = sorted(frames)
    has_council = council_col is not None and all(council_col in f.columns for f in frames.values())
    drop = [target, as_of_col] + ([council_col] if has_council else [])
    rows, council_rows = [], []
    for test_year in years:
        last = test_year - 1 - gap_years
        first = years[0] if window_years is None else last - window_years + 1
        train_years = [y for y in years if first <= y <= last]
        if len(train_years) < max(min_train_years, 1):
            continue
        train = pd.concat([frames[y] for y in train_years])
        test = frames[test_year]
        for name, frame in (("train", train), ("test", test)):
            if target not in frame.columns:
                raise ValueError(f"The {name} frame for {test_year} has no {target!r} column.")
        y_train = check_binary(train[target], f"{target} (train)")
        y_test = check_binary(test[target], f"{target} (test {test_year})")
        risk = fit_predict(
            train.drop(columns=drop, errors="ignore"),
            y_train,
            test.drop(columns=drop, errors="ignore"),
        )
        risk = check_scores(np.asarray(risk), "risk from fit_predict")
        if len(risk) != len(test):
            raise ValueError(
                f"fit_predict must return one risk per test row ({len(test)}); "
                f"found {len(risk)} for test year {test_year}."
            )
        both = 0 < y_test.sum() < len(y_test)
        row = {
            "test_year": test_year,
            "train_years": f"{train_years[0]}-{train_years[-1]}",
            "n_train": len(train),
            "n_test": len(test),
            "prevalence": float(y_test.mean()),
            "roc_auc": roc_auc(y_test, risk) if both else np.nan,
            "average_precision": average_precision(y_test, risk) if both else np.nan,
            "brier": brier_score(y_test, risk),
            "ece": expected_calibration_error(y_test, risk, n_bins=n_bins),
        }
        if k is not None or share is not None:
            tb = test[tiebreak_col] if tiebreak_col else None
            cap = capacity_metrics(
                y_test,
                risk,
                k=min(k, len(test)) if k is not None else None,
                share=share,
                tiebreak=tb,
            )
            row.update(
                precision_at_k=cap["precision"], recall_at_k=cap["recall"], lift_at_k=cap["lift"]
            )
        row.update(calibration_in_the_large(y_test, risk))
        if has_council:
            council_rows += _by_council(test_year, test[council_col], y_test, risk)
        rows.append(row)
        logger.info(
            "Backtest year %s: trained on %s (%d rows), tested on %d rows.",
            test_year,
            row["train_years"],
            len(train),
            len(test),
        )
    if not rows:
        raise ValueError(
            f"No test year has {max(min_train_years, 1)} earlier training year(s) "
            f"with gap_years={gap_years}; years found: {years}."
        )
    by_year = pd.DataFrame(rows)
    metrics = [m for m in BACKTEST_METRICS if m in by_year.columns]
    values = by_year[metrics].astype(np.float64)
    spread = pd.DataFrame(
        {
            "mean": values.mean(),
            "sd": values.std(ddof=1),
            "min": values.min(),
            "max": values.max(),
            "n_years": values.notna().sum(),
        }
    )
    by_council = pd.DataFrame(council_rows) if has_council else None
    return BacktestResult(by_year, spread, by_council)
