"""Where models are tracked: the embedded SQLite store or any MLflow tracking URI.

Nothing here imports mlflow at module import time; :func:`import_mlflow` does it on
first use, after switching MLflow telemetry off unless the user opted in.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_EXPERIMENT",
    "STORE_ENV",
    "Store",
    "default_store_path",
    "import_mlflow",
    "open_store",
]

#: Environment variable naming the embedded store folder.
STORE_ENV = "SEND_EARLY_STORE"
#: Default store folder (relative to the working directory) when nothing is configured.
DEFAULT_STORE_DIR = "send_early_store"
#: Experiment that :func:`~send_early.registry.log_model` logs to by default.
DEFAULT_EXPERIMENT = "send_early"
_DB_NAME = "mlflow.db"
_ARTIFACTS = "artifacts"
_LOCK_NAME = ".mlflow.db.lock"
_LOCK_TIMEOUT_S = 120


def import_mlflow():
    """Import and return :mod:`mlflow`, with telemetry off unless the user opted in.

    MLflow (3.2+) sends anonymous usage events by default. For a tool that handles
    children's records send_early switches them off by setting
    ``MLFLOW_DISABLE_TELEMETRY=true`` before the first import of mlflow, unless the
    variable is already set (``MLFLOW_DISABLE_TELEMETRY=false`` opts in).

    Returns
    -------
    module
        The :mod:`mlflow` module.
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # library code does not draw progress bars on stderr (MLflow's artifact downloads do)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    return mlflow


def default_store_path() -> Path:
    """Absolute path of the embedded store folder.

    ``$SEND_EARLY_STORE`` if set, else ``./send_early_store`` (resolved against the
    working directory).

    Examples
    --------
    >>> default_store_path().name in {"send_early_store"} or "SEND_EARLY_STORE" in os.environ
    True
    """
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE_DIR).expanduser().resolve()


@dataclass(frozen=True)
class Store:
    """A resolved MLflow location, passed explicitly to every MLflow client.

    Attributes
    ----------
    tracking_uri : str
        MLflow tracking URI (``sqlite:////abs/mlflow.db``, ``http://...``, ``databricks``).
    registry_uri : str or None
        Model registry URI; ``None`` lets MLflow derive it from the tracking URI (the
        same SQLite file, the same server, or Unity Catalog on Databricks).
    path : Path or None
        The local store folder for a SQLite store (holding ``mlflow.db`` and
        ``artifacts/``), else ``None``.
    """

    tracking_uri: str
    registry_uri: str | None = None
    path: Path | None = None

    @property
    def artifact_location(self) -> str | None:
        """Artifact root for new experiments: ``<path>/artifacts`` for a SQLite store."""
        return (self.path / _ARTIFACTS).as_uri() if self.path is not None else None

    def client(self):
        """A :class:`mlflow.MlflowClient` bound to this store's URIs."""
        mlflow = import_mlflow()
        return mlflow.MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)

    def __str__(self) -> str:
        return str(self.path) if self.path is not None else self.tracking_uri


def _sqlite_db_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, or None for any other scheme."""
    parsed = urlparse(uri)
    if parsed.scheme != "sqlite":
        return None
    raw = unquote(uri[len("sqlite:///") :]) if uri.startswith("sqlite:///") else ""
    if not raw or raw == ":memory:":
        raise ValueError(
            f"The tracking URI must name a SQLite file; found {uri!r}. "
            "Use sqlite:////absolute/path/mlflow.db."
        )
    return Path(raw.split("?")[0]).resolve()


def _schema_head() -> str | None:
    try:
        from mlflow.store.db.utils import _get_latest_schema_revision

        return _get_latest_schema_revision()
    except Exception:  # pragma: no cover - private helper moved in another MLflow
        return None


def _backup_if_migrating(db: Path) -> Path | None:
    """Copy ``db`` aside when this MLflow would migrate its schema on first open.

    A newer MLflow silently upgrades an older SQLite store, after which the older
    MLflow can no longer open it. The copy ``mlflow.db.bak-<old revision>`` lets you
    go back.
    """
    if not db.exists() or db.stat().st_size == 0:
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
            row = con.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    head = _schema_head()
    if row is None or head is None or row[0] == head:
        return None
    backup = db.with_name(f"{db.name}.bak-{row[0]}")
    if not backup.exists():
        shutil.copy2(db, backup)
        logger.warning(
            "MLflow %s will migrate the store schema %s -> %s; backed up the database to %s.",
            import_mlflow().__version__,
            row[0],
            head,
            backup,
        )
    return backup


def open_store(
    tracking_uri: str | os.PathLike | None = None,
    *,
    experiment: str | None = None,
    create: bool = True,
) -> Store:
    """Resolve where to track and make sure the store exists.

    The tracking URI is, in order: ``tracking_uri``; ``$MLFLOW_TRACKING_URI``; the
    embedded store ``$SEND_EARLY_STORE`` or ``./send_early_store``. A folder path is
    taken as an embedded store folder. An embedded (SQLite) store is created the
    first time under a file lock, so several processes may start on a new store at
    once; before a newer MLflow migrates an existing store, the database is backed up
    next to itself. Loading, reviewing and scoring open with ``create=False``, so they
    never leave an empty store behind.

    Parameters
    ----------
    tracking_uri : str or path-like, optional
        Any MLflow tracking URI (``sqlite:///...``, ``http://host:5000``,
        ``databricks``) or a store folder.
    experiment : str, optional
        Also create this experiment if missing (with its artifacts inside the store
        folder for a SQLite store).
    create : bool, default True
        Create an embedded store that does not exist yet. With ``False`` a missing
        store raises :class:`FileNotFoundError` naming the settings to check.

    Returns
    -------
    Store
    """
    import filelock

    store = _resolve(tracking_uri)
    if store.path is None:
        return _ensure(store, experiment)
    db = store.path / _DB_NAME
    if not create and not (db.is_file() and db.stat().st_size > 0):
        raise FileNotFoundError(_missing_store_message(db, tracking_uri))
    store.path.mkdir(parents=True, exist_ok=True)
    (store.path / _ARTIFACTS).mkdir(exist_ok=True)
    with filelock.FileLock(str(store.path / _LOCK_NAME), timeout=_LOCK_TIMEOUT_S):
        import_mlflow()
        _backup_if_migrating(db)
        client = store.client()
        client.search_experiments(max_results=1)  # creates or migrates the tables
        client.search_registered_models(max_results=1)
        if experiment is not None:
            _get_or_create_experiment(store, experiment)
    return store


def _missing_store_message(db: Path, tracking_uri) -> str:
    if tracking_uri is not None:
        source = "the tracking_uri argument (--tracking-uri)"
    elif os.environ.get("MLFLOW_TRACKING_URI"):
        source = "$MLFLOW_TRACKING_URI"
    elif os.environ.get(STORE_ENV):
        source = f"${STORE_ENV}"
    else:
        source = f"the default ./{DEFAULT_STORE_DIR} (neither ${STORE_ENV} nor $MLFLOW_TRACKING_URI is set)"
    return (
        f"A model store must exist to load, review or score a registered model; none was found "
        f"at {db} ({source}). Set {STORE_ENV} to the store folder, MLFLOW_TRACKING_URI to a "
        "tracking server or sqlite:////abs/path/mlflow.db, or pass tracking_uri= "
        "(--tracking-uri). Nothing was created."
    )


def _resolve(tracking_uri: str | os.PathLike | None = None) -> Store:
    """The :class:`Store` a tracking URI or folder names, without touching it."""
    if tracking_uri is None:
        tracking_uri = os.environ.get("MLFLOW_TRACKING_URI") or default_store_path()
    if isinstance(tracking_uri, os.PathLike) or "://" not in str(tracking_uri):
        if str(tracking_uri) == "databricks" or str(tracking_uri).startswith("databricks"):
            return Store(str(tracking_uri))
        folder = Path(tracking_uri).expanduser().resolve()
        tracking_uri = f"sqlite:///{folder / _DB_NAME}"
    uri = str(tracking_uri)
    db = _sqlite_db_path(uri)
    if db is None:
        return Store(uri)
    return Store(f"sqlite:///{db}", path=db.parent)


def _ensure(store: Store, experiment: str | None) -> Store:
    if experiment is not None:
        _get_or_create_experiment(store, experiment)
    return store


def _get_or_create_experiment(store: Store, name: str) -> str:
    """Experiment id of ``name``, creating it (tolerating a concurrent creation)."""
    mlflow = import_mlflow()
    client = store.client()
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    try:
        return client.create_experiment(name, artifact_location=store.artifact_location)
    except mlflow.exceptions.MlflowException:
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise
        return exp.experiment_id


@contextlib.contextmanager
def using_store(store: Store) -> Iterator[None]:
    """Point MLflow's fluent API at ``store`` for the duration of the block.

    MLflow's model logging (``mlflow.pyfunc.log_model``) only works through the
    process-wide tracking URI; this sets it and puts back exactly what was there
    (including ``$MLFLOW_TRACKING_URI``) afterwards. Not thread-safe, like MLflow's
    fluent API itself.
    """
    mlflow = import_mlflow()
    from mlflow.tracking._model_registry import utils as reg_utils
    from mlflow.tracking._tracking_service import utils as trk_utils

    saved_env = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    saved = (trk_utils._tracking_uri, reg_utils._registry_uri)
    try:
        mlflow.set_tracking_uri(store.tracking_uri)
        if store.registry_uri is not None:
            mlflow.set_registry_uri(store.registry_uri)
        yield
    finally:
        mlflow.set_tracking_uri(saved[0])
        reg_utils._registry_uri = saved[1]
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
