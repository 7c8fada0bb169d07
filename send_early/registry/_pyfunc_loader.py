"""The MLflow loader of send_early models: the installed package reads the model as data.

A model logged by :func:`send_early.registry.log_model` is an MLflow pyfunc whose MLmodel
file names this module as its ``loader_module`` and ``data/risk_model`` (a folder
written by ``RiskModel.save``: JSON, TOML and NumPy arrays) as its data. MLflow imports
this module from the installed send_early and calls :func:`_load_pyfunc`; no Python file,
pickle or ``code_paths`` entry is stored with the model. Before the folder is read, its
SHA-256 must equal the one recorded in the MLmodel metadata and, when a signing key is
set, its signature must verify (see :mod:`send_early.registry._signing`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..exceptions import IntegrityError

logger = logging.getLogger(__name__)

__all__ = ["DATA_DIR", "LOADER_MODULE", "RiskModelPyfunc", "check_mlmodel"]

#: The ``loader_module`` every send_early MLmodel names.
LOADER_MODULE = "send_early.registry._pyfunc_loader"
#: Where MLflow stores the saved RiskModel folder inside the logged model.
DATA_DIR = "data/risk_model"
#: MLmodel metadata keys written by ``log_model``.
SHA_KEY = "send_early_artifact_sha256"
SIGNATURE_KEY = "send_early_signature"
FORMAT_KEY = "send_early_format_version"


class RiskModelPyfunc:
    """What ``mlflow.pyfunc.load_model`` wraps: a loaded RiskModel and its ``predict``.

    ``predict(model_input, params)`` is :func:`send_early.registry._pyfunc.predict_frame`,
    the function batch scoring and the CLI share (``params`` may carry ``capacity``).
    """

    def __init__(self, model):
        self.model = model

    def predict(self, model_input, params=None):
        from ._pyfunc import predict_frame

        return predict_frame(self.model, model_input, params)


def check_mlmodel(path: str | os.PathLike, *, where: str) -> dict:
    """Check that an MLmodel file names send_early's loader and data folder; its metadata.

    The file is read as YAML data (``yaml.safe_load``). A model of another flavor, a
    ``python_model`` (code stored with the model), ``code`` paths or another loader
    module is refused: following that file would run something other than the
    installed send_early.

    Raises
    ------
    IntegrityError
        Naming the model and what must hold.
    """
    import yaml

    file = Path(path)
    try:
        meta = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise IntegrityError(
            f"The MLmodel file of {where} must be readable YAML ({type(exc).__name__})."
        ) from None
    flavors = meta.get("flavors") if isinstance(meta, dict) else None
    conf = flavors.get("python_function") if isinstance(flavors, dict) else None
    if isinstance(conf, dict) and ("python_model" in conf or "artifacts" in conf):
        raise IntegrityError(
            f"{where} was logged by an earlier send_early (a Python file and a pickle stored "
            "with the model, run when it loads); this version does not load such models. "
            "Re-train the model (`send-early train ... --register NAME`, or RiskModel.fit "
            "and send_early.registry.log_model) and review and promote the new version."
        )
    problems = []
    if not isinstance(flavors, dict) or set(flavors) != {"python_function"}:
        problems.append("name the python_function flavor only")
    if not isinstance(conf, dict):
        conf = {}
    if conf.get("loader_module") != LOADER_MODULE:
        problems.append(f"name loader_module {LOADER_MODULE}")
    if conf.get("data") != DATA_DIR:
        problems.append(f"name data {DATA_DIR}")
    if conf.get("code"):
        problems.append("store no code paths")
    if conf.get("streamable"):
        problems.append("not be streamable")
    allowed = {"loader_module", "data", "code", "env", "python_version", "streamable"}
    extra = sorted(set(conf) - allowed)
    if extra:
        problems.append(f"hold no other pyfunc settings (found {', '.join(extra[:5])})")
    if problems:
        raise IntegrityError(
            f"The MLmodel file of {where} must " + "; ".join(problems) + ". It was changed "
            "after logging: do not use or serve this model; restore the store from a backup "
            "or log and review the model again."
        )
    metadata = meta.get("metadata")
    return dict(metadata) if isinstance(metadata, dict) else {}


def _load_pyfunc(data_path: str, model_config=None) -> RiskModelPyfunc:
    """Load a send_early model for ``mlflow.pyfunc.load_model`` and ``mlflow models serve``.

    ``data_path`` is the model's ``data/risk_model`` folder; its MLmodel file is two
    levels up. The folder is hashed and checked against the SHA-256 recorded in the
    MLmodel metadata (and against the signature when a signing key is set) before it
    is read, then loaded by ``RiskModel.load`` as data.
    """
    from ..model import RiskModel
    from ._pyfunc import verify_folder

    folder = Path(data_path)
    metadata = check_mlmodel(folder.parent.parent / "MLmodel", where=str(folder.parent.parent))
    verify_folder(folder, metadata.get(SHA_KEY), metadata.get(SIGNATURE_KEY), where=str(folder))
    model = RiskModel.load(folder)
    logger.info("Loaded a send_early model as data (integrity verified).")
    return RiskModelPyfunc(model)
