"""Smoothing of the additive model's numeric shapes after boosting (private).

Each bag's tables are smoothed along every finely measured numeric feature by a
local-linear smoother over the bins, with a half-width counted in shares of the training
rows; each bag chooses its half-width by the log-loss on its own early-stopping rows.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from ._tables import engine_tables, log_loss, table_raw

__all__ = ["SMOOTHING_WIDTHS", "local_linear", "smooth_table", "smoothed_tables"]

# half-widths a bag chooses from, as shares of the training rows
SMOOTHING_WIDTHS = (0.0, 0.01, 0.02, 0.04, 0.08, 0.16)
# features with fewer value bins (scores, ratings, deciles) are not smoothed: their values
# are few and often meaningful, and a rare extreme (an ASQ score far below the cut-off)
# would be pulled towards the bulk of the rows
SMOOTHING_MIN_BINS = 32


def local_linear(weights, width):
    """Matrix of a local-linear smoother over ordered bins (a row per output bin).

    The bins sit at their mid-rank (the share of training rows below the bin plus half
    its own), and bin ``k`` is the weighted least-squares line through the bins within
    ``width`` of it (weights: the rows in each bin), read at ``k``. A line, unlike a
    moving average, follows a trend to the ends of the range; bins wider than the
    window keep their own value (a step at a meaningful cut-off stays a step).
    """
    w = np.asarray(weights, dtype=np.float64) + 1e-12
    c = (np.cumsum(w) - w / 2) / w.sum()
    K = (np.abs(c[:, None] - c[None, :]) <= width + 1e-12) * w[None, :]
    s0, s1, s2 = K.sum(1), K @ c, K @ (c * c)
    det = s0 * s2 - s1 * s1
    line = det > 1e-9 * s0 * s0
    L = K / s0[:, None]
    Kl = K[line]
    L[line] = (
        Kl
        * (
            s2[line, None]
            - s1[line, None] * c[None, :]
            + c[line, None] * (s0[line, None] * c - s1[line, None])
        )
        / det[line, None]
    )
    return L


def smooth_table(tab, term, smoothers):
    """A term's table smoothed along each of its numeric axes (value bins only; the
    missing bin keeps its value). ``smoothers`` maps a feature to its matrix, or has
    no entry for features not smoothed."""
    out = tab
    for axis, j in enumerate(term):
        L = smoothers.get(j)
        if L is None:
            continue
        out = np.moveaxis(out, axis, 0).copy()
        out[:-1] = np.tensordot(L, out[:-1], axes=1)
        out = np.moveaxis(out, 0, axis)
    return out


def smoothed_tables(
    engines, val_rows, idx, y01, sw, terms, n_bins, order, *, smoothing, is_categorical, frozen
):
    """Average of the bags' tables, each smoothed with its own half-width.

    ``smoothing`` is ``"auto"`` (each bag picks among ``SMOOTHING_WIDTHS`` by the
    log-loss on its validation rows ``val_rows``; no smoothing without them) or a fixed
    half-width. Terms in ``frozen`` are left as boosted. Returns the intercept, the
    tables and each bag's half-width.
    """
    p = idx.shape[1]
    weights = [np.bincount(idx[:, j], weights=sw, minlength=n_bins[j] + 1) for j in range(p)]
    numeric = [j for j in range(p) if not is_categorical[j] and n_bins[j] >= SMOOTHING_MIN_BINS]
    cache = {}

    def smoothed(tables, width):
        if width not in cache:
            cache[width] = {j: local_linear(weights[j][: n_bins[j]], width) for j in numeric}
        return [
            tab if k in frozen else smooth_table(tab, t, cache[width])
            for k, (t, tab) in enumerate(zip(terms, tables, strict=True))
        ]

    def loss(c, tables, rows):
        raw = table_raw(c, terms, tables, idx[rows])
        return log_loss(y01[rows], expit(raw), sw[rows])

    candidates = SMOOTHING_WIDTHS if smoothing == "auto" else (float(smoothing),)
    const, total, widths = 0.0, None, []
    for engine, rows in zip(engines, val_rows, strict=True):
        c, tables = engine_tables([engine], terms, n_bins, order)
        if len(candidates) == 1:
            width = candidates[0]
        elif rows is None or not numeric:
            width = 0.0
        else:
            losses = [loss(c, smoothed(tables, h) if h else tables, rows) for h in candidates]
            width = candidates[int(np.argmin(losses))]  # ties: the narrowest
        widths.append(width)
        if width:
            tables = smoothed(tables, width)
        const += c
        total = tables if total is None else [a + b for a, b in zip(total, tables, strict=True)]
    nb = len(engines)
    return const / nb, [t / nb for t in total], np.array(widths)
