"""Scoring speed: prepared features for 1,000,000 children, and the batch job on 200,000.

1. ``RiskModel.score_features`` (risk, rank, flag and three reasons) on 1,000,000 rows of
   prepared features, against the bare estimator's ``predict_proba`` on the same rows in the
   same run (target: under 10 s and within 3x).
2. ``send-early score`` end to end from contract tables (Parquet) for a 200,000-child cohort:
   reading, validation, rejects, features, scores, reasons, drift and the published run
   (target: under 60 s).
3. ``send_early.score`` on the same 200,000 children in memory, against the bare estimator's
   ``predict_proba`` on the features of the children it scores (same run), with the id joins
   (which rows of each table belong to the children scored) timed both ways: pandas ``isin``
   on the string ids, as before, and the integer codes scoring uses now.

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

import send_early
from send_early import RiskModel, write_tables
from send_early.batch._score import _chunk_of_rows
from send_early.datasets import make_cohort

OUT = Path(__file__).with_name("results_scoring.md")


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


AS_OF = "2025-08-31"


def _batch_200k(model, cohort) -> dict:
    """Batch scoring in memory against the bare estimator, and the id joins both ways."""
    res, t_score = timed(lambda: send_early.score(model, cohort, AS_OF))
    feats, t_feats = timed(lambda: model.build_features(cohort, AS_OF))
    assert len(feats) == res.counts["scored"]
    X = feats[model.feature_names_]
    _, t_bare = timed(lambda: model.estimator_.predict_proba(X))
    ids = feats.index.astype(str)
    _, t_isin = timed(lambda: {n: df["child_id"].isin(ids) for n, df in cohort.items()})
    _, t_codes = timed(lambda: _chunk_of_rows(ids, cohort, 250_000))
    return {
        "scored": res.counts["scored"],
        "score": t_score,
        "features": t_feats,
        "bare": t_bare,
        "isin": t_isin,
        "codes": t_codes,
    }


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
        batch = _batch_200k(model, cohort)
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
        f"`send_early.score` on the same 200,000 children in memory (as-of {AS_OF}, "
        f"{batch['scored']:,} scored), against the bare estimator on the features of the "
        "children it scores:",
        "",
        "| step | rows | time (s) | vs baseline |",
        "|---|---|---|---|",
        f"| baseline: bare estimator `predict_proba` | {batch['scored']:,} | {batch['bare']:.2f} | 1.0x |",
        f"| `RiskModel.build_features` (contract checks, population, features) | {batch['scored']:,} | {batch['features']:.2f} | {batch['features'] / batch['bare']:.1f}x |",
        f"| `send_early.score` (contract rejects, population, features, scores, reasons, drift) | 200,000 children | {batch['score']:.2f} | {batch['score'] / batch['bare']:.1f}x |",
        f"| id joins, pandas `isin` on string ids (before) | {n_rows:,} records | {batch['isin']:.2f} | {batch['isin'] / batch['bare']:.1f}x |",
        f"| id joins, integer codes (now) | {n_rows:,} records | {batch['codes']:.2f} | {batch['codes'] / batch['bare']:.1f}x |",
        "",
        f'The end-to-end run printed: "{summary}" (generating the cohort took {t_gen:.1f} s, not counted).',
    ]
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
