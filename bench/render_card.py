"""Render an example model card (simulated numbers) in headless Chromium at phone width.

Builds the card from ``send_early.report._example.example_inputs`` in a temporary
folder, checks the page loads nothing from the network, and writes a screenshot.

    apt-get update && apt-get install -y chromium
    python bench/render_card.py                      # -> docs/model_card_example.png
    python bench/render_card.py --height 9000 --out /tmp/full.png   # whole page

It also times building the card (``--time``) and prints the figures.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(
    html: Path, png: Path, *, width: int = 420, height: int = 2400, timeout: float = 120.0
) -> subprocess.CompletedProcess:
    """Screenshot ``html`` with headless Chromium (no network, throwaway profile)."""
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("chromium not found: apt-get update && apt-get install -y chromium")
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        cmd = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--screenshot={png}",
            f"--window-size={width},{height}",
            html.resolve().as_uri(),
        ]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "model_card_example.png")
    ap.add_argument("--width", type=int, default=420)
    ap.add_argument("--height", type=int, default=2400)
    ap.add_argument("--time", action="store_true", help="time building the card")
    args = ap.parse_args(argv)

    from send_early.report import build_model_card
    from send_early.report._example import example_inputs

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        kw = example_inputs()
        kw.pop("ids")
        t1 = time.perf_counter()
        card = build_model_card(out_dir=tmp, **kw)
        t2 = time.perf_counter()
        text = card.html_path.read_text(encoding="utf-8")
        external = [
            s for s in ("http://", "https://", "<script", "<link", "@import", "url(") if s in text
        ]
        if external:
            print(f"FAIL: the card references external resources: {external}")
            return 1
        res = screenshot(card.html_path, args.out, width=args.width, height=args.height)
        if res.returncode != 0 or not args.out.is_file():
            print(res.stderr[-2000:])
            return 1
        print(f"screenshot: {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")
        print(
            f"card: html {card.html_path.stat().st_size / 1024:.0f} KiB, "
            f"json {card.json_path.stat().st_size / 1024:.0f} KiB, passed={card.passed}"
        )
        if args.time:
            print(f"simulated inputs (Evaluation, GroupAudit, backtest): {t1 - t0:.2f} s")
            print(f"build_model_card (JSON + HTML + plots): {t2 - t1:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
