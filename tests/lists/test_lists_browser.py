"""A school list as a person sees it: laid out by headless Chromium at phone and desktop widths.

tests/_chromium.py lays it out (Chromium from Debian's ``chromium`` package; where CI runs, a
missing browser fails the test instead of skipping it).
"""

from __future__ import annotations

import pytest

from send_early.lists import build_lists

from .._chromium import fits


@pytest.mark.parametrize("width", [390, 1280])
def test_school_list_fits_the_screen(scored, small_cohort, tmp_path, width):
    lists = build_lists(scored, audience="school", tables=small_cohort)
    s = lists.settings[lists.settings["setting_type"] == "school"]
    key = s.sort_values("flagged").iloc[-1]["key"]  # the longest school list
    seen = fits(lists.html(key), width, tmp_path, count="article")
    assert seen["count"] == int(s["flagged"].max()) > 0
