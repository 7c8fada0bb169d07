"""Fill the figures of docs/monitoring.md and make its screenshot, from code, on a synthetic cohort.

Fits the default model on ``make_cohort(20000, random_state=0)`` (the demo's cohort), scores the
children at two as-of dates a term apart, publishes both runs, simulates an outcome log for the
first run's flags (a flagged child identified later has "SEN support started" at that date, the
others "reviewed" or "no action"; simulated, and said so), builds the monitoring report with the
extract's sen_events as the labels that arrived, and photographs it in headless Chromium at phone
width (``docs/img/monitor_phone.png``). Aggregates only reach the page.

Run from the repository root: ``python docs/scripts/make_monitoring_page.py``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from _pages import DOCS, demo_model, fill, screenshot

from send_early import score
from send_early.batch import write_run
from send_early.monitor import monitor_report
from send_early.outcomes import read_outcomes, record_outcomes

AS_OF = ("2023-01-15", "2023-09-01")


def simulated_outcomes(run, tables) -> pd.DataFrame:
    """What a council might record for one run's flags (simulated from the cohort)."""
    s = run.scores[run.scores["flagged"]]
    ev = tables["sen_events"]
    ev = ev[pd.to_datetime(ev["event_date"]) > pd.Timestamp(run.metadata["as_of"])]
    first = ev.groupby("child_id")["event_date"].min()
    when = pd.to_datetime(s["child_id"].map(first))
    rng = np.random.default_rng(0)
    later = pd.Timestamp(run.metadata["as_of"]) + pd.Timedelta(days=45)
    other = rng.choice(
        ["reviewed", "no_action", "referred", "declined"], len(s), p=[0.5, 0.3, 0.15, 0.05]
    )
    return pd.DataFrame(
        {
            "child_id": s["child_id"].to_numpy(),
            "model_name": "send_early_any_support_24m",
            "model_version": "1",
            "as_of": run.metadata["as_of"],
            "outcome": np.where(when.notna(), "sen_support_started", other),
            "outcome_date": when.fillna(later).dt.strftime("%Y-%m-%d").to_numpy(),
        }
    )


def main() -> None:
    tables, model = demo_model()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        runs = []
        for as_of in AS_OF:
            res = score(model, tables, as_of, model_version="1")
            runs.append(write_run(res, tmp / f"scores_{as_of}.csv"))
        log = tmp / "outcomes.sqlite"
        first = __import__("send_early.batch", fromlist=["read_run"]).read_run(runs[0])
        record_outcomes(simulated_outcomes(first, tables), log=log)
        report = monitor_report(runs, tables=tables, outcomes=read_outcomes(log=log))
        report.write(tmp / "monitor")
        screenshot(
            tmp / "monitor" / "monitor.html", DOCS / "img" / "monitor_phone.png", height=1500
        )
    d = report.to_dict()
    s = d["stability"][0]
    lines = [
        f"- Flag stability {s['from']} to {s['to']}: {s['kept_share']:.1%} of the first run's "
        f"flags still scored were flagged again ({s['kept']} kept, {s['dropped']} dropped, "
        f"{s['gone']} gone, {s['new']} new).",
    ]
    for r in d["labels"]:
        lines.append(
            f"- {r['run']}: labels until {r['labels_until']} ({r['months_elapsed']} months, "
            f"complete: {'yes' if r['complete'] else 'no'}): precision {r['precision']:.1%}, "
            f"recall {r['recall']:.1%}."
        )
    lines.append(f"- Drift rows: {len(d['drift'])}; alerts: {len(d['alerts'])}.")
    for r in report.runs:
        alerts = sorted(a["name"] for a in d["alerts"] if a["run"] == r["run"])
        lines.append(f"  - alerts in {r['run']}: {', '.join(alerts) or 'none'}.")
    fc = pd.DataFrame(d["forecast"])
    fc = fc[fc["by"] == "term"]
    for (measure, phase), part in fc.groupby(["measure", "phase"], sort=False):
        if part["expected"].isna().any():
            lines.append(f"- Next year, {measure}, {phase}: hidden (fewer than 10 children).")
            continue
        terms = ", ".join(
            f"{g} {e:.0f} ({lo:.0f} to {hi:.0f})"
            for g, e, lo, hi in part[["group", "expected", "low", "high"]].itertuples(index=False)
        )
        lines.append(f"- Next year, {measure}, {phase}: {part['expected'].sum():.0f} ({terms}).")
    page = DOCS / "monitoring.md"
    page.write_text(fill(page.read_text(), "figures", "\n".join(lines)))


if __name__ == "__main__":
    main()
