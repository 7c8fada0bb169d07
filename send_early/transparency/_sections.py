"""The fields of the ATRS record and of the DPIA input sheet, from the registry and the card."""

from __future__ import annotations

from types import SimpleNamespace

from ._record import DATA_CATEGORIES, Field, _n, _pct, _person

__all__ = ["record_sections"]

_TOOL = (
    "send_early: an open-source Python library run by the council on its own systems. It "
    "joins the council's records as they stood on a date, scores each child's chance of "
    "needing SEN support, and gives caseworkers a short list with the reasons for each child."
)


def _card_list(card: dict, *keys) -> list:
    node = card
    for k in keys:
        node = (node or {}).get(k) if isinstance(node, dict) else None
    return list(node or [])


def _tables(card: dict) -> list[str]:
    given = ((card.get("data_summary") or {}).get("given") or {}).get("tables") or []
    return [t.get("table") for t in given if t.get("table")]


def _performance(summary, card) -> str | None:
    m = summary.metrics
    if "capacity.precision" not in m and not card:
        return None
    k = _n(m.get("capacity.k"))
    parts = [
        f"On the evaluation cohort ({_n(m.get('headline.n'))} children, "
        f"{_n(m.get('headline.n_positive'))} identified within the horizon): "
        f"ROC AUC {m.get('headline.roc_auc', float('nan')):.2f}; at a capacity of {k} "
        f"children flagged, precision {_pct(m.get('capacity.precision'))} and recall "
        f"{_pct(m.get('capacity.recall'))}; expected calibration error "
        f"{m.get('headline.ece', float('nan')):.3f}."
    ]
    if "lead_time.median" in m:
        parts.append(
            f"Flags came a median {m['lead_time.median']:.1f} months before identification."
        )
    summary_text = (card.get("baselines") or {}).get("summary")
    if summary_text:
        parts.append(summary_text)
    return " ".join(parts)


def _checks(summary) -> str | None:
    if not summary.checks:
        return None
    failed = summary.checks_failed
    text = f"{len(summary.checks_passed)} of {len(summary.checks)} model card checks passed"
    return text + (f"; failed: {', '.join(failed)}." if failed else ".")


def _approval_text(summary) -> str | None:
    if not summary.approvals:
        return None
    a = summary.approvals[0]
    text = (
        f"Approved as {a['alias']} on {a.get('timestamp', '?')[:10]} by a reviewer other than "
        "the person who registered it (who approved, and their note, are in the registry's "
        "decision log: send-early versions NAME)."
    )
    if a.get("forced") == "true":
        text += " It was approved although some checks failed; the reason is recorded there."
    return text


def _context(summary, card: dict):
    """What several sections share, read once from the registry summary and the card."""
    p, m = summary.params, summary.metrics
    model = card.get("model") or {}
    outcome = card.get("outcome") or {}
    intended = _card_list(card, "intended_use", "intended")
    out_of_scope = _card_list(card, "intended_use", "out_of_scope")
    limitations = _card_list(card, "limitations")
    features = card.get("features") or {}
    live = "champion" in summary.aliases
    phase = "Production" if live else "Pre-deployment (registered, not scoring)"
    horizon = p.get("horizon_months")
    description = None
    if outcome.get("text") or model.get("description"):
        description = (
            f"{outcome.get('text') or model.get('description')} A score is decision support "
            "for a person, never a decision: it suggests where the 'assess' step of the SEND "
            "graduated approach might start earlier."
        )
    return SimpleNamespace(
        p=p,
        m=m,
        model=model,
        outcome=outcome,
        intended=intended,
        out_of_scope=out_of_scope,
        limitations=limitations,
        features=features,
        live=live,
        phase=phase,
        horizon=horizon,
        description=description,
    )


def _section_metadata(summary, card: dict, c) -> tuple:
    phase = c.phase
    return (
        "Metadata",
        [
            Field(
                "title",
                "Title",
                f"Early identification of SEN support: {summary.name}",
                "registry",
            ),
            _person("organisation", "Organisation", "The council publishing the record."),
            Field("function", "Function", "Education and children's services (SEND)", "send_early"),
            Field("phase", "Phase", phase, "registry aliases"),
            _person("region", "Geographic region", "The council's area."),
            Field(
                "tool_version",
                "Tool version",
                f"{summary.name} version {summary.version}",
                "registry",
            ),
        ],
    )


def _section_tier_1(summary, card: dict, c) -> tuple:
    description = c.description
    return (
        "Tier 1: overview",
        [
            Field("name", "Name", summary.name, "registry"),
            Field("description", "Description", description, "model card"),
            _person(
                "website",
                "Website",
                "A page with more information, e.g. the council's SEND local offer.",
            ),
            _person("contact_email", "Contact email", "A monitored address for questions."),
        ],
    )


def _section_owner_and_responsibility(summary, card: dict, c) -> tuple:
    return (
        "Tier 2: owner and responsibility",
        [
            _person("organisation", "Organisation", "The council that uses the tool."),
            _person("team", "Team", "The team responsible (e.g. the SEND service)."),
            _person(
                "senior_responsible_owner",
                "Senior responsible owner",
                "The role accountable for the tool (a role, not only a name).",
            ),
            _person(
                "external_supplier",
                "External supplier",
                "Whether a supplier runs or maintains the tool for the council; "
                "send_early itself is open-source software.",
            ),
            _person(
                "data_access_terms",
                "Supplier data access terms",
                "If a supplier is involved: what data it may access, and on what terms.",
            ),
        ],
    )


def _section_description_and_rationale(summary, card: dict, c) -> tuple:
    intended = c.intended
    out_of_scope = c.out_of_scope
    return (
        "Tier 2: description and rationale",
        [
            Field("detailed_description", "Detailed description", _TOOL, "send_early"),
            Field(
                "scope",
                "Scope",
                (intended + [f"Out of scope: {s}" for s in out_of_scope]) or None,
                "model card (intended use)",
            ),
            _person(
                "benefit",
                "Benefit",
                "The benefit the council expects (earlier support), and how it will be "
                "measured (send-early monitor; the outcome log).",
            ),
            _person(
                "previous_process",
                "Previous process",
                "How children were identified before the tool.",
            ),
            Field(
                "alternatives_considered",
                "Alternatives considered",
                (card.get("baselines") or {}).get("summary"),
                "model card (baselines)",
            ),
        ],
    )


def _section_decision_making_process(summary, card: dict, c) -> tuple:
    m = c.m
    model = c.model
    return (
        "Tier 2: decision-making process",
        [
            Field(
                "process_integration",
                "Process integration",
                "Each term the council scores the children it knows at an as-of date; "
                "the top of the ranking, sized to what the council can follow up, goes "
                "to the people who act (one list per school, early-years setting or "
                "health visiting team) as a prompt to look again.",
                "send_early",
            ),
            Field(
                "provided_information",
                "Provided information",
                "For each flagged child: a priority within the setting, up to three "
                "plain-English reasons with the date of the record behind each, and a "
                "graduated-approach prompt. School lists show education and development "
                "reasons only.",
                "send_early (lists)",
            ),
            Field(
                "frequency_and_scale_of_usage",
                "Frequency and scale of usage",
                (
                    f"Capacity policy: {model.get('capacity_policy')} "
                    f"{model.get('capacity_value')}; evaluated at {_n(m.get('capacity.k'))} "
                    "children flagged."
                )
                if model
                else None,
                "model card (capacity)",
            ),
            Field(
                "human_decisions_and_review",
                "Human decisions and review",
                "No decision is made by the tool. A practitioner who knows the child "
                "decides whether to act; SEN support and EHC needs assessments are "
                "decided under the SEND Code of Practice. Every model version is "
                "approved by a second person before it scores. " + (_approval_text(summary) or ""),
                "send_early, registry approval",
            ),
            _person(
                "required_training",
                "Required training",
                "The briefing caseworkers and SENCOs receive before using the lists.",
            ),
            _person(
                "appeals_and_review",
                "Appeals and review",
                "How a family can ask about, challenge or object to the use of their "
                "child's records (see the DPIA sheet: right to object).",
            ),
        ],
    )


def _model_input(features: dict) -> str | None:
    used = features.get("used") or []
    if not features:
        return None
    return f"{len(used)} features as of the scoring date ({', '.join(used[:8])}, ...)."


def _datasets(p: dict) -> str | None:
    if "n_train" not in p:
        return None
    return (
        f"Trained on as-of dates {p.get('train_as_of_dates')} ({_n(p.get('n_train'))} child "
        f"snapshots), calibrated at {p.get('calibration_as_of')} "
        f"({_n(p.get('n_calibration'))}); extract of {p.get('extract_date')}."
    )


def _data_quantities(p: dict, m: dict) -> str | None:
    if "n_train" not in p:
        return None
    return (
        f"{_n(p.get('n_train'))} training snapshots, {_n(p.get('n_calibration'))} calibration, "
        f"{_n(m.get('headline.n'))} evaluation."
    )


def _sensitive(features: dict) -> str | None:
    if not features:
        return None
    audited = features.get("not_used") or features.get("protected") or []
    return (
        f"Protected characteristics audited but not used as features: {', '.join(audited)}. "
        "Special category data among the inputs: see the DPIA sheet."
    )


def _section_tool_specification(summary, card: dict, c) -> tuple:
    p, model, horizon = c.p, c.model, c.horizon
    estimator = model.get("estimator") or p.get("estimator") or ""
    task = f"Binary classification: outcome {p.get('outcome')} within {horizon} months."
    # the ATRS's performance field also carries the card's checks and fairness caveat
    performance = [
        x
        for x in (
            _performance(summary, card),
            _checks(summary),
            (card.get("fairness") or {}).get("caveat"),
        )
        if x
    ]
    return (
        "Tier 2: tool specification",
        [
            Field(
                "system_architecture",
                "System architecture",
                "As-of features from the council's records (nothing dated after the "
                f"as-of date), a glass-box {estimator} classifier with exact per-child reasons, "
                "calibrated; versions kept in an MLflow registry with four-eyes promotion; "
                "outcomes after flags kept in a log beside the registry.",
                "send_early",
            ),
            Field("phase", "Phase", c.phase, "registry aliases"),
            _person(
                "maintenance",
                "Maintenance",
                "Who reviews the monitoring report each term (send-early monitor) and "
                "when the model is retrained.",
            ),
            Field("model_name", "Model name", summary.name, "registry"),
            Field("model_version", "Model version", str(summary.version), "registry"),
            Field("model_task", "Model task", task if horizon else None, "registry"),
            Field("model_input", "Model input", _model_input(c.features), "model card (features)"),
            Field(
                "model_output",
                "Model output",
                "A calibrated probability, a rank, a flag within capacity and up to three reasons.",
                "send_early",
            ),
            Field("model_architecture", "Model architecture", p.get("estimator"), "registry"),
            Field(
                "model_performance",
                "Model performance",
                performance or None,
                "registry metrics, model card",
            ),
            Field("datasets", "Datasets", _datasets(p), "registry"),
            Field(
                "dataset_purposes",
                "Dataset purposes",
                "Training snapshots fit the model, the calibration snapshot calibrates its "
                "risk, and a later cohort evaluates it (card: metrics, fairness, backtest)."
                if "n_train" in p
                else None,
                "registry",
            ),
        ],
    )


def _section_data_specification(summary, card: dict, c) -> tuple:
    tables = _tables(card)
    return (
        "Tier 2: data specification",
        [
            Field("source_data_name", "Source data name", tables or None, "model card (data used)"),
            Field("data_modality", "Data modality", "Tabular", "send_early"),
            Field(
                "data_description",
                "Data description",
                [f"{t}: {DATA_CATEGORIES[t][0]}" for t in tables if t in DATA_CATEGORIES] or None,
                "data contract",
            ),
            Field("data_quantities", "Data quantities", _data_quantities(c.p, c.m), "registry"),
            Field(
                "sensitive_attributes",
                "Sensitive attributes",
                _sensitive(c.features),
                "model card (features)",
            ),
            Field(
                "data_completeness_and_representativeness",
                "Data completeness and representativeness",
                c.limitations or None,
                "model card (limitations)",
            ),
            _person(
                "source_data_url",
                "Source data URL",
                "A public page describing the source data, if any (the records are not open).",
            ),
            Field(
                "data_collection",
                "Data collection",
                "Records the council already keeps for its statutory duties (school census, "
                "health visiting, social care, SEN), extracted as contract tables; nothing is "
                "collected for the tool.",
                "data contract",
            ),
            Field(
                "data_cleaning",
                "Data cleaning",
                "Every table is checked against the data contract; a child whose records "
                "break it is rejected with the reason and counted, never silently "
                "dropped.",
                "send_early",
            ),
            _person(
                "data_sharing_agreements",
                "Data sharing agreements",
                "The agreements under which health, school and social care records are joined.",
            ),
            _person(
                "data_access_and_storage",
                "Data access and storage",
                "Where the extract, the model store and the outcome log are kept, who "
                "can read them, and for how long.",
            ),
        ],
    )


def _section_risks_mitigations_and_impact_assessments(summary, card: dict, c) -> tuple:
    limitations = c.limitations
    return (
        "Tier 2: risks, mitigations and impact assessments",
        [
            _person(
                "impact_assessments",
                "Impact assessments",
                "The DPIA and equality impact assessment: name, date, summary, link.",
            ),
            Field("risks", "Risks", limitations or None, "model card (limitations)"),
            Field(
                "mitigations",
                "Mitigations",
                [
                    "A flag is a prompt for a person, never a decision.",
                    "Four-eyes approval of each version, with the card's checks and the "
                    "reviewer's checklist.",
                    "Group audit on every version; no published figure reveals a group "
                    "of 1 to 9 children.",
                    "Identification after a flag is marked, so retraining does not learn "
                    "from the tool's own flags.",
                    "Monitoring each term: flag stability, precision and recall as labels "
                    "arrive, calibration, drift.",
                ],
                "send_early",
            ),
        ],
    )


def record_sections(summary, card: dict) -> dict:
    """The record's sections: key -> (title, [Field, ...])."""
    c = _context(summary, card)
    return {
        "metadata": _section_metadata(summary, card, c),
        "tier_1": _section_tier_1(summary, card, c),
        "owner_and_responsibility": _section_owner_and_responsibility(summary, card, c),
        "description_and_rationale": _section_description_and_rationale(summary, card, c),
        "decision_making_process": _section_decision_making_process(summary, card, c),
        "tool_specification": _section_tool_specification(summary, card, c),
        "data_specification": _section_data_specification(summary, card, c),
        "risks_mitigations_and_impact_assessments": _section_risks_mitigations_and_impact_assessments(
            summary, card, c
        ),
    }
