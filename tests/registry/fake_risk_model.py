"""A stand-in for ``send_early.model.RiskModel``, allowed in-process for ``load_model``.

Importing this module allows the class with ``allow_model_class`` (the registry never
imports a class named by the store). It saves as JSON (no pickle), like RiskModel.
MLflow's own loader (the pyfunc) loads RiskModel only, so tests that go through
``mlflow.pyfunc`` use a real model.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from send_early.registry._loading import allow_model_class

#: Child ids and a value present only in the fake's training data.
SECRET_IDS = [f"ZQCHILD{i:05d}X" for i in range(40)]
SECRET_VALUE = 987654.321
FAKE_CLASS = "fake_risk_model.FakeRiskModel"

PIPELINE_TOML = 'name = "fake_pipeline"\nversion = 1\n'
MODEL_TOML = 'name = "fake_model"\noutcome = "ehcp"\nhorizon_months = 24\n'


def make_features(ids, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = len(ids)
    return pd.DataFrame(
        {
            "age_months": pd.array(rng.integers(48, 70, n), dtype="Int64"),
            "attendance_rate_3t": pd.array(rng.uniform(0.7, 1.0, n), dtype="Float64"),
            "asq_communication_below": pd.array(rng.random(n) < 0.2, dtype="boolean"),
            "sex": pd.Series(rng.choice(["F", "M"], n), dtype=pd.CategoricalDtype(["F", "M"])),
            "imd_decile": pd.array(rng.integers(1, 11, n), dtype="Int64"),
        },
        index=pd.Index(ids, name="child_id", dtype="str"),
    )


class FakeRiskModel:
    """Scores with fixed weights learnt as simple mean differences (aggregates only)."""

    numeric = ["age_months", "attendance_rate_3t", "asq_communication_below", "imd_decile"]

    def __init__(self, name: str = "fake_model", capacity: int = 3):
        self.name = name
        self.capacity = capacity

    def fit(self, X: pd.DataFrame, y: pd.Series):
        Xn = X[self.numeric].astype("float64")
        self.means_ = Xn.mean().to_dict()
        self.scales_ = Xn.std().replace(0, 1).to_dict()
        Z = (Xn - pd.Series(self.means_)) / pd.Series(self.scales_)
        yy = y.to_numpy(dtype="float64")
        self.weights_ = {
            c: float(np.mean(Z[c].to_numpy()[yy == 1]) - np.mean(Z[c].to_numpy()[yy == 0]))
            for c in self.numeric
        }
        self.metadata_ = {
            "as_of_dates": ["2023-09-01", "2024-09-01"],
            "extract_date": "2025-08-31",
            "n_train": int(len(X)),
            "n_positive": int(yy.sum()),
            "contract_version": "1",
            "outcome": "ehcp",
            "horizon": 24,
            "pipeline_spec_text": PIPELINE_TOML,
            "pipeline_spec_sha256": hashlib.sha256(PIPELINE_TOML.encode()).hexdigest(),
            "model_spec_text": MODEL_TOML,
            "model_spec_sha256": hashlib.sha256(MODEL_TOML.encode()).hexdigest(),
        }
        self.pipeline_spec_text_ = PIPELINE_TOML
        self.model_spec_text_ = MODEL_TOML
        self.reference_ = {"features": {"age_months": {"bins": [48, 60, 72], "freq": [0.5, 0.5]}}}
        self.global_explanation_ = pd.DataFrame(
            {"feature": list(self.weights_), "weight": list(self.weights_.values())}
        )
        return self

    def save(self, path) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=False)
        state = {
            "name": self.name,
            "capacity": self.capacity,
            "means": self.means_,
            "scales": self.scales_,
            "weights": self.weights_,
        }
        (path / "fake_model.json").write_text(json.dumps(state))  # key order matters
        (path / "pipeline.toml").write_text(self.pipeline_spec_text_)
        (path / "model.toml").write_text(self.model_spec_text_)
        (path / "metadata.json").write_text(json.dumps(self.metadata_, sort_keys=True))
        (path / "reference.json").write_text(json.dumps(self.reference_, sort_keys=True))
        return path

    @classmethod
    def load(cls, path):
        path = Path(path)
        state = json.loads((path / "fake_model.json").read_text())
        self = cls(state["name"], state["capacity"])
        self.means_, self.scales_, self.weights_ = state["means"], state["scales"], state["weights"]
        self.metadata_ = json.loads((path / "metadata.json").read_text())
        self.reference_ = json.loads((path / "reference.json").read_text())
        self.pipeline_spec_text_ = (path / "pipeline.toml").read_text()
        self.model_spec_text_ = (path / "model.toml").read_text()
        return self

    def feature_schema(self) -> pd.DataFrame:
        return make_features([]).iloc[:0]

    def score_features(self, features: pd.DataFrame, *, capacity=None) -> pd.DataFrame:
        capacity = self.capacity if capacity is None else capacity
        Xn = features[self.numeric].astype("float64").fillna(pd.Series(self.means_))
        Z = (Xn - pd.Series(self.means_)) / pd.Series(self.scales_)
        contrib = Z * pd.Series(self.weights_)
        logit = contrib.sum(axis=1)
        risk = 1.0 / (1.0 + np.exp(-logit))
        rank = risk.rank(ascending=False, method="first").astype("int64")
        order = np.argsort(-contrib.to_numpy(), axis=1)
        names = np.asarray(self.numeric, dtype=object)[order]
        out = pd.DataFrame(
            {
                "risk": risk.astype("float64"),
                "rank": rank,
                "flagged": rank <= capacity,
                "reason_1": names[:, 0],
                "reason_2": names[:, 1],
                "reason_3": names[:, 2],
            },
            index=features.index,
        )
        return out.rename_axis("child_id").reset_index()


allow_model_class(FakeRiskModel)


def write_card(folder: Path, checks: list[dict]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    js = folder / "model_card.json"
    js.write_text(json.dumps({"title": "fake", "checks": checks}))
    html = folder / "model_card.html"
    html.write_text("<html><body><h1>Model card</h1></body></html>")
    return [html, js]


EVALUATION = {
    "headline": {"roc_auc": 0.81, "average_precision": 0.42, "brier": 0.11},
    "capacity": {"precision_at_k": 0.5, "recall_at_k": 0.3, "k": 3},
    "calibration": {"ece": 0.02},
    "n_test": 400,
    "curve": [0.1, 0.2, 0.3],  # lists are not metrics
}
AUDIT = {"sex": {"F": {"recall_at_k": 0.31}, "M": {"recall_at_k": 0.29}}, "max_gap": 0.02}


def log_with_real_card(fitted, store_dir, folder: Path):
    """Log ``fitted`` as a candidate of "risk" with a small real model card (in ``folder``);
    returns (card, info)."""
    from types import SimpleNamespace

    from send_early.registry import log_model
    from send_early.report import build_model_card

    model = SimpleNamespace(feature_names_=["age_months"], metadata_={"n_train": 500})
    card = build_model_card(model, {"headline": {"n": 800, "ece": 0.01}}, None)
    card.save(folder)
    info = log_model(
        fitted,
        card_paths=[card.json_path, card.html_path],
        registered_name="risk",
        tracking_uri=store_dir,
    )
    return card, info


def force_promote(version, store_dir):
    """Promote candidate ``version`` of "risk" as reviewer rev-1, forced past its checks."""
    from send_early.registry import promote

    return promote(
        "risk",
        version,
        reviewer="rev-1",
        note="agreed",
        force=True,
        force_reason="example card without an evaluation",
        tracking_uri=store_dir,
    )
