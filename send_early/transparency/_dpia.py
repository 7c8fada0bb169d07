"""The DPIA input sheet's fields: data flows, categories of data, retention, human review and
the right to object, from the registry, the card and the data contract."""

from __future__ import annotations

from ._record import DATA_CATEGORIES, Field, _person
from ._sections import _approval_text, _tables

__all__ = ["dpia_sections"]


def _ages(card: dict) -> str:
    ages = (card.get("outcome") or {}).get("population_age_months") or []
    if len(ages) != 2:
        return ""
    return f" aged {ages[0]} to {ages[1]} months"


def dpia_sections(summary, card: dict) -> dict:
    """The sheet's sections: key -> (title, [Field, ...])."""
    tables = _tables(card) or list(DATA_CATEGORIES)
    categories = [
        {
            "table": t,
            "category": DATA_CATEGORIES[t][0],
            "special_category": DATA_CATEGORIES[t][1] or "no",
        }
        for t in tables
        if t in DATA_CATEGORIES
    ]
    horizon = summary.params.get("horizon_months")
    return {
        "data_flows": (
            "Data flows",
            [
                Field(
                    "sources",
                    "Sources",
                    "Extracts from the council's education, early-years, health visiting, "
                    "social care and SEN systems, as contract tables (one folder, an extract "
                    "date in manifest.json).",
                    "data contract",
                ),
                Field(
                    "processing",
                    "Processing",
                    "On the council's own machine: validation, as-of features, scores, lists "
                    "per setting. Scores and lists are files the council controls.",
                    "send_early",
                ),
                Field(
                    "recipients",
                    "Recipients",
                    "Each school or setting receives only its own flagged children, with "
                    "education and development reasons only; each locality team (health "
                    "visiting, early help) receives only its own flagged children on no "
                    "school roll, with health reasons too; the council's SEND team "
                    "receives all lists and a cover page of counts.",
                    "send_early (lists)",
                ),
                Field(
                    "model_store",
                    "Model store",
                    "Registered versions, their cards and aggregate figures (no child-level "
                    "rows) in the MLflow store.",
                    "send_early",
                ),
                Field(
                    "outcome_log",
                    "Outcome log",
                    "What followed each flag (child id, model version, dates, outcome) in "
                    "outcomes.sqlite beside the store, never in MLflow.",
                    "send_early",
                ),
                _person(
                    "transfers",
                    "Transfers outside the council",
                    "Any processor or transfer; none is needed by the software.",
                ),
            ],
        ),
        "categories_of_data": (
            "Categories of data",
            [
                Field("categories", "Categories (by table)", categories, "data contract"),
                Field(
                    "children",
                    "Data subjects",
                    f"Children{_ages(card)} known to the council and not yet identified "
                    "with SEN; their parents are not data subjects of the model.",
                    "pipeline spec",
                ),
                _person(
                    "lawful_basis",
                    "Lawful basis and Article 9 condition",
                    "Public task (Article 6(1)(e)) and the Article 9 condition with its "
                    "Schedule 1 paragraph, as the council's DPO advises.",
                ),
            ],
        ),
        "retention": (
            "Retention",
            [
                Field(
                    "label_window",
                    "How long outcomes matter",
                    f"Labels look {horizon} months ahead; outcomes are needed at least that "
                    "long after each flag to evaluate it."
                    if horizon
                    else None,
                    "registry",
                ),
                _person(
                    "extracts",
                    "Extracts and scores",
                    "How long extract folders, score files and lists are kept.",
                ),
                _person("outcome_log", "Outcome log", "How long outcome rows are kept."),
            ],
        ),
        "human_review": (
            "Human review",
            [
                Field(
                    "review",
                    "Human review",
                    "A practitioner reviews every flag before anything happens; the tool "
                    "decides nothing. Each model version is approved by a second person. "
                    + (_approval_text(summary) or ""),
                    "send_early, registry approval",
                ),
                Field(
                    "automated_decision",
                    "Solely automated decision (Article 22)",
                    "No: no decision with legal or similarly significant effect is made "
                    "without a person.",
                    "send_early",
                ),
            ],
        ),
        "right_to_object": (
            "Right to object",
            [
                _person(
                    "how_to_object",
                    "How to object",
                    "How a parent objects (Article 21) and who handles it.",
                ),
                Field(
                    "effect_of_objection",
                    "Effect of an objection",
                    "Leave the child's records out of the next extract: the child is then "
                    "neither scored nor used for training; recorded outcomes can be removed "
                    "from the outcome log by the data steward.",
                    "send_early",
                ),
            ],
        ),
    }
