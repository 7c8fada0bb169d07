"""Additive risk model: bagged, interaction-constrained gradient boosting (private).

The estimator fits bags of boosted trees with one interaction group per feature (plus
one per selected pair), reads every tree back as a function of the one feature (or pair)
it uses, evaluated on every bin, and keeps only those lookup tables. Prediction then *is*
a sum of table look-ups: the explanation is the model, not an approximation of it.

The parts live in their own modules: ``_binning`` (bins), ``_engine`` (the boosting
engine, the only code on scikit-learn internals), ``_pair_screen`` (which pairs),
``_tables`` (tables from trees, purification, monotone projection) and ``_smoothing``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from ._bagging import engine_params, fit_bags, size_settings
from ._base import BinnedClassifier, rows_doc
from ._binning import numeric_thresholds
from ._data import StateReader, read_terms
from ._engine import Number, StrOptions, engine_order
from ._pair_screen import Levels, given_pairs, screen_pairs
from ._smoothing import smoothed_tables
from ._tables import (
    cell_stats,
    engine_tables,
    project_monotone,
    purify_and_centre,
    shape_frame,
    term_lookups,
)

__all__ = ["AdditiveRiskClassifier"]

_LEVEL = [Number(float, 0, 1, closed="right")]


class AdditiveRiskClassifier(BinnedClassifier):
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

    holds exactly, because the decision function is computed from the tables. The
    fitted model keeps the tables, not the boosted trees.

    Parameters
    ----------
    n_bags : int or "auto", default="auto"
        Number of boosted models averaged. Each uses a different random validation
        split for early stopping (and a different row subsample if ``subsample < 1``).
        ``"auto"``: 5 below 10,000 training rows, then 2 (see Notes).
    n_interactions : int or "auto", default="auto"
        Maximum number of pairwise terms (``"auto"``: 3 below 10,000 training rows,
        then 20), chosen by a screen: every pair of features is
        tested for interaction on the held-out residuals of a quick main-effects model
        (a likelihood-ratio test on two-way tables of coarse groups, at
        ``screen_alpha`` with a Bonferroni correction), and the significant pairs are
        kept, strongest first, if a quick model with them predicts held-out rows
        significantly better (``check_alpha``); on mid-size data, places left may go to
        the next pairs by rank (``global_alpha``) if they lower the held-out log-loss
        at all. Data without interactions get no
        pairs. A monotone feature may be paired. ``0`` gives a pure additive model.
        ``docs/models.md`` describes the screen.
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
        Level of the held-out check of every set of significant pairs: a one-sided
        paired test on the rows the quick models were not fitted on, the mean per-row
        log-loss gain of the model with the pairs over the model without them divided
        by its standard error over the rows, against the standard normal. If the set
        fails, its strongest half is checked, then a quarter, down to one pair, each
        at ``check_alpha`` divided by the number of these tries. Pairs given places by
        rank (after the global test) are kept, all or none, when one fold's quick model
        with them has any held-out gain. ``1`` turns both checks off.
    learning_rate : float or "auto", default="auto"
        Shrinkage of each tree. ``"auto"``: 0.05 below 10,000 training rows, then 0.2.
    max_iter : int, default=2000
        Maximum number of boosting iterations (one tree each) per bag.
    max_leaf_nodes : int, default=6
        Leaves per tree; small trees give smooth shape functions.
    min_samples_leaf : int, default=20
        Minimum number of training rows in a leaf.
    l2_regularization : float, default=1.0
        L2 penalty on leaf values.
    max_bins : int, default=255
        Maximum number of value bins of a numeric feature (at most 255; the missing bin
        is extra). Features with fewer distinct values get one bin per value.
        Categorical features must have at most ``max_bins`` categories.
    monotonic_cst : array-like of int of shape (n_features,) or dict, default=None
        Monotonic constraint per feature, as in HistGradientBoostingClassifier:
        ``1`` risk never decreases as the feature grows, ``-1`` never increases,
        ``0`` no constraint. A dict maps feature names to constraints (needs a
        DataFrame). The missing bin is not constrained.
    monotonic_method : {"isotonic", "engine"}, default="isotonic"
        How the constraints are kept. ``"isotonic"``: the bags are boosted without
        them, then every constrained shape (a feature's own table, and each pair table
        along the feature for every bin of the other) is projected onto the nearest
        monotone one by weighted isotonic regression over the value bins, and the pairs
        are purified again. ``"engine"``: HistGradientBoostingClassifier keeps every
        tree monotone while boosting. Either way the log-odds never move against a
        constraint as the feature grows, whatever the other features.
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
        Smoothing of the numeric shapes after boosting: each bag's tables are smoothed
        along every numeric feature with at least 32 value bins by a local-linear
        smoother over the bins, with a half-width counted in shares of the training
        rows (bins wider than the window keep their value, so steps stay steps; missing
        bins and categorical features are left alone). ``"auto"``: each bag picks its
        half-width among 0, 1%, 2%, 4%, 8% and 16% by the log-loss on its own
        early-stopping rows (none without early stopping); a number fixes it; ``0`` or
        ``None``: no smoothing. With ``monotonic_method="engine"``, terms with a
        constrained feature are not smoothed. The smoothed tables are the model.
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
        Per term, the contribution (log-odds) of each bin (value bins, then missing), a
        2-D array for a pair. Pair tables are purified: their means over each row and
        column (weighted by the other feature's training bins) are moved into the two
        features' own tables.
    cell_counts_, cell_events_ : list of ndarray
        Per term, shaped as ``tables_``: training rows and events in each bin or cell.
    binner_ : Binner
        The bins of every feature (value bins, then one missing bin).
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
    n_bags_, learning_rate_, n_interactions_ : int, float, int
        The bags, learning rate and pair budget used (``"auto"`` resolved).
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
    The ``"auto"`` settings follow the number of training rows: small data gain most
    from averaging bags at a low learning rate; with more rows, fewer bags at a higher
    learning rate rank as well in a fraction of the time, and the pair budget grows.
    From 10,000 rows they are the default model spec's settings
    (``models/default.toml``). ``docs/models.md`` and ``docs/benchmarks.md`` give the
    measurements against EBM.

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

    _parameter_constraints: dict = {
        **BinnedClassifier._parameter_constraints,
        "n_bags": [StrOptions({"auto"}), Number(int, 1, None, closed="left")],
        "n_interactions": [StrOptions({"auto"}), Number(int, 0, None, closed="left")],
        "interactions": ["array-like", None],
        "screen_alpha": _LEVEL,
        "global_alpha": _LEVEL,
        "check_alpha": _LEVEL,
        "learning_rate": [StrOptions({"auto"}), Number(float, 0, 1, closed="right")],
        "max_iter": [Number(int, 1, None, closed="left")],
        "max_leaf_nodes": [Number(int, 2, None, closed="left")],
        "min_samples_leaf": [Number(int, 1, None, closed="left")],
        "l2_regularization": [Number(float, 0, None, closed="left")],
        "monotonic_method": [StrOptions({"isotonic", "engine"})],
        "early_stopping": [StrOptions({"auto"}), "boolean"],
        "validation_fraction": [Number(float, 0, 1, closed="neither")],
        "n_iter_no_change": [Number(int, 1, None, closed="left")],
        "subsample": [Number(float, 0, 1, closed="right")],
        "smoothing": [StrOptions({"auto"}), None, Number(float, 0, 0.5, closed="both")],
    }

    def __init__(
        self,
        *,
        n_bags="auto",
        n_interactions="auto",
        interactions=None,
        screen_alpha: float = 0.01,
        global_alpha: float = 0.01,
        check_alpha: float = 0.01,
        learning_rate="auto",
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

    # ------------------------------------------------------------------ fit
    def _thresholds(self, j, x, y01, sw, rng):
        """Value bins of numeric feature ``j``: one per distinct value, or quantiles."""
        return numeric_thresholds(x, self.max_bins, rng)

    def _fit(self, idx, y01, sw, rng):
        """Screen pairs, boost the bags and build the shape tables (``fit``)."""
        n, p = idx.shape
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
        self._set_sizes(n)
        n_bins = self.binner_.n_value_bins
        order = engine_order(self.is_categorical_)
        # the engine's input: bin indices as floats, NaN for missing, in engine order
        Xb = np.where(idx == n_bins, np.nan, idx).astype(np.float64)[:, order]
        early = self.early_stopping if self.early_stopping != "auto" else n >= 100
        params = engine_params(self, early, order)

        screen_seed = int(rng.randint(np.iinfo(np.int32).max))
        if self.interactions is None:
            # the screen draws from its own stream, so the bags do not depend on it:
            # when it keeps no pair the model equals the n_interactions=0 one
            levels = Levels(
                self.n_interactions_, self.screen_alpha, self.global_alpha, self.check_alpha
            )
            data = (Xb, idx, y01, sw, params, np.random.RandomState(screen_seed), levels)
            kw = dict(max_iter=self.max_iter, n_bins=n_bins, order=order)
            self.interactions_ = screen_pairs(*data, is_cat=self.is_categorical_, **kw)
        else:
            names = getattr(self, "feature_names_in_", None)
            self.interactions_ = given_pairs(self.interactions, p, names)
        engines, val_rows = self._fit_bags(Xb, y01, sw, params, order, early, rng)
        self.n_iter_ = np.array([e.n_iter for e in engines])
        self._build_tables(engines, val_rows, idx, y01, sw, order)

    def _set_sizes(self, n_samples: int) -> None:
        """Resolve ``"auto"`` bags, learning rate and pair budget for ``n_samples`` rows."""
        sizes = size_settings(self.n_bags, self.learning_rate, self.n_interactions, n_samples)
        self.n_bags_, self.learning_rate_, self.n_interactions_ = sizes

    def _fit_bags(self, Xb, y01, sw, params, order, early, rng):
        """Boost every bag; returns the engines and each bag's validation rows (or None)."""
        inv = np.argsort(order)
        groups = [[int(inv[j])] for j in range(Xb.shape[1])] + [
            [int(inv[i]), int(inv[j])] for i, j in self.interactions_
        ]
        kw = dict(n_bags=self.n_bags_, subsample=self.subsample, early=early, rng=rng)
        return fit_bags(Xb, y01, sw, params, groups, **kw)

    def _build_tables(self, engines, val_rows, idx, y01, sw, order):
        """The engines' tables, smoothed, purified, projected and centred."""
        p = idx.shape[1]
        terms = [(j,) for j in range(p)] + [tuple(pr) for pr in self.interactions_]
        n_bins = self.binner_.n_value_bins
        if self.smoothing is None or self.smoothing == 0:
            const, tables = engine_tables(engines, terms, n_bins, order)
            self.smoothing_widths_ = np.zeros(len(engines))
        else:
            frozen = set()
            if self.monotonic_method == "engine":
                frozen = {k for k, t in enumerate(terms) if self.monotonic_cst_[list(t)].any()}
            const, tables, self.smoothing_widths_ = smoothed_tables(
                engines,
                val_rows,
                idx,
                y01,
                sw,
                terms,
                n_bins,
                order,
                smoothing=self.smoothing,
                is_categorical=self.is_categorical_,
                frozen=frozen,
            )
        w_tabs, self.cell_counts_, self.cell_events_ = cell_stats(idx, y01, sw, terms, tables)
        tables, const = purify_and_centre(tables, terms, w_tabs, const)
        if self.monotonic_method == "isotonic" and self.monotonic_cst_.any():
            tables = project_monotone(tables, terms, w_tabs, self.monotonic_cst_)
            tables, const = purify_and_centre(tables, terms, w_tabs, const)
        self.intercept_ = const
        self.term_features_ = terms
        self.term_names_ = self._term_names(terms)
        self.tables_ = tables

    # ------------------------------------------------------------ saved state
    # The tables and what shape_tables reads besides them (BinnedClassifier._to_state).
    def _write_state(self, fields: dict, arrays: dict) -> None:
        fields.update(
            intercept=float(self.intercept_),
            term_features=[[int(j) for j in t] for t in self.term_features_],
            n_iter=[int(n) for n in self.n_iter_],
            smoothing_widths=[float(w) for w in self.smoothing_widths_],
        )
        for k, tab in enumerate(self.tables_):
            arrays[f"tables.{k}"] = tab
            arrays[f"cell_counts.{k}"] = self.cell_counts_[k]
            arrays[f"cell_events.{k}"] = self.cell_events_[k]

    def _read_state(self, r: StateReader) -> None:
        p = self.n_features_in_
        n_bins = self.binner_.n_value_bins
        self.term_features_ = read_terms(r, p)
        self.interactions_ = self.term_features_[p:]
        self.term_names_ = self._term_names(self.term_features_)
        self.intercept_ = float(r.number("intercept"))
        self.n_iter_ = np.asarray(r.int_list("n_iter", low=0), dtype=np.int64)
        widths = r.field("smoothing_widths", list, "a list of numbers")
        if len(widths) != self.n_iter_.size or not all(
            isinstance(w, int | float) and not isinstance(w, bool) and 0 <= w <= 0.5 for w in widths
        ):
            raise r.fail("smoothing_widths", "must hold one number in [0, 0.5] per bag.")
        self.smoothing_widths_ = np.asarray(widths, dtype=np.float64)
        self.tables_, self.cell_counts_, self.cell_events_ = [], [], []
        for k, t in enumerate(self.term_features_):
            shape = tuple(int(n_bins[j]) + 1 for j in t)
            self.tables_.append(r.array(f"tables.{k}", "f", shape))
            self.cell_counts_.append(r.array(f"cell_counts.{k}", "iu", shape, low=0))
            self.cell_events_.append(r.array(f"cell_events.{k}", "f", shape, low=0))
        # the resolved sizes follow from the parameters and the training rows (counted
        # in every feature's bins), so they are recomputed, not stored
        self._set_sizes(int(self.cell_counts_[0].sum()))
        if self.n_bags_ != self.n_iter_.size:
            raise r.fail("n_iter", f"must hold one count per bag ({self.n_bags_}).")

    # ------------------------------------------------------------ predict
    @rows_doc(
        "ndarray of int of shape (n_samples, n_features)",
        "Value bins are ``0 .. k-1``; ``k`` (the table's last entry) is missing.",
    )
    def bin_indices(self, X) -> np.ndarray:
        """Table index of every value of ``X``."""
        return self._encode(X)

    @rows_doc("DataFrame of shape (n_samples, n_features)", "One column per feature.")
    def bin_labels(self, X) -> pd.DataFrame:
        """Label of the bin each value of ``X`` falls in (same labels as shape_tables)."""
        idx = self._encode(X)
        cols = {}
        for j in range(idx.shape[1]):
            labels = np.asarray(self.binner_.bins(j)["bin"], dtype=object)
            cols[self._feature_name(j)] = pd.array(labels[idx[:, j]], dtype="str")
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(cols, index=index)

    def _contributions(self, idx: np.ndarray) -> np.ndarray:
        return term_lookups(self.term_features_, self.tables_, idx)

    def _log_odds(self, idx: np.ndarray) -> np.ndarray:
        # intercept_ + contributions(X).sum(axis=1): the decision function is the tables
        return self.intercept_ + self._contributions(idx).sum(axis=1)

    # ------------------------------------------------------------ tables
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
        return shape_frame(
            self.term_features_,
            self.term_names_,
            self.tables_,
            self.cell_counts_,
            self.cell_events_,
            self.binner_.bins,
            self._feature_name,
        )

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
            for tab, c in zip(self.tables_, self.cell_counts_, strict=True)
        ]
        return pd.Series(imp, index=self.term_names_, name="mean_abs_contribution").sort_values(
            ascending=False
        )
