"""End to end with a real SQLite MLflow store: train, register, review, promote, score by alias."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from send_early import write_tables
from send_early.cli import main
from send_early.workflow import default_evaluation_as_of, train_model


@pytest.fixture(scope="module")
def trained(small_cohort, fast_spec_path, tmp_path_factory):
    root = tmp_path_factory.mktemp("wf")
    store = root / "store"
    res = train_model(
        small_cohort,
        fast_spec_path,
        out_dir=root / "out",
        register="wf_model",
        tracking_uri=str(store),
    )
    return res, root, store


def test_train_evaluates_writes_card_and_registers(trained, small_cohort):
    res, root, store = trained
    run = res.run
    assert run.as_of == default_evaluation_as_of(small_cohort, 24) == pd.Timestamp("2023-08-31")
    assert run.counts["evaluated"] > 500
    assert run.card.html_path.exists() and run.card.json_path.exists()
    assert res.logged.version == "1"
    table = run.headline_table()
    assert "ROC AUC" in set(table["measure"])
    assert (root / "out" / "model" / "model.json").exists()
    # the group audit has every standard group, new arrivals included (they need the tables)
    by_group = {r["feature"] for r in run.card.to_dict()["fairness"]["by_group"]}
    assert {"new_arrival", "social_care", "health_review", "sex_ethnicity"} <= by_group


def test_trained_card_shows_the_capacity_policies_by_setting(trained, small_cohort):
    res, _, _ = trained
    card = res.run.card.to_dict()
    pol = card["capacity"]["policies"]
    k = res.run.evaluation.headline["k"]
    assert pol["k"] == k
    policies = ["council", "proportional", "minimum", "locality"]  # the cohort has localities
    assert [r["policy"] for r in pol["summary"]] == policies
    shown = [r["flagged"] for r in pol["summary"] if r["flagged"] is not None]
    assert shown and all(f == k for f in shown)
    # every school on the roll at the as-of date, plus a setting per locality team for
    # children on no roll (and one for those with no locality)
    settings = {r["setting"] for r in pol["by_setting"]}
    teams = {s for s in settings if s.startswith("not_on_roll_")}
    assert len(teams) >= 4 and len(settings) == pol["summary"][0]["settings"]
    assert len(pol["by_setting"]) == len(policies) * len(settings)
    html = res.run.card.html_path.read_text(encoding="utf-8")
    assert "Capacity policies by setting" in html


def test_cli_review_promote_and_score_by_alias(trained, small_cohort, tmp_path, capsys):
    res, root, store = trained
    assert main(["review", "wf_model", "1", "--tracking-uri", str(store)]) == 0
    out = capsys.readouterr().out
    assert "checklist" in out.lower()
    args = [
        "promote",
        "wf_model",
        "1",
        "--alias",
        "champion",
        "--reviewer",
        "r1",
        "--note",
        "ok",
        "--tracking-uri",
        str(store),
    ]
    if not res.run.card.passed:
        assert main(args) == 1  # refused: the card's checks failed
        assert main([*args, "--force"]) == 2  # --force needs --reason
        args += ["--force", "--reason", "test cohort is tiny"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(["versions", "wf_model", "--tracking-uri", str(store)]) == 0
    out = capsys.readouterr().out
    assert "champion" in out and "r1" in out
    assert main(["versions", "wf_model", "--json", "--tracking-uri", str(store)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["version"] for r in rows] == [1] and "champion" in rows[0]["aliases"].split(",")
    assert rows[0]["reviewer"] == "r1" and rows[0]["forced"] == (not res.run.card.passed)
    assert main(["versions", "no_such_model", "--tracking-uri", str(store)]) == 1
    write_tables(small_cohort, tmp_path / "cohort")
    out_file = tmp_path / "scores.csv"
    rc = main(
        [
            "score",
            str(tmp_path / "cohort"),
            "--model",
            "models:/wf_model@champion",
            "--as-of",
            "2025-08-31",
            "--out",
            str(out_file),
            "--tracking-uri",
            str(store),
        ]
    )
    assert rc == 0
    scores = pd.read_csv(out_file)
    assert set(scores["model_version"].astype(str)) == {"1"}
    assert (scores["model_name"] == res.model.name).all()


def test_no_child_id_in_the_store(trained, small_cohort):
    _, _, store = trained
    ids = set(small_cohort["children"]["child_id"].sample(300, random_state=0))
    pattern = re.compile(rb"c\d{7}")
    for path in store.rglob("*"):
        if path.is_file():
            found = {m.decode() for m in pattern.findall(path.read_bytes())}
            assert not (found & ids), f"child ids found in {path}"


def test_cli_evaluate_saved_model(trained, small_cohort, tmp_path, capsys):
    res, root, _ = trained
    write_tables(small_cohort, tmp_path / "cohort")
    rc = main(
        [
            "evaluate",
            str(tmp_path / "cohort"),
            "--model",
            str(root / "out" / "model"),
            "--out",
            str(tmp_path / "card"),
            "--no-backtest",
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "Evaluation at 2023-08-31" in out and "Model card:" in out
    assert list((tmp_path / "card").glob("*_card.html"))


def test_more_settings_than_k_gives_the_card_a_summary_without_the_minimum_policy():
    """Issue 20: with more settings than k the card used to drop the capacity policies."""
    import numpy as np

    from send_early.workflow import _capacity_policies

    n = 300
    ids = [f"c{i:03d}" for i in range(n)]
    census = pd.DataFrame(
        {
            "child_id": ids[:200],
            "census_date": pd.Timestamp("2023-01-19"),
            "school_id": [f"s{i % 40:02d}" for i in range(200)],  # 40 schools
        }
    )
    children = pd.DataFrame({"child_id": ids, "locality": ["L1", "L2", "L3"] * 100})
    rng = np.random.default_rng(0)
    risk, y = rng.random(n), rng.random(n) < 0.2
    said = []
    pol = _capacity_policies(
        {"census": census, "children": children}, "2023-09-01", ids, y, risk, 20, said.append
    )
    assert pol["summary"]["policy"].tolist() == ["council", "proportional", "locality"]
    assert (pol["summary"]["flagged"] == 20).all() and pol["by_setting"] is None
    assert pol["summary"]["settings"].iloc[0] == 43  # 40 schools and 3 locality teams
    assert said == ["capacity policies over 43 settings (summary only)"]


def test_the_baselines_learn_from_the_models_own_age_range(trained, small_cohort, monkeypatch):
    """The age-only baseline is fitted on the calibration cohort within the model's age
    range (the pipeline builds a wider one), as the model itself was calibrated."""
    import send_early.evaluation as ev
    import send_early.workflow as wf
    from send_early import RiskModel

    res, root, _ = trained
    model = RiskModel.load(root / "out" / "model")
    lo, hi = model.spec.population_age_months
    seen = {}
    real = ev.Evaluation

    def spy(*args, **kwargs):
        seen["X_train"] = kwargs["X_train"]
        return real(*args, **kwargs)

    monkeypatch.setattr(ev, "Evaluation", spy)  # evaluate_model imports it when called
    wf.evaluate_model(model, small_cohort, backtest=False)
    age = seen["X_train"]["age_months"]
    assert len(age) and age.between(lo, hi).all()
