"""Commands after scoring: record-outcomes (the outcome log), transparency (the ATRS record),
monitor (the report across terms)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import (
    EXIT_OK,
    UsageError,
    _check_out_folder,
    _command,
    _months_arg,
    _out_folder_option,
    _path_option,
    _say,
    _store_option,
    _version_args,
)

__all__ = ["add_outcome_commands"]


def _log_option(s: argparse.ArgumentParser) -> None:
    _path_option(
        s,
        "--log",
        "FILE",
        "the outcome log file (default: outcomes.sqlite in the store folder; needed "
        "for a tracking server)",
    )


def add_outcome_commands(sub) -> None:
    """Add record-outcomes, transparency and monitor to the ``send-early`` subcommands."""
    s = _command(
        sub,
        "record-outcomes",
        cmd_record_outcomes,
        "record what happened after flags (reviewed, no action, SEN support started, "
        "referred, declined, unknown) in the outcome log beside the store",
    )
    s.add_argument(
        "file",
        type=Path,
        help="CSV or Parquet: child_id, model_name, model_version, as_of, outcome, "
        "outcome_date (other columns are ignored)",
    )
    _path_option(
        s,
        "--rejects",
        "FILE",
        "record the valid rows and write the others here (CSV); without it a file "
        "with any problem is refused whole",
    )
    _log_option(s)
    _store_option(s)

    s = _command(
        sub,
        "transparency",
        cmd_transparency,
        "write the Algorithmic Transparency Recording Standard record (tier 1 and 2) "
        "and a DPIA input sheet for a registered version, as JSON and HTML",
    )
    _version_args(s, "the registered model", "its version")
    _out_folder_option(s, "folder for the four files")
    _path_option(
        s,
        "--card",
        "FILE",
        "the version's model card JSON (checked against the SHA-256 registered with "
        "it); without it, the fields it would fill are left for a person",
    )
    _store_option(s)

    s = _command(
        sub,
        "monitor",
        cmd_monitor,
        "an HTML report over the scoring runs on record: flag stability, precision and "
        "recall as labels arrive, calibration by term, drift history",
    )
    s.add_argument("name", help="the model (registered name or model name) whose runs to read")
    s.add_argument(
        "--runs",
        default=None,
        nargs="+",
        type=Path,
        metavar="RUN",
        help="published runs: <out>_run.json manifests or the scores files (runs of other "
        "models are skipped); default: the runs of NAME on record in the store, which "
        "`send-early score` records",
    )
    _out_folder_option(s, "folder for monitor.html and .json")
    _path_option(
        s,
        "--tables",
        "DIR",
        "a later extract: its sen_events give the labels that arrived since each run",
    )
    s.add_argument(
        "--horizon-months",
        type=_months_arg,
        default=24,
        help="the model's label window in months (default 24)",
    )
    s.add_argument(
        "--known-shift",
        action="append",
        default=[],
        metavar="FEATURE",
        help="a feature whose shift a person has looked into and recorded as understood: "
        "shown, not alerted (repeatable)",
    )
    _log_option(s)
    _store_option(s)


def cmd_record_outcomes(args: argparse.Namespace) -> int:
    from ..outcomes import record_outcomes

    if args.file.suffix not in (".csv", ".parquet"):
        raise UsageError(f"FILE must end in .csv or .parquet; found {args.file.name!r}.")
    if args.rejects is not None and args.rejects.resolve() == args.file.resolve():
        raise UsageError("--rejects must be another file than FILE.")
    result = record_outcomes(args.file, store=args.tracking_uri, log=args.log, rejects=args.rejects)
    _say(str(result))
    return EXIT_OK


def cmd_transparency(args: argparse.Namespace) -> int:
    from ..transparency import transparency_record

    _check_out_folder(args.out)
    if args.card is not None and not args.card.is_file():
        raise UsageError(f"--card must be the model card's JSON file; {args.card} is not a file.")
    record = transparency_record(
        args.name, args.version, tracking_uri=args.tracking_uri, card=args.card
    )
    paths = record.write(args.out)
    todo = record.to_fill()
    _say(f"Wrote the transparency record of {args.name} version {record.version}:")
    for p in paths:
        _say(f"  {p}")
    _say(
        f"{len(todo)} fields are for a person to complete before publication "
        f"(marked in the files): {', '.join(todo)}."
    )
    if args.card is None:
        _say("No --card given: the fields the model card fills are among them.")
    return EXIT_OK


def cmd_monitor(args: argparse.Namespace) -> int:
    from ..monitor import monitor_report

    _check_out_folder(args.out)
    if args.tables is not None and not args.tables.is_dir():
        raise UsageError(f"--tables must be a folder of contract tables; {args.tables} is not.")
    runs = args.runs if args.runs is not None else _runs_on_record(args)
    missing = [str(p) for p in runs if not p.exists()]
    if missing:
        raise UsageError(f"--runs must name published runs; not found: {', '.join(missing)}.")
    outcomes = None
    if args.log is not None or args.tracking_uri is not None or args.runs is None:
        from ..outcomes import outcome_log_path, read_outcomes

        if args.runs is not None or outcome_log_path(args.tracking_uri, log=args.log).exists():
            outcomes = read_outcomes(store=args.tracking_uri, log=args.log)
    report = monitor_report(
        runs,
        name=args.name,
        tables=args.tables,
        outcomes=outcomes,
        horizon_months=args.horizon_months,
        known=args.known_shift,
    )
    paths = report.write(args.out)
    _say(f"Monitoring report over {len(report.runs)} runs of {report.name}:")
    for p in paths:
        _say(f"  {p}")
    _say(
        f"{len(report.alerts)} drift alert(s)"
        + (
            ": " + ", ".join(f"{a['name']} ({a['run']})" for a in report.alerts)
            if report.alerts
            else "."
        )
    )
    return EXIT_OK


def _runs_on_record(args: argparse.Namespace) -> list[Path]:
    """The published runs of NAME on record in the store (``--runs`` not given)."""
    from ..monitor import runs_on_record

    runs = runs_on_record(args.name, store=args.tracking_uri)
    if not runs:
        raise ValueError(
            f"monitoring needs the published scoring runs of {args.name!r}; none is on record "
            "in the store. Score with `send-early score` against this store (each published "
            "run is recorded), or name the runs with --runs."
        )
    _say(f"Reading {len(runs)} published run(s) of {args.name} on record in the store.")
    return runs
