"""Results by phase on the model card: JSON, HTML, reading back, and the workflow."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from send_early.evaluation import Evaluation, PhaseEvaluation
from send_early.report import ModelCard, build_model_card, card_json_schema

from ..report.test_card_object import validate


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(11)
    n = 3000
    age = np.where(rng.random(n) < 0.3, rng.integers(24, 60, n), rng.integers(60, 121, n))
    risk = rng.uniform(0, 0.4, n)
    y = (rng.random(n) < risk).astype(int)
    ev = Evaluation(y_true=y, risk=risk, share=0.1, tiebreak=np.arange(n).astype(str))
    flagged = risk >= np.sort(risk)[-ev.headline["k"]]
    return ev, PhaseEvaluation(y_true=y, risk=risk, flagged=flagged, age_months=age)


def _card(ev, by_phase=None):
    model = SimpleNamespace(feature_names_=["age_months"], metadata_={"n_train": 500})
    return build_model_card(model, ev, None, by_phase=by_phase)


def test_card_shows_results_by_phase(scored):
    ev, ph = scored
    card = _card(ev, ph)
    rows = card.to_dict()["metrics"]["by_phase"]
    assert [r["phase"] for r in rows] == ["under 5", "primary"]
    assert sum(r["n"] for r in rows) == card.metrics.headline["n"]
    assert rows == ph.to_dict()["table"]
    html = card.to_html()
    assert "Results by phase" in html and "recall at capacity" in html
    assert f"{rows[0]['roc_auc']:.3f}" in html
    assert validate(card.to_dict(), card_json_schema(), card_json_schema()) == []
    back = ModelCard.from_dict(card.to_dict())
    assert back.to_dict()["metrics"] == card.to_dict()["metrics"]


def test_card_without_phases_is_unchanged(scored):
    ev, _ = scored
    card = _card(ev)
    assert "by_phase" not in card.to_dict()["metrics"]
    assert "Results by phase" not in card.to_html()
    assert ModelCard.from_dict(card.to_dict()).metrics.by_phase is None
    with pytest.raises(TypeError, match="by_phase must be a send_early.evaluation.PhaseEvaluation"):
        _card(ev, [1, 2])


def test_workflow_card_reports_results_by_phase(fitted_model, small_cohort, tmp_path):
    from send_early.workflow import evaluate_model

    run = evaluate_model(fitted_model, small_cohort, out_dir=tmp_path, backtest=False)
    rows = run.card.to_dict()["metrics"]["by_phase"]
    assert {r["phase"] for r in rows} == {"under 5", "primary"}  # ages 24 to 120 months
    shown = [r["n"] for r in rows if isinstance(r["n"], int)]
    assert not shown or sum(shown) <= run.counts["evaluated"]
    assert rows == run.by_phase.to_dict()["table"]
