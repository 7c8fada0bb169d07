"""The model card of a registered version, with its registry section filled."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from ..exceptions import IntegrityError
from ._review import review_summary
from ._store import import_mlflow, open_store
from ._tags import CARD_SHA_TAG


def registered_card(
    name: str,
    version: str | int,
    *,
    tracking_uri: str | os.PathLike | None = None,
    outcomes_after_flags=None,
):
    """The version's model card as the registry holds it, with the registered name, version,
    run and approvals filled in (:meth:`send_early.report.ModelCard.with_registry`).

    The card is built before the version is registered, so its own file says "not yet
    registered"; this reads that file from the version's run (``model_card/*.json``),
    checks it against the SHA-256 registered with the version, and fills the registry
    section from the registry as it stands now (approvals included). Write it with
    ``.save(folder)``; the registered file itself is never changed.

    ``outcomes_after_flags``: the model's rows of
    :func:`send_early.outcomes.outcome_summary` (the outcome log), shown in the card's
    "Outcomes after flags" section.

    Raises
    ------
    FileNotFoundError
        The version was logged without a JSON card.
    IntegrityError
        The card file differs from the SHA-256 registered with the version.
    """
    from ..report import ModelCard

    summary = review_summary(name, str(version), tracking_uri=tracking_uri)
    where = f"{summary.name} version {summary.version}"
    store = open_store(tracking_uri, create=False)
    import_mlflow()
    client = store.client()
    listed = client.list_artifacts(summary.run_id, "model_card") if summary.run_id else []
    paths = [a.path for a in listed if a.path.endswith(".json")]
    if not paths:
        raise FileNotFoundError(
            f"A registered version's model card must be logged with it; {where} has no "
            "model_card/*.json (log it with log_model(card_paths=[...]))."
        )
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(client.download_artifacts(summary.run_id, paths[0], tmp))
        data = local.read_bytes()
    expected = summary.tags.get(CARD_SHA_TAG)
    if expected and hashlib.sha256(data).hexdigest() != expected:
        raise IntegrityError(
            f"The model card of {where} must match the SHA-256 registered with it "
            f"({expected[:16]}...); the stored file differs."
        )
    card = ModelCard.from_dict(json.loads(data))
    if outcomes_after_flags is not None:
        card = card.with_outcomes(outcomes_after_flags)
    return card.with_registry(
        {
            "name": summary.name,
            "version": summary.version,
            "run_id": summary.run_id,
            "approvals": summary.approvals,
        }
    )
