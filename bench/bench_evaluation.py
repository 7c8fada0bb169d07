"""Benchmark evaluation and group-audit code on simulated arrays (no real children).

Run: python bench/bench_evaluation.py [n]   (default n = 1_000_000)
Writes bench/results_evaluation.md. Baseline: sklearn.metrics.roc_auc_score on the
same arrays, measured in the same run.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from send_early.evaluation import Evaluation, capacity_curve, capacity_metrics, flag_top_k
from send_early.fairness import GroupAudit


def timed(fn, repeat=3):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(n: int) -> str:
    rng = np.random.default_rng(0)
    risk = np.round(rng.beta(1, 12, n), 4)  # rounded: many ties, as in real scores
    y = (rng.random(n) < risk).astype(np.int8)
    ids = np.char.add("c", np.arange(n).astype(str))
    groups = pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], n),
            "ethnicity": rng.choice(list("ABCDEFG"), n),
            "fsm": rng.choice(["FSM", "not FSM"], n),
            "eal": rng.choice(["EAL", "not EAL"], n),
            "imd_quintile": rng.choice(["Q1", "Q2", "Q3", "Q4", "Q5"], n),
            "summer_born": rng.choice(["yes", "no"], n),
        }
    )
    flagged = flag_top_k(risk, share=0.05)
    rows = [
        ("sklearn roc_auc_score (baseline)", timed(lambda: roc_auc_score(y, risk))),
        ("capacity_metrics, k=5%", timed(lambda: capacity_metrics(y, risk, share=0.05))),
        (
            "capacity_metrics, k=5%, child_id tiebreak",
            timed(lambda: capacity_metrics(y, risk, share=0.05, tiebreak=ids), repeat=1),
        ),
        ("capacity_curve, 100 capacities", timed(lambda: capacity_curve(y, risk))),
        (
            "Evaluation (all headline metrics)",
            timed(lambda: Evaluation(y_true=y, risk=risk), repeat=1),
        ),
        (
            "GroupAudit, 6 features, 200 bootstrap",
            timed(
                lambda: GroupAudit(
                    y_true=y, risk=risk, flagged=flagged, sensitive_features=groups, random_state=0
                ),
                repeat=1,
            ),
        ),
    ]
    base = rows[0][1]
    lines = [
        f"# Evaluation and group audit benchmark (simulated arrays, n = {n:,})",
        "",
        "Machine: 2 cores. Best of 3 runs (1 run for the slower items). Ratio is against "
        "sklearn's roc_auc_score on the same arrays in the same run.",
        "",
        "| operation | seconds | ratio to roc_auc_score |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {t:.3f} | {t / base:.1f}x |" for name, t in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    text = main(n)
    Path(__file__).with_name("results_evaluation.md").write_text(text)
    print(text)
