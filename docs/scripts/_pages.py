"""What the scripts that fill a docs page share: the demo's cohort and model, filling a page's
marked figures, and a screenshot in headless Chromium.

Imported by the make_*_page.py scripts beside it (run from the repository root).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]


def demo_model():
    """The demo's synthetic cohort (``make_cohort(20000, random_state=0)``) and the default
    model fitted on it."""
    from send_early import RiskModel
    from send_early.datasets import make_cohort

    tables = make_cohort(20_000, random_state=0)
    return tables, RiskModel.from_spec("default").fit(tables)


def fill(text: str, name: str, body: str) -> str:
    """``text`` with what stands between ``<!-- name:start -->`` and ``<!-- name:end -->``
    replaced by ``body``."""
    pat = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    return pat.sub(lambda m: m.group(1) + body.rstrip() + "\n" + m.group(2), text)


def screenshot(page: Path, png: Path, width: int = 390, height: int = 1100) -> None:
    """Photograph ``page`` at ``width`` x ``height`` CSS pixels into ``png``."""
    chromium = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={tmp}",
                f"--window-size={width},{height}",
                f"--screenshot={png}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
