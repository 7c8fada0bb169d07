"""The aliases a version may hold, and the list of a registered model's versions."""

from __future__ import annotations

import os

import pandas as pd

from ._card import STATUS_TAG, approvals, checks_from_tags
from ._store import import_mlflow, open_store

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
    "candidate_version",
)
#: Columns of :func:`list_decisions`, in order.
DECISION_COLUMNS = (
    "entry",
    "action",
    "alias",
    "version",
    "candidate_version",
    "previous_version",
    "reviewer",
    "timestamp",
    "note",
    "checks_failed",
    "forced",
    "completed",
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


def _model_or_none(client, mlflow, name: str):
    try:
        return client.get_registered_model(name)
    except mlflow.exceptions.MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise


def list_versions(
    name: str,
    tracking_uri: str | os.PathLike | None = None,
    *,
    candidates: bool = False,
) -> pd.DataFrame:
    """Every version of a production model (or of its candidates), with aliases and approval.

    Reads the registry only (nothing is downloaded or created; a missing store is a
    :class:`FileNotFoundError` naming ``SEND_EARLY_STORE`` and ``MLFLOW_TRACKING_URI``).
    The CLI's ``send-early versions NAME`` prints this frame.

    Parameters
    ----------
    name : str
        The production model ``NAME``.
    tracking_uri : str or path-like, optional
        MLflow tracking URI or store folder (see :func:`open_store`).
    candidates : bool, default False
        List the candidates (``NAME-candidates``) instead of the production versions.

    Returns
    -------
    DataFrame
        One row per version, oldest first, columns :data:`VERSION_COLUMNS`:
        ``version`` (int), ``aliases`` (str, comma-separated), ``created``
        (Timestamp, UTC), ``status`` (``pending_review`` or ``approved``),
        ``checks_passed`` and ``checks_failed`` (int counts of model card checks),
        ``failed_checks`` (str, comma-separated names), and the latest approval:
        ``approved_as`` (the alias), ``reviewer``, ``approved_at`` (ISO text), ``note``
        (empty strings when not approved), ``forced`` (bool: promoted despite
        failed checks) and ``candidate_version`` (for a production version, the
        candidate it was copied from; for a candidate, the production version it
        became; empty if none). A production copy whose promotion stopped before its
        alias moved has status ``not approved`` and never scores; a candidate that was
        promoted has status ``promoted``.

    Raises
    ------
    ValueError
        If neither ``NAME`` nor ``NAME-candidates`` is registered.
    """
    from ._decisions import approval, copied_from
    from ._identity import candidates_name, production_name, server_errors

    mlflow = import_mlflow()
    store = open_store(tracking_uri, create=False)
    client = store.client()
    name = production_name(name)
    cand = candidates_name(name)
    with server_errors(store, "read", name):
        registered = _model_or_none(client, mlflow, name)
        cand_model = _model_or_none(client, mlflow, cand)
    if registered is None and cand_model is None:
        raise ValueError(
            f"A registered model named {name!r} must exist in the store, or its candidates "
            f"{cand!r}; neither was found. Register a candidate with `send-early train ... "
            "--register NAME`."
        )
    done = approval(client, name, registered)[1] if registered else set()
    prod = _search(client, name) if registered is not None else []
    became = {}
    for mv in prod:
        source = copied_from(mv)
        if source and str(mv.version) in done:
            became[source] = str(mv.version)
    shown = cand_model if candidates else registered
    if shown is None:
        return pd.DataFrame(columns=list(VERSION_COLUMNS))
    held: dict[str, list[str]] = {}  # search results carry no aliases: take the model's
    for alias, version in (getattr(shown, "aliases", None) or {}).items():
        held.setdefault(str(version), []).append(alias)
    rows = []
    for mv in _search(client, cand) if candidates else prod:
        tags = dict(mv.tags or {})
        checks = checks_from_tags(tags)
        failed = [c["name"] for c in checks if c["passed"] is False]
        last = (approvals(tags) or [{}])[0]
        status = tags.get(STATUS_TAG, "unknown")
        lineage = copied_from(mv)
        if candidates:
            lineage = became.get(str(mv.version), "")
            status = "promoted" if lineage else status
        elif lineage:
            status = "approved" if str(mv.version) in done else "not approved"
            if status != "approved":
                last = {}
        rows.append(
            {
                "version": int(mv.version),
                "aliases": ",".join(sorted(held.get(str(mv.version), []))),
                "created": pd.Timestamp(int(mv.creation_timestamp), unit="ms", tz="UTC"),
                "status": status,
                "checks_passed": sum(c["passed"] is True for c in checks),
                "checks_failed": len(failed),
                "failed_checks": ",".join(failed),
                "approved_as": last.get("alias", ""),
                "reviewer": last.get("reviewer", ""),
                "approved_at": last.get("timestamp", ""),
                "note": last.get("note", ""),
                "forced": last.get("forced") == "true",
                "candidate_version": lineage,
            }
        )
    return pd.DataFrame(rows, columns=list(VERSION_COLUMNS))


def _search(client, name: str) -> list:
    quoted = name.replace("'", "\\'")
    found = client.search_model_versions(f"name = '{quoted}'")
    return sorted(found, key=lambda v: int(v.version))


def list_decisions(name: str, tracking_uri: str | os.PathLike | None = None) -> pd.DataFrame:
    """The decision log of production model ``name``: promotions, rollbacks, demotions.

    Kept as tags ``send_early.decision.NNNN`` of the registered model ``NAME`` (the
    MLflow UI shows them on the model's page). ``completed`` is False for a promotion
    whose alias never moved (the server failed after the copy): that copy is not
    approved and never scores.

    Returns
    -------
    DataFrame
        One row per decision, oldest first, columns :data:`DECISION_COLUMNS`; empty if
        ``NAME`` is not registered yet.
    """
    from ._decisions import approved_versions, model_aliases, read_decisions
    from ._identity import production_name, server_errors

    mlflow = import_mlflow()
    store = open_store(tracking_uri, create=False)
    client = store.client()
    name = production_name(name)
    with server_errors(store, "read", name):
        registered = _model_or_none(client, mlflow, name)
        if registered is None:
            return pd.DataFrame(columns=list(DECISION_COLUMNS))
        decisions = read_decisions(client, name, registered)
    done = approved_versions(decisions, model_aliases(registered))
    rows = []
    for d in decisions:
        completed = True
        if d.get("action") == "promote":
            completed = str(d.get("version", "")) in done
        rows.append({**{c: d.get(c, "") for c in DECISION_COLUMNS}, "completed": completed})
    frame = pd.DataFrame(rows, columns=list(DECISION_COLUMNS))
    frame["forced"] = frame["forced"] == "true"
    return frame
