"""``send-early features``: the feature table of a folder at an as-of date, on a chosen engine."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import (
    EXIT_OK,
    UsageError,
    _check_not_after,
    _command,
    _date_arg,
    _extract_date,
    _extract_date_option,
    _out_arg,
    _say,
)

__all__ = ["add_engine_commands"]

ENGINES = ("memory", "duckdb", "spark")


def add_engine_commands(sub) -> None:
    """Add ``features`` to the ``send-early`` subcommands."""
    s = _command(
        sub,
        "features",
        cmd_features,
        "write every child's features at an as-of date (one row per child in the "
        "population), built in memory or compiled for DuckDB",
    )
    s.add_argument("dir", help="folder of contract tables (Parquet or CSV) and manifest.json")
    s.add_argument("--as-of", required=True, type=_date_arg, metavar="DATE")
    s.add_argument(
        "--engine",
        choices=ENGINES,
        default="memory",
        help="memory: numpy on the tables read and validated; duckdb or spark: the pipeline "
        "compiled through Ibis, the files read in place (not validated: run send-early validate "
        "first)",
    )
    s.add_argument("--pipeline", default="default", help="pipeline spec name or path")
    s.add_argument(
        "--out",
        required=True,
        type=_out_arg,
        metavar="FILE",
        help="features file (.csv or .parquet)",
    )
    _extract_date_option(s)


def cmd_features(args: argparse.Namespace) -> int:
    from ..features import build_features
    from ..schema import atomic_write

    if not args.out.parent.is_dir():
        raise UsageError(f"--out must be in an existing folder; {args.out.parent} is not one.")
    extract = _extract_date(args)
    _check_not_after("--as-of", [args.as_of], extract)
    if args.engine != "memory":
        source = Path(args.dir)
    else:
        from ..schema import read_tables

        source = read_tables(args.dir, extract_date=args.extract_date)
    frame = build_features(source, args.as_of, args.pipeline, engine=args.engine)
    table = frame.reset_index()
    if args.out.suffix == ".parquet":
        atomic_write(args.out, lambda tmp: table.to_parquet(tmp, index=False))
    else:
        atomic_write(args.out, lambda tmp: table.to_csv(tmp, index=False))
    pop = frame.attrs.get("population", {})
    _say(
        f"Built {frame.shape[1]} features for {len(frame):,} children at {args.as_of.date()} "
        f"({args.engine}; {sum(pop.values()):,} children in the tables)."
    )
    _say(f"Features: {args.out}")
    return EXIT_OK
