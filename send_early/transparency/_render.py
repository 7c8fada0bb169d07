"""HTML for the record and the DPIA sheet: Jinja2 templates (autoescaped) in ``templates/``."""

from __future__ import annotations

import functools

__all__ = ["render"]


@functools.cache
def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("send_early.transparency", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(template: str, record, data: dict) -> str:
    """Render ``template`` with the record and its JSON-ready ``data``."""
    return _environment().get_template(template).render(record=record, data=data)
