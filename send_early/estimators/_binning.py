"""Binning shared by both estimators (private).

One rule for every feature: a numeric feature with thresholds ``t`` has ``len(t) + 1``
value bins (``t[k-1] < x <= t[k]``), a categorical feature one value bin per category
(bin ``k`` is category ``k``), and either way one missing bin comes last, at index
``n_value_bins[j]``; a table over feature ``j`` has ``n_value_bins[j] + 1`` entries. Unknown
categories fall in the missing bin. This is the rule of scikit-learn's ``_BinMapper``
(``n_bins_non_missing_``, missing bin last).

How thresholds are learned differs by estimator (quantiles for the additive model;
supervised tree bins or quantiles for the scorecard); both are here, and :class:`Binner`
holds the result.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

from ..privacy import MIN_CELL

__all__ = [
    "PSEUDO_COUNT",
    "Binner",
    "bin_label",
    "digitize",
    "numeric_thresholds",
    "pav_merge",
    "supervised_thresholds",
]

PSEUDO_COUNT = 0.5  # events and non-events added to every bin's event rate


def numeric_thresholds(x: np.ndarray, max_bins: int, rng, subsample: int = 200_000):
    """Bin thresholds for one numeric column (NaN ignored), as in HGB's binner.

    With at most ``max_bins`` distinct values the thresholds are the midpoints between
    consecutive values (one bin per value); otherwise they are quantiles.
    """
    x = x[~np.isnan(x)]
    if x.size > subsample:
        x = rng.choice(x, subsample, replace=False)
    distinct = np.unique(x)
    if distinct.size <= max_bins:
        return (distinct[:-1] + distinct[1:]) / 2.0
    q = np.linspace(0, 100, max_bins + 1)[1:-1]
    return np.unique(np.percentile(x, q, method="midpoint"))


def supervised_thresholds(x, y01, sw, *, method, max_bins, min_fraction, cst, rng):
    """Thresholds of a scorecard feature: quantiles, or the splits of a small tree.

    ``method`` is ``"quantile"`` or ``"tree"`` (at most ``max_bins`` leaves of at least
    ``min_fraction`` of the non-missing rows). With a monotonic constraint ``cst`` (+1/-1)
    adjacent bins are then merged until their event rates follow it.
    """
    ok = ~np.isnan(x)
    if ok.sum() == 0:
        return np.zeros(0)
    if method == "quantile":
        t = numeric_thresholds(x, max_bins, rng)
    else:
        leaf = max(int(np.ceil(min_fraction * ok.sum())), 1)
        tree = DecisionTreeClassifier(
            max_leaf_nodes=max_bins,
            min_samples_leaf=leaf,
            monotonic_cst=[cst] if cst else None,
            random_state=rng.randint(np.iinfo(np.int32).max),
        ).fit(x[ok, None], y01[ok], sample_weight=sw[ok])
        t = np.sort(tree.tree_.threshold[tree.tree_.feature >= 0])
    if cst != 0 and t.size:
        b = digitize(x[ok], t)
        pos = np.bincount(b, weights=(sw * y01)[ok], minlength=t.size + 1)
        tot = np.bincount(b, weights=sw[ok], minlength=t.size + 1)
        t = pav_merge(t, pos, tot, cst)
    return np.asarray(t, dtype=np.float64)


def pav_merge(thresholds, pos, tot, direction):
    """Merge adjacent numeric bins until event rates follow ``direction`` (+1/-1)."""
    t = list(thresholds)
    pos, tot = list(pos), list(tot)
    changed = True
    while changed and len(tot) > 1:
        changed = False
        rate = [(p + PSEUDO_COUNT) / (n + 2 * PSEUDO_COUNT) for p, n in zip(pos, tot, strict=True)]
        for k in range(len(rate) - 1):
            if direction * (rate[k + 1] - rate[k]) < 0:
                pos[k] += pos.pop(k + 1)
                tot[k] += tot.pop(k + 1)
                t.pop(k)
                changed = True
                break
    return np.asarray(t, dtype=np.float64)


def digitize(x: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Bin index of each value: ``k`` for ``t[k-1] < x <= t[k]``; missing -> ``len(t)+1``."""
    # NaN sorts after +inf: one search over the edges and +inf puts values above the last
    # edge in bin len(t) and NaN in bin len(t) + 1, with no second pass for the missing
    return np.searchsorted(np.append(thresholds, np.inf), x, side="left")


def bin_label(lower: float, upper: float, lo_seen: float, hi_seen: float) -> str:
    """Readable label of a numeric bin ``(lower, upper]``."""
    if np.isfinite(lo_seen) and lo_seen == hi_seen:
        return f"{lo_seen:g}"
    if not np.isfinite(lower) and not np.isfinite(upper):
        return "all"
    if not np.isfinite(lower):
        return f"<= {upper:g}"
    if not np.isfinite(upper):
        return f"> {lower:g}"
    return f"({lower:g}, {upper:g}]"


class Binner:
    """The fitted bins of every feature (see the module docstring for the rule).

    Parameters
    ----------
    thresholds : list of ndarray or None
        Per feature, the upper edges of its value bins; ``None`` for a categorical one.
    categories : list of ndarray or None
        Per feature, its categories; ``None`` for a numeric one.
    seen : list of (ndarray, ndarray) or None
        Per numeric feature and value bin, its one training value twice where the bin holds a
        single value shared by at least ``MIN_CELL`` training rows (labelled ``30`` rather
        than ``(27.5, 32.5]``), else ``+inf``/``-inf``; ``None`` for a categorical one.
    """

    def __init__(self, thresholds: list, categories: list, seen: list):
        self.thresholds = thresholds
        self.categories = categories
        self.seen = seen
        self.n_value_bins = np.array(
            [
                len(c) if t is None else t.size + 1
                for t, c in zip(thresholds, categories, strict=True)
            ]
        )

    @classmethod
    def fit(cls, Xe: np.ndarray, thresholds: list, categories: list) -> tuple[Binner, np.ndarray]:
        """The binner of encoded training rows ``Xe`` and their bin indices."""
        binner = cls(thresholds, categories, [None] * len(thresholds))
        idx = binner.transform(Xe)
        n_bins = binner.n_value_bins
        for j, t in enumerate(thresholds):
            if t is None:
                continue
            ok = idx[:, j] < n_bins[j]
            lo = np.full(n_bins[j], np.inf)
            hi = np.full(n_bins[j], -np.inf)
            np.minimum.at(lo, idx[ok, j], Xe[ok, j])
            np.maximum.at(hi, idx[ok, j], Xe[ok, j])
            # kept (and saved) only where a label needs it: a bin holding one value, shared by
            # at least MIN_CELL training rows; elsewhere the extremes could be one child's values
            rows = np.bincount(idx[ok, j], minlength=n_bins[j])
            single = (lo == hi) & (rows >= MIN_CELL)
            binner.seen[j] = (np.where(single, lo, np.inf), np.where(single, hi, -np.inf))
        return binner, idx

    def transform(self, Xe: np.ndarray) -> np.ndarray:
        """Bin index of every value of ``Xe`` (numeric values, categorical codes, NaN)."""
        out = np.empty(Xe.shape, dtype=np.intp, order="F")
        for j, t in enumerate(self.thresholds):
            if t is None:
                k = len(self.categories[j])
                col = Xe[:, j]
                out[:, j] = np.where(np.isnan(col), k, np.nan_to_num(col, nan=0)).astype(np.intp)
            else:
                out[:, j] = digitize(Xe[:, j], t)
        return out

    def bins(self, j: int) -> pd.DataFrame:
        """Bins of feature ``j`` (value bins, then missing): bin, lower, upper, category."""
        t = self.thresholds[j]
        if t is None:
            cats = [str(c) for c in self.categories[j]]
            k = len(cats)
            return pd.DataFrame(
                {
                    "bin": cats + ["missing"],
                    "lower": np.full(k + 1, np.nan),
                    "upper": np.full(k + 1, np.nan),
                    "category": cats + [None],
                }
            )
        lower = np.concatenate([[-np.inf], t])
        upper = np.concatenate([t, [np.inf]])
        lo, hi = self.seen[j]
        labels = [bin_label(a, b, c, d) for a, b, c, d in zip(lower, upper, lo, hi, strict=True)]
        return pd.DataFrame(
            {
                "bin": labels + ["missing"],
                "lower": np.append(lower, np.nan),
                "upper": np.append(upper, np.nan),
                "category": [None] * (t.size + 2),
            }
        )

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The arrays saved with a model: edges and observed ranges of numeric features."""
        arrays = {}
        for j, (t, seen) in enumerate(zip(self.thresholds, self.seen, strict=True)):
            if t is not None:
                arrays[f"bin_thresholds.{j}"] = np.asarray(t, dtype=np.float64)
                arrays[f"bin_seen.{j}"] = np.vstack(seen)
        return arrays
