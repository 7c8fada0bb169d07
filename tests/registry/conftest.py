"""Fixtures for registry tests; the RiskModel stand-in lives in fake_risk_model.py.

The fake follows the RiskModel protocol: ``save(path)`` writes a directory,
``load(path)`` reads it back, ``score_features`` returns child_id, risk, rank,
flagged and reason_1..3, ``feature_schema()`` is a zero-row frame. It is trained on
rows whose ids and values are distinctive, so the privacy test can scan the store for
them. ``load_model`` loads it because importing fake_risk_model allows the class in
the process (the store's class tag is never imported). MLflow's own loader reads
RiskModel folders only, so tests through ``mlflow.pyfunc`` use ``logged_real``: the
quickly fitted RiskModel of tests/conftest.py, logged once.
"""

from __future__ import annotations

import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # subprocesses import fake_risk_model too
    sys.path.insert(0, str(HERE))

from fake_risk_model import (  # noqa: E402
    AUDIT,
    EVALUATION,
    FAKE_CLASS,
    SECRET_IDS,
    SECRET_VALUE,
    FakeRiskModel,
    make_features,
    write_card,
)

# MLflow warns (UserWarning) while importing its own pyfunc module; import it once here
# so that tests run with warnings as errors only see warnings raised by the code under test.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from send_early.registry._store import import_mlflow

    import_mlflow()
    import mlflow.pyfunc  # noqa: F401

__all__ = [
    "AUDIT",
    "EVALUATION",
    "FAKE_CLASS",
    "SECRET_IDS",
    "SECRET_VALUE",
    "FakeRiskModel",
    "make_features",
    "write_card",
]


@pytest.fixture(scope="session")
def fitted_fake() -> FakeRiskModel:
    X = make_features(SECRET_IDS, seed=1)
    X.loc[SECRET_IDS[0], "attendance_rate_3t"] = SECRET_VALUE  # a value that must never leak
    y = pd.Series((np.arange(len(X)) % 4 == 0).astype(int), index=X.index)
    return FakeRiskModel().fit(X, y)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory) -> Path:
    """An initialised, empty store database, created once per session.

    Creating MLflow's tables takes seconds; tests that are not about creation copy
    this file instead (the creation itself is tested on its own).
    """
    from send_early.registry import open_store

    return open_store(tmp_path_factory.mktemp("template") / "store").path / "mlflow.db"


def fresh_store(template_db: Path, folder: Path) -> Path:
    folder.mkdir(parents=True)
    shutil.copy2(template_db, folder / "mlflow.db")
    return folder


@pytest.fixture
def store_dir(tmp_path, template_db) -> Path:
    return fresh_store(template_db, tmp_path / "store")


@pytest.fixture(scope="module")
def logged(tmp_path_factory, template_db, fitted_fake):
    """A store with one logged version (cards with every check passing)."""
    from send_early.registry import log_model

    root = tmp_path_factory.mktemp("registry")
    fresh_store(template_db, root / "store")
    cards = write_card(
        root / "card",
        [{"name": "calibration", "passed": True}, {"name": "subgroup_gap", "status": "pass"}],
    )
    info = log_model(
        fitted_fake,
        evaluation=EVALUATION,
        audit=AUDIT,
        card_paths=cards,
        registered_name="risk_ok",
        tracking_uri=root / "store",
    )
    return root / "store", info


#: The as-of date the real model's features are built at in registry tests.
REAL_AS_OF = "2023-09-01"


@pytest.fixture(scope="module")
def logged_real(tmp_path_factory, template_db, fitted_model, small_cohort):
    """A store with the real (quickly fitted) RiskModel logged as ``risk_real``, and
    features to score with it."""
    from send_early.registry import log_model

    root = tmp_path_factory.mktemp("registry_real")
    fresh_store(template_db, root / "store")
    info = log_model(fitted_model, registered_name="risk_real", tracking_uri=root / "store")
    features = fitted_model.build_features(small_cohort, REAL_AS_OF)
    return root / "store", info, features
