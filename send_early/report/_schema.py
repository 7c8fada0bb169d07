"""The JSON Schema of the model card JSON (``card.schema.json``, shipped with the package)."""

from __future__ import annotations

import json
from importlib.resources import files

__all__ = ["card_json_schema"]


def card_json_schema() -> dict:
    """The JSON Schema (draft 2020-12) that every card JSON of this release follows.

    Examples
    --------
    >>> from send_early.report import SCHEMA_VERSION, card_json_schema
    >>> schema = card_json_schema()
    >>> schema["properties"]["schema_version"]["const"] == SCHEMA_VERSION
    True
    """
    text = files("send_early.report").joinpath("card.schema.json").read_text(encoding="utf-8")
    return json.loads(text)
