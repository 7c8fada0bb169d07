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
    _say(
        f"Wrote a synthetic cohort of {args.children:,} children to {args.out} "
        f"({args.format}, seed {args.seed}, extract date {tables.extract_date.date()}) "
        f"in {time.perf_counter() - t0:.1f} s."
    )
    for name, df in tables.items():
        _say(f"  {name:15s} {len(df):>12,} rows")
    return EXIT_OK


def _progress(desc: str):
    """A tqdm bar on stderr for long CLI work (library code only calls back)."""
    from tqdm import tqdm

    bar = tqdm(total=None, desc=desc, unit="chunk", file=sys.stderr, leave=False)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update


def _write_frame(df, path: Path) -> None:
    from .schema import atomic_write

    if path.suffix == ".parquet":
        atomic_write(path, lambda p: df.to_parquet(p, index=False))
    elif path.suffix == ".csv":
        atomic_write(path, lambda p: df.to_csv(p, index=False, date_format="%Y-%m-%d"))
    else:
        raise ValueError(f"output must end in .csv or .parquet; found {path.name!r}.")


def _capacity_arg(text: str) -> str:
    """``--capacity`` checked while parsing (a usage error, before any work)."""
    from .evaluation import parse_capacity

    try:
        parse_capacity(text)
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def cmd_score(args: argparse.Namespace) -> int:
    from .batch import score
    from .schema import read_tables

    out = Path(args.out)
    if out.suffix not in (".csv", ".parquet"):
        _err(f"--out must end in .csv or .parquet; found {out.name!r}.")
        return EXIT_USAGE
    rejects_path = Path(args.rejects) if args.rejects else out.with_name(out.stem + "_rejects.csv")
    tables = read_tables(args.dir)
    res = score(
        args.model,
        tables,
        args.as_of,
        capacity=args.capacity,
        tracking_uri=args.tracking_uri,
        progress=_progress("scoring"),
    )
    _write_frame(res.scores, out)
    _write_frame(res.rejects, rejects_path)
    c = res.counts
    _say(
        f"Scored {c['scored']:,} of {c['input_children']:,} children at {args.as_of} "
        f"({c['flagged']:,} flagged for a person to review)."
    )
    _say(
        f"Rejected {c['rejected']:,}: {c['rejected_contract']:,} with records that break the data contract, "
        f"{c['rejected_not_in_population']:,} not in the population (already identified, moved out, out of age range)."
    )
    if c.get("orphan_records"):
        _say(f"Set aside {c['orphan_records']:,} records whose child_id is not in children.")
    _say(f"Scores:  {out}\nRejects: {rejects_path}")
    if res.drift is not None:
        bad = res.drift[res.drift["status"].isin(["warn", "alert"])]
        for _, r in bad.iterrows():
            _say(f"Drift {r['status']}: {r['name']} PSI {r['psi']:.3f}")
    share = c["rejected_contract"] / max(c["input_children"], 1)
    if share > args.max_reject_share:
        _err(
            f"{share:.1%} of children were rejected for contract errors (limit {args.max_reject_share:.0%}); "
            "see the rejects file and fix the extract."
        )
        return EXIT_BAD_INPUT
    return EXIT_OK


def _step(msg: str) -> None:
    print(f"  - {msg}", file=sys.stderr, flush=True)


def cmd_train(args: argparse.Namespace) -> int:
    from .schema import read_tables
    from .workflow import train_model

    tables = read_tables(args.dir)
    dates = args.as_of_dates.split(",") if args.as_of_dates else None
    res = train_model(
        tables,
        args.model_spec,
        dates,
        out_dir=args.out,
        register=args.register,
        tracking_uri=args.tracking_uri,
        backtest=not args.no_backtest,
        progress=_step,
    )
    run = res["run"]
    _say(run.headline_table().to_string(index=False))
    _say(f"Model saved to {Path(args.out) / 'model'}")
    if run.card is not None:
        _say(f"Model card: {run.card.html_path}")
    if res["logged"] is not None:
        _say(str(res["logged"]))
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .batch import load_any_model
    from .schema import read_tables
    from .workflow import evaluate_model

    model = load_any_model(args.model, tracking_uri=args.tracking_uri)
    tables = read_tables(args.dir)
    run = evaluate_model(
        model, tables, args.as_of, out_dir=args.out, backtest=not args.no_backtest, progress=_step
    )
    _say(
        f"Evaluation at {run.as_of.date()} ({run.counts['evaluated']:,} children with a complete label window; "
        f"{run.counts['censored']:,} censored)."
    )
    _say(run.headline_table().to_string(index=False))
    _say(f"Model card: {run.card.html_path}\n            {run.card.json_path}")
    return EXIT_OK


def cmd_review(args: argparse.Namespace) -> int:
    from .registry import review_summary

    _say(str(review_summary(args.name, args.version, tracking_uri=args.tracking_uri)))
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


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(
        out=Path(args.out),
        n_children=args.children,
        seed=args.seed,
        tracking_uri=args.tracking_uri,
        say=_say,
    )


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
    s.add_argument(
        "--children", type=int, default=10_000, help="number of children (default 10000)"
    )
    s.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    s.add_argument("--extract-date", default=None, help="extract date (default 2025-08-31)")
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
        default=None,
        help="comma-separated training as-of dates (default: the spec's)",
    )
    s.add_argument(
        "--out", default="send_early_model", help="folder for the saved model and the card"
    )
    s.add_argument(
        "--register", default=None, metavar="NAME", help="log to MLflow and register under NAME"
    )
    s.add_argument("--no-backtest", action="store_true", help="skip the temporal backtest (faster)")
    s.add_argument(
        "--tracking-uri", default=None, help="MLflow tracking URI (default: embedded store)"
    )
    s.set_defaults(func=cmd_train)

    s = sub.add_parser(
        "evaluate", help="evaluate a model on a later cohort and write the model card"
    )
    s.add_argument("dir", help="folder of contract tables (with sen_events)")
    s.add_argument("--model", required=True, help="saved model folder or models:/NAME@ALIAS")
    s.add_argument(
        "--as-of", default=None, help="as-of date (default: extract date minus the horizon)"
    )
    s.add_argument("--out", default="send_early_card", help="folder for the card (HTML and JSON)")
    s.add_argument("--no-backtest", action="store_true", help="skip the temporal backtest (faster)")
    s.add_argument("--tracking-uri", default=None)
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser(
        "review", help="print a registered version's card summary and reviewer checklist"
    )
    s.add_argument("name")
    s.add_argument("version")
    s.add_argument("--tracking-uri", default=None)
    s.set_defaults(func=cmd_review)

    s = sub.add_parser(
        "promote", help="record a reviewer's approval and move an alias to a version"
    )
    s.add_argument("name")
    s.add_argument("version")
    s.add_argument("--alias", default="champion")
    s.add_argument("--reviewer", required=True, help="the reviewer's id")
    s.add_argument("--note", required=True, help="the decision, in words")
    s.add_argument(
        "--force", action="store_true", help="promote although card checks failed (needs --reason)"
    )
    s.add_argument("--reason", default=None, help="why failed checks are acceptable (with --force)")
    s.add_argument("--tracking-uri", default=None)
    s.set_defaults(func=cmd_promote)

    s = sub.add_parser("score", help="score the population at an as-of date (batch job)")
    s.add_argument("dir", help="folder of contract tables")
    s.add_argument("--model", required=True, help="models:/NAME@ALIAS URI or a saved model folder")
    s.add_argument("--as-of", required=True, help="as-of date (YYYY-MM-DD)")
    s.add_argument(
        "--out", required=True, help="scores file (.csv or .parquet), written atomically"
    )
    s.add_argument("--rejects", default=None, help="rejects file (default: <out>_rejects.csv)")
    s.add_argument(
        "--capacity",
        default=None,
        type=_capacity_arg,
        help="children to flag: a count (200) or a share (0.05 or 5%%), rounded down",
    )
    s.add_argument(
        "--max-reject-share",
        type=float,
        default=0.05,
        help="exit 1 when more than this share of children break the contract (default 0.05)",
    )
    s.add_argument(
        "--tracking-uri", default=None, help="MLflow tracking URI (default: embedded store)"
    )
    s.set_defaults(func=cmd_score)

    s = sub.add_parser("demo", help="run the whole workflow on a synthetic cohort")
    s.add_argument(
        "--out", default="send_early_demo", help="folder for the cohort, card and scores"
    )
    s.add_argument("--children", type=int, default=20_000)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument(
        "--tracking-uri", default=None, help="MLflow tracking URI (default: embedded store)"
    )
    s.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
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
