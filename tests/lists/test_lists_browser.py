"""A school list as a person sees it: laid out by headless Chromium at phone and desktop widths.

As in tests/report/test_card_browser.py: Chromium from Debian's ``chromium`` package; where CI
runs (``CI`` is set) a missing browser fails the test instead of skipping it.
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import shutil
import subprocess

import pytest

from send_early.lists import build_lists

CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
    None,
)

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

# Headless Chromium will not make a window narrower than 500 px: lay the page out in an iframe
_FRAME = """<!DOCTYPE html><html><body style="margin:0"><pre id="result"></pre>
<iframe src="{src}" width="{width}" height="3000" style="border:0;display:block"></iframe>
<script>window.addEventListener("message", (e) => {{
  document.getElementById("result").textContent = e.data; }});</script></body></html>"""


def _layout(page: str, width: int, tmp_path) -> dict:
    if CHROMIUM is None:
        msg = "chromium not installed (apt-get update && apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{msg}: .ci/run must install it, the browser test may not skip in CI")
        pytest.skip(msg)
    assert "<script" not in page  # the list itself runs no code
    probed = tmp_path / f"list_{width}.html"
    probed.write_text(page.replace("</head>", _PROBE + "</head>", 1), encoding="utf-8")
    frame = tmp_path / f"frame_{width}.html"
    frame.write_text(_FRAME.format(src=probed.name, width=width), encoding="utf-8")
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / f'profile_{width}'}",
        "--window-size=1400,3000",
        "--virtual-time-budget=10000",
        "--dump-dom",
        frame.as_uri(),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    m = re.search(r'<pre id="result">(.*?)</pre>', res.stdout, re.S)
    assert m and m.group(1), "the probe did not report: " + res.stderr[-2000:]
    return json.loads(html_lib.unescape(m.group(1)))


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
