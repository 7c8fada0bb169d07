"""The ``send-early`` command line: a thin layer over the public API.

Every option is checked before any table is read. Exit codes: 0 success; 1 bad
input (data contract errors, a folder without ``manifest.json``, invalid specs,
refused actions); 2 usage errors (a wrong option: a date not written
``YYYY-MM-DD``, an as-of date after the extract date, a capacity of 0); 141 when
the reader of the output went away (``send-early validate DIR --json | head``),
the status a shell gives a command ended by SIGPIPE, with no traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from ..exceptions import IntegrityError, SchemaError, SpecError
from ._card import add_card_command
from ._commands import (
    _server_refusal,
    cmd_demo,
    cmd_demote,
    cmd_evaluate,
    cmd_lists,
    cmd_promote,
    cmd_registry,
    cmd_review,
    cmd_rollback,
    cmd_score,
    cmd_serve,
    cmd_synth,
    cmd_train,
    cmd_validate,
    cmd_versions,
)
from ._common import (
    EXIT_BAD_INPUT,
    EXIT_BROKEN_PIPE,
    EXIT_USAGE,
    UsageError,
    _allow_missing_option,
    _command,
    _count_arg,
    _date_option,
    _dates_arg,
    _decision_options,
    _err,
    _extract_date_option,
    _out_arg,
    _out_folder_option,
    _scoring_inputs,
    _scoring_options,
    _share_arg,
    _store_option,
    _version_args,
)
from ._engines import ENGINES, add_engine_commands
from ._outcomes import add_outcome_commands

logger = logging.getLogger("send_early.cli")


__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="send-early",
        description="Early identification of children likely to need SEND support. "
        "Scores are decision support for a person, never a decision. "
        "Dates are ISO 8601, YYYY-MM-DD.",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = _command(
        sub, "validate", cmd_validate, "check a folder of tables against the data contract"
    )
    s.add_argument("dir", help="folder with <table>.parquet|csv files and manifest.json")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    _extract_date_option(s)
    _allow_missing_option(s)

    s = _command(sub, "synth", cmd_synth, "write a synthetic cohort (no real child data)")
    s.add_argument(
        "--children", type=_count_arg, default=10_000, help="number of children (default 10000)"
    )
    s.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    _date_option(s, "--extract-date", "extract date (default 2025-08-31)")

    s = _command(
        sub, "train", cmd_train, "fit, calibrate, evaluate, write the card; optionally register"
    )
    s.add_argument("dir", help="folder of contract tables (with sen_events)")
    s.add_argument(
        "--model-spec", default="default", help="shipped model spec name or path (default: default)"
    )
    s.add_argument(
        "--as-of-dates",
        type=_dates_arg,
        default=None,
        metavar="DATE,DATE,...",
        help="comma-separated training as-of dates, YYYY-MM-DD (default: the spec's)",
    )
    s.add_argument(
        "--out", default="send_early_model", help="folder for the saved model and the card"
    )
    s.add_argument(
        "--register", default=None, metavar="NAME", help="log to MLflow and register under NAME"
    )
    s.add_argument(
        "--init",
        action="store_true",
        help="with --register: create the model store if it does not exist yet "
        "(without it, a missing store is an error, so a mistyped path makes no new store)",
    )
    s.add_argument("--no-backtest", action="store_true", help="skip the temporal backtest (faster)")
    _store_option(s)
    _extract_date_option(s)

    s = _command(
        sub, "evaluate", cmd_evaluate, "evaluate a model on a later cohort and write the model card"
    )
    s.add_argument("dir", help="folder of contract tables (with sen_events)")
    s.add_argument("--model", required=True, help="saved model folder or models:/NAME@ALIAS")
    _date_option(s, "--as-of", "as-of date (default: extract date minus the horizon)")
    s.add_argument("--out", default="send_early_card", help="folder for the card (HTML and JSON)")
    s.add_argument("--no-backtest", action="store_true", help="skip the temporal backtest (faster)")
    _store_option(s)
    _extract_date_option(s)

    s = _command(
        sub,
        "review",
        cmd_review,
        "print a registered version's card summary and reviewer checklist",
    )
    _version_args(s)
    _store_option(s)

    s = _command(
        sub,
        "versions",
        cmd_versions,
        "list a registered model's versions: aliases, card checks, approval",
    )
    s.add_argument("name")
    s.add_argument("--json", action="store_true", help="print JSON records instead of a table")
    _store_option(s)

    s = _command(
        sub,
        "promote",
        cmd_promote,
        "approve candidate VERSION of NAME: copy it into NAME, log the decision, move the alias",
    )
    _version_args(s)
    _decision_options(s, note="the decision, in words")
    s.add_argument(
        "--force", action="store_true", help="promote although card checks failed (needs --reason)"
    )
    s.add_argument("--reason", default=None, help="why failed checks are acceptable (with --force)")
    _store_option(s)

    s = _command(
        sub,
        "rollback",
        cmd_rollback,
        "move an alias back to a production version approved before (logged)",
    )
    _version_args(s, version_help="a production version of NAME (see send-early versions)")
    _decision_options(s, note="why, in words")
    _store_option(s)

    s = _command(sub, "demote", cmd_demote, "remove an alias: nothing scores under it (logged)")
    s.add_argument("name")
    _decision_options(s, note="why, in words")
    _store_option(s)

    s = _command(
        sub,
        "registry",
        cmd_registry,
        "set up a shared registry on an MLflow server and give roles (admin)",
    )
    reg = s.add_subparsers(dest="registry_command", required=True, metavar="ACTION")
    r = reg.add_parser("setup", help="create NAME and NAME-candidates and the runs' experiment")
    r.add_argument("name")
    _store_option(r)
    r = reg.add_parser("grant", help="make USER an analyst or a reviewer (never both)")
    r.add_argument("user")
    r.add_argument("role", choices=["analyst", "reviewer"])
    r.add_argument("--model", action="append", default=None, help="only this registry (repeat)")
    _store_option(r)
    r = reg.add_parser("revoke", help="take USER's roles away")
    r.add_argument("user")
    r.add_argument("--model", action="append", default=None, help="only this registry (repeat)")
    _store_option(r)

    s = _command(sub, "score", cmd_score, "score the population at an as-of date (batch job)")
    _scoring_inputs(s)
    s.add_argument(
        "--out",
        required=True,
        type=_out_arg,
        help="scores file (.csv or .parquet) in an existing folder; the run record, written "
        "last, goes beside it as <out>_run.json and names the files of the run",
    )
    s.add_argument(
        "--rejects",
        default=None,
        help="rejects file, .csv or .parquet (default: <out>_rejects.csv)",
    )
    s.add_argument(
        "--max-reject-share",
        type=_share_arg,
        default=0.05,
        help="exit 1 when more than this share of children break the contract (default 0.05)",
    )
    s.add_argument(
        "--engine",
        choices=ENGINES,  # the engines send_early.batch.score accepts
        default="memory",
        help="where the features are built: memory (default), duckdb or spark; the tables are "
        "read and checked against the contract in memory first on every engine, and the scores "
        "and rejects are the same (docs/scoring.md)",
    )
    _scoring_options(s)

    s = _command(
        sub,
        "lists",
        cmd_lists,
        "score, then write one work list per setting (HTML and CSV) and a cover page",
    )
    _scoring_inputs(s)
    _out_folder_option(s, "folder for the lists")
    s.add_argument(
        "--audience",
        choices=["school", "send_team"],
        default="school",
        help="school: education and development reasons only, and health too on the locality "
        "teams' lists of children on no school roll (default); send_team: all",
    )
    _scoring_options(s)

    s = _command(
        sub,
        "serve",
        cmd_serve,
        "serve a registered model over HTTP (MLflow's protocol; send_early checks "
        "the model and the request)",
    )
    s.add_argument("model", help="models:/NAME@ALIAS, models:/NAME/VERSION or NAME")
    s.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    s.add_argument("--port", type=int, default=5000)
    _store_option(s)

    s = _command(sub, "demo", cmd_demo, "run the whole workflow on a synthetic cohort")
    s.add_argument(
        "--out", default="send_early_demo", help="folder for the cohort, card and scores"
    )
    s.add_argument("--children", type=_count_arg, default=20_000)
    s.add_argument("--seed", type=int, default=0)
    _store_option(s)
    add_outcome_commands(sub)  # record-outcomes, transparency, monitor
    add_engine_commands(sub)  # features
    add_card_command(sub)  # card NAME VERSION
    return p


def _stdout_to_devnull() -> None:
    """The reader of stdout went away (``| head``): send what is left to /dev/null, so the
    interpreter's final flush raises no second BrokenPipeError (Python's documented recipe)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a file (tests capture it)
        pass


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        rc = int(args.func(args) or 0)
        sys.stdout.flush()
        return rc
    except BrokenPipeError:
        _stdout_to_devnull()
        return EXIT_BROKEN_PIPE
    except UsageError as exc:
        _err(str(exc))
        return EXIT_USAGE
    except (SchemaError, SpecError, IntegrityError, FileNotFoundError, PermissionError) as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    except ValueError as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    except Exception as exc:
        line = _server_refusal(exc)
        if line is None:
            raise
        _err(line)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
