"""The model card as a person sees it: laid out by headless Chromium at phone and desktop widths.

Chromium comes from Debian's ``chromium`` package (``.ci/run`` installs it). Where CI runs
(``CI`` is set), a missing browser fails the test instead of skipping it.
"""

from __future__ import annotations

import re

import pytest

from send_early.report import build_model_card
from send_early.report._example import example_inputs
from send_early.workflow import train_model

from .._chromium import layout
from .test_card_object import later_inputs

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
    "Outcomes after flags",
    "Limitations",
    "Reviewer checklist",
    "Registry and approval",
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


def _layout(html_path, width: int, tmp_path) -> dict:
    """Lay the card out at ``width`` CSS pixels and return what the probe saw."""
    return layout(html_path.read_text(encoding="utf-8"), _PROBE, width, tmp_path)


@pytest.fixture(scope="module")
def example_card(tmp_path_factory):
    kw = example_inputs(n=4000, seed=0)
    kw.pop("ids")
    # with the registry entry, the outcome log and the capacity policies by setting
    return build_model_card(out_dir=tmp_path_factory.mktemp("example"), **kw, **later_inputs())


@pytest.fixture(scope="module")
def fitted_card(small_cohort, fast_spec_path, tmp_path_factory):
    res = train_model(small_cohort, fast_spec_path, out_dir=tmp_path_factory.mktemp("fitted"))
    return res.run.card


@pytest.mark.slow
@pytest.mark.parametrize("which", ["example_card", "fitted_card"])
@pytest.mark.parametrize("width", [390, 1024, 1280, 1440])
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


@pytest.mark.parametrize("width", [390, 1280])
def test_opened_details_fit_the_screen(example_card, width, tmp_path):
    # the capacity policies by setting sit in a closed <details>: opened, they fit too
    page = tmp_path / "open.html"
    html = example_card.html_path.read_text(encoding="utf-8")
    assert "<details>" in html
    page.write_text(html.replace("<details>", "<details open>"), encoding="utf-8")
    seen = _layout(page, width, tmp_path)
    assert seen["page_width"] <= width and not seen["wide"], seen["wide"][:10]
    assert not seen["clipped"], seen["clipped"][:10]


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
