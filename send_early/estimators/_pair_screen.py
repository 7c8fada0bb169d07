"""The additive model's pair screen: which feature pairs get a term (private).

Residuals come from a quick main-effects model on rows it was not fitted on. Every pair
of features is coarsened to grids of 2, 4 and at most ``_SCREEN_GROUPS`` groups per
feature (quantile groups, the most common categories, plus a missing group), and the
second-order gain of a full two-way table over an additive (row + column) table is
computed from the residual gradients and hessians. Under "no interaction" twice that gain
is about chi-squared with ``(rows - 1) x (columns - 1)`` degrees of freedom, so pairs are
ranked by their smallest p-value over the grids (times the number of grids), and those
below a Bonferroni-corrected level (``screen_alpha``) are kept, strongest first. A
held-out check then keeps them only if a quick model with them predicts rows neither
model was fitted on better than one without them, by more than the rows' noise.

With rows to spare (``n >= 2 * _SCREEN_ROWS``) or many pairs (rows x pairs above
``_CROSSFIT_PAIR_ROWS``) the quick model is fitted on one part of the rows, the pairs are
tested on a second and the check uses a third. Otherwise the rows are cut in
``_SCREEN_FOLDS`` folds, each fold's residuals come from the quick model fitted on the
others (cross-fitting, so every row is tested), and two steps are added: a pair that
shares a feature with a stronger one is tested again once the strongest disjoint pairs
are in the quick model, and when places are left a global test asks whether the other
pairs carry signal together; if so the places go to the next pairs by rank, all of them
if one fold's quick model with them has any held-out gain, else none.
"""

from __future__ import annotations

import itertools
import logging
import numbers
from typing import NamedTuple

import numpy as np
from scipy.special import expit
from scipy.stats import chi2, norm

from ._engine import Engine, engine_weights
from ._tables import engine_raw, row_log_loss

__all__ = ["Levels", "given_pairs", "paired_gain", "pair_statistics", "screen_pairs"]

logger = logging.getLogger(__name__)

_SCREEN_ROWS = 50_000
_SCREEN_TEST_ROWS = 200_000
_SCREEN_GROUPS = 12
_SCREEN_RESOLUTIONS = (2, 4)
_BACKFIT_ITER = 30
_SCREEN_CELL_ROWS = 25
_SCREEN_PRIOR_ROWS = 2.0
_SCREEN_FOLDS = 3
_SCREEN_PATIENCE = 10
_CROSSFIT_PAIR_ROWS = 5_000_000


class Levels(NamedTuple):
    """The screen's budget and levels (the estimator's parameters of the same names)."""

    n_interactions: int
    screen_alpha: float
    global_alpha: float
    check_alpha: float


class Gain(NamedTuple):
    """A held-out log-loss gain (weighted mean over rows), its standard error and the
    log p-value of the one-sided test that it is positive."""

    gain: float
    se: float
    logp: float


class QuickModels(NamedTuple):
    """The screen's quick models (one per fold) and the terms they may use."""

    models: list
    terms: list


def given_pairs(interactions, p: int, feature_names) -> list[tuple[int, int]]:
    """The ``interactions`` parameter as sorted index pairs (names need ``feature_names``)."""
    names = [] if feature_names is None else [str(n) for n in feature_names]
    pairs = []
    for pair in interactions:
        if isinstance(pair, str) or len(pair) != 2:
            raise ValueError(f"interactions must be pairs of features; found {pair!r}.")
        ij = []
        for f in pair:
            if isinstance(f, str):
                if f not in names:
                    raise ValueError(
                        f"interactions name {f!r} is not a feature of X"
                        + ("" if names else " (feature names need a DataFrame)")
                        + "."
                    )
                ij.append(names.index(f))
            elif isinstance(f, numbers.Integral) and 0 <= f < p:
                ij.append(int(f))
            else:
                raise ValueError(
                    f"interactions entries must be feature names or indices in "
                    f"[0, {p - 1}]; found {f!r}."
                )
        if ij[0] == ij[1]:
            raise ValueError(f"an interaction needs two different features; found {pair!r}.")
        pr = (min(ij), max(ij))
        if pr not in pairs:
            pairs.append(pr)
    return pairs


def paired_gain(loss_without, loss_with, sw) -> Gain:
    """One-sided paired test that per-row log-losses ``loss_with`` are lower on average.

    The gain is the weighted mean of the per-row differences, its standard error the
    weighted spread of the differences over the rows (``std / sqrt(n)`` with equal
    weights), and ``gain / se`` is compared with the standard normal (the screen checks
    at least 50 rows, usually thousands, so a t reference would change nothing).
    """
    w = sw / sw.sum()
    d = loss_without - loss_with
    gain = float(w @ d)
    se = float(np.sqrt(w**2 @ (d - gain) ** 2))
    if se > 0:
        logp = float(norm.logsf(gain / se))
    else:
        logp = -np.inf if gain > 0 else 0.0
    return Gain(gain, se, logp)


def _chi2_logsf(stat, df):
    """Log upper tail of chi-squared; ``inf`` where there are no degrees of freedom."""
    out = np.full(stat.size, np.inf)
    pos = df > 0
    out[pos] = chi2.logsf(stat[pos], df[pos])
    return out


def _coarse_groups(idx, K, n_bins, is_categorical):
    """Every value's group on a grid of ``K`` groups per feature, missing as group ``K``:
    quantile groups of a numeric feature, the ``K - 1`` commonest categories plus one."""
    coarse = np.empty(idx.shape, dtype=np.intp)
    for j in range(idx.shape[1]):
        col = idx[:, j]
        counts = np.bincount(col, minlength=n_bins[j] + 1)[: n_bins[j]]
        if is_categorical[j]:
            order = np.argsort(-counts, kind="stable")
            lut = np.full(n_bins[j] + 1, K - 1)
            lut[order[: K - 1]] = np.arange(min(K - 1, order.size))
        else:
            before = np.concatenate([[0], np.cumsum(counts)[:-1]]) / max(counts.sum(), 1)
            lut = np.append(np.minimum((before * K).astype(np.intp), K - 1), 0)
        lut[n_bins[j]] = K  # missing group
        coarse[:, j] = lut[col]
    return coarse


def pair_statistics(idx, g, h, lam, K, n_bins, is_categorical):
    """Interaction statistic (twice the gain over row + column effects) and degrees of
    freedom of every pair, on a grid of ``K`` groups per feature plus missing."""
    p = idx.shape[1]
    G1 = K + 1
    coarse = _coarse_groups(idx, K, n_bins, is_categorical)
    # groups present per feature, for the degrees of freedom (r - 1)(c - 1)
    present = np.array([np.unique(coarse[:, j]).size for j in range(p)])
    stats, dfs = [], []
    for i in range(p - 1):
        # every pair (i, j > i) at once: one bincount over a block of cells
        m = p - 1 - i
        cell = (coarse[:, i, None] * G1 + coarse[:, i + 1 :]) + np.arange(m) * G1 * G1
        Gc = np.bincount(cell.ravel(), np.repeat(g, m), m * G1 * G1).reshape(m, G1, G1)
        Hc = np.bincount(cell.ravel(), np.repeat(h, m), m * G1 * G1).reshape(m, G1, G1)
        Hc += lam
        full = 0.5 * (Gc**2 / Hc).sum(axis=(1, 2))
        a = np.zeros((m, G1))
        b = np.zeros((m, G1))
        for _ in range(_BACKFIT_ITER):
            a = (Gc - Hc * b[:, None, :]).sum(2) / Hc.sum(2)
            b = (Gc - Hc * a[:, :, None]).sum(1) / Hc.sum(1)
        f = a[:, :, None] + b[:, None, :]
        additive = (Gc * f - 0.5 * Hc * f**2).sum(axis=(1, 2))
        stats.append(2 * np.maximum(full - additive, 0))
        dfs.append((present[i] - 1) * (present[i + 1 :] - 1))
    return np.concatenate(stats), np.concatenate(dfs)


def _split(n, n_pairs, quick, rng):
    """The screen's (fit rows, test rows) folds and check folds, and its quick settings.

    With rows to spare or many pairs: one part to fit, a second to test, a third to
    check. Otherwise three folds, the quick model fitted on two giving the residuals of
    the third (cross-fitting), and the check compares out-of-fold predictions on every
    row; not on wide data, where the cost grows with rows x pairs and the global test
    would sum many pair statistics that share correlated features as if independent.
    """
    perm = rng.permutation(n)
    if n // 2 >= _SCREEN_ROWS or n * n_pairs > _CROSSFIT_PAIR_ROWS:
        n_fit = min(n // 2, _SCREEN_ROWS)
        fit_rows = np.sort(perm[:n_fit])
        rest = perm[n_fit:]
        n_test = min(rest.size // 2, _SCREEN_TEST_ROWS)
        folds = [(fit_rows, np.sort(rest[:n_test]))]
        checks = [(fit_rows, np.sort(rest[n_test : 2 * n_test]))]
        return folds, checks, quick
    parts = [np.sort(perm[k::_SCREEN_FOLDS]) for k in range(_SCREEN_FOLDS)]
    folds = [
        (np.sort(np.concatenate(parts[:k] + parts[k + 1 :])), parts[k])
        for k in range(_SCREEN_FOLDS)
    ]
    quick = dict(quick, n_iter_no_change=min(quick["n_iter_no_change"], _SCREEN_PATIENCE))
    return folds, folds, quick


class _Screen:
    """The data, folds and quick models of one screen, and the tests run on them."""

    def __init__(self, Xb, idx, y01, sw, quick, folds, checks, seed, n_bins, order, is_cat):
        self.Xb, self.idx, self.y01, self.sw = Xb, idx, y01, sw
        self.quick, self.folds, self.checks, self.seed = quick, folds, checks, seed
        self.n_bins, self.order, self.is_cat = n_bins, order, is_cat
        self.inv = np.argsort(order)
        p = Xb.shape[1]
        self.main_terms = [(j,) for j in range(p)]
        self.pairs = np.array(list(itertools.combinations(range(p), 2)))
        self.rows = np.concatenate([t for _, t in folds])
        self.check_rows = np.concatenate([t for _, t in checks])
        self.rows_idx = idx[self.rows]
        # at most _SCREEN_GROUPS groups per feature, fewer on small data so that a
        # two-way table keeps about _SCREEN_CELL_ROWS rows per cell on average; a coarse
        # grid (2 x 2 plus missing) has the power for step-like interactions, a fine one
        # for curved ones: each pair keeps its smallest p-value over the resolutions,
        # Bonferroni-corrected for their number
        k_max = int(np.clip(np.sqrt(self.rows.size / _SCREEN_CELL_ROWS) - 1, 2, _SCREEN_GROUPS))
        self.resolutions = sorted({k for k in _SCREEN_RESOLUTIONS if k < k_max} | {k_max})
        self._held_out = {}

    def as_pairs(self, keep) -> list[tuple[int, int]]:
        return [(int(self.pairs[k, 0]), int(self.pairs[k, 1])) for k in keep]

    def fit_quick(self, chosen, folds=None, interaction_cst=None) -> QuickModels:
        """Quick models with the main effects and the pairs ``chosen``, one per fold."""
        p = self.Xb.shape[1]
        inv = self.inv
        if interaction_cst is None:
            interaction_cst = [[j] for j in range(p)] + [
                [int(inv[i]), int(inv[j])] for i, j in chosen
            ]
        models = [
            Engine(interaction_cst=interaction_cst, random_state=self.seed, **self.quick).fit(
                self.Xb[f], self.y01[f], sample_weight=engine_weights(self.sw, f)
            )
            for f, _ in (self.checks if folds is None else folds)
        ]
        return QuickModels(models, self.main_terms + [tuple(pr) for pr in chosen])

    def held_out_prob(self, models: QuickModels, parts) -> np.ndarray:
        """Each quick model's probabilities on the rows it was not fitted on (computed
        once: when cross-fitting, the check's rows are the test's)."""
        key = (id(models), id(parts))
        if key not in self._held_out:
            # the entry keeps the models alive, so their id is not reused meanwhile
            self._held_out[key] = (models, self._predict_held_out(models, parts))
        return self._held_out[key][1]

    def _predict_held_out(self, models: QuickModels, parts) -> np.ndarray:
        terms, n_bins = models.terms, self.n_bins
        cells = sum(int(np.prod([n_bins[j] + 1 for j in t])) for t in terms)
        out = []
        for m, (_, t) in zip(models.models, parts, strict=True):
            if cells > t.size:
                out.append(m.predict_proba(self.Xb[t])[:, 1])
                continue
            # fewer cells than rows: evaluate the trees once on every bin and look the
            # rows up (the same sums, far fewer tree evaluations)
            out.append(expit(engine_raw(m, terms, n_bins, self.order, self.idx[t])))
        return np.concatenate(out)

    def test_pairs(self, models: QuickModels):
        """Log p-values of every pair on the models' residuals, with the statistics and
        degrees of freedom of every grid, and the held-out probabilities."""
        prob = self.held_out_prob(models, self.folds)
        g = (self.y01[self.rows] - prob) * self.sw[self.rows]
        h = prob * (1 - prob) * self.sw[self.rows]
        # every cell gets a prior of a few rows' hessian: sparse cells (rare categories,
        # rare events) cannot make a pair look significant on their own
        lam = _SCREEN_PRIOR_ROWS * h.sum() / self.rows.size + 1e-12
        grids = [
            pair_statistics(self.rows_idx, g, h, lam, K, self.n_bins, self.is_cat)
            for K in self.resolutions
        ]
        logp = np.min([_chi2_logsf(stat, df) for stat, df in grids], axis=0)
        return logp + np.log(len(self.resolutions)), grids, prob

    def held_out_losses(self, models: QuickModels, prob=None) -> np.ndarray:
        """Log-loss of every check row under the models fitted without it."""
        if prob is None:
            prob = self.held_out_prob(models, self.checks)
        return row_log_loss(self.y01[self.check_rows], prob)

    def check(self, what, fixed, ranked, base_losses, check_alpha, models=None):
        """The pairs of ``ranked`` (strongest first) that may join ``fixed``, with the
        quick models and held-out losses of ``fixed`` plus them.

        The whole list must lower the held-out log-loss of the model with ``fixed`` alone
        by more than the rows' noise: a one-sided paired test of the gain at
        ``check_alpha``. If it fails, its strongest half is checked, then a quarter, down
        to one pair; the level is shared among these tries (Bonferroni).
        ``([], None, None)`` if none passes.
        """
        sizes = [len(ranked) >> k for k in range(len(ranked).bit_length())]
        level = np.log(check_alpha / len(sizes))
        for m in sizes:
            if models is None or m < len(ranked):
                models = self.fit_quick(fixed + ranked[:m])
            losses = self.held_out_losses(models)
            if check_alpha >= 1:
                return ranked, models, losses
            res = paired_gain(base_losses, losses, self.sw[self.check_rows])
            ok = res.logp <= level
            logger.log(
                logging.DEBUG if ok else logging.INFO,
                "%s %d %s: held-out log-loss gain %.5f (standard error %.5f, log p %.1f)",
                "kept" if ok else "dropped",
                m,
                what,
                res.gain,
                res.se,
                res.logp,
            )
            if ok:
                return ranked[:m], models, losses
        return [], None, None

    def check_ranked(self, fixed, ranked, base_losses, check_alpha) -> list[tuple[int, int]]:
        """The pairs by rank, if they lower the held-out log-loss of the model with
        ``fixed`` alone at all (one try, all or none).

        The global test has already found their signal together, at ``global_alpha``;
        thin signal spread over many pairs rarely lowers the loss by more than the rows'
        noise, so this check only refuses pairs that do not help the held-out rows, and
        one fold's quick model is enough for it.
        """
        if check_alpha >= 1:
            return ranked
        fold = self.checks[:1]
        rows = fold[0][1]
        prob = self.held_out_prob(self.fit_quick(fixed + ranked, folds=fold), fold)
        losses = row_log_loss(self.y01[rows], prob)
        res = paired_gain(base_losses[: rows.size], losses, self.sw[rows])
        ok = res.gain > 0
        logger.log(
            logging.DEBUG if ok else logging.INFO,
            "%s %d pairs by rank: held-out log-loss gain %.5f (standard error %.5f)",
            "kept" if ok else "dropped",
            len(ranked),
            res.gain,
            res.se,
        )
        return ranked if ok else []


def screen_pairs(Xb, idx, y01, sw, params, rng, levels: Levels, *, max_iter, n_bins, order, is_cat):
    """Pairs to model, strongest first, as sorted feature index pairs.

    ``Xb`` is the binned matrix in engine order (:func:`engine_order` is ``order``),
    ``idx`` the bin indices in feature order, ``params`` the bags' engine settings; the
    quick models boost faster (learning rate 0.2, at most 200 iterations).
    """
    p = Xb.shape[1]
    n_pairs = p * (p - 1) // 2
    if levels.n_interactions == 0 or p < 2:
        return []
    quick = dict(params, learning_rate=0.2, max_iter=min(max_iter, 200))
    folds, checks, quick = _split(Xb.shape[0], n_pairs, quick, rng)
    if min(min(f.size, t.size) for f, t in folds + checks) < 50:
        return []
    seed = int(rng.randint(np.iinfo(np.int32).max))
    s = _Screen(Xb, idx, y01, sw, quick, folds, checks, seed, n_bins, order, is_cat)
    mains = s.fit_quick([], folds=folds, interaction_cst="no_interactions")
    crossfit = checks is folds
    logp, grids, prob = s.test_pairs(mains)
    strong, anchors, with_pairs = _significant(s, mains, logp, levels, crossfit)
    chosen = s.as_pairs(strong)
    base = mains
    # out-of-fold predictions of the quick models double as the check's when
    # cross-fitting; with one split the check has rows of its own
    base_losses = s.held_out_losses(mains, prob) if crossfit else None
    if chosen:
        base_losses = s.held_out_losses(mains) if base_losses is None else base_losses
        if len(anchors) < strong.size:
            with_pairs = None  # fitted with the anchors only
        chosen, with_pairs, losses = s.check(
            "screened pairs", [], chosen, base_losses, levels.check_alpha, with_pairs
        )
        if not chosen:
            return []
        base, base_losses = with_pairs, losses
    free = levels.n_interactions - len(chosen)
    if free == 0 or not crossfit:
        return chosen
    if chosen:
        logp, grids, _ = s.test_pairs(base)
    extra = _ranked_if_global_signal(s, logp, grids, strong, free, levels.global_alpha)
    if not extra:
        return chosen
    return chosen + s.check_ranked(chosen, extra, base_losses, levels.check_alpha)


def _significant(s: _Screen, mains, logp, levels: Levels, crossfit):
    """The pairs below the Bonferroni level (at most ``n_interactions``, strongest first),
    the disjoint strongest of them, and quick models with those when re-tested.

    A strong pair left out of the model makes its features look paired with others (the
    logistic averaged over the missing feature is not additive), so when cross-fitting,
    a pair sharing a feature with a stronger one is tested again on the residuals of
    quick models with the strongest pairs that share none. Not with one split, where the
    rows to spare give the first test its power.
    """
    level = np.log(levels.screen_alpha / s.pairs.shape[0])
    order = np.argsort(logp, kind="stable")
    strong = order[logp[order] < level][: levels.n_interactions]
    logger.debug("significant pairs %s (log p %s)", s.as_pairs(strong), logp[strong].round(1))
    anchors, used = [], set()
    for k in strong:
        if used.isdisjoint(s.pairs[k]):
            anchors.append(k)
            used.update(s.pairs[k].tolist())
    with_pairs = None
    if len(anchors) < strong.size and crossfit:
        with_pairs = s.fit_quick(s.as_pairs(anchors))
        again = s.test_pairs(with_pairs)[0]
        strong = np.array([k for k in strong if k in anchors or again[k] < level], dtype=int)
        logger.debug("kept after the second test %s", s.as_pairs(strong))
    return strong, anchors, with_pairs


def _ranked_if_global_signal(s: _Screen, logp, grids, strong, free, global_alpha):
    """The next ``free`` pairs by rank if the pairs left out carry signal together.

    Interaction signal can be spread thinly over many pairs that no single test calls
    significant: a global test sums the other pairs' statistics on the finest grid
    against chi-squared with the summed degrees of freedom (only the finest grid: on
    coarse ones the main effects left inside a group add up over many pairs and pass for
    interaction). ``[]`` when there is no such signal.
    """
    other = np.isfinite(logp)
    other[strong] = False
    if not other.any():
        return []
    stat, df = grids[-1]
    global_logp = chi2.logsf(stat[other].sum(), df[other].sum())
    logger.debug("global test of the other pairs: log p %.1f", global_logp)
    if global_logp >= np.log(global_alpha):
        return []
    order = np.argsort(np.where(other, logp, np.inf), kind="stable")
    extra = order[np.isfinite(logp[order]) & other[order]][:free]
    logger.debug("pairs by rank %s (log p %s)", s.as_pairs(extra), logp[extra].round(1).tolist())
    return s.as_pairs(extra)
