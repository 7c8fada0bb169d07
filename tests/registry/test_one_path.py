"""The registered model tells the same truth as the CLI (issue 15), on a whole synthetic cohort.

One RiskModel is trained on ``make_cohort(3000, random_state=4)`` with the fast spec,
registered and promoted as the CLI does it, then every child at 2025-01-15 is scored four
ways: ``mlflow.pyfunc.load_model(...).predict(build_features(...))``, ``mlflow models
serve`` over HTTP (``dataframe_split`` and ``dataframe_records``), ``send_early.score`` and
``send-early score``. Risk, rank, flag and reasons must agree to 1e-12 for every child.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import send_early
from send_early.registry import list_versions, load_model, open_store, promote

from ..conftest import TRAIN_DATES, fast_spec_text

pytestmark = pytest.mark.slow

AS_OF = "2025-01-15"
NAME = "risk_cohort"
COLS = ["risk", "rank", "flagged", "reason_1", "reason_2", "reason_3"]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from send_early.datasets import make_cohort
    from send_early.workflow import train_model

    root = tmp_path_factory.mktemp("one_path")
    tables = make_cohort(3000, random_state=4)
    spec = root / "fast.toml"
    spec.write_text(fast_spec_text())
    store = root / "store"
    res = train_model(
        tables, spec, TRAIN_DATES, out_dir=root / "out", register=NAME, tracking_uri=store
    )
    version = res.logged.version
    promote(
        NAME,
        version,
        reviewer="rev-7",
        note="synthetic cohort; checks reviewed",
        force=True,
        force_reason="small synthetic cohort: suppressed groups",
        tracking_uri=store,
    )
    features = send_early.build_features(tables, AS_OF)
    return {
        "root": root,
        "tables": tables,
        "store": store,
        "version": version,
        "features": features,
    }


@pytest.fixture(scope="module")
def pyfunc(cohort):
    import mlflow.pyfunc

    old = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = open_store(cohort["store"]).tracking_uri
    try:
        yield mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    finally:
        if old is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = old


def _scored(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with a risk, indexed by child_id, in the comparison columns and dtypes."""
    out = frame[frame["risk"].notna()].set_index("child_id")[COLS].copy()
    out.index = out.index.astype(str)
    out["rank"] = out["rank"].astype("int64")
    out["flagged"] = out["flagged"].astype(bool)
    for c in COLS[3:]:
        out[c] = out[c].fillna("").astype(str)
    return out.sort_index()


def assert_same(a: pd.DataFrame, b: pd.DataFrame, what: str) -> float:
    assert a.index.equals(b.index), f"{what}: different children"
    diff = float(np.max(np.abs(a["risk"].to_numpy() - b["risk"].to_numpy()), initial=0.0))
    assert diff <= 1e-12, f"{what}: risk differs by {diff}"
    for c in COLS[1:]:
        assert (a[c].to_numpy() == b[c].to_numpy()).all(), f"{what}: {c} differs"
    return diff


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, payload) -> tuple[int, str]:
    req = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _json_rows(features: pd.DataFrame) -> pd.DataFrame:
    """The feature frame as plain JSON values: text labels, numbers and nulls."""
    flat = features.reset_index().astype(object)
    return flat.where(flat.notna(), None)


@contextlib.contextmanager
def _running(argv: list[str], env: dict, log_path: Path):
    """A server process on 127.0.0.1 (``argv`` ends with its port): its base URL once /ping
    answers, killed with its process group at the end."""
    port = argv[-1]
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                assert proc.poll() is None, log_path.read_text()[-2000:]
                try:
                    with urllib.request.urlopen(f"{base}/ping", timeout=2) as r:
                        if r.status == 200:
                            break
                except (urllib.error.URLError, OSError):
                    pass
                assert time.monotonic() < deadline, "server did not answer /ping within 120 s"
                time.sleep(0.5)
            yield base
        finally:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def server(cohort, tmp_path_factory):
    """``mlflow models serve`` on 127.0.0.1 (a free port), killed at the end."""
    env = dict(os.environ)
    env["MLFLOW_TRACKING_URI"] = open_store(cohort["store"]).tracking_uri
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    argv = [sys.executable, "-m", "mlflow", "models", "serve", "-m", f"models:/{NAME}@champion",
            "--env-manager", "local", "-h", "127.0.0.1", "-p", str(_free_port())]  # fmt: skip
    with _running(argv, env, log_path) as base:
        yield base, log_path


# ----------------------------------------------------------------------------- one path
def test_four_paths_give_the_same_risk_rank_flag_and_reasons(cohort, pyfunc, server, capsys):
    from send_early.cli import main

    tables, store, features = cohort["tables"], cohort["store"], cohort["features"]
    # 1. the pyfunc on build_features output as it is (categoricals, NaN)
    out = pyfunc.predict(features)
    assert list(out["child_id"]) == list(features.index)  # one row per input, in order
    via_pyfunc = _scored(out)
    # 2. send_early.score
    result = send_early.score(f"models:/{NAME}@champion", tables, AS_OF, tracking_uri=store)
    via_api = _scored(result.scores)
    # 3. send-early score
    scores_file = cohort["root"] / "scores.parquet"
    send_early.write_tables(tables, cohort["root"] / "tables")
    rc = main(
        ["score", str(cohort["root"] / "tables"), "--model", f"models:/{NAME}@champion",
         "--as-of", AS_OF, "--out", str(scores_file), "--tracking-uri", str(store)]
    )  # fmt: skip
    capsys.readouterr()
    assert rc == 0
    via_cli = _scored(pd.read_parquet(scores_file))
    # 4. over HTTP, both JSON row formats
    base, _ = server
    rows = _json_rows(features)
    split = {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}
    status, body = _post(f"{base}/invocations", {"dataframe_split": split})
    assert status == 200, body[:500]
    via_split = _scored(pd.DataFrame(json.loads(body)["predictions"]))
    records = rows.to_dict(orient="records")
    status, body = _post(f"{base}/invocations", {"dataframe_records": records})
    assert status == 200, body[:500]
    via_records = _scored(pd.DataFrame(json.loads(body)["predictions"]))

    assert len(via_api) == result.counts["scored"] > 500  # every child the CLI scores
    for what, frame in [
        ("pyfunc", via_pyfunc),
        ("send-early score", via_cli),
        ("HTTP dataframe_split", via_split),
        ("HTTP dataframe_records", via_records),
    ]:
        assert_same(frame, via_api, what)
    # the children batch scoring leaves out (outside the model's age range) are not scored
    unscored = out[out["risk"].isna()]
    rejected = set(result.rejects.loc[result.rejects["rule"] == "out_of_model_age", "child_id"])
    assert set(unscored["child_id"]) == rejected
    assert unscored["reason_1"].str.startswith("not scored").all()
    assert not unscored["flagged"].any()


def test_capacity_param_flags_like_the_cli(cohort, pyfunc):
    features = cohort["features"]
    out = pyfunc.predict(features, params={"capacity": 25})
    result = send_early.score(
        f"models:/{NAME}@champion", cohort["tables"], AS_OF, tracking_uri=cohort["store"],
        capacity=25,
    )  # fmt: skip
    assert int(out["flagged"].sum()) == 25
    assert_same(_scored(out), _scored(result.scores), "capacity 25")
    share = pyfunc.predict(features, params={"capacity": 0.05})
    result = send_early.score(
        f"models:/{NAME}@champion", cohort["tables"], AS_OF, tracking_uri=cohort["store"],
        capacity=0.05,
    )  # fmt: skip
    assert_same(_scored(share), _scored(result.scores), "capacity 5%")


# ----------------------------------------------------------------------------- errors
def _bad_inputs(features: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, str]]:
    ids = list(features.index)
    rows = _json_rows(features).head(40)
    bad_cat = rows.copy()
    bad_cat.loc[3, "eyfsp_gld_status"] = "ZQBADLABEL"
    bad_num = rows.copy()
    bad_num.loc[5, "age_months"] = "ZQ123BAD"
    bad_num.loc[6, "attendance_rate_3t"] = float("inf")
    dup = rows.copy()
    dup.loc[7, "child_id"] = ids[8]
    return {
        "missing column": (features.drop(columns="imd_decile"), r"1 missing: imd_decile"),
        "unknown category": (bad_cat, r"eyfsp_gld_status must be one of assessed"),
        "text in a number": (bad_num, r"age_months must be a number or null \(1 row is not\)"),
        "infinity": (bad_num, r"attendance_rate_3t must be finite"),
        "repeated id": (dup, r"child_id must be unique \(1 row repeats an earlier id\)"),
    }


def _secrets(features: pd.DataFrame) -> list[str]:
    """Child ids and other cell values that must never appear in an error."""
    f = features.head(40)
    values = [*map(str, f.index), "ZQBADLABEL", "ZQ123BAD", "White", "Black"]
    values += [repr(float(v)) for v in f["attendance_rate_3t"].dropna().head(10)]
    return values


def test_errors_name_columns_and_rules_never_rows(cohort, pyfunc):
    features = cohort["features"]
    secrets = _secrets(features)
    for what, (frame, rule) in _bad_inputs(features).items():
        with pytest.raises(ValueError, match=rule) as err:
            pyfunc.predict(frame)
        text = str(err.value) + "".join(str(a) for a in err.value.args)
        assert not [s for s in secrets if s in text], what
    with pytest.raises(ValueError, match="capacity must be") as err:
        pyfunc.predict(features, params={"capacity": -3})
    assert not [s for s in secrets if s in str(err.value)]


def test_http_errors_name_columns_and_rules_never_rows(cohort, server):
    base, log_path = server
    features = cohort["features"]
    secrets = _secrets(features)
    bodies = []
    for what, (frame, rule) in _bad_inputs(features).items():
        rows = frame if "child_id" in frame.columns else _json_rows(frame)
        split = {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}
        status, body = _post(f"{base}/invocations", {"dataframe_split": split})
        assert 400 <= status < 500, what
        assert pd.Series([body]).str.contains(rule).all(), (what, body[:300])
        bodies.append(body)
    status, body = _post(
        f"{base}/invocations", {"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}
    )
    assert status == 400
    bodies.append(body)
    leaks = [s for s in secrets if any(s in b for b in bodies)]
    assert leaks == []
    assert not [s for s in secrets[:40] if s in log_path.read_text()]


def test_mlflow_own_check_refused_build_features_and_quoted_rows_before():
    """What the old signature (declared column types) did: documents why inputs are ``Any``."""
    from mlflow.models.utils import _enforce_schema
    from mlflow.types import ColSpec, Schema

    frame = pd.DataFrame(
        {"s": pd.Categorical(["assessed", None])}, index=pd.Index(["ZQID1", "ZQID2"])
    )
    with pytest.raises(Exception, match="Can not safely convert category"):
        _enforce_schema(frame, Schema([ColSpec("string", "s", required=False)]))


# ----------------------------------------------------------------------------- the registry page
def test_version_description_holds_card_figures_checks_and_approval(cohort):
    client = open_store(cohort["store"]).client()
    mv = client.get_model_version(NAME, cohort["version"])
    text = mv.description
    card = json.loads(next((cohort["root"] / "out").glob("*_card.json")).read_text())
    head = card["metrics"]["headline"]
    assert len(text) <= 5000
    assert f"| ROC AUC | {head['roc_auc']:.3f} |" in text
    assert f"| children evaluated | {head['n']:,} |" in text
    assert "## Capacity" in text and "## Fairness" in text and "## Backtest" in text
    for check in card["checks"]:
        result = "pass" if check["passed"] else "**FAIL**"
        assert f"| {check['name']} | {check['rule']} |" in text and result in text
    assert "approved by rev-7" in text and '"synthetic cohort; checks reviewed"' in text
    assert "**Forced** despite failed checks" in text
    assert "model_card/" in text and mv.run_id in text
    # the card's figures are the metrics; settings are params; tags are short
    run = client.get_run(mv.run_id)
    assert run.data.metrics["headline.roc_auc"] == pytest.approx(head["roc_auc"])
    assert any(k.startswith("backtest.roc_auc.") for k in run.data.metrics)
    assert not [
        k for k in run.data.metrics if k.split(".")[-1] in {"k", "n_bins"} and "params" in k
    ]
    assert "evaluation.n_bins" in run.data.params and "evaluation.k" in run.data.params
    assert "capacity.n_tied_at_cutoff" not in run.data.metrics  # "<10" on the card
    assert all(len(v) <= 200 and not v.startswith(("{", "[")) for v in mv.tags.values())
    assert mv.tags["send_early.checks"].endswith("failed")


def test_list_versions_shows_aliases_checks_and_approval(cohort):
    table = list_versions(NAME, tracking_uri=cohort["store"])
    row = table.set_index("version").loc[int(cohort["version"])]
    assert "champion" in row["aliases"].split(",")
    assert row["reviewer"] == "rev-7" and row["approved_as"] == "champion"
    assert bool(row["forced"]) and row["checks_failed"] >= 1
    assert row["status"] == "approved" and isinstance(row["created"], pd.Timestamp)


def test_load_model_scores_like_the_cli(cohort):
    model = load_model(NAME, tracking_uri=cohort["store"])
    scored = model.score_features(model.build_features(cohort["tables"], AS_OF))
    result = send_early.score(model, cohort["tables"], AS_OF)
    assert_same(_scored(scored), _scored(result.scores), "load_model")


# ----------------------------------------------------------------------------- send-early serve
@pytest.fixture(scope="module")
def guarded_server(cohort, tmp_path_factory):
    """``send-early serve`` on 127.0.0.1 (a free port), killed at the end."""
    log_path = tmp_path_factory.mktemp("guarded") / "serve.log"
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    argv = [sys.executable, "-m", "send_early.cli", "serve", f"models:/{NAME}@champion",
            "--tracking-uri", str(cohort["store"]), "--port", str(_free_port())]  # fmt: skip
    with _running(argv, env, log_path) as base:
        yield base, log_path


def test_mlflow_serve_quotes_rows_when_a_param_fails_its_type_check(cohort, server):
    """Why ``send-early serve`` exists: MLflow's server echoes the request rows in its 400."""
    base, _ = server
    rows = _json_rows(cohort["features"]).head(5)
    split = {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}
    status, body = _post(
        f"{base}/invocations", {"dataframe_split": split, "params": {"capacity": "lots"}}
    )
    assert status == 400
    assert str(rows["child_id"].iloc[0]) in body  # MLflow's "Failed to predict data '...'"


def test_send_early_serve_scores_like_the_cli_and_checks_params_itself(cohort, guarded_server):
    base, log_path = guarded_server
    features = cohort["features"]
    secrets = _secrets(features)
    rows = _json_rows(features)
    split = {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}
    for capacity in ("5%", 25, 0.05):
        status, body = _post(
            f"{base}/invocations", {"dataframe_split": split, "params": {"capacity": capacity}}
        )
        assert status == 200, body[:500]
        result = send_early.score(
            f"models:/{NAME}@champion", cohort["tables"], AS_OF, capacity=capacity,
            tracking_uri=cohort["store"],
        )  # fmt: skip
        got = _scored(pd.DataFrame(json.loads(body)["predictions"]))
        assert_same(got, _scored(result.scores), f"send-early serve, capacity {capacity!r}")
    # 100%: every scored child flagged (a bare 1.0 would read as one child)
    status, body = _post(
        f"{base}/invocations", {"dataframe_split": split, "params": {"capacity": "100%"}}
    )
    got = _scored(pd.DataFrame(json.loads(body)["predictions"]))
    assert status == 200 and got["flagged"].all()
    bodies = []
    for params, rule in [
        ({"capacity": "lots"}, "capacity must be a number of children"),
        ({"capacity": -3}, "capacity must be a number of children"),
        ({"capcity": 4}, "params may hold only capacity; found an unknown parameter: capcity"),
    ]:
        status, body = _post(f"{base}/invocations", {"dataframe_split": split, "params": params})
        assert status == 400 and rule in body, body[:500]
        bodies.append(body)
    for what, (frame, rule) in _bad_inputs(features).items():
        bad = frame if "child_id" in frame.columns else _json_rows(frame)
        bad_split = {"columns": list(bad.columns), "data": bad.to_numpy().tolist()}
        status, body = _post(f"{base}/invocations", {"dataframe_split": bad_split})
        assert 400 <= status < 500 and pd.Series([body]).str.contains(rule).all(), what
        bodies.append(body)
    assert [s for s in secrets if any(s in b for b in bodies)] == []
    assert not [s for s in secrets[:40] if s in log_path.read_text()]
