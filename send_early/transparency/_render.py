"""HTML for the record and the DPIA sheet: Jinja2 templates (autoescaped) in ``templates/``."""

from __future__ import annotations

from .._templates import render as _render

__all__ = ["render"]


def render(template: str, record, data: dict) -> str:
    """Render ``template`` with the record and its JSON-ready ``data``."""
    return _render("send_early.transparency", template, record=record, data=data)
