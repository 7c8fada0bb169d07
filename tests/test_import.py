"""``import send_early`` stays light: scikit-learn, SciPy, MLflow and matplotlib load on first use."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("sklearn", "scipy", "mlflow", "matplotlib")


def _loaded_after(code: str) -> list[str]:
    """Heavy top-level packages in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "code",
    [
        "import send_early",
        "import send_early.exceptions",
        "from send_early import SchemaError, validate, read_tables, CONTRACT_VERSION",
    ],
)
def test_import_loads_no_heavy_package(code):
    assert _loaded_after(code) == []


def test_lazy_names_resolve_and_load_on_first_use():
    # the probe itself must be able to see a heavy import, or the test above proves nothing
    assert "sklearn" in _loaded_after("import send_early\nsend_early.RiskModel")
    import send_early
    from send_early.exceptions import NotFittedError

    for name in send_early._LAZY:
        assert getattr(send_early, name) is not None
    import sklearn.exceptions

    assert NotFittedError is sklearn.exceptions.NotFittedError
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        send_early.exceptions.nope  # noqa: B018
