"""The saved RiskModel format, version 2: JSON, TOML and one NumPy ``.npz``; no pickle, no code.

A saved folder holds exactly :data:`FILES` (docs/registry.md, "Model format"):

- ``model.json``: format name and version, feature names and dtypes, calibration,
  threshold, and the estimator's class name (one of :data:`ESTIMATORS`), constructor
  parameters and fitted scalars;
- ``arrays.npz``: every fitted array (bin edges, shape tables, points, counts, isotonic
  thresholds), written as ``np.savez`` does (fixed timestamps, so the same model saves to
  the same bytes) and read with ``allow_pickle=False``;
- ``model.toml``, ``pipeline.toml``: the specs' text; ``metadata.json``,
  ``reference.json``: aggregates and the drift reference.

Loading builds the model from the installed package's classes only and checks every
field (types, shapes, finite values, known keys); a bad folder is an
:class:`~send_early.exceptions.IntegrityError` naming the file and the field.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.interpolate import interp1d

from ..estimators import AdditiveRiskClassifier, ScorecardClassifier
from ..exceptions import IntegrityError

__all__ = [
    "ESTIMATORS",
    "FILES",
    "FORMAT_VERSION",
    "IsotonicCalibration",
    "check_folder",
    "read_folder",
    "write_folder",
]

FORMAT_VERSION = 2
FORMAT_NAME = "send_early.RiskModel"
FILES = (
    "model.json",
    "arrays.npz",
    "model.toml",
    "pipeline.toml",
    "metadata.json",
    "reference.json",
)
#: The only estimator classes a saved model may name.
ESTIMATORS = {c.__name__: c for c in (AdditiveRiskClassifier, ScorecardClassifier)}
_OLD_FORMAT = "model.joblib"
_CALIBRATIONS = ("sigmoid", "temperature", "isotonic", "none")
_DTYPE_KINDS = "biufcU"  # plus categoricals and pandas' text dtypes


def _dump(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez`` with fixed zip timestamps and order, so the same model gives the same bytes
    (and the same SHA-256) whenever it is saved; readable by ``np.load(allow_pickle=False)``."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with zf.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.asanyarray(arrays[name]), allow_pickle=False)


def write_folder(model, folder: Path) -> Path:
    """Write ``model``'s fitted state to ``folder`` in format 2 (see the module docstring)."""
    extra = (
        sorted(p.name for p in folder.iterdir() if p.name not in FILES and p.name != _OLD_FORMAT)
        if folder.is_dir()
        else []
    )
    if extra:
        raise ValueError(
            f"A model folder must hold only the saved model's files; {folder} also holds "
            f"{', '.join(extra[:5])}. Save to a new or empty folder."
        )
    folder.mkdir(parents=True, exist_ok=True)
    est = model.estimator_
    name = type(est).__name__
    if ESTIMATORS.get(name) is not type(est):
        raise TypeError(
            f"Only {', '.join(ESTIMATORS)} models can be saved; found {type(est).__name__}."
        )
    state, est_arrays = est._to_state()
    arrays = {f"estimator.{k}": np.ascontiguousarray(v) for k, v in est_arrays.items()}
    if model.calibrator_ is not None:
        arrays["calibration.x_thresholds"] = model.calibrator_.x
        arrays["calibration.y_thresholds"] = model.calibrator_.y
    spec = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "feature_names": list(model.feature_names_),
        "feature_dtypes": dict(model.feature_dtypes_),
        "calibration": dict(model.calibration_),
        "threshold": model.threshold_,
        "estimator": {"class": name, "state": state},
    }
    (folder / "model.json").write_text(_dump(spec), encoding="utf-8")
    _write_npz(folder / "arrays.npz", arrays)
    (folder / "model.toml").write_text(model.spec.text, encoding="utf-8")
    (folder / "pipeline.toml").write_text(model.pipeline_text, encoding="utf-8")
    (folder / "metadata.json").write_text(_dump(model.metadata_), encoding="utf-8")
    (folder / "reference.json").write_text(_dump(model.reference_), encoding="utf-8")
    (folder / _OLD_FORMAT).unlink(missing_ok=True)  # left by a save of format 1
    return folder


# --------------------------------------------------------------------------- reading
class _Bad:
    """Builds IntegrityErrors that name the folder's file and field."""

    def __init__(self, folder: Path):
        self.folder = folder

    def __call__(self, file: str, what: str) -> IntegrityError:
        return IntegrityError(
            f"The saved model {self.folder} is not valid: {file} {what} Save the model again "
            "with RiskModel.save, or restore the folder from the registry or a backup."
        )


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _json(folder: Path, file: str, bad: _Bad):
    try:
        return json.loads(
            (folder / file).read_text(encoding="utf-8"), parse_constant=_refuse_constant
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad(file, f"must be JSON text ({type(exc).__name__}: {exc}).") from None


def _arrays(folder: Path, bad: _Bad) -> dict[str, np.ndarray]:
    try:
        z = np.load(folder / "arrays.npz", allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise ValueError("a single .npy array, not an .npz archive")
        with z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise bad(
            "arrays.npz",
            f"must be a NumPy .npz archive of plain arrays ({type(exc).__name__}: {exc}).",
        ) from None


def _check_files(folder: Path, bad: _Bad) -> None:
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} must be a folder written by RiskModel.save; not found.")
    names = {p.name for p in folder.iterdir()}
    if _OLD_FORMAT in names:
        raise IntegrityError(
            f"{folder} holds model.joblib, a model saved by send_early before format "
            f"{FORMAT_VERSION}: a pickle, which send_early no longer loads because loading a "
            "pickle can run any code. Re-train the model from its specs (model.toml and "
            "pipeline.toml in that folder) with `send-early train` or RiskModel(...).fit, then "
            "save it, and log it again with send_early.registry.log_model (or `send-early "
            "train --register NAME`)."
        )
    missing = [f for f in FILES if f not in names]
    extra = sorted(names - set(FILES))
    if missing or extra:
        parts = [f"missing {', '.join(missing)}"] if missing else []
        parts += [f"unexpected {', '.join(extra[:5])}"] if extra else []
        raise bad("the folder", f"must hold exactly {', '.join(FILES)}; {'; '.join(parts)}.")
    not_files = [f for f in FILES if not (folder / f).is_file()]
    if not_files:
        raise bad(not_files[0], "must be a regular file.")


def _text_list(v) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v) and len(set(v)) == len(v)


def _number(v, low=-np.inf, high=np.inf) -> bool:
    return (
        isinstance(v, int | float) and not isinstance(v, bool) and bool(low <= v <= high)
    ) and np.isfinite(v)


def _dtype_ok(text) -> bool:
    if not isinstance(text, str):
        return False
    if text == "category":
        return True
    try:
        dtype = pd.api.types.pandas_dtype(text)
    except (TypeError, ValueError):
        return False
    return pd.api.types.is_string_dtype(dtype) or getattr(dtype, "kind", "") in _DTYPE_KINDS


def _check_reference(ref, features: list[str], bad: _Bad) -> None:
    """The drift reference: known keys, finite shares in [0, 1], edges increasing."""
    if not isinstance(ref, dict) or set(ref) != {"features", "score"}:
        raise bad("reference.json", "must be an object with keys features and score.")
    feats = ref["features"]
    if not isinstance(feats, dict) or not set(feats) <= set(features):
        raise bad("reference.json", "field features must map model features to entries.")

    def ordered(entry, where, keys):
        if not isinstance(entry, dict) or not set(entry) <= keys or "edges" not in entry:
            raise bad("reference.json", f"entry {where} must have keys among {sorted(keys)}.")
        edges, shares = entry["edges"], entry.get("shares")
        ok = isinstance(edges, list) and isinstance(shares, list)
        ok = ok and all(_number(e) for e in edges) and all(_number(s, 0, 1) for s in shares)
        ok = ok and all(a < b for a, b in zip(edges[:-1], edges[1:], strict=True))
        ok = ok and (len(shares) == len(edges) + 1 or (not shares and not edges))
        ok = ok and _number(entry.get("missing", 0.0), 0, 1)
        ok = ok and isinstance(entry.get("missing_pooled", False), bool)
        if not ok:
            raise bad(
                "reference.json",
                f"entry {where} must have increasing finite edges and one share in [0, 1] "
                "more than edges.",
            )

    numeric = {"kind", "edges", "shares", "missing", "missing_pooled"}
    for name, entry in feats.items():
        where = f"features.{name}"
        if isinstance(entry, dict) and entry.get("kind") == "categorical":
            shares = entry.get("shares")
            if set(entry) != {"kind", "shares"} or not isinstance(shares, dict):
                raise bad("reference.json", f"entry {where} must have keys kind and shares.")
            if not all(_number(s, 0, 1) for s in shares.values()):
                raise bad("reference.json", f"entry {where} shares must be numbers in [0, 1].")
        elif isinstance(entry, dict) and entry.get("kind") == "numeric":
            ordered(entry, where, numeric)
        else:
            raise bad("reference.json", f"entry {where} kind must be categorical or numeric.")
    ordered(ref["score"], "score", {"edges", "shares"})


class IsotonicCalibration(NamedTuple):
    """Isotonic calibration stored as data: its thresholds (``X_thresholds_`` and
    ``y_thresholds_`` of the fitted ``IsotonicRegression``).

    Calling it on log-odds gives what ``CalibratedClassifierCV(FrozenEstimator(est),
    method="isotonic").predict_proba(X)[:, 1]`` gives (scikit-learn 1.9): values clipped
    to the thresholds' range, interpolated linearly by scipy's ``interp1d``, and
    probabilities up to ``1 + 1e-5`` set to 1.
    """

    x: np.ndarray
    y: np.ndarray

    def __call__(self, log_odds) -> np.ndarray:
        t = np.clip(np.asarray(log_odds, dtype=np.float64).reshape(-1), self.x[0], self.x[-1])
        if self.y.size == 1:
            p = self.y.repeat(t.shape)
        else:
            p = interp1d(self.x, self.y, kind="linear", bounds_error=False)(t)
        p = p.astype(np.float64)
        p[(1.0 < p) & (p <= 1.0 + 1e-5)] = 1.0
        return p


def _isotonic(arrays, bad: _Bad) -> IsotonicCalibration:
    x = arrays.pop("calibration.x_thresholds", None)
    y = arrays.pop("calibration.y_thresholds", None)
    for key, a in (("calibration.x_thresholds", x), ("calibration.y_thresholds", y)):
        if a is None:
            raise bad("arrays.npz", f"array {key!r} is missing (isotonic calibration).")
        if a.dtype != np.float64 or a.ndim != 1 or a.size == 0 or not np.isfinite(a).all():
            raise bad("arrays.npz", f"array {key!r} must be finite float64 values in one row.")
    if x.shape != y.shape or not (np.diff(x) > 0).all():
        raise bad(
            "arrays.npz",
            "arrays 'calibration.x_thresholds' must increase strictly and "
            "'calibration.y_thresholds' have the same length.",
        )
    if not ((np.diff(y) >= 0).all() and y.min() >= 0 and y.max() <= 1):
        raise bad(
            "arrays.npz", "array 'calibration.y_thresholds' must be non-decreasing in [0, 1]."
        )
    return IsotonicCalibration(x, y)


def read_folder(folder: Path, spec, pipeline_text: str) -> dict:
    """Read and check a format-2 folder: the model attributes to set, by name.

    ``spec`` and ``pipeline_text`` are the folder's specs, already parsed by the caller
    (the specs decide the calibration method and the capacity policy checked here).
    """
    bad = _Bad(folder)
    m = _json(folder, "model.json", bad)
    if not isinstance(m, dict) or m.get("format") != FORMAT_NAME:
        raise bad("model.json", f"field format must be {FORMAT_NAME!r}.")
    if m.get("format_version") != FORMAT_VERSION:
        raise bad(
            "model.json",
            f"field format_version must be {FORMAT_VERSION}; found {m.get('format_version')!r}. "
            "It was saved by another send_early version: re-train and save it with this one.",
        )
    known = {"format", "format_version", "feature_names", "feature_dtypes", "calibration"}
    known |= {"threshold", "estimator"}
    if set(m) != known:
        raise bad("model.json", f"must have exactly the fields {', '.join(sorted(known))}.")
    names, dtypes = m["feature_names"], m["feature_dtypes"]
    if not _text_list(names) or not names:
        raise bad("model.json", "field feature_names must be distinct names.")
    if not isinstance(dtypes, dict) or sorted(dtypes) != sorted(names):
        raise bad("model.json", "field feature_dtypes must give a dtype per feature.")
    dtypes = {c: dtypes[c] for c in names}
    bad_dtypes = [c for c, d in dtypes.items() if not _dtype_ok(d)]
    if bad_dtypes:
        raise bad(
            "model.json",
            f"field feature_dtypes must be numeric, boolean, text or category dtypes; "
            f"{', '.join(bad_dtypes[:5])} are not.",
        )
    cal = m["calibration"]
    if (
        not isinstance(cal, dict)
        or set(cal) != {"method", "slope", "intercept"}
        or cal["method"] != spec.calibration
        or not (_number(cal["slope"]) and _number(cal["intercept"]))
        or (cal["method"] in ("isotonic", "none") and (cal["slope"], cal["intercept"]) != (1, 0))
    ):
        raise bad(
            "model.json",
            f"field calibration must be {{method, slope, intercept}} with the model spec's "
            f"method {spec.calibration!r} and finite numbers.",
        )
    threshold = m["threshold"]
    needs = spec.capacity_policy == "threshold"
    if (threshold is None) == needs or (threshold is not None and not _number(threshold, 0, 1)):
        raise bad(
            "model.json",
            "field threshold must be a number in [0, 1] for capacity policy 'threshold' and "
            "null otherwise.",
        )
    est = m["estimator"]
    cls = ESTIMATORS.get(est.get("class")) if isinstance(est, dict) else None
    if cls is None or set(est) != {"class", "state"}:
        raise bad(
            "model.json", f"field estimator must be {{class, state}} with class one of "
            f"{', '.join(ESTIMATORS)}.",
        )  # fmt: skip
    kind = {"AdditiveRiskClassifier": "additive", "ScorecardClassifier": "scorecard"}[cls.__name__]
    if kind != spec.estimator:
        raise bad(
            "model.json", f"field estimator.class must match the spec's kind {spec.estimator!r}."
        )

    arrays = _arrays(folder, bad)
    calibrator = _isotonic(arrays, bad) if cal["method"] == "isotonic" else None
    others = sorted(k for k in arrays if not k.startswith("estimator."))
    if others:
        raise bad("arrays.npz", f"array {others[0]!r} is not a known array.")
    est_arrays = {k.removeprefix("estimator."): v for k, v in arrays.items()}
    try:
        estimator = cls._from_state(
            est["state"],
            est_arrays,
            fields_name="model.json estimator.state",
            arrays_name="arrays.npz",
            array_prefix="estimator.",
        )
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        raise IntegrityError(
            f"The saved model {folder} is not valid: {exc} Save the model again with "
            "RiskModel.save, or restore the folder from the registry or a backup."
        ) from None
    if list(getattr(estimator, "feature_names_in_", [])) != names:
        raise bad("model.json", "field estimator.state.feature_names_in must equal feature_names.")

    metadata = _json(folder, "metadata.json", bad)
    if not isinstance(metadata, dict) or metadata.get("format_version") != FORMAT_VERSION:
        raise bad("metadata.json", f"must be an object with format_version {FORMAT_VERSION}.")
    for key, text in (("model_spec_sha256", spec.text), ("pipeline_spec_sha256", pipeline_text)):
        if metadata.get(key) != hashlib.sha256(text.encode()).hexdigest():
            raise bad("metadata.json", f"field {key} must be the SHA-256 of the spec file.")
    if metadata.get("estimator") != cls.__name__:
        raise bad("metadata.json", "field estimator must name the estimator class.")
    reference = _json(folder, "reference.json", bad)
    _check_reference(reference, names, bad)
    return {
        "feature_names_": list(names),
        "feature_dtypes_": dict(dtypes),
        "estimator_": estimator,
        "calibration_": {
            "method": cal["method"],
            "slope": float(cal["slope"]),
            "intercept": float(cal["intercept"]),
        },
        "calibrator_": calibrator,
        "threshold_": None if threshold is None else float(threshold),
        "reference_": reference,
        "metadata_": metadata,
    }


def check_folder(path: str | os.PathLike) -> Path:
    """``path`` as a Path after checking it holds exactly the format's files."""
    folder = Path(path)
    _check_files(folder, _Bad(folder))
    return folder
