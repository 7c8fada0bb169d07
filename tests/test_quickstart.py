"""docs/quickstart.md runs as written: its bash and Python blocks, in order, in an empty folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```(bash|python)\n(.*?)^```", re.S | re.M)


def _blocks() -> list[tuple[str, str]]:
    return BLOCK.findall((ROOT / "docs" / "quickstart.md").read_text())


def _readme_main_command() -> str:
    text = (ROOT / "README.md").read_text()
    inside = text.split("<!-- main-command -->")[1]
    return BLOCK.search(inside).group(2)


def test_the_install_block_is_the_readme_main_command():
    # section 1 installs the package and runs the demo: .ci/run runs that very line from the
    # README, so the test below skips it instead of installing the package a second time
    kind, code = _blocks()[0]
    assert kind == "bash" and code == _readme_main_command()


@pytest.mark.slow
def test_quickstart_runs_verbatim(tmp_path):
    blocks = _blocks()[1:]
    assert [k for k, _ in blocks] == ["bash", "python"]
    env = {
        k: v for k, v in os.environ.items() if k not in ("SEND_EARLY_STORE", "MLFLOW_TRACKING_URI")
    }
    # `send-early` and `python` are the ones of this interpreter's environment
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    for kind, code in blocks:
        argv = (
            ["bash", "-euo", "pipefail", "-c", code]
            if kind == "bash"
            else [sys.executable, "-c", code]
        )
        done = subprocess.run(
            argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, f"{kind} block failed:\n{code}\n{done.stdout}\n{done.stderr}"
        if kind == "bash":
            assert "Scored " in done.stdout and (tmp_path / "scores.parquet").is_file()
            assert (tmp_path / "scores_run.json").is_file()
            assert "Traceback" not in done.stderr
        else:
            assert "children flagged for review" in done.stdout
    assert (tmp_path / "send_early_store" / "mlflow.db").is_file()  # the embedded store, here
