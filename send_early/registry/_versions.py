"""The aliases a version may hold, and the list of a registered model's versions."""

from __future__ import annotations

import os

import pandas as pd

from ._card import STATUS_TAG, approvals, checks_from_tags
from ._store import import_mlflow, open_store

__all__ = ["ALIASES_ENV", "DEFAULT_ALIASES", "VERSION_COLUMNS", "allowed_aliases", "list_versions"]

#: Environment variable with the comma-separated aliases promote may set.
ALIASES_ENV = "SEND_EARLY_ALIASES"
#: Aliases allowed when ``$SEND_EARLY_ALIASES`` is not set.
DEFAULT_ALIASES = ("champion", "challenger", "archived")
#: Columns of :func:`list_versions`, in order.
VERSION_COLUMNS = (
    "version",
    "aliases",
    "created",
    "status",
    "checks_passed",
    "checks_failed",
    "failed_checks",
    "approved_as",
    "reviewer",
    "approved_at",
    "note",
    "forced",
)


def allowed_aliases() -> tuple[str, ...]:
    """The aliases :func:`~send_early.registry.promote` may set.

    ``$SEND_EARLY_ALIASES`` (comma-separated, e.g. ``champion,challenger,archived,shadow``)
    or :data:`DEFAULT_ALIASES`. Aliases are case-sensitive.

    Examples
    --------
    >>> "champion" in allowed_aliases() or "SEND_EARLY_ALIASES" in os.environ
    True
    """
    raw = os.environ.get(ALIASES_ENV, "")
    names = tuple(a.strip() for a in raw.split(",") if a.strip())
    return names or DEFAULT_ALIASES


def check_alias(alias) -> str:
    """``alias`` if it is allowed, else a ValueError saying which are and how to add one."""
    allowed = allowed_aliases()
    if alias in allowed:
        return alias
    hint = ""
    close = [a for a in allowed if isinstance(alias, str) and a.lower() == alias.strip().lower()]
    if close:
        hint = f" Aliases are case-sensitive: did you mean {close[0]!r}?"
    raise ValueError(
        f"alias must be one of {', '.join(allowed)}; found {alias!r}.{hint} To allow other "
        f"aliases, set {ALIASES_ENV} (comma-separated)."
    )


def list_versions(name: str, tracking_uri: str | os.PathLike | None = None) -> pd.DataFrame:
    """Every version of a registered model, with its aliases, checks and approval.

    Reads the registry only (nothing is downloaded or created; a missing store is a
    :class:`FileNotFoundError` naming ``SEND_EARLY_STORE`` and ``MLFLOW_TRACKING_URI``).
    The CLI's ``send-early versions NAME`` prints this frame.

    Parameters
    ----------
    name : str
        Registered model name.
    tracking_uri : str or path-like, optional
        MLflow tracking URI or store folder (see :func:`open_store`).

    Returns
    -------
    DataFrame
        One row per version, oldest first, columns :data:`VERSION_COLUMNS`:
        ``version`` (int), ``aliases`` (str, comma-separated), ``created``
        (Timestamp, UTC), ``status`` (``pending_review`` or ``approved``),
        ``checks_passed`` and ``checks_failed`` (int counts of model card checks),
        ``failed_checks`` (str, comma-separated names), and the latest approval:
        ``approved_as`` (the alias), ``reviewer``, ``approved_at`` (ISO text), ``note``
        (empty strings when not approved) and ``forced`` (bool: promoted despite
        failed checks).

    Raises
    ------
    ValueError
        If no model of that name is registered.
    """
    mlflow = import_mlflow()
    client = open_store(tracking_uri, create=False).client()
    try:
        registered = client.get_registered_model(name)
    except mlflow.exceptions.MlflowException as exc:
        raise ValueError(
            f"A registered model named {name!r} must exist in the store; it was not found "
            f"({exc.error_code}). Register one with `send-early train ... --register NAME`."
        ) from None
    held: dict[str, list[str]] = {}  # search results carry no aliases: take the model's
    for alias, version in (getattr(registered, "aliases", None) or {}).items():
        held.setdefault(str(version), []).append(alias)
    quoted = name.replace("'", "\\'")
    versions = client.search_model_versions(f"name = '{quoted}'")
    rows = []
    for mv in sorted(versions, key=lambda v: int(v.version)):
        tags = dict(mv.tags or {})
        checks = checks_from_tags(tags)
        failed = [c["name"] for c in checks if c["passed"] is False]
        last = (approvals(tags) or [{}])[0]
        rows.append(
            {
                "version": int(mv.version),
                "aliases": ",".join(sorted(held.get(str(mv.version), []))),
                "created": pd.Timestamp(int(mv.creation_timestamp), unit="ms", tz="UTC"),
                "status": tags.get(STATUS_TAG, "unknown"),
                "checks_passed": sum(c["passed"] is True for c in checks),
                "checks_failed": len(failed),
                "failed_checks": ",".join(failed),
                "approved_as": last.get("alias", ""),
                "reviewer": last.get("reviewer", ""),
                "approved_at": last.get("timestamp", ""),
                "note": last.get("note", ""),
                "forced": last.get("forced") == "true",
            }
        )
    return pd.DataFrame(rows, columns=list(VERSION_COLUMNS))
