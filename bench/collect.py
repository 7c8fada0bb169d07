"""Assemble docs/benchmarks.md from the bench/results_*.md files each script writes.

Run after the benchmark scripts: ``python bench/collect.py``.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = [
    "import",
    "synth",
    "features",
    "engines",
    "engines_10m",
    "estimators",
    "models",
    "ebm",
    "tuning",
    "fit",
    "evaluation",
    "report",
    "registry",
    "scoring",
    "predict",
    "kill",
]
INTRO = """# Benchmarks

Every figure below was measured on this project's machine kind (2 cores, 24 GiB, no GPU) by the
script named in its section, with a baseline measured in the same run, so the ratios are what to
compare across machines. Regenerate a section with its script, then `python bench/collect.py`.
Time and memory targets live here, never in unit tests.

| script | what it measures | targets |
|---|---|---|
| `bench/bench_import.py` | `import send_early` in a fresh interpreter, against `import pandas` | loads no scikit-learn, SciPy, MLflow or matplotlib |
| `bench/bench_synth.py` | synthetic cohort generation, 10k to 1M children | 100k < 30 s, 1M < 5 min, peak < 8 GB |
| `bench/bench_features.py` | `build_features` throughput and memory, 10k to 1M children | 200k < 15 s, 1M < 90 s and < 8 GB |
| `bench/bench_engines.py` | `build_features` on the memory engine against DuckDB (DataFrames, Parquet in place), 1M children (200k also recorded); `--scale 10`: 10M children from Parquet written in chunks | equal results; times and memory recorded; DuckDB 10M < 5 min within 16 GB |
| `bench/bench_estimators.py` | estimators on real open datasets and simulated data, against LR, HGB and EBM | AUC within 0.005 of HGB; >= EBM at >= 10x less fit time |
| `bench/bench_models.py` | the risk models on a synthetic cohort with a temporal split | AUC within 0.005 of HGB; ECE < 0.02; `explain_local` 1M rows < 10 s |
| `bench/bench_vs_ebm.py` | the default additive model against EBM over several synthetic cohorts | >= EBM AUC at >= 10x less fit time |
| `bench/tune_additive.py` | settings tried to close the gap to EBM (recorded by hand in `results_tuning.md`) | - |
| `bench/bench_fit.py` | fit on 200,000 distinct training rows | < 60 s |
| `bench/bench_evaluation.py` | metrics, audit and bootstrap on 1M children | seconds |
| `bench/render_card.py` | model card build and headless-browser render | offline, readable on a phone |
| `bench/bench_registry.py` | MLflow log + register, load with checksum | < 5 s |
| `bench/bench_scoring.py` | scoring 1M prepared rows; `send-early score` on 200k children | < 10 s and <= 3x `predict_proba`; < 60 s |
| `bench/bench_predict.py` | additive `predict_proba` on 1M rows x 20 features against a bare searchsorted-and-gather | <= 3x the floor |
| `bench/kill_scoring.py` | `send-early score` on 50,000 children killed at random moments and at each publishing step | a reader sees the previous or the new complete run, never a mix |

"""


def main() -> None:
    parts = [INTRO]
    for name in ORDER:
        f = HERE / f"results_{name}.md"
        if f.exists():
            text = f.read_text().strip()
            lines = text.splitlines()
            if lines and lines[0].startswith("# "):
                lines[0] = "#" + lines[0]
            parts.append("\n".join(lines) + "\n")
    out = HERE.parent / "docs" / "benchmarks.md"
    out.write_text("\n".join(parts))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
