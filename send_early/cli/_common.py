"""What every command shares: output, errors, argument checks and common options."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

logger = logging.getLogger("send_early.cli")

EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE, EXIT_BROKEN_PIPE = 0, 1, 2, 141


class UsageError(Exception):
    """An option that is wrong for the data it names (exit 2), found after parsing."""


def _say(*parts: object) -> None:
    print(*parts, flush=True)


def _err(msg: str) -> None:
    print(f"send-early: {msg}", file=sys.stderr, flush=True)


# -- commands ---------------------------------------------------------------------------------


def _extract_date(args: argparse.Namespace):
    """``--extract-date``, else the folder's manifest.json (read before any table)."""
    from ..schema import read_manifest

    if args.extract_date is not None:
        if not Path(args.dir).is_dir():
            raise FileNotFoundError(
                f"{args.dir} is not a folder of contract tables (it does not exist or is a file)."
            )
        return args.extract_date
    return read_manifest(args.dir)["extract_date"]


def _check_out_folder(out: Path, what: str = "") -> None:
    """``--out`` names a folder (made when missing), never an existing file."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out must be a folder{what}; {out} is a file.")


def _check_not_after(flag: str, dates, extract) -> None:
    """Refuse as-of dates after the extract date: nothing after it is known."""
    late = [d for d in dates if d is not None and d > extract]
    if late:
        found = ", ".join(str(d.date()) for d in late)
        raise UsageError(
            f"{flag} must be on or before the extract date {extract.date()}; found {found}. "
            "Records after the extract are unknown: give an earlier date, or score a later "
            "extract."
        )


def _read(args: argparse.Namespace):
    from ..schema import read_tables

    allow = getattr(args, "allow_missing_table", None) or ()
    return read_tables(args.dir, extract_date=args.extract_date, allow_missing=allow)


class _Progress:
    """A tqdm bar on stderr, drawn from the first call back (when work starts), never before."""

    def __init__(self, desc: str) -> None:
        self.desc, self.bar = desc, None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total,
                desc=self.desc,
                unit="chunk",
                file=sys.stderr,
                leave=False,
                disable=None,  # no bar when stderr is not a terminal (cron logs)
            )
        self.bar.total = total
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# -- options, each checked while parsing (a usage error, exit 2, before any work) -------------


def _command(sub, name: str, func, help: str) -> argparse.ArgumentParser:
    """``send-early NAME``, which runs ``func(args)``; the caller adds its options in the
    order ``--help`` lists them."""
    s = sub.add_parser(name, help=help)
    s.set_defaults(func=func)
    return s


def _version_args(s: argparse.ArgumentParser, name_help=None, version_help=None) -> None:
    """NAME VERSION: a registered version (review, promote, rollback, card, transparency)."""
    s.add_argument("name", help=name_help)
    s.add_argument("version", help=version_help)


def _out_folder_option(s: argparse.ArgumentParser, help: str) -> None:
    """``--out DIR``, required: the folder a command writes its files to."""
    s.add_argument("--out", required=True, type=Path, help=help)


def _path_option(s: argparse.ArgumentParser, flag: str, metavar: str, help: str) -> None:
    """An optional file or folder option (None when not given)."""
    s.add_argument(flag, type=Path, default=None, metavar=metavar, help=help)


def _capacity_arg(text: str) -> str:
    """``--capacity``: a count (400) or a share (0.05, 5%); 0 and negatives refused."""
    from ..evaluation import parse_capacity

    try:
        parse_capacity(text)
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _date_arg(text: str):
    """A date option: ISO 8601 ``YYYY-MM-DD`` only (``01/02/2023`` is ambiguous)."""
    from ..schema import parse_iso_date

    try:
        return parse_iso_date(text, what="the date")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _dates_arg(text: str) -> list:
    """Comma-separated ISO dates."""
    parts = [t.strip() for t in text.split(",")]
    if not all(parts):
        raise argparse.ArgumentTypeError(
            f"the dates must be ISO dates, YYYY-MM-DD, separated by commas "
            f"(e.g. 2018-09-01,2019-09-01); found {text!r}."
        )
    return [_date_arg(t) for t in parts]


def _out_arg(text: str) -> Path:
    path = Path(text)
    if path.suffix not in (".csv", ".parquet"):
        raise argparse.ArgumentTypeError(
            f"the scores file must end in .csv or .parquet; found {path.name!r}."
        )
    return path


def _number_arg(text: str, kind, ok, what: str):
    """``text`` read as ``kind``; a clear argparse error (naming ``what``) when it is not ``ok``."""
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not ok(value):
        raise argparse.ArgumentTypeError(f"the {what}; found {text!r}.")
    return value


def _share_arg(text: str) -> float:
    return _number_arg(
        text, float, lambda v: 0 <= v <= 1, "share must be a number from 0 to 1 (e.g. 0.05)"
    )


def _count_arg(text: str) -> int:
    return _number_arg(text, int, lambda v: v >= 1, "number must be a whole number of 1 or more")


def _months_arg(text: str) -> int:
    return _number_arg(
        text, int, lambda v: v >= 1, "horizon must be a whole number of months, 1 or more"
    )


def _date_option(s: argparse.ArgumentParser, flag: str, help: str, required=False) -> None:
    """A YYYY-MM-DD date option (None when an optional one is not given)."""
    s.add_argument(
        flag, type=_date_arg, default=None, required=required, metavar="YYYY-MM-DD", help=help
    )


def _extract_date_option(s: argparse.ArgumentParser) -> None:
    _date_option(
        s,
        "--extract-date",
        "the date the extract was taken; needed when DIR has no manifest.json, "
        "and overrides the manifest's",
    )


def _table_arg(text: str) -> str:
    """A required table that may be missing (``--allow-missing-table``)."""
    from ..schema import TABLES

    names = [n for n, t in TABLES.items() if t.required and n != "children"]
    if text not in names:
        raise argparse.ArgumentTypeError(
            f"--allow-missing-table must name a required table that may be left out "
            f"({', '.join(names)}; children never, and other tables are optional); found {text!r}."
        )
    return text


def _allow_missing_option(s: argparse.ArgumentParser) -> None:
    s.add_argument(
        "--allow-missing-table",
        type=_table_arg,
        action="append",
        default=[],
        metavar="TABLE",
        help="accept a folder without this required table (repeatable). Without sen_events, "
        "children already identified cannot be excluded: they are scored and can be flagged",
    )


def _scoring_inputs(s: argparse.ArgumentParser) -> None:
    """DIR, --model and --as-of: what score and lists (which scores first) read."""
    s.add_argument("dir", help="folder of contract tables")
    s.add_argument("--model", required=True, help="models:/NAME@ALIAS URI or a saved model folder")
    _date_option(s, "--as-of", "as-of date, on or before the extract date", required=True)


def _scoring_options(s: argparse.ArgumentParser) -> None:
    """--capacity, the store, the extract date and the tables allowed missing: the options
    score and lists share."""
    s.add_argument(
        "--capacity",
        default=None,
        type=_capacity_arg,
        help="children to flag: a count (200) or a share (0.05 or 5%%), rounded down "
        "(default: the capacity the model card evaluated)",
    )
    _store_option(s)
    _extract_date_option(s)
    _allow_missing_option(s)


def _store_option(s: argparse.ArgumentParser) -> None:
    s.add_argument(
        "--store",
        "--tracking-uri",
        dest="tracking_uri",
        default=None,
        metavar="DIR|URI",
        help="model store: an embedded store folder or an MLflow tracking URI (default: "
        "$MLFLOW_TRACKING_URI, else $SEND_EARLY_STORE, else ./send_early_store)",
    )


def _decision_options(s: argparse.ArgumentParser, note: str) -> None:
    """--alias, --reviewer and --note: what promote, rollback and demote log with a decision."""
    s.add_argument("--alias", default="champion")
    s.add_argument(
        "--reviewer",
        default=None,
        help="the reviewer's id, on the embedded store only (default: the OS user); on a "
        "registry server the reviewer is the user it authenticates, and this is refused",
    )
    s.add_argument("--note", required=True, help=note)
