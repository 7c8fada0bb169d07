"""Load a registered RiskModel after checking its files against the registry.

Nothing stored with a model runs as code: the saved folder is hashed and checked
against the version's tags before any file is read, and the class that reads it is
RiskModel or one allowed in this process (:func:`allow_model_class`), never a name
taken from the store.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path

from ..exceptions import IntegrityError
from ._identity import server_errors
from ._pyfunc import verify_folder
from ._pyfunc_loader import DATA_DIR, SHA_KEY, check_mlmodel
from ._signing import signing_key
from ._store import Store, import_mlflow, open_store, using_store
from ._tags import CLASS_TAG, SHA_TAG, SIGNATURE_TAG

logger = logging.getLogger(__name__)

__all__ = ["allow_model_class", "load_model"]


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


#: Classes :func:`load_model` may load, by the class path a version's tag records.
_ALLOWED_CLASSES: dict[str, type] = {}


def allow_model_class(cls: type) -> None:
    """Let :func:`load_model` load versions logged from ``cls`` in this process.

    An explicit, in-process allowlist for stand-ins and extensions (the tests' fake
    model): the version's ``send_early.model_class`` tag only picks among the classes
    allowed here and ``send_early.model.RiskModel``; no name from the store is imported.
    """
    if not isinstance(cls, type) or not callable(getattr(cls, "load", None)):
        raise TypeError(f"allow_model_class needs a class with a load method; found {cls!r}.")
    _ALLOWED_CLASSES[_class_path(cls)] = cls


def _model_class(named: str | None, where: str) -> type:
    """The class that loads a version: RiskModel, or one allowed in this process."""
    from ..model import RiskModel

    if named is None or named == _class_path(RiskModel):
        return RiskModel
    if named in _ALLOWED_CLASSES:
        return _ALLOWED_CLASSES[named]
    raise IntegrityError(
        f"{where} was logged from the class {str(named)[:200]!r}, which this process does not "
        "load: send_early loads send_early.model.RiskModel, a class passed as model_class=, "
        "or one allowed with allow_model_class; it never imports a class named by the store."
    )


# --------------------------------------------------------------------------- resolve
def _parse_ref(ref: str) -> tuple[str, str | None, str | None]:
    """``(name, version, alias)`` from ``models:/N@a``, ``models:/N/3``, ``N``, ``N@a``, ``N/3``.

    A bare name means its ``champion``.
    """
    text = str(ref)
    if text.startswith("models:/"):
        text = text[len("models:/") :]
    elif re.match(r"[A-Za-z][A-Za-z0-9+.\-]*:/", text):
        raise ValueError(
            f"A model reference must be 'models:/NAME@ALIAS', 'models:/NAME/VERSION' or a "
            f"registered name; found {ref!r}."
        )
    if "@" in text:
        name, alias = text.rsplit("@", 1)
        return name, None, alias
    head, _, tail = text.rpartition("/")
    if head and tail.isdigit():
        return head, tail, None
    return text, None, "champion"


def _model_version(client, mlflow, name: str, version: str | None, alias: str | None):
    try:
        if alias is not None:
            return client.get_model_version_by_alias(name, alias)
        return client.get_model_version(name, version)
    except mlflow.exceptions.MlflowException as exc:
        what = f"{name}@{alias}" if alias else f"{name} version {version}"
        raise ValueError(
            f"The registered model {what} must exist in the store; it was not found "
            f"({exc.error_code}). List versions with `send-early versions NAME` or the "
            "MLflow UI."
        ) from None


def _download_verified(store: Store, mv, dst: Path, where: str) -> Path:
    """Download a version's model files to ``dst`` and check them before any is read.

    The saved folder (``data/risk_model``) is hashed and must match the version's
    SHA-256 tag; with a signing key set, the version's signature must verify; then the
    MLmodel file must name send_early's loader and data folder and record the same
    digest. Returns the saved folder.
    """
    mlflow = import_mlflow()
    # models:/ resolves through the process-wide registry URI (ModelsArtifactRepository
    # reads mlflow.get_registry_uri()), so the block points it at this store
    with using_store(store):
        local = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{mv.name}/{mv.version}", dst_path=str(dst)
            )
        )
    expected = mv.tags.get(SHA_TAG)
    if not expected:
        raise IntegrityError(
            f"A registered send_early model must carry the tag {SHA_TAG}; {where} has none. "
            "Log the model with send_early.registry.log_model."
        )
    risk_dir = local / DATA_DIR
    if not risk_dir.is_dir():
        check_mlmodel(local / "MLmodel", where=where)  # names an earlier send_early's layout
        raise IntegrityError(f"The model files of {where} must contain {DATA_DIR}; it is missing.")
    verify_folder(risk_dir, expected, mv.tags.get(SIGNATURE_TAG), where=where)
    if check_mlmodel(local / "MLmodel", where=where).get(SHA_KEY) != expected:
        raise IntegrityError(
            f"The MLmodel file of {where} must record the SHA-256 of the version's tag "
            f"{SHA_TAG}; it records another. It was changed after logging: do not use or "
            "serve this model; restore the store from a backup or log the model again."
        )
    return risk_dir


# --------------------------------------------------------------------------- load
def load_model(
    uri_or_name: str,
    *,
    tracking_uri: str | os.PathLike | None = None,
    model_class: type | None = None,
):
    """Load a registered RiskModel after checking its files against the registry.

    Nothing stored with the model is executed. The saved folder is hashed and checked
    against the version's SHA-256 tag (and, with ``$SEND_EARLY_SIGNING_KEY`` or
    ``$SEND_EARLY_SIGNING_KEY_FILE`` set, against its signature) before any file is
    read; the MLmodel file must name send_early's own loader; the folder is then read as
    data by ``RiskModel.load`` (JSON, TOML and NumPy arrays, every field checked). The
    class is never taken from the store.

    Parameters
    ----------
    uri_or_name : str
        ``models:/NAME@ALIAS``, ``models:/NAME/VERSION``, ``NAME@ALIAS``,
        ``NAME/VERSION`` or ``NAME`` (its ``champion``).
    tracking_uri : str or path-like, optional
        MLflow tracking URI or store folder.
    model_class : type, optional
        A class object (passed in Python, never a name) whose ``load`` reads the saved
        folder. By default :class:`send_early.RiskModel`, or for a version logged from
        another class, that class if it was allowed in this process with
        :func:`allow_model_class` (tests, extensions); otherwise the version is refused.

    Returns
    -------
    RiskModel
        With ``registry_`` set to a dict of ``name``, ``version``, ``alias``,
        ``model_uri``, ``run_id``, ``artifact_sha256`` and ``tracking_uri``.

    Raises
    ------
    IntegrityError
        If the stored files differ from the SHA-256 recorded at registration, a signing
        key is set and the signature is missing or wrong, the MLmodel file names
        another loader (or code), or the folder is not a valid saved model.
    ValueError
        If the name, version or alias does not exist, or a signing key is set but
        unusable.
    TypeError
        If ``model_class`` is not a class.
    """
    if model_class is not None and not isinstance(model_class, type):
        raise TypeError(
            "model_class must be a class passed in Python (the class is never looked up by "
            f"name); found {type(model_class).__name__}."
        )
    signing_key()  # a bad key setting stops here, before the store is read
    store = open_store(tracking_uri, create=False)
    mlflow = import_mlflow()
    name, version, alias = _parse_ref(uri_or_name)
    client = store.client()
    with server_errors(store, "read", name):
        mv = _model_version(client, mlflow, name, version, alias)
        where = (
            f"models:/{name}@{alias} (version {mv.version})"
            if alias
            else f"models:/{name}/{mv.version}"
        )
        if alias is None:  # a version holding an alias is approved by definition
            _refuse_unapproved_copy(client, mv, where)
    with tempfile.TemporaryDirectory(prefix="send_early_load_") as tmp:
        risk_dir = _download_verified(store, mv, Path(tmp), where)
        cls = model_class or _model_class(mv.tags.get(CLASS_TAG), where)
        model = cls.load(risk_dir)
    model.registry_ = {
        "name": name,
        "version": str(mv.version),
        "alias": alias,
        "model_uri": f"models:/{name}/{mv.version}",
        "run_id": mv.run_id,
        "artifact_sha256": mv.tags.get(SHA_TAG),
        "tracking_uri": store.tracking_uri,
    }
    logger.info("Loaded %s (integrity verified).", where)
    return model


def _refuse_unapproved_copy(client, mv, where: str) -> None:
    """A production copy whose promotion never moved its alias does not load."""
    from ._decisions import approval, copied_from

    if not copied_from(mv):
        return
    model = client.get_registered_model(mv.name)
    if str(mv.version) not in approval(client, mv.name, model)[1]:
        raise ValueError(
            f"{where} is not approved: its promotion stopped before the alias moved, so it "
            f"never scores. Use {mv.name}@champion, or promote the candidate again."
        )
