"""The "Outcomes" section of docs/models.md: the escalation and need-area models trained with the
ordinary workflow on a synthetic cohort, with their evaluation and temporal backtest.

Run from the repository root: ``python docs/scripts/outcome_backtests.py [--children N]
[--seed S]`` prints the section; ``make_models_page.py`` includes it. Every number is produced
here; they describe synthetic children only.
"""

from __future__ import annotations

import argparse

from send_early.datasets import make_cohort
from send_early.workflow import train_model

CHILDREN, SEED = 20_000, 0
SPECS = ("escalation", "need_communication")


def _pct(v) -> str:
    return "suppressed" if v is None or v != v else f"{100 * v:.1f}%"


def _num(v) -> str:
    return "suppressed" if v is None or v != v else f"{v:.3f}"


def _rows(name: str, tables) -> tuple[str, str]:
    res = train_model(tables, name, backtest=True)
    spec, run = res.model.spec, res.run
    h = run.evaluation.headline
    sp = run.backtest.spread if run.backtest is not None else None
    bt_auc = bt_rec = "not run"
    if sp is not None and "roc_auc" in sp.index:
        n = int(sp.loc["roc_auc", "n_years"])
        bt_auc = f"{sp.loc['roc_auc', 'mean']:.3f} (sd {sp.loc['roc_auc', 'sd']:.3f}, {n} years)"
        bt_rec = f"{_pct(sp.loc['recall_at_k', 'mean'])} (sd {_pct(sp.loc['recall_at_k', 'sd'])})"
    cap = (
        f"top {spec.capacity_value:.0%}"
        if spec.capacity_policy == "share"
        else str(spec.capacity_value)
    )
    row = (
        f"| `{name}` | `{spec.outcome}` | {spec.horizon_months} | {h['n']:,} | "
        f"{h['n_positive']:,} ({_pct(h['prevalence'])}) | {h['roc_auc']:.3f} | {cap}: "
        f"{_pct(h['recall_at_k'])} | {bt_auc} | {bt_rec} |"
    )
    phases = "; ".join(
        f"{r['phase']}: AUC {_num(r['roc_auc'])}, recall {_pct(r['recall'])}"
        for r in run.by_phase.to_dict()["table"]
    )
    return row, f"- `{name}` at {run.as_of.date()}, by phase: {phases}."


def outcomes_section(children: int = CHILDREN, seed: int = SEED, specs=SPECS) -> str:
    tables = make_cohort(children, random_state=seed)
    rows, phases = zip(*(_rows(name, tables) for name in specs), strict=True)
    return "\n".join(
        [
            "| model spec | outcome | horizon (months) | children evaluated | later identified "
            "| ROC AUC | recall at capacity | backtest ROC AUC | backtest recall at capacity |",
            "|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"Measured on a synthetic cohort, `make_cohort({children:_}, random_state={seed})` "
            "(extract date 2025-08-31), with `train_model` as `send-early train --model-spec` runs "
            "it: the evaluation cohort is the latest as-of date whose whole window lies before the "
            "extract; the backtest refits the estimator for each later training year. These are "
            "honest numbers on simulated data, where the identification process is itself "
            "simulated: they show that the models train and how well they rank simulated "
            "children, not how they would do on a council's records.",
            "",
            *phases,
            "",
            "Recall by phase is hidden where it would let a reader work out a group of 1 to 9 "
            "children (few children under 5 are both flagged and later identified), and then in "
            "the other phase too, as the phases add up to the cohort; the card hides the same.",
        ]
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--children", type=int, default=CHILDREN)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--spec", action="append", help="one spec only (repeatable)")
    a = ap.parse_args()
    print(outcomes_section(a.children, a.seed, tuple(a.spec or SPECS)))
