"""Store faults: missing, read-only, copied or moved stores; promotion without a card;
MLflow telemetry off in every documented mlflow command.

The read-only store is tested for real: the store's files are made read-only and the
commands run in a subprocess that cannot override file permissions (as root, the
subprocess drops the capabilities that let root ignore them).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from fake_risk_model import FakeRiskModel, make_features, write_card
from hypothesis import given, settings
from hypothesis import strategies as st

from send_early.cli import main
from send_early.registry import (
    Store,
    _store,
    list_versions,
    load_model,
    log_model,
    open_store,
    promote,
    review_summary,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def _manifest_only(folder: Path, extract: str = "2025-08-31") -> Path:
    """An extract folder with a manifest and no tables: commands stop before reading any."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({"extract_date": extract}))
    return folder


def _locations(db: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(db)) as con:
        rows = con.execute(
            "SELECT artifact_location FROM experiments UNION ALL "
            "SELECT artifact_uri FROM runs UNION ALL "
            "SELECT artifact_location FROM logged_models UNION ALL "
            "SELECT storage_location FROM model_versions"
        ).fetchall()
    return [r[0] for r in rows]


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No store configured, working directory an empty folder."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("SEND_EARLY_STORE", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


# ----------------------------------------------------------------------------- missing store
COMMANDS = {
    "versions": ["versions", "risk"],
    "review": ["review", "risk", "1"],
    "promote": ["promote", "risk", "1", "--reviewer", "r", "--note", "n"],
    "score": [
        "score",
        "EXTRACT",
        "--model",
        "models:/risk@champion",
        "--as-of",
        "2025-08-31",
        "--out",
        "scores.csv",
    ],  # fmt: skip
    "evaluate": ["evaluate", "EXTRACT", "--model", "models:/risk@champion"],
    "train --register": ["train", "EXTRACT", "--register", "risk"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_missing_store_is_an_error_naming_the_settings_and_path(command, clean_env, capsys):
    extract = _manifest_only(clean_env / "extract")
    argv = [str(extract) if a == "EXTRACT" else a for a in COMMANDS[command]]
    typo = clean_env / "sotre"
    assert main([*argv, "--store", str(typo)]) == 1
    err = capsys.readouterr().err
    for name in ("SEND_EARLY_STORE", "MLFLOW_TRACKING_URI", "--store", "--init", str(typo)):
        assert name in err, (command, name, err)
    assert "Nothing was created" in err and "Traceback" not in err
    assert main(argv) == 1  # nothing configured: the default ./send_early_store
    err = capsys.readouterr().err
    assert str(clean_env / "send_early_store") in err and "neither $SEND_EARLY_STORE" in err
    assert sorted(p.name for p in clean_env.iterdir()) == ["extract"]  # no store, no mlruns


def test_train_init_creates_the_store_quietly_and_needs_register(clean_env, capfd):
    extract = _manifest_only(clean_env / "extract")
    new = clean_env / "new_store"
    assert main(["train", str(extract), "--init"]) == 2
    assert "--init creates the model store for --register" in capfd.readouterr().err
    # the store is created before any table is read; this folder has no tables, so exit 1
    assert main(["train", str(extract), "--register", "risk", "--init", "--store", str(new)]) == 1
    assert (new / "mlflow.db").is_file() and (new / "artifacts").is_dir()
    err = capfd.readouterr().err
    assert "Creating initial MLflow database tables" not in err  # logged by send_early instead
    assert "send_early_store" not in {p.name for p in clean_env.iterdir()}
    # once it exists, the store needs no --init
    assert main(["versions", "risk", "--store", str(new)]) == 1
    assert "'risk' must exist" in capfd.readouterr().err


# ----------------------------------------------------------------------------- read-only
def _drop_file_override_capabilities() -> None:  # pragma: no cover - runs in the child
    """Run as root without CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER (the
    bounding set of the program exec'd next), so file permissions apply to it."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2, 3):
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def _run_as_unprivileged(code: str, *args: str, home: Path) -> subprocess.CompletedProcess:
    env = {
        k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "SEND_EARLY_STORE")
    }
    env["HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        preexec_fn=_drop_file_override_capabilities if os.geteuid() == 0 else None,
    )


def _chmod_tree(root: Path, writable: bool) -> None:
    paths = [root, *root.rglob("*")]
    for path in paths if not writable else reversed(paths):
        mode = path.stat().st_mode
        bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
        path.chmod(mode | stat.S_IWUSR if writable else mode & ~bits)


READ_ONLY_SCRIPT = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[3])
    store, extract = Path(sys.argv[1]), sys.argv[2]
    out = {}
    try:
        (store / "probe").write_text("x")
        out["probe"] = "written"
    except PermissionError:
        out["probe"] = "refused"
    from send_early.cli import main

    def cli(*argv):
        o, e = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
            rc = main(list(argv))
        return {"rc": rc, "out": o.getvalue(), "err": e.getvalue()}

    out["versions"] = cli("versions", "risk_ok", "--store", str(store))
    out["review"] = cli("review", "risk_ok", "1", "--store", str(store))
    out["promote"] = cli("promote", "risk_ok", "1", "--reviewer", "r", "--note", "n",
                         "--store", str(store))
    out["train"] = cli("train", extract, "--register", "risk_ok", "--store", str(store))
    from fake_risk_model import FakeRiskModel, make_features
    from send_early.registry import load_model
    model = load_model("risk_ok-candidates@challenger", tracking_uri=store, model_class=FakeRiskModel)
    out["scored"] = len(model.score_features(make_features(["a", "b", "c"], seed=2)))
    print(json.dumps(out))
    """
)


def test_a_read_only_store_reads_and_refuses_writes_in_one_sentence(logged, tmp_path):
    source, _ = logged
    store = tmp_path / "ro_store"
    shutil.copytree(source, store)
    open_store(store)  # a copy: its locations now point into it (see the copied-store test)
    extract = _manifest_only(tmp_path / "extract")
    _chmod_tree(store, writable=False)
    try:
        done = _run_as_unprivileged(
            READ_ONLY_SCRIPT, str(store), str(extract), str(HERE), home=tmp_path
        )
    finally:
        _chmod_tree(store, writable=True)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["probe"] == "refused"  # the subprocess really cannot write the store
    assert out["versions"]["rc"] == 0 and "challenger" in out["versions"]["out"]
    assert out["review"]["rc"] == 0 and "Reviewer checklist" in out["review"]["out"]
    assert out["scored"] == 3
    for command in ("promote", "train"):
        result = out[command]
        assert result["rc"] == 1, (command, result)
        err = result["err"].strip()
        assert err.startswith(f"send-early: The model store at {store} is read-only"), err
        assert "nothing can be registered or promoted" in err and "Traceback" not in err
        assert len(err.splitlines()) == 1
    assert "Traceback" not in done.stderr


def _simulate_read_only(monkeypatch):
    monkeypatch.setattr(_store, "_unwritable_parts", lambda folder: ["mlflow.db"])


def test_a_read_only_store_that_needs_a_schema_upgrade_says_so(store_dir, monkeypatch, fitted_fake):
    open_store(store_dir)
    with contextlib.closing(sqlite3.connect(store_dir / "mlflow.db")) as con, con:
        con.execute("UPDATE alembic_version SET version_num = '1b5f0d9ad7c1'")
    _simulate_read_only(monkeypatch)
    with pytest.raises(PermissionError, match=r"is read-only, and MLflow .* must upgrade"):
        list_versions("risk", tracking_uri=store_dir)
    with pytest.raises(PermissionError, match=rf"The model store at {re.escape(str(store_dir))} is read-only"):  # fmt: skip
        log_model(fitted_fake, registered_name="risk", tracking_uri=store_dir)
    assert not list(store_dir.glob("mlflow.db.bak-*"))  # nothing was written


# ----------------------------------------------------------------------------- copied store
def test_a_copied_store_works_after_the_original_is_deleted(
    fitted_fake, tmp_path, store_dir, capsys
):
    cards = write_card(tmp_path / "card", [{"name": "calibration", "passed": True}])
    info = log_model(fitted_fake, card_paths=cards, registered_name="risk", tracking_uri=store_dir)
    copy = tmp_path / "elsewhere" / "store copy"  # a space: locations are URIs
    shutil.copytree(store_dir, copy)
    shutil.rmtree(store_dir)
    assert main(["versions", "risk", "--store", str(copy)]) == 0
    assert "challenger" in capsys.readouterr().out
    assert review_summary("risk-candidates", 1, tracking_uri=copy).checks_passed == ["calibration"]
    model = load_model("risk-candidates@challenger", tracking_uri=copy, model_class=FakeRiskModel)
    assert model.registry_["artifact_sha256"] == info.artifact_sha256
    X = make_features([f"s{i}" for i in range(8)], seed=4)
    pd.testing.assert_frame_equal(model.score_features(X), fitted_fake.score_features(X))
    locations = _locations(copy / "mlflow.db")
    ours = [loc for loc in locations if "/artifacts" in loc]
    assert ours and all(loc.startswith((copy / "artifacts").as_uri()) for loc in ours)
    # new versions land in the copy, and nothing is recreated where the original was
    log_model(fitted_fake, card_paths=cards, registered_name="risk", tracking_uri=copy)
    promote("risk", 2, reviewer="r", note="after the move", tracking_uri=copy)  # candidate 2
    assert (  # the first production version
        load_model("risk", tracking_uri=copy, model_class=FakeRiskModel).registry_["version"] == "1"
    )
    assert not store_dir.exists()


def _location_db(path: Path, experiments: list[str], runs: list[str]) -> None:
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        con.execute("CREATE TABLE experiments (experiment_id INTEGER, artifact_location TEXT)")
        con.execute("CREATE TABLE runs (run_uuid TEXT, artifact_uri TEXT)")
        con.executemany("INSERT INTO experiments VALUES (?, ?)", list(enumerate(experiments)))
        con.executemany("INSERT INTO runs VALUES (?, ?)", [(str(i), r) for i, r in enumerate(runs)])


_folder = st.text(
    st.characters(codec="utf-8", exclude_characters="/\x00", exclude_categories=("Cs", "Cc")),
    min_size=1,
    max_size=12,
).filter(lambda s: s not in {".", ".."})


@settings(max_examples=40, deadline=None)
@given(old=_folder, new=_folder, uri=st.booleans(), run=st.text("abc0123456789", min_size=1))
def test_relocation_rewrites_exactly_the_old_store_locations(tmp_path_factory, old, new, uri, run):
    """Every location under the old store's artifacts/ moves under the new one with the
    same tail; a sibling folder sharing the prefix (artifacts2/), another experiment's
    folder and a remote URI are left alone."""
    base = tmp_path_factory.mktemp("reloc")
    old_root = Path("/srv/old") / old / "store" / "artifacts"
    here = base / new
    here.mkdir()
    old_loc = old_root.as_uri() if uri else str(old_root)
    keep = [f"{old_loc}2/{run}", "/srv/mlruns/0", f"s3://bucket/{run}/artifacts"]
    moved = [old_loc, f"{old_loc}/{run}/artifacts", f"{old_loc}/models/m-{run}/artifacts"]
    _location_db(here / "mlflow.db", [old_loc, *keep[1:]], [*moved[1:], keep[0]])
    changed = _store._relocate(Store("sqlite:///x", path=here), here / "mlflow.db")
    assert changed == len(moved)
    got = _locations_simple(here / "mlflow.db")
    new_root = (here / "artifacts").as_uri()
    assert got["experiments"] == [new_root, *keep[1:]]
    assert got["runs"] == [f"{new_root}/{run}/artifacts", f"{new_root}/models/m-{run}/artifacts", keep[0]]  # fmt: skip
    assert _store._relocate(Store("sqlite:///x", path=here), here / "mlflow.db") == 0


def _locations_simple(db: Path) -> dict[str, list[str]]:
    with contextlib.closing(sqlite3.connect(db)) as con:
        return {
            "experiments": [r[0] for r in con.execute("SELECT artifact_location FROM experiments")],
            "runs": [r[0] for r in con.execute("SELECT artifact_uri FROM runs ORDER BY run_uuid")],
        }


# ----------------------------------------------------------------------------- card required
def test_a_version_without_a_card_is_refused_like_a_failed_check(fitted_fake, store_dir, capsys):
    info = log_model(fitted_fake, registered_name="risk", tracking_uri=store_dir)
    with pytest.raises(ValueError, match=r"a model card must be logged with the version, and it has none"):  # fmt: skip
        promote("risk", info.version, reviewer="r", note="n", tracking_uri=store_dir)
    args = ["promote", "risk", info.version, "--reviewer", "r", "--note", "n", "--store", str(store_dir)]  # fmt: skip
    assert main(args) == 1
    assert "model card must be logged" in capsys.readouterr().err
    assert main([*args, "--force"]) == 2  # --force needs --reason, as for failed checks
    assert main([*args, "--force", "--reason", "card lost; reviewed the evaluation"]) == 0
    assert "FORCED despite failed checks (no_model_card)" in capsys.readouterr().out
    table = list_versions("risk", tracking_uri=store_dir)
    assert table["forced"].tolist() == [True] and table["aliases"].tolist() == ["champion"]
    tags = open_store(store_dir).client().get_model_version("risk", "1").tags  # the copy
    assert tags["send_early.review.champion.force_reason"] == "card lost; reviewed the evaluation"
    assert tags["send_early.review.champion.checks_failed"] == "no_model_card"


# ----------------------------------------------------------------------------- telemetry
_SWITCH = re.compile(r"\b(MLFLOW_DISABLE_TELEMETRY=(true|1)|DO_NOT_TRACK=(true|1))\b", re.I)
_MLFLOW_CMD = re.compile(r"(?:^|[\s;&|(])mlflow\s+([a-z][\w-]*)")
_FENCE = re.compile(r"^\s*```(\w*)")


def _doc_files() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def _commands(path: Path) -> list[tuple[int, str, bool]]:
    """``(line, command, has_switch)`` for every mlflow command shown in a Markdown file.

    A command is ``mlflow <subcommand> ...`` on a line of a fenced block (python blocks
    and comments aside; a backslash continues the line) or in an inline code span with
    arguments; a bare name such as `mlflow models serve` in prose is not a command. The
    switch counts when it prefixes the command or is exported earlier in the same block.
    """
    found, block, exported, logical, start = [], None, False, "", 0
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fence = _FENCE.match(line)
        if fence:
            block, exported = (None, False) if block is not None else (fence.group(1), False)
            continue
        if block is not None:
            if block == "python":
                continue
            text = re.sub(r"(^|\s)#.*$", "", line)
            logical, start = (logical + " " + text, start) if logical else (text, no)
            if logical.rstrip().endswith("\\"):
                logical = logical.rstrip()[:-1]
                continue
            if re.search(r"^\s*export\s+", logical) and _SWITCH.search(logical):
                exported = True
            for m in _MLFLOW_CMD.finditer(logical):
                if not logical[: m.start()].rstrip().endswith(("from", "import")):
                    found.append((start, logical.strip(), exported or bool(_SWITCH.search(logical[: m.start()]))))  # fmt: skip
            logical = ""
            continue
        for span in re.findall(r"`([^`]+)`", line):
            m = _MLFLOW_CMD.search(span)
            if m and re.search(r"\s-|\s\S*[/:$]", span[m.end() :]):
                found.append((no, span, bool(_SWITCH.search(span[: m.start()]))))
    return found


def test_every_documented_mlflow_command_runs_with_telemetry_off():
    shown = {f"{p.relative_to(REPO)}:{n}": (c, ok) for p in _doc_files() for n, c, ok in _commands(p)}  # fmt: skip
    subcommands = {_MLFLOW_CMD.search(c).group(1) for c, _ in shown.values()}
    assert {"ui", "models"} <= subcommands, shown  # the scan finds the commands the docs show
    missing = {where: c for where, (c, ok) in shown.items() if not ok}
    assert not missing, (
        "These mlflow commands run with MLflow telemetry on; prefix them with "
        f"MLFLOW_DISABLE_TELEMETRY=true: {missing}"
    )


def test_the_scan_catches_a_command_without_the_switch(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text(
        "Open `mlflow ui --port 5000` or read about `mlflow models serve`.\n"
        "```bash\nexport MLFLOW_DISABLE_TELEMETRY=true\nmlflow server --host 127.0.0.1\n```\n"
        "```\nMLFLOW_TRACKING_URI=sqlite:////x/mlflow.db \\\n  mlflow models serve -m m\n"
        "pip install mlflow   # mlflow needs the full package\n```\n"
        "```python\nimport mlflow\nfrom mlflow import pyfunc\n```\n"
    )
    assert [(n, ok) for n, _, ok in _commands(doc)] == [(1, False), (4, True), (7, False)]


def test_the_cli_runs_mlflow_with_telemetry_off(logged, tmp_path):
    """A fresh `send-early versions` process: telemetry is off without CI or pytest hints."""
    store, _ = logged
    code = textwrap.dedent(
        """
        import contextlib, io, json, sys
        from send_early.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            rc = main(["versions", "risk_ok", "--store", sys.argv[1]])
        from mlflow.telemetry import get_telemetry_client
        from mlflow.telemetry.utils import is_telemetry_disabled
        print(json.dumps([rc, is_telemetry_disabled(), get_telemetry_client() is None]))
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in {"PYTEST_CURRENT_TEST", "CI"}}
    env.pop("MLFLOW_DISABLE_TELEMETRY", None)
    env["HOME"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", code, str(store)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == [0, True, True]
