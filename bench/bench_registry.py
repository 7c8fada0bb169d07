"""Time logging + registering a model with send_early.registry against a bare MLflow run.

Run: python bench/bench_registry.py [--repeats 5] [--out bench/results_registry.md]

Everything happens in a temporary SQLite store. The model is the RiskModel stand-in
from tests/registry (same save/load protocol, a few KB of files); the real RiskModel
writes a similar small directory. Target: log + register < 5 s.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "registry"))

from fake_risk_model import AUDIT, EVALUATION, write_card  # noqa: E402

from send_early.registry import load_model, log_model, open_store, promote  # noqa: E402
from send_early.registry._store import import_mlflow, using_store  # noqa: E402


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(REPO / "bench" / "results_registry.md"))
    args = parser.parse_args()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        mlflow = import_mlflow()
        importlib.import_module("mlflow.pyfunc")

        t_import = time.perf_counter() - t0

    from send_early import RiskModel
    from send_early.datasets import make_cohort

    tables = make_cohort(20_000, random_state=0)
    t0 = time.perf_counter()
    model = RiskModel.from_spec("default").fit(tables)  # a real model, saved as data
    t_fit = time.perf_counter() - t0
    X = model.build_features(tables, tables.extract_date)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        store = open_store(tmp / "store", experiment="send_early")
        t_create = time.perf_counter() - t0
        cards = write_card(tmp / "card", [{"name": "calibration", "passed": True}])
        exp_id = store.client().get_experiment_by_name("send_early").experiment_id

        def baseline():
            with using_store(store), mlflow.start_run(experiment_id=exp_id):
                mlflow.log_param("x", 1)

        def full():
            log_model(
                model,
                evaluation=EVALUATION,
                audit=AUDIT,
                card_paths=cards,
                registered_name="bench",
                tracking_uri=store.path,
            )

        log_model(model, registered_name="bench", tracking_uri=store.path)  # warm-up
        base = timed(baseline, args.repeats)
        logm = timed(full, args.repeats)
        # version 1 (the warm-up) has no model card, so promote the first logged with one
        promote("bench", "2", reviewer="bench", note="bench", tracking_uri=store.path)
        load = timed(lambda: load_model("bench", tracking_uri=store.path), args.repeats)
        pf = mlflow.pyfunc
        with using_store(store):
            loaded = pf.load_model("models:/bench@champion")
        predict = timed(lambda: loaded.predict(X), args.repeats)  # build_features output

    rows = [
        ("bare `mlflow.start_run` + `log_param` (baseline)", base),
        ("`log_model` + register + alias (params, metrics, card, specs, pyfunc)", logm),
        ("`load_model('NAME')` (champion, download + SHA-256 check + load)", load),
        (f"pyfunc `predict`, {len(X):,} children", predict),
    ]
    lines = [
        "# Registry benchmark",
        "",
        f"`python bench/bench_registry.py --repeats {args.repeats}`; MLflow {mlflow.__version__}, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores (load average "
        f"{os.getloadavg()[0]:.1f} at the end: other jobs shared the machine), temporary SQLite store. "
        f"Model: the default spec fitted on `make_cohort(20000, random_state=0)` ({t_fit:.0f} s), "
        "saved as data (model.json + arrays.npz, no pickle).",
        "",
        "| step | median s | min s | max s | x baseline |",
        "|---|---|---|---|---|",
    ]
    for label, (med, lo, hi) in rows:
        lines.append(f"| {label} | {med:.3f} | {lo:.3f} | {hi:.3f} | {med / base[0]:.1f} |")
    lines += [
        "",
        f"One-off costs: `import mlflow` + `mlflow.pyfunc` {t_import:.2f} s; creating a new store "
        f"(SQLite tables + experiment) {t_create:.2f} s.",
        "",
        f"Target log + register < 5 s: {'met' if logm[0] < 5 else 'NOT met'} "
        f"(median {logm[0]:.2f} s).",
        "",
    ]
    text = "\n".join(lines)
    Path(args.out).write_text(text, encoding="utf-8")
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
