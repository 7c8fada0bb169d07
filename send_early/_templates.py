"""The one Jinja2 setup for the HTML pages: a package's ``templates/`` folder, autoescaped.

Every page (work lists, monitoring report, transparency record) renders through here, so
autoescaping and the whitespace rules are set once.
"""

from __future__ import annotations

import functools

__all__ = ["environment", "render"]


@functools.cache
def environment(package: str):
    """The Jinja2 environment for the templates in ``package``'s ``templates/`` folder.

    Autoescaped, strict about undefined names (a missing key fails instead of rendering
    empty), and one per package (cached). Jinja2 is imported on first use only.
    """
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(package: str, template: str, **context) -> str:
    """Render ``template`` from ``package``'s templates with ``context``.

    Examples
    --------
    >>> from send_early._templates import environment
    >>> environment("send_early.lists").from_string("{{ name }}").render(name="<b>")
    '&lt;b&gt;'
    """
    return environment(package).get_template(template).render(**context)
