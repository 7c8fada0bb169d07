"""Optional signing of logged models: an HMAC-SHA256 of the model folder's digest.

The key lives outside the store, in ``$SEND_EARLY_SIGNING_KEY`` or in the file named by
``$SEND_EARLY_SIGNING_KEY_FILE``. With a key set when a model is logged, the signature
is stored with the version (tag ``send_early.signature``) and in the MLmodel metadata;
with a key set when a model is loaded, a missing or wrong signature is refused before
any model file is read beyond hashing it. Someone who can write to the store but does
not hold the key cannot make a changed model pass. The key never appears in a tag, a
log line or an error message.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from ..exceptions import IntegrityError

__all__ = ["KEY_ENV", "KEY_FILE_ENV", "sign", "signing_key", "verify_signature"]

KEY_ENV = "SEND_EARLY_SIGNING_KEY"
KEY_FILE_ENV = "SEND_EARLY_SIGNING_KEY_FILE"
SCHEME = "hmac-sha256"
MIN_KEY_BYTES = 32
_MESSAGE = b"send_early model folder sha256:"


def signing_key() -> bytes | None:
    """The signing key from the environment, or None when neither variable is set.

    Raises
    ------
    ValueError
        If both variables are set, the key file cannot be read, or the key is shorter
        than 32 bytes. The message names the variable (and the file), never the key.
    """
    text = os.environ.get(KEY_ENV, "")
    file = os.environ.get(KEY_FILE_ENV, "")
    if text and file:
        raise ValueError(
            f"Set one of {KEY_ENV} and {KEY_FILE_ENV}, not both: they give two signing keys."
        )
    if file:
        try:
            key = Path(file).read_bytes().strip()
        except OSError as exc:
            raise ValueError(
                f"{KEY_FILE_ENV} must name a readable key file; {file} could not be read "
                f"({type(exc).__name__})."
            ) from None
        where = f"the file {file} ({KEY_FILE_ENV})"
    elif text:
        key = text.encode("utf-8")
        where = KEY_ENV
    else:
        return None
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"A signing key must be at least {MIN_KEY_BYTES} bytes; the one in {where} is "
            f"shorter. Make one with: python -c 'import secrets; print(secrets.token_hex(32))'."
        )
    return key


def sign(digest: str, key: bytes) -> str:
    """``"hmac-sha256:<hex>"``: the HMAC-SHA256 of a model folder's SHA-256 under ``key``."""
    mac = hmac.new(key, _MESSAGE + digest.encode("ascii"), hashlib.sha256).hexdigest()
    return f"{SCHEME}:{mac}"


def verify_signature(digest: str, signature: str | None, key: bytes, *, where: str) -> None:
    """Refuse a model whose signature is missing or was not made with ``key``.

    Raises
    ------
    IntegrityError
        Naming the model (``where``) and what to do; never the key or the signature.
    """
    if not signature:
        raise IntegrityError(
            f"A signing key is set ({KEY_ENV} or {KEY_FILE_ENV}), so {where} must carry a "
            "signature; it has none (it was logged without a key, or its signature was "
            "removed). Log the model again with the key set, or unset the key to load "
            "unsigned models."
        )
    if not hmac.compare_digest(str(signature), sign(digest, key)):
        raise IntegrityError(
            f"The signature of {where} must match its model files under the signing key; it "
            "does not: the files or the signature were changed after logging, or it was "
            "signed with another key. Do not use this model; restore the store from a backup "
            "or log and review the model again."
        )
