"""One function per command: check what the arguments name, call the library, report."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from pathlib import Path

from ._common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    _check_not_after,
    _check_out_folder,
    _err,
    _extract_date,
    _Progress,
    _read,
    _say,
)

logger = logging.getLogger("send_early.cli")


def cmd_validate(args: argparse.Namespace) -> int:
    from ..schema import validate

    tables = _read(args)  # manifest.json (or --extract-date) first, then the tables
    report = validate(tables)
    _say(report.to_json() if args.json else report.to_text())
    return EXIT_OK if report.ok else EXIT_BAD_INPUT


def cmd_synth(args: argparse.Namespace) -> int:
    from ..datasets import make_cohort
    from ..schema import write_tables

    t0 = time.perf_counter()
    kwargs = {"random_state": args.seed}
    if args.extract_date is not None:
        kwargs["extract_date"] = args.extract_date
    tables = make_cohort(args.children, **kwargs)
    write_tables(tables, args.out, format=args.format)
    _say(
        f"Wrote a synthetic cohort of {args.children:,} children to {args.out} "
        f"({args.format}, seed {args.seed}, extract date {tables.extract_date.date()}) "
        f"in {time.perf_counter() - t0:.1f} s."
    )
    for name, df in tables.items():
        _say(f"  {name:15s} {len(df):>12,} rows")
    return EXIT_OK


@contextlib.contextmanager
def _scoring_log_shown_by_cli(verbose: bool):
    """The CLI prints the scoring warnings and drift lines itself: not twice through logging."""
    log = logging.getLogger("send_early.batch._score")
    level = log.level
    if not verbose:
        log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def cmd_score(args: argparse.Namespace) -> int:
    from ..batch import check_outputs, load_any_model, score, write_run

    try:  # before anything is read: a bad path would lose the whole run at the end
        check_outputs(args.out, args.rejects, names=("--out", "--rejects"))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    extract = _extract_date(args)
    _check_not_after("--as-of", [args.as_of], extract)
    out = args.out
    rejects_path = Path(args.rejects) if args.rejects else out.with_name(out.stem + "_rejects.csv")
    model = load_any_model(args.model, tracking_uri=args.tracking_uri)
    tables = _read(args)
    bar = _Progress("scoring")
    try:
        with _scoring_log_shown_by_cli(args.verbose):
            res = score(
                model,
                tables,
                args.as_of,
                capacity=args.capacity,
                tracking_uri=args.tracking_uri,
                progress=bar,
                engine=args.engine,
            )
    finally:
        bar.close()
    source = {"model": {**res.metadata["model"], "source": args.model}}
    try:  # scores, rejects and the run record, published together (the record last)
        run_path = write_run(res, out, rejects_path, record=source)
    except OSError as exc:
        _err(f"could not write the outputs: {exc}")
        return EXIT_BAD_INPUT
    _record_for_monitoring(run_path, args.tracking_uri)
    c = res.counts
    _say(
        f"Scored {c['scored']:,} of {c['input_children']:,} children at {args.as_of.date()} "
        f"({c['flagged']:,} flagged for a person to review)."
    )
    _say(
        f"Rejected {c['rejected']:,}: {c['rejected_contract']:,} with records that break the data contract, "
        f"{c['rejected_not_in_population']:,} not in the population (already identified, moved out, out of age range)."
    )
    if c.get("orphan_records"):
        _say(f"Set aside {c['orphan_records']:,} records whose child_id is not in children.")
    _say(f"Scores:  {out}\nRejects: {rejects_path}\nRun:     {run_path}")
    if res.drift is not None:
        bad = res.drift[res.drift["status"].isin(["warn", "alert"])]
        for _, r in bad.iterrows():
            _say(f"Drift {r['status']}: {r['name']} PSI {r['psi']:.3f}")
    nothing = [w["message"] for w in res.metadata["warnings"] if w["kind"] == "nothing_to_score"]
    for text in res.warnings:
        if text not in nothing:
            _err(f"warning: {text}")
    if nothing:
        _err(nothing[0])
        return EXIT_BAD_INPUT
    share = c["rejected_contract"] / max(c["input_children"], 1)
    if share > args.max_reject_share:
        _err(
            f"{share:.1%} of children were rejected for contract errors (limit {args.max_reject_share:.0%}); "
            "see the rejects file and fix the extract."
        )
        return EXIT_BAD_INPUT
    return EXIT_OK


def _record_for_monitoring(run_path: Path, tracking_uri) -> None:
    """Put a published run on record in the store, for `send-early monitor NAME`."""
    from ..monitor import record_run

    try:
        record_run(run_path, store=tracking_uri)
    except FileNotFoundError:  # no store: the run stands, monitoring names it with --runs
        return
    except (OSError, ValueError) as exc:
        _err(f"note: the run is published but not on record for monitoring: {exc}")


def _stages():
    """Stage lines on stderr with the time since the command started (library calls back)."""
    t0 = time.perf_counter()

    def step(msg: str) -> None:
        print(f"  [{time.perf_counter() - t0:4.0f} s] {msg}", file=sys.stderr, flush=True)

    return step


def _say_failed_checks(card) -> None:
    """One line per failed card check: its name, the value shown, the rule and why."""
    if card is None:
        return
    failed = [c for c in card.checks if c.get("passed") is False]
    if failed:
        _say(f"Model card checks failed ({len(failed)} of {len(card.checks)}):")
    for c in failed:
        _say(
            f"  {c['name']}: {c.get('value_text', 'n/a')}, must be {c.get('rule', '?')}. "
            f"{c.get('detail', '')}".rstrip()
        )


def _check_store_for_register(args: argparse.Namespace) -> None:
    """Before any table is read: the store ``--register`` writes to exists (or ``--init``
    creates it) and can be written."""
    if args.init and not args.register:
        raise UsageError("--init creates the model store for --register NAME; give both.")
    if args.register:
        from ..registry import open_store

        open_store(args.tracking_uri, create=args.init, write=True)


def cmd_train(args: argparse.Namespace) -> int:
    from ..model import RiskModel
    from ..workflow import train_model

    extract = _extract_date(args)
    _check_not_after("--as-of-dates", args.as_of_dates or [], extract)
    RiskModel.from_spec(args.model_spec)  # a wrong spec is reported before any table is read
    _check_store_for_register(args)
    step = _stages()
    step(f"reading {args.dir}")
    tables = _read(args)
    res = train_model(
        tables,
        args.model_spec,
        args.as_of_dates,
        out_dir=args.out,
        register=args.register,
        tracking_uri=args.tracking_uri,
        backtest=not args.no_backtest,
        progress=step,
    )
    step("done")
    run = res.run
    _say(run.headline_table().to_string(index=False))
    _say_failed_checks(run.card)
    _say(f"Model saved to {Path(args.out) / 'model'}")
    if run.card is not None:
        _say(f"Model card: {run.card.html_path}")
    if res.logged is not None:
        _say(str(res.logged))
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ..batch import load_any_model
    from ..workflow import evaluate_model

    extract = _extract_date(args)
    _check_not_after("--as-of", [args.as_of], extract)
    model = load_any_model(args.model, tracking_uri=args.tracking_uri)
    tables = _read(args)
    run = evaluate_model(
        model,
        tables,
        args.as_of,
        out_dir=args.out,
        backtest=not args.no_backtest,
        progress=_stages(),
    )
    _say(
        f"Evaluation at {run.as_of.date()} ({run.counts['evaluated']:,} children with a complete label window; "
        f"{run.counts['censored']:,} censored)."
    )
    _say(run.headline_table().to_string(index=False))
    _say_failed_checks(run.card)
    _say(f"Model card: {run.card.html_path}\n            {run.card.json_path}")
    return EXIT_OK


def cmd_review(args: argparse.Namespace) -> int:
    from ..registry import review_summary

    summary = review_summary(
        args.name, args.version, tracking_uri=args.tracking_uri, candidate=True
    )
    _say(str(summary))
    return EXIT_OK


def cmd_versions(args: argparse.Namespace) -> int:
    from ..registry import candidates_name, list_decisions, list_versions

    table = list_versions(args.name, tracking_uri=args.tracking_uri)
    if args.json:  # the production versions (what scores), as before candidates existed
        _say(table.to_json(orient="records", date_format="iso", indent=2))
        return EXIT_OK
    cands = list_versions(args.name, tracking_uri=args.tracking_uri, candidates=True)
    log = list_decisions(args.name, tracking_uri=args.tracking_uri)
    sections = (
        (f"{args.name}: production versions (only these score)", table),
        (f"{candidates_name(args.name)}: candidates (score only once promoted)", cands),
    )
    for title, frame in sections:
        _say(title)
        if frame.empty:
            _say("  none")
            continue
        shown = frame.astype({"created": "str", "approved_at": "str"}, errors="ignore")
        _say(shown.to_string(index=False))
    _say("Decision log (also on the registered model's page in the MLflow UI)")
    if log.empty:
        _say("  none")
    else:
        _say(log.to_string(index=False))
    return EXIT_OK


def _decide(decision, args: argparse.Namespace, *version, **extra) -> int:
    """Run one registry decision (promote, rollback, demote) with the common options."""
    result = decision(
        args.name,
        *version,
        alias=args.alias,
        reviewer=args.reviewer,
        note=args.note,
        tracking_uri=args.tracking_uri,
        **extra,
    )
    _say(str(result))
    return EXIT_OK


def cmd_promote(args: argparse.Namespace) -> int:
    from ..registry import promote

    if args.force and not args.reason:
        _err("--force needs --reason: say why the failed checks are acceptable.")
        return EXIT_USAGE
    return _decide(promote, args, args.version, force=args.force, force_reason=args.reason)


def cmd_rollback(args: argparse.Namespace) -> int:
    from ..registry import rollback

    return _decide(rollback, args, args.version)


def cmd_demote(args: argparse.Namespace) -> int:
    from ..registry import demote

    return _decide(demote, args)


def cmd_registry(args: argparse.Namespace) -> int:
    from ..registry import grant_role, revoke_user, setup_registry

    if args.registry_command == "setup":
        done = setup_registry(args.name, tracking_uri=args.tracking_uri)
        _say(
            f"Set up {done['name']} (production: reviewers change it) and {done['candidates']} "
            f"(analysts register candidates) on {done['tracking_uri']}; runs go to experiment "
            f"{done['experiment_id']}. Next: send-early registry grant USER analyst|reviewer."
        )
    elif args.registry_command == "grant":
        names = grant_role(args.user, args.role, tracking_uri=args.tracking_uri, models=args.model)
        _say(f"{args.user} is now {args.role} of {', '.join(names)}.")
    else:
        names = revoke_user(args.user, tracking_uri=args.tracking_uri, models=args.model)
        _say(f"{args.user} holds no role on {', '.join(names)} (default permission remains).")
    return EXIT_OK


def _server_refusal(exc: Exception) -> str | None:
    """One line for a registry server's 401 or 403 that escaped the library's own mapping."""
    code = getattr(exc, "error_code", None)
    if code == "UNAUTHENTICATED":
        return (
            "the registry server did not accept your credentials (401): check "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or ~/.mlflow/credentials."
        )
    if code == "PERMISSION_DENIED":
        user = os.environ.get("MLFLOW_TRACKING_USERNAME") or "(credentials file)"
        return (
            f"user {user!r} lacks the permission this needs on the registry server (403): "
            "ask a registry admin (send-early registry grant USER analyst|reviewer)."
        )
    return None


def cmd_serve(args: argparse.Namespace) -> int:
    from ..registry import serve

    _err(f"serving {args.model} on http://{args.host}:{args.port} (Ctrl-C stops)")
    serve(args.model, host=args.host, port=args.port, tracking_uri=args.tracking_uri)
    return EXIT_OK


def cmd_lists(args: argparse.Namespace) -> int:
    from ..batch import load_any_model, score
    from ..lists import write_lists

    _check_out_folder(args.out, " for the lists")
    extract = _extract_date(args)
    _check_not_after("--as-of", [args.as_of], extract)
    model = load_any_model(args.model, tracking_uri=args.tracking_uri)
    tables = _read(args)
    with _scoring_log_shown_by_cli(args.verbose):
        res = score(model, tables, args.as_of, capacity=args.capacity, tracking_uri=None)
    lists = write_lists(res, args.out, audience=args.audience, tables=tables, model=model)
    n = int((lists.settings["flagged"] > 0).sum())
    _say(
        f"Wrote {n:,} lists ({res.counts['flagged']:,} flagged children, {args.audience} "
        f"audience) and the cover {args.out / 'index.html'}."
    )
    for text in res.warnings:
        _err(f"warning: {text}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from ..demo import run_demo

    with _scoring_log_shown_by_cli(args.verbose):
        return run_demo(
            out=Path(args.out),
            n_children=args.children,
            seed=args.seed,
            tracking_uri=args.tracking_uri,
            say=_say,
        )


# -- parser -----------------------------------------------------------------------------------
