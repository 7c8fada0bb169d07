"""``send-early demo``: the whole workflow on a synthetic cohort, end to end."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

__all__ = ["run_demo", "cohort_summary"]


def cohort_summary(tables) -> pd.DataFrame:
    """Counts a council lead checks first: rows per table and identified SEN at the last census.

    Aggregates only; no child-level rows.
    """
    rows = [{"item": f"{name} rows", "value": f"{len(df):,}"} for name, df in tables.items()]
    census = tables.get("census")
    if census is not None and len(census):
        last = census["census_date"].max()
        c = census[census["census_date"] == last]
        shares = c["sen_provision"].value_counts(normalize=True)
        rows.append({"item": f"pupils at census {last.date()}", "value": f"{len(c):,}"})
        for code, label in (("K", "SEN support (K)"), ("E", "EHC plan (E)")):
            rows.append({"item": label, "value": f"{shares.get(code, 0.0):.1%}"})
    return pd.DataFrame(rows)


def run_demo(out: Path, n_children: int = 20_000, seed: int = 0, tracking_uri: str | None = None,
             say: Callable[..., None] = print) -> int:
    """Generate, validate and summarise a synthetic cohort; later stages train, register and score.

    Returns the process exit code (0 when every step worked).
    """
    from .datasets import make_cohort
    from .schema import read_tables, validate, write_tables

    t0 = time.perf_counter()
    out = Path(out).absolute()
    cohort_dir = out / "cohort"
    say(f"[1/3] Generating a synthetic cohort of {n_children:,} children (seed {seed}) ...")
    write_tables(make_cohort(n_children, random_state=seed), cohort_dir)
    say(f"      written to {cohort_dir}")
    say("[2/3] Validating it against the data contract ...")
    tables = read_tables(cohort_dir)
    report = validate(tables)
    say("      " + report.to_text().replace("\n", "\n      "))
    if not report.ok:
        return 1
    say("[3/3] Cohort summary (aggregates only):")
    say(cohort_summary(tables).to_string(index=False))
    say(f"Done in {time.perf_counter() - t0:.1f} s. Synthetic data only: no real child is in it.")
    return 0
