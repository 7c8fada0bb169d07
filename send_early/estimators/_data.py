"""Input handling shared by the interpretable classifiers (private).

Both estimators take numpy arrays or pandas DataFrames with NaN (or pandas NA)
for missing values. This module turns either into a float matrix in which every
categorical column holds category codes ``0 .. k-1`` (NaN for missing or unknown
categories), and bins numeric columns on thresholds learned at fit time.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

__all__: list[str] = []


def _is_categorical_dtype(dtype) -> bool:
    return isinstance(dtype, pd.CategoricalDtype) or (
        not pd.api.types.is_bool_dtype(dtype)
        and not pd.api.types.is_numeric_dtype(dtype)
        and (pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype))
    )


def resolve_categorical(spec, X, n_features: int, feature_names) -> np.ndarray:
    """Boolean mask of categorical features from an HGB-style specification."""
    if spec is None:
        return np.zeros(n_features, dtype=bool)
    if isinstance(spec, str):
        if spec != "from_dtype":
            raise ValueError(
                "categorical_features must be None, 'from_dtype', indices, a boolean "
                f"mask or feature names; found the string {spec!r}."
            )
        if isinstance(X, pd.DataFrame):
            return np.array([_is_categorical_dtype(d) for d in X.dtypes], dtype=bool)
        return np.zeros(n_features, dtype=bool)
    spec = np.asarray(spec)
    if spec.size == 0:
        return np.zeros(n_features, dtype=bool)
    if spec.dtype.kind == "b":
        if spec.shape != (n_features,):
            raise ValueError(
                "A boolean categorical_features mask must have one entry per feature; "
                f"found {spec.shape[0]} entries for {n_features} features."
            )
        return spec.copy()
    if spec.dtype.kind in "iu":
        bad = spec[(spec < 0) | (spec >= n_features)]
        if bad.size:
            raise ValueError(
                f"categorical_features indices must lie in [0, {n_features - 1}]; "
                f"found {bad.tolist()}."
            )
        mask = np.zeros(n_features, dtype=bool)
        mask[spec] = True
        return mask
    if spec.dtype.kind in "UO":
        if feature_names is None:
            raise ValueError(
                "categorical_features given by name needs X as a DataFrame with string "
                "column names; pass indices or a boolean mask for arrays."
            )
        names = list(feature_names)
        missing = [s for s in spec.tolist() if s not in names]
        if missing:
            raise ValueError(
                f"categorical_features names must be columns of X; not found: {missing}."
            )
        return np.isin(np.asarray(names, dtype=object), spec.astype(object))
    raise TypeError(
        "categorical_features must be None, 'from_dtype', integer indices, a boolean "
        f"mask or feature names; found dtype {spec.dtype}."
    )


def resolve_monotonic(spec, n_features: int, feature_names, is_cat) -> np.ndarray:
    """Integer array (-1, 0, 1) of monotonic constraints, HGB-style specification."""
    if spec is None:
        return np.zeros(n_features, dtype=np.int8)
    if isinstance(spec, dict):
        if feature_names is None:
            raise ValueError(
                "monotonic_cst given as a dict needs X as a DataFrame with string column "
                "names; pass an array of -1/0/1 for arrays."
            )
        names = list(feature_names)
        unknown = [k for k in spec if k not in names]
        if unknown:
            raise ValueError(f"monotonic_cst keys must be columns of X; not found: {unknown}.")
        cst = np.zeros(n_features, dtype=np.int8)
        for k, v in spec.items():
            cst[names.index(k)] = v
        values = np.asarray(list(spec.values()))
    else:
        values = np.asarray(spec)
        if values.shape != (n_features,):
            raise ValueError(
                "monotonic_cst must have one entry per feature; "
                f"found shape {values.shape} for {n_features} features."
            )
        cst = values.astype(np.int8)
    if not np.isin(values, [-1, 0, 1]).all():
        raise ValueError(f"monotonic_cst values must be -1, 0 or 1; found {values.tolist()}.")
    if np.any((cst != 0) & is_cat):
        bad = np.flatnonzero((cst != 0) & is_cat).tolist()
        raise ValueError(
            f"monotonic constraints need numeric features; features {bad} are categorical."
        )
    return cst


@dataclass
class Encoded:
    """Float matrix with categorical columns as codes (NaN = missing/unknown)."""

    X: np.ndarray
    n_unknown: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))


def check_X(estimator, X, *, reset: bool, y=None):
    """Validate ``X`` (and ``y``) the scikit-learn way; keep DataFrames as they are.

    Returns ``(X, y)`` where ``X`` is a DataFrame or a float64 ndarray.
    """
    if isinstance(X, pd.DataFrame):
        if y is None:
            validate_data(estimator, X, reset=reset, skip_check_array=True)
        else:
            validate_data(estimator, X, y, reset=reset, skip_check_array=True)
        if X.shape[0] == 0:
            raise ValueError(
                f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required."
            )
        return X, y
    kwargs = dict(dtype=np.float64, ensure_all_finite="allow-nan", reset=reset)
    if y is None:
        return validate_data(estimator, X, **kwargs), None
    return validate_data(estimator, X, y, **kwargs)


def check_binary_y(y, n_samples: int):
    """Encode a binary target; return (classes, y01)."""
    y = column_or_1d(y, warn=True)
    if y.shape[0] != n_samples:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: [{n_samples}, "
            f"{y.shape[0]}]."
        )
    check_classification_targets(y)
    classes, y01 = np.unique(y, return_inverse=True)
    if classes.size != 2:
        kind = type_of_target(y)
        raise ValueError(
            "Only binary classification is supported. The target must have exactly 2 "
            f"classes; found {classes.size} class(es) ({kind}). Relabel the outcome as 0/1."
        )
    return classes, y01.astype(np.float64)


def learn_categories(X, is_cat: np.ndarray) -> list:
    """Categories of each categorical column (``None`` for numeric columns)."""
    cats: list = []
    for j in range(len(is_cat)):
        if not is_cat[j]:
            cats.append(None)
            continue
        col = X.iloc[:, j] if isinstance(X, pd.DataFrame) else pd.Series(X[:, j])
        if isinstance(col.dtype, pd.CategoricalDtype):
            values = np.asarray(col.cat.categories, dtype=object)
        else:
            values = pd.unique(col.dropna().to_numpy(dtype=object))
            try:
                values = np.sort(values)
            except TypeError:
                values = np.asarray(sorted(values, key=str), dtype=object)
        cats.append(np.asarray(values, dtype=object))
    return cats


def encode(X, is_cat: np.ndarray, categories: list) -> Encoded:
    """Float matrix: numeric columns as floats, categorical columns as codes."""
    n, p = X.shape
    out = np.empty((n, p), dtype=np.float64, order="F")  # filled and read column by column
    n_unknown = np.zeros(p, dtype=int)
    for j in range(p):
        if isinstance(X, pd.DataFrame):
            col = X.iloc[:, j]
        else:
            col = pd.Series(X[:, j])
        if is_cat[j]:
            cats = categories[j]
            values = col.astype(object) if isinstance(col.dtype, pd.CategoricalDtype) else col
            if col.dtype.kind == "f" and len(cats) and isinstance(cats[0], numbers.Number):
                index = pd.Index(np.asarray(cats, dtype=np.float64))
            else:
                index = pd.Index(cats)
            codes = index.get_indexer(values.to_numpy(dtype=object))
            known_missing = col.isna().to_numpy()
            n_unknown[j] = int(((codes < 0) & ~known_missing).sum())
            out[:, j] = np.where(codes < 0, np.nan, codes)
        else:
            if isinstance(X, pd.DataFrame):
                if _is_categorical_dtype(col.dtype):
                    raise TypeError(
                        f"Numeric features must hold numbers; column {col.name!r} has dtype "
                        f"{col.dtype}. Declare it in categorical_features or encode it."
                    )
                try:
                    values = col.to_numpy(dtype=np.float64, na_value=np.nan)
                except (TypeError, ValueError) as exc:
                    raise TypeError(
                        f"Numeric features must hold numbers; column {col.name!r} could not "
                        f"be read as float ({exc})."
                    ) from None
                if np.isinf(values).any():
                    raise ValueError(
                        f"Input X contains infinity in column {col.name!r}; use NaN for "
                        "missing values."
                    )
                out[:, j] = values
            else:
                out[:, j] = X[:, j]
    return Encoded(out, n_unknown)


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


def digitize(x: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Bin index of each value: ``k`` for ``t[k-1] < x <= t[k]``; missing -> ``len(t)+1``.

    Numeric columns have ``len(t) + 1`` value bins followed by one missing bin.
    """
    idx = np.searchsorted(thresholds, x, side="left")
    return np.where(np.isnan(x), thresholds.size + 1, idx)


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


class LogOddsClassifierMixin:
    """``predict_proba``, ``predict`` and tags for a binary classifier defined by its log-odds.

    The class supplies ``decision_function`` (log-odds of ``classes_[1]``); this
    mixin turns it into probabilities and labels, so both estimators share one
    implementation. Place it left of ``ClassifierMixin, BaseEstimator``.
    """

    def predict_proba(self, X) -> np.ndarray:
        """Probability of each class (the sigmoid of the decision function).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features.

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Columns follow ``classes_``.
        """
        p = expit(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        """Class with the larger probability (log-odds above 0).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features.

        Returns
        -------
        ndarray of shape (n_samples,)
            Predicted labels.
        """
        check_is_fitted(self)
        return self.classes_[(self.decision_function(X) > 0).astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_class = False
        return tags


def prepare_fit(est, X, y, sample_weight):
    """The fit prologue both estimators share.

    Checks the parameters, ``X`` and a binary ``y``; sets ``classes_``,
    ``is_categorical_``, ``monotonic_cst_`` and ``categories_`` on ``est``.

    Returns
    -------
    X, y01, sample_weight, rng, feature_names
    """
    est._check_params()
    X, y = check_X(est, X, reset=True, y=y)
    n, p = X.shape
    est.classes_, y01 = check_binary_y(y, n)
    sw = _check_sample_weight(sample_weight, X, dtype=np.float64)
    rng = check_random_state(est.random_state)
    names = getattr(est, "feature_names_in_", None)
    est.is_categorical_ = resolve_categorical(est.categorical_features, X, p, names)
    est.monotonic_cst_ = resolve_monotonic(est.monotonic_cst, p, names, est.is_categorical_)
    est.categories_ = learn_categories(X, est.is_categorical_)
    return X, y01, sw, rng, names
