"""The base both interpretable classifiers share (private).

A :class:`BinnedClassifier` is a binary classifier defined by its log-odds, computed from
the bins of every feature: parameter checks, the fit prologue, encoding at predict time,
probabilities and labels from the log-odds, and the saved state's frame are written once
here; each estimator supplies ``_fit``, ``_log_odds`` and its own state fields.
"""

from __future__ import annotations

import logging
import textwrap

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from ._binning import Binner
from ._data import (
    StateReader,
    check_X,
    encode,
    encoder_state,
    params_state,
    prepare_fit,
    read_params,
    set_encoder_state,
)
from ._engine import Number, StrOptions, fit_context, validate_every_param

__all__: list[str] = []

logger = logging.getLogger(__name__)

_ROWS_DOC = """{summary}

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features; NaN (or pandas NA) marks a missing value.

        Returns
        -------
        {kind}
{description}
        """


def rows_doc(kind: str, description: str):
    """Complete the docstring of a method of rows ``X`` (its one-line summary).

    The numpydoc sections every such method shares are written once here: the
    description of ``X``, then the returned ``kind`` and its ``description``.
    """
    text = textwrap.fill(description, 88, initial_indent=" " * 12, subsequent_indent=" " * 12)

    def complete(method):
        method.__doc__ = _ROWS_DOC.format(summary=method.__doc__, kind=kind, description=text)
        return method

    return complete


class BinnedClassifier(ClassifierMixin, BaseEstimator):
    """Binary classifier whose log-odds are read from per-bin tables.

    ``fit`` checks the data (:func:`prepare_fit`) and bins every feature: categories
    one bin each, numeric values at the upper edges subclasses choose in
    ``_thresholds(j, x, y01, sample_weight, rng)``. Subclasses implement
    ``_fit(idx, y01, sample_weight, rng)`` on the bin indices, ``_contributions(idx)``
    and ``_log_odds(idx)`` (per-term log-odds and their total, from bin indices) and
    ``_write_state``/``_read_state`` for their own saved fields.
    """

    # the parameters both estimators take (each adds its own)
    _parameter_constraints: dict = {
        "max_bins": [Number(int, 2, 255, closed="both")],
        "monotonic_cst": ["array-like", dict, None],
        "categorical_features": ["array-like", StrOptions({"from_dtype"}), None],
        "random_state": ["random_state"],
    }

    def _validate_params(self):
        # called by _fit_context: every bad parameter reported at once
        validate_every_param(self)

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model and build its tables.

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
        self : object
            The fitted model.
        """
        X, y01, sw, rng, _ = prepare_fit(self, X, y, sample_weight)
        Xe = encode(X, self.is_categorical_, self.categories_).X
        self.bin_thresholds_ = [
            None if self.is_categorical_[j] else self._thresholds(j, Xe[:, j], y01, sw, rng)
            for j in range(Xe.shape[1])
        ]
        self.binner_, idx = Binner.fit(Xe, self.bin_thresholds_, self.categories_)
        self._fit(idx, y01, sw, rng)
        return self

    def _feature_name(self, j: int) -> str:
        names = getattr(self, "feature_names_in_", None)
        return str(names[j]) if names is not None else f"x{j}"

    def _term_names(self, terms) -> list[str]:
        """Name of each term: its feature's name, ``"a x b"`` for a pair."""
        return [" x ".join(self._feature_name(j) for j in t) for t in terms]

    def _encode(self, X) -> np.ndarray:
        """Bin index of every value of ``X`` (unknown categories in the missing bin)."""
        check_is_fitted(self)
        X, _ = check_X(self, X, reset=False)
        enc = encode(X, self.is_categorical_, self.categories_)
        if enc.n_unknown.any():
            logger.info(
                "unknown categories in %d value(s) of features %s scored in the missing bin",
                int(enc.n_unknown.sum()),
                [self._feature_name(j) for j in np.flatnonzero(enc.n_unknown)],
            )
        return self.binner_.transform(enc.X)

    @rows_doc(
        "ndarray of shape (n_samples, n_terms)",
        "Columns follow ``term_names_``; each row sums with ``intercept_`` to the decision "
        "function.",
    )
    def contributions(self, X) -> np.ndarray:
        """Contribution of every term to each row's log-odds, centred on the training mean."""
        return self._contributions(self._encode(X))

    @rows_doc("ndarray of shape (n_samples,)", "Log-odds of ``classes_[1]``.")
    def decision_function(self, X) -> np.ndarray:
        """Log-odds of the event (see the class description for how they are summed)."""
        return self._log_odds(self._encode(X))

    @rows_doc("ndarray of shape (n_samples, 2)", "Columns follow ``classes_``.")
    def predict_proba(self, X) -> np.ndarray:
        """Probability of each class (the sigmoid of the decision function)."""
        p = expit(self.decision_function(X))
        return np.column_stack([1 - p, p])

    @rows_doc("ndarray of shape (n_samples,)", "Predicted labels.")
    def predict(self, X) -> np.ndarray:
        """Class with the larger probability (log-odds above 0)."""
        check_is_fitted(self)
        return self.classes_[(self.decision_function(X) > 0).astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_class = False
        return tags

    # ------------------------------------------------------------ saved state
    # The fitted model as JSON fields and NumPy arrays (RiskModel.save; no pickle): the
    # parameters and encoder here, each estimator's tables in _write_state/_read_state.
    def _to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """The fitted model as JSON fields and NumPy arrays (see :meth:`_from_state`)."""
        check_is_fitted(self)
        fields, arrays = encoder_state(self)
        fields["params"] = params_state(self)
        self._write_state(fields, arrays)
        return fields, arrays

    @classmethod
    def _from_state(cls, fields: dict, arrays, **names):
        """Rebuild a fitted model from :meth:`_to_state` output, checking every field.

        ``names`` (``fields_name``, ``arrays_name``, ``array_prefix``) say where the
        state came from in error messages. Raises ``ValueError`` naming the field that
        breaks a rule.
        """
        r = StateReader(fields, arrays, **names)
        self = read_params(cls, r)
        set_encoder_state(self, r)
        self._read_state(r)
        r.finish()
        return self
