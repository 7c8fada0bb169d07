"""The transparency record and DPIA sheet in headless Chromium at phone and desktop widths."""

from __future__ import annotations

import pytest

from send_early.transparency import transparency_record

from .._chromium import layout
from ..monitor.test_monitor_browser import _PROBE
from .test_record import card_file, registry  # noqa: F401 (fixtures)


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("which", ["record", "dpia"])
def test_record_fits_the_screen(registry, card_file, tmp_path, width, which):  # noqa: F811
    rec = transparency_record("risk", 3, card=card_file)
    page = rec.html() if which == "record" else rec.dpia_html()
    seen = layout(page, _PROBE, width, tmp_path, height=3000)
    assert seen["vw"] == width
    assert seen["page_width"] <= width, seen["wide"][:5]
    assert not seen["wide"], seen["wide"][:5]
    assert not seen["clipped"], seen["clipped"][:5]
