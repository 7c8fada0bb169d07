"""``send-early features DIR --as-of DATE --engine ... --out FILE``: both engines, same file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from send_early.cli import main
from send_early.datasets import make_cohort
from send_early.schema import write_tables

pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("cohort")
    write_tables(make_cohort(300, random_state=4), path, format="parquet")
    return path


def test_both_engines_write_the_same_features(folder, tmp_path, capsys):
    out = {}
    for engine, suffix in (("memory", ".parquet"), ("duckdb", ".csv")):
        path = tmp_path / f"features_{engine}{suffix}"
        args = ["features", str(folder), "--as-of", "2022-09-01", "--engine", engine]
        assert main([*args, "--out", str(path)]) == 0
        assert f"({engine};" in capsys.readouterr().out
        read = pd.read_parquet if suffix == ".parquet" else pd.read_csv
        out[engine] = read(path).set_index("child_id")
    mem, duck = out["memory"], out["duckdb"]
    assert len(mem) > 100 and list(mem.columns) == list(duck.columns)
    assert mem.index.astype(str).tolist() == duck.index.astype(str).tolist()
    for c in mem.columns:
        a, b = mem[c], duck[c]
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            np.testing.assert_allclose(b.to_numpy(float), a.to_numpy(float), rtol=0, atol=1e-9)
        else:
            assert a.astype(str).tolist() == b.astype(str).tolist(), c


def test_an_as_of_after_the_extract_is_refused(folder, tmp_path, capsys):
    args = ["features", str(folder), "--as-of", "2099-01-01", "--engine", "duckdb"]
    assert main([*args, "--out", str(tmp_path / "f.csv")]) == 2
    assert "must be on or before the extract date" in capsys.readouterr().err


def test_an_unknown_engine_is_a_usage_error(folder, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["features", str(folder), "--as-of", "2022-09-01", "--engine", "pandas",
              "--out", str(tmp_path / "f.csv")])  # fmt: skip
    assert exc.value.code == 2
