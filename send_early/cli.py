"""The ``send-early`` command line: a thin layer over the public API.

Exit codes: 0 success; 1 bad input (data contract errors, invalid specs, refused
actions); 2 usage errors (argparse).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from .exceptions import IntegrityError, SchemaError, SpecError

logger = logging.getLogger("send_early.cli")

EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE = 0, 1, 2


def _say(*parts: object) -> None:
    print(*parts, flush=True)


def _err(msg: str) -> None:
    print(f"send-early: {msg}", file=sys.stderr, flush=True)


# -- commands ---------------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    from .schema import read_tables, validate

    tables = read_tables(args.dir)
    report = validate(tables)
    _say(report.to_json() if args.json else report.to_text())
    return EXIT_OK if report.ok else EXIT_BAD_INPUT


def cmd_synth(args: argparse.Namespace) -> int:
    from .datasets import make_cohort
    from .schema import write_tables

    t0 = time.perf_counter()
    kwargs = {"random_state": args.seed}
    if args.extract_date:
        kwargs["extract_date"] = args.extract_date
    tables = make_cohort(args.children, **kwargs)
    write_tables(tables, args.out, format=args.format)
    _say(f"Wrote a synthetic cohort of {args.children:,} children to {args.out} "
         f"({args.format}, seed {args.seed}, extract date {tables.extract_date.date()}) "
         f"in {time.perf_counter() - t0:.1f} s.")
    for name, df in tables.items():
        _say(f"  {name:15s} {len(df):>12,} rows")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(out=Path(args.out), n_children=args.children, seed=args.seed,
                    tracking_uri=args.tracking_uri, say=_say)


# -- parser -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="send-early",
        description="Early identification of children likely to need SEND support. "
        "Scores are decision support for a person, never a decision.",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("validate", help="check a folder of tables against the data contract")
    s.add_argument("dir", help="folder with <table>.parquet|csv files and optional manifest.json")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.set_defaults(func=cmd_validate)

    s = sub.add_parser("synth", help="write a synthetic cohort (no real child data)")
    s.add_argument("--children", type=int, default=10_000, help="number of children (default 10000)")
    s.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    s.add_argument("--extract-date", default=None, help="extract date (default 2025-08-31)")
    s.set_defaults(func=cmd_synth)

    s = sub.add_parser("demo", help="run the whole workflow on a synthetic cohort")
    s.add_argument("--out", default="send_early_demo", help="folder for the cohort, card and scores")
    s.add_argument("--children", type=int, default=20_000)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--tracking-uri", default=None, help="MLflow tracking URI (default: embedded store)")
    s.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except (SchemaError, SpecError, IntegrityError, FileNotFoundError) as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    except ValueError as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _err("interrupted")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
