"""A school list as a person sees it: laid out by headless Chromium at phone and desktop widths.

As in tests/report/test_card_browser.py: Chromium from Debian's ``chromium`` package; where CI
runs (``CI`` is set) a missing browser fails the test instead of skipping it.
"""

from __future__ import annotations

import pytest

from send_early.lists import build_lists

from .._chromium import layout

# every visible element whose box leaves the viewport or whose content is cut by its own box
_PROBE = r"""<script>
window.addEventListener("load", () => {
  const vw = document.documentElement.clientWidth;
  const wide = [], clipped = [];
  const name = (el) => el.tagName.toLowerCase() + " '" + (el.textContent || "").trim().slice(0, 40) + "'";
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.right > vw + 1 || r.left < -1) wide.push(name(el) + " " + Math.round(r.left) + ".." + Math.round(r.right));
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== "visible") clipped.push(name(el));
  }
  parent.postMessage(JSON.stringify({vw: vw, page_width: document.documentElement.scrollWidth,
    wide: wide, clipped: clipped, articles: document.querySelectorAll("article").length}), "*");
});
</script>"""


def _layout(page: str, width: int, tmp_path) -> dict:
    return layout(page, _PROBE, width, tmp_path, height=3000)


@pytest.mark.parametrize("width", [390, 1280])
def test_school_list_fits_the_screen(scored, small_cohort, tmp_path, width):
    lists = build_lists(scored, audience="school", tables=small_cohort)
    s = lists.settings[lists.settings["setting_type"] == "school"]
    key = s.sort_values("flagged").iloc[-1]["key"]  # the longest school list
    seen = _layout(lists.html(key), width, tmp_path)
    assert seen["vw"] == width
    assert seen["articles"] == int(s["flagged"].max()) > 0
    assert seen["page_width"] <= width, seen["wide"][:5]
    assert not seen["wide"], seen["wide"][:5]
    assert not seen["clipped"], seen["clipped"][:5]
