"""Commands after scoring: record-outcomes (the outcome log), transparency (the ATRS record)."""

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

    s = sub.add_parser(
        "transparency",
        help="write the Algorithmic Transparency Recording Standard record (tier 1 and 2) "
        "and a DPIA input sheet for a registered version, as JSON and HTML",
    )
    s.add_argument("name", help="the registered model")
    s.add_argument("version", help="its version")
    s.add_argument("--out", required=True, type=Path, help="folder for the four files")
    s.add_argument(
        "--card",
        type=Path,
        default=None,
        metavar="FILE",
        help="the version's model card JSON (checked against the SHA-256 registered with "
        "it); without it, the fields it would fill are left for a person",
    )
    _store_option(s)
    s.set_defaults(func=cmd_transparency)


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

    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out must be a folder; {args.out} is a file.")
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
