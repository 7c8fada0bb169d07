"""scikit-learn's private names, in one place (private).

The additive model is boosted by scikit-learn's ``HistGradientBoostingClassifier`` and then
read back as tables, which needs parts of it that are not public API: its fitted trees
(``_predictors``, ``TreePredictor``), its bin mapper, baseline and preprocessor, and one
method it calls while boosting. :class:`Engine` is the one adapter over them; every other
module talks to the engine through it. The parameter checks (``_fit_context``,
``Interval``) and ``_check_sample_weight`` are scikit-learn's own tools for estimators,
also private names, and are imported here too. :func:`check_internals` lists what changed
when a scikit-learn release moves any of them; the first fit of an engine runs it and
stops with that list rather than building wrong tables.
"""

from __future__ import annotations

import inspect
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
import sklearn
from sklearn.base import _fit_context
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import _check_sample_weight

__all__ = [
    "Engine",
    "InvalidParameterError",
    "Number",
    "StrOptions",
    "TreePart",
    "check_internals",
    "check_sample_weight",
    "engine_order",
    "engine_weights",
    "fit_context",
    "validate_every_param",
    "validation_split",
]

fit_context = _fit_context
check_sample_weight = _check_sample_weight


# ----------------------------------------------------------------------- parameters
class Number(Interval):
    """``Interval`` of ints (``Number(int, ...)``) or reals that refuses booleans.

    scikit-learn counts ``True`` as the number 1; a level, a rate or a count given as
    ``True`` is almost surely a mistake, so it is refused with the interval's message.
    """

    def __init__(self, kind, left, right, *, closed):
        super().__init__(Integral if kind is int else Real, left, right, closed=closed)

    def is_satisfied_by(self, val):
        return not isinstance(val, bool | np.bool_) and super().is_satisfied_by(val)


def validate_every_param(est) -> None:
    """Check ``est``'s parameters against its ``_parameter_constraints``, all at once.

    scikit-learn stops at the first bad parameter; this reports every one, each with
    scikit-learn's message (what it must be, what was found). Raises
    ``InvalidParameterError`` (a ``ValueError`` and a ``TypeError``).
    """
    name = type(est).__name__
    problems = []
    for key, value in est.get_params(deep=False).items():
        try:
            validate_parameter_constraints(est._parameter_constraints, {key: value}, name)
        except InvalidParameterError as exc:
            problems.append(str(exc))
    if problems:
        raise InvalidParameterError(" ".join(problems))


# ----------------------------------------------------------------------- the engine
class _Booster(HistGradientBoostingClassifier):
    """``HistGradientBoostingClassifier`` that skips the training loss when it stops early
    on validation rows.

    With validation data, scikit-learn still computes the log-loss of every training row
    at every iteration, only to record it in ``train_score_``; early stopping reads
    ``validation_score_`` alone. Skipping it fits the same trees (tested against the
    parent class) in less time; ``train_score_`` stays empty. Without validation data the
    parent's method runs unchanged.
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


class TreePart(NamedTuple):
    """Part of a tree that uses one feature set (engine columns): ``features`` empty
    means the part is the ``constant``; otherwise ``predict(X)`` evaluates it."""

    features: tuple
    constant: float
    predict: object


class Engine:
    """One boosted model: the few things the additive model asks of it.

    Parameters are ``HistGradientBoostingClassifier``'s. The engine takes the binned
    matrix (bin indices as floats, NaN for missing) with columns in :func:`engine_order`.
    """

    def __init__(self, **params):
        self._model = _Booster(**params)

    def fit(self, X, y, sample_weight=None, **validation) -> Engine:
        """Boost on ``X``, stopping early on ``X_val``/``y_val`` when given."""
        _require_internals()
        empty = np.isnan(X).all(axis=0)
        if empty.any():
            # scikit-learn 1.9's binner fails on a column with no value ("window shape cannot
            # be larger than input array shape"); a constant cannot be split on either, so
            # the fitted trees are the same
            X = np.where(empty, 0.0, X)
        self._model.fit(X, y, sample_weight=sample_weight, **validation)
        _require_internals(self._model)
        return self

    @property
    def n_iter(self) -> int:
        return int(self._model.n_iter_)

    @property
    def train_score(self) -> np.ndarray:
        return self._model.train_score_

    @property
    def validation_score(self) -> np.ndarray:
        return self._model.validation_score_

    def decision_function(self, X) -> np.ndarray:
        return self._model.decision_function(X)

    def predict_proba(self, X) -> np.ndarray:
        return self._model.predict_proba(X)

    def baseline(self) -> float:
        """The raw prediction every tree adds to."""
        return float(np.ravel(self._model._baseline_prediction)[0])

    def encode(self, X) -> np.ndarray:
        """``X`` as the trees read it (categorical codes re-encoded by the engine)."""
        pre = getattr(self._model, "_preprocessor", None)
        return X if pre is None else pre.transform(X)

    def tree_parts(self):
        """Every tree, split into parts that each use one feature set (see ``TreePart``).

        With interaction constraints every root-to-leaf path uses one feature or one
        allowed pair, but different branches of one tree may use different pairs. Each
        part keeps the tree's splits and zeroes the leaves of the other paths, so it is a
        function of its feature set only; the parts of a tree sum to the tree. ``predict``
        takes rows already through :meth:`encode`.
        """
        known, fmap = self._model._bin_mapper.make_known_categories_bitsets()
        for (predictor,) in self._model._predictors:
            for used, pred in _split_by_term(predictor):
                if not used:
                    yield TreePart((), float(pred.nodes["value"][0]), None)
                else:
                    yield TreePart(used, 0.0, lambda X, pred=pred: pred.predict(X, known, fmap, 1))


def _split_by_term(predictor):
    """Yield ``(features, predictor)`` per feature set used along the tree's paths."""
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


def engine_order(is_categorical: np.ndarray) -> np.ndarray:
    """Column order for the engine: categorical features first.

    The engine moves categorical columns first internally but does not remap
    ``interaction_cst`` accordingly (scikit-learn 1.9), so the columns are given to it in
    that order and the groups are written in it.
    """
    return np.concatenate([np.flatnonzero(is_categorical), np.flatnonzero(~is_categorical)])


def engine_weights(sw: np.ndarray, rows: np.ndarray):
    """The rows' weights for the engine, or None when every weight is 1 (the engine then
    skips its weighted sums: the same fit, faster)."""
    w = sw[rows]
    return None if np.all(w == 1.0) else w


def validation_split(rows, y01, fraction, seed):
    """The rows a bag is fitted on and the rows it stops early on.

    The split the engine would make itself (stratified, seeded as it seeds it from
    ``random_state``), made here so the validation rows are known and can choose the
    smoothing width.
    """
    split_seed = np.random.RandomState(seed).randint(np.iinfo(np.uint32).max, dtype="u8")
    fit_pos, val_pos = train_test_split(
        np.arange(rows.size),
        test_size=fraction,
        stratify=y01[rows],
        random_state=split_seed,
    )
    return rows[fit_pos], rows[val_pos]


# ----------------------------------------------------------------------- the guard
_EARLY_STOPPING_ARGS = [
    "self",
    "raw_predictions",
    "y_train",
    "sample_weight_train",
    "raw_predictions_val",
    "y_val",
    "sample_weight_val",
    "n_threads",
]
_SIGNATURES = {
    "HistGradientBoostingClassifier._check_early_stopping_loss": (
        HistGradientBoostingClassifier,
        "_check_early_stopping_loss",
        _EARLY_STOPPING_ARGS,
    ),
    "HistGradientBoostingClassifier._should_stop": (
        HistGradientBoostingClassifier,
        "_should_stop",
        ["self", "scores"],
    ),
    "TreePredictor.__init__": (
        TreePredictor,
        "__init__",
        ["self", "nodes", "binned_left_cat_bitsets", "raw_left_cat_bitsets"],
    ),
    "TreePredictor.predict": (
        TreePredictor,
        "predict",
        ["self", "X", "known_cat_bitsets", "f_idx_map", "n_threads"],
    ),
}
_NODE_FIELDS = ("value", "feature_idx", "is_leaf", "left", "right")
_FITTED = (
    "_loss",
    "_use_validation_data",
    "_baseline_prediction",
    "_predictors",
    "_bin_mapper",
    "_preprocessor",
)


def check_internals(model: HistGradientBoostingClassifier | None = None) -> list[str]:
    """What :class:`Engine` needs from scikit-learn's private API and did not find.

    Checks the methods it overrides or calls and their arguments, and, given a fitted
    ``model``, the fitted attributes it reads (trees, node fields, bin mapper). Returns
    one line per problem, naming the internal; empty when everything is in place.
    """
    problems = []
    for name, (owner, attr, args) in _SIGNATURES.items():
        fn = getattr(owner, attr, None)
        if fn is None:
            problems.append(f"{name} is gone")
            continue
        found = list(inspect.signature(fn).parameters)
        if found != args:
            problems.append(f"{name} takes ({', '.join(found)}), expected ({', '.join(args)})")
    if "prefer_skip_nested_validation" not in inspect.signature(_fit_context).parameters:
        problems.append("sklearn.base._fit_context no longer takes prefer_skip_nested_validation")
    if model is None:
        return problems
    for attr in _FITTED:
        if not hasattr(model, attr):
            problems.append(f"a fitted HistGradientBoostingClassifier has no {attr}")
    predictors = getattr(model, "_predictors", None)
    if predictors:
        tree = predictors[0][0] if len(predictors[0]) == 1 else None
        if not isinstance(tree, TreePredictor):
            problems.append("_predictors no longer holds one TreePredictor per iteration")
        else:
            missing = [f for f in _NODE_FIELDS if f not in (tree.nodes.dtype.names or ())]
            if missing:
                problems.append(f"TreePredictor.nodes has no fields {missing}")
            for attr in ("binned_left_cat_bitsets", "raw_left_cat_bitsets"):
                if not hasattr(tree, attr):
                    problems.append(f"TreePredictor has no {attr}")
    mapper = getattr(model, "_bin_mapper", None)
    if mapper is not None and not callable(getattr(mapper, "make_known_categories_bitsets", 0)):
        problems.append("_bin_mapper.make_known_categories_bitsets is gone")
    return problems


_checked = False


def _require_internals(model=None) -> None:
    """Run :func:`check_internals` until a first engine passes fitted; stop if anything
    moved (before the fit for the methods, after it for the fitted attributes)."""
    global _checked
    if _checked:
        return
    problems = check_internals(model)
    if problems:
        raise RuntimeError(
            "AdditiveRiskClassifier reads private parts of scikit-learn's "
            f"HistGradientBoostingClassifier that scikit-learn {sklearn.__version__} "
            f"changed: {'; '.join(problems)}. Install the scikit-learn version send_early "
            "was tested with (1.9), or update send_early/estimators/_engine.py."
        )
    _checked = model is not None
