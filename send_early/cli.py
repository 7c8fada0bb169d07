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
import contextlib
import logging
import os
import sys
import time
from pathlib import Path

from .exceptions import IntegrityError, SchemaError, SpecError

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
    from .schema import read_manifest

    if args.extract_date is not None:
        if not Path(args.dir).is_dir():
            raise FileNotFoundError(
                f"{args.dir} is not a folder of contract tables (it does not exist or is a file)."
            )
        return args.extract_date
    return read_manifest(args.dir)["extract_date"]


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
    from .schema import read_tables

    allow = getattr(args, "allow_missing_table", None) or ()
    return read_tables(args.dir, extract_date=args.extract_date, allow_missing=allow)


def cmd_validate(args: argparse.Namespace) -> int:
    from .schema import validate

    tables = _read(args)  # manifest.json (or --extract-date) first, then the tables
    report = validate(tables)
    _say(report.to_json() if args.json else report.to_text())
    return EXIT_OK if report.ok else EXIT_BAD_INPUT


def cmd_synth(args: argparse.Namespace) -> int:
    from .datasets import make_cohort
    from .schema import write_tables

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


def _capacity_arg(text: str) -> str:
    """``--capacity``: a count (400) or a share (0.05, 5%); 0 and negatives refused."""
    from .evaluation import parse_capacity

    try:
        parse_capacity(text)
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _date_arg(text: str):
    """A date option: ISO 8601 ``YYYY-MM-DD`` only (``01/02/2023`` is ambiguous)."""
    from .schema import parse_iso_date

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


def _share_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(
            f"the share must be a number from 0 to 1 (e.g. 0.05); found {text!r}."
        )
    return value


def _count_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"the number must be a whole number of 1 or more; found {text!r}."
        )
    return value


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
    from .batch import check_outputs, load_any_model, score, write_run

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
            )
    finally:
        bar.close()
    source = {"model": {**res.metadata["model"], "source": args.model}}
    try:  # scores, rejects and the run record, published together (the record last)
        run_path = write_run(res, out, rejects_path, record=source)
    except OSError as exc:
        _err(f"could not write the outputs: {exc}")
        return EXIT_BAD_INPUT
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
        from .registry import open_store

        open_store(args.tracking_uri, create=args.init, write=True)


def cmd_train(args: argparse.Namespace) -> int:
    from .model import RiskModel
    from .workflow import train_model

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
    from .batch import load_any_model
    from .workflow import evaluate_model

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
    from .registry import review_summary

    summary = review_summary(
        args.name, args.version, tracking_uri=args.tracking_uri, candidate=True
    )
    _say(str(summary))
    return EXIT_OK


def cmd_versions(args: argparse.Namespace) -> int:
    from .registry import candidates_name, list_decisions, list_versions

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


def cmd_promote(args: argparse.Namespace) -> int:
    from .registry import promote

    if args.force and not args.reason:
        _err("--force needs --reason: say why the failed checks are acceptable.")
        return EXIT_USAGE
    _say(
        str(
            promote(
                args.name,
                args.version,
                alias=args.alias,
                reviewer=args.reviewer,
                note=args.note,
                force=args.force,
                force_reason=args.reason,
                tracking_uri=args.tracking_uri,
            )
        )
    )
    return EXIT_OK


def cmd_rollback(args: argparse.Namespace) -> int:
    from .registry import rollback

    _say(
        str(
            rollback(
                args.name,
                args.version,
                alias=args.alias,
                reviewer=args.reviewer,
                note=args.note,
                tracking_uri=args.tracking_uri,
            )
        )
    )
    return EXIT_OK


def cmd_demote(args: argparse.Namespace) -> int:
    from .registry import demote

    _say(
        str(
            demote(
                args.name,
                alias=args.alias,
                reviewer=args.reviewer,
                note=args.note,
                tracking_uri=args.tracking_uri,
            )
        )
    )
    return EXIT_OK


def cmd_registry(args: argparse.Namespace) -> int:
    from .registry import grant_role, revoke_user, setup_registry

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
    from .registry import serve

    _err(f"serving {args.model} on http://{args.host}:{args.port} (Ctrl-C stops)")
    serve(args.model, host=args.host, port=args.port, tracking_uri=args.tracking_uri)
    return EXIT_OK


def cmd_lists(args: argparse.Namespace) -> int:
    from .batch import load_any_model, score
    from .lists import write_lists

    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out must be a folder for the lists; found the file {args.out}.")
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
    from .demo import run_demo

    with _scoring_log_shown_by_cli(args.verbose):
        return run_demo(
            out=Path(args.out),
            n_children=args.children,
            seed=args.seed,
            tracking_uri=args.tracking_uri,
            say=_say,
        )


# -- parser -----------------------------------------------------------------------------------


def _extract_date_option(s: argparse.ArgumentParser) -> None:
    s.add_argument(
        "--extract-date",
        type=_date_arg,
        default=None,
        metavar="YYYY-MM-DD",
        help="the date the extract was taken; needed when DIR has no manifest.json, "
        "and overrides the manifest's",
    )


def _table_arg(text: str) -> str:
    """A required table that may be missing (``--allow-missing-table``)."""
    from .schema import TABLES

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


def _reviewer_option(s: argparse.ArgumentParser) -> None:
    s.add_argument(
        "--reviewer",
        default=None,
        help="the reviewer's id, on the embedded store only (default: the OS user); on a "
        "registry server the reviewer is the user it authenticates, and this is refused",
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="send-early",
        description="Early identification of children likely to need SEND support. "
        "Scores are decision support for a person, never a decision. "
        "Dates are ISO 8601, YYYY-MM-DD.",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("validate", help="check a folder of tables against the data contract")
    s.add_argument("dir", help="folder with <table>.parquet|csv files and manifest.json")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    _extract_date_option(s)
    _allow_missing_option(s)
    s.set_defaults(func=cmd_validate)

    s = sub.add_parser("synth", help="write a synthetic cohort (no real child data)")
    s.add_argument(
        "--children", type=_count_arg, default=10_000, help="number of children (default 10000)"
    )
    s.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    s.add_argument(
        "--extract-date",
        type=_date_arg,
        default=None,
        metavar="YYYY-MM-DD",
        help="extract date (default 2025-08-31)",
    )
    s.set_defaults(func=cmd_synth)

    s = sub.add_parser(
        "train", help="fit, calibrate, evaluate, write the card; optionally register"
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
    s.set_defaults(func=cmd_train)

    s = sub.add_parser(
        "evaluate", help="evaluate a model on a later cohort and write the model card"
    )
    s.add_argument("dir", help="folder of contract tables (with sen_events)")
    s.add_argument("--model", required=True, help="saved model folder or models:/NAME@ALIAS")
    s.add_argument(
        "--as-of",
        type=_date_arg,
        default=None,
        metavar="YYYY-MM-DD",
        help="as-of date (default: extract date minus the horizon)",
    )
    s.add_argument("--out", default="send_early_card", help="folder for the card (HTML and JSON)")
    s.add_argument("--no-backtest", action="store_true", help="skip the temporal backtest (faster)")
    _store_option(s)
    _extract_date_option(s)
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser(
        "review", help="print a registered version's card summary and reviewer checklist"
    )
    s.add_argument("name")
    s.add_argument("version")
    _store_option(s)
    s.set_defaults(func=cmd_review)

    s = sub.add_parser(
        "versions",
        help="list a registered model's versions: aliases, card checks, approval",
    )
    s.add_argument("name")
    s.add_argument("--json", action="store_true", help="print JSON records instead of a table")
    _store_option(s)
    s.set_defaults(func=cmd_versions)

    s = sub.add_parser(
        "promote",
        help="approve candidate VERSION of NAME: copy it into NAME, log the decision, move the alias",
    )
    s.add_argument("name")
    s.add_argument("version")
    s.add_argument("--alias", default="champion")
    _reviewer_option(s)
    s.add_argument("--note", required=True, help="the decision, in words")
    s.add_argument(
        "--force", action="store_true", help="promote although card checks failed (needs --reason)"
    )
    s.add_argument("--reason", default=None, help="why failed checks are acceptable (with --force)")
    _store_option(s)
    s.set_defaults(func=cmd_promote)

    s = sub.add_parser(
        "rollback", help="move an alias back to a production version approved before (logged)"
    )
    s.add_argument("name")
    s.add_argument("version", help="a production version of NAME (see send-early versions)")
    s.add_argument("--alias", default="champion")
    _reviewer_option(s)
    s.add_argument("--note", required=True, help="why, in words")
    _store_option(s)
    s.set_defaults(func=cmd_rollback)

    s = sub.add_parser("demote", help="remove an alias: nothing scores under it (logged)")
    s.add_argument("name")
    s.add_argument("--alias", default="champion")
    _reviewer_option(s)
    s.add_argument("--note", required=True, help="why, in words")
    _store_option(s)
    s.set_defaults(func=cmd_demote)

    s = sub.add_parser(
        "registry", help="set up a shared registry on an MLflow server and give roles (admin)"
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
    s.set_defaults(func=cmd_registry)

    s = sub.add_parser("score", help="score the population at an as-of date (batch job)")
    s.add_argument("dir", help="folder of contract tables")
    s.add_argument("--model", required=True, help="models:/NAME@ALIAS URI or a saved model folder")
    s.add_argument(
        "--as-of",
        required=True,
        type=_date_arg,
        metavar="YYYY-MM-DD",
        help="as-of date, on or before the extract date",
    )
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
        "--capacity",
        default=None,
        type=_capacity_arg,
        help="children to flag: a count (200) or a share (0.05 or 5%%), rounded down "
        "(default: the capacity the model card evaluated)",
    )
    s.add_argument(
        "--max-reject-share",
        type=_share_arg,
        default=0.05,
        help="exit 1 when more than this share of children break the contract (default 0.05)",
    )
    _store_option(s)
    _extract_date_option(s)
    _allow_missing_option(s)
    s.set_defaults(func=cmd_score)

    s = sub.add_parser(
        "lists",
        help="score, then write one work list per setting (HTML and CSV) and a cover page",
    )
    s.add_argument("dir", help="folder of contract tables")
    s.add_argument("--model", required=True, help="models:/NAME@ALIAS URI or a saved model folder")
    s.add_argument(
        "--as-of", required=True, type=_date_arg, metavar="YYYY-MM-DD", help="as-of date"
    )
    s.add_argument("--out", required=True, type=Path, help="folder for the lists")
    s.add_argument(
        "--audience",
        choices=["school", "send_team"],
        default="school",
        help="school: education and development reasons only (default); send_team: all",
    )
    s.add_argument(
        "--capacity",
        default=None,
        type=_capacity_arg,
        help="children to flag, as for score (default: the capacity the model card evaluated)",
    )
    _store_option(s)
    _extract_date_option(s)
    _allow_missing_option(s)
    s.set_defaults(func=cmd_lists)

    s = sub.add_parser(
        "serve",
        help="serve a registered model over HTTP (MLflow's protocol; send_early checks "
        "the model and the request)",
    )
    s.add_argument("model", help="models:/NAME@ALIAS, models:/NAME/VERSION or NAME")
    s.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    s.add_argument("--port", type=int, default=5000)
    _store_option(s)
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("demo", help="run the whole workflow on a synthetic cohort")
    s.add_argument(
        "--out", default="send_early_demo", help="folder for the cohort, card and scores"
    )
    s.add_argument("--children", type=_count_arg, default=20_000)
    s.add_argument("--seed", type=int, default=0)
    _store_option(s)
    s.set_defaults(func=cmd_demo)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
