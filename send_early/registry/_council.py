"""Setting up a council's shared registry on an MLflow server with basic-auth.

Roles, as MLflow permissions per registered model (the server's
``default_permission`` must be ``READ``, see docs/registry.md):

* analyst: EDIT on ``NAME-candidates`` and on the experiment runs are logged to; READ
  on ``NAME``. Registers candidates, reads and scores production.
* reviewer: EDIT on ``NAME``; READ on the candidates. Promotes, rolls back, demotes.

One user is never both: four eyes hold by construction, not by a tag a user could edit.
"""

from __future__ import annotations

import logging
import os

from ._identity import candidates_name, is_server, production_name, server_errors, server_user
from ._store import DEFAULT_EXPERIMENT, Store, _get_or_create_experiment, import_mlflow, open_store

logger = logging.getLogger(__name__)

__all__ = ["ROLES", "grant_role", "revoke_user", "setup_registry"]

#: Roles :func:`grant_role` gives.
ROLES = ("analyst", "reviewer")
#: Registered model tag marking what :func:`setup_registry` created.
KIND_TAG = "send_early.registry"
#: MLflow's old default admin credentials (advisory GHSA-gq3w-7jj3-x7gr).
_DEFAULT_ADMIN = ("admin", "password1234")


def _server(tracking_uri) -> Store:
    store = open_store(tracking_uri, create=False)
    if not is_server(store):
        raise ValueError(
            "Registry roles need an MLflow server with basic-auth (http:// or https://); "
            f"found {store}. The embedded store has no users: anyone who can write its "
            "folder can change it."
        )
    return store


def _refuse_default_password(store: Store) -> None:
    """Refuse a server that accepts MLflow's old default admin password."""
    import requests
    from mlflow.utils.credentials import read_mlflow_creds

    user = server_user()
    if read_mlflow_creds().password == _DEFAULT_ADMIN[1]:
        found = True
    else:
        found = False
        for name in dict.fromkeys((user or _DEFAULT_ADMIN[0], _DEFAULT_ADMIN[0])):
            resp = requests.get(
                f"{store.tracking_uri.rstrip('/')}/api/2.0/mlflow/users/get",
                params={"username": name},
                auth=(name, _DEFAULT_ADMIN[1]),
                timeout=30,
            )
            found = found or resp.status_code == 200
    if found:
        raise PermissionError(
            f"The registry server at {store.tracking_uri} still accepts MLflow's default admin "
            "password, so anyone could change production models. Change it first (MLflow's "
            "AuthServiceClient.update_user_password, or the server's signup page as admin), "
            "then run this again."
        )


def _admin(store: Store):
    """The server's admin client, after checking the caller is an admin."""
    mlflow = import_mlflow()
    from mlflow.server import get_app_client

    _refuse_default_password(store)
    client = get_app_client("basic-auth", tracking_uri=store.tracking_uri)
    user = server_user()
    with server_errors(store, "administer", "the registry"):
        try:
            me = client.get_user(user)
        except mlflow.exceptions.MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                me = None
            else:
                raise
    if me is None or not me.is_admin:
        raise PermissionError(
            f"user {user!r} may not administer the registry at {store.tracking_uri}: "
            "run this as an MLflow admin (MLFLOW_TRACKING_USERNAME of an admin user)."
        )
    return client


def setup_registry(
    name: str,
    *,
    tracking_uri: str | os.PathLike | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
) -> dict:
    """Create production model ``name``, its ``name-candidates`` and the runs' experiment.

    Run as an MLflow admin on a server with basic-auth; refused when the server still
    accepts MLflow's default admin password. Existing models are kept (running it twice
    is harmless). Then give people roles with :func:`grant_role`.

    Returns
    -------
    dict
        ``name``, ``candidates``, ``experiment_id`` and ``tracking_uri``.
    """
    store = _server(tracking_uri)
    _admin(store)
    mlflow = import_mlflow()
    client = store.client()
    name = production_name(name)
    cand = candidates_name(name)
    with server_errors(store, "administer", name):
        for model, kind, text in (
            (name, "production", f"Production versions; each copied from {cand} by a reviewer."),
            (cand, "candidates", f"Candidates for {name}, registered by analysts."),
        ):
            try:
                client.create_registered_model(model, description=text)
            except mlflow.exceptions.MlflowException as exc:
                if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
            client.set_registered_model_tag(model, KIND_TAG, kind)
        exp_id = _get_or_create_experiment(store, experiment)
        client.set_registered_model_tag(name, KIND_TAG + ".experiment", exp_id)
    logger.info("Set up %s and %s on %s.", name, cand, store.tracking_uri)
    return {
        "name": name,
        "candidates": cand,
        "experiment_id": exp_id,
        "tracking_uri": store.tracking_uri,
    }


def _registries(store: Store, models) -> list[tuple[str, str]]:
    """``(production name, experiment id)`` of the named or every set-up registry."""
    client = store.client()
    found = []
    for model in client.search_registered_models(max_results=1000):
        tags = dict(model.tags or {})
        if tags.get(KIND_TAG) == "production" and (not models or model.name in models):
            found.append((model.name, tags.get(KIND_TAG + ".experiment", "")))
    if not found:
        raise ValueError(
            "A registry must be set up before roles are granted; found none"
            + (f" named {', '.join(models)}" if models else "")
            + ". Run `send-early registry setup NAME --tracking-uri URL` as an admin."
        )
    return found


def _holds(client, user: str, resource_type: str, resource: str) -> str:
    try:
        return client.get_user_permission(user, resource_type, resource).permission
    except Exception:  # no explicit grant
        return ""


def _grants(role: str, name: str, exp_id: str) -> list[tuple[str, str, str]]:
    if role == "analyst":
        grants = [("registered_model", candidates_name(name), "EDIT")]
        return grants + ([("experiment", exp_id, "EDIT")] if exp_id else [])
    return [("registered_model", name, "EDIT")]


def grant_role(
    user: str,
    role: str,
    *,
    tracking_uri: str | os.PathLike | None = None,
    models: list[str] | None = None,
) -> list[str]:
    """Make ``user`` an ``analyst`` or a ``reviewer`` of every set-up registry (or ``models``).

    Run as an MLflow admin. Refuses to give one user both roles on a registry: a
    reviewer who could also register candidates could approve their own model.

    Returns
    -------
    list of str
        The production models the role now covers.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}; found {role!r}.")
    store = _server(tracking_uri)
    admin = _admin(store)
    other = "reviewer" if role == "analyst" else "analyst"
    registries = _registries(store, models)
    with server_errors(store, "administer", "the registry"):
        clash = [
            name
            for name, exp_id in registries
            if any(
                _holds(admin, user, kind, res) in {"EDIT", "MANAGE"}
                for kind, res, _ in _grants(other, name, exp_id)[:1]
            )
        ]
        if clash:
            raise ValueError(
                f"user {user!r} is already {other} of {', '.join(clash)}; one person may not "
                f"be both analyst and reviewer (four eyes). Revoke first: send-early registry "
                f"revoke {user}."
            )
        for name, exp_id in registries:
            for kind, res, perm in _grants(role, name, exp_id):
                try:
                    admin.grant_user_permission(user, kind, res, perm)
                except import_mlflow().exceptions.MlflowException as exc:
                    if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                        raise
    logger.info("Granted %s on %d registries.", role, len(registries))
    return [name for name, _ in registries]


def revoke_user(
    user: str,
    *,
    tracking_uri: str | os.PathLike | None = None,
    models: list[str] | None = None,
) -> list[str]:
    """Take both roles away from ``user`` on every set-up registry (or ``models``).

    The user keeps the server's default permission (READ).

    Returns
    -------
    list of str
        The production models the user lost roles on.
    """
    store = _server(tracking_uri)
    admin = _admin(store)
    mlflow = import_mlflow()
    registries = _registries(store, models)
    with server_errors(store, "administer", "the registry"):
        for name, exp_id in registries:
            for role in ROLES:
                for kind, res, _ in _grants(role, name, exp_id):
                    try:
                        admin.revoke_user_permission(user, kind, res)
                    except mlflow.exceptions.MlflowException as exc:
                        if exc.error_code not in {
                            "RESOURCE_DOES_NOT_EXIST",
                            "INVALID_PARAMETER_VALUE",
                        }:
                            raise
    return [name for name, _ in registries]
