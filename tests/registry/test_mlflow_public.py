"""send_early uses MLflow's public API only and leaves MLflow's process-wide URIs as it
found them (issue 17)."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from send_early.registry import load_model, log_model
from send_early.registry._store import import_mlflow

from .conftest import fresh_store

PACKAGE = Path(__file__).resolve().parents[2] / "send_early"
URI_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


# ----------------------------------------------------------------------------- private names
def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _root(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def private_mlflow_uses(source: str) -> list[str]:
    """Where ``source`` reaches into MLflow's private names: ``_tracking_uri`` or
    ``_registry_uri`` anywhere, an underscored attribute of a name ``mlflow``, or an
    import from a private MLflow module or of a private MLflow name."""
    found = []
    for node in ast.walk(ast.parse(source)):
        where = f"line {getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Attribute):
            if node.attr in {"_tracking_uri", "_registry_uri"}:
                found.append(f"{where}: .{node.attr}")
            elif _private(node.attr) and _root(node) == "mlflow":
                found.append(f"{where}: {ast.unparse(node)}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "mlflow":
            parts = node.module.split(".") + [alias.name for alias in node.names]
            if any(_private(part) for part in parts):
                found.append(f"{where}: from {node.module} import ...")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "mlflow" and any(_private(part) for part in parts):
                    found.append(f"{where}: import {alias.name}")
    return found


def test_the_scan_finds_each_kind_of_private_use():
    patched = """
from mlflow.tracking._model_registry import utils as reg_utils
from mlflow.store.db.utils import _get_latest_schema_revision
import mlflow.tracking._tracking_service.utils
saved = trk_utils._tracking_uri
reg_utils._registry_uri = None
mlflow.tracking.fluent._active_run_stack
"""
    assert len(private_mlflow_uses(patched)) == 6
    public = """
import mlflow
from mlflow.exceptions import MlflowException
uri = mlflow.get_tracking_uri()
mlflow.__version__
self._registry_uri_hint = 1
"""
    assert private_mlflow_uses(public) == []


def test_no_module_touches_mlflow_private_names():
    found = {
        str(path.relative_to(PACKAGE.parent)): uses
        for path in sorted(PACKAGE.rglob("*.py"))
        if (uses := private_mlflow_uses(path.read_text(encoding="utf-8")))
    }
    assert not found, f"MLflow private names used (use the public API): {found}"


# ----------------------------------------------------------------------------- global URIs
def _state() -> tuple:
    mlflow = import_mlflow()
    env = tuple(os.environ.get(key) for key in URI_ENV)
    return mlflow.get_tracking_uri(), mlflow.get_registry_uri(), env


@pytest.fixture(params=["unset", "environment", "set"])
def mlflow_uris(request, tmp_path):
    """MLflow's process-wide URIs as a user might have left them; put back afterwards
    (by hand: mlflow.set_tracking_uri writes the environment behind monkeypatch's back)."""
    mlflow = import_mlflow()
    saved = {key: os.environ.pop(key, None) for key in URI_ENV}
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)
    if request.param == "environment":
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp_path / 'env.db'}"
    elif request.param == "set":
        mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'tracking.db'}")
        mlflow.set_registry_uri(f"sqlite:///{tmp_path / 'registry.db'}")
        # the environment says otherwise; the values set win
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp_path / 'env.db'}"
        os.environ["MLFLOW_REGISTRY_URI"] = f"sqlite:///{tmp_path / 'env.db'}"
    yield request.param
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)
    for key, value in saved.items():
        os.environ.pop(key, None)
        if value is not None:
            os.environ[key] = value


def _still_unset(tmp_path) -> None:
    """Nothing was pinned: MLflow still derives both URIs from the environment."""
    mlflow = import_mlflow()
    later = f"sqlite:///{tmp_path / 'later.db'}"
    os.environ["MLFLOW_TRACKING_URI"] = later  # the fixture puts it back
    assert mlflow.get_tracking_uri() == later
    assert mlflow.get_registry_uri() == later


def test_log_and_load_leave_the_uris_as_they_were(mlflow_uris, fitted_fake, template_db, tmp_path):
    store = fresh_store(template_db, tmp_path / "store")
    before = _state()
    info = log_model(fitted_fake, registered_name="risk_uri", tracking_uri=store)
    assert _state() == before
    load_model(f"{info.registered_as}/{info.version}", tracking_uri=store)
    assert _state() == before
    if mlflow_uris == "unset":
        _still_unset(tmp_path)


def test_a_failing_log_leaves_the_uris_as_they_were(
    mlflow_uris, fitted_fake, template_db, tmp_path, monkeypatch
):
    store = fresh_store(template_db, tmp_path / "store")
    mlflow = import_mlflow()

    def fail(**kwargs):
        assert mlflow.get_tracking_uri() == f"sqlite:///{store / 'mlflow.db'}"  # inside the run
        raise RuntimeError("disk full")

    monkeypatch.setattr(mlflow.pyfunc, "log_model", fail)
    before = _state()
    with pytest.raises(RuntimeError, match="disk full"):
        log_model(fitted_fake, registered_name="risk_uri", tracking_uri=store)
    assert _state() == before
    if mlflow_uris == "unset":
        _still_unset(tmp_path)
