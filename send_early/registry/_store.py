"""Where models are tracked: the embedded SQLite store or any MLflow tracking URI.

Nothing here imports mlflow at module import time; :func:`import_mlflow` does it on
first use, after switching MLflow telemetry off unless the user opted in.
"""

from __future__ import annotations

import contextlib
import errno
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
    """The newest store schema revision this MLflow knows: the single head of the
    alembic migrations MLflow ships (read with alembic's public API)."""
    try:
        from alembic.script import ScriptDirectory

        folder = Path(import_mlflow().__file__).parent / "store" / "db_migrations"
        heads = ScriptDirectory(str(folder)).get_heads()
    except Exception:  # pragma: no cover - migrations moved in another MLflow
        return None
    return heads[0] if len(heads) == 1 else None


def _backup_if_migrating(db: Path) -> Path | None:
    """Copy ``db`` aside when this MLflow would migrate its schema on first open.

    A newer MLflow silently upgrades an older SQLite store, after which the older
    MLflow can no longer open it. The copy ``mlflow.db.bak-<old revision>`` lets you
    go back.
    """
    if not db.exists() or db.stat().st_size == 0:
        return None
    revision, head = _db_revision(db), _schema_head()
    if revision is None or head is None or revision == head:
        return None
    backup = db.with_name(f"{db.name}.bak-{revision}")
    if not backup.exists():
        shutil.copy2(db, backup)
        logger.warning(
            "MLflow %s will migrate the store schema %s -> %s; backed up the database to %s.",
            import_mlflow().__version__,
            revision,
            head,
            backup,
        )
    return backup


def open_store(
    tracking_uri: str | os.PathLike | None = None,
    *,
    experiment: str | None = None,
    create: bool = True,
    write: bool | None = None,
) -> Store:
    """Resolve where to track and make sure the store exists.

    The tracking URI is, in order: ``tracking_uri``; ``$MLFLOW_TRACKING_URI``; the
    embedded store ``$SEND_EARLY_STORE`` or ``./send_early_store``. A folder path is
    taken as an embedded store folder. An embedded (SQLite) store is created the
    first time under a file lock, so several processes may start on a new store at
    once; before a newer MLflow migrates an existing store, the database is backed up
    next to itself. Loading, reviewing and scoring open with ``create=False``, so they
    never leave an empty store behind.

    An embedded store that was copied or moved is repaired on open: MLflow records
    absolute artifact locations, so locations under the old folder's ``artifacts/``
    are rewritten to this folder's (see docs/registry.md, "Stores"). A store the user
    cannot write is opened read-only: reading works, writing raises
    :class:`PermissionError` naming the folder.

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
    write : bool, optional
        Whether the caller will write (log, register, promote). Defaults to
        ``create or experiment is not None``. Writing to a read-only embedded store
        raises :class:`PermissionError`.

    Returns
    -------
    Store

    Raises
    ------
    FileNotFoundError
        If ``create`` is False and no embedded store exists where the settings point.
    PermissionError
        If the store is read-only and ``write`` is set, or if a read-only store needs
        a schema upgrade before MLflow can read it, or if a new store cannot be
        created where the settings point.
    """
    store = _resolve(tracking_uri)
    if store.path is None:
        return _ensure(store, experiment)
    if write is None:
        write = create or experiment is not None
    db = store.path / _DB_NAME
    exists = db.is_file() and db.stat().st_size > 0
    if not exists and not create:
        raise FileNotFoundError(_missing_store_message(db, tracking_uri))
    blocked = _unwritable_parts(store.path) if exists else []
    lock = None if blocked else _lock(store.path, exists)
    if lock is None:
        blocked = blocked or [_LOCK_NAME]
        if write:
            raise PermissionError(_read_only_message(store.path, blocked))
        return _open_read_only(store, db)
    with lock:
        (store.path / _ARTIFACTS).mkdir(exist_ok=True)
        import_mlflow()
        _backup_if_migrating(db)
        with _quiet_table_creation():
            client = store.client()
            client.search_experiments(max_results=1)  # creates or migrates the tables
            client.search_registered_models(max_results=1)
        if not exists:
            logger.info("Created a new model store at %s.", store.path)
        _relocate(store, db)
        if experiment is not None:
            _get_or_create_experiment(store, experiment)
    return store


def _missing_store_message(db: Path, tracking_uri) -> str:
    if tracking_uri is not None:
        source = "the tracking_uri argument (CLI: --store)"
    elif os.environ.get("MLFLOW_TRACKING_URI"):
        source = "$MLFLOW_TRACKING_URI"
    elif os.environ.get(STORE_ENV):
        source = f"${STORE_ENV}"
    else:
        source = f"the default ./{DEFAULT_STORE_DIR} (neither ${STORE_ENV} nor $MLFLOW_TRACKING_URI is set)"
    return (
        f"A model store must exist where the settings point; there is none at {db.parent} "
        f"(no {db.name}; from {source}). Check the path for a typo, or point to the store: "
        f"set {STORE_ENV} to its folder, MLFLOW_TRACKING_URI to a tracking server or "
        "sqlite:////abs/path/mlflow.db, or pass tracking_uri= (CLI: --store). Nothing was "
        "created; to start a new, empty store there, add --init to `send-early train "
        "--register NAME` (Python: open_store(path, create=True))."
    )


def _unwritable_parts(folder: Path) -> list[str]:
    """The parts of an existing store this process may not write (empty if none)."""
    parts = {
        "the folder": folder,
        _DB_NAME: folder / _DB_NAME,
        _ARTIFACTS + "/": folder / _ARTIFACTS,
        _LOCK_NAME: folder / _LOCK_NAME,
    }
    return [name for name, path in parts.items() if path.exists() and not os.access(path, os.W_OK)]


def _lock(folder: Path, exists: bool):
    """The store's file lock, or None when the store is read-only (the lock cannot be taken).

    Creates the folder and ``artifacts/`` of a new store first.
    """
    import filelock

    try:
        if not exists:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / _ARTIFACTS).mkdir(exist_ok=True)
        lock = filelock.FileLock(str(folder / _LOCK_NAME), timeout=_LOCK_TIMEOUT_S)
        lock.acquire()
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        if not exists:
            raise PermissionError(
                f"A new model store cannot be created at {folder}: {exc.strerror.lower()} "
                f"({exc.filename}). Point {STORE_ENV} (or --store) at a folder you can write."
            ) from None
        return None
    lock.release()  # re-taken by the caller's ``with``
    return lock


def _read_only_message(folder: Path, blocked: list[str]) -> str:
    return (
        f"The model store at {folder} is read-only ({', '.join(blocked)} cannot be written "
        "by this user), so nothing can be registered or promoted in it; reading it "
        "(versions, review, score) still works. To write, get write access to the folder "
        f"and its files, or copy the folder somewhere you can write and point {STORE_ENV} "
        "(or --store) at the copy."
    )


def _db_revision(db: Path) -> str | None:
    """The alembic revision of a SQLite store, read without writing anything."""
    try:
        uri = f"{db.as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as con:
            row = con.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def _open_read_only(store: Store, db: Path) -> Store:
    """Open a store this user cannot write, for reading only."""
    mlflow = import_mlflow()
    revision, head = _db_revision(db), _schema_head()
    if head is not None and revision != head:
        raise PermissionError(
            f"The model store at {store.path} is read-only, and MLflow {mlflow.__version__} "
            f"must upgrade its database (schema {revision} -> {head}) before reading it, "
            "which needs write access. Open it once with write access, or read it with the "
            "MLflow version that wrote it."
        )
    try:
        uri = f"{db.as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as con:
            moved = _old_roots(con, store.path)
    except sqlite3.Error:
        moved = []
    if moved:
        logger.warning(
            "The model store at %s was copied or moved from %s and is read-only, so its "
            "artifact locations still point there: versions and reviews can be read, but "
            "models load only once the store has been opened with write access.",
            store.path,
            ", ".join(moved),
        )
    logger.info("Opened the model store at %s read-only.", store.path)
    return store


@contextlib.contextmanager
def _quiet_table_creation() -> Iterator[None]:
    """MLflow logs "Creating initial MLflow database tables..." at INFO on its own stderr
    handler; send_early logs the store's creation itself."""
    log = logging.getLogger("mlflow.store.db.utils")
    level = log.level
    log.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        log.setLevel(level)


#: Columns where MLflow records absolute artifact locations (table, column).
_LOCATION_COLUMNS = (
    ("experiments", "artifact_location"),
    ("runs", "artifact_uri"),
    ("logged_models", "artifact_location"),
    ("model_versions", "storage_location"),
    ("model_versions", "source"),
    ("trace_tags", "value"),
)


def _location_path(location: str) -> Path | None:
    """The local path of a ``file:`` URI or absolute path, else None."""
    parsed = urlparse(location)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if not parsed.scheme and location.startswith("/"):
        return Path(location)
    return None


def _old_roots(con: sqlite3.Connection, folder: Path) -> list[str]:
    """Experiment locations that are another folder's ``artifacts/`` (a copied store)."""
    here = folder / _ARTIFACTS
    rows = con.execute("SELECT artifact_location FROM experiments").fetchall()
    old = []
    for (location,) in rows:
        path = _location_path(location or "")
        if path is not None and path.name == _ARTIFACTS and path != here:
            old.append(location)
    return sorted(set(old))


def _relocate(store: Store, db: Path) -> int:
    """Point the artifact locations of a copied or moved store at its own ``artifacts/``.

    MLflow stores absolute locations; a location under the old folder's ``artifacts/``
    (the shape every send_early experiment has) is rewritten to the same place under
    this folder, in one transaction. Returns the number of rows changed.
    """
    new = (store.path / _ARTIFACTS).as_uri()
    with contextlib.closing(sqlite3.connect(db, timeout=_LOCK_TIMEOUT_S)) as con:
        old_roots = _old_roots(con, store.path)
        if not old_roots:
            return 0
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        with con:
            for old in old_roots:
                for table, column in _LOCATION_COLUMNS:
                    if table not in tables:
                        continue
                    con.execute(
                        f'UPDATE "{table}" SET "{column}" = ? || substr("{column}", ?) '
                        f'WHERE "{column}" = ? OR substr("{column}", 1, ?) = ?',
                        (new, len(old) + 1, old, len(old) + 1, old + "/"),
                    )
        changed = con.total_changes
    logger.warning(
        "The model store at %s was copied or moved from %s: pointed %d artifact locations at %s.",
        store.path,
        ", ".join(old_roots),
        changed,
        new,
    )
    return changed


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


_URI_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


@contextlib.contextmanager
def using_store(store: Store) -> Iterator[None]:
    """Point MLflow's fluent API at ``store`` for the duration of the block.

    Only what works through the process-wide URIs alone uses this (a run for
    ``mlflow.pyfunc.log_model``; a version made from a ``models:/m-...`` source);
    everything else takes :meth:`Store.client`. MLflow's public setters and getters
    are used, and afterwards ``mlflow.get_tracking_uri()``, ``mlflow.get_registry_uri()``
    and ``$MLFLOW_TRACKING_URI``/``$MLFLOW_REGISTRY_URI`` read as before, also when the
    block raises. Not thread-safe, like MLflow's fluent API itself.
    """
    mlflow = import_mlflow()
    saved_env = {key: os.environ.get(key) for key in _URI_ENV}
    saved = (mlflow.get_tracking_uri(), mlflow.get_registry_uri())
    try:
        mlflow.set_tracking_uri(store.tracking_uri)
        if store.registry_uri is not None:
            mlflow.set_registry_uri(store.registry_uri)
        yield
    finally:
        _restore(mlflow.set_tracking_uri, mlflow.get_tracking_uri, saved[0], saved_env)
        _restore(mlflow.set_registry_uri, mlflow.get_registry_uri, saved[1], saved_env)


def _restore(setter, getter, uri: str, env: dict[str, str | None]) -> None:
    """Put a URI back: unset (MLflow derives it again from the environment and the
    tracking URI) unless that reads differently from before, then set it explicitly."""
    setter(None)
    _put_env(env)
    if getter() != uri:
        setter(uri)
        _put_env(env)


def _put_env(env: dict[str, str | None]) -> None:
    for key, value in env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
