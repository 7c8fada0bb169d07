"""The additive model's tables: read from the engines, purified, projected (private).

A term is a feature or a pair of features (indices in the estimator's order); its table
holds one log-odds value per bin, or per cell of a pair, the missing bin last. A row's
raw prediction is the intercept plus one look-up per term.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.isotonic import isotonic_regression

__all__ = [
    "cell_stats",
    "engine_raw",
    "engine_tables",
    "log_loss",
    "project_monotone",
    "purify_and_centre",
    "row_log_loss",
    "shape_frame",
    "table_raw",
    "term_lookups",
]


def engine_tables(engines, terms, n_bins, order):
    """Average intercept and per-term tables of engines whose trees use one term per path.

    ``terms`` are tuples of feature indices in the estimator's (not the engine's) order;
    ``order`` maps engine columns to features. Every tree is evaluated on every bin (or
    cell), so a row's raw prediction is exactly the intercept plus its cells' values.
    """
    p = len(n_bins)
    tables = [np.zeros([n_bins[j] + 1 for j in t]) for t in terms]
    where = {t: k for k, t in enumerate(terms)}
    grids = {}
    for t in terms:
        axes = [np.append(np.arange(n_bins[j], dtype=np.float64), np.nan) for j in t]
        mesh = np.meshgrid(*axes, indexing="ij")
        G = np.full((mesh[0].size, p), np.nan)
        for j, m in zip(t, mesh, strict=True):
            G[:, j] = m.ravel()
        grids[t] = G
    const = 0.0
    for engine in engines:
        const += engine.baseline()
        # the engine reads its columns in engine order, categorical codes re-encoded:
        # every grid goes through one transform, stacked (the per-call overhead dominates)
        stacked = engine.encode(np.vstack(list(grids.values()))[:, order])
        ends = np.cumsum([G.shape[0] for G in grids.values()])
        engine_grids = dict(zip(grids, np.split(stacked, ends[:-1]), strict=True))
        for part in engine.tree_parts():
            if not part.features:
                const += part.constant
                continue
            term = tuple(sorted(int(order[f]) for f in part.features))
            k = where.get(term)
            if k is None:  # pragma: no cover - interaction_cst forbids this
                raise RuntimeError(f"tree path uses features {term} outside the terms")
            tables[k] += part.predict(engine_grids[term]).reshape(tables[k].shape)
    nb = len(engines)
    return const / nb, [t / nb for t in tables]


def table_raw(const, terms, tables, idx):
    """Raw predictions of rows given by their bin indices (``idx``, the estimator's
    feature order): the intercept plus a look-up per term."""
    raw = np.full(idx.shape[0], const)
    for term, tab in zip(terms, tables, strict=True):
        raw += tab[tuple(idx[:, j] for j in term)]
    return raw


def term_lookups(terms, tables, idx) -> np.ndarray:
    """Every term's contribution to each row given by its bin indices (rows x terms)."""
    # one contiguous row per term, returned transposed (column-major): filling and later
    # per-term (column) work stay contiguous, and pandas wraps it without a copy
    out = np.empty((len(tables), idx.shape[0]))
    cols = np.asfortranarray(idx)
    for k, (t, tab) in enumerate(zip(terms, tables, strict=True)):
        if len(t) == 1:
            np.take(tab, cols[:, t[0]], out=out[k])
        else:
            np.take(tab.ravel(), cols[:, t[0]] * tab.shape[1] + cols[:, t[1]], out=out[k])
    return out.T


def engine_raw(engine, terms, n_bins, order, idx):
    """One engine's raw predictions for rows given by their bin indices, from its tables."""
    const, tables = engine_tables([engine], terms, n_bins, order)
    return table_raw(const, terms, tables, idx)


def row_log_loss(y01, prob):
    """Log-loss of every row: ``sklearn.metrics.log_loss``'s formula (probabilities
    clipped to [eps, 1 - eps]) without its input checks, which cost more than the sum
    on the screen's and the smoother's many calls."""
    eps = np.finfo(np.float64).eps
    q = np.clip(prob, eps, 1 - eps)
    return -(y01 * np.log(q) + (1 - y01) * np.log(1 - q))


def log_loss(y01, prob, sw):
    """Weighted mean log-loss of probabilities ``prob`` (see ``row_log_loss``)."""
    return float(np.average(row_log_loss(y01, prob), weights=sw))


def cell_stats(idx, y01, sw, terms, tables):
    """Weights, row counts and events of every cell of every term, from training rows."""
    w_tabs, c_tabs, e_tabs = [], [], []
    for t, tab in zip(terms, tables, strict=True):
        if len(t) == 1:
            cell = idx[:, t[0]]
        else:
            cell = idx[:, t[0]] * tab.shape[1] + idx[:, t[1]]
        size = tab.size
        w_tabs.append(np.bincount(cell, weights=sw, minlength=size).reshape(tab.shape))
        c_tabs.append(np.bincount(cell, minlength=size).reshape(tab.shape))
        e_tabs.append(np.bincount(cell, weights=y01, minlength=size).reshape(tab.shape))
    return w_tabs, c_tabs, e_tabs


def purify_and_centre(tables, terms, w_tabs, const):
    """Move pair tables' row and column means to the mains, then centre every term.

    The means are taken under the product of the two features' training distributions,
    so a row mean is a fixed weighted average of the pair table's columns: where the pair
    (plus its share of the main) is monotone along a constrained feature for every bin of
    the other one, the main table that receives the row means stays monotone too. One
    pass is exact under product weights. Every term is then centred on its training mean
    (moved to ``const``).
    """
    tables = list(tables)
    for k, t in enumerate(terms):
        if len(t) != 2:
            continue
        i, j = t
        W = w_tabs[k]
        rw, cw = W.sum(1), W.sum(0)
        T = tables[k]
        r = T @ cw / cw.sum()
        T = T - r[:, None]
        c = rw @ T / rw.sum()
        tables[k] = T - c[None, :]
        tables[i] = tables[i] + r
        tables[j] = tables[j] + c
    for k, (tab, W) in enumerate(zip(tables, w_tabs, strict=True)):
        m = float((tab * W).sum() / W.sum())
        tables[k] = tab - m
        const += m
    return tables, const


def _isotonic_lines(T, W, sign):
    """Weighted isotonic regression of every column of ``T[:-1]`` (value bins; the
    last row is the missing bin and stays free), increasing if ``sign > 0``."""
    out = T.copy()
    for c in range(T.shape[1]):
        out[:-1, c] = isotonic_regression(
            T[:-1, c], sample_weight=W[:-1, c] + 1e-9, increasing=bool(sign > 0)
        )
    return out


def project_monotone(tables, terms, w_tabs, cst, passes=3):
    """Project constrained shapes onto monotone ones (``monotonic_method="isotonic"``).

    A constrained feature's own table is moved in equal shares into the pairs that
    contain it, so the model is monotone in the feature as soon as each of those pair
    tables is monotone along it for every bin of the other feature (a sum of monotone
    functions is monotone); a feature in no pair is projected directly. A pair
    constrained along both features is projected along each in turn, then a running
    maximum (or minimum) along the first makes it exactly monotone along both: the
    running maximum of lines that are monotone along the second feature in the same
    direction stays monotone along it.
    """
    tables = [t.copy() for t in tables]
    n_pairs = np.zeros(len(cst), dtype=int)
    for t in terms:
        if len(t) == 2:
            n_pairs[list(t)] += 1
    for k, t in enumerate(terms):
        if len(t) == 2:
            for ax, f in enumerate(t):
                if cst[f] and n_pairs[f]:
                    share = tables[f] / n_pairs[f]
                    tables[k] = tables[k] + (share[:, None] if ax == 0 else share[None, :])
    for k, t in enumerate(terms):
        if len(t) == 1 and cst[t[0]]:
            f = t[0]
            if n_pairs[f]:
                tables[k] = np.zeros_like(tables[k])
            else:
                tables[k] = _isotonic_lines(tables[k][:, None], w_tabs[k][:, None], cst[f])[:, 0]
    for k, t in enumerate(terms):
        if len(t) != 2 or not (cst[t[0]] or cst[t[1]]):
            continue
        T, W = tables[k], w_tabs[k]
        for _ in range(passes if cst[t[0]] and cst[t[1]] else 1):
            if cst[t[0]]:
                T = _isotonic_lines(T, W, cst[t[0]])
            if cst[t[1]]:
                T = _isotonic_lines(T.T, W.T, cst[t[1]]).T
        if cst[t[0]] and cst[t[1]]:
            vals = T[:-1] if cst[t[0]] > 0 else T[-2::-1]
            vals = np.maximum.accumulate(vals, axis=0)
            T = T.copy()
            T[:-1] = vals if cst[t[0]] > 0 else vals[::-1]
        tables[k] = T
    return tables


_SHAPE_COLUMNS = [
    "term",
    "feature",
    "bin",
    "lower",
    "upper",
    "category",
    "feature_2",
    "bin_2",
    "lower_2",
    "upper_2",
    "category_2",
    "contribution",
    "count",
    "event_rate",
]


def shape_frame(terms, term_names, tables, counts, events, bins, name) -> pd.DataFrame:
    """Every term's table as one tidy frame (see ``AdditiveRiskClassifier.shape_tables``).

    ``bins(j)`` gives feature ``j``'s bins (``Binner.bins``), ``name(j)`` its name.
    """
    parts = []
    for k, t in enumerate(terms):
        count = counts[k].ravel()
        rate = np.divide(
            events[k].ravel(), count, out=np.full(count.shape, np.nan), where=count > 0
        )
        first = bins(t[0])
        if len(t) == 1:
            df = first.copy()
            df.insert(0, "feature", name(t[0]))
            for col in ("feature_2", "bin_2", "category_2"):
                df[col] = None
            df["lower_2"] = np.nan
            df["upper_2"] = np.nan
        else:
            second = bins(t[1])
            a = np.repeat(np.arange(len(first)), len(second))
            b = np.tile(np.arange(len(second)), len(first))
            df = first.iloc[a].reset_index(drop=True)
            df.insert(0, "feature", name(t[0]))
            df["feature_2"] = name(t[1])
            s2 = second.iloc[b].reset_index(drop=True)
            for col in ("bin", "lower", "upper", "category"):
                df[f"{col}_2"] = s2[col]
        df.insert(0, "term", term_names[k])
        df["contribution"] = tables[k].ravel()
        df["count"] = count.astype(np.int64)
        df["event_rate"] = rate
        parts.append(df)
    out = pd.concat([p[_SHAPE_COLUMNS] for p in parts], ignore_index=True)
    for col in ("term", "feature", "bin", "category", "feature_2", "bin_2", "category_2"):
        out[col] = out[col].astype("str")
    return out
