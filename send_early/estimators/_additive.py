"""Additive risk model: bagged, interaction-constrained gradient boosting (private).

The engine is scikit-learn's ``HistGradientBoostingClassifier`` with one interaction
group per feature (plus one per selected pair). After fitting, every tree is read back
as a function of the one feature (or pair) it uses and evaluated on every bin, so the
whole model becomes a set of lookup tables. Prediction then *is* a sum of table
look-ups: the explanation is the model, not an approximation of it.
"""

from __future__ import annotations

import itertools
import logging
import numbers
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import chi2, norm
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
from sklearn.isotonic import isotonic_regression
from sklearn.model_selection import train_test_split
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

__all__ = ["AdditiveRiskClassifier"]

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
# half-widths of the shape smoother, as shares of the training rows (see ``smoothing``)
_SMOOTHING_WIDTHS = (0.0, 0.01, 0.02, 0.04, 0.08, 0.16)
# features with fewer value bins (scores, ratings, deciles) are not smoothed: their values
# are few and often meaningful, and a rare extreme (an ASQ score far below the cut-off)
# would be pulled towards the bulk of the rows
_SMOOTHING_MIN_BINS = 32


def _chi2_logsf(stat, df):
    """Log upper tail of chi-squared; ``inf`` where there are no degrees of freedom."""
    out = np.full(stat.size, np.inf)
    pos = df > 0
    out[pos] = chi2.logsf(stat[pos], df[pos])
    return out


class _QuickModels(NamedTuple):
    """The pair screen's quick models (one per fold) and the terms they may use."""

    models: list
    terms: list


class _Engine(HistGradientBoostingClassifier):
    """``HistGradientBoostingClassifier`` that skips the training loss when it stops early
    on validation rows.

    With validation data, scikit-learn still computes the log-loss of every training
    row at every iteration, only to record it in ``train_score_``; early stopping reads
    ``validation_score_`` alone. Skipping it fits the same trees (the tests check the
    predictions and ``validation_score_`` against the parent class) in about 10% less
    time; ``train_score_`` stays empty. Without validation data (``early_stopping`` off,
    or on the training loss) the parent's method runs unchanged.
    """

    def _check_early_stopping_loss(self, *args, **kwargs):
        if not self._use_validation_data:
            return super()._check_early_stopping_loss(*args, **kwargs)
        return self._check_validation_loss(*args, **kwargs)

    def _check_validation_loss(
        self,
        raw_predictions,
        y_train,
        sample_weight_train,
        raw_predictions_val,
        y_val,
        sample_weight_val,
        n_threads=1,
    ):
        """The parent's check with the parent's arguments, the training loss left out."""
        loss = self._loss(
            y_true=y_val,
            raw_prediction=raw_predictions_val,
            sample_weight=sample_weight_val,
            n_threads=n_threads,
        )
        self.validation_score_.append(-loss)
        return self._should_stop(self.validation_score_)


def _engine_weights(sw, rows):
    """The rows' weights for the boosting engine, or None when every weight is 1: the engine
    then skips its weighted sums and averages (the same fit, about 5% faster)."""
    w = sw[rows]
    return None if np.all(w == 1.0) else w


def _row_log_loss(y01, prob):
    """Log-loss of every row: ``sklearn.metrics.log_loss``'s formula (probabilities
    clipped to [eps, 1 - eps]) without its input checks, which cost more than the sum
    on the screen's and the smoother's many calls."""
    eps = np.finfo(np.float64).eps
    q = np.clip(prob, eps, 1 - eps)
    return -(y01 * np.log(q) + (1 - y01) * np.log(1 - q))


def _log_loss(y01, prob, sw):
    """Weighted mean log-loss of probabilities ``prob`` (see ``_row_log_loss``)."""
    return float(np.average(_row_log_loss(y01, prob), weights=sw))


class _Gain(NamedTuple):
    """A held-out log-loss gain (weighted mean over rows), its standard error and the
    log p-value of the one-sided test that it is positive."""

    gain: float
    se: float
    logp: float


def _paired_gain(loss_without, loss_with, sw):
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
    return _Gain(gain, se, logp)


def _validation_split(rows, y01, fraction, seed):
    """The rows a bag is fitted on and the rows it stops early on.

    The same split as HistGradientBoosting's own (stratified, seeded as the engine
    seeds it from ``random_state``), made here so that the validation rows are known
    and can choose the smoothing width.
    """
    split_seed = np.random.RandomState(seed).randint(np.iinfo(np.uint32).max, dtype="u8")
    fit_pos, val_pos = train_test_split(
        np.arange(rows.size),
        test_size=fraction,
        stratify=y01[rows],
        random_state=split_seed,
    )
    return rows[fit_pos], rows[val_pos]


def _local_linear(weights, width):
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


def _smooth_table(tab, term, smoothers):
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


def _split_by_term(predictor):
    """Split a tree into one sub-tree per feature set used along its root-to-leaf paths.

    With interaction constraints every path uses one feature or one allowed pair, but
    different branches of one tree may use different pairs. Each returned predictor keeps
    the tree's splits and zeroes the leaves of the other paths, so it is a function of
    its feature set only. Yields ``(features, predictor)``.
    """
    nodes = predictor.nodes
    inner = nodes["is_leaf"] == 0
    used = set(nodes["feature_idx"][inner].tolist())
    if len(used) <= 2:
        if len(used) == 2 or not inner.any():
            yield tuple(sorted(used)), predictor
            return
        yield tuple(used), predictor
        return
    path = {0: frozenset()}
    stack = [0]
    leaf_sets = {}
    while stack:
        i = stack.pop()
        node = nodes[i]
        if node["is_leaf"]:
            leaf_sets[i] = tuple(sorted(path[i]))
            continue
        here = path[i] | {int(node["feature_idx"])}
        for child in (int(node["left"]), int(node["right"])):
            path[child] = here
            stack.append(child)
    for fs in sorted(set(leaf_sets.values())):
        sub = nodes.copy()
        off = [i for i, s in leaf_sets.items() if s != fs]
        sub["value"][off] = 0.0
        yield (
            fs,
            TreePredictor(sub, predictor.binned_left_cat_bitsets, predictor.raw_left_cat_bitsets),
        )


def _engine_tables(estimators, terms, n_bins, order):
    """Average intercept and per-term tables (one value per bin, or per cell of a pair,
    the missing bin last) of boosted models whose trees use one term per path.

    ``terms`` are tuples of feature indices in the estimator's (not the engine's) order;
    ``order`` maps engine columns to features. A row's raw prediction is the intercept
    plus its cells' values, exactly (the trees are evaluated on every bin).
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
    for est in estimators:
        known, fmap = est._bin_mapper.make_known_categories_bitsets()
        const += float(np.ravel(est._baseline_prediction)[0])
        # HGB takes the columns in engine order (categorical first, see fit) and
        # re-encodes categorical codes: evaluate the grids through its preprocessing
        # (one transform of all the grids stacked: the per-call overhead dominates)
        pre = getattr(est, "_preprocessor", None)
        stacked = np.vstack(list(grids.values()))[:, order]
        stacked = stacked if pre is None else pre.transform(stacked)
        ends = np.cumsum([G.shape[0] for G in grids.values()])
        est_grids = dict(zip(grids, np.split(stacked, ends[:-1]), strict=True))
        for (predictor,) in est._predictors:
            for used, pred in _split_by_term(predictor):
                if not used:
                    const += float(pred.nodes["value"][0])
                    continue
                term = tuple(sorted(int(order[f]) for f in used))
                k = where.get(term)
                if k is None:  # pragma: no cover - interaction_cst forbids this
                    raise RuntimeError(f"tree path uses features {term} outside the terms")
                vals = pred.predict(est_grids[term], known, fmap, 1)
                tables[k] += vals.reshape(tables[k].shape)
    nb = len(estimators)
    return const / nb, [t / nb for t in tables]


def _table_raw(const, terms, tables, idx):
    """Raw predictions of rows given by their bin indices (``idx``, the estimator's
    feature order): the intercept plus a lookup per term."""
    raw = np.full(idx.shape[0], const)
    for term, tab in zip(terms, tables, strict=True):
        raw += tab[tuple(idx[:, j] for j in term)]
    return raw


def _engine_raw(estimator, terms, n_bins, order, idx):
    """One boosted model's raw predictions for rows given by their bin indices, from its
    tables."""
    const, tables = _engine_tables([estimator], terms, n_bins, order)
    return _table_raw(const, terms, tables, idx)


def _purify_and_centre(tables, terms, w_tabs, const):
    """Move pair tables' row and column means to the mains, then centre every term.

    The means are taken under the product of the two features' training
    distributions, so a row mean is a fixed weighted average of the pair table's
    columns: where the pair (plus its share of the main) is monotone along a
    constrained feature for every bin of the other one, the main table that
    receives the row means stays monotone too. One pass is exact under product
    weights. Every term is then centred on its training mean (moved to ``const``).
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


def _project_monotone(tables, terms, w_tabs, cst, passes=3):
    """Project constrained shapes onto monotone ones (see ``monotonic_method``).

    A constrained feature's own table is moved in equal shares into the pairs that
    contain it, so the model is monotone in the feature as soon as each of those
    pair tables is monotone along it for every bin of the other feature (a sum of
    monotone functions is monotone); a feature in no pair is projected directly.
    A pair constrained along both features is projected along each in turn, then a
    running maximum (or minimum) along the first makes it exactly monotone along
    both: the running maximum of lines that are monotone along the second feature
    in the same direction stays monotone along it.
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


class AdditiveRiskClassifier(LogOddsClassifierMixin, ClassifierMixin, BaseEstimator):
    """Additive risk model with exact per-feature shape tables.

    A generalized additive model (GAM) for a binary outcome, learned by gradient
    boosting: scikit-learn's :class:`~sklearn.ensemble.HistGradientBoostingClassifier`
    with interaction constraints fits one small tree at a time, each on a single feature
    (or on one of a few automatically chosen feature pairs). Several models are fitted on
    different random splits ("bags") and averaged. The fitted trees are then converted
    into lookup tables, one per term, giving the contribution in log-odds of every bin
    (every value range, every category and a missing bin), and the numeric shapes are
    smoothed where each bag's held-out rows say it helps (see ``smoothing``)::

        decision_function(X) == intercept_ + contributions(X).sum(axis=1)

    holds exactly, because the decision function is computed from the tables.

    Parameters
    ----------
    n_bags : int, default=5
        Number of boosted models averaged. Each uses a different random validation
        split for early stopping (and a different row subsample if ``subsample < 1``).
    n_interactions : int, default=3
        Maximum number of pairwise terms. A quick main-effects model gives residuals
        on rows it was not fitted on, and every pair of features is tested for
        interaction on them (a likelihood-ratio test of a two-way table of coarse
        groups against row + column effects, on a 2 x 2, a 4 x 4 and a finer grid,
        each plus a missing group). Pairs below a Bonferroni-corrected level
        (``screen_alpha``) are kept, strongest first, if a quick model with them
        predicts held-out rows significantly better than one without them
        (``check_alpha``); data without interactions get no pairs. On mid-size data
        with few features (rows x pairs up to 5 million, fewer than 100,000 rows) the
        residuals are cross-fitted so every row is tested, and if places are left
        while the other pairs carry signal together (a global test at
        ``global_alpha``), the places go to the next pairs by rank, under the same
        held-out check. A pair may include a feature with a monotonic constraint:
        the model stays monotone in that feature whatever the other feature's value,
        and so does the feature's own shape table (see ``monotonic_method``). ``0``
        gives a pure additive model.
    interactions : list of pairs or None, default=None
        Explicit pairwise terms, as pairs of feature names (DataFrame input) or
        indices, for example ``[("age_months", "asq_communication")]``. When given,
        the screen is skipped and exactly these pairs are used (``n_interactions`` is
        ignored).
    screen_alpha : float, default=0.01
        Family-wise level of the pair screen's tests: a pair is significant when its
        smallest p-value over the grids, times the number of grids, is below
        ``screen_alpha`` divided by the number of pairs (Bonferroni), so on data
        without interactions the screen finds a pair in at most about
        ``screen_alpha`` of data sets.
    global_alpha : float, default=0.01
        Level of the global test that the pairs left out by the screen carry signal
        together (their statistics on the finest grid summed, against chi-squared with
        the summed degrees of freedom); only on cross-fitted screens with places left.
    check_alpha : float, default=0.01
        Level of the held-out check of every set of pairs the screen adds: a one-sided
        paired test on the rows the quick models were not fitted on, the mean per-row
        log-loss gain of the model with the pairs over the model without them divided
        by its standard error over the rows, against the standard normal. If the set
        fails, its strongest half is checked, then a quarter, down to one pair, each
        at ``check_alpha`` divided by the number of these tries. ``1`` turns the
        check off. Models pickled before the three levels were parameters load with
        the defaults; their pairs were kept on any held-out gain, however small.
    learning_rate : float, default=0.05
        Shrinkage of each tree.
    max_iter : int, default=2000
        Maximum number of boosting iterations (one tree each) per bag.
    max_leaf_nodes : int, default=6
        Leaves per tree; small trees give smooth shape functions.
    min_samples_leaf : int, default=20
        Minimum number of training rows in a leaf.
    l2_regularization : float, default=1.0
        L2 penalty on leaf values.
    max_bins : int, default=255
        Maximum number of bins of a numeric feature (at most 255). Features with fewer
        distinct values get one bin per value. Categorical features must have at most
        ``max_bins`` categories.
    monotonic_cst : array-like of int of shape (n_features,) or dict, default=None
        Monotonic constraint per feature, as in HistGradientBoostingClassifier:
        ``1`` risk never decreases as the feature grows, ``-1`` never increases,
        ``0`` no constraint. A dict maps feature names to constraints (needs a
        DataFrame). The missing bin is not constrained.
    monotonic_method : {"isotonic", "engine"}, default="isotonic"
        How the constraints are enforced. ``"isotonic"``: the bags are boosted without
        constraints, then every constrained shape is projected onto the nearest
        monotone one (weighted isotonic regression over the value bins, weights = the
        training rows in each bin): a feature's own table, and each pair table along
        the constrained feature for every bin of the other feature (after moving the
        feature's own table into its pairs; a pair constrained along both features is
        projected along each in turn, then made exactly monotone by a running maximum
        or minimum). The pairs are then purified again. ``"engine"``: the constraints
        are passed to HistGradientBoostingClassifier, which keeps every tree monotone
        while boosting; its bound propagation limits later splits, and on the
        synthetic cohorts this costs about 0.0008 ROC AUC against ``"isotonic"``
        (``bench/results_tuning.md``). Either way the model's log-odds never move
        against a constraint as the feature's value grows, whatever the other features.
    categorical_features : "from_dtype", array-like or None, default="from_dtype"
        Which features are categorical: indices, a boolean mask or feature names.
        ``"from_dtype"`` takes the DataFrame columns of ``category``, string or object
        dtype. With arrays, categorical features must hold numeric codes.
    early_stopping : "auto" or bool, default="auto"
        Stop each bag when the validation log-loss stops improving. ``"auto"`` enables
        it from 100 training rows.
    validation_fraction : float, default=0.15
        Share of rows held out for early stopping in each bag.
    n_iter_no_change : int, default=30
        Patience of early stopping, in iterations.
    subsample : float, default=1.0
        Share of rows (drawn without replacement) used by each bag.
    smoothing : "auto", float or None, default="auto"
        Smoothing of the numeric shapes after boosting. Each bag's tables are smoothed
        along every numeric feature by a local-linear smoother over the bins (the
        weighted least-squares line through the bins within a half-width of the bin,
        measured as a share of the training rows; weights: the rows in each bin).
        Bins wider than the window keep their value, so steps at meaningful cut-offs
        stay steps. Features with fewer than 32 value bins (scores, ratings, deciles:
        few, often meaningful values, whose rare extremes, such as an ASQ score far
        below its cut-off, would be pulled towards the bulk of the rows), categorical
        features and missing bins are not smoothed.
        ``"auto"`` chooses each bag's half-width among 0, 1%, 2%, 4%, 8% and 16% of
        the rows by the log-loss on the bag's own early-stopping rows (no smoothing
        without early stopping). A number fixes the half-width (``0`` or ``None``: no
        smoothing). The smoothed tables are the model, so contributions stay exact.
        With ``monotonic_method="engine"``, terms with a constrained feature are not
        smoothed (a line may bend a monotone shape); with ``"isotonic"`` the
        projection follows the smoothing. Chosen on held-out rows, it helps data with
        smooth, finely measured effects: over three seeds the simulated data of
        ``bench_estimators.py`` +0.001 to +0.002 ROC AUC, UCI dropout +0.001 to
        +0.002; OULAD and the SEND cohort move by at most 0.0001
        (``bench/results_tuning.md``).
    random_state : int, RandomState instance or None, default=None
        Seeds the bags' validation splits, row subsamples and the pair screen.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        Class labels; ``classes_[1]`` is the event (positive class).
    intercept_ : float
        Log-odds of a row whose every term contributes 0 (terms are centred on the
        training mean).
    term_names_ : list of str
        One name per term: the feature name, or ``"a x b"`` for a pair.
    term_features_ : list of tuple of int
        The feature indices of each term.
    tables_ : list of ndarray
        Per term, the contribution (log-odds) of each bin: a 1-D array for a feature
        (value bins, then the missing bin), a 2-D array for a pair. A pair table is
        purified: its mean over each row and each column, weighted by the training
        share of the other feature's bins, is 0 (those means are moved into the two
        features' own tables), so a pair term holds only what the two features do
        together beyond their separate effects.
    bin_thresholds_ : list of ndarray or None
        Per numeric feature, the upper edges of its value bins (a value ``x`` falls in
        bin ``k`` when ``t[k-1] < x <= t[k]``); ``None`` for categorical features.
    categories_ : list of ndarray or None
        Per categorical feature, its categories (bin ``k`` is category ``k``); ``None``
        for numeric features. Unknown categories at predict time use the missing bin.
    is_categorical_ : ndarray of bool
        Which features are categorical.
    monotonic_cst_ : ndarray of int
        The resolved monotonic constraints.
    interactions_ : list of tuple of int
        The selected feature pairs, strongest first.
    estimators_ : list of HistGradientBoostingClassifier
        The fitted bags; they take the *binned* matrix (bin indices, NaN for missing)
        with columns in ``engine_feature_order_``. When they stop early on validation
        rows they do not record the training loss (``train_score_`` is empty).
    engine_feature_order_ : ndarray of int
        Column order given to the engine: categorical features first (scikit-learn
        reorders them so internally and does not remap ``interaction_cst``).
    n_iter_ : ndarray of int
        Boosting iterations used by each bag.
    smoothing_widths_ : ndarray of float
        The smoothing half-width used by each bag (share of the training rows; 0 for
        none).
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of str
        Feature names seen in fit (DataFrame input with string column names only).

    See Also
    --------
    ScorecardClassifier : integer points table a person can add up by hand.

    Notes
    -----
    The defaults (5 bags at learning rate 0.05, at most 3 pairs) suit small data. On
    large data, 2 bags at learning rate 0.2 with at most 20 pairs (the default model
    spec, ``models/default.toml``) give the same ranking in a fraction of the time: on
    200,000 rows x 20 features 12 s against 81 s. On small data the defaults are
    better: over six seeds, UCI student performance (487 training rows) scored ROC AUC
    0.873 with them and 0.854 with the spec's settings, before the shapes were smoothed
    (``bench/results_tuning.md``).

    Examples
    --------
    >>> import numpy as np
    >>> from send_early.estimators import AdditiveRiskClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3))
    >>> y = (X[:, 0] + X[:, 1] ** 2 + rng.normal(size=500) > 1).astype(int)
    >>> model = AdditiveRiskClassifier(n_bags=2, max_iter=100, random_state=0).fit(X, y)
    >>> contrib = model.contributions(X)
    >>> bool(np.allclose(model.intercept_ + contrib.sum(axis=1), model.decision_function(X)))
    True
    >>> model.shape_tables().columns.tolist()[:4]
    ['term', 'feature', 'bin', 'lower']
    """

    def __init__(
        self,
        *,
        n_bags: int = 5,
        n_interactions: int = 3,
        interactions=None,
        screen_alpha: float = 0.01,
        global_alpha: float = 0.01,
        check_alpha: float = 0.01,
        learning_rate: float = 0.05,
        max_iter: int = 2000,
        max_leaf_nodes: int = 6,
        min_samples_leaf: int = 20,
        l2_regularization: float = 1.0,
        max_bins: int = 255,
        monotonic_cst=None,
        monotonic_method: str = "isotonic",
        categorical_features="from_dtype",
        early_stopping="auto",
        validation_fraction: float = 0.15,
        n_iter_no_change: int = 30,
        subsample: float = 1.0,
        smoothing="auto",
        random_state=None,
    ):
        self.n_bags = n_bags
        self.n_interactions = n_interactions
        self.interactions = interactions
        self.screen_alpha = screen_alpha
        self.global_alpha = global_alpha
        self.check_alpha = check_alpha
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.max_bins = max_bins
        self.monotonic_cst = monotonic_cst
        self.monotonic_method = monotonic_method
        self.categorical_features = categorical_features
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.subsample = subsample
        self.smoothing = smoothing
        self.random_state = random_state

    def __setstate__(self, state):
        # models pickled before ``smoothing`` existed were not smoothed: load them as
        # what they are, so get_params, clone and refits keep their behaviour
        if "smoothing" not in state:
            state = dict(state, smoothing=None)
            if "estimators_" in state:
                state["smoothing_widths_"] = np.zeros(len(state["estimators_"]))
        # models pickled before the screen's levels were parameters: their tests ran at
        # 1%, as the defaults do (their check kept pairs on any gain; no level repeats it)
        if "check_alpha" not in state:
            state = dict(state, screen_alpha=0.01, global_alpha=0.01, check_alpha=0.01)
        super().__setstate__(state)

    # ------------------------------------------------------------------ fit
    def _check_params(self):
        problems = []

        def _int(name, low):
            v = getattr(self, name)
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < low:
                problems.append(f"{name} must be an integer >= {low}; found {v!r}")

        _int("n_bags", 1)
        _int("n_interactions", 0)
        _int("max_iter", 1)
        _int("max_leaf_nodes", 2)
        _int("min_samples_leaf", 1)
        _int("n_iter_no_change", 1)
        if not isinstance(self.max_bins, numbers.Integral) or not 2 <= self.max_bins <= 255:
            problems.append(f"max_bins must be an integer in [2, 255]; found {self.max_bins!r}")
        for name in ("screen_alpha", "global_alpha", "check_alpha", "learning_rate", "subsample"):
            v = getattr(self, name)
            if not isinstance(v, numbers.Real) or isinstance(v, bool) or not 0 < v <= 1:
                problems.append(f"{name} must be a number in (0, 1]; found {v!r}")
        if not isinstance(self.validation_fraction, numbers.Real) or not (
            0 < self.validation_fraction < 1
        ):
            problems.append(
                f"validation_fraction must be in (0, 1); found {self.validation_fraction!r}"
            )
        if not isinstance(self.l2_regularization, numbers.Real) or self.l2_regularization < 0:
            problems.append(
                f"l2_regularization must be a number >= 0; found {self.l2_regularization!r}"
            )
        if self.monotonic_method not in ("isotonic", "engine"):
            problems.append(
                f"monotonic_method must be 'isotonic' or 'engine'; found {self.monotonic_method!r}"
            )
        if not (
            self.smoothing is None
            or (isinstance(self.smoothing, str) and self.smoothing == "auto")
            or (
                isinstance(self.smoothing, numbers.Real)
                and not isinstance(self.smoothing, bool)
                and 0 <= self.smoothing <= 0.5
            )
        ):
            problems.append(
                f"smoothing must be 'auto', None or a number in [0, 0.5]; found {self.smoothing!r}"
            )
        if self.early_stopping not in ("auto", True, False):
            problems.append(
                f"early_stopping must be 'auto', True or False; found {self.early_stopping!r}"
            )
        if problems:
            raise ValueError(
                "Invalid AdditiveRiskClassifier parameters: " + "; ".join(problems) + "."
            )

    def fit(self, X, y, sample_weight=None):
        """Fit the bagged additive model and build its shape tables.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features; NaN (or pandas NA) marks a missing value.
        y : array-like of shape (n_samples,)
            Binary outcome; the larger label (``classes_[1]``) is the event.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights.

        Returns
        -------
        self : AdditiveRiskClassifier
            The fitted model.
        """
        X, y01, sw, rng, names = prepare_fit(self, X, y, sample_weight)
        n, p = X.shape
        too_many = [
            j
            for j in range(p)
            if self.is_categorical_[j] and len(self.categories_[j]) > self.max_bins
        ]
        if too_many:
            raise ValueError(
                f"Categorical features need at most max_bins={self.max_bins} categories; "
                f"features {[self._feature_name(j) for j in too_many]} have more. Group rare "
                "categories first."
            )
        Xe = encode(X, self.is_categorical_, self.categories_).X
        self.bin_thresholds_ = [
            None if self.is_categorical_[j] else numeric_thresholds(Xe[:, j], self.max_bins, rng)
            for j in range(p)
        ]
        idx = self._digitize(Xe)
        n_bins = self._n_value_bins()
        Xb = np.where(idx == n_bins, np.nan, idx).astype(np.float64)

        # observed range of each numeric bin, for readable labels
        self._bin_seen = []
        for j in range(p):
            if self.is_categorical_[j]:
                self._bin_seen.append(None)
                continue
            ok = idx[:, j] < n_bins[j]
            lo = np.full(n_bins[j], np.inf)
            hi = np.full(n_bins[j], -np.inf)
            np.minimum.at(lo, idx[ok, j], Xe[ok, j])
            np.maximum.at(hi, idx[ok, j], Xe[ok, j])
            self._bin_seen.append((lo, hi))

        # HGB moves categorical columns first internally but does not remap
        # interaction_cst accordingly (scikit-learn 1.9): give it that order ourselves
        order = np.concatenate(
            [np.flatnonzero(self.is_categorical_), np.flatnonzero(~self.is_categorical_)]
        )
        self.engine_feature_order_ = order
        inv = np.argsort(order)
        Xb_engine = Xb[:, order]
        early = self.early_stopping if self.early_stopping != "auto" else n >= 100
        engine_cst = self.monotonic_method == "engine" and self.monotonic_cst_.any()
        cst = self.monotonic_cst_.tolist() if engine_cst else None
        params = dict(
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            max_bins=255,
            monotonic_cst=None if cst is None else [cst[j] for j in order],
            categorical_features=self.is_categorical_[order]
            if self.is_categorical_.any()
            else None,
            early_stopping=early,
            validation_fraction=self.validation_fraction,
            n_iter_no_change=self.n_iter_no_change,
        )

        screen_seed = int(rng.randint(np.iinfo(np.int32).max))
        if self.interactions is None:
            # the screen draws from its own stream, so the bags do not depend on it:
            # when it keeps no pair the model equals the n_interactions=0 one
            screen_rng = np.random.RandomState(screen_seed)
            self.interactions_ = self._screen_pairs(Xb_engine, idx, y01, sw, params, screen_rng)
        else:
            self.interactions_ = self._given_pairs(p)
        groups = [[int(inv[j])] for j in range(p)] + [
            [int(inv[i]), int(inv[j])] for i, j in self.interactions_
        ]
        self.estimators_ = []
        val_rows = []
        for _ in range(self.n_bags):
            seed = int(rng.randint(np.iinfo(np.int32).max))
            rows = np.arange(n)
            if self.subsample < 1:
                m = max(int(round(self.subsample * n)), 2)
                rows = np.sort(rng.choice(n, m, replace=False))
            est = _Engine(interaction_cst=groups, random_state=seed, **params)
            if early:
                # the engine's own split, made here so the validation rows are known
                rows, val = _validation_split(rows, y01, self.validation_fraction, seed)
                w, w_val = _engine_weights(sw, rows), _engine_weights(sw, val)
                if (w is None) != (w_val is None):
                    w, w_val = sw[rows], sw[val]
                est.fit(
                    Xb_engine[rows],
                    y01[rows],
                    sample_weight=w,
                    X_val=Xb_engine[val],
                    y_val=y01[val],
                    sample_weight_val=w_val,
                )
                val_rows.append(val)
            else:
                est.fit(Xb_engine[rows], y01[rows], sample_weight=_engine_weights(sw, rows))
                val_rows.append(None)
            self.estimators_.append(est)
        self.n_iter_ = np.array([e.n_iter_ for e in self.estimators_])
        self._build_tables(idx, y01, sw, val_rows)
        return self

    # ------------------------------------------------------------ helpers
    def _feature_name(self, j: int) -> str:
        names = getattr(self, "feature_names_in_", None)
        return str(names[j]) if names is not None else f"x{j}"

    def _n_value_bins(self) -> np.ndarray:
        return np.array(
            [
                len(self.categories_[j]) if self.is_categorical_[j] else t.size + 1
                for j, t in enumerate(self.bin_thresholds_)
            ]
        )

    def _digitize(self, Xe: np.ndarray) -> np.ndarray:
        """Table index of every value: value bins ``0..k-1``, missing bin ``k``."""
        out = np.empty(Xe.shape, dtype=np.intp, order="F")
        for j, t in enumerate(self.bin_thresholds_):
            if t is None:
                k = len(self.categories_[j])
                col = Xe[:, j]
                out[:, j] = np.where(np.isnan(col), k, np.nan_to_num(col, nan=0)).astype(np.intp)
            else:
                out[:, j] = digitize(Xe[:, j], t)
        return out

    def _given_pairs(self, p: int) -> list[tuple[int, int]]:
        """Validate the ``interactions`` parameter into sorted index pairs."""
        names = getattr(self, "feature_names_in_", None)
        names = [] if names is None else [str(n) for n in names]
        pairs = []
        for pair in self.interactions:
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

    def _screen_pairs(self, Xb, idx, y01, sw, params, rng) -> list[tuple[int, int]]:
        """Pick pairwise terms by likelihood-ratio tests on held-out residuals.

        Residuals come from a quick main-effects model on rows it was not fitted on.
        Every pair of features is coarsened to grids of 2, 4 and at most
        ``_SCREEN_GROUPS`` groups per feature (quantile groups, the most common
        categories, plus a missing group) and the second-order gain of a full two-way
        table over an additive (row + column) table is computed from the residual
        gradients and hessians. Under "no interaction" twice that gain is about
        chi-squared with ``(rows - 1) x (columns - 1)`` degrees of freedom, so pairs
        are ranked by their smallest p-value over the grids (times the number of
        grids), and those below a Bonferroni-corrected level (``screen_alpha``) are
        kept, strongest first: an additive truth gets no pairs, however many are
        allowed. A held-out check then guards against pairs that overfit or only
        look helpful by chance: on rows neither was fitted on, a quick model with
        them must have a lower log-loss than one without them by more than the
        rows' noise (a one-sided paired test at ``check_alpha``), or they are
        dropped.

        With rows to spare (``n >= 2 * _SCREEN_ROWS``) or many pairs (rows x pairs
        above ``_CROSSFIT_PAIR_ROWS``) the quick model is fitted on one part of the
        rows, the pairs are tested on a second and the check uses a third. Otherwise
        (mid-size data with few features, where one split leaves the test too few
        rows) the data are cut in ``_SCREEN_FOLDS`` folds, each fold's residuals come
        from the quick model fitted on the others (cross-fitting, so every row enters
        the test) and the check compares out-of-fold predictions on every row. Two
        steps are added there: a pair that shares a feature with a stronger one is
        tested again once the strongest disjoint pairs are in the quick model (a
        strong pair left out makes its features look paired with others); and when
        places are left, a global test asks whether the other pairs carry signal
        together (their statistics on the finest grid summed, against chi-squared
        with the summed degrees of freedom, at ``global_alpha``), since interaction
        signal can be spread thinly over many pairs that no single test calls
        significant. If they do, the places go to the next pairs by rank, and the
        whole set must pass the check against the model with the significant pairs
        alone.
        """
        p = Xb.shape[1]
        n_pairs = p * (p - 1) // 2
        if self.n_interactions == 0 or p < 2:
            return []
        n = Xb.shape[0]
        perm = rng.permutation(n)
        quick = dict(params, learning_rate=0.2, max_iter=min(self.max_iter, 200))
        if n // 2 >= _SCREEN_ROWS or n * n_pairs > _CROSSFIT_PAIR_ROWS:
            # rows to spare, or many pairs: fit the quick model on one part, test the
            # pairs on a second, check the selection on a third
            n_fit = min(n // 2, _SCREEN_ROWS)
            fit_rows = np.sort(perm[:n_fit])
            rest = perm[n_fit:]
            n_test = min(rest.size // 2, _SCREEN_TEST_ROWS)
            folds = [(fit_rows, np.sort(rest[:n_test]))]
            checks = [(fit_rows, np.sort(rest[n_test : 2 * n_test]))]
        else:
            # fewer rows and pairs: three folds; the quick model fitted on two gives
            # the residuals of the third (cross-fitting), so every row enters the
            # test, and the check compares out-of-fold predictions on every row. Not
            # on wide data: the cost grows with rows x pairs, and the global test
            # below sums many pair statistics that share correlated features, which
            # its chi-squared reference treats as independent (bench/results_tuning.md,
            # session 4)
            parts = [np.sort(perm[k::_SCREEN_FOLDS]) for k in range(_SCREEN_FOLDS)]
            folds = [
                (np.sort(np.concatenate(parts[:k] + parts[k + 1 :])), parts[k])
                for k in range(_SCREEN_FOLDS)
            ]
            checks = folds
            quick["n_iter_no_change"] = min(quick["n_iter_no_change"], _SCREEN_PATIENCE)
        if min(min(f.size, t.size) for f, t in folds + checks) < 50:
            return []
        seed = int(rng.randint(np.iinfo(np.int32).max))
        main_terms = [(j,) for j in range(p)]
        mains = _QuickModels(
            [
                _Engine(interaction_cst="no_interactions", random_state=seed, **quick).fit(
                    Xb[f], y01[f], sample_weight=_engine_weights(sw, f)
                )
                for f, _ in folds
            ],
            main_terms,
        )
        rows = np.concatenate([t for _, t in folds])
        checks_are_folds = checks is folds
        check_rows = np.concatenate([t for _, t in checks])
        rows_idx = idx[rows]
        # at most _SCREEN_GROUPS groups per feature, fewer on small data so that a
        # two-way table keeps about _SCREEN_CELL_ROWS rows per cell on average; a
        # coarse grid (2 x 2 plus missing) has the power for step-like interactions,
        # a fine one for curved ones: test at a few resolutions, keep each pair's
        # smallest p-value, Bonferroni-corrected for the number of resolutions
        k_max = int(np.clip(np.sqrt(rows.size / _SCREEN_CELL_ROWS) - 1, 2, _SCREEN_GROUPS))
        resolutions = sorted({k for k in _SCREEN_RESOLUTIONS if k < k_max} | {k_max})
        pairs = np.array(list(itertools.combinations(range(p), 2)))
        inv = np.argsort(self.engine_feature_order_)
        n_bins = self._n_value_bins()

        held_out_cache = {}

        def held_out_prob(quick_models, parts):
            """Each quick model's probabilities on the rows it was not fitted on (computed
            once: when cross-fitting, the check's rows are the test's)."""
            key = (id(quick_models), id(parts))
            if key not in held_out_cache:
                # the entry keeps the models alive, so their id is not reused meanwhile
                held_out_cache[key] = (quick_models, _held_out_prob(quick_models, parts))
            return held_out_cache[key][1]

        def _held_out_prob(quick_models, parts):
            terms = quick_models.terms
            cells = sum(int(np.prod([n_bins[j] + 1 for j in t])) for t in terms)
            out = []
            for m, (_, t) in zip(quick_models.models, parts, strict=True):
                if cells > t.size:
                    out.append(m.predict_proba(Xb[t])[:, 1])
                    continue
                # fewer cells than rows: evaluate the trees once on every bin and look
                # the rows up (the same sums, far fewer tree evaluations)
                raw = _engine_raw(m, terms, n_bins, self.engine_feature_order_, idx[t])
                out.append(expit(raw))
            return np.concatenate(out)

        def test_pairs(models):
            """Log p-values of every pair on the models' residuals, with the statistics
            and degrees of freedom of every grid."""
            prob = held_out_prob(models, folds)
            g = (y01[rows] - prob) * sw[rows]
            h = prob * (1 - prob) * sw[rows]
            # every cell gets a prior of a few rows' hessian: sparse cells (rare
            # categories, rare events) cannot make a pair look significant on their own
            lam = _SCREEN_PRIOR_ROWS * h.sum() / rows.size + 1e-12
            grids = [self._pair_statistics(rows_idx, g, h, lam, K) for K in resolutions]
            logp = np.min([_chi2_logsf(stat, df) for stat, df in grids], axis=0)
            return logp + np.log(len(resolutions)), grids, prob

        def fit_quick(chosen):
            cst = [[j] for j in range(p)] + [[int(inv[i]), int(inv[j])] for i, j in chosen]
            return _QuickModels(
                [
                    _Engine(interaction_cst=cst, random_state=seed, **quick).fit(
                        Xb[f], y01[f], sample_weight=_engine_weights(sw, f)
                    )
                    for f, _ in checks
                ],
                main_terms + [tuple(pr) for pr in chosen],
            )

        def held_out_losses(models, prob=None):
            """Log-loss of every check row under the models fitted without it."""
            if prob is None:
                prob = held_out_prob(models, checks)
            return _row_log_loss(y01[check_rows], prob)

        def check(what, fixed, ranked, base_losses, models=None):
            """The pairs of ``ranked`` (strongest first) that may join ``fixed``, with
            the quick models and held-out losses of ``fixed`` plus them.

            The whole list must lower the held-out log-loss of the model with ``fixed``
            alone by more than the rows' noise: a one-sided paired test of the gain at
            ``check_alpha``. A few strong pairs can help while weaker ones after them
            cost more than they bring, so if the list fails, its strongest half is
            checked, then a quarter, down to one pair; the level is shared among these
            tries (Bonferroni), so they find no more pairs by chance than one test.
            ``([], None, None)`` if none passes.
            """
            sizes = [len(ranked) >> k for k in range(len(ranked).bit_length())]
            level = np.log(self.check_alpha / len(sizes))
            for m in sizes:
                if models is None or m < len(ranked):
                    models = fit_quick(fixed + ranked[:m])
                losses = held_out_losses(models)
                if self.check_alpha >= 1:
                    return ranked, models, losses
                res = _paired_gain(base_losses, losses, sw[check_rows])
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

        def as_pairs(keep):
            return [(int(pairs[k, 0]), int(pairs[k, 1])) for k in keep]

        level = np.log(self.screen_alpha / n_pairs)
        logp, grids, prob = test_pairs(mains)
        order = np.argsort(logp, kind="stable")
        strong = order[logp[order] < level][: self.n_interactions]
        logger.debug("significant pairs %s (log p %s)", as_pairs(strong), logp[strong].round(1))
        # a strong pair left out of the model makes its features look paired with
        # others (the logistic averaged over the missing feature is not additive), so
        # when cross-fitting, a pair sharing a feature with a stronger one is tested
        # again on the residuals of quick models with the strongest pairs that
        # share none. Not with one split, where rows to spare give the first test
        # its power and the re-test doubles the screen's time (bench/results_tuning.md)
        anchors, used = [], set()
        for k in strong:
            if used.isdisjoint(pairs[k]):
                anchors.append(k)
                used.update(pairs[k].tolist())
        with_pairs = None
        if len(anchors) < strong.size and checks_are_folds:
            with_pairs = fit_quick(as_pairs(anchors))
            again = test_pairs(with_pairs)[0]
            strong = np.array([k for k in strong if k in anchors or again[k] < level], dtype=int)
            logger.debug("kept after the second test %s", as_pairs(strong))
        chosen = as_pairs(strong)
        base = mains
        # out-of-fold predictions of the quick models double as the check's when
        # cross-fitting; with one split the check has rows of its own
        base_losses = held_out_losses(mains, prob) if checks_are_folds else None
        if chosen:
            base_losses = held_out_losses(mains) if base_losses is None else base_losses
            if len(anchors) < strong.size:
                with_pairs = None  # fitted with the anchors only
            chosen, with_pairs, losses = check(
                "screened pairs", [], chosen, base_losses, with_pairs
            )
            if not chosen:
                return []
            base, base_losses = with_pairs, losses
        free = self.n_interactions - len(chosen)
        if free == 0 or not checks_are_folds:
            # with one split: rows to spare (the test has the power on its own) or wide
            # data (the global test would treat dependent pairs as independent)
            return chosen
        # interaction signal can be spread thinly over many pairs that no single test
        # calls significant: on the residuals of the quick models with the
        # significant pairs (a strong pair, left out, makes its features look paired
        # with others), a global test sums the other pairs' statistics on the finest
        # grid against chi-squared with the summed degrees of freedom. Only the finest
        # grid: on coarse ones the main effects left inside a group add up over many
        # pairs and pass for interaction (bench/results_tuning.md, session 4)
        if chosen:
            logp, grids, _ = test_pairs(base)
        other = np.isfinite(logp)
        other[strong] = False
        if not other.any():
            return chosen
        stat, df = grids[-1]
        global_logp = chi2.logsf(stat[other].sum(), df[other].sum())
        logger.debug("global test of the other pairs: log p %.1f", global_logp)
        if global_logp >= np.log(self.global_alpha):
            return chosen
        order = np.argsort(np.where(other, logp, np.inf), kind="stable")
        extra = order[np.isfinite(logp[order]) & other[order]][:free]
        logger.debug("pairs by rank %s (log p %s)", as_pairs(extra), logp[extra].round(1).tolist())
        return chosen + check("pairs by rank", chosen, as_pairs(extra), base_losses)[0]

    def _pair_statistics(self, idx, g, h, lam, K) -> tuple[np.ndarray, np.ndarray]:
        """Interaction statistic (twice the gain over row + column effects) and degrees
        of freedom of every pair, on a grid of K groups per feature plus missing."""
        p = idx.shape[1]
        n_bins = self._n_value_bins()
        G1 = K + 1
        coarse = np.empty(idx.shape, dtype=np.intp)
        for j in range(p):
            col = idx[:, j]
            counts = np.bincount(col, minlength=n_bins[j] + 1)[: n_bins[j]]
            if self.is_categorical_[j]:
                order = np.argsort(-counts, kind="stable")
                lut = np.full(n_bins[j] + 1, K - 1)
                lut[order[: K - 1]] = np.arange(min(K - 1, order.size))
            else:
                before = np.concatenate([[0], np.cumsum(counts)[:-1]]) / max(counts.sum(), 1)
                lut = np.append(np.minimum((before * K).astype(np.intp), K - 1), 0)
            lut[n_bins[j]] = K  # missing group
            coarse[:, j] = lut[col]
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

    def _smoothed_tables(self, idx, y01, sw, val_rows, terms, n_bins):
        """Average of the bags' tables, each smoothed (see ``smoothing``) with the
        half-width that gives the lowest log-loss on its own validation rows."""
        p = idx.shape[1]
        weights = [np.bincount(idx[:, j], weights=sw, minlength=n_bins[j] + 1) for j in range(p)]
        frozen = set()
        if self.monotonic_method == "engine":
            frozen = {k for k, t in enumerate(terms) if self.monotonic_cst_[list(t)].any()}
        numeric = [
            j for j in range(p) if not self.is_categorical_[j] and n_bins[j] >= _SMOOTHING_MIN_BINS
        ]
        cache = {}

        def smoothed(tables, width):
            if width not in cache:
                cache[width] = {j: _local_linear(weights[j][: n_bins[j]], width) for j in numeric}
            return [
                tab if k in frozen else _smooth_table(tab, t, cache[width])
                for k, (t, tab) in enumerate(zip(terms, tables, strict=True))
            ]

        def loss(c, tables, rows):
            raw = _table_raw(c, terms, tables, idx[rows])
            return _log_loss(y01[rows], expit(raw), sw[rows])

        if self.smoothing == "auto":
            candidates = _SMOOTHING_WIDTHS
        else:
            candidates = (float(self.smoothing),)
        const, total, widths = 0.0, None, []
        for est, rows in zip(self.estimators_, val_rows, strict=True):
            c, tables = _engine_tables([est], terms, n_bins, self.engine_feature_order_)
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
        self.smoothing_widths_ = np.array(widths)
        nb = len(self.estimators_)
        return const / nb, [t / nb for t in total]

    def _build_tables(self, idx, y01, sw, val_rows):
        p = idx.shape[1]
        terms = [(j,) for j in range(p)] + [tuple(pr) for pr in self.interactions_]
        n_bins = self._n_value_bins()
        if self.smoothing is None or self.smoothing == 0:
            const, tables = _engine_tables(
                self.estimators_, terms, n_bins, self.engine_feature_order_
            )
            self.smoothing_widths_ = np.zeros(len(self.estimators_))
        else:
            const, tables = self._smoothed_tables(idx, y01, sw, val_rows, terms, n_bins)

        # weights, counts and events of every cell, from the training rows
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

        tables, const = _purify_and_centre(tables, terms, w_tabs, const)
        if self.monotonic_method == "isotonic" and self.monotonic_cst_.any():
            tables = _project_monotone(tables, terms, w_tabs, self.monotonic_cst_)
            tables, const = _purify_and_centre(tables, terms, w_tabs, const)
        self.intercept_ = const
        self.term_features_ = terms
        self.term_names_ = [" x ".join(self._feature_name(j) for j in t) for t in terms]
        self.tables_ = tables
        self._cell_counts = c_tabs
        self._cell_events = e_tabs

    # ------------------------------------------------------------ saved state
    # What prediction, contributions, bin labels and the shape tables read, as JSON
    # fields and arrays (RiskModel.save; no pickle). The boosting engines
    # (``estimators_``) are not part of it: the tables are the model.
    def _to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """The fitted model as JSON fields and NumPy arrays (see :meth:`_from_state`)."""
        check_is_fitted(self)
        fields, arrays = encoder_state(self)
        fields.update(
            params=params_state(self),
            intercept=float(self.intercept_),
            term_features=[[int(j) for j in t] for t in self.term_features_],
            n_iter=[int(n) for n in self.n_iter_],
            smoothing_widths=[float(w) for w in self.smoothing_widths_],
        )
        for j, seen in enumerate(self._bin_seen):
            if seen is not None:
                arrays[f"bin_seen.{j}"] = np.vstack(seen)
        for k, tab in enumerate(self.tables_):
            arrays[f"tables.{k}"] = tab
            arrays[f"cell_counts.{k}"] = self._cell_counts[k]
            arrays[f"cell_events.{k}"] = self._cell_events[k]
        return fields, arrays

    @classmethod
    def _from_state(cls, fields: dict, arrays, **names) -> AdditiveRiskClassifier:
        """Rebuild a fitted model from :meth:`_to_state` output, checking every field.

        ``names`` (``fields_name``, ``arrays_name``, ``array_prefix``) say where the
        state came from in error messages. Raises ``ValueError`` naming the field that breaks a rule.
        """
        r = StateReader(fields, arrays, **names)
        self = read_params(cls, r)
        set_encoder_state(self, r)
        p = self.n_features_in_
        n_bins = self._n_value_bins()
        self._bin_seen = [
            None if self.is_categorical_[j] else read_bin_seen(r, j, n_bins[j]) for j in range(p)
        ]
        terms = r.field("term_features", list, "a list of feature index lists")
        ok = all(
            isinstance(t, list)
            and len(t) in (1, 2)
            and all(isinstance(j, int) and not isinstance(j, bool) and 0 <= j < p for j in t)
            for t in terms
        )
        ok = ok and [t for t in terms[:p]] == [[j] for j in range(p)]
        ok = ok and all(len(t) == 2 and t[0] < t[1] for t in terms[p:])
        if not ok or len({tuple(t) for t in terms}) != len(terms):
            raise r.fail(
                "term_features", f"must list the {p} features, then distinct pairs (i < j)."
            )
        self.term_features_ = [tuple(t) for t in terms]
        self.interactions_ = [tuple(t) for t in terms[p:]]
        self.term_names_ = [" x ".join(self._feature_name(j) for j in t) for t in terms]
        self.engine_feature_order_ = np.concatenate(
            [np.flatnonzero(self.is_categorical_), np.flatnonzero(~self.is_categorical_)]
        )
        self.intercept_ = float(r.number("intercept"))
        self.n_iter_ = np.asarray(r.int_list("n_iter", low=0), dtype=np.int64)
        widths = r.field("smoothing_widths", list, "a list of numbers")
        if len(widths) != self.n_iter_.size or not all(
            isinstance(w, int | float) and not isinstance(w, bool) and 0 <= w <= 0.5 for w in widths
        ):
            raise r.fail("smoothing_widths", "must hold one number in [0, 0.5] per bag.")
        self.smoothing_widths_ = np.asarray(widths, dtype=np.float64)
        self.tables_, self._cell_counts, self._cell_events = [], [], []
        for k, t in enumerate(self.term_features_):
            shape = tuple(int(n_bins[j]) + 1 for j in t)
            self.tables_.append(r.array(f"tables.{k}", "f", shape))
            self._cell_counts.append(r.array(f"cell_counts.{k}", "iu", shape, low=0))
            self._cell_events.append(r.array(f"cell_events.{k}", "f", shape, low=0))
        r.finish()
        return self

    # ------------------------------------------------------------ predict
    def _encode(self, X) -> np.ndarray:
        check_is_fitted(self)
        X, _ = check_X(self, X, reset=False)
        enc = encode(X, self.is_categorical_, self.categories_)
        if enc.n_unknown.any():
            logger.info(
                "unknown categories in %d value(s) of features %s scored in the missing bin",
                int(enc.n_unknown.sum()),
                [self._feature_name(j) for j in np.flatnonzero(enc.n_unknown)],
            )
        return self._digitize(enc.X)

    def bin_indices(self, X) -> np.ndarray:
        """Table index of every value of ``X``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features.

        Returns
        -------
        ndarray of int of shape (n_samples, n_features)
            Value bins are ``0 .. k-1``; ``k`` (the table's last entry) is missing.
        """
        return self._encode(X)

    def bin_labels(self, X) -> pd.DataFrame:
        """Label of the bin each value of ``X`` falls in (same labels as shape_tables).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features.

        Returns
        -------
        DataFrame of shape (n_samples, n_features)
            One column per feature.
        """
        idx = self._encode(X)
        cols = {}
        for j in range(idx.shape[1]):
            labels = np.asarray(self._feature_bins(j)["bin"], dtype=object)
            cols[self._feature_name(j)] = pd.array(labels[idx[:, j]], dtype="str")
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(cols, index=index)

    def _contributions_from_idx(self, idx: np.ndarray) -> np.ndarray:
        # one contiguous row per term, returned transposed (column-major): filling and
        # later per-term (column) work stay contiguous, and pandas wraps it without a copy
        out = np.empty((len(self.tables_), idx.shape[0]))
        cols = np.asfortranarray(idx)
        for k, (t, tab) in enumerate(zip(self.term_features_, self.tables_, strict=True)):
            if len(t) == 1:
                np.take(tab, cols[:, t[0]], out=out[k])
            else:
                np.take(tab.ravel(), cols[:, t[0]] * tab.shape[1] + cols[:, t[1]], out=out[k])
        return out.T

    def contributions(self, X) -> np.ndarray:
        """Contribution of every term to each row's log-odds.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features.

        Returns
        -------
        ndarray of shape (n_samples, n_terms)
            Columns follow ``term_names_``; each row sums with ``intercept_`` to the
            decision function.
        """
        return self._contributions_from_idx(self._encode(X))

    def decision_function(self, X) -> np.ndarray:
        """Log-odds of the event: ``intercept_ + contributions(X).sum(axis=1)``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features.

        Returns
        -------
        ndarray of shape (n_samples,)
            Log-odds of ``classes_[1]``.
        """
        contrib = self.contributions(X)
        return self.intercept_ + contrib.sum(axis=1)

    # ------------------------------------------------------------ tables
    def _feature_bins(self, j: int) -> pd.DataFrame:
        """Bins of feature ``j`` (value bins then missing): label, lower, upper, category."""
        if self.is_categorical_[j]:
            cats = self.categories_[j]
            k = len(cats)
            return pd.DataFrame(
                {
                    "bin": [str(c) for c in cats] + ["missing"],
                    "lower": np.full(k + 1, np.nan),
                    "upper": np.full(k + 1, np.nan),
                    "category": [str(c) for c in cats] + [None],
                }
            )
        t = self.bin_thresholds_[j]
        lower = np.concatenate([[-np.inf], t])
        upper = np.concatenate([t, [np.inf]])
        lo, hi = self._bin_seen[j]
        labels = [bin_label(a, b, c, d) for a, b, c, d in zip(lower, upper, lo, hi, strict=True)]
        return pd.DataFrame(
            {
                "bin": labels + ["missing"],
                "lower": np.append(lower, np.nan),
                "upper": np.append(upper, np.nan),
                "category": [None] * (t.size + 2),
            }
        )

    def shape_tables(self) -> pd.DataFrame:
        """Every term's contribution per bin, as one tidy table.

        Returns
        -------
        DataFrame
            One row per bin of a feature term, or per cell of a pair term, with columns
            ``term``, ``feature``, ``bin``, ``lower``, ``upper``, ``category``
            (the bin of the term's first feature), ``feature_2``, ``bin_2``,
            ``lower_2``, ``upper_2``, ``category_2`` (second feature of a pair; empty
            for a single feature), ``contribution`` (log-odds, centred on the training
            mean), ``count`` (training rows) and ``event_rate`` (share of training rows
            with the event; NaN for empty bins). Numeric bins are ``(lower, upper]``;
            each feature ends with its ``missing`` bin.
        """
        check_is_fitted(self)
        parts = []
        for k, t in enumerate(self.term_features_):
            count = self._cell_counts[k].ravel()
            events = self._cell_events[k].ravel()
            rate = np.divide(events, count, out=np.full(count.shape, np.nan), where=count > 0)
            first = self._feature_bins(t[0])
            if len(t) == 1:
                df = first.copy()
                df.insert(0, "feature", self._feature_name(t[0]))
                for col in ("feature_2", "bin_2", "category_2"):
                    df[col] = None
                df["lower_2"] = np.nan
                df["upper_2"] = np.nan
            else:
                second = self._feature_bins(t[1])
                a = np.repeat(np.arange(len(first)), len(second))
                b = np.tile(np.arange(len(second)), len(first))
                df = first.iloc[a].reset_index(drop=True)
                df.insert(0, "feature", self._feature_name(t[0]))
                df["feature_2"] = self._feature_name(t[1])
                s2 = second.iloc[b].reset_index(drop=True)
                for col in ("bin", "lower", "upper", "category"):
                    df[f"{col}_2"] = s2[col]
            df.insert(0, "term", self.term_names_[k])
            df["contribution"] = self.tables_[k].ravel()
            df["count"] = count.astype(np.int64)
            df["event_rate"] = rate
            parts.append(df)
        cols = [
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
        out = pd.concat([p[cols] for p in parts], ignore_index=True)
        for col in ("term", "feature", "bin", "category", "feature_2", "bin_2", "category_2"):
            out[col] = out[col].astype("str")
        return out

    def term_importances(self) -> pd.Series:
        """Mean absolute contribution of each term over the training rows.

        Returns
        -------
        Series
            Indexed by term name, sorted from most to least important.
        """
        check_is_fitted(self)
        imp = [
            float((np.abs(tab) * c).sum() / c.sum())
            for tab, c in zip(self.tables_, self._cell_counts, strict=True)
        ]
        return pd.Series(imp, index=self.term_names_, name="mean_abs_contribution").sort_values(
            ascending=False
        )
