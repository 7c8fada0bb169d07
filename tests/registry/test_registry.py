"""Registry tests against a real SQLite-backed MLflow store in a temp folder (no mocks)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import as_registered_before_candidates
from fake_risk_model import (
    AUDIT,
    EVALUATION,
    FAKE_CLASS,
    SECRET_IDS,
    SECRET_VALUE,
    FakeRiskModel,
    make_features,
    write_card,
)
from hypothesis import given, settings
from hypothesis import strategies as st

import send_early
from send_early.registry import (
    OUTPUT_COLUMNS,
    REVIEW_CHECKLIST,
    VERSION_COLUMNS,
    allowed_aliases,
    directory_sha256,
    list_versions,
    load_model,
    log_drift,
    log_model,
    open_store,
    promote,
    pyfunc_input,
    review_summary,
)
from send_early.registry._card import parse_checks as _parse_checks
from send_early.registry._loading import _parse_ref
from send_early.registry._logging import _flatten_numbers
from send_early.registry._store import _backup_if_migrating, _resolve, import_mlflow

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def client_for(store_dir):
    return open_store(store_dir).client()


def model_files(store_dir: Path, info) -> Path:
    """The stored RiskModel directory of a logged model inside the artifact store."""
    model_id = info.model_uri.rsplit("/", 1)[-1]
    return store_dir / "artifacts" / "models" / model_id / "artifacts" / "data" / "risk_model"


# ----------------------------------------------------------------------------- store
def test_store_resolution_from_argument_env_and_default(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("SEND_EARLY_STORE", str(tmp_path / "envstore"))
    store = _resolve()
    assert store.path == (tmp_path / "envstore").resolve()
    assert store.tracking_uri == f"sqlite:///{store.path / 'mlflow.db'}"
    assert store.artifact_location == (store.path / "artifacts").as_uri()
    monkeypatch.delenv("SEND_EARLY_STORE")
    monkeypatch.chdir(tmp_path)
    assert _resolve().path == tmp_path.resolve() / "send_early_store"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'other' / 'mlflow.db'}")
    assert _resolve().path == (tmp_path / "other").resolve()
    # an explicit argument wins over the environment; a server URI is used as given
    assert _resolve(tmp_path / "arg").path == (tmp_path / "arg").resolve()
    remote = open_store("http://127.0.0.1:9")
    assert remote.path is None and remote.tracking_uri == "http://127.0.0.1:9"
    assert _resolve("databricks").tracking_uri == "databricks"


def test_open_store_refuses_memory_sqlite():
    with pytest.raises(ValueError, match="must name a SQLite file"):
        open_store("sqlite:///:memory:")


def test_backup_before_a_schema_migration(store_dir):
    import sqlite3

    db = store_dir / "mlflow.db"
    with sqlite3.connect(db) as con:  # pretend an older MLflow created the store
        head = con.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        con.execute("UPDATE alembic_version SET version_num = 'oldrev'")
    assert _backup_if_migrating(db) == db.with_name("mlflow.db.bak-oldrev")
    assert db.with_name("mlflow.db.bak-oldrev").stat().st_size == db.stat().st_size
    with sqlite3.connect(db) as con:
        con.execute("UPDATE alembic_version SET version_num = ?", (head,))
    assert _backup_if_migrating(db) is None  # same schema: nothing to do


def test_import_is_light_and_telemetry_off_by_default(tmp_path):
    code = textwrap.dedent(
        """
        import os, sys, json
        import send_early, send_early.registry
        light = "mlflow" not in sys.modules
        from send_early.registry._store import import_mlflow
        import_mlflow()
        from mlflow.telemetry.utils import is_telemetry_disabled
        print(json.dumps([light, os.environ.get("MLFLOW_DISABLE_TELEMETRY"),
                          is_telemetry_disabled()]))
        """
    )
    # a clean environment: no CI/pytest variables that would disable telemetry anyway
    env = {k: v for k, v in os.environ.items() if k not in {"PYTEST_CURRENT_TEST", "CI"}}
    env.pop("MLFLOW_DISABLE_TELEMETRY", None)
    env["HOME"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert json.loads(out.stdout) == [True, "true", True]


def test_telemetry_opt_in_is_respected(monkeypatch):
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "false")
    import_mlflow()
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "false"
    monkeypatch.delenv("MLFLOW_DISABLE_TELEMETRY")
    import_mlflow()
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true"


@pytest.mark.slow
def test_concurrent_first_use_of_a_new_store(tmp_path):
    store = tmp_path / "new_store"
    go = tmp_path / "go"
    worker = textwrap.dedent(
        f"""
        import os, sys, time
        while not os.path.exists({str(go)!r}):
            time.sleep(0.01)
        from send_early.registry import log_drift
        run_id = log_drift({{"age_months": 0.01 * int(sys.argv[1])}}, tracking_uri={str(store)!r})
        print(run_id)
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", worker, str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    go.touch()  # all workers start on the new store at once
    results = [p.communicate(timeout=180) for p in procs]
    errors = [err[-500:] for (out, err), p in zip(results, procs, strict=True) if p.returncode]
    assert not errors, errors
    run_ids = {out.strip() for out, _ in results}
    assert len(run_ids) == 3
    client = client_for(store)
    exp = client.get_experiment_by_name("send_early_batch")
    assert len(client.search_runs([exp.experiment_id])) == 3


# ----------------------------------------------------------------------------- log
def test_log_model_records_run_version_alias_and_tags(logged):
    store_dir, info = logged
    assert info.name == "risk_ok" and info.version == "1"
    assert info.registered_as == "risk_ok-candidates"  # a candidate, never production
    client = client_for(store_dir)
    run = client.get_run(info.run_id)
    params, metrics = run.data.params, run.data.metrics
    assert params["model_name"] == "fake_model"
    assert params["outcome"] == "ehcp" and params["horizon"] == "24"
    assert params["as_of_dates"] == "2023-09-01,2024-09-01"
    assert params["n_train"] == "40" and params["extract_date"] == "2025-08-31"
    assert "pipeline_spec_text" not in params  # spec text is an artifact, not a param
    assert metrics["headline.roc_auc"] == pytest.approx(0.81)
    assert metrics["capacity.precision_at_k"] == pytest.approx(0.5)
    assert metrics["fairness.sex.F.recall_at_k"] == pytest.approx(0.31)
    assert not any(k.startswith("curve") for k in metrics)

    mv = client.get_model_version_by_alias("risk_ok-candidates", "challenger")
    assert str(mv.version) == "1"
    assert mv.tags["send_early.registered_by"]  # the OS user on the embedded store
    assert mv.tags["send_early.artifact_sha256"] == info.artifact_sha256
    assert mv.tags["send_early.extract_date"] == "2025-08-31"
    assert mv.tags["send_early.model_class"] == FAKE_CLASS
    assert mv.tags["validation_status"] == "pending_review"
    # tags are short and readable: no JSON, nothing truncated
    assert mv.tags["send_early.checks"] == "2 passed, 0 failed"
    assert mv.tags["send_early.checks_passed"] == "calibration, subgroup_gap"
    assert all(len(v) <= 200 and not v.startswith(("{", "[")) for v in mv.tags.values())

    arts = {f.path for f in client.list_artifacts(info.run_id)}
    assert {"specs", "model_card", "explain"} <= arts
    specs = {f.path for f in client.list_artifacts(info.run_id, "specs")}
    assert specs == {"specs/pipeline.toml", "specs/model.toml", "specs/data_contract.json"}
    cards = {f.path for f in client.list_artifacts(info.run_id, "model_card")}
    assert cards == {"model_card/model_card.html", "model_card/model_card.json"}

    model_dir = model_files(store_dir, info).parent.parent
    names = {p.name for p in model_dir.iterdir()}
    assert "input_example.json" not in names and "serving_input_example.json" not in names
    reqs = (model_dir / "requirements.txt").read_text()
    assert "scikit-learn==" in reqs and "mlflow==" in reqs
    # the installed package is the loader: no Python file, no pickle, no code paths
    assert names == {"MLmodel", "conda.yaml", "python_env.yaml", "requirements.txt", "data"}
    mlmodel = (model_dir / "MLmodel").read_text()
    assert "loader_module: send_early.registry._pyfunc_loader" in mlmodel
    assert "data: data/risk_model" in mlmodel and "code: null" in mlmodel
    assert "python_model" not in mlmodel and "cloudpickle" not in mlmodel
    assert f"send_early_artifact_sha256: {info.artifact_sha256}" in mlmodel
    assert not [p for p in model_dir.rglob("*") if p.suffix in (".py", ".pkl", ".joblib")]


def test_artifact_sha256_is_the_saved_directory_digest(logged, fitted_fake, tmp_path):
    _, info = logged
    saved = fitted_fake.save(tmp_path / "again")
    assert directory_sha256(saved) == info.artifact_sha256


@settings(max_examples=25, deadline=None)
@given(
    files=st.dictionaries(
        st.from_regex(r"[a-z]{1,6}(/[a-z]{1,6})?", fullmatch=True),
        st.binary(max_size=64),
        min_size=1,
        max_size=6,
    ),
    data=st.data(),
)
def test_directory_sha256_depends_on_paths_and_bytes_only(tmp_path_factory, files, data):
    # drop paths that are also a parent folder of another path
    files = {k: v for k, v in files.items() if not any(o.startswith(k + "/") for o in files)}
    a, b = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    for root, items in ((a, sorted(files.items())), (b, sorted(files.items(), reverse=True))):
        for rel, content in items:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(content)
    assert directory_sha256(a) == directory_sha256(b)
    rel = data.draw(st.sampled_from(sorted(files)))
    (b / rel).write_bytes(files[rel] + b"x")
    assert directory_sha256(a) != directory_sha256(b)


def test_flatten_keeps_finite_scalars_only():
    out = _flatten_numbers(
        {"a": 1, "b": {"c": 0.5, "d": [1, 2]}, "e": float("nan"), "f": "x", "g": True}
    )
    assert out == {"a": 1.0, "b.c": 0.5, "g": 1.0}


def test_log_model_rejects_missing_card(fitted_fake, store_dir):
    with pytest.raises(FileNotFoundError, match="Model card file must exist"):
        log_model(fitted_fake, card_paths=[store_dir / "nope.json"], tracking_uri=store_dir)


# ----------------------------------------------------------------------------- review
def test_parse_checks_accepts_lists_and_mappings():
    checks = _parse_checks(
        {
            "checks": [
                {"name": "a", "passed": True},
                {"id": "b", "status": "FAIL"},
                {"name": "c", "status": "warn"},
            ]
        }
    )
    assert [(c["name"], c["passed"]) for c in checks] == [("a", True), ("b", False), ("c", None)]
    checks = _parse_checks({"checks": {"x": True, "y": {"ok": False, "detail": "gap"}}})
    assert [(c["name"], c["passed"], c["detail"]) for c in checks] == [
        ("x", True, ""),
        ("y", False, "gap"),
    ]
    assert _parse_checks({"title": "no checks"}) == []


def test_review_summary_lists_metrics_checks_and_checklist(logged):
    store_dir, info = logged
    summary = review_summary("risk_ok", info.version, tracking_uri=store_dir, candidate=True)
    assert summary.checks_passed == ["calibration", "subgroup_gap"] and summary.checks_failed == []
    assert summary.has_card and summary.status == "pending_review"
    assert summary.metrics["headline.roc_auc"] == pytest.approx(0.81)
    assert summary.checklist == REVIEW_CHECKLIST
    text = str(summary)
    assert "risk_ok-candidates version 1" in text and "[PASS] calibration" in text
    assert "headline.roc_auc: 0.81" in text and "[ ] " in text
    json.dumps(summary.to_dict())  # the CLI can print it as JSON


def test_review_of_unknown_version_is_a_clear_value_error(logged):
    store_dir, info = logged
    with pytest.raises(ValueError, match="risk_ok-candidates version 99 must exist"):
        review_summary(info.registered_as, 99, tracking_uri=store_dir)


def test_promote_moves_alias_and_records_decision(fitted_fake, tmp_path, store_dir):
    cards = write_card(tmp_path / "card", [{"name": "calibration", "passed": True}])
    first = log_model(fitted_fake, card_paths=cards, registered_name="risk", tracking_uri=store_dir)
    second = log_model(
        fitted_fake, card_paths=cards, registered_name="risk", tracking_uri=store_dir
    )
    p1 = promote("risk", first.version, reviewer="rev-1", note="first", tracking_uri=store_dir)
    assert p1.previous_version is None and not p1.forced
    p2 = promote(
        "risk", second.version, reviewer="rev-2", note="better recall", tracking_uri=store_dir
    )
    assert p2.previous_version == "1" and "approved by rev-2" in str(p2)
    client = client_for(store_dir)
    mv = client.get_model_version_by_alias("risk", "champion")
    assert str(mv.version) == "2"
    assert mv.tags["send_early.review.champion.reviewer"] == "rev-2"
    assert mv.tags["send_early.review.champion.note"] == "better recall"
    assert mv.tags["send_early.review.champion.previous_version"] == "1"
    assert mv.tags["validation_status"] == "approved"
    assert (
        client.get_model_version("risk", "1").tags["send_early.review.champion.replaced_by"] == "2"
    )
    with pytest.raises(ValueError, match="already holds the alias 'champion'"):
        promote("risk", "2", reviewer="rev-2", note="again", tracking_uri=store_dir)
    summary = review_summary("risk", "2", tracking_uri=store_dir)  # production version 2
    assert "champion" in summary.aliases and summary.has_card and summary.status == "approved"
    assert (
        review_summary("risk", "2", tracking_uri=store_dir, candidate=True).champion_version == "2"
    )
    assert mv.tags["send_early.lineage.candidate_version"] == "2"


def test_promote_refuses_failed_checks_unless_forced_with_reason(fitted_fake, tmp_path, store_dir):
    cards = write_card(
        tmp_path / "card",
        [{"name": "calibration", "passed": True}, {"name": "subgroup_gap", "passed": False}],
    )
    info = log_model(fitted_fake, card_paths=cards, registered_name="risk", tracking_uri=store_dir)
    with pytest.raises(
        ValueError, match=r"every model card check must pass; 1 failed: subgroup_gap"
    ):
        promote("risk", info.version, reviewer="r", note="n", tracking_uri=store_dir)
    with pytest.raises(ValueError, match="force=True needs force_reason"):
        promote("risk", info.version, reviewer="r", note="n", force=True, tracking_uri=store_dir)
    client = client_for(store_dir)
    with pytest.raises(Exception, match="not found"):  # no production version yet
        client.get_model_version_by_alias("risk", "champion")
    p = promote(
        "risk",
        info.version,
        reviewer="r",
        note="n",
        force=True,
        force_reason="gap explained by small group; monitored",
        tracking_uri=store_dir,
    )
    assert p.forced and p.checks_failed == ("subgroup_gap",)
    tags = client.get_model_version("risk", info.version).tags
    assert tags["send_early.review.champion.forced"] == "true"
    assert tags["send_early.review.champion.force_reason"].startswith("gap explained")
    assert tags["send_early.review.champion.checks_failed"] == "subgroup_gap"


def test_promote_needs_reviewer_and_note(logged):
    store_dir, info = logged
    with pytest.raises(ValueError, match="reviewer must name who approves.*note must say why"):
        promote("risk_ok", info.version, reviewer=" ", note="", tracking_uri=store_dir)


# ----------------------------------------------------------------------------- load
def test_load_by_alias_and_version_scores_like_the_original(logged, fitted_fake):
    store_dir, info = logged
    by_alias = load_model("models:/risk_ok-candidates@challenger", tracking_uri=store_dir)
    by_version = load_model("risk_ok-candidates/1", tracking_uri=store_dir)
    assert isinstance(by_alias, FakeRiskModel)
    assert by_alias.registry_["version"] == "1" and by_alias.registry_["alias"] == "challenger"
    assert by_version.registry_["artifact_sha256"] == info.artifact_sha256
    X = make_features([f"s{i}" for i in range(10)], seed=5)
    pd.testing.assert_frame_equal(by_alias.score_features(X), fitted_fake.score_features(X))


def test_load_missing_champion_is_a_clear_value_error(logged):
    store_dir, _ = logged
    with pytest.raises(ValueError, match=r"risk_ok@champion must exist"):
        load_model("risk_ok", tracking_uri=store_dir)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("models:/risk@champion", ("risk", None, "champion")),
        ("models:/risk/3", ("risk", "3", None)),
        ("risk", ("risk", None, "champion")),
        ("risk@challenger", ("risk", None, "challenger")),
        ("risk/12", ("risk", "12", None)),
    ],
)
def test_parse_ref(ref, expected):
    assert _parse_ref(ref) == expected


def test_parse_ref_refuses_other_schemes():
    with pytest.raises(ValueError, match="models:/NAME@ALIAS"):
        _parse_ref("runs:/abc/model")


def test_tampered_model_files_are_refused(fitted_fake, store_dir):
    info = log_model(fitted_fake, registered_name="risk", tracking_uri=store_dir)
    load_model("risk-candidates@challenger", tracking_uri=store_dir)  # intact: loads
    target = model_files(store_dir, info) / "metadata.json"
    target.write_text(target.read_text().replace('"n_train": 40', '"n_train": 41'))
    with pytest.raises(send_early.IntegrityError, match="must match the SHA-256 recorded"):
        load_model("risk-candidates@challenger", tracking_uri=store_dir)
    with pytest.raises(send_early.IntegrityError, match="must match the SHA-256 recorded"):
        promote("risk", info.version, reviewer="r", note="n", force=True,
                force_reason="no card in this test", tracking_uri=store_dir)  # fmt: skip
    import mlflow.pyfunc

    with pytest.raises(Exception, match="must match the SHA-256"):
        mlflow.pyfunc.load_model(str(model_files(store_dir, info).parent.parent))


def test_mismatched_registry_tag_is_refused(logged):
    store_dir, info = logged
    client = client_for(store_dir)
    cand = info.registered_as
    client.set_model_version_tag(cand, info.version, "send_early.artifact_sha256", "0" * 64)
    try:
        with pytest.raises(send_early.IntegrityError, match="recorded 0000000000000000"):
            load_model(f"{cand}/1", tracking_uri=store_dir)
    finally:
        client.set_model_version_tag(
            cand, info.version, "send_early.artifact_sha256", info.artifact_sha256
        )


# ----------------------------------------------------------------------------- pyfunc
def test_pyfunc_predicts_risk_rank_flag_and_reasons(logged_real, fitted_model, monkeypatch):
    store_dir, info, features = logged_real
    import mlflow.pyfunc

    monkeypatch.setenv("MLFLOW_TRACKING_URI", open_store(store_dir).tracking_uri)
    pf = mlflow.pyfunc.load_model("models:/risk_real-candidates@challenger")  # send_early's loader
    X = features.head(60)
    assert X[fitted_model.feature_names_].isna().any().any()
    out = pf.predict(pyfunc_input(X), params={"capacity": 4})  # plain JSON-like rows
    assert list(out.columns) == list(OUTPUT_COLUMNS)
    assert out["child_id"].tolist() == list(X.index)
    assert int(out["flagged"].sum()) == 4  # the param reaches predict
    expected = fitted_model.score_features(X, capacity=4)
    np.testing.assert_array_equal(out["risk"].to_numpy(), expected["risk"].to_numpy())
    assert out["reason_1"].tolist() == expected["reason_1"].astype(str).tolist()
    # build_features output (categoricals, NaN) goes in as it is
    direct = pf.predict(X, params={"capacity": 4})
    pd.testing.assert_frame_equal(direct, out)
    # a missing feature column is named, without echoing any row
    with pytest.raises(Exception, match="1 missing: imd_decile") as err:
        pf.predict(pyfunc_input(X.drop(columns="imd_decile")))
    assert X.index[0] not in str(err.value)


# ----------------------------------------------------------------------------- drift
def test_log_drift_logs_psi_metrics(store_dir):
    run_id = log_drift(
        pd.DataFrame({"feature": ["age_months", "imd_decile"], "psi": [0.02, 0.31]}),
        tracking_uri=store_dir,
        model="models:/risk/1",
        metrics={"n_scored": 1200, "n_rejected": 3},
        params={"batch_date": "2025-09-01"},
    )
    run = client_for(store_dir).get_run(run_id)
    assert run.data.metrics == {
        "psi.age_months": 0.02,
        "psi.imd_decile": 0.31,
        "n_scored": 1200.0,
        "n_rejected": 3.0,
    }
    assert run.data.params == {"batch_date": "2025-09-01"}
    assert run.data.tags["send_early.model"] == "models:/risk/1"
    assert run.info.status == "FINISHED"
    again = log_drift(pd.Series({"sex": 0.5}), run_id=run_id, tracking_uri=store_dir)
    assert again == run_id and client_for(store_dir).get_run(run_id).data.metrics["psi.sex"] == 0.5
    with pytest.raises(ValueError, match="columns 'feature' and 'psi'"):
        log_drift(pd.DataFrame({"x": [1]}), tracking_uri=store_dir)


# ----------------------------------------------------------------------------- privacy
def test_no_child_level_value_reaches_the_store_or_logs(
    fitted_fake, logged_real, tmp_path, store_dir, caplog, monkeypatch
):
    caplog.set_level(logging.DEBUG)
    cards = write_card(tmp_path / "card", [{"name": "calibration", "passed": True}])
    info = log_model(
        fitted_fake,
        evaluation=EVALUATION,
        audit=AUDIT,
        card_paths=cards,
        registered_name="risk",
        tracking_uri=store_dir,
    )
    promote("risk", info.version, reviewer="rev", note="ok", tracking_uri=store_dir)
    model = load_model("risk", tracking_uri=store_dir)
    score_ids = [f"ZQSCORE{i:04d}Y" for i in range(5)]
    scored = model.score_features(make_features(score_ids, seed=3))
    import mlflow.pyfunc

    real_store, real, features = logged_real  # mlflow.pyfunc loads real RiskModels only
    monkeypatch.setenv("MLFLOW_TRACKING_URI", open_store(real_store).tracking_uri)
    rows = features.head(len(score_ids)).set_axis(pd.Index(score_ids, name="child_id"))
    mlflow.pyfunc.load_model(f"models:/risk_real-candidates/{real.version}").predict(
        pyfunc_input(rows)
    )
    log_drift({"age_months": 0.1}, tracking_uri=store_dir, metrics={"n_scored": len(scored)})

    needles = [s.encode() for s in (*SECRET_IDS, *score_ids, repr(SECRET_VALUE), "987654")]
    blobs = [p.read_bytes() for p in store_dir.rglob("*") if p.is_file()]
    assert any(p.name == "mlflow.db" for p in store_dir.iterdir())
    leaks = [n.decode() for n in needles if any(n in b for b in blobs)]
    real_blobs = [p.read_bytes() for p in real_store.rglob("*") if p.is_file()]
    leaks += [s for s in score_ids if any(s.encode() in b for b in real_blobs)]
    assert leaks == []
    log_text = "\n".join(r.getMessage() for r in caplog.records)
    assert not [s for s in (*SECRET_IDS, *score_ids) if s in log_text]


# ----------------------------------------------------------------------------- serving
def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_mlflow_models_serve_scores_over_http(logged_real, tmp_path):
    import time
    import urllib.error
    import urllib.request

    store_dir, info, features = logged_real
    port = _free_port()
    env = dict(os.environ)
    env["MLFLOW_TRACKING_URI"] = open_store(store_dir).tracking_uri
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", "models:/risk_real-candidates@challenger",
         "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            try:
                with urllib.request.urlopen(f"{base}/ping", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            assert time.monotonic() < deadline, "server did not answer /ping within 120 s"
            time.sleep(0.5)
        rows = features.head(3).reset_index(drop=True).astype(object)
        rows = rows.where(rows.notna(), None)
        payload = {
            "dataframe_split": {
                "columns": ["child_id", *rows.columns],
                "data": [[f"h{i + 1}", *r] for i, r in enumerate(rows.to_numpy().tolist())],
            },
            "params": {"capacity": 1},
        }
        req = urllib.request.Request(
            f"{base}/invocations",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            preds = json.loads(r.read())["predictions"]
        assert [p["child_id"] for p in preds] == ["h1", "h2", "h3"]
        assert sum(p["flagged"] for p in preds) == 1
        assert all(0.0 < p["risk"] < 1.0 for p in preds)
        # a reason only where a need feature raises the risk enough; "" otherwise
        assert all(isinstance(p["reason_1"], str) for p in preds)
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        log.close()


# ----------------------------------------------------------------------------- no side effects
def test_loading_scoring_and_listing_never_create_a_store(tmp_path, monkeypatch, fitted_fake):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("SEND_EARLY_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    calls = {
        "load_model": lambda: load_model("risk@champion"),
        "review_summary": lambda: review_summary("risk", 1),
        "promote": lambda: promote("risk", 1, reviewer="r", note="n"),
        "list_versions": lambda: list_versions("risk"),
        "score": lambda: send_early.score(
            "models:/risk@champion", send_early.Tables({}, "2025-08-31"), "2025-01-01"
        ),
    }
    for what, call in calls.items():
        with pytest.raises(FileNotFoundError, match="SEND_EARLY_STORE.*MLFLOW_TRACKING_URI") as err:
            call()
        assert "send_early_store" in str(err.value), what
    monkeypatch.setenv("SEND_EARLY_STORE", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=r"\$SEND_EARLY_STORE"):
        load_model("risk")
    assert list(tmp_path.iterdir()) == []  # no ./send_early_store, no ./mlflow.db, no ./mlruns


# ----------------------------------------------------------------------------- aliases, versions
def test_promote_refuses_aliases_outside_the_set(logged, monkeypatch):
    store_dir, info = logged
    with pytest.raises(ValueError, match="alias must be one of champion, challenger, archived; "
                       "found 'Champion'. Aliases are case-sensitive: did you mean 'champion'"):  # fmt: skip
        promote("risk_ok", info.version, alias="Champion", reviewer="r", note="n",
                tracking_uri=store_dir)  # fmt: skip
    with pytest.raises(ValueError, match="SEND_EARLY_ALIASES"):
        log_model(object(), alias="prod", tracking_uri=store_dir)
    monkeypatch.setenv("SEND_EARLY_ALIASES", "champion,shadow")
    assert allowed_aliases() == ("champion", "shadow")
    with pytest.raises(ValueError, match="one of champion, shadow; found 'challenger'"):
        promote("risk_ok", info.version, alias="challenger", reviewer="r", note="n",
                tracking_uri=store_dir)  # fmt: skip


def test_list_versions_and_description_follow_promotion(fitted_fake, tmp_path, store_dir):
    cards = write_card(
        tmp_path / "card",
        [{"name": "calibration", "passed": True}, {"name": "subgroup_gap", "passed": False}],
    )
    good = write_card(tmp_path / "good", [{"name": "calibration", "passed": True}])
    first = log_model(fitted_fake, card_paths=good, registered_name="risk", tracking_uri=store_dir)
    second = log_model(
        fitted_fake, card_paths=cards, registered_name="risk", tracking_uri=store_dir
    )
    client = client_for(store_dir)
    cand = second.registered_as
    assert "Not approved yet" in client.get_model_version(cand, second.version).description
    promote("risk", first.version, reviewer="rev-1", note="first", tracking_uri=store_dir)
    promote("risk", second.version, reviewer="rev-2", note="gap | known", force=True,
            force_reason="monitored", tracking_uri=store_dir)  # fmt: skip
    table = list_versions("risk", tracking_uri=store_dir)
    assert list(table.columns) == list(VERSION_COLUMNS)
    assert table["version"].tolist() == [1, 2]
    assert table["aliases"].tolist() == ["", "champion"]  # challenger is a candidate's alias
    assert table["candidate_version"].tolist() == ["1", "2"]
    assert table["checks_failed"].tolist() == [0, 1] and table["failed_checks"][1] == "subgroup_gap"
    assert table["reviewer"].tolist() == ["rev-1", "rev-2"] and table["forced"].tolist() == [
        False,
        True,
    ]
    assert (table["created"].dt.tz is not None) and (table["status"] == "approved").all()
    new = client.get_model_version("risk", second.version).description
    assert "approved by rev-2" in new and "**Forced** despite failed checks (subgroup_gap)" in new
    assert "| subgroup_gap |" in new and "**FAIL**" in new and '"gap / known"' in new
    old = client.get_model_version("risk", first.version).description
    assert "approved by rev-1" in old and "Replaced by version 2" in old
    with pytest.raises(
        ValueError, match="'nope' must exist in the store, or its candidates 'nope-candidates'"
    ):
        list_versions("nope", tracking_uri=store_dir)


def test_versions_logged_by_earlier_releases_still_review_list_and_promote(fitted_fake, store_dir):
    """Earlier releases wrote a JSON checks tag and a metrics summary, and no description."""
    info = log_model(fitted_fake, registered_name="old", tracking_uri=store_dir)
    client = client_for(store_dir)
    as_registered_before_candidates(client, "old", store_dir)
    for key in ("send_early.checks", "send_early.checks_passed", "send_early.checks_failed"):
        client.delete_model_version_tag("old", info.version, key)
    client.set_model_version_tag(
        "old", info.version, "send_early.card_checks",
        json.dumps([{"name": "calibration", "passed": False}]),
    )  # fmt: skip
    client.set_model_version_tag(
        "old", info.version, "send_early.metrics_summary", '{"headline.roc_auc": 0.81}'
    )
    client.update_model_version("old", info.version, description="")
    summary = review_summary("old", info.version, tracking_uri=store_dir)
    assert summary.checks_failed == ["calibration"]
    assert list_versions("old", tracking_uri=store_dir)["failed_checks"].tolist() == ["calibration"]
    promote("old", info.version, reviewer="r", note="n", force=True, force_reason="known",
            tracking_uri=store_dir)  # fmt: skip
    text = client.get_model_version("old", info.version).description
    assert text.startswith("## Approval") and "approved by r" in text
    assert load_model("old", tracking_uri=store_dir).registry_["version"] == info.version


def test_a_card_of_another_schema_version_is_refused_before_logging(
    store_dir, fitted_fake, tmp_path
):
    from send_early.registry import log_model

    html, js = write_card(tmp_path / "card", [{"name": "calibration", "passed": True}])
    js.write_text(json.dumps({"schema_version": 99, "checks": []}))
    with pytest.raises(ValueError, match="must have schema_version 2"):
        log_model(
            fitted_fake, card_paths=[html, js], registered_name="risk_v99", tracking_uri=store_dir
        )
    names = {m.name for m in open_store(store_dir).client().search_registered_models()}
    assert not {"risk_v99", "risk_v99-candidates"} & names  # nothing was logged
