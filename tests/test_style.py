"""House style: ruff's lint rules and formatter (pyproject.toml) hold over the Python code.

ruff is pinned to one minor release in the ``dev`` extra, as its formatter's output can change
between minor releases.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PATHS = ["send_early", "tests", "bench", "docs/scripts"]

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("ruff") is None,
    reason='ruff is not installed: pip install -e ".[dev]"',
)


def _ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, *PATHS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_ruff_lint_passes():
    out = _ruff("check", "--no-cache")
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_format_is_applied():
    out = _ruff("format", "--check", "--no-cache")
    assert out.returncode == 0, "run `ruff format " + " ".join(PATHS) + "`:\n" + out.stdout
