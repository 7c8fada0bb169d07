"""Input handling shared by the interpretable classifiers (private).

Both estimators take numpy arrays or pandas DataFrames with NaN (or pandas NA)
for missing values. This module turns either into a float matrix in which every
categorical column holds category codes ``0 .. k-1`` (NaN for missing or unknown
categories); ``_binning`` bins that matrix. It also holds the fit prologue both
estimators share and the checked reader and writer of their saved state (``_base`` uses
them).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d, validate_data

from ._binning import Binner
from ._engine import check_sample_weight

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
    if isinstance(spec, str):  # "from_dtype", the one string _parameter_constraints allow
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


def prepare_fit(est, X, y, sample_weight):
    """The fit prologue both estimators share (parameters are checked by ``_fit_context``).

    Checks ``X`` and a binary ``y``; sets ``classes_``, ``is_categorical_``,
    ``monotonic_cst_`` and ``categories_`` on ``est``.

    Returns
    -------
    X, y01, sample_weight, rng, feature_names
    """
    X, y = check_X(est, X, reset=True, y=y)
    n, p = X.shape
    est.classes_, y01 = check_binary_y(y, n)
    sw = check_sample_weight(sample_weight, X, dtype=np.float64)
    rng = check_random_state(est.random_state)
    names = getattr(est, "feature_names_in_", None)
    est.is_categorical_ = resolve_categorical(est.categorical_features, X, p, names)
    est.monotonic_cst_ = resolve_monotonic(est.monotonic_cst, p, names, est.is_categorical_)
    est.categories_ = learn_categories(X, est.is_categorical_)
    return X, y01, sw, rng, names


# ----------------------------------------------------------------------- saved state
# ``_to_state`` / ``_from_state`` of both estimators: the fitted state as JSON fields and
# NumPy arrays (RiskModel.save writes them; no pickle). The readers below check every
# field; an error names the field and what must hold, never a stored value.

_JSON_SCALARS = (str, int, float, bool, type(None))


def _json_value(v, what: str):
    """``v`` as plain JSON (lists, str-keyed dicts, finite numbers); TypeError otherwise."""
    if isinstance(v, np.ndarray):
        v = v.tolist()
    elif isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, list | tuple):
        return [_json_value(x, what) for x in v]
    if isinstance(v, dict):
        return {str(k): _json_value(x, what) for k, x in v.items()}
    if isinstance(v, float) and not np.isfinite(v):
        raise TypeError(f"{what} must be finite to be saved; found {v!r}.")
    if not isinstance(v, _JSON_SCALARS):
        raise TypeError(
            f"{what} must be a number, text, a list or a mapping to be saved; found "
            f"{type(v).__name__}."
        )
    return v


def params_state(est) -> dict:
    """The estimator's constructor parameters as plain JSON."""
    params = est.get_params(deep=False)
    if not isinstance(params.get("random_state"), int | type(None) | np.integer):
        raise TypeError(
            "random_state must be an int or None for the model to be saved; found "
            f"{type(params['random_state']).__name__}."
        )
    return {k: _json_value(v, f"parameter {k}") for k, v in params.items()}


class StateReader:
    """Checked reads of a saved state: JSON ``fields`` and NumPy ``arrays``.

    Errors are ``ValueError`` naming ``fields_name``/``arrays_name`` and the key;
    :meth:`finish` refuses keys that were never read (unknown fields or arrays).
    """

    def __init__(
        self, fields, arrays, *, fields_name="state", arrays_name="arrays", array_prefix=""
    ):
        if not isinstance(fields, dict):
            raise ValueError(f"{fields_name} must be a JSON object; found {type(fields).__name__}.")
        self.fields, self.arrays = fields, arrays
        self.fields_name, self.arrays_name = fields_name, arrays_name
        self.array_prefix = array_prefix
        self._read_fields: set[str] = set()
        self._read_arrays: set[str] = set()

    def fail(self, key: str, what: str, *, array: bool = False) -> ValueError:
        if array:
            return ValueError(f"{self.arrays_name} array {self.array_prefix + key!r} {what}")
        return ValueError(f"{self.fields_name} field {key!r} {what}")

    def field(self, key: str, kinds, what: str):
        """A JSON field of one of the Python types ``kinds``."""
        self._read_fields.add(key)
        if key not in self.fields:
            raise self.fail(key, "is missing.")
        v = self.fields[key]
        if not isinstance(v, kinds) or (isinstance(v, bool) and bool not in _as_tuple(kinds)):
            raise self.fail(key, f"must be {what}; found {type(v).__name__}.")
        return v

    def number(self, key: str, *, integer: bool = False, low=None):
        v = self.field(
            key, int if integer else (int, float), "a whole number" if integer else "a number"
        )
        if not np.isfinite(v) or (low is not None and v < low):
            raise self.fail(key, f"must be a finite number{'' if low is None else f' >= {low}'}.")
        return v

    def int_list(self, key: str, length=None, low=None, high=None) -> list[int]:
        v = self.field(key, list, "a list of whole numbers")
        ok = all(isinstance(x, int) and not isinstance(x, bool) for x in v)
        ok = ok and (length is None or len(v) == length)
        ok = ok and all((low is None or x >= low) and (high is None or x <= high) for x in v)
        if not ok:
            n = "" if length is None else f"{length} "
            rng = "" if low is None else f" in [{low}, {high}]"
            raise self.fail(key, f"must be a list of {n}whole numbers{rng}.")
        return v

    def array(self, key: str, kinds: str, shape, *, finite=True, low=None) -> np.ndarray:
        """An array of dtype kind in ``kinds`` and ``shape`` (``None`` entries: any length)."""
        self._read_arrays.add(key)
        if key not in self.arrays:
            raise self.fail(key, "is missing.", array=True)
        a = self.arrays[key]
        if not isinstance(a, np.ndarray) or a.dtype.kind not in kinds:
            kind = getattr(getattr(a, "dtype", None), "kind", type(a).__name__)
            raise self.fail(key, f"must have dtype kind {kinds!r}; found {kind!r}.", array=True)
        if a.ndim != len(shape) or any(
            s is not None and s != n for s, n in zip(shape, a.shape, strict=True)
        ):
            want = tuple("any" if s is None else s for s in shape)
            raise self.fail(key, f"must have shape {want}; found {a.shape}.", array=True)
        if a.dtype.kind == "f" and finite and not np.isfinite(a).all():
            raise self.fail(key, "must hold finite numbers only.", array=True)
        if a.dtype.kind == "f" and np.isnan(a).any():
            raise self.fail(key, "must not hold NaN.", array=True)
        if low is not None and a.size and a.min() < low:
            raise self.fail(key, f"must hold values >= {low}.", array=True)
        return a

    def finish(self) -> None:
        extra_f = sorted(set(self.fields) - self._read_fields)
        extra_a = sorted(set(self.arrays) - self._read_arrays)
        if extra_f:
            raise self.fail(extra_f[0], f"is not a known field ({len(extra_f)} unknown).")
        if extra_a:
            raise self.fail(
                extra_a[0], f"is not a known array ({len(extra_a)} unknown).", array=True
            )


def _as_tuple(kinds) -> tuple:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _category_list(values, what: str) -> list:
    out = _json_value(list(values), what)
    if any(isinstance(x, list | dict) or x is None for x in out):
        raise TypeError(f"{what} must be numbers or text to be saved.")
    return out


def encoder_state(est) -> tuple[dict, dict]:
    """Fields and arrays of what both estimators learn in ``prepare_fit`` and binning
    (``binner_``: numeric features' edges and observed bin ranges)."""
    names = getattr(est, "feature_names_in_", None)
    fields = {
        "n_features_in": int(est.n_features_in_),
        "feature_names_in": None if names is None else [str(n) for n in names],
        "classes": {
            "dtype": est.classes_.dtype.str,
            "values": _json_value(est.classes_, "classes_"),
        },
        "is_categorical": [bool(b) for b in est.is_categorical_],
        "monotonic_cst": [int(c) for c in est.monotonic_cst_],
        "categories": [
            None if c is None else _category_list(c, "categories_") for c in est.categories_
        ],
    }
    return fields, est.binner_.state_arrays()


def set_encoder_state(est, r: StateReader) -> None:
    """Inverse of :func:`encoder_state`: set and check the encoder attributes and
    ``binner_`` on ``est``."""
    p = r.number("n_features_in", integer=True, low=1)
    names = r.field("feature_names_in", (list, type(None)), "a list of text or null")
    if names is not None:
        if len(names) != p or not all(isinstance(n, str) for n in names) or len(set(names)) != p:
            raise r.fail("feature_names_in", f"must be {p} distinct names.")
        est.feature_names_in_ = np.asarray(names, dtype=object)
    est.n_features_in_ = p
    classes = r.field("classes", dict, "an object with dtype and values")
    try:
        dtype = np.dtype(str(classes.get("dtype")))
    except TypeError:
        dtype = None
    values = classes.get("values")
    if (
        set(classes) != {"dtype", "values"}
        or dtype is None
        or dtype.kind not in "biufUO"
        or not isinstance(values, list)
        or len(values) != 2
        or not all(isinstance(v, str | int | float) for v in values)
    ):
        raise r.fail("classes", "must be {dtype, values} with two labels of a plain dtype.")
    est.classes_ = np.asarray(values, dtype=dtype)
    is_cat = r.field("is_categorical", list, "a list of true/false")
    if len(is_cat) != p or not all(isinstance(b, bool) for b in is_cat):
        raise r.fail("is_categorical", f"must be {p} true/false values.")
    est.is_categorical_ = np.asarray(is_cat, dtype=bool)
    cst = r.int_list("monotonic_cst", p, -1, 1)
    if any(c and b for c, b in zip(cst, is_cat, strict=True)):
        raise r.fail("monotonic_cst", "must be 0 for categorical features.")
    est.monotonic_cst_ = np.asarray(cst, dtype=np.int8)
    cats = r.field("categories", list, "a list")
    if len(cats) != p:
        raise r.fail("categories", f"must have {p} entries.")
    est.categories_ = []
    est.bin_thresholds_ = []
    seen = []
    for j, (c, b) in enumerate(zip(cats, is_cat, strict=True)):
        if not b:
            if c is not None:
                raise r.fail("categories", f"entry {j} must be null (a numeric feature).")
            t = r.array(f"bin_thresholds.{j}", "f", (None,))
            if t.size > 1 and not (np.diff(t) > 0).all():
                raise r.fail(f"bin_thresholds.{j}", "must be strictly increasing.", array=True)
            a = r.array(f"bin_seen.{j}", "f", (2, t.size + 1), finite=False)
            est.categories_.append(None)
            est.bin_thresholds_.append(t)
            seen.append((a[0], a[1]))
            continue
        ok = isinstance(c, list) and all(
            isinstance(x, str | int | float) and (not isinstance(x, float) or np.isfinite(x))
            for x in c
        )
        if not ok or len(set(map(repr, c))) != len(c):
            raise r.fail("categories", f"entry {j} must be a list of distinct labels or numbers.")
        est.categories_.append(np.asarray(c, dtype=object))
        est.bin_thresholds_.append(None)
        seen.append(None)
    est.binner_ = Binner(est.bin_thresholds_, est.categories_, seen)


def read_terms(r: StateReader, p: int) -> list[tuple[int, ...]]:
    """The additive model's ``term_features``: the ``p`` features, then distinct pairs."""
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
        raise r.fail("term_features", f"must list the {p} features, then distinct pairs (i < j).")
    return [tuple(t) for t in terms]


def read_params(cls, r: StateReader):
    """An unfitted ``cls`` from the saved constructor parameters (names checked)."""
    params = r.field("params", dict, "an object of parameters")
    known = set(cls._get_param_names())
    unknown = sorted(set(params) - known)
    if unknown:
        raise r.fail("params", f"holds unknown parameters: {', '.join(unknown[:5])}.")
    est = cls(**params)
    try:
        est._validate_params()
    except (TypeError, ValueError) as exc:
        raise r.fail("params", f"must be valid: {exc}") from None
    return est
