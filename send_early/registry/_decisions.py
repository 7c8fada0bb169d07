"""The decision log of a production model: every promotion, rollback and demotion.

Kept in the registry itself, as tags of the production registered model
(``send_early.decision.0001``, ``...0002``: one JSON object each), so the MLflow UI
shows it on the model's page and the server's permissions protect it: changing a
registered model's tags needs EDIT on it, which only reviewers (and admins) hold.
"""

from __future__ import annotations

import json

__all__ = ["DECISION_PREFIX", "append_decision", "read_decisions"]

#: Tag prefix of the decision log entries on a production registered model.
DECISION_PREFIX = "send_early.decision."
_MAX_FIELD = 2000


def read_decisions(client, name: str, model=None) -> list[dict]:
    """The decisions recorded on registered model ``name``, oldest first (empty if none).

    ``model`` is the registered model if the caller has already fetched it.
    """
    model = model if model is not None else client.get_registered_model(name)
    tags = dict(getattr(model, "tags", None) or {})
    rows = []
    for key in sorted(k for k in tags if k.startswith(DECISION_PREFIX)):
        try:
            row = json.loads(tags[key])
        except ValueError:
            row = {"action": "unreadable", "note": tags[key][:200]}
        if isinstance(row, dict):
            row["entry"] = int(key[len(DECISION_PREFIX) :] or 0)
            rows.append(row)
    return rows


def append_decision(client, name: str, decision: dict) -> int:
    """Append ``decision`` to the log of ``name``; returns its entry number.

    The number follows the highest one recorded, so a deleted entry leaves a gap rather
    than being reused. Two reviewers deciding on the same model in the same instant
    could pick the same number (the later write wins); a council's reviews are not
    that close together.
    """
    tags = dict(getattr(client.get_registered_model(name), "tags", None) or {})
    numbers = [k[len(DECISION_PREFIX) :] for k in tags if k.startswith(DECISION_PREFIX)]
    entry = max((int(n) for n in numbers if n.isdigit()), default=0) + 1
    value = {k: (str(v)[:_MAX_FIELD] if v is not None else "") for k, v in decision.items()}
    client.set_registered_model_tag(
        name, f"{DECISION_PREFIX}{entry:04d}", json.dumps(value, sort_keys=True)
    )
    return entry


def copied_from(mv) -> str:
    """The candidate version a production version was copied from, or "" if none.

    Read from the copy's ``source`` (``models:/NAME-candidates/N``), which MLflow sets
    with the copy itself, so a copy whose lineage tags were never written (the server
    failed right after the copy) is still recognised.
    """
    lineage = (mv.tags or {}).get("send_early.lineage.candidate_version")
    if lineage:
        return str(lineage)
    source = str(getattr(mv, "source", "") or "")
    head, _, tail = source.rpartition("/")
    if source.startswith("models:/") and head.endswith("-candidates") and tail.isdigit():
        return tail
    return ""


def model_aliases(model) -> dict[str, str]:
    """Alias -> version number of a registered model (empty for none or no model)."""
    return {a: str(v) for a, v in (getattr(model, "aliases", None) or {}).items()}


def approval(client, name: str, model) -> tuple[dict[str, str], set[str]]:
    """The aliases of registered model ``name`` (already fetched as ``model``) and its
    versions that completed an approval (see :func:`approved_versions`)."""
    aliases = model_aliases(model)
    return aliases, approved_versions(read_decisions(client, name, model), aliases)


def approved_versions(decisions: list[dict], aliases: dict[str, str]) -> set[str]:
    """Production versions that completed an approval: holding an alias now, or replaced.

    A version that was copied from a candidate but never got its alias (the server
    failed between the copy and the alias move) is in neither set: not approved.
    """
    done = {str(v) for v in aliases.values()}
    done.update(str(d["previous_version"]) for d in decisions if d.get("previous_version"))
    return done
