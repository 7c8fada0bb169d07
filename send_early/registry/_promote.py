"""Promotion, rollback and demotion: the only ways a version of a production model scores.

Candidates live in ``NAME-candidates`` (``log_model`` registers there). ``promote``
copies an approved candidate into ``NAME`` with lineage tags, appends the decision to
the log (:mod:`._decisions`) and moves the alias last, so a failure at any earlier
step leaves nothing that scores. On a registry server MLflow's permissions decide who
may do each step; :func:`send_early.registry.setup_registry` grants them.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ._card import with_approval
from ._decisions import append_decision, approval, copied_from
from ._identity import acting_user, candidates_name, is_server, production_name, server_errors
from ._loading import _download_verified, _model_version
from ._review import review_summary
from ._store import import_mlflow, open_store
from ._tags import (
    CARD_SHA_TAG,
    LINEAGE,
    MAX_TAG,
    NO_CARD,
    REGISTERED_BY_TAG,
    STATUS_TAG,
    TAG,
    now,
)
from ._versions import _model_or_none, check_alias

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Promotion:
    """A recorded decision (returned by :func:`promote`, :func:`rollback`, :func:`demote`).

    ``version`` is the production version now holding ``alias`` (None after a
    demotion); ``candidate_version`` the candidate it was copied from (None for a
    rollback, a demotion, or a version registered before candidates existed).
    """

    name: str
    version: str | None
    alias: str
    previous_version: str | None
    reviewer: str
    note: str
    timestamp: str
    forced: bool = False
    force_reason: str | None = None
    checks_failed: tuple[str, ...] = field(default_factory=tuple)
    action: str = "promote"
    candidate_version: str | None = None
    entry: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        prev = f" (was version {self.previous_version})" if self.previous_version else ""
        if self.action == "demote":
            return (
                f"{self.name}@{self.alias} removed{prev}; demoted by {self.reviewer} at "
                f"{self.timestamp}. Nothing scores as {self.name}@{self.alias} until a promotion."
            )
        source = (
            f" (copied from {candidates_name(self.name)} version {self.candidate_version})"
            if self.candidate_version
            else ""
        )
        forced = (
            f"\nFORCED despite failed checks ({', '.join(self.checks_failed)}): {self.force_reason}"
            if self.forced
            else ""
        )
        verb = "rolled back" if self.action == "rollback" else "approved"
        return (
            f"{self.name}@{self.alias} -> version {self.version}{source}{prev}; {verb} by "
            f"{self.reviewer} at {self.timestamp}{forced}"
        )


def _check_request(note, force, force_reason, alias, reviewer=None) -> None:
    problems = []
    if reviewer is not None and not str(reviewer).strip():
        problems.append("reviewer must name who approves (found an empty value)")
    if not str(note or "").strip():
        problems.append("note must say why (found an empty value)")
    if force and not str(force_reason or "").strip():
        problems.append("force=True needs force_reason explaining why failed checks are accepted")
    try:
        check_alias(alias)
    except ValueError as exc:
        problems.append(str(exc).rstrip("."))
    if problems:
        raise ValueError("Cannot promote: " + "; ".join(problems) + ".")


def _begin(name, note, force, force_reason, alias, reviewer, tracking_uri, *, check_reviewer=True):
    """What every decision starts with: the request checked, the store opened for writing,
    the acting user, and the production model's name. Returns (store, user, mlflow, client,
    name)."""
    _check_request(note, force, force_reason, alias, reviewer if check_reviewer else None)
    store = open_store(tracking_uri, create=False, write=True)
    user = acting_user(store, reviewer)
    mlflow = import_mlflow()
    return store, user, mlflow, store.client(), production_name(name)


def _decision(action: str, alias: str, user: str, note: str, previous: str, **more) -> dict:
    """A decision log entry: what every decision records, then ``more``."""
    return {
        "action": action,
        "alias": alias,
        "reviewer": user,
        "note": str(note).strip()[:MAX_TAG],
        "timestamp": now(),
        "previous_version": previous,
        **more,
    }


def _exists(client, mlflow, name: str) -> bool:
    return _model_or_none(client, mlflow, name) is not None


def _alias_version(client, mlflow, name: str, alias: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except mlflow.exceptions.MlflowException:
        return None


def _author(client, mv) -> str | None:
    """Who registered a version: its tag, else (older versions) its run's user."""
    user = (mv.tags or {}).get(REGISTERED_BY_TAG)
    if not user and mv.run_id:
        try:
            user = client.get_run(mv.run_id).info.user_id
        except Exception:  # the run was deleted: only the tag can tell
            user = None
    return user or None


def _four_eyes(name: str, version: str, author: str | None, reviewer: str) -> None:
    if author and author == reviewer:
        raise PermissionError(
            f"{name} version {version} was registered by {reviewer!r}, so {reviewer!r} may "
            "not approve it: a model scores children only after someone other than its author "
            "approved it (force does not change this). Ask another reviewer."
        )


def promote(
    name: str,
    version: str | int,
    *,
    alias: str = "champion",
    reviewer: str | None = None,
    note: str,
    force: bool = False,
    force_reason: str | None = None,
    tracking_uri: str | os.PathLike | None = None,
) -> Promotion:
    """Approve candidate ``version`` of ``name``: copy it into ``name`` and move the alias.

    The candidate ``NAME-candidates/VERSION`` is checked (model card checks, the SHA-256
    of its files), copied into the production model ``NAME`` with
    ``copy_model_version``, tagged with its lineage (candidate version, run, card
    SHA-256, checks passed and failed, reviewer, note, time), the decision is appended
    to the log on ``NAME`` (:func:`~send_early.registry.list_decisions`), and only then
    does ``alias`` move to the copy. If anything fails before the alias moves, the copy
    stays listed as ``not approved`` and never scores.

    A store from before candidates existed (no ``NAME-candidates``) promotes the version
    of ``NAME`` in place, as before, with the same checks and log.

    Parameters
    ----------
    name : str
        The production model (``risk``; ``risk-candidates`` is accepted too).
    version : str or int
        The candidate version to promote.
    alias : str
        Alias to move: one of :func:`~send_early.registry.allowed_aliases`.
    reviewer : str, optional
        Who approves. On a registry server it must be left out: the reviewer is the
        authenticated user. On the embedded store it defaults to the OS user.
    note : str
        Why (what was checked; any accepted gap).
    force : bool
        Promote although model card checks failed or no card was logged; needs
        ``force_reason``. It never allows approving one's own candidate.
    force_reason : str, optional
        Why failing checks (or the missing card) are accepted; recorded.
    tracking_uri : str or path-like, optional
        MLflow tracking URI or store folder.

    Returns
    -------
    Promotion

    Raises
    ------
    ValueError
        If checks failed or no card was logged and ``force`` is not set with a reason,
        the note is empty, the alias is not allowed, the version does not exist, or
        ``reviewer`` is given on a server.
    PermissionError
        If the reviewer registered the candidate (four eyes), or the server refuses
        (one line naming the user, the action and the model).
    IntegrityError
        If the model files do not match their recorded SHA-256.
    """
    store, user, mlflow, client, name = _begin(
        name, note, force, force_reason, alias, reviewer, tracking_uri
    )
    cand = candidates_name(name)
    version = str(version)
    with server_errors(store, "read", cand):
        legacy = not _exists(client, mlflow, cand)
    source = name if legacy else cand
    with server_errors(store, "read", source):
        summary = review_summary(source, version, tracking_uri=store.tracking_uri)
        mv = _model_version(client, mlflow, source, version, None)
    if legacy and copied_from(mv):
        raise ValueError(
            f"{name} version {version} is a production copy; to make it {alias!r} again use "
            f"rollback (CLI: send-early rollback {name} {version})."
        )
    _four_eyes(source, version, _author(client, mv), user)
    failed = summary.checks_failed if summary.has_card else [NO_CARD, *summary.checks_failed]
    if not summary.has_card and not force:
        raise ValueError(
            f"{source} version {version} cannot become {alias!r}: a model card must be logged "
            "with the version, and it has none (tag send_early.card is not 'yes'), so none of "
            "its checks were run. Log the model again with its card (log_model(card_paths=...); "
            "`send-early train --register` does), or promote with force=True and a "
            "force_reason (CLI: --force --reason TEXT), which is recorded."
        )
    if failed and not force:
        raise ValueError(
            f"{source} version {version} cannot become {alias!r}: every model card check must "
            f"pass; {len(failed)} failed: {', '.join(failed)}. Fix the model and log a new "
            "version, or promote with force=True and a force_reason (CLI: --force --reason "
            "TEXT), which is recorded."
        )
    if legacy and alias in summary.aliases:
        raise ValueError(
            f"{name} version {version} already holds the alias {alias!r}; nothing to promote."
        )
    with tempfile.TemporaryDirectory(prefix="send_early_promote_") as tmp:
        _download_verified(store, mv, Path(tmp), f"models:/{source}/{version}")
    if is_server(store) and not _exists(client, mlflow, name):
        raise ValueError(
            f"The production model {name!r} must exist on the registry server before a "
            f"promotion; it does not. A registry admin creates it with `send-early registry "
            f"setup {name} --tracking-uri {store.tracking_uri}`."
        )
    forced = bool(force and failed)
    decision = _decision(
        "promote",
        alias,
        user,
        note,
        _alias_version(client, mlflow, name, alias) or "",
        candidate_version="" if legacy else version,
        run_id=mv.run_id or "",
        card_sha256=mv.tags.get(CARD_SHA_TAG, ""),
        checks_passed=",".join(summary.checks_passed),
        checks_failed=",".join(failed),
        forced="true" if forced else "false",
        force_reason=str(force_reason).strip()[:MAX_TAG] if forced else "",
        registered_by=_author(client, mv) or "",
    )
    if not legacy:
        _refuse_promoted_twice(client, mlflow, name, version, alias)
    with server_errors(store, "change", name):
        target = version if legacy else _copy(client, cand, version, name)
        decision["version"] = target
        _tag_decision(client, name, target, decision, legacy)
        entry = append_decision(client, name, decision)
        client.set_registered_model_alias(name, alias, target)  # the alias moves last
    _after_move(client, name, target, decision)
    logger.info("Promoted %s version %s to %s.", name, target, alias)
    return _result(name, decision, entry, failed)


def _refuse_promoted_twice(client, mlflow, name: str, version: str, alias: str) -> None:
    model = _model_or_none(client, mlflow, name)
    if model is None:
        return
    aliases, done = approval(client, name, model)
    quoted = name.replace("'", "\\'")
    for mv in client.search_model_versions(f"name = '{quoted}'"):
        if copied_from(mv) == version and str(mv.version) in done:
            held = [a for a, v in aliases.items() if v == str(mv.version)]
            hint = (
                f"it already holds the alias {alias!r}; nothing to promote"
                if alias in held
                else f"to make it {alias!r} use rollback (CLI: send-early rollback {name} "
                f"{mv.version})"
            )
            raise ValueError(
                f"Candidate {version} of {name} is already production version {mv.version}: {hint}."
            )


def _copy(client, cand: str, version: str, name: str) -> str:
    # MLflow prints "Registered model ... already exists" and "Copied version ..." to its
    # own event stream; send_early reports the promotion itself
    from mlflow.utils.logging_utils import MLFLOW_LOGGING_STREAM

    enabled = MLFLOW_LOGGING_STREAM.enabled
    MLFLOW_LOGGING_STREAM.enabled = False
    try:
        copy = client.copy_model_version(f"models:/{cand}/{version}", name)
    finally:
        MLFLOW_LOGGING_STREAM.enabled = enabled
    return str(copy.version)


def _tag_decision(client, name: str, target: str, decision: dict, legacy: bool) -> None:
    """Lineage and review tags on the production version, before the alias moves."""
    prefix = f"{TAG}review.{decision['alias']}."
    tags = {prefix + k: decision[k] for k in ("reviewer", "note", "timestamp", "previous_version")}
    tags[prefix + "forced"] = decision["forced"]
    if decision["forced"] == "true":
        tags[prefix + "force_reason"] = decision["force_reason"]
        tags[prefix + "checks_failed"] = decision["checks_failed"]
    if not legacy:
        for key in ("candidate_version", "run_id", "card_sha256", "checks_passed"):
            tags[LINEAGE + key] = decision[key]
        tags[LINEAGE + "candidate_model"] = candidates_name(name)
        tags[LINEAGE + "checks_failed"] = decision["checks_failed"]
        tags[STATUS_TAG] = "not_approved"  # until the alias has moved
    for key, value in tags.items():
        client.set_model_version_tag(name, target, key, str(value)[:MAX_TAG])


def _after_move(client, name: str, target: str, decision: dict) -> None:
    """Status and descriptions, after the alias moved (cosmetic: the alias decides)."""
    prefix = f"{TAG}review.{decision['alias']}."
    previous = decision.get("previous_version") or None
    try:
        if target:
            client.set_model_version_tag(name, target, STATUS_TAG, "approved")
        if previous and previous != target:
            client.set_model_version_tag(name, previous, prefix + "replaced_by", target or "")
            client.set_model_version_tag(
                name, previous, prefix + "replaced_at", decision["timestamp"]
            )
        for v in [v for v in (target, previous) if v]:
            mv = client.get_model_version(name, v)
            client.update_model_version(name, v, description=with_approval(mv.description, mv.tags))
    except Exception as exc:  # the decision stands: the alias and the log record it
        logger.warning(
            "The decision on %s is recorded, but updating the versions' status and "
            "descriptions failed (%s); `send-early versions %s` shows the decision.",
            name,
            type(exc).__name__,
            name,
        )


def _result(name: str, decision: dict, entry: int, failed) -> Promotion:
    return Promotion(
        name=name,
        version=decision.get("version") or None,
        alias=decision["alias"],
        previous_version=decision.get("previous_version") or None,
        reviewer=decision["reviewer"],
        note=decision["note"],
        timestamp=decision["timestamp"],
        forced=decision.get("forced") == "true",
        force_reason=decision.get("force_reason") or None,
        checks_failed=tuple(failed) if decision.get("forced") == "true" else (),
        action=decision["action"],
        candidate_version=decision.get("candidate_version") or None,
        entry=entry,
    )


def rollback(
    name: str,
    version: str | int,
    *,
    alias: str = "champion",
    reviewer: str | None = None,
    note: str,
    tracking_uri: str | os.PathLike | None = None,
) -> Promotion:
    """Move ``alias`` back to a production version that was approved before.

    Only a version of ``name`` that completed an approval (it holds an alias, or was
    replaced by a later promotion) or, in a store from before candidates, a version
    tagged ``approved`` may be chosen; a copy left behind by a failed promotion is
    refused. The decision is appended to the log before the alias moves.

    Raises
    ------
    ValueError
        If the version was never approved, already holds the alias, or the note is
        empty.
    PermissionError
        If the server refuses (one line naming who lacks what on which model).
    """
    store, user, mlflow, client, name = _begin(
        name, note, False, None, alias, reviewer, tracking_uri, check_reviewer=False
    )
    version = str(version)
    with server_errors(store, "read", name):
        mv = _model_version(client, mlflow, name, version, None)
        aliases, done = approval(client, name, client.get_registered_model(name))
    copied = bool(copied_from(mv))
    ok = version in done if copied else (mv.tags or {}).get(STATUS_TAG) == "approved"
    if not ok:
        raise ValueError(
            f"{name} version {version} cannot become {alias!r} by rollback: only a version "
            "that was approved before may; this one never completed an approval (listed as "
            "not approved). Promote its candidate instead."
        )
    if aliases.get(alias) == version:
        raise ValueError(f"{name} version {version} already holds {alias!r}; nothing to do.")
    decision = _decision(
        "rollback",
        alias,
        user,
        note,
        aliases.get(alias, ""),
        version=version,
        candidate_version=copied_from(mv),
        forced="false",
    )
    with server_errors(store, "change", name):
        entry = append_decision(client, name, decision)
        client.set_registered_model_alias(name, alias, version)
    _after_move(client, name, version, {**decision, "alias": alias})
    return _result(name, decision, entry, ())


def demote(
    name: str,
    *,
    alias: str = "champion",
    reviewer: str | None = None,
    note: str,
    tracking_uri: str | os.PathLike | None = None,
) -> Promotion:
    """Remove ``alias`` from production model ``name``: nothing scores under it after.

    The decision is appended to the log first, then the alias is deleted.

    Raises
    ------
    ValueError
        If no version holds the alias, or the note is empty.
    PermissionError
        If the server refuses (one line naming who lacks what on which model).
    """
    store, user, mlflow, client, name = _begin(
        name, note, False, None, alias, reviewer, tracking_uri, check_reviewer=False
    )
    with server_errors(store, "read", name):
        previous = _alias_version(client, mlflow, name, alias)
    if previous is None:
        raise ValueError(f"No version of {name} holds {alias!r}; nothing to demote.")
    decision = _decision("demote", alias, user, note, previous, version="", forced="false")
    with server_errors(store, "change", name):
        entry = append_decision(client, name, decision)
        client.delete_registered_model_alias(name, alias)
    return _result(name, decision, entry, ())
