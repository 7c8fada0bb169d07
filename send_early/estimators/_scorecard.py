"""Points scorecard: binned features, penalised logistic regression, integer points (private)."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning
from sklearn.isotonic import isotonic_regression
from sklearn.linear_model import LogisticRegression
from sklearn.svm import l1_min_c
from sklearn.utils.validation import check_is_fitted

from ._base import BinnedClassifier, rows_doc
from ._binning import PSEUDO_COUNT, supervised_thresholds
from ._data import StateReader
from ._engine import Number, StrOptions

__all__ = ["ScorecardClassifier"]

logger = logging.getLogger(__name__)


def _points_per_logit(pdo: float) -> float:
    """Points per unit of log-odds: ``pdo`` points double the odds."""
    return float(pdo / np.log(2.0))


class ScorecardClassifier(BinnedClassifier):
    """Integer points scorecard a person can add up by hand.

    Each feature is cut into a few bins (missing values get their own bin, each
    category is a bin), each bin is encoded by its weight of evidence (or one-hot) and a
    penalised logistic regression weighs them. The weights are then scaled and rounded
    to integer points: every bin of a feature gets its points (the lowest-risk bin 0),
    and the total ``base_points_ + sum of the row's bin points`` maps to a probability
    through ``points_to_probability()``. The model's own predictions are computed from
    those integer points, so adding them by hand reproduces its probability exactly.

    Scaling: ``pdo`` points double the odds, i.e. ``log-odds = total / points_per_logit_``
    with ``points_per_logit_ = pdo / ln 2``; a total of 0 is a probability of 0.5.

    Parameters
    ----------
    binning : {"tree", "quantile"}, default="tree"
        ``"tree"``: supervised bins from a small decision tree on each feature;
        ``"quantile"``: equal-frequency bins.
    max_bins : int, default=5
        Maximum number of value bins of a numeric feature (missing is extra).
    min_bin_fraction : float, default=0.05
        Smallest share of (non-missing) rows in a tree bin.
    encoding : {"woe", "onehot"}, default="woe"
        Bin encoding fed to the logistic regression. With ``"woe"`` a feature has one
        weight, so its points keep the order of its bins' event rates; features whose
        weight comes out negative are dropped (their evidence would be reversed).
    penalty : {"l2", "l1"}, default="l2"
        Penalty of the logistic regression.
    C : float, default=1.0
        Inverse penalty strength.
    max_features : int or None, default=None
        Keep at most this many features (a short checklist), chosen along the L1
        regularisation path. ``None`` keeps every feature.
    monotonic_cst : array-like of int or dict, default=None
        Per numeric feature, ``1`` (risk never decreases as it grows), ``-1`` or ``0``.
        Bins are merged until their event rates follow the constraint, and with
        ``encoding="onehot"`` the bin weights are projected onto it. The missing bin is
        free.
    categorical_features : "from_dtype", array-like or None, default="from_dtype"
        As in :class:`AdditiveRiskClassifier`. Unknown categories at predict time score
        as the missing bin.
    pdo : float, default=20.0
        Points to double the odds; larger values give finer (bigger) points.
    random_state : int, RandomState instance or None, default=None
        Seeds the tree binning and the L1 path solver.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        Class labels; ``classes_[1]`` is the event.
    points_table_ : DataFrame
        One row per bin of each kept feature: ``feature``, ``bin``, ``lower``,
        ``upper``, ``category``, ``points`` (int), ``count``, ``event_rate``, ``woe``.
    base_points_ : int
        Points every row starts with.
    points_per_logit_ : float
        ``pdo / ln 2``.
    intercept_ : float
        Log-odds of a row whose every contribution is 0 (contributions are centred on
        the training mean).
    term_names_ : list of str
        The kept features, in the order of ``contributions`` columns.
    term_features_ : list of tuple of int
        Index of each kept feature.
    bin_counts_, bin_events_, bin_weights_, woe_ : list of ndarray
        Per feature, the training rows, events, weights and weight of evidence of each
        bin (value bins, then the missing bin).
    bin_points_ : list of ndarray of int
        Per kept feature, the points of each bin.
    mean_points_ : list of float
        Per kept feature, its mean points over the training rows.
    binner_ : Binner
        The bins of every feature (value bins, then one missing bin).
    bin_thresholds_ : list of ndarray or None
        Upper edges of each numeric feature's value bins (``t[k-1] < x <= t[k]``).
    categories_ : list of ndarray or None
        Categories of each categorical feature.
    coef_ : ndarray
        Weights of the logistic regression on the kept encoded columns.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of str
        Feature names seen in fit (DataFrame input only).

    Examples
    --------
    >>> import numpy as np
    >>> from send_early.estimators import ScorecardClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 3))
    >>> y = (X[:, 0] - X[:, 2] + rng.normal(size=400) > 0).astype(int)
    >>> card = ScorecardClassifier(max_features=2, random_state=0).fit(X, y)
    >>> card.term_names_
    ['x0', 'x2']
    >>> total = card.score_points(X[:1])
    >>> table = card.points_to_probability().set_index("points")
    >>> bool(np.isclose(table.loc[total[0], "probability"], card.predict_proba(X[:1])[0, 1]))
    True
    """

    _parameter_constraints: dict = {
        **BinnedClassifier._parameter_constraints,
        "binning": [StrOptions({"tree", "quantile"})],
        "min_bin_fraction": [Number(float, 0, 0.5, closed="neither")],
        "encoding": [StrOptions({"woe", "onehot"})],
        "penalty": [StrOptions({"l2", "l1"})],
        "C": [Number(float, 0, None, closed="neither")],
        "max_features": [Number(int, 1, None, closed="left"), None],
        "pdo": [Number(float, 0, None, closed="neither")],
    }

    def __init__(
        self,
        *,
        binning: str = "tree",
        max_bins: int = 5,
        min_bin_fraction: float = 0.05,
        encoding: str = "woe",
        penalty: str = "l2",
        C: float = 1.0,
        max_features: int | None = None,
        monotonic_cst=None,
        categorical_features="from_dtype",
        pdo: float = 20.0,
        random_state=None,
    ):
        self.binning = binning
        self.max_bins = max_bins
        self.min_bin_fraction = min_bin_fraction
        self.encoding = encoding
        self.penalty = penalty
        self.C = C
        self.max_features = max_features
        self.monotonic_cst = monotonic_cst
        self.categorical_features = categorical_features
        self.pdo = pdo
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def _thresholds(self, j, x, y01, sw, rng):
        """Supervised (tree) or quantile bins of numeric feature ``j``, merged to its constraint."""
        return supervised_thresholds(
            x,
            y01,
            sw,
            method=self.binning,
            max_bins=self.max_bins,
            min_fraction=self.min_bin_fraction,
            cst=int(self.monotonic_cst_[j]),
            rng=rng,
        )

    def _fit(self, idx, y01, sw, rng):
        """Weigh the bins by a logistic regression and round it to points (``fit``)."""
        p = idx.shape[1]
        size = self.binner_.n_value_bins + 1  # value bins, then the missing bin

        P, N = (sw * y01).sum(), (sw * (1 - y01)).sum()
        prior = np.log((P + PSEUDO_COUNT) / (N + PSEUDO_COUNT))
        self.bin_counts_, self.bin_events_, self.bin_weights_, self.woe_ = [], [], [], []
        for j in range(p):
            pos = np.bincount(idx[:, j], weights=sw * y01, minlength=size[j])
            wt = np.bincount(idx[:, j], weights=sw, minlength=size[j])
            cnt = np.bincount(idx[:, j], minlength=size[j])
            w = np.log((pos + PSEUDO_COUNT) / (wt - pos + PSEUDO_COUNT)) - prior
            self.woe_.append(np.where(cnt > 0, w, 0.0))
            self.bin_counts_.append(cnt)
            self.bin_events_.append(np.bincount(idx[:, j], weights=y01, minlength=size[j]))
            self.bin_weights_.append(wt)

        selected = list(range(p))
        if self.max_features is not None and self.max_features < p:
            selected = self._select(idx, y01, sw, rng)
        while True:
            Z, own, bins_of = self._design(idx, selected)
            lr = self._logistic(self.C, self.penalty, rng).fit(Z, y01, sample_weight=sw)
            coef = lr.coef_.ravel()
            if self.encoding == "woe":
                bad = [f for f, c in zip(selected, coef, strict=True) if c <= 0]
                if bad and len(bad) < len(selected):
                    logger.info("dropping features with non-positive WoE weight: %s", bad)
                    selected = [f for f in selected if f not in bad]
                    continue
                if bad:
                    coef = np.maximum(coef, 0.0)
            break
        self.coef_ = coef
        s = _points_per_logit(self.pdo)

        logit_points = []
        for f in selected:
            if self.encoding == "woe":
                v = coef[selected.index(f)] * self.woe_[f]
            else:
                v = np.zeros(size[f])
                v[bins_of[f]] = coef[own == f]
                if self.monotonic_cst_[f] != 0:
                    k = size[f] - 1  # value bins; the missing bin is free
                    cnt = self.bin_counts_[f][:k]
                    v[:k] = isotonic_regression(
                        v[:k],
                        sample_weight=np.maximum(cnt, 1e-9),
                        increasing=bool(self.monotonic_cst_[f] > 0),
                    )
            logit_points.append(v)
        pts = [np.rint(s * v).astype(np.int64) for v in logit_points]
        shift = [int(pt.min()) for pt in pts]
        self.bin_points_ = [pt - m for pt, m in zip(pts, shift, strict=True)]
        self.base_points_ = int(np.rint(s * float(lr.intercept_[0]))) + int(sum(shift))
        self.term_features_ = [(f,) for f in selected]
        total = sw.sum()
        self.mean_points_ = [
            float((pt[idx[:, f]] * sw).sum() / total)
            for pt, f in zip(self.bin_points_, selected, strict=True)
        ]
        self._set_derived()

    def _logistic(self, C, penalty, rng):
        if penalty == "l1":
            return LogisticRegression(
                C=C,
                l1_ratio=1.0,
                solver="liblinear",
                intercept_scaling=100.0,
                random_state=rng.randint(np.iinfo(np.int32).max),
                max_iter=1000,
            )
        return LogisticRegression(C=C, solver="lbfgs", max_iter=2000)

    def _design(self, idx, features):
        """Encoded matrix for ``features``; returns (Z, owner of each column, bins of f)."""
        cols, owner, bins_of = [], [], {}
        for f in features:
            if self.encoding == "woe":
                cols.append(self.woe_[f][idx[:, f]][:, None])
                owner.append(f)
            else:
                seen = np.flatnonzero(self.bin_counts_[f] > 0)
                bins_of[f] = seen
                cols.append((idx[:, f][:, None] == seen[None, :]).astype(np.float64))
                owner += [f] * seen.size
        Z = np.hstack(cols) if cols else np.zeros((idx.shape[0], 0))
        return Z, np.asarray(owner), bins_of

    def _select(self, idx, y01, sw, rng):
        """Features entering first along the L1 path, at most ``max_features``."""
        Z, own, _ = self._design(idx, list(range(idx.shape[1])))
        c0 = l1_min_c(Z, y01, loss="log")
        best = []
        for C in c0 * np.logspace(0, 4, 25):
            lr = self._logistic(C, "l1", rng)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                lr.fit(Z, y01, sample_weight=sw)
            nz = np.abs(lr.coef_.ravel()) > 1e-10
            if self.encoding == "woe":
                nz = nz & (lr.coef_.ravel() > 0)
            feats = sorted(set(own[nz].tolist()))
            if len(feats) > self.max_features:
                break
            best = feats
        if not best:
            best = [int(np.argmax(np.abs(Z.T @ (y01 - y01.mean()))))] if Z.size else [0]
            best = sorted(set(own[best].tolist()))
        return best

    # ------------------------------------------------------------ helpers
    def _set_derived(self) -> None:
        """What follows from the points, their means and the kept features (fit, load)."""
        self.points_per_logit_ = _points_per_logit(self.pdo)
        self.term_names_ = self._term_names(self.term_features_)
        self.intercept_ = (self.base_points_ + sum(self.mean_points_)) / self.points_per_logit_
        self.points_table_ = self._make_points_table()

    def _make_points_table(self) -> pd.DataFrame:
        parts = []
        for (f,), pts in zip(self.term_features_, self.bin_points_, strict=True):
            bins = self.binner_.bins(f)
            cnt, ev = self.bin_counts_[f], self.bin_events_[f]
            parts.append(
                pd.DataFrame(
                    {
                        "feature": self._feature_name(f),
                        "bin": bins["bin"].tolist(),
                        "lower": bins["lower"].to_numpy(),
                        "upper": bins["upper"].to_numpy(),
                        "category": bins["category"].tolist(),
                        "points": pts,
                        "count": cnt.astype(np.int64),
                        "event_rate": np.divide(
                            ev, cnt, out=np.full(cnt.shape, np.nan), where=cnt > 0
                        ),
                        "woe": self.woe_[f],
                    }
                )
            )
        out = pd.concat(parts, ignore_index=True)
        for col in ("feature", "bin", "category"):
            out[col] = out[col].astype("str")
        return out

    # ------------------------------------------------------------ saved state
    # What the points, the points table and prediction read (BinnedClassifier._to_state).
    # Derived values (points_per_logit_, intercept_, term_names_, points_table_) are
    # recomputed the way fit computes them.
    def _write_state(self, fields: dict, arrays: dict) -> None:
        fields.update(
            base_points=int(self.base_points_),
            selected=[int(f) for (f,) in self.term_features_],
        )
        arrays["coef"] = np.asarray(self.coef_, dtype=np.float64)
        arrays["means"] = np.asarray(self.mean_points_, dtype=np.float64)
        for j in range(self.n_features_in_):
            arrays[f"count.{j}"], arrays[f"events.{j}"] = self.bin_counts_[j], self.bin_events_[j]
            arrays[f"weight.{j}"], arrays[f"woe.{j}"] = self.bin_weights_[j], self.woe_[j]
        for k, pts in enumerate(self.bin_points_):
            arrays[f"points.{k}"] = pts

    def _read_state(self, r: StateReader) -> None:
        p = self.n_features_in_
        size = self.binner_.n_value_bins + 1
        self.bin_counts_ = [r.array(f"count.{j}", "iu", (size[j],), low=0) for j in range(p)]
        self.bin_events_ = [r.array(f"events.{j}", "f", (size[j],), low=0) for j in range(p)]
        self.bin_weights_ = [r.array(f"weight.{j}", "f", (size[j],), low=0) for j in range(p)]
        self.woe_ = [r.array(f"woe.{j}", "f", (size[j],)) for j in range(p)]
        selected = r.int_list("selected", low=0, high=p - 1)
        if not selected or len(set(selected)) != len(selected):
            raise r.fail("selected", "must list distinct feature indices (at least one).")
        self.coef_ = r.array("coef", "f", (None,))
        self.bin_points_ = [
            r.array(f"points.{k}", "i", (size[f],), low=0) for k, f in enumerate(selected)
        ]
        self.mean_points_ = [float(m) for m in r.array("means", "f", (len(selected),))]
        self.base_points_ = int(r.number("base_points", integer=True))
        self.term_features_ = [(f,) for f in selected]
        self._set_derived()

    # ------------------------------------------------------------ predict
    def _row_points(self, idx) -> np.ndarray:
        out = np.empty((idx.shape[0], len(self.bin_points_)), dtype=np.int64)
        for k, ((f,), pts) in enumerate(zip(self.term_features_, self.bin_points_, strict=True)):
            out[:, k] = pts[idx[:, f]]
        return out

    @rows_doc(
        "DataFrame of int of shape (n_samples, n_terms)",
        "Columns follow ``term_names_``; ``base_points_`` plus the row sum is "
        ":meth:`score_points`.",
    )
    def points(self, X) -> pd.DataFrame:
        """Points of every kept feature for each row (the row's line on the card)."""
        idx = self._encode(X)
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(self._row_points(idx), columns=self.term_names_, index=index)

    @rows_doc("ndarray of int64 of shape (n_samples,)", "Total points.")
    def score_points(self, X) -> np.ndarray:
        """Total points of each row: ``base_points_`` plus its bins' points."""
        idx = self._encode(X)
        return self.base_points_ + self._row_points(idx).sum(axis=1)

    def points_to_probability(self) -> pd.DataFrame:
        """Probability of the event for every reachable total of points.

        Returns
        -------
        DataFrame
            Columns ``points`` (int), ``log_odds`` (``points / points_per_logit_``) and
            ``probability``, from the lowest to the highest reachable total.
        """
        check_is_fitted(self)
        lo = self.base_points_
        hi = self.base_points_ + int(sum(int(p.max()) for p in self.bin_points_))
        pts = np.arange(lo, hi + 1, dtype=np.int64)
        logit = pts / self.points_per_logit_
        return pd.DataFrame({"points": pts, "log_odds": logit, "probability": expit(logit)})

    def _contributions(self, idx: np.ndarray) -> np.ndarray:
        # (points - mean training points of the feature) / points_per_logit_
        pts = self._row_points(idx)
        return (pts - np.asarray(self.mean_points_)[None, :]) / self.points_per_logit_

    def _log_odds(self, idx: np.ndarray) -> np.ndarray:
        # the total points over points_per_logit_: adding the points by hand gives them
        return (self.base_points_ + self._row_points(idx).sum(axis=1)) / self.points_per_logit_
