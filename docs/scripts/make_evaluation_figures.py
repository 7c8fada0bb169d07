"""Fill the "figures" blocks of docs/evaluation.md and docs/fairness.md from a real run.

Fits the default model on ``make_cohort(20000, random_state=0)`` (the demo's cohort), evaluates
it at 2023-08-31 with the hidden truth, and writes the numbers between the
``<!-- figures:start -->`` and ``<!-- figures:end -->`` markers. Aggregates only; the audit
and the evaluation hide every figure that would reveal 1 to 9 children (send_early.privacy).

Run from the repository root: ``python docs/scripts/make_evaluation_figures.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from send_early import RiskModel
from send_early.datasets import make_cohort
from send_early.workflow import evaluate_model

DOCS = Path(__file__).resolve().parents[1]


def fmt(v, pct=False, nd=3):
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return "suppressed"
    return f"{v:.1%}" if pct else f"{v:.{nd}f}"


def table(df: pd.DataFrame, na: str = "suppressed") -> str:
    out = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]

    def cell(v):
        return na if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else str(v)

    out += ["| " + " | ".join(cell(v) for v in r) + " |" for r in df.itertuples(index=False)]
    return "\n".join(out)


def replace_block(path: Path, text: str) -> None:
    page = path.read_text()
    block = f"<!-- figures:start -->\n{text}\n<!-- figures:end -->"
    if "<!-- figures:start -->" in page:
        page = re.sub(
            r"<!-- figures:start -->.*<!-- figures:end -->", lambda _: block, page, flags=re.S
        )
    else:
        page = page.rstrip() + "\n\n" + block + "\n"
    path.write_text(page)


def main() -> None:
    tables, truth = make_cohort(20_000, random_state=0, return_truth=True)
    model = RiskModel.from_spec("default").fit(tables)
    run = evaluate_model(model, tables, truth=truth, backtest=True)
    ev, audit, bt = run.evaluation, run.audit, run.backtest
    h = ev.headline
    cap = ev.capacity_curve
    cap = cap[cap["k"].isin(cap["k"].iloc[[0, 4, 9, 19, 29]])] if len(cap) >= 30 else cap
    base = ev.baselines.table
    evaluation = [
        "## Figures from a synthetic cohort",
        "",
        "Produced by `docs/scripts/make_evaluation_figures.py`: the default model fitted on the demo's",
        "cohort (`make_cohort(20000, random_state=0)`, as-of dates 2016-2020), evaluated on the children",
        f"at {run.as_of.date()} whose 24-month window ends by the extract date. Synthetic data: these",
        "numbers show what each measure looks like, not how a model performs on a real council's data.",
        "",
        table(
            pd.DataFrame(
                {
                    "measure": [
                        "children",
                        "later identified",
                        "ROC AUC",
                        "average precision",
                        "Brier score",
                        "Brier of the base rate alone",
                        "expected calibration error",
                        "capacity k (top 5%)",
                        "precision at k",
                        "recall at k",
                        "lift at k",
                    ],
                    "value": [
                        f"{h['n']:,}",
                        f"{h['n_positive']:,} ({h['prevalence']:.1%})",
                        fmt(h["roc_auc"]),
                        fmt(h["average_precision"]),
                        fmt(h["brier"], nd=4),
                        fmt(h["prevalence"] * (1 - h["prevalence"]), nd=4),
                        fmt(h["ece"], nd=4),
                        f"{h['k']:,}",
                        fmt(h["precision_at_k"], pct=True),
                        fmt(h["recall_at_k"], pct=True),
                        f"{h['lift_at_k']:.1f}x",
                    ],
                }
            )
        ),
        "",
        "Recall and precision across capacities (the council chooses k):",
        "",
        table(
            pd.DataFrame(
                {
                    "k": cap["k"].map("{:,}".format),
                    "share flagged": cap["flag_rate"].map(lambda v: fmt(v, True)),
                    "precision": cap["precision"].map(lambda v: fmt(v, True)),
                    "recall": cap["recall"].map(lambda v: fmt(v, True)),
                }
            )
        ),
        "",
    ]
    lt = ev.lead_time
    if lt and not lt.get("suppressed"):
        evaluation += [
            f"Lead time: of the flagged children later identified ({lt['n']:,}), the median time from the",
            f"as-of date to identification was {lt['median']:.1f} months (interquartile range {lt['q1']:.1f}",
            f"to {lt['q3']:.1f}).",
            "",
        ]
    cols = [
        c
        for c in (
            "baseline",
            "own_flagged",
            "own_precision",
            "own_recall",
            "k",
            "precision",
            "recall",
        )
        if c in base.columns
    ]
    evaluation += [
        "Baselines at the same k:",
        "",
        table(base[cols].round(3), na="n/a"),
        "",
        ev.baselines.summary,
        "",
    ]
    if bt is not None:
        sp = bt.spread
        evaluation += [
            "Temporal backtest (train on earlier as-of years, two-year gap, test on the next):",
            "",
            table(bt.by_year.round(3).reset_index(drop=True), na="n/a"),
            "",
            f"ROC AUC across test years: mean {sp.loc['roc_auc', 'mean']:.3f}, sd {sp.loc['roc_auc', 'sd']:.3f}.",
            "",
        ]
    replace_block(DOCS / "evaluation.md", "\n".join(evaluation))

    d = audit.disparity
    show = [
        c
        for c in ("feature", "group", "reference", "value", "ratio", "in_band", "suppressed")
        if c in d.columns
    ]
    g = audit.by_group
    gcols = [
        c
        for c in ("feature", "group", "n", "prevalence", "flag_rate", "recall", "fnr", "precision")
        if c in g.columns
    ]
    fairness = [
        "## Figures from a synthetic cohort",
        "",
        "Produced by `docs/scripts/make_evaluation_figures.py` on the demo's synthetic cohort (see",
        "evaluation.md). Synthetic data: the pattern matters, not the values.",
        "",
        "By group (figures that would reveal 1 to 9 children read suppressed or <10):",
        "",
        table(g[gcols].round(3)),
        "",
        "Headline: false negative rate of each group over its reference group (0.8-1.25 band):",
        "",
        table(d[show].round(3)),
        "",
    ]
    rvn = audit.recall_vs_need
    if rvn is not None:
        rcols = [
            c
            for c in ("feature", "group", "n_need", "recall_vs_need", "identified_among_need")
            if c in rvn.columns
        ]
        fairness += [
            "Against the simulated true need (only a synthetic cohort has it): among children with need,",
            "the share flagged and the share ever identified. Where `identified_among_need` is low, the",
            "label hides children, and a model trained on it learns to miss them too.",
            "",
            table(rvn[rcols].round(3)),
            "",
        ]
    replace_block(DOCS / "fairness.md", "\n".join(fairness))
    print("updated docs/evaluation.md and docs/fairness.md")


if __name__ == "__main__":
    main()
