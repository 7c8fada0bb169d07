"""Benchmark the synthetic cohort generator: time and peak memory at 10k, 100k and 1M children.

Each size runs in its own subprocess so that peak RSS (``resource.getrusage``) belongs to that
size alone. The baseline, measured in the same run and subprocess, is the time to draw as many
plain uniform random numbers as the generated tables have cells (rows x columns, all tables):
the cost of "just random columns" of the same size. Results go to ``bench/results_synth.md``.

Usage: ``python bench/bench_synth.py [--sizes 10000 100000 1000000] [--out bench/results_synth.md]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
import numpy as np
import pandas  # noqa: F401  (import cost not timed)
from send_early.datasets import make_cohort

n = int(sys.argv[1])
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
tables = make_cohort(n, random_state=0)
t_gen = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rows = {k: len(v) for k, v in tables.items()}
cells = sum(len(v) * v.shape[1] for v in tables.values())
del tables
rng = np.random.default_rng(0)
t0 = time.perf_counter()
chunk = 10_000_000
left = cells
while left > 0:
    rng.random(min(chunk, left))
    left -= chunk
t_base = time.perf_counter() - t0
print(json.dumps({"n": n, "seconds": t_gen, "baseline_seconds": t_base, "peak_rss_mb": rss / 1024,
                  "rss_after_import_mb": rss0 / 1024, "rows": rows, "cells": cells}))
"""


def run(n: int) -> dict:
    load0 = os.getloadavg()[0]
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(n)], check=True, capture_output=True, text=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # the machine may be shared: the 1-minute load average before and after each size
    return result | {"load": (load0, os.getloadavg()[0])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--out", default=str(Path(__file__).with_name("results_synth.md")))
    args = ap.parse_args()
    results = []
    for n in args.sizes:
        r = run(n)
        results.append(r)
        print(
            f"{n:>9,} children: {r['seconds']:.1f} s, peak RSS {r['peak_rss_mb']:.0f} MB",
            file=sys.stderr,
        )
    lines = [
        "# Synthetic cohort generator: time and memory",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. "
        "One subprocess per size; `make_cohort(n, random_state=0)` with default arguments "
        "(births every day from 2004-09-01 to the extract date 2025-08-31, one council). "
        f"Load average: the 1-minute value before and after each size, on {os.cpu_count()} cores; "
        "above the core count the machine was shared and the times are upper bounds.",
        "",
        "Baseline (same subprocess, same run): drawing as many uniform random numbers "
        "(`rng.random`) as the generated tables have cells. Peak RSS is the subprocess maximum "
        "(`resource.getrusage`), including the interpreter with numpy/pandas imported "
        "(shown as 'after import').",
        "",
        "| children | rows (all tables) | time (s) | baseline (s) | time / baseline | peak RSS (MB) | after import (MB) | load average | target |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    targets = {100_000: "< 30 s", 1_000_000: "< 300 s, < 8 GB"}
    for r in results:
        rows = sum(r["rows"].values())
        lines.append(
            f"| {r['n']:,} | {rows:,} | {r['seconds']:.1f} | {r['baseline_seconds']:.2f} | "
            f"{r['seconds'] / r['baseline_seconds']:.0f}x | {r['peak_rss_mb']:.0f} | {r['rss_after_import_mb']:.0f} | "
            f"{r['load'][0]:.1f} -> {r['load'][1]:.1f} | {targets.get(r['n'], '')} |"
        )
    big = results[-1]
    lines += ["", f"Rows per table at {big['n']:,} children:", ""]
    lines += ["| table | rows |", "|---|---:|"] + [
        f"| {k} | {v:,} |" for k, v in big["rows"].items()
    ]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
