"""The scoring runs on record: `send-early score` records each published run in the store,
and `send-early monitor NAME` without --runs reads the runs of NAME still published."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from send_early.batch import REJECT_COLUMNS, ScoringResult, write_run
from send_early.cli import main
from send_early.monitor import record_run, run_register_path, runs_on_record

IDS = [f"c{i:03d}" for i in range(100)]


def result(as_of, flagged, *, name="risk", drift=()) -> ScoringResult:
    scores = pd.DataFrame(
        {
            "child_id": pd.array(IDS, dtype="str"),
            "as_of": pd.Timestamp(as_of),
            "risk": np.linspace(0.3, 0.01, len(IDS)),
            "rank": np.arange(1, len(IDS) + 1),
            "flagged": np.isin(IDS, flagged),
        }
    )
    counts = {"input_children": 100, "scored": 100, "rejected": 0, "flagged": len(flagged)}
    counts |= {"rejected_contract": 0, "rejected_not_in_population": 0}
    meta = {
        "as_of": as_of,
        "model": {"name": "m", "version": "1", "uri": f"models:/{name}/1"},
        "counts": counts,
        "drift": [{"name": n, "psi": p, "status": "alert"} for n, p in drift],
        "warnings": [],
    }
    rejects = pd.DataFrame({c: pd.Series([], dtype="str") for c in REJECT_COLUMNS})
    return ScoringResult(scores=scores, rejects=rejects, counts=counts, metadata=meta)


@pytest.fixture(scope="module")
def template_store(tmp_path_factory):
    from send_early.registry import open_store

    return open_store(tmp_path_factory.mktemp("template") / "store").path


@pytest.fixture
def store(template_store, tmp_path):
    folder = tmp_path / "store"
    shutil.copytree(template_store, folder)
    return folder


def publish(store, folder, as_of, flagged, **kw):
    folder.mkdir(exist_ok=True)
    manifest = write_run(result(as_of, flagged, **kw), folder / "scores.csv")
    record_run(manifest, store=store)
    return manifest


def test_runs_on_record_are_the_published_runs_of_the_model_in_as_of_order(store, tmp_path):
    assert runs_on_record("risk", store=store) == []  # nothing recorded yet
    spring = publish(store, tmp_path / "spring", "2024-04-15", IDS[:20])
    autumn = publish(store, tmp_path / "autumn", "2024-09-01", IDS[:20])
    publish(store, tmp_path / "other", "2024-05-01", IDS[:20], name="other")
    assert runs_on_record("risk", store=store) == [spring.resolve(), autumn.resolve()]
    assert runs_on_record("other", store=store) == [(tmp_path / "other/scores_run.json").resolve()]
    # January is published to the autumn folder: that run replaces autumn's, which goes
    winter = publish(store, tmp_path / "autumn", "2024-01-15", IDS[:20])
    assert runs_on_record("risk", store=store) == [winter.resolve(), spring.resolve()]
    spring.unlink()  # a manifest removed since is skipped
    assert runs_on_record("risk", store=store) == [winter.resolve()]
    # the register holds paths, dates and the model: no child id
    text = run_register_path(store).read_text()
    assert "c000" not in text and len(text.splitlines()) == 4
    assert set(json.loads(text.splitlines()[0])) == {
        "manifest",
        "run_id",
        "as_of",
        "finished_at",
        "model",
    }


def test_monitor_without_runs_reads_the_runs_on_record(store, tmp_path, capsys):
    out = tmp_path / "mon"
    argv = ["monitor", "risk", "--out", str(out), "--store", str(store)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "none is on record in the store" in err and "--runs" in err
    publish(store, tmp_path / "a", "2024-09-01", IDS[5:25], drift=[("imd_decile", 0.4)])
    publish(store, tmp_path / "b", "2024-01-15", IDS[:20])
    assert main(argv) == 0
    said = capsys.readouterr().out
    assert "Reading 2 published run(s) of risk on record in the store." in said
    assert "Monitoring report over 2 runs of risk" in said
    report = json.loads((out / "monitor.json").read_text())
    assert [r["as_of"] for r in report["runs"]] == ["2024-01-15", "2024-09-01"]
    assert [a["name"] for a in report["alerts"]] == ["imd_decile"]


def test_score_puts_its_run_on_record(store, tmp_path, capsys, monkeypatch, tiny_tables):
    import send_early.batch as batch
    from send_early.schema import write_tables

    extract = write_tables(tiny_tables, tmp_path / "extract", extract_date="2024-08-31")
    monkeypatch.setattr(batch, "load_any_model", lambda *a, **k: object())
    scored = result("2024-01-15", IDS[:20])
    monkeypatch.setattr(batch, "score", lambda *a, **k: scored)
    out = tmp_path / "scores.csv"
    argv = ["score", str(extract), "--model", "m", "--as-of", "2024-01-15", "--out", str(out)]
    assert main([*argv, "--store", str(store)]) == 0, capsys.readouterr().err
    assert runs_on_record("risk", store=store) == [(tmp_path / "scores_run.json").resolve()]
    # without a store the run is still published; nothing is recorded, nothing is said
    assert main([*argv, "--store", str(tmp_path / "no_store")]) == 0
    assert "note:" not in capsys.readouterr().err
    assert not (tmp_path / "no_store").exists()
