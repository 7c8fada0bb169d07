"""Scoring speed: prepared features for 1,000,000 children, and the batch job on 200,000.

1. ``RiskModel.score_features`` (risk, rank, flag and three reasons) on 1,000,000 rows of
   prepared features, against the bare estimator's ``predict_proba`` on the same rows in the
   same run (target: under 10 s and within 3x).
2. ``send-early score`` end to end from contract tables (Parquet) for a 200,000-child cohort:
   reading, validation, rejects, features, scores, reasons, drift and atomic writes
   (target: under 60 s).

Run: ``python bench/bench_scoring.py``; writes bench/results_scoring.md.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from send_early import RiskModel, write_tables
from send_early.datasets import make_cohort

OUT = Path(__file__).with_name("results_scoring.md")


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    train = make_cohort(20_000, random_state=1)
    model = RiskModel.from_spec("default").fit(train)
    feats = model.build_features(train, "2023-08-31")
    reps = int(np.ceil(1_000_000 / len(feats)))
    f1m = pd.concat([feats] * reps).iloc[:1_000_000]
    f1m.index = pd.Index([f"x{i:07d}" for i in range(len(f1m))], name="child_id")
    X = f1m[model.feature_names_]
    _, t_bare = timed(lambda: model.estimator_.predict_proba(X))
    out, t_score = timed(lambda: model.score_features(f1m))
    assert len(out) == 1_000_000

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cohort, t_gen = timed(lambda: make_cohort(200_000, random_state=2))
        write_tables(cohort, tmp / "cohort")
        n_rows = sum(len(df) for df in cohort.values())
        del cohort
        model.save(tmp / "model")
        cmd = [
            sys.executable,
            "-m",
            "send_early",
            "score",
            str(tmp / "cohort"),
            "--model",
            str(tmp / "model"),
            "--as-of",
            "2025-08-31",
            "--out",
            str(tmp / "scores.parquet"),
        ]
        proc, t_e2e = timed(
            lambda: subprocess.run(cmd, capture_output=True, text=True, check=False)
        )
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
        summary = proc.stdout.strip().splitlines()[0]

    lines = [
        "# Scoring benchmark",
        "",
        f"Machine: {platform.machine()}, 2 cores. Model: the default spec fitted on a 20,000-child synthetic cohort.",
        "",
        "| step | rows | time (s) | vs baseline |",
        "|---|---|---|---|",
        f"| baseline: bare estimator `predict_proba` | 1,000,000 | {t_bare:.2f} | 1.0x |",
        f"| `RiskModel.score_features` (risk, rank, flag, 3 reasons) | 1,000,000 | {t_score:.2f} | {t_score / t_bare:.1f}x |",
        f"| `send-early score` end to end (Parquet in and out) | 200,000 children, {n_rows:,} records | {t_e2e:.1f} | |",
        "",
        f'The end-to-end run printed: "{summary}" (generating the cohort took {t_gen:.1f} s, not counted).',
    ]
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
