"""Who is acting on the registry, and what a refusal from the server means in words.

On a tracking server (``http://`` or ``https://``) the user is the one the server
authenticates: ``MLFLOW_TRACKING_USERNAME`` (with ``MLFLOW_TRACKING_PASSWORD``) or
MLflow's credentials file (``~/.mlflow/credentials``). On the embedded store it is the
name given, defaulting to the operating-system user. Passwords are read by MLflow's
client only; nothing here logs, returns or formats one.
"""

from __future__ import annotations

import contextlib
import getpass
from collections.abc import Iterator

from ._store import Store, import_mlflow

__all__ = ["acting_user", "candidates_name", "is_server", "server_errors", "server_user"]

#: Suffix of the registered model that holds a production model's candidates.
CANDIDATES_SUFFIX = "-candidates"


def candidates_name(name: str) -> str:
    """The registered model holding the candidates of production model ``name``.

    Examples
    --------
    >>> candidates_name("risk")
    'risk-candidates'
    >>> candidates_name("risk-candidates")
    'risk-candidates'
    """
    return name if name.endswith(CANDIDATES_SUFFIX) else name + CANDIDATES_SUFFIX


def production_name(name: str) -> str:
    """The production model a name refers to (``risk-candidates`` -> ``risk``).

    Examples
    --------
    >>> production_name("risk-candidates")
    'risk'
    """
    return name[: -len(CANDIDATES_SUFFIX)] if name.endswith(CANDIDATES_SUFFIX) else name


def is_server(store: Store) -> bool:
    """Whether ``store`` is an MLflow tracking server (``http://`` or ``https://``)."""
    return store.tracking_uri.split("://", 1)[0].lower() in {"http", "https"}


def server_user() -> str | None:
    """The user name MLflow's client authenticates with, or None if none is configured."""
    import_mlflow()
    from mlflow.utils.credentials import read_mlflow_creds

    user = read_mlflow_creds().username
    return user.strip() if user and user.strip() else None


def acting_user(store: Store, given: str | None = None, *, flag: str = "reviewer") -> str:
    """Who acts: the authenticated user on a server, else ``given`` or the OS user.

    Parameters
    ----------
    store : Store
        Where the action happens.
    given : str, optional
        A name typed by the user (``--reviewer``). Refused on a server: there the
        server says who the user is.
    flag : str
        What ``given`` is called, for messages.

    Raises
    ------
    ValueError
        If ``given`` is set on a server, or a server has no credentials configured.
    """
    if is_server(store):
        if given is not None and str(given).strip():
            raise ValueError(
                f"The {flag} on a registry server must be the user the server authenticates, "
                f"not a typed name; found {flag}={str(given)[:60]!r} for {store.tracking_uri}. "
                "Leave it out (CLI: drop --reviewer) and authenticate as yourself with "
                "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLflow's "
                "credentials file (~/.mlflow/credentials)."
            )
        user = server_user()
        if user is None:
            raise ValueError(
                f"A registry server needs to know who you are; no user is configured for "
                f"{store.tracking_uri}. Set MLFLOW_TRACKING_USERNAME and "
                "MLFLOW_TRACKING_PASSWORD, or write MLflow's credentials file "
                "(~/.mlflow/credentials; `mlflow login` is Databricks only)."
            )
        return user
    if given is not None and str(given).strip():
        return str(given).strip()
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user database entry (some containers)
        return "unknown"


#: What each role may do, for the one-line refusal.
_ADVICE = {
    "change": "ask a registry admin to make you a reviewer (send-early registry grant USER reviewer)",
    "register candidates in": "ask a registry admin to make you an analyst "
    "(send-early registry grant USER analyst)",
    "read": "ask a registry admin for access",
    "administer": "run this as an MLflow admin",
}


@contextlib.contextmanager
def server_errors(store: Store, action: str, model: str) -> Iterator[None]:
    """Turn a server's 401 or 403 into one :class:`PermissionError` line.

    ``action`` is a verb phrase for the line ("change", "register candidates in",
    "read"); ``model`` the registered model. The server's own text (and anything it
    echoes) is not repeated.
    """
    mlflow = import_mlflow()
    try:
        yield
    except mlflow.exceptions.MlflowException as exc:
        code = getattr(exc, "error_code", "")
        text = str(exc)
        if code == "UNAUTHENTICATED" or "error code 401" in text:
            raise PermissionError(
                f"The registry server at {store.tracking_uri} did not accept the credentials "
                f"of user {server_user() or '(none)'!r} (401): check MLFLOW_TRACKING_USERNAME "
                "and MLFLOW_TRACKING_PASSWORD, or ~/.mlflow/credentials."
            ) from None
        denied = code == "PERMISSION_DENIED" or "error code 403" in text
        # MLflow reports a refused copy_model_version as a vague "may not support copy"
        denied = denied or (is_server(store) and "copy" in text.lower() and "403" in text)
        if denied:
            who = server_user() if is_server(store) else None
            raise PermissionError(
                f"user {who or '(unknown)'!r} may not {action} {model!r}: "
                f"{_ADVICE.get(action, 'ask a registry admin')}."
            ) from None
        raise
