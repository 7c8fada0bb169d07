"""The drift reference a model stores: shares of its calibration cohort, safe to publish.

Each feature (and the score) splits the calibration children into *cells*: a numeric
feature's missing values then its bins in order, a categorical feature's categories
(``"(missing)"`` is one). A cell of 1 to 9 children (the rule of
:func:`send_early.privacy.is_safe`) would be recoverable from its share and the published
``n_calibration``, so cells are merged until each holds 0 or at least ``MIN_CELL``
children:

- ordered cells (missing, bins): a small cell joins its smaller neighbour (two bins merge
  by dropping the edge between them; the missing cell's only neighbour is the lowest bin);
- categories: small ones pool into ``"(other)"``, and while ``"(other)"`` is itself 1 to 9
  the smallest remaining category joins it.

Every stored share is then a count of 0 or at least ``MIN_CELL`` over the cohort, its
complement is a sum of such counts, and a feature's shares (with ``missing``) add up to 1.
:func:`reference_cells` lays a batch out on the same cells and merges again where the
batch has 1 to 9 children in a cell, so a drift figure never rests on such a group.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..privacy import is_safe

__all__ = ["OTHER", "drift_reference", "reference_cells"]

#: The pooled category: categories with too few children, and any unseen one.
OTHER = "(other)"
_MISSING = "(missing)"


def _merge_ordered(counts) -> list[list[int]]:
    """Contiguous groups of cell indexes whose counts are each 0 or at least MIN_CELL."""
    groups = [[i] for i in range(len(counts))]
    sums = [int(c) for c in counts]
    while len(groups) > 1:
        bad = [i for i, s in enumerate(sums) if not is_safe(s)]
        if not bad:
            break
        i = min(bad, key=lambda j: (sums[j], j))
        left = sums[i - 1] if i > 0 else None
        right = sums[i + 1] if i + 1 < len(sums) else None
        j = i - 1 if right is None or (left is not None and left <= right) else i + 1
        a, b = min(i, j), max(i, j)
        groups[a : b + 1] = [groups[a] + groups[b]]
        sums[a : b + 1] = [sums[a] + sums[b]]
    return groups


def _pool(counts: dict[str, int]) -> dict[str, str]:
    """Category -> kept name or OTHER, so every pooled count is 0 or at least MIN_CELL."""
    to = {k: (k if is_safe(c) and k != OTHER else OTHER) for k, c in counts.items()}
    while True:
        other = sum(c for k, c in counts.items() if to[k] == OTHER)
        kept = [k for k in counts if to[k] != OTHER and counts[k] > 0]
        if is_safe(other) or not kept:
            return to
        to[min(kept, key=lambda k: (counts[k], k))] = OTHER


def _numeric_counts(v: np.ndarray, edges) -> np.ndarray:
    """Children per bin of the non-missing values."""
    v = v[~np.isnan(v)]
    idx = np.searchsorted(np.asarray(edges, float), v, side="right")
    return np.bincount(idx, minlength=len(edges) + 1)


def _ordered_entry(v: np.ndarray, edges: list[float], with_missing: bool) -> dict:
    """Safe edges and shares (of all children) for values ``v`` binned at ``edges``."""
    n = len(v)
    counts = list(_numeric_counts(v, edges))
    if with_missing:
        counts = [int(np.isnan(v).sum()), *counts]
    groups = _merge_ordered(counts)
    off = 1 if with_missing else 0
    pooled = with_missing and len(groups[0]) > 1
    kept = [edges[g[0] - off - 1] for g in groups if g[0] - off - 1 >= 0]
    shares = [float(sum(counts[i] for i in g) / n) for g in groups]
    out = {"edges": [float(e) for e in kept]}
    if not with_missing:
        return out | {"shares": shares}
    if pooled:
        return out | {"shares": shares, "missing": 0.0, "missing_pooled": True}
    return out | {"shares": shares[1:], "missing": shares[0], "missing_pooled": False}


def drift_reference(X: pd.DataFrame, risk, n_bins: int = 10) -> dict:
    """Reference distributions of features and scores for drift checks, safe to publish.

    Categorical features store the share of each category; numeric features the bin edges
    (deciles, merged), the share of children in each bin and the share missing; the score
    the same without missing values. Every share is of all ``len(X)`` children and stands
    for 0 or at least ``MIN_CELL`` of them (see the module docstring for the merging).
    A cohort of 1 to 9 children stores no shares.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from send_early.model import drift_reference
    >>> X = pd.DataFrame({"kind": pd.Categorical(["a"] * 30 + ["b"] * 17 + ["c"] * 3)})
    >>> drift_reference(X, np.linspace(0, 1, 50))["features"]["kind"]["shares"]
    {'a': 0.6, '(other)': 0.4}
    """
    n = len(X)
    ref: dict = {"features": {}, "score": {}}
    qs = np.linspace(0, 1, n_bins + 1)[1:-1]
    for c in X.columns:
        s = X[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            vc = s.astype("object").fillna(_MISSING).astype(str).value_counts()
            counts = {str(k): int(v) for k, v in vc.items()}
            pooled: dict[str, int] = {}
            for k, to in (_pool(counts) if is_safe(n) else {}).items():
                pooled[to] = pooled.get(to, 0) + counts[k]
            shares = {k: v / n for k, v in pooled.items()}
            ref["features"][c] = {"kind": "categorical", "shares": shares}
            continue
        v = s.to_numpy(dtype=float, na_value=np.nan)
        ok = v[~np.isnan(v)]
        edges = np.unique(np.quantile(ok, qs)).tolist() if len(ok) else []
        entry = {"edges": [], "shares": [], "missing": 0.0, "missing_pooled": False}
        if is_safe(n) and n:
            entry = _ordered_entry(v, edges, with_missing=True)
        ref["features"][c] = {"kind": "numeric", **entry}
    risk = np.asarray(risk, float)
    edges = np.unique(np.quantile(risk, qs)).tolist() if len(risk) else []
    safe = is_safe(n) and len(risk)
    ref["score"] = _ordered_entry(risk, edges, False) if safe else {"edges": [], "shares": []}
    return ref


def _layout(entry: dict, values) -> tuple[list[float], list[int]]:
    """Reference shares and batch counts per stored cell (old references read as saved)."""
    if entry.get("kind") == "categorical":
        ref = dict(entry["shares"])
        ref.setdefault(OTHER, 0.0)
        now = pd.Series(values).astype("object").fillna(_MISSING).astype(str)
        now = now.where(now.isin(list(ref)), OTHER).value_counts()
        return list(ref.values()), [int(now.get(k, 0)) for k in ref]
    v = np.asarray(pd.Series(values).to_numpy(dtype=float, na_value=np.nan), float)
    counts = [int(c) for c in _numeric_counts(v, entry["edges"])]
    shares = [float(s) for s in entry["shares"]]
    if entry.get("kind") != "numeric":  # the score: no missing cell
        return shares, counts
    miss = int(np.isnan(v).sum())
    m = float(entry.get("missing", 0.0))
    if entry.get("missing_pooled"):
        return shares, [counts[0] + miss, *counts[1:]]
    if "missing_pooled" not in entry:  # saved before the rule: bin shares of non-missing
        shares = [(1 - m) * s for s in shares]
    return [m, *shares], [miss, *counts]


def reference_cells(entry: dict, values) -> tuple[np.ndarray, np.ndarray]:
    """Reference shares and batch counts on common cells, each batch count 0 or >= MIN_CELL.

    ``entry`` is one feature of ``drift_reference(...)["features"]`` or its ``"score"``;
    ``values`` the batch's values of that feature (or its scores). Batch values in a
    category the reference does not name count as ``"(other)"``; cells holding 1 to 9 of
    the batch's children are merged as in :func:`drift_reference`.

    Examples
    --------
    >>> from send_early.model import reference_cells
    >>> entry = {"kind": "categorical", "shares": {"a": 0.5, "b": 0.5}}
    >>> reference_cells(entry, ["a"] * 20 + ["b"] * 15 + ["z"] * 3)
    (array([0.5, 0.5]), array([20, 18]))
    """
    shares, counts = _layout(entry, values)
    if not shares:
        return np.zeros(0), np.zeros(0, dtype=int)
    if entry.get("kind") == "categorical":
        names = list(dict(entry["shares"]) | {OTHER: 0.0})
        to = _pool(dict(zip(names, counts, strict=True)))
        groups: dict[str, list[int]] = {}
        for i, k in enumerate(names):
            groups.setdefault(to[k], []).append(i)
        merged = list(groups.values())
    else:
        merged = _merge_ordered(counts)
    e = np.array([sum(shares[i] for i in g) for g in merged], dtype=float)
    a = np.array([sum(counts[i] for i in g) for g in merged], dtype=int)
    return e, a
