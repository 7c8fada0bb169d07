"""Kill test: SIGKILL scoring runs, repeatedly; a reader must see one complete run, never a mix.

Each attempt scores the cohort into the same ``--out`` at the other of two as-of dates than
the run published so far (so the scores and the rejects of the two runs differ), and is
killed with SIGKILL:

- at each step of publishing (after the scores file, after the rejects file, when the run
  folder is complete, after the manifest, after refreshing ``--out``, after refreshing
  ``--rejects``), by a hook that kills the process there, so the dangerous moments are hit;
- at random moments over the length of a whole run (reading, scoring, writing).

After each kill, ``send_early.batch.read_run`` reads the outputs; the run it returns must be
the one published before the attempt or the attempt's own. A last complete run must leave
nothing behind but its own files. The attempts run ``send_early.cli.main`` (the code behind
``send-early score``) in processes forked from a server that has imported send_early once,
so a kill costs the scoring, not an interpreter start.

Run: ``python bench/kill_scoring.py`` (50,000 children, 20 random kills; writes
bench/results_kill.md). tests/batch/test_kill.py runs it on a small cohort with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("results_kill.md")
AS_OF = ("2023-09-01", "2024-09-01")
STEPS = (
    "wrote scores",
    "wrote rejects",
    "run folder complete",
    "manifest written",
    "refreshed scores",
    "refreshed rejects",
)


def _attempt(argv: list[str], step: str | None) -> None:
    """One scoring run in a forked process; with ``step``, SIGKILL itself at that step."""
    from send_early.batch import _publish
    from send_early.cli import main

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    if step is not None:

        def kill_at(name: str) -> None:
            if name == step:
                os.kill(os.getpid(), signal.SIGKILL)

        _publish._step = kill_at
    os._exit(main(argv))


def run_kills(cohort: Path, model: Path, work: Path, kills: int, seed: int) -> dict:
    """The attempts and what a reader saw after each; the files left after a last run."""
    from send_early.batch import read_run

    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["send_early.cli", "send_early.batch", "send_early.model"])
    work.mkdir(parents=True, exist_ok=True)
    out = work / "scores.csv"

    def attempt(as_of: str, *, step=None, delay=None) -> tuple[int, float]:
        argv = ["score", str(cohort), "--model", str(model), "--as-of", as_of]
        p = ctx.Process(target=_attempt, args=([*argv, "--out", str(out)], step))
        t0 = time.perf_counter()
        p.start()
        p.join(delay)
        if p.is_alive():
            p.kill()
            p.join()
        return p.exitcode, time.perf_counter() - t0

    attempt(AS_OF[1])  # warm the server (first imports of lazily loaded modules)
    code, full = attempt(AS_OF[0])
    if code != 0:
        raise SystemExit(f"the first complete run failed (exit {code})")
    published = AS_OF[0]
    rng = np.random.default_rng(seed)
    plan = [("step", s) for s in STEPS] + [
        ("random", float(d)) for d in rng.uniform(0, 1.1 * full, kills)
    ]
    rows = []
    for kind, at in plan:
        new = AS_OF[1] if published == AS_OF[0] else AS_OF[0]
        code, took = attempt(
            new, step=at if kind == "step" else None, delay=at if kind == "random" else None
        )
        row = {"kill": kind, "at": at, "exit": code, "seconds": round(took, 3)}
        row |= {"before": published, "new": new, "seen": None, "error": None}
        try:
            seen = read_run(out)
        except Exception as exc:  # recorded: the check is that there is none
            row["error"] = f"{type(exc).__name__}: {exc}"
        else:
            files = seen.metadata["files"]
            row |= {
                "seen": seen.metadata["as_of"],
                "scores_sha256": files["scores"]["sha256"],
                "rejects_sha256": files["rejects"]["sha256"],
                "counts": seen.counts,
            }
            published = row["seen"]
        rows.append(row)
    code, _ = attempt(AS_OF[1] if published == AS_OF[0] else AS_OF[0])
    left = sorted(p.relative_to(work).as_posix() for p in work.rglob("*"))
    return {"full_run_seconds": round(full, 3), "attempts": rows, "last_exit": code, "left": left}


def _cohort_and_model(children: int, work: Path) -> tuple[Path, Path]:
    from send_early import RiskModel, write_tables
    from send_early.datasets import make_cohort

    write_tables(make_cohort(children, random_state=3), work / "cohort")
    model = RiskModel.from_spec("default").fit(make_cohort(20_000, random_state=1))
    return work / "cohort", model.save(work / "model")


def _report(res: dict, children: int, kills: int) -> str:
    rows = res["attempts"]
    killed = [r for r in rows if r["exit"] == -signal.SIGKILL]
    ok = [r for r in rows if r["error"] is None and r["seen"] in (r["before"], r["new"])]
    new = sum(r["seen"] == r["new"] for r in ok)
    lines = [
        "# Kill test (scoring outputs)",
        "",
        f"`python bench/kill_scoring.py`: a {children:,}-child synthetic cohort scored into one "
        f"`--out` again and again, each run killed with SIGKILL; machine {platform.machine()}, "
        f"{os.cpu_count()} cores. A complete run took {res['full_run_seconds']:.1f} s.",
        "",
        "| kill | at | exit | reader saw |",
        "|---|---|---|---|",
    ]
    for r in rows:
        at = r["at"] if r["kill"] == "step" else f"{r['at']:.2f} s"
        saw = r["error"] or ("the new run" if r["seen"] == r["new"] else "the previous run")
        lines.append(f"| {r['kill']} | {at} | {r['exit']} | {saw} |")
    lines += [
        "",
        f"{len(rows)} attempts ({len(STEPS)} at publishing steps, {kills} at random moments), "
        f"{len(killed)} killed before they ended; after every attempt the reader saw one "
        f"complete run in {len(ok)} of {len(rows)} (the new one {new} times, the previous one "
        f"{len(ok) - new} times), a mix or an error in {len(rows) - len(ok)}. After a last "
        f"complete run (exit {res['last_exit']}) the folder held only: "
        + ", ".join(f"`{p.split('/')[0]}`" for p in res["left"] if "/" not in p)
        + " and the current run folder. Random moments seldom fall in the publishing steps "
        "(a small part of a run), which is why each step is also killed on purpose.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=50_000)
    parser.add_argument("--kills", type=int, default=20, help="kills at random moments")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cohort", type=Path, help="contract tables (default: synthetic)")
    parser.add_argument("--model", type=Path, help="a saved model folder (default: fitted)")
    parser.add_argument("--work", type=Path, help="output folder (default: temporary)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp) / "out"
        cohort, model = args.cohort, args.model
        if cohort is None or model is None:
            cohort, model = _cohort_and_model(args.children, Path(tmp))
        res = run_kills(cohort, model, work, args.kills, args.seed)
    if args.json:
        print(json.dumps(res))
        return
    text = _report(res, args.children, args.kills)
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
