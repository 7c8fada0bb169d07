"""Lay a page out in headless Chromium at a given width and read what a probe script saw.

Shared by the model card's and the work lists' browser tests. Chromium will not make a window
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
