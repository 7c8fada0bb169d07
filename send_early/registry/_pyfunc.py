"""The MLflow pyfunc face of a RiskModel, and the checks that guard it.

A model is logged with the installed package as its loader (``loader_module``, see
:mod:`send_early.registry._pyfunc_loader`) and its saved folder as data: no Python
file and no pickle are stored. :func:`verify_folder` checks a folder against the
SHA-256 recorded when it was logged (and its signature when a key is set) before it is
read; :func:`predict_frame` is the ``predict`` of the pyfunc, batch scoring and the CLI.
This module does not import mlflow at import time.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import IntegrityError, SchemaError

logger = logging.getLogger(__name__)

__all__ = [
    "OUTPUT_COLUMNS",
    "directory_sha256",
    "feature_dtypes",
    "input_types",
    "predict_frame",
    "pyfunc_input",
    "verify_folder",
]

#: Columns the pyfunc returns, in order.
OUTPUT_COLUMNS = ("child_id", "risk", "rank", "flagged", "reason_1", "reason_2", "reason_3")


def directory_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a directory: its files' relative POSIX paths and bytes, sorted by path.

    The digest does not depend on timestamps, permissions or the order the file
    system lists files in, so the same saved model always gives the same digest.

    Parameters
    ----------
    path : path-like
        A directory (or a single file, hashed the same way under its own name).

    Returns
    -------
    str
        64 hex digits.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "b.txt").write_text("2"); _ = (d / "a.txt").write_text("1")
    >>> h = directory_sha256(d); len(h), h == directory_sha256(d)
    (64, True)
    >>> _ = (d / "a.txt").write_text("changed"); h == directory_sha256(d)
    False
    """
    root = Path(path)
    files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
    rels = sorted((p.name if p == root else p.relative_to(root).as_posix(), p) for p in files)
    digest = hashlib.sha256()
    for rel, file in rels:
        name = rel.encode("utf-8")
        digest.update(len(name).to_bytes(8, "big") + name)
        digest.update(file.stat().st_size.to_bytes(8, "big"))
        with open(file, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def verify_folder(
    path: str | os.PathLike,
    expected_sha256: str | None,
    signature: str | None,
    *,
    where: str = "",
) -> str:
    """Check a saved model folder before anything in it is read; return its SHA-256.

    The folder is hashed (:func:`directory_sha256`) and must match the digest recorded
    when it was logged; when a signing key is set (``$SEND_EARLY_SIGNING_KEY`` or
    ``$SEND_EARLY_SIGNING_KEY_FILE``) the signature must verify under it. Nothing is
    parsed before these checks pass.

    Parameters
    ----------
    path : path-like
        The saved RiskModel folder.
    expected_sha256 : str or None
        The digest recorded when the model was logged. ``None`` refuses the folder.
    signature : str or None
        The signature recorded when it was logged (checked only with a key set).
    where : str
        Where the model came from, for messages (e.g. ``"models:/risk@champion"``).

    Raises
    ------
    IntegrityError
        When no digest was recorded, the folder does not match it, or a key is set
        and the signature is missing or wrong.
    """
    from ._signing import signing_key, verify_signature

    where = where or str(path)
    if not expected_sha256:
        raise IntegrityError(
            f"A registered send_early model must carry the SHA-256 recorded when it was "
            f"logged; none was found for {where}. Log the model with "
            "send_early.registry.log_model."
        )
    actual = directory_sha256(path)
    if actual != expected_sha256:
        raise IntegrityError(
            f"The model files of {where} must match the SHA-256 recorded when they were "
            f"logged; recorded {str(expected_sha256)[:16]}..., found {actual[:16]}... The "
            "artifacts were changed or corrupted after logging: do not use this model; "
            "restore the store from a backup or log and review the model again."
        )
    key = signing_key()
    if key is not None:
        verify_signature(actual, signature, key, where=where)
    return actual


def feature_dtypes(model) -> dict:
    """The dtype each model feature is scored in: ``model.feature_schema()``, with categories.

    A categorical column whose schema dtype lists no categories takes those the
    fitted estimator learnt (its ``categories_`` and ``feature_names_in_``), so input
    text can be checked against them.
    """
    schema = model.feature_schema()
    est = getattr(model, "estimator_", None)
    names = getattr(est, "feature_names_in_", None)
    cats = getattr(est, "categories_", None)
    learnt = {}
    if names is not None and cats is not None:
        learnt = {str(n): c for n, c in zip(names, cats, strict=False) if c is not None}
    out = {}
    for col in schema.columns:
        dtype = schema[col].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            cats = list(dtype.categories)
            extra = learnt.get(str(col))
            if extra is not None:
                cats += [c for c in extra if c not in cats]
            dtype = pd.CategoricalDtype(cats) if cats else dtype
        out[str(col)] = dtype
    return out


def _rows(n: int, one: str = "is", many: str = "are") -> str:
    return f"{n:,} row {one}" if n == 1 else f"{n:,} rows {many}"


def _cast_column(values: pd.Series, dtype, col: str) -> tuple[pd.Series | None, str | None]:
    """``values`` as ``dtype``, or a problem naming the column and the rule (never a value)."""
    present = values.notna().to_numpy()
    if isinstance(dtype, pd.CategoricalDtype):
        cats = list(dtype.categories)
        if isinstance(values.dtype, pd.CategoricalDtype):
            cats += [c for c in values.dtype.categories if c not in cats]
        text = values.astype(object).where(values.notna(), None)
        if not cats:  # nothing to check against: keep the labels as given
            return pd.Series(pd.Categorical(text), index=values.index, name=col), None
        known = pd.Index(cats).get_indexer(text.to_numpy(dtype=object)) >= 0
        bad = int((present & ~known).sum())
        if bad:
            shown = ", ".join(map(str, cats[:12])) + (" ..." if len(cats) > 12 else "")
            return None, f"{col} must be one of {shown} or null ({_rows(bad)} not)"
        return pd.Series(pd.Categorical(text, categories=cats), index=values.index, name=col), None
    if pd.api.types.is_bool_dtype(dtype):
        mapped = values.astype(object).map(
            lambda v: v if v is None or v is pd.NA else _BOOL_TEXT.get(str(v).strip().lower(), v),
            na_action="ignore",
        )
        ok = mapped.map(lambda v: v in (True, False), na_action="ignore").fillna(True)
        bad = int((~ok.astype(bool)).sum())
        if bad:
            return None, f"{col} must be true, false (or 1, 0) or null ({_rows(bad)} not)"
        return mapped.astype(dtype), None
    if pd.api.types.is_numeric_dtype(dtype):
        if isinstance(values.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(
            values.dtype
        ):
            values = values.astype(object)
        number = pd.to_numeric(values.astype(object), errors="coerce")
        number = number.astype("float64")
        bad = int((present & number.isna().to_numpy()).sum())
        if bad:
            return None, f"{col} must be a number or null ({_rows(bad)} not)"
        inf = int(np.isinf(number.to_numpy()).sum())
        if inf:
            return None, f"{col} must be finite ({_rows(inf)} infinite; use null for missing)"
        if pd.api.types.is_integer_dtype(dtype):
            frac = int((present & (number.to_numpy() % 1 != 0)).sum())
            if frac:
                return None, f"{col} must be a whole number or null ({_rows(frac)} not)"
            if not isinstance(dtype, pd.api.extensions.ExtensionDtype):
                dtype = pd.Int64Dtype() if bool((~present).any()) else dtype
        return number.astype(dtype), None
    try:
        return values.astype(dtype), None
    except (TypeError, ValueError):
        return None, f"{col} must convert to {dtype}"


_BOOL_TEXT = {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}


def _coerce(frame: pd.DataFrame, dtypes: dict) -> pd.DataFrame:
    """Cast ``frame`` to the model's feature dtypes; errors name columns and rules, never values.

    Every problem is reported at once.
    """
    missing = [c for c in dtypes if c not in frame.columns]
    problems = []
    if missing:
        problems.append(
            f"the input must have every model feature column; {len(missing)} missing: "
            f"{', '.join(missing[:20])}{' ...' if len(missing) > 20 else ''}"
        )
    out = {}
    for col, dtype in dtypes.items():
        if col in missing:
            continue
        cast, problem = _cast_column(frame[col], dtype, col)
        if problem:
            problems.append(problem)
        else:
            out[col] = cast
    if problems:
        raise SchemaError(
            "The model cannot score this input: "
            + "; ".join(problems)
            + ". Build the features with send_early.build_features and the model's pipeline; "
            "over HTTP send numbers, true/false, the listed categories or null (values are "
            "not shown here)."
        )
    return pd.DataFrame(out, index=frame.index)


def _child_ids(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Index]:
    """Child ids from a ``child_id`` column or the index; checked, never shown."""
    if "child_id" in frame.columns:
        raw = frame["child_id"]
        frame = frame.drop(columns="child_id")
    else:
        raw = frame.index.to_series()
    missing = int(raw.isna().sum())
    ids = pd.Index(raw.astype(object).where(raw.notna(), "").astype(str), dtype="str")
    dup = int(ids.duplicated().sum())
    problems = []
    if missing:
        problems.append(
            f"child_id must be given for every row ({_rows(missing, 'has', 'have')} none)"
        )
    if dup:
        problems.append(
            f"child_id must be unique ({_rows(dup, 'repeats', 'repeat')} an earlier id)"
        )
    if problems:
        raise SchemaError("The model cannot score this input: " + "; ".join(problems) + ".")
    frame.index = ids.rename("child_id")
    return frame, frame.index


def _capacity(params) -> object:
    """The capacity param: None (the spec's policy) for 0 or absent; a count or a share."""
    value = (params or {}).get("capacity")
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == 0:
        return None
    if isinstance(value, float) and value.is_integer() and value >= 1:
        return int(value)  # JSON and the double param turn 200 into 200.0
    return value


def _in_population(model, features: pd.DataFrame) -> tuple[np.ndarray, str | None]:
    """Rows in the model's population age range (as in batch scoring) and the rule's text."""
    ages = getattr(getattr(model, "spec", None), "population_age_months", None)
    if ages is None or "age_months" not in features.columns:
        return np.ones(len(features), dtype=bool), None
    lo, hi = ages
    age = features["age_months"].to_numpy(dtype="float64", na_value=np.nan)
    keep = (age >= lo) & (age <= hi)
    return keep, f"not scored: outside the model's population age range ({lo} to {hi} months)"


def predict_frame(model, model_input, params=None) -> pd.DataFrame:
    """Score a feature frame with ``model``; the body of the pyfunc's ``predict``.

    Takes :func:`send_early.build_features` output as it is (categoricals, nullable
    dtypes) and plain rows (numbers, true/false, category labels and nulls, as MLflow
    builds them from ``dataframe_split`` or ``dataframe_records`` JSON). The child id is
    taken from a ``child_id`` column if present, else from the index. Children outside
    the model's population age range are not scored (as in batch scoring): their row
    has no risk or rank, is not flagged and says why in ``reason_1``. The others are
    scored, ranked and flagged together by ``model.score_features``, the function
    batch scoring uses. ``params`` may carry ``capacity``: 0 or absent means the model
    spec's capacity policy, a whole number a number of children, a decimal in (0, 1)
    a share.

    Errors name columns and rules, never a child's id or value.

    Returns
    -------
    DataFrame
        Columns :data:`OUTPUT_COLUMNS`, one row per input row, in input order.
    """
    frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
    frame, ids = _child_ids(frame)
    features = _coerce(frame, feature_dtypes(model))
    capacity = _capacity(params)
    keep, why = _in_population(model, features)
    try:
        scored = (
            model.score_features(features[keep], capacity=capacity)
            if keep.any()  # a batch of a Spark UDF may hold no child in the age range
            else pd.DataFrame({"child_id": [], "risk": [], "rank": [], "flagged": []})
        )
    except Exception as exc:
        if isinstance(exc, ValueError | TypeError) and str(exc).startswith("capacity"):
            raise ValueError(str(exc)) from None
        logger.debug("Scoring failed", exc_info=True)
        raise ValueError(
            f"The model could not score this input ({type(exc).__name__}; details are not "
            "shown because they may quote a child's values)."
        ) from None
    if "child_id" not in scored.columns:
        scored = scored.reset_index()
    scored = scored.set_index(scored["child_id"].astype("str"))
    if len(scored) != int(keep.sum()) or not scored.index.equals(ids[keep]):
        scored = scored.reindex(ids[keep])
        if len(scored) != int(keep.sum()) or scored["risk"].isna().any():
            raise IntegrityError(
                f"The model must return one row per scored child; got {len(scored)} rows for "
                f"{int(keep.sum())} children."
            )
    out = pd.DataFrame(
        {
            "child_id": pd.array(ids, dtype="str"),
            "risk": np.nan,
            "rank": pd.array([pd.NA] * len(ids), dtype="Int64"),
            "flagged": False,
            **{f"reason_{i}": "" for i in (1, 2, 3)},
        }
    )
    rows = np.flatnonzero(keep)
    out.loc[rows, "risk"] = scored["risk"].to_numpy(dtype="float64")
    out.loc[rows, "rank"] = scored["rank"].to_numpy(dtype="int64")
    out.loc[rows, "flagged"] = scored["flagged"].to_numpy(dtype="bool")
    for i in (1, 2, 3):
        col = f"reason_{i}"
        if col in scored.columns:
            out.loc[rows, col] = scored[col].fillna("").astype("str").to_numpy()
    if why is not None:
        out.loc[~keep, "reason_1"] = why
    out["flagged"] = out["flagged"].astype("bool")
    out["risk"] = out["risk"].astype("float64")
    return out


def pyfunc_input(features: pd.DataFrame) -> pd.DataFrame:
    """Plain dtypes for a feature frame (kept for code written for older models).

    Models logged by this send_early take :func:`send_early.build_features` output as
    it is. Models logged before declared each column's MLflow type, and MLflow's input
    check refuses pandas nullable dtypes (``Int64``, ``boolean``, ``category``) for
    them; this gives numbers as ``float64`` (missing as NaN), flags and text as
    objects (None for missing), keeping the child id in the index.

    Examples
    --------
    >>> f = pd.DataFrame({"n": pd.array([1, None], dtype="Int64"),
    ...                   "b": pd.array([True, None], dtype="boolean"),
    ...                   "s": pd.Series(["F", None], dtype="category")})
    >>> pyfunc_input(f).dtypes.astype(str).tolist()
    ['float64', 'object', 'object']
    """
    out = {}
    for col in features.columns:
        s = features[col]
        if pd.api.types.is_bool_dtype(s.dtype):
            out[col] = s.astype(object).where(s.notna(), None)
        elif pd.api.types.is_numeric_dtype(s.dtype):
            out[col] = s.astype("float64")
        else:
            out[col] = s.astype(object).where(s.notna(), None)
    return pd.DataFrame(out, index=features.index)


def _kind(dtype) -> str:
    if isinstance(dtype, pd.CategoricalDtype):
        cats = list(dtype.categories)
        return "category: " + ", ".join(map(str, cats)) if cats else "category"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_numeric_dtype(dtype):
        return "double"
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "string"


def input_types(model) -> dict[str, str]:
    """Each input column's type as the pyfunc checks it (``double``, ``boolean``,
    ``category: a, b, c``, ``string``); stored in the MLmodel file's metadata."""
    return {"child_id": "string", **{c: _kind(d) for c, d in feature_dtypes(model).items()}}


def signature_for(schema: pd.DataFrame):
    """MLflow signature from the zero-row feature schema (names only, no values).

    MLflow 3 checks a declared column type before the model sees the input, refuses
    ``category`` and nullable columns for every type it has, and quotes the input
    rows in its error (and in the HTTP 400 body). So every input column is declared
    ``Any`` and optional: MLflow passes the frame through, and :func:`predict_frame`
    checks each column's type (listed by :func:`input_types` in the MLmodel
    metadata) with messages naming columns and rules only. ``capacity`` is a
    ``double`` param (0 = the model spec's policy), so counts and shares both pass.
    """
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema
    from mlflow.types.schema import AnyType

    inputs = [ColSpec(AnyType(), "child_id", required=False)]
    inputs += [ColSpec(AnyType(), str(c), required=False) for c in schema.columns]
    outputs = [
        ColSpec("string", "child_id"),
        ColSpec("double", "risk", required=False),
        ColSpec("long", "rank", required=False),
        ColSpec("boolean", "flagged"),
        *(ColSpec("string", f"reason_{i}") for i in (1, 2, 3)),
    ]
    params = ParamSchema([ParamSpec("capacity", "double", 0.0)])
    return ModelSignature(inputs=Schema(inputs), outputs=Schema(outputs), params=params)
