"""The shipped outcome specs: loading, the deprecated name, and an escalation model end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from send_early import RiskModel, SpecError, score
from send_early.features import population
from send_early.model import load_model_spec

from ..conftest import FAST_PARAMS, ROOT


@pytest.mark.parametrize(
    ("name", "outcome", "scored"),
    [
        ("default", "any_support", "not_identified"),
        ("escalation", "escalation", "sen_support"),
        ("need_communication", "need_communication_interaction", "not_identified"),
    ],
)
def test_shipped_specs_say_which_outcome_and_population(name, outcome, scored):
    spec = load_model_spec(name)
    assert spec.outcome == outcome
    assert RiskModel.from_spec(name).pipeline.population == scored
    assert "referrals_ep_365d" in spec.exclude  # a process feature, never given to the model


def _spec(tmp_path: Path, name: str, **model) -> Path:
    text = (ROOT / "models" / f"{name}.toml").read_text()
    for key, value in model.items():
        head, rest = text.split(f"\n{key} = ", 1)
        text = head + f"\n{key} = {value}" + "\n" + rest.split("\n", 1)[1]
    head, rest = text.split("[estimator.params]", 1)
    text = head + "[estimator.params]\n" + FAST_PARAMS + "\n\n" + rest.split("\n\n", 1)[1]
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def test_ehcp_in_a_model_spec_is_read_as_ehc_request(tmp_path):
    path = _spec(tmp_path, "default", outcome='"ehcp"')
    with pytest.warns(FutureWarning, match="'ehcp' is deprecated"):
        assert load_model_spec(path).outcome == "ehc_request"
    with pytest.raises(SpecError, match=r"\[model\] outcome must be one of any_support, "):
        load_model_spec(_spec(tmp_path, "default", outcome='"ehc_plan"'))


def test_escalation_model_trains_evaluates_and_scores_children_on_sen_support(
    small_cohort, tmp_path
):
    from send_early.workflow import evaluate_model

    model = RiskModel.from_spec(_spec(tmp_path, "escalation"))
    model.fit(small_cohort, ["2021-09-01", "2022-09-01"])
    assert model.metadata_["outcome"] == "escalation"
    run = evaluate_model(model, small_cohort, out_dir=tmp_path / "card", backtest=False)
    as_of = run.as_of
    status = population(small_cohort, as_of, pipeline=model.pipeline)
    lo, hi = model.spec.population_age_months
    on_support = status[
        (status["status"] == "in_population") & status["age_months"].between(lo, hi)
    ].index
    assert run.counts["population"] == len(on_support) > 0
    assert "on SEN support" in run.card.to_dict()["outcome"]["text"]
    scores = model.score(small_cohort, as_of)
    assert set(scores["child_id"]) == set(on_support)
    # none of them was in the default population (children not yet identified)
    default = population(small_cohort, as_of)["status"]
    assert (default.loc[list(on_support)] == "already_identified").all()
    # batch scoring accounts for the others with the reason they are not scored
    batch, rejects = score(model, small_cohort, as_of)
    assert set(batch["child_id"]) == set(on_support)
    why = rejects.drop_duplicates("child_id").set_index("child_id")
    assert why.loc[why["rule"] == "not_on_sen_support", "reason"].str.startswith("not on SEN").all()
    assert (why["rule"] == "ehc_requested").any()
