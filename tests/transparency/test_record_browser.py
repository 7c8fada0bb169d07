"""The transparency record and DPIA sheet in headless Chromium at phone and desktop widths."""

from __future__ import annotations

import pytest

from send_early.transparency import transparency_record

from .._chromium import fits
from .test_record import card_file, registry  # noqa: F401 (fixtures)


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("which", ["record", "dpia"])
def test_record_fits_the_screen(registry, card_file, tmp_path, width, which):  # noqa: F811
    rec = transparency_record("risk", 3, card=card_file)
    page = rec.html() if which == "record" else rec.dpia_html()
    fits(page, width, tmp_path)
