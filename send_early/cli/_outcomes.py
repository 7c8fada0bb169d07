"""Commands after scoring: record-outcomes (the outcome log)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import EXIT_OK, UsageError, _say, _store_option

__all__ = ["add_outcome_commands"]


def _log_option(s: argparse.ArgumentParser) -> None:
    s.add_argument(
        "--log",
        default=None,
        type=Path,
        metavar="FILE",
        help="the outcome log file (default: outcomes.sqlite in the store folder; needed "
        "for a tracking server)",
    )


def add_outcome_commands(sub) -> None:
    """Add record-outcomes to the ``send-early`` subcommands."""
    s = sub.add_parser(
        "record-outcomes",
        help="record what happened after flags (reviewed, no action, SEN support started, "
        "referred, declined, unknown) in the outcome log beside the store",
    )
    s.add_argument(
        "file",
        type=Path,
        help="CSV or Parquet: child_id, model_name, model_version, as_of, outcome, "
        "outcome_date (other columns are ignored)",
    )
    s.add_argument(
        "--rejects",
        default=None,
        type=Path,
        metavar="FILE",
        help="record the valid rows and write the others here (CSV); without it a file "
        "with any problem is refused whole",
    )
    _log_option(s)
    _store_option(s)
    s.set_defaults(func=cmd_record_outcomes)


def cmd_record_outcomes(args: argparse.Namespace) -> int:
    from ..outcomes import record_outcomes

    if args.file.suffix not in (".csv", ".parquet"):
        raise UsageError(f"FILE must end in .csv or .parquet; found {args.file.name!r}.")
    if args.rejects is not None and args.rejects.resolve() == args.file.resolve():
        raise UsageError("--rejects must be another file than FILE.")
    result = record_outcomes(args.file, store=args.tracking_uri, log=args.log, rejects=args.rejects)
    _say(str(result))
    return EXIT_OK
