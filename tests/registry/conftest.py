"""Fixtures for registry tests; the RiskModel stand-in lives in fake_risk_model.py.

The fake follows the RiskModel protocol: ``save(path)`` writes a directory,
``load(path)`` reads it back, ``score_features`` returns child_id, risk, rank,
flagged and reason_1..3, ``feature_schema()`` is a zero-row frame. It is trained on
rows whose ids and values are distinctive, so the privacy test can scan the store for
them. ``load_model`` loads it because importing fake_risk_model allows the class in
the process (the store's class tag is never imported). MLflow's own loader reads
RiskModel folders only, so tests through ``mlflow.pyfunc`` use ``logged_real``: the
quickly fitted RiskModel of tests/conftest.py, logged once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # subprocesses import fake_risk_model too
    sys.path.insert(0, str(HERE))

from fake_risk_model import (  # noqa: E402
    AUDIT,
    EVALUATION,
    FAKE_CLASS,
    SECRET_IDS,
    SECRET_VALUE,
    FakeRiskModel,
    make_features,
    write_card,
)

# MLflow warns (UserWarning) while importing its own pyfunc module; import it once here
# so that tests run with warnings as errors only see warnings raised by the code under test.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from send_early.registry._store import import_mlflow

    import_mlflow()
    import mlflow.pyfunc  # noqa: F401

__all__ = [
    "AUDIT",
    "EVALUATION",
    "FAKE_CLASS",
    "SECRET_IDS",
    "SECRET_VALUE",
    "FakeRiskModel",
    "make_features",
    "write_card",
]


@pytest.fixture(scope="session")
def fitted_fake() -> FakeRiskModel:
    X = make_features(SECRET_IDS, seed=1)
    X.loc[SECRET_IDS[0], "attendance_rate_3t"] = SECRET_VALUE  # a value that must never leak
    y = pd.Series((np.arange(len(X)) % 4 == 0).astype(int), index=X.index)
    return FakeRiskModel().fit(X, y)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory) -> Path:
    """An initialised, empty store database, created once per session.

    Creating MLflow's tables takes seconds; tests that are not about creation copy
    this file instead (the creation itself is tested on its own).
    """
    from send_early.registry import open_store

    return open_store(tmp_path_factory.mktemp("template") / "store").path / "mlflow.db"


def fresh_store(template_db: Path, folder: Path) -> Path:
    folder.mkdir(parents=True)
    shutil.copy2(template_db, folder / "mlflow.db")
    return folder


@pytest.fixture
def store_dir(tmp_path, template_db) -> Path:
    return fresh_store(template_db, tmp_path / "store")


@pytest.fixture(scope="module")
def logged(tmp_path_factory, template_db, fitted_fake):
    """A store with one logged version (cards with every check passing)."""
    from send_early.registry import log_model

    root = tmp_path_factory.mktemp("registry")
    fresh_store(template_db, root / "store")
    cards = write_card(
        root / "card",
        [{"name": "calibration", "passed": True}, {"name": "subgroup_gap", "status": "pass"}],
    )
    info = log_model(
        fitted_fake,
        evaluation=EVALUATION,
        audit=AUDIT,
        card_paths=cards,
        registered_name="risk_ok",
        tracking_uri=root / "store",
    )
    return root / "store", info


#: The as-of date the real model's features are built at in registry tests.
REAL_AS_OF = "2023-09-01"


@pytest.fixture(scope="module")
def logged_real(tmp_path_factory, template_db, fitted_model, small_cohort):
    """A store with the real (quickly fitted) RiskModel logged as ``risk_real``, and
    features to score with it."""
    from send_early.registry import log_model

    root = tmp_path_factory.mktemp("registry_real")
    fresh_store(template_db, root / "store")
    info = log_model(fitted_model, registered_name="risk_real", tracking_uri=root / "store")
    features = fitted_model.build_features(small_cohort, REAL_AS_OF)
    return root / "store", info, features


def as_registered_before_candidates(client, name, store_dir):
    """Register ``NAME-candidates``' versions under ``NAME`` itself, as releases before the
    candidates split did (same source and tags, no author tag), and drop ``NAME-candidates``."""
    from send_early.registry import open_store
    from send_early.registry._store import using_store

    with using_store(open_store(store_dir)):
        found = client.search_model_versions(f"name = '{name}-candidates'")
        for mv in sorted(found, key=lambda v: int(v.version)):
            tags = {k: v for k, v in mv.tags.items() if k != "send_early.registered_by"}
            try:
                client.create_registered_model(name)
            except Exception:  # already there
                pass
            client.create_model_version(
                name, mv.source, run_id=mv.run_id, tags=tags, description=mv.description,
                model_id=mv.model_id,
            )  # fmt: skip
    client.delete_registered_model(f"{name}-candidates")


# ----------------------------------------------------------------------------- server
#: The machine's PostgreSQL (trust auth); CI runs one, .ci/run does not start it.
PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"
PG_URI = "postgresql+psycopg://postgres@127.0.0.1:5432/{db}"


#: Set by .ci/run: a missing PostgreSQL server fails the server tests instead of skipping them.
REQUIRE_ENV = "SEND_EARLY_REQUIRE_POSTGRES"


def require_postgres():
    """A psycopg connection to PostgreSQL, or a skip; a failure when ``$SEND_EARLY_REQUIRE_POSTGRES``
    (set by .ci/run) or ``$CI`` is set, so the server tests always run in CI."""
    why = None
    try:
        import psycopg

        return psycopg.connect(PG_DSN, autocommit=True)
    except ImportError:
        why = "psycopg is not installed (pip install -e '.[dev]')"
    except Exception as exc:
        why = f"no PostgreSQL at 127.0.0.1:5432 ({type(exc).__name__})"
    if os.environ.get(REQUIRE_ENV) or os.environ.get("CI"):
        pytest.fail(
            f"{why}: {REQUIRE_ENV} is set (CI runs PostgreSQL), the registry server tests may not "
            "skip there"
        )
    pytest.skip(why)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def registry_server(tmp_path_factory):
    """An MLflow server with basic-auth on fresh PostgreSQL databases, set up for ``risk``.

    Users: ``admin``, ``analyst`` and ``reviewer`` (random passwords, never on a command
    line). Yields a dict with ``url``, ``passwords``, ``log`` (the server's log file),
    ``root``, ``proc`` (the server process) and ``restart`` (starts it again after a
    test killed it); the server is stopped and the databases dropped at the end.
    """
    import secrets
    import subprocess
    import urllib.request

    con = require_postgres()
    tag = secrets.token_hex(6)
    dbs = {"backend": f"se_{tag}_backend", "auth": f"se_{tag}_auth"}
    for db in dbs.values():
        con.execute(f'CREATE DATABASE "{db}"')
    root = tmp_path_factory.mktemp("registry_server")
    passwords = {u: secrets.token_urlsafe(16) for u in ("admin", "analyst", "reviewer")}
    ini = root / "basic_auth.ini"
    ini.write_text(
        "[mlflow]\ndefault_permission = READ\n"
        f"database_uri = {PG_URI.format(db=dbs['auth'])}\n"
        f"admin_username = admin\nadmin_password = {passwords['admin']}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        # successful password checks cached for a minute: each request otherwise hashes
        # the password again (PBKDF2), the bulk of the server's time per call here
        "auth_cache_ttl_seconds = 60\n"
    )
    ini.chmod(0o600)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING_")}
    env.update(
        MLFLOW_AUTH_CONFIG_PATH=str(ini),
        MLFLOW_FLASK_SERVER_SECRET_KEY=secrets.token_hex(16),
        MLFLOW_DISABLE_TELEMETRY="true",
    )
    log = root / "server.log"
    cmd = [
        sys.executable, "-m", "mlflow", "server", "--app-name", "basic-auth",
        "--backend-store-uri", PG_URI.format(db=dbs["backend"]),
        "--artifacts-destination", str(root / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    server = {"url": url, "passwords": passwords, "log": log, "root": root, "proc": None}

    def start() -> None:
        """Start (or, after a kill, restart) the server on the same port and databases."""
        with open(log, "ab") as out:
            # its own process group: `mlflow server` runs uvicorn as a child process, and
            # stopping the server means stopping both
            proc = subprocess.Popen(
                cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        server["proc"] = proc
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the MLflow server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)

    server["restart"] = start
    try:
        start()
        with server_user(server, "admin"):
            from mlflow.server import get_app_client

            from send_early.registry import grant_role, setup_registry

            admin = get_app_client("basic-auth", tracking_uri=url)
            for user in ("analyst", "reviewer"):
                admin.create_user(user, passwords[user])
            setup_registry("risk", tracking_uri=url)
            grant_role("analyst", "analyst", tracking_uri=url)
            grant_role("reviewer", "reviewer", tracking_uri=url)
        yield server
    finally:
        if server["proc"] is not None:
            stop_server(server, signal.SIGTERM)
        for db in dbs.values():
            con.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        con.close()


def stop_server(server: dict, how=signal.SIGKILL) -> None:
    """Stop the server's process group (``mlflow server`` and its uvicorn child)."""
    import subprocess

    proc = server["proc"]
    try:
        os.killpg(proc.pid, how)
    except ProcessLookupError:  # already gone
        pass
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    try:  # the uvicorn child may outlive its parent by a moment
        for _ in range(40):
            os.killpg(proc.pid, 0)
            time.sleep(0.25)
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@contextlib.contextmanager
def server_user(server: dict, user: str, password: str | None = None):
    """Act as ``user`` of ``server`` inside the block (credentials through the environment)."""
    values = {
        "MLFLOW_TRACKING_USERNAME": user,
        "MLFLOW_TRACKING_PASSWORD": password or server["passwords"][user],
    }
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
