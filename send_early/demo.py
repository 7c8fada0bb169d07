"""``send-early demo``: the whole workflow on a synthetic cohort, end to end."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

__all__ = ["run_demo", "cohort_summary", "DEMO_MODEL_NAME"]

DEMO_MODEL_NAME = "send_early_demo"
#: Backtest as-of dates of the demo: test years 2019, 2021 and 2023 (each refit on the years at
#: least two before it), so the card's calibration by year reaches the latest complete label
#: window and shows the growth in identification; the same five feature dates as the default
#: schedule (the model's 2016-2020 training dates) and one more refit.
DEMO_BACKTEST_DATES = ("2016-09-01", "2017-09-01", "2019-09-01", "2021-09-01", "2023-08-31")


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


def run_demo(
    out: Path,
    n_children: int = 20_000,
    seed: int = 0,
    tracking_uri: str | None = None,
    say: Callable[..., None] = print,
) -> int:
    """Generate, validate, train, evaluate, register, promote and score, on synthetic data.

    Everything is written under ``out`` (cohort, model, card, scores); the model
    is registered in the embedded MLflow store (``./send_early_store`` or
    ``$SEND_EARLY_STORE``) unless ``tracking_uri`` names another. Returns the
    process exit code (0 when every step worked).
    """
    from .batch import score, write_run
    from .datasets import make_cohort
    from .registry import list_versions, promote, review_summary
    from .schema import read_tables, validate, write_tables
    from .workflow import train_model

    t0 = time.perf_counter()
    out = Path(out).absolute()
    cohort_dir = out / "cohort"

    def step(i: int, text: str) -> None:
        say(f"[{i}/9] {text}  ({time.perf_counter() - t0:.0f} s)")

    step(
        1,
        f"Generating a synthetic cohort of {n_children:,} children (seed {seed}); no real child is in it",
    )
    tables, truth = make_cohort(n_children, random_state=seed, return_truth=True)
    write_tables(tables, cohort_dir)
    say(f"      written to {cohort_dir}")

    step(2, "Validating it against the data contract")
    tables = read_tables(cohort_dir)
    report = validate(tables)
    say("      " + report.to_text().replace("\n", "\n      "))
    if not report.ok:
        return 1
    say(cohort_summary(tables).to_string(index=False))

    step(3, "Training, calibrating and evaluating (temporal backtest, fairness audit, model card)")
    res = train_model(
        tables,
        "default",
        out_dir=out / "model_card",
        register=DEMO_MODEL_NAME,
        tracking_uri=tracking_uri,
        truth=truth,
        backtest_dates=DEMO_BACKTEST_DATES,
        progress=lambda s: say(f"      - {s}"),
    )
    run = res.run
    say(run.headline_table().to_string(index=False))
    logged = res.logged

    step(4, f"Registered in MLflow as candidate {logged.registered_as} version {logged.version}")
    say(f"      run {logged.run_id}; artifact SHA-256 {logged.artifact_sha256[:16]}...")

    step(5, "Reviewer summary (what `send-early review` prints)")
    summary = str(review_summary(logged.registered_as, logged.version, tracking_uri=tracking_uri))
    checks = (
        summary[summary.find("Model card checks") :] if "Model card checks" in summary else summary
    )
    say("      " + checks.replace("\n", "\n      "))

    step(6, "Promoting to 'champion' as the demo reviewer")
    passed = run.card is not None and run.card.passed
    promotion = promote(
        logged.name,
        logged.version,
        alias="champion",
        reviewer="demo-reviewer",
        note="Demo on a synthetic cohort; a real promotion needs the manual checklist (DPIA, EIA) too.",
        force=not passed,
        force_reason=None
        if passed
        else "demo only: card checks failed on synthetic data; never do this for real",
        tracking_uri=tracking_uri,
    )
    say("      " + str(promotion).replace("\n", "\n      "))
    versions = list_versions(logged.name, tracking_uri=tracking_uri)
    cols = ["version", "aliases", "status", "checks_passed", "checks_failed", "reviewer", "forced"]
    say(f"      Versions (some columns of `send-early versions {logged.name}`):")
    say("      " + versions[cols].to_string(index=False).replace("\n", "\n      "))

    as_of = tables.extract_date
    step(7, f"Scoring the current cohort at {as_of.date()} with models:/{logged.name}@champion")
    result = score(f"models:/{logged.name}@champion", tables, as_of, tracking_uri=tracking_uri)
    scores_path = out / "scores.csv"
    rejects_path = out / "rejects.csv"
    # one unit, as `send-early score` publishes it: the run record (scores_run.json) is
    # written last and names both files with their SHA-256 (send_early.batch.read_run)
    run_path = write_run(result, scores_path, rejects_path)
    c = result.counts
    say(
        f"      {c['input_children']:,} children: {c['scored']:,} scored ({c['flagged']:,} flagged for review), "
        f"{c['rejected']:,} not scored ({c['rejected_not_in_population']:,} already identified, moved out "
        f"or out of age range; {c['rejected_contract']:,} with contract errors)."
    )
    for text in result.warnings:  # also in scores_run.json, as `send-early score` records them
        say(f"      warning: {text}")

    step(8, "Writing a work list per setting (school audience) and the SEND team's cover page")
    from .lists import write_lists
    from .registry import load_model

    model = load_model(f"models:/{logged.name}@champion", tracking_uri=tracking_uri)
    lists_dir = out / "lists"
    lists = write_lists(result, lists_dir, audience="school", tables=tables, model=model)
    say(
        f"      {len(lists.children):,} flagged children on the lists of "
        f"{int((lists.settings['flagged'] > 0).sum())} settings"
    )
    step(9, "Monitoring across two terms: the term before, scored too, and the report")
    from .monitor import monitor_report

    before = score(
        f"models:/{logged.name}@champion",
        tables,
        as_of - pd.DateOffset(months=4),
        tracking_uri=tracking_uri,
    )
    before_path = write_run(before, out / "scores_term_before.csv", out / "rejects_term_before.csv")
    report = monitor_report([before_path, run_path], name=logged.name, tables=tables)
    monitor_dir = out / "monitor"
    report.write(monitor_dir)
    say(f"      {len(report.alerts)} drift alert(s); next year's forecast in the report")
    say("")
    say(f"Model card:  {run.card.html_path}")
    say(f"Scores:      {scores_path}")
    say(f"Rejects:     {rejects_path}")
    say(f"Run record:  {run_path}")
    say(f"Work lists:  {lists_dir / 'index.html'}")
    say(f"Monitoring:  {monitor_dir / 'monitor.html'}")
    say(
        f"MLflow UI:   MLFLOW_DISABLE_TELEMETRY=true mlflow ui --backend-store-uri {res.logged.tracking_uri}"
    )
    say(
        f"Done in {time.perf_counter() - t0:.0f} s. A score is decision support for a person, never a decision."
    )
    return 0
