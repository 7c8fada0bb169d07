"""The model card as a person sees it: laid out by headless Chromium at phone and desktop widths.

Chromium comes from Debian's ``chromium`` package (``.ci/run`` installs it). Where CI runs
(``CI`` is set), a missing browser fails the test instead of skipping it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from send_early.report import build_model_card
from send_early.report._example import example_inputs
from send_early.workflow import train_model

CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
    None,
)
SECTIONS = [
    "Intended use",
    "Data summary",
    "Outcome and horizon",
    "Features",
    "Global explanation",
    "Metrics and baselines",
    "Calibration",
    "Capacity",
    "Lead time",
    "Fairness audit",
    "Backtest stability",
    "Limitations",
    "Reviewer checklist",
]

# Runs inside the card once laid out: every visible element whose box leaves the viewport or
# whose content is cut by its own box, every h2 with its visible size, and the page's width.
_PROBE = r"""<script>
window.addEventListener("load", () => {
  const vw = document.documentElement.clientWidth;
  const wide = [], clipped = [];
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (typeof el.className === "string" && el.className ? "." + el.className : "") +
    " '" + (el.textContent || "").trim().slice(0, 40) + "'";
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const css = getComputedStyle(el);
    if (css.position === "absolute" && css.overflow === "hidden") continue;  // screen-reader only
    if (el.closest("thead") && getComputedStyle(el.closest("thead")).position === "absolute") continue;
    if (r.right > vw + 1 || r.left < -1) wide.push(name(el) + " " + Math.round(r.left) + ".." + Math.round(r.right));
    if (el.scrollWidth > el.clientWidth + 1 && css.overflowX !== "visible") clipped.push(name(el));
  }
  const h2 = [...document.querySelectorAll("h2")].map((h) => {
    const r = h.getBoundingClientRect();
    return {text: h.textContent, visible: r.width > 0 && r.height > 0};
  });
  parent.postMessage(JSON.stringify({
    vw: vw, page_width: document.documentElement.scrollWidth, wide: wide, clipped: clipped, h2: h2,
  }), "*");
});
</script>"""

# Headless Chromium will not make a window narrower than 500 px, so the card is laid out in an
# iframe of the width under test (a real viewport: media queries apply inside it).
_FRAME = """<!DOCTYPE html><html><body style="margin:0"><pre id="result"></pre>
<iframe src="{src}" width="{width}" height="4000" style="border:0;display:block"></iframe>
<script>window.addEventListener("message", (e) => {{
  document.getElementById("result").textContent = e.data; }});</script></body></html>"""


def _layout(html_path, width: int, tmp_path) -> dict:
    """Lay the card out at ``width`` CSS pixels and return what the probe saw."""
    if CHROMIUM is None:
        msg = "chromium not installed (apt-get update && apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{msg}: .ci/run must install it, the browser test may not skip in CI")
        pytest.skip(msg)
    probed = tmp_path / f"probed_{width}.html"
    html = html_path.read_text(encoding="utf-8")
    assert "<script" not in html  # the card itself runs no code
    probed.write_text(html.replace("</head>", _PROBE + "</head>", 1), encoding="utf-8")
    frame = tmp_path / f"frame_{width}.html"
    frame.write_text(_FRAME.format(src=probed.name, width=width), encoding="utf-8")
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
        "--window-size=1400,4000",
        "--virtual-time-budget=10000",
        "--dump-dom",
        frame.as_uri(),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    m = re.search(r'<pre id="result">(.*?)</pre>', res.stdout, re.S)
    assert m and m.group(1), "the probe did not report: " + res.stderr[-2000:]
    import html as html_lib

    return json.loads(html_lib.unescape(m.group(1)))


@pytest.fixture(scope="module")
def example_card(tmp_path_factory):
    kw = example_inputs(n=4000, seed=0)
    kw.pop("ids")
    return build_model_card(out_dir=tmp_path_factory.mktemp("example"), **kw)


@pytest.fixture(scope="module")
def fitted_card(small_cohort, fast_spec_path, tmp_path_factory):
    res = train_model(small_cohort, fast_spec_path, out_dir=tmp_path_factory.mktemp("fitted"))
    return res.run.card


@pytest.mark.slow
@pytest.mark.parametrize("which", ["example_card", "fitted_card"])
@pytest.mark.parametrize("width", [390, 1024, 1440])
def test_card_fits_the_screen_and_shows_every_section(which, width, request, tmp_path):
    card = request.getfixturevalue(which)
    seen = _layout(card.html_path, width, tmp_path)
    assert seen["vw"] == width
    assert seen["page_width"] <= width, "the page scrolls sideways"
    assert not seen["wide"], f"elements wider than the {width} px viewport: {seen['wide'][:10]}"
    assert not seen["clipped"], f"content cut or scrolled inside its box: {seen['clipped'][:10]}"
    headings = [re.sub(r"^\d+\.\s*", "", h["text"]) for h in seen["h2"]]
    assert headings == SECTIONS
    assert all(h["visible"] for h in seen["h2"])


def test_probe_sees_an_element_wider_than_the_screen(tmp_path):
    # the probe must be able to fail: a 600 px wide table at 390 px is reported
    page = tmp_path / "wide.html"
    page.write_text(
        '<!DOCTYPE html><html><head></head><body><table style="width:600px"><tr><td>x</td>'
        "</tr></table><h2>1. Intended use</h2></body></html>",
        encoding="utf-8",
    )
    seen = _layout(page, 390, tmp_path)
    assert seen["wide"] and any(w.startswith("table") for w in seen["wide"])
    assert seen["page_width"] > 390
