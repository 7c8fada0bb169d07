"""Try AdditiveRiskClassifier settings on the bench_models split (ranking AUC only, no calibration).

Usage: ``python bench/tune_additive.py '{"n_bags": 4, "learning_rate": 0.1}' ['{...}' ...]``;
add ``"nomono": True`` to a dict to drop the model spec's monotone constraints. The stacked frame of
``make_cohort(100000, random_state=0)`` is cached in ``bench/results/`` (ignored by git).
Findings are recorded in bench/results_models.md.
"""

from __future__ import annotations

import ast
import sys
import time
from pathlib import Path

import pandas as pd
from sklearn.metrics import roc_auc_score

from send_early import RiskModel
from send_early.datasets import make_cohort
from send_early.estimators import AdditiveRiskClassifier
from send_early.features import make_training_frame

CACHE = Path(__file__).with_name("results") / "tune_frame.parquet"
TRAIN = ["2016-09-01", "2017-09-01", "2018-09-01", "2019-09-01"]
TEST = "2023-08-31"


def main() -> None:
    spec = RiskModel.from_spec("default")
    if not CACHE.exists():
        CACHE.parent.mkdir(exist_ok=True)
        frame = make_training_frame(
            make_cohort(100_000, random_state=0), [*TRAIN, TEST], pipeline=spec.pipeline
        )
        frame[spec._in_age_range(frame)].to_parquet(CACHE)
    fr = pd.read_parquet(CACHE)
    feats = spec._usable_features(
        [c for c in fr.columns if c not in ("label", "event_date", "months_to_event")]
    )
    when = fr.index.get_level_values("as_of")
    tr, te = fr[when != pd.Timestamp(TEST)], fr[when == pd.Timestamp(TEST)]
    mono = {f: v for f, v in spec.spec.monotone.items() if f in feats}
    for arg in sys.argv[1:]:
        cfg = dict(ast.literal_eval(arg))
        mc = None if cfg.pop("nomono", False) else mono
        t = time.perf_counter()
        m = AdditiveRiskClassifier(**{"monotonic_cst": mc, "random_state": 0, **cfg}).fit(
            tr[feats], tr["label"].to_numpy(int)
        )
        dt = time.perf_counter() - t
        auc = roc_auc_score(te["label"].to_numpy(int), m.decision_function(te[feats]))
        print(
            arg,
            f"AUC {auc:.4f}, fit {dt:.1f} s, rounds {m.n_iter_.tolist()}, pairs {m.interactions_}",
            flush=True,
        )


if __name__ == "__main__":
    main()
