"""The README's main command, ``send-early demo``, on a small synthetic cohort."""

from __future__ import annotations

import json

import pandas as pd

from send_early.batch import read_run
from send_early.cli import main


def test_demo_publishes_its_scores_as_one_run(tmp_path, capsys):
    out, store = tmp_path / "out", tmp_path / "store"
    rc = main(["demo", "--out", str(out), "--children", "4000", "--tracking-uri", str(store)])
    printed = capsys.readouterr().out
    assert rc == 0, printed[-2000:]
    scores, rejects = run = read_run(out / "scores.csv")  # hashes, row counts, counts add up
    assert run.counts["input_children"] == len(scores) + len(rejects) == 4000
    assert scores["flagged"].sum() == run.counts["flagged"] > 0
    assert pd.read_csv(out / "scores.csv").shape == scores.shape
    assert "MLFLOW_DISABLE_TELEMETRY=true mlflow ui" in printed
    assert "never a decision" in printed
    # a work list per setting; together they hold exactly the flagged children
    listed = pd.concat(pd.read_csv(f, dtype=str) for f in (out / "lists").glob("*.csv"))
    flagged = scores.loc[scores["flagged"].astype(bool), "child_id"].astype(str)
    assert sorted(listed["child_id"]) == sorted(flagged)
    assert (out / "lists" / "index.html").is_file()
    monitor = json.loads((out / "monitor" / "monitor.json").read_text())
    assert len(monitor["runs"]) == 2 and monitor["stability"] and monitor["forecast"]
    # the card shows what each capacity policy by setting would give
    (card,) = (out / "model_card").glob("*_card.json")
    policies = json.loads(card.read_text())["capacity"]["policies"]
    # the demo's cohort records localities, so the locality quota is compared too
    expected = ["council", "proportional", "minimum", "locality"]
    assert [r["policy"] for r in policies["summary"]] == expected
    (page,) = (out / "model_card").glob("*_card.html")
    assert "Capacity policies by setting" in page.read_text(encoding="utf-8")
