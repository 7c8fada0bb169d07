"""The one Jinja2 setup the HTML pages share (send_early._templates)."""

from __future__ import annotations

import jinja2
import pytest

from send_early._templates import environment, render

PACKAGES = ["send_early.lists", "send_early.monitor", "send_early.transparency"]


@pytest.mark.parametrize("package", PACKAGES)
def test_values_are_escaped(package):
    env = environment(package)
    assert env.from_string("{{ v }}").render(v='<script>"x"</script>') == (
        "&lt;script&gt;&#34;x&#34;&lt;/script&gt;"
    )


@pytest.mark.parametrize("package", PACKAGES)
def test_a_missing_name_fails_instead_of_rendering_empty(package):
    with pytest.raises(jinja2.UndefinedError, match="'missing' is undefined"):
        environment(package).from_string("{{ missing }}").render()


def test_one_environment_per_package_reading_its_own_templates():
    assert environment("send_early.lists") is environment("send_early.lists")
    assert environment("send_early.lists") is not environment("send_early.monitor")
    assert "cover.html.j2" in environment("send_early.lists").list_templates()
    with pytest.raises(jinja2.TemplateNotFound):
        render("send_early.monitor", "cover.html.j2")
