"""The card's parts from after the evaluation (schema version 2): the registry entry and its
approval, what followed the flags, the capacity policies by setting; version 1 cards still
read."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest

from send_early.report import SCHEMA_VERSION, ModelCard, build_model_card, card_json_schema

from .test_card_object import later_inputs, validate

MODEL = SimpleNamespace(feature_names_=["age_months"], metadata_={"n_train": 500})
EV = {"headline": {"n": 800, "n_positive": 90, "roc_auc": 0.74, "ece": 0.01}}


def section(html: str, sid: str) -> str:
    body = re.search(rf'<section id="{sid}">(.*?)</section>', html, re.S).group(1)
    body = re.sub(r"</?(strong|code|span)[^>]*>", "", body)  # inline: no space
    return " ".join(re.sub(r"<[^>]+>", " ", body).split()).replace("&lt;", "<")


@pytest.fixture(scope="module")
def later():
    return later_inputs()


def test_schema_version_is_2_and_the_shipped_schema_says_so():
    schema = card_json_schema()
    assert SCHEMA_VERSION == 2
    assert schema["properties"]["schema_version"]["const"] == 2
    assert {"registry", "outcomes_after_flags"} <= set(schema["required"])


def test_a_card_before_registration_says_so_and_the_registry_fills_it(later):
    card = build_model_card(MODEL, EV, None)
    html = card.to_html()
    assert "Not yet registered" in section(html, "registry")
    assert "not yet registered" in html.split("<nav>")[0]  # the header says it too
    registered = card.with_registry({**later["registry"], "approvals": []})
    text = section(registered.to_html(), "registry")
    assert "Registered as risk version 3, logged by run 0123456789abcdef0123456789abcdef" in text
    assert "Not yet approved" in text
    approved = card.with_registry(later["registry"])
    text = section(approved.to_html(), "registry")
    assert "Approved as champion by jsmith on 2026-01-10." in text
    assert "agreed at panel" not in approved.to_json()  # the note stays in the registry
    assert approved.checks == card.checks and approved.to_dict()["registry"]["version"] == "3"
    assert ModelCard.from_dict(approved.to_dict()) == approved


def test_forced_approval_is_said(later):
    reg = later["registry"]
    forced = {**reg, "approvals": [{**reg["approvals"][0], "forced": "true"}]}
    card = build_model_card(MODEL, EV, None, registry=forced)
    assert "although some checks failed" in section(card.to_html(), "registry")
    assert card.registry.approvals[0]["forced"] is True


def test_outcomes_after_flags_are_shown_with_small_counts_hidden(later):
    card = build_model_card(MODEL, EV, None, outcomes_after_flags=later["outcomes_after_flags"])
    text = section(card.to_html(), "outcomes")
    assert "Reviewed 40 77.0% 30" in text
    assert "SEN support started <10 suppressed suppressed" in text
    rows = card.to_dict()["outcomes_after_flags"]["rows"]
    assert rows[1]["median_days"] is None and "suppressed" not in rows[1]
    later_card = build_model_card(MODEL, EV, None).with_outcomes(later["outcomes_after_flags"])
    assert later_card.outcomes_after_flags == card.outcomes_after_flags
    assert card.with_outcomes(None).outcomes_after_flags is None
    empty = later["outcomes_after_flags"].iloc[0:0]
    assert (
        build_model_card(MODEL, EV, None, outcomes_after_flags=empty).outcomes_after_flags is None
    )


def test_capacity_policies_by_setting(later):
    card = build_model_card(MODEL, EV, None, capacity_policies=later["capacity_policies"])
    pol = card.to_dict()["capacity"]["policies"]
    assert [r["policy"] for r in pol["summary"]] == ["council", "proportional", "minimum"]
    assert {r["flagged"] for r in pol["summary"]} == {100}
    assert {r["policy"] for r in pol["by_setting"]} == {"council", "proportional", "minimum"}
    html = card.to_html()
    assert "Capacity policies by setting" in section(html, "capacity")
    assert "Flag rate, precision and recall by setting" in html
    with pytest.raises(ValueError, match="capacity_policies must be a mapping with k, summary"):
        build_model_card(MODEL, EV, None, capacity_policies={"k": 3})
    with pytest.raises(ValueError, match="registry must be a mapping with name, version"):
        build_model_card(MODEL, EV, None, registry={"name": "risk"})


def test_more_settings_than_k_still_shows_the_policies_as_a_summary():
    """Issue 20: the card left the section out when the settings outnumbered k."""
    import numpy as np

    from send_early.evaluation import compare_capacity_policies

    rng = np.random.default_rng(3)
    risk = rng.random(3000)
    y = rng.random(3000) < risk / 3
    where = rng.choice([f"s{i:03d}" for i in range(150)], 3000)  # 150 settings, k = 100
    team = rng.choice(["L1", "L2", "L3", "L4"], 3000)
    args = {"k": 100, "locality": team, "policies": ("council", "proportional", "locality")}
    summary = compare_capacity_policies(risk, y, where, **args)
    card = build_model_card(
        MODEL, EV, None, capacity_policies={"k": 100, "summary": summary, "by_setting": None}
    )
    pol = card.to_dict()["capacity"]["policies"]
    assert [r["policy"] for r in pol["summary"]] == ["council", "proportional", "locality"]
    assert pol["by_setting"] == []
    schema = card_json_schema()
    assert validate(card.to_dict(), schema, schema) == []
    text = section(card.to_html(), "capacity")
    assert "shared out 3 ways" in text and "locality, a quota per locality team" in text
    assert "minimum policy is left out when the settings outnumber k" in text
    assert "summary only" in text and "Flag rate, precision and recall by setting" not in text


def test_a_version_1_card_reads_as_version_2(later):
    card = build_model_card(MODEL, EV, None)
    v1 = card.to_dict() | {"schema": "send_early.model_card/1", "schema_version": 1}
    del v1["registry"], v1["outcomes_after_flags"]
    again = ModelCard.from_dict(v1)
    assert again.schema_version == 2 and again.registry is None
    assert again.to_dict() == card.to_dict()
    # a version 2 card must carry the keys version 2 added
    v2 = card.to_dict()
    del v2["registry"]
    with pytest.raises(ValueError, match="missing registry"):
        ModelCard.from_dict(v2)
    with pytest.raises(ValueError, match="must have schema_version 2"):
        ModelCard.from_dict({"schema_version": 99, "checks": []})


def test_a_full_card_follows_the_schema(later):
    card = build_model_card(MODEL, EV, None, **later)
    schema = card_json_schema()
    data = json.loads(card.to_json())
    assert validate(data, schema, schema) == []
    data["registry"]["approvals"][0]["forced"] = "no"
    assert validate(data, schema, schema)  # the check can fail
