"""The ATRS record and the DPIA sheet: filled from registry and card, person fields marked."""

from __future__ import annotations

import hashlib
import json

import pytest

from send_early.registry import ReviewSummary
from send_early.transparency import DATA_CATEGORIES, transparency_record

CARD = {
    "schema": "send_early.model_card/1",
    "schema_version": 1,
    "model": {
        "name": "m",
        "description": "d",
        "estimator": "additive",
        "capacity_policy": "share",
        "capacity_value": 0.05,
    },
    "intended_use": {
        "intended": ["Decision support <b>for a person</b>."],
        "out_of_scope": ["Any eligibility decision."],
    },
    "outcome": {
        "text": "Chance of SEN support within 24 months.",
        "population_age_months": [24, 120],
    },
    "features": {"used": ["age_months", "eyfsp_gld"], "protected": ["sex"], "not_used": ["sex"]},
    "data_summary": {
        "given": {
            "tables": [{"table": "children"}, {"table": "health_reviews"}, {"table": "social_care"}]
        }
    },
    "baselines": {"summary": "The model flags more than the best simple rule."},
    "fairness": {"caveat": "Labels are identified SEN, not need."},
    "limitations": ["Identified SEN is not need."],
    "checks": [{"name": "ece_below_threshold", "passed": True}],
}


def summary(card_sha="", aliases=("champion",), forced="false"):
    tags = {
        "send_early.card_sha256": card_sha,
        "send_early.review.champion.reviewer": "jsmith",
        "send_early.review.champion.timestamp": "2026-01-10T10:00:00+00:00",
        "send_early.review.champion.note": "agreed at panel",
        "send_early.review.champion.forced": forced,
    }
    params = {
        "outcome": "any_support",
        "horizon_months": "24",
        "estimator": "AdditiveRiskClassifier",
        "train_as_of_dates": "2018-09-01,2019-09-01",
        "n_train": "7707",
        "calibration_as_of": "2021-09-01",
        "n_calibration": "7",
        "extract_date": "2025-08-31",
    }
    metrics = {
        "headline.n": 2694.0,
        "headline.n_positive": 225.0,
        "headline.roc_auc": 0.78,
        "headline.ece": 0.012,
        "capacity.k": 134.0,
        "capacity.precision": 0.343,
        "capacity.recall": 0.204,
        "lead_time.median": 9.48,
    }
    return ReviewSummary(
        name="risk",
        version="3",
        run_id="r",
        aliases=tuple(aliases),
        status="approved",
        tags=tags,
        params=params,
        metrics=metrics,
        checks=(
            {"name": "ece_below_threshold", "passed": True},
            {"name": "backtest_spread_small", "passed": False},
        ),
        champion_version="3",
        champion_metrics={},
    )


@pytest.fixture
def card_file(tmp_path):
    p = tmp_path / "card.json"
    p.write_text(json.dumps(CARD))
    return p


@pytest.fixture
def registry(monkeypatch, card_file):
    sha = hashlib.sha256(card_file.read_bytes()).hexdigest()
    state = {"summary": summary(sha)}
    monkeypatch.setattr(
        "send_early.registry.review_summary", lambda name, version, **kw: state["summary"]
    )
    return state


def fields(record):
    d = record.to_dict()["sections"]
    return {f"{s}.{n}": f for s, sec in d.items() for n, f in sec["fields"].items()}


def test_filled_from_registry_and_card(registry, card_file):
    rec = transparency_record("risk", 3, card=card_file, today="2026-02-01")
    f = fields(rec)
    assert f["tier_1.name"]["value"] == "risk"
    assert "Chance of SEN support within 24 months." in f["tier_1.description"]["value"]
    assert f["metadata.phase"]["value"] == "Production"
    perf = " ".join(f["tool_specification.model_performance"]["value"])
    assert "precision 34.3%" in perf and "recall 20.4%" in perf and "9.5 months" in perf
    assert "failed: backtest_spread_small" in perf  # the card's checks go with performance
    assert "Labels are identified SEN, not need." in perf  # and its fairness caveat
    assert f["tool_specification.model_name"]["value"] == "risk"
    assert f["tool_specification.model_version"]["value"] == "3"
    assert f["tool_specification.model_architecture"]["value"] == "AdditiveRiskClassifier"
    assert "2 features" in f["tool_specification.model_input"]["value"]
    assert f["data_specification.source_data_name"]["value"] == [
        "children",
        "health_reviews",
        "social_care",
    ]
    assert rec.generated == "2026-02-01"


#: Field keys of the ATRS v3.0 template (see docs/transparency.md for which were checked
#: against the published standard).
ATRS_KEYS = {
    "tier_1": ["name", "description", "website", "contact_email"],
    "tool_specification": [
        "system_architecture", "phase", "maintenance", "model_name", "model_version",
        "model_task", "model_input", "model_output", "model_architecture",
        "model_performance", "datasets", "dataset_purposes",
    ],
    "data_specification": [
        "source_data_name", "data_modality", "data_description", "data_quantities",
        "sensitive_attributes", "data_completeness_and_representativeness", "source_data_url",
        "data_collection", "data_cleaning", "data_sharing_agreements", "data_access_and_storage",
    ],
}  # fmt: skip


def test_field_names_follow_the_standard(registry, card_file):
    sections = transparency_record("risk", 3, card=card_file).to_dict()["sections"]
    for section, keys in ATRS_KEYS.items():
        assert list(sections[section]["fields"]) == keys
    assert set(sections) == {
        "metadata", "tier_1", "owner_and_responsibility", "description_and_rationale",
        "decision_making_process", "tool_specification", "data_specification",
        "risks_mitigations_and_impact_assessments",
    }  # fmt: skip


def test_person_fields_marked_never_guessed(registry, card_file):
    rec = transparency_record("risk", 3, card=card_file)
    f = fields(rec)
    for key in (
        "metadata.organisation",
        "tier_1.contact_email",
        "owner_and_responsibility.senior_responsible_owner",
        "risks_mitigations_and_impact_assessments.impact_assessments",
    ):
        assert f[key]["needs_person"] is True and f[key]["value"] is None
        assert f[key]["prompt"]
        assert key in rec.to_fill()
    assert not f["tier_1.name"]["needs_person"]


def test_without_card_more_is_left_for_a_person(registry):
    rec = transparency_record("risk", 3)
    f = fields(rec)
    assert f["tier_1.description"]["needs_person"]
    assert f["tool_specification.model_performance"]["value"]  # from the registry alone
    assert len(rec.to_fill()) > 17


def test_a_card_of_another_version_is_refused(registry, card_file, tmp_path):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**CARD, "limitations": ["changed"]}))
    with pytest.raises(ValueError, match="must be the one registered with risk version 3"):
        transparency_record("risk", 3, card=other)


def test_small_counts_are_not_published(registry, card_file):
    text = transparency_record("risk", 3, card=card_file).to_json()
    assert "(7)" not in text and "<10" in text  # n_calibration = 7 reads <10


def test_reviewer_id_and_note_stay_in_the_registry(registry, card_file):
    rec = transparency_record("risk", 3, card=card_file)
    text = rec.to_json() + rec.html() + json.dumps(rec.dpia_dict())
    assert "jsmith" not in text and "agreed at panel" not in text
    assert "Approved as champion on 2026-01-10" in text


def test_not_champion_is_pre_deployment(registry, card_file):
    sha = registry["summary"].tags["send_early.card_sha256"]
    registry["summary"] = summary(sha, aliases=())
    assert fields(transparency_record("risk", 3, card=card_file))["metadata.phase"][
        "value"
    ].startswith("Pre-deployment")


def test_dpia_sheet(registry, card_file):
    d = transparency_record("risk", 3, card=card_file).dpia_dict()
    secs = d["sections"]
    assert set(secs) == {
        "data_flows",
        "categories_of_data",
        "retention",
        "human_review",
        "right_to_object",
    }
    cats = secs["categories_of_data"]["fields"]["categories"]["value"]
    by = {c["table"]: c for c in cats}
    assert by["health_reviews"]["special_category"].startswith("special category")
    assert by["social_care"]["special_category"] != "no"
    assert "24 to 120 months" in secs["categories_of_data"]["fields"]["children"]["value"]
    assert secs["categories_of_data"]["fields"]["lawful_basis"]["needs_person"]
    assert "24 months" in secs["retention"]["fields"]["label_window"]["value"]
    assert set(DATA_CATEGORIES) >= set(by)


def test_html_is_escaped_and_files_written(registry, card_file, tmp_path):
    rec = transparency_record("risk", 3, card=card_file)
    page = rec.html()
    assert "&lt;b&gt;for a person&lt;/b&gt;" in page and "<b>for a person" not in page
    assert page.count("To be completed by a person.") == len(rec.to_fill())
    paths = rec.write(tmp_path / "out")
    assert sorted(p.name for p in paths) == [
        "dpia.html",
        "dpia.json",
        "transparency.html",
        "transparency.json",
    ]
    assert (
        json.loads((tmp_path / "out" / "transparency.json").read_text())["standard_version"]
        == "3.0"
    )
