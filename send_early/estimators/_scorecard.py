"""Points scorecard: binned features, penalised logistic regression, integer points (private)."""

from __future__ import annotations

import logging
import numbers
import warnings

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.isotonic import isotonic_regression
from sklearn.linear_model import LogisticRegression
from sklearn.svm import l1_min_c
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.validation import check_is_fitted

from ._data import (
    LogOddsClassifierMixin,
    StateReader,
    bin_label,
    check_X,
    digitize,
    encode,
    encoder_state,
    numeric_thresholds,
    params_state,
    prepare_fit,
    read_bin_seen,
    read_params,
    set_encoder_state,
)

__all__ = ["ScorecardClassifier"]

logger = logging.getLogger(__name__)

_SMOOTH = 0.5  # pseudo-count of events and non-events per bin in the weight of evidence


def _pav_merge(thresholds, pos, tot, direction):
    """Merge adjacent numeric bins until event rates follow ``direction`` (+1/-1)."""
    t = list(thresholds)
    pos, tot = list(pos), list(tot)
    changed = True
    while changed and len(tot) > 1:
        changed = False
        rate = [(p + _SMOOTH) / (n + 2 * _SMOOTH) for p, n in zip(pos, tot, strict=True)]
        for k in range(len(rate) - 1):
            if direction * (rate[k + 1] - rate[k]) < 0:
                pos[k] += pos.pop(k + 1)
                tot[k] += tot.pop(k + 1)
                t.pop(k)
                changed = True
                break
    return np.asarray(t, dtype=np.float64)


class ScorecardClassifier(LogOddsClassifierMixin, ClassifierMixin, BaseEstimator):
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

    def _check_params(self):
        problems = []
        for name, allowed in (
            ("binning", ("tree", "quantile")),
            ("encoding", ("woe", "onehot")),
            ("penalty", ("l2", "l1")),
        ):
            if getattr(self, name) not in allowed:
                problems.append(f"{name} must be one of {allowed}; found {getattr(self, name)!r}")
        if not isinstance(self.max_bins, numbers.Integral) or not 2 <= self.max_bins <= 255:
            problems.append(f"max_bins must be an integer in [2, 255]; found {self.max_bins!r}")
        if not isinstance(self.min_bin_fraction, numbers.Real) or not (
            0 < self.min_bin_fraction < 0.5
        ):
            problems.append(
                f"min_bin_fraction must be in (0, 0.5); found {self.min_bin_fraction!r}"
            )
        if not isinstance(self.C, numbers.Real) or not self.C > 0:
            problems.append(f"C must be a positive number; found {self.C!r}")
        if not isinstance(self.pdo, numbers.Real) or not self.pdo > 0:
            problems.append(f"pdo must be a positive number; found {self.pdo!r}")
        if self.max_features is not None and (
            not isinstance(self.max_features, numbers.Integral) or self.max_features < 1
        ):
            problems.append(
                f"max_features must be None or an integer >= 1; found {self.max_features!r}"
            )
        if problems:
            raise ValueError("Invalid ScorecardClassifier parameters: " + "; ".join(problems) + ".")

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None):
        """Bin the features, fit the logistic regression and round it to points.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features; NaN (or pandas NA) marks a missing value.
        y : array-like of shape (n_samples,)
            Binary outcome; ``classes_[1]`` is the event.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights.

        Returns
        -------
        self : ScorecardClassifier
            The fitted scorecard.
        """
        X, y01, sw, rng, names = prepare_fit(self, X, y, sample_weight)
        n, p = X.shape
        Xe = encode(X, self.is_categorical_, self.categories_).X

        self.bin_thresholds_ = []
        for j in range(p):
            if self.is_categorical_[j]:
                self.bin_thresholds_.append(None)
            else:
                self.bin_thresholds_.append(self._numeric_bins(Xe[:, j], y01, sw, j, rng))
        idx = self._digitize(Xe)
        n_bins = self._n_bins()  # value bins + missing bin
        self._bin_seen = []
        for j in range(p):
            lo = np.full(n_bins[j], np.inf)
            hi = np.full(n_bins[j], -np.inf)
            ok = ~np.isnan(Xe[:, j])
            np.minimum.at(lo, idx[ok, j], Xe[ok, j])
            np.maximum.at(hi, idx[ok, j], Xe[ok, j])
            self._bin_seen.append((lo, hi))

        P, N = (sw * y01).sum(), (sw * (1 - y01)).sum()
        prior = np.log((P + _SMOOTH) / (N + _SMOOTH))
        self._stats = []
        woe = []
        for j in range(p):
            pos = np.bincount(idx[:, j], weights=sw * y01, minlength=n_bins[j])
            wt = np.bincount(idx[:, j], weights=sw, minlength=n_bins[j])
            cnt = np.bincount(idx[:, j], minlength=n_bins[j])
            ev = np.bincount(idx[:, j], weights=y01, minlength=n_bins[j])
            w = np.log((pos + _SMOOTH) / (wt - pos + _SMOOTH)) - prior
            woe.append(np.where(cnt > 0, w, 0.0))
            self._stats.append((cnt, ev, wt))
        self._woe = woe

        selected = list(range(p))
        if self.max_features is not None and self.max_features < p:
            selected = self._select(idx, y01, sw, rng)
        while True:
            Z, own, bins_of = self._design(idx, n_bins, selected)
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
        s = self.pdo / np.log(2.0)
        self.points_per_logit_ = float(s)

        logit_points = []
        for f in selected:
            if self.encoding == "woe":
                v = coef[selected.index(f)] * woe[f]
            else:
                v = np.zeros(n_bins[f])
                v[bins_of[f]] = coef[own == f]
                if self.monotonic_cst_[f] != 0:
                    k = n_bins[f] - 1  # value bins; the missing bin is free
                    cnt = self._stats[f][0][:k]
                    v[:k] = isotonic_regression(
                        v[:k],
                        sample_weight=np.maximum(cnt, 1e-9),
                        increasing=bool(self.monotonic_cst_[f] > 0),
                    )
            logit_points.append(v)
        pts = [np.rint(s * v).astype(np.int64) for v in logit_points]
        shift = [int(pt.min()) for pt in pts]
        self._points = [pt - m for pt, m in zip(pts, shift, strict=True)]
        self.base_points_ = int(np.rint(s * float(lr.intercept_[0]))) + int(sum(shift))
        self.term_features_ = [(f,) for f in selected]
        self.term_names_ = [self._feature_name(f) for f in selected]
        total = sw.sum()
        self._means = [
            float((pt[idx[:, f]] * sw).sum() / total)
            for pt, f in zip(self._points, selected, strict=True)
        ]
        self.intercept_ = (self.base_points_ + sum(self._means)) / s
        self.points_table_ = self._make_points_table()
        return self

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

    def _numeric_bins(self, x, y01, sw, j, rng):
        ok = ~np.isnan(x)
        if ok.sum() == 0:
            return np.zeros(0)
        if self.binning == "quantile":
            t = numeric_thresholds(x, self.max_bins, rng)
        else:
            leaf = max(int(np.ceil(self.min_bin_fraction * ok.sum())), 1)
            cst = int(self.monotonic_cst_[j])
            tree = DecisionTreeClassifier(
                max_leaf_nodes=self.max_bins,
                min_samples_leaf=leaf,
                monotonic_cst=[cst] if cst else None,
                random_state=rng.randint(np.iinfo(np.int32).max),
            ).fit(x[ok, None], y01[ok], sample_weight=sw[ok])
            t = np.sort(tree.tree_.threshold[tree.tree_.feature >= 0])
        if self.monotonic_cst_[j] != 0 and t.size:
            b = digitize(x[ok], t)
            pos = np.bincount(b, weights=(sw * y01)[ok], minlength=t.size + 1)
            tot = np.bincount(b, weights=sw[ok], minlength=t.size + 1)
            t = _pav_merge(t, pos, tot, int(self.monotonic_cst_[j]))
        return np.asarray(t, dtype=np.float64)

    def _design(self, idx, n_bins, features):
        """Encoded matrix for ``features``; returns (Z, owner of each column, bins of f)."""
        cols, owner, bins_of = [], [], {}
        for f in features:
            if self.encoding == "woe":
                cols.append(self._woe[f][idx[:, f]][:, None])
                owner.append(f)
            else:
                seen = np.flatnonzero(self._stats[f][0] > 0)
                bins_of[f] = seen
                cols.append((idx[:, f][:, None] == seen[None, :]).astype(np.float64))
                owner += [f] * seen.size
        Z = np.hstack(cols) if cols else np.zeros((idx.shape[0], 0))
        return Z, np.asarray(owner), bins_of

    def _select(self, idx, y01, sw, rng):
        """Features entering first along the L1 path, at most ``max_features``."""
        Z, own, _ = self._design(idx, self._n_bins(), list(range(idx.shape[1])))
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
    def _feature_name(self, j: int) -> str:
        names = getattr(self, "feature_names_in_", None)
        return str(names[j]) if names is not None else f"x{j}"

    def _n_bins(self) -> np.ndarray:
        """Value bins + 1 missing bin per feature."""
        return np.array(
            [
                (len(self.categories_[j]) if t is None else t.size + 1) + 1
                for j, t in enumerate(self.bin_thresholds_)
            ]
        )

    def _digitize(self, Xe):
        out = np.empty(Xe.shape, dtype=np.intp)
        for j, t in enumerate(self.bin_thresholds_):
            if t is None:
                k = len(self.categories_[j])
                col = Xe[:, j]
                out[:, j] = np.where(np.isnan(col), k, np.nan_to_num(col, nan=0)).astype(np.intp)
            else:
                out[:, j] = digitize(Xe[:, j], t)
        return out

    def _bins_frame(self, j):
        if self.is_categorical_[j]:
            cats = [str(c) for c in self.categories_[j]]
            k = len(cats)
            return cats + ["missing"], np.full(k + 1, np.nan), np.full(k + 1, np.nan), cats + [None]
        t = self.bin_thresholds_[j]
        lower = np.concatenate([[-np.inf], t])
        upper = np.concatenate([t, [np.inf]])
        lo, hi = self._bin_seen[j]
        labels = [
            bin_label(a, b, c, d)
            for a, b, c, d in zip(lower, upper, lo[: t.size + 1], hi[: t.size + 1], strict=True)
        ]
        return (
            labels + ["missing"],
            np.append(lower, np.nan),
            np.append(upper, np.nan),
            [None] * (t.size + 2),
        )

    def _make_points_table(self) -> pd.DataFrame:
        parts = []
        for (f,), pts in zip(self.term_features_, self._points, strict=True):
            labels, lower, upper, cats = self._bins_frame(f)
            cnt, ev, _ = self._stats[f]
            parts.append(
                pd.DataFrame(
                    {
                        "feature": self._feature_name(f),
                        "bin": labels,
                        "lower": lower,
                        "upper": upper,
                        "category": cats,
                        "points": pts,
                        "count": cnt.astype(np.int64),
                        "event_rate": np.divide(
                            ev, cnt, out=np.full(cnt.shape, np.nan), where=cnt > 0
                        ),
                        "woe": self._woe[f],
                    }
                )
            )
        out = pd.concat(parts, ignore_index=True)
        for col in ("feature", "bin", "category"):
            out[col] = out[col].astype("str")
        return out

    # ------------------------------------------------------------ saved state
    # What the points, the points table and prediction read, as JSON fields and arrays
    # (RiskModel.save; no pickle). Derived values (points_per_logit_, intercept_,
    # term_names_, points_table_) are recomputed the way fit computes them.
    def _to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """The fitted scorecard as JSON fields and NumPy arrays (see :meth:`_from_state`)."""
        check_is_fitted(self)
        fields, arrays = encoder_state(self)
        fields.update(
            params=params_state(self),
            base_points=int(self.base_points_),
            selected=[int(f) for (f,) in self.term_features_],
        )
        arrays["coef"] = np.asarray(self.coef_, dtype=np.float64)
        arrays["means"] = np.asarray(self._means, dtype=np.float64)
        for j, (cnt, ev, wt) in enumerate(self._stats):
            arrays[f"bin_seen.{j}"] = np.vstack(self._bin_seen[j])
            arrays[f"count.{j}"], arrays[f"events.{j}"], arrays[f"weight.{j}"] = cnt, ev, wt
            arrays[f"woe.{j}"] = self._woe[j]
        for k, pts in enumerate(self._points):
            arrays[f"points.{k}"] = pts
        return fields, arrays

    @classmethod
    def _from_state(cls, fields: dict, arrays, **names) -> ScorecardClassifier:
        """Rebuild a fitted scorecard from :meth:`_to_state` output, checking every field.

        ``names`` (``fields_name``, ``arrays_name``, ``array_prefix``) say where the
        state came from in error messages. Raises ``ValueError`` naming the field that breaks a rule.
        """
        r = StateReader(fields, arrays, **names)
        self = read_params(cls, r)
        set_encoder_state(self, r)
        p = self.n_features_in_
        n_bins = self._n_bins()
        self._bin_seen, self._stats, self._woe = [], [], []
        for j in range(p):
            self._bin_seen.append(read_bin_seen(r, j, n_bins[j]))
            cnt = r.array(f"count.{j}", "iu", (n_bins[j],), low=0)
            ev = r.array(f"events.{j}", "f", (n_bins[j],), low=0)
            wt = r.array(f"weight.{j}", "f", (n_bins[j],), low=0)
            self._stats.append((cnt, ev, wt))
            self._woe.append(r.array(f"woe.{j}", "f", (n_bins[j],)))
        selected = r.int_list("selected", low=0, high=p - 1)
        if not selected or len(set(selected)) != len(selected):
            raise r.fail("selected", "must list distinct feature indices (at least one).")
        self.coef_ = r.array("coef", "f", (None,))
        self._points = [
            r.array(f"points.{k}", "i", (n_bins[f],), low=0) for k, f in enumerate(selected)
        ]
        self._means = [float(m) for m in r.array("means", "f", (len(selected),))]
        self.base_points_ = int(r.number("base_points", integer=True))
        self.term_features_ = [(f,) for f in selected]
        self.term_names_ = [self._feature_name(f) for f in selected]
        s = self.pdo / np.log(2.0)  # as in fit
        self.points_per_logit_ = float(s)
        self.intercept_ = (self.base_points_ + sum(self._means)) / s
        self.points_table_ = self._make_points_table()
        r.finish()
        return self

    def _encode(self, X):
        check_is_fitted(self)
        X, _ = check_X(self, X, reset=False)
        enc = encode(X, self.is_categorical_, self.categories_)
        if enc.n_unknown.any():
            logger.info(
                "unknown categories in %d value(s) scored as missing", int(enc.n_unknown.sum())
            )
        return self._digitize(enc.X)

    # ------------------------------------------------------------ predict
    def _row_points(self, idx) -> np.ndarray:
        out = np.empty((idx.shape[0], len(self._points)), dtype=np.int64)
        for k, ((f,), pts) in enumerate(zip(self.term_features_, self._points, strict=True)):
            out[:, k] = pts[idx[:, f]]
        return out

    def points(self, X) -> pd.DataFrame:
        """Points of every kept feature for each row (the row's line on the card).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features.

        Returns
        -------
        DataFrame of int of shape (n_samples, n_terms)
            Columns follow ``term_names_``; ``base_points_`` plus the row sum is
            :meth:`score_points`.
        """
        idx = self._encode(X)
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(self._row_points(idx), columns=self.term_names_, index=index)

    def score_points(self, X) -> np.ndarray:
        """Total points of each row: ``base_points_`` plus its bins' points.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features.

        Returns
        -------
        ndarray of int64 of shape (n_samples,)
            Total points.
        """
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
        hi = self.base_points_ + int(sum(int(p.max()) for p in self._points))
        pts = np.arange(lo, hi + 1, dtype=np.int64)
        logit = pts / self.points_per_logit_
        return pd.DataFrame({"points": pts, "log_odds": logit, "probability": expit(logit)})

    def contributions(self, X) -> np.ndarray:
        """Per-feature contributions in log-odds, centred on the training mean.

        ``(points - mean training points of the feature) / points_per_logit_``; each
        row sums with ``intercept_`` to the decision function.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features.

        Returns
        -------
        ndarray of shape (n_samples, n_terms)
            Columns follow ``term_names_``.
        """
        pts = self._row_points(self._encode(X))
        return (pts - np.asarray(self._means)[None, :]) / self.points_per_logit_

    def decision_function(self, X) -> np.ndarray:
        """Log-odds from the integer points: ``score_points(X) / points_per_logit_``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features.

        Returns
        -------
        ndarray of shape (n_samples,)
            Log-odds of ``classes_[1]``.
        """
        return self.score_points(X) / self.points_per_logit_
