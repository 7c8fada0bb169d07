"""Benchmark: build_features on the memory engine against the DuckDB engine (Ibis), 200k children.

Each run is its own subprocess (so peak memory is per engine and source):
- ``memory``: ``build_features(tables, as_of, check=False)`` on DataFrames from make_cohort;
- ``duckdb, DataFrames``: the same DataFrames, ``engine="duckdb"`` (registered with DuckDB as Arrow);
- ``duckdb, Parquet``: the cohort written once as a folder of Parquet files, read in place by
  DuckDB (the process never holds the tables in pandas).
The cohort is cached as a pickle and as Parquet under bench/results/ (an ignored folder). The
parent then checks the three feature frames are equal (values to 1e-9, NaN where NaN).
Figures go to bench/results_engines.md.

Usage: python bench/bench_engines.py [--n 200000] [--repeat 2]
       python bench/bench_engines.py --n 1000000 --scale 10   (10M children, Parquet in chunks)
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / "results"
OUT = ROOT / "bench" / "results_engines.md"
AS_OF = "2020-09-01"
RUNS = ("memory", "duckdb-frames", "duckdb-parquet", "spark-parquet")
#: The Spark run's local session: two cores, as DuckDB has; the driver holds the data.
SPARK_CONF = {
    "spark.master": "local[2]",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.memory": "8g",
}


def _rss_gb() -> float:
    """Peak resident memory of this process image (VmHWM; ru_maxrss would keep the parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1e6  # kB -> GB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # pragma: no cover


def _jvm_rss_gb() -> float:
    """Peak resident memory of the Spark JVM(s) this process started (0 if none)."""
    me, total = str(os.getpid()), 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            status = (stat.parent / "status").read_text()
        except OSError:
            continue
        if fields[1] == me and "java" in (stat.parent / "comm").read_text():
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1e6
    return total


def _spark_session():
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("bench_engines")
    for key, value in SPARK_CONF.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _cohort(n: int):
    from send_early.datasets import make_cohort
    from send_early.schema import write_tables

    CACHE.mkdir(parents=True, exist_ok=True)
    path, folder = CACHE / f"cohort_{n}.pkl", CACHE / f"cohort_{n}_parquet"
    if path.exists():
        tables = pickle.loads(path.read_bytes())
    else:
        tables = make_cohort(n, random_state=0)
        path.write_bytes(pickle.dumps(tables, protocol=5))
    if not folder.exists():
        write_tables(tables, folder, format="parquet")
    return tables, folder


def one(run: str, n: int, repeat: int) -> dict:
    from send_early.features import build_features

    if run in ("duckdb-parquet", "spark-parquet"):
        source, kw = CACHE / f"cohort_{n}_parquet", {"engine": run.split("-")[0]}
        if run == "spark-parquet":
            _spark_session()  # build_features uses the active session
    else:
        source = pickle.loads((CACHE / f"cohort_{n}.pkl").read_bytes())
        kw = {"engine": "duckdb"} if run == "duckdb-frames" else {}
    rss_data = _rss_gb()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        X = build_features(source, AS_OF, check=False, **kw)
        times.append(time.perf_counter() - t0)
    X.to_parquet(CACHE / f"engines_{run}_{n}.parquet")
    return {
        "run": run, "n": n, "population": len(X), "columns": X.shape[1], "seconds": min(times),
        "rss_data_gb": rss_data, "rss_peak_gb": _rss_gb() + _jvm_rss_gb(),
    }  # fmt: skip


def _max_diff(n: int) -> float:
    import numpy as np
    import pandas as pd

    frames = [pd.read_parquet(CACHE / f"engines_{r}_{n}.parquet") for r in RUNS]
    worst = 0.0
    for other in frames[1:]:
        assert other.index.equals(frames[0].index) and list(other.columns) == list(frames[0])
        for c in frames[0]:
            a, b = frames[0][c], other[c]
            if isinstance(a.dtype, pd.CategoricalDtype):
                assert a.astype(object).equals(b.astype(object)), c
                continue
            a, b = a.to_numpy(np.float64), b.to_numpy(np.float64)
            assert np.array_equal(np.isnan(a), np.isnan(b)), c
            ok = ~np.isnan(a)
            worst = max(worst, float(np.abs(a[ok] - b[ok]).max(initial=0.0)))
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--one", choices=RUNS, help=argparse.SUPPRESS)
    ap.add_argument("--scale", type=int, help="K copies of the N-child cohort (10M: --scale 10)")
    ap.add_argument("--limit-gb", type=float, default=16.0, help="kill a run past this RSS")
    ap.add_argument("--one-scale", choices=SCALE_RUNS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one_scale:
        print(json.dumps(scale_one(args.one_scale, _scale_folder(args.n, args.scale))))
        return
    if args.scale:
        scale(args.n, args.scale, args.limit_gb)
        return
    if args.one:
        print(json.dumps(one(args.one, args.n, args.repeat)))
        return
    t0 = time.perf_counter()
    tables, _ = _cohort(args.n)
    rows = sum(len(df) for df in tables.values())
    del tables
    print(f"cohort of {args.n:,} children ready in {time.perf_counter() - t0:.0f} s", flush=True)
    results = []
    for run in RUNS:
        cmd = [sys.executable, __file__, "--one", run, "--n", str(args.n)]
        cmd += ["--repeat", str(args.repeat)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(r)
        print(f"{run:>15}: {r['seconds']:.2f} s, peak RSS {r['rss_peak_gb']:.2f} GB", flush=True)
    write(results, rows, _max_diff(args.n), args.repeat)


def write(results: list[dict], rows: int, diff: float, repeat: int) -> None:
    n = results[0]["n"]
    base = results[0]["seconds"]
    lines = [
        "# Feature engines: memory against DuckDB",
        "",
        "Generated by `python bench/bench_engines.py`; a synthetic cohort from",
        f"`send_early.datasets.make_cohort({n:,}, random_state=0)` ({rows:,} rows in all tables),",
        f"as-of {AS_OF}, pipeline `default`. Machine: {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.machine()};",
        "other work may have shared the machine, so treat times as +-20%. Each row is its own",
        f"process; best of {repeat} runs of `build_features(..., check=False)`.",
        "",
        "- **memory**: the numpy engine on the typed DataFrames.",
        '- **duckdb, DataFrames**: `engine="duckdb"` on the same DataFrames (registered as Arrow).',
        '- **duckdb, Parquet**: `engine="duckdb"` on the cohort written as Parquet files, read in',
        "  place: the process never loads the tables into pandas.",
        '- **spark local, Parquet**: `engine="spark"` on the same files, a local session',
        "  (`local[2]`, 8 GB driver); its peak RSS adds the JVM's to the Python process's.",
        "- **RSS data**: the process after loading its input (the DataFrames; nothing for Parquet);",
        "  **peak RSS**: the whole process at the end.",
        "",
        "| engine, source | in population | columns | seconds | x memory | RSS data GB | peak RSS GB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    names = {
        "memory": "memory, DataFrames",
        "duckdb-frames": "duckdb, DataFrames",
        "duckdb-parquet": "duckdb, Parquet",
        "spark-parquet": "spark local, Parquet",
    }
    for r in results:
        lines.append(
            f"| {names[r['run']]} | {r['population']:,} | {r['columns']} | {r['seconds']:.2f} "
            f"| {r['seconds'] / base:.1f} | {r['rss_data_gb']:.2f} | {r['rss_peak_gb']:.2f} |"
        )
    lines += [
        "",
        "The feature frames of every run are equal: same children, columns and categories; the largest",
        f"absolute difference of a number is {diff:.1e}.",
        "",
        "DuckDB runs with its default threads (all cores). Its times include starting the",
        "connection, registering or scanning the tables and compiling the query through Ibis and",
        "sqlglot (a fixed cost under a second). What DuckDB buys is memory: from Parquet the tables are",
        "scanned, never held in pandas. Sizes past one machine's memory (1M and 10M children) are",
        "not measured yet.",
        "",
    ]
    OUT.write_text("\n".join(lines))


# --------------------------------------------------------------------------- 10M scale run
SCALE_OUT = ROOT / "bench" / "results_engines_10m.md"
SCALE_RUNS = ("duckdb-parquet", "memory")
DUCKDB_MEMORY_LIMIT = "12GB"


def _scale_folder(n: int, k: int) -> Path:
    """``k`` copies of the ``n``-child cohort as one Parquet folder, written a chunk at a time.

    Each copy's child ids carry a prefix (``c3_``), so the children are distinct; their records
    are the same. Every table file is one Parquet file with a row group (or more) per chunk.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = CACHE / f"cohort_{n}x{k}_parquet"
    if (folder / "manifest.json").exists():
        return folder
    tables, _ = _cohort(n)
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        writer = None
        try:
            for i in range(k):
                part = df.assign(child_id=f"c{i}_" + df["child_id"].astype("str"))
                t = pa.Table.from_pandas(part, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(folder / f"{name}.parquet", t.schema)
                writer.write_table(t.cast(writer.schema))
        finally:
            if writer is not None:
                writer.close()
    meta = {"extract_date": tables.extract_date.date().isoformat()}
    (folder / "manifest.json").write_text(json.dumps(meta) + "\n")
    return folder


def _limit_duckdb_memory() -> None:
    """Every DuckDB connection Ibis opens in this process gets ``memory_limit`` (it spills past
    it); DuckDB's own default is 80% of the machine's memory, which is shared here."""
    from ibis.backends.duckdb import Backend

    connect = Backend.do_connect

    def do_connect(self, database=":memory:", read_only=False, extensions=None, **config):
        config.setdefault("memory_limit", DUCKDB_MEMORY_LIMIT)
        return connect(self, database, read_only, extensions, **config)

    Backend.do_connect = do_connect


def scale_one(run: str, folder: Path) -> dict:
    from send_early.features import build_features
    from send_early.schema import read_tables

    t0 = time.perf_counter()
    if run == "duckdb-parquet":
        _limit_duckdb_memory()
        X = build_features(folder, AS_OF, engine="duckdb")
        t_read = 0.0
    else:
        tables = read_tables(folder)
        t_read = time.perf_counter() - t0
        X = build_features(tables, AS_OF, check=False)
    seconds = time.perf_counter() - t0
    X[X.index.str.startswith("c0_")].to_parquet(CACHE / f"scale_{run}.parquet")  # copy 0
    return {
        "run": run, "population": len(X), "columns": X.shape[1], "seconds": seconds,
        "read_seconds": t_read, "rss_peak_gb": _rss_gb(),
    }  # fmt: skip


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)  # children waited for
    return r.ru_utime + r.ru_stime


def _run_watched(cmd: list[str], limit_gb: float) -> tuple[dict | None, float, float, float]:
    """Run ``cmd``; kill it (its own id only) if its resident memory passes ``limit_gb``.

    Returns (its JSON result or None if killed or failed, seconds, highest RSS seen in GB,
    its CPU seconds, user and system: what a busy machine does not inflate).
    """
    t0, cpu0 = time.perf_counter(), _cpu_children()
    out_path, err_path = CACHE / "scale_run.out", CACHE / "scale_run.err"
    with out_path.open("w") as out, err_path.open("w") as err:  # files: a pipe could fill up
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, cwd=ROOT)
    status, seen = Path(f"/proc/{proc.pid}/status"), 0.0
    while proc.poll() is None:
        try:
            rss = next(
                int(line.split()[1]) / 1e6
                for line in status.read_text().splitlines()
                if line.startswith("VmRSS:")
            )
        except (OSError, StopIteration):
            rss = 0.0
        seen = max(seen, rss)
        if rss > limit_gb:
            proc.kill()
            proc.wait()
            return None, time.perf_counter() - t0, seen, _cpu_children() - cpu0
        time.sleep(0.5)
    seconds, cpu = time.perf_counter() - t0, _cpu_children() - cpu0
    if proc.returncode != 0:
        print(err_path.read_text()[-2000:], file=sys.stderr, flush=True)
        return None, seconds, seen, cpu
    return json.loads(out_path.read_text().strip().splitlines()[-1]), seconds, seen, cpu


def _mem_available_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1e6
    return 0.0  # pragma: no cover


def _scale_check(n: int) -> float:
    """Copy 0 of the 10M DuckDB frame against the memory engine on the ``n``-child cohort."""
    import numpy as np
    import pandas as pd

    from send_early.features import build_features

    tables, _ = _cohort(n)
    ref = build_features(tables, AS_OF, check=False)
    got = pd.read_parquet(CACHE / "scale_duckdb-parquet.parquet")
    got.index = got.index.str.removeprefix("c0_")
    assert got.index.equals(ref.index) and list(got.columns) == list(ref.columns)
    worst = 0.0
    for c in ref:
        a, b = ref[c], got[c]
        if isinstance(a.dtype, pd.CategoricalDtype):
            assert a.astype(object).equals(b.astype(object)), c
            continue
        a, b = a.to_numpy(np.float64), b.to_numpy(np.float64)
        if c.endswith("_standing"):  # a group under min_group at n children may reach it at k*n
            a = np.where(np.isnan(a), b, a)
        assert np.array_equal(np.isnan(a), np.isnan(b)), c
        ok = ~np.isnan(a)
        worst = max(worst, float(np.abs(a[ok] - b[ok]).max(initial=0.0)))
    return worst


def scale(n: int, k: int, limit_gb: float) -> None:
    t0 = time.perf_counter()
    folder = _scale_folder(n, k)
    size = sum(f.stat().st_size for f in folder.glob("*.parquet")) / 1e9
    print(f"{n * k:,} children as Parquet ({size:.1f} GB) in {time.perf_counter() - t0:.0f} s")
    results = []
    for run in SCALE_RUNS:
        limit = min(limit_gb, _mem_available_gb() - 3.0)
        load_before = os.getloadavg()
        cmd = [sys.executable, __file__, "--one-scale", run, "--n", str(n), "--scale", str(k)]
        r, seconds, seen, cpu = _run_watched(cmd, limit)
        load_after = os.getloadavg()
        results.append(
            {"run": run, "result": r, "seconds": seconds, "rss_seen_gb": seen, "limit_gb": limit,
             "cpu_s": cpu, "load": (load_before[0], load_after[0], load_after[2])}
        )  # fmt: skip
        print(run, json.dumps(results[-1]), flush=True)
    diff = _scale_check(n) if results[0]["result"] else None
    write_scale(n, k, size, results, diff)


def write_scale(n: int, k: int, size: float, results: list[dict], diff: float | None) -> None:
    lines = [
        f"# Feature engines at {n * k / 1e6:g}M children: memory against DuckDB",
        "",
        f"Generated by `python bench/bench_engines.py --n {n} --scale {k}`. `make_cohort` holds a",
        f"whole cohort in memory (4.8 GB at 1M children), so {n * k:,} at once would not fit:",
        f"the folder holds {k} copies of `make_cohort({n:,}, random_state=0)`, written one copy",
        "(chunk) at a time, each copy's child ids prefixed (`c0_`, `c1_`, ...):",
        f"{n * k:,} distinct children, {k} times the same records ({size:.1f} GB of Parquet).",
        f"As-of {AS_OF}, pipeline `default`. Machine: {os.cpu_count()} cores, "
        f"{_mem_total_gb():.0f} GB memory, shared with other jobs: each time is an upper bound.",
        "Each run is its own process; a watchdog kills it when its resident memory passes the",
        "limit (16 GB, or less when the machine had less free). DuckDB runs with",
        f"`memory_limit = {DUCKDB_MEMORY_LIMIT}` (it spills to disk past it) and its default",
        "threads.",
        "",
        "| engine, source | in population | seconds | CPU seconds | peak RSS GB | limit GB "
        "| load average (1 min before, after; 15 min after) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    names = {"memory": "memory, read_tables then DataFrames", "duckdb-parquet": "duckdb, Parquet"}
    for r in results:
        got = r["result"]
        load = "{:.1f}, {:.1f}; {:.1f}".format(*r["load"])
        cpu = "-" if r.get("cpu_s") is None else f"{r['cpu_s']:.0f}"
        if got:
            lines.append(
                f"| {names[r['run']]} | {got['population']:,} | {got['seconds']:.0f} | "
                f"{cpu} | {got['rss_peak_gb']:.2f} | {r['limit_gb']:.1f} | {load} |"
            )
        else:
            lines.append(
                f"| {names[r['run']]} | did not finish | killed after {r['seconds']:.0f} | "
                f"{cpu} | over {r['rss_seen_gb']:.2f} | {r['limit_gb']:.1f} | {load} |"
            )
    if diff is not None:
        lines += [
            "",
            f"Check: the DuckDB features of copy 0 equal the memory engine's on the {n:,}-child",
            f"cohort (same children, columns, categories; largest absolute difference {diff:.1e}).",
        ]
    SCALE_OUT.write_text("\n".join(lines) + "\n")


def _mem_total_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1e6
    return 0.0  # pragma: no cover


if __name__ == "__main__":
    main()
