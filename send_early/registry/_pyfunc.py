"""The MLflow pyfunc face of a RiskModel, and the checksum that guards it.

The pyfunc is logged as "models from code": :data:`PYFUNC_CODE` is written to a file
and stored with the model, so no pickle is involved. At load time that code calls
back into this module (which does not import mlflow) to check the checksum, import
the model class named in the model config and load the saved RiskModel directory.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import IntegrityError, SchemaError

logger = logging.getLogger(__name__)

__all__ = [
    "OUTPUT_COLUMNS",
    "PYFUNC_CODE",
    "class_path",
    "directory_sha256",
    "import_class",
    "load_verified",
    "predict_frame",
    "pyfunc_input",
]

#: Columns the pyfunc returns, in order.
OUTPUT_COLUMNS = ("child_id", "risk", "rank", "flagged", "reason_1", "reason_2", "reason_3")

#: Source of the models-from-code file stored with every logged model.
PYFUNC_CODE = '''"""send_early RiskModel as an MLflow pyfunc (models from code; see send_early.registry)."""
import mlflow.pyfunc
import pandas as pd
from mlflow.models import set_model


class SendEarlyRiskPyfunc(mlflow.pyfunc.PythonModel):
    """Scores a feature frame (one row per child) with a saved send_early RiskModel."""

    def load_context(self, context):
        from send_early.registry._pyfunc import load_verified

        config = context.model_config or {}
        self.model = load_verified(
            context.artifacts["risk_model"],
            config.get("model_class"),
            config.get("artifact_sha256"),
        )

    def predict(self, context, model_input: pd.DataFrame, params=None):
        from send_early.registry._pyfunc import predict_frame

        return predict_frame(self.model, model_input, params)


set_model(SendEarlyRiskPyfunc())
'''


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


def class_path(cls: type) -> str:
    """Dotted import path of a class, e.g. ``"send_early.model.RiskModel"``."""
    return f"{cls.__module__}.{cls.__qualname__}"


def import_class(path: str) -> type:
    """Import a class from its dotted path (``package.module.Class``).

    Raises
    ------
    ImportError
        When the module or class cannot be found, with the path in the message.
    """
    module_name, _, qualname = path.rpartition(".")
    if not module_name:
        raise ImportError(f"A model class path must be 'package.module.Class'; found {path!r}.")
    try:
        obj = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ImportError(
            f"Cannot import the model class {path!r} recorded with this model ({exc}). "
            "Install the send_early version the model was logged with."
        ) from exc
    return obj


def load_verified(
    path: str | os.PathLike,
    model_class: str | type | None,
    expected_sha256: str | None,
    *,
    where: str = "",
):
    """Check a saved model directory against its recorded SHA-256, then load it.

    Parameters
    ----------
    path : path-like
        The saved RiskModel directory.
    model_class : str or type or None
        The class (or its dotted path) whose ``load`` reads the directory;
        ``None`` means ``send_early.model.RiskModel``.
    expected_sha256 : str or None
        The digest recorded when the model was logged. ``None`` refuses to load.
    where : str
        Where the model came from, for messages (e.g. ``"models:/risk@champion"``).

    Raises
    ------
    IntegrityError
        When no digest was recorded or the directory does not match it.
    """
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
            f"logged; recorded {expected_sha256[:16]}..., found {actual[:16]}... The "
            "artifacts were changed or corrupted after logging: do not use this model; "
            "restore the store from a backup or log and review the model again."
        )
    if model_class is None:
        model_class = "send_early.model.RiskModel"
    cls = import_class(model_class) if isinstance(model_class, str) else model_class
    return cls.load(path)


def _coerce(frame: pd.DataFrame, schema: pd.DataFrame) -> pd.DataFrame:
    """Cast ``frame`` to the model's feature dtypes; errors name columns, never values."""
    missing = [c for c in schema.columns if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"The input must have every model feature column; {len(missing)} missing: "
            f"{', '.join(missing[:20])}{' ...' if len(missing) > 20 else ''}. "
            "Build the features with the model's pipeline spec."
        )
    out = {}
    bad = []
    for col in schema.columns:
        dtype = schema[col].dtype
        try:
            out[col] = frame[col].astype(dtype)
        except (TypeError, ValueError):
            bad.append(f"{col} (expected {dtype})")
    if bad:
        raise SchemaError(
            f"Input columns must convert to the model's feature dtypes; {len(bad)} did not: "
            f"{', '.join(bad[:20])}."
        )
    return pd.DataFrame(out, index=frame.index)


def predict_frame(model, model_input, params=None) -> pd.DataFrame:
    """Score a feature frame with ``model``; the body of the pyfunc's ``predict``.

    The child id is taken from a ``child_id`` column if present, else from the index.
    ``params`` may carry ``capacity`` (how many children to flag; 0, the
    signature's default, means the model spec's capacity policy; a negative
    number is refused).

    Returns
    -------
    DataFrame
        Columns :data:`OUTPUT_COLUMNS`, one row per input row, in input order.
    """
    frame = pd.DataFrame(model_input)
    if "child_id" in frame.columns:
        frame = frame.set_index(frame["child_id"].astype("str")).drop(columns="child_id")
    frame.index = pd.Index(frame.index.astype("str"), name="child_id")
    features = _coerce(frame, model.feature_schema())
    capacity = (params or {}).get("capacity")
    if capacity is not None and not (isinstance(capacity, float) and np.isnan(capacity)):
        capacity = int(capacity)
        if capacity == 0:  # the signature's default: not given
            capacity = None
    scored = model.score_features(features, capacity=capacity)
    if "child_id" not in scored.columns:
        scored = scored.reset_index()
    out = pd.DataFrame(
        {
            "child_id": scored["child_id"].astype("str"),
            "risk": scored["risk"].astype("float64"),
            "rank": scored["rank"].astype("int64"),
            "flagged": scored["flagged"].astype("bool"),
            **{f"reason_{i}": scored[f"reason_{i}"].fillna("").astype("str") for i in (1, 2, 3)},
        }
    )
    # back to input order, whatever order the model returned
    order = pd.Index(out["child_id"]).get_indexer(frame.index)
    if (order < 0).any() or len(out) != len(frame):
        raise IntegrityError(
            f"The model must return one row per input row; got {len(out)} rows for "
            f"{len(frame)} inputs."
        )
    return out.iloc[order].reset_index(drop=True)


def pyfunc_input(features: pd.DataFrame) -> pd.DataFrame:
    """Convert a feature frame to the plain dtypes MLflow's pyfunc schema check accepts.

    MLflow's input check refuses pandas nullable dtypes (``Int64``, ``boolean``,
    ``category``). This gives numbers as ``float64`` (missing as NaN), flags as
    objects (True, False or None) and text as objects (str or None), keeping the
    child id in the index. The pyfunc casts them back to the model's dtypes. Not
    needed with :func:`send_early.registry.load_model`, which returns the RiskModel.

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


def signature_for(schema: pd.DataFrame):
    """MLflow signature from the zero-row feature schema (names and types, no values).

    Numbers (and nullable integers) are declared ``double``, so missing values pass;
    booleans ``boolean``; text and categories ``string``. Every column is optional
    for MLflow: :func:`predict_frame` checks and casts it, with messages that name
    columns only (MLflow's own schema errors echo the input rows).
    """
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

    def kind(dtype) -> str:
        if pd.api.types.is_bool_dtype(dtype):
            return "boolean"
        if pd.api.types.is_numeric_dtype(dtype):
            return "double"
        if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(dtype):
            return "datetime"
        return "string"

    inputs = [ColSpec("string", "child_id", required=False)]
    inputs += [ColSpec(kind(schema[c].dtype), str(c), required=False) for c in schema.columns]
    outputs = [
        ColSpec("string", "child_id"),
        ColSpec("double", "risk"),
        ColSpec("long", "rank"),
        ColSpec("boolean", "flagged"),
        *(ColSpec("string", f"reason_{i}") for i in (1, 2, 3)),
    ]
    params = ParamSchema([ParamSpec("capacity", "long", 0)])
    return ModelSignature(inputs=Schema(inputs), outputs=Schema(outputs), params=params)
