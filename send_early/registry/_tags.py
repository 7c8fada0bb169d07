"""Names and limits of the tags send_early writes on MLflow runs and model versions.

Shared by logging, loading, review and promotion; no mlflow import here.
"""

from __future__ import annotations

import datetime as _dt

from ._card import STATUS_TAG, TAG

__all__ = [
    "CARD_SHA_TAG",
    "CLASS_TAG",
    "LINEAGE",
    "MAX_TAG",
    "NO_CARD",
    "REGISTERED_BY_TAG",
    "SHA_TAG",
    "SIGNATURE_TAG",
    "STATUS_TAG",
    "TAG",
    "now",
]

#: Version tag holding the SHA-256 of the saved RiskModel directory.
SHA_TAG = TAG + "artifact_sha256"
#: Version tag holding its HMAC signature (when a signing key was set at logging).
SIGNATURE_TAG = TAG + "signature"
#: Version tag naming the class of the logged model; it selects among the classes allowed
#: in this process (:func:`allow_model_class`) and is never imported.
CLASS_TAG = TAG + "model_class"
#: Version tag: who registered a candidate (the authenticated user on a server).
REGISTERED_BY_TAG = TAG + "registered_by"
#: Version tag: SHA-256 of the model card (JSON) logged with a candidate.
CARD_SHA_TAG = TAG + "card_sha256"
#: Lineage tags a production copy carries (``send_early.lineage.*``).
LINEAGE = TAG + "lineage."
MAX_TAG = 4900  # stay below MLflow's tag value limits on every backend
NO_CARD = "no_model_card"  # the failed check a version logged without a card counts as


def now() -> str:
    """The current UTC time to the second, as ISO 8601 (decision and review timestamps)."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
