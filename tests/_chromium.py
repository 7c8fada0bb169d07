"""Lay a page out in headless Chromium at a given width and read what a probe script saw.

Shared by the browser tests of the model card, the work lists, the monitoring report and the
transparency record. Chromium will not make a window
narrower than 500 px, so the page is laid out in an iframe of the width under test (a real
viewport: media queries apply inside it); the probe posts its findings (JSON) to the parent,
which writes them into ``<pre id="result">``, read back from ``--dump-dom``. With ``CI`` set
(.ci/run installs Chromium), a missing browser fails the test instead of skipping it.
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
    None,
)

_FRAME = """<!DOCTYPE html><html><body style="margin:0"><pre id="result"></pre>
<iframe src="{src}" width="{width}" height="{height}" style="border:0;display:block"></iframe>
<script>window.addEventListener("message", (e) => {{
  document.getElementById("result").textContent = e.data; }});</script></body></html>"""


def layout(page: str, probe: str, width: int, tmp_path: Path, *, height: int = 4000) -> dict:
    """Lay ``page`` (HTML that runs no script of its own) out at ``width`` CSS pixels with
    ``probe`` (a ``<script>`` posting JSON to its parent) and return what the probe posted."""
    if CHROMIUM is None:
        msg = "chromium not installed (apt-get update && apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{msg}: .ci/run must install it, the browser test may not skip in CI")
        pytest.skip(msg)
    assert "<script" not in page  # the page itself runs no code
    probed = tmp_path / f"probed_{width}.html"
    probed.write_text(page.replace("</head>", probe + "</head>", 1), encoding="utf-8")
    frame = tmp_path / f"frame_{width}.html"
    frame.write_text(_FRAME.format(src=probed.name, width=width, height=height), encoding="utf-8")
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / f'profile_{width}'}",
        f"--window-size=1400,{height}",
        "--virtual-time-budget=10000",
        "--dump-dom",
        frame.as_uri(),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    m = re.search(r'<pre id="result">(.*?)</pre>', res.stdout, re.S)
    assert m and m.group(1), "the probe did not report: " + res.stderr[-2000:]
    return json.loads(html_lib.unescape(m.group(1)))


# every visible element whose box leaves the viewport or whose content is cut by its own box,
# the page's width, and how many elements match a selector
_FIT_PROBE = r"""<script>
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
    wide: wide, clipped: clipped, count: document.querySelectorAll(SELECTOR).length}), "*");
});
</script>"""


def fits(page: str, width: int, tmp_path: Path, *, count: str = "table") -> dict:
    """Lay ``page`` out at ``width`` and assert that nothing leaves the viewport or is cut;
    return what the probe saw (``count``: how many elements match the selector ``count``)."""
    seen = layout(page, _FIT_PROBE.replace("SELECTOR", json.dumps(count)), width, tmp_path,
                  height=3000)  # fmt: skip
    assert seen["vw"] == width
    assert seen["page_width"] <= width, seen["wide"][:5]
    assert not seen["wide"], seen["wide"][:5]
    assert not seen["clipped"], seen["clipped"][:5]
    return seen
