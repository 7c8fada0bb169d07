"""The fields of the ATRS record and of the DPIA input sheet, from the registry and the card.

The record's sections, field names, labels, prompts and fixed texts are data
(``record.toml``); :func:`_values` computes the rest."""

from __future__ import annotations

from ._record import DATA_CATEGORIES, Field, _n, _pct, _person

__all__ = ["record_sections"]


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


def _values(summary, card: dict) -> dict:
    """The record's field values that come from the registry summary and the card, by name."""
    p, m = summary.params, summary.metrics
    model = card.get("model") or {}
    outcome = card.get("outcome") or {}
    features = card.get("features") or {}
    horizon = p.get("horizon_months")
    limitations = _card_list(card, "limitations") or None
    tables = _tables(card)
    intended = _card_list(card, "intended_use", "intended")
    out_of_scope = _card_list(card, "intended_use", "out_of_scope")
    described = outcome.get("text") or model.get("description")
    estimator = model.get("estimator") or p.get("estimator") or ""
    # the ATRS's performance field also carries the card's checks and fairness caveat
    performance = (
        _performance(summary, card),
        _checks(summary),
        (card.get("fairness") or {}).get("caveat"),
    )
    return {
        "title": f"Early identification of SEN support: {summary.name}",
        "phase": (
            "Production"
            if "champion" in summary.aliases
            else "Pre-deployment (registered, not scoring)"
        ),
        "tool_version": f"{summary.name} version {summary.version}",
        "name": summary.name,
        "description": (
            f"{described} A score is decision support for a person, never a decision: it "
            "suggests where the 'assess' step of the SEND graduated approach might start "
            "earlier."
            if described
            else None
        ),
        "scope": (intended + [f"Out of scope: {s}" for s in out_of_scope]) or None,
        "alternatives_considered": (card.get("baselines") or {}).get("summary"),
        "frequency_and_scale_of_usage": (
            f"Capacity policy: {model.get('capacity_policy')} {model.get('capacity_value')}; "
            f"evaluated at {_n(m.get('capacity.k'))} children flagged."
        )
        if model
        else None,
        "human_decisions_and_review": (
            "No decision is made by the tool. A practitioner who knows the child decides "
            "whether to act; SEN support and EHC needs assessments are decided under the SEND "
            "Code of Practice. Every model version is approved by a second person before it "
            "scores. " + (_approval_text(summary) or "")
        ),
        "system_architecture": (
            "As-of features from the council's records (nothing dated after the as-of date), "
            f"a glass-box {estimator} classifier with exact per-child reasons, calibrated; "
            "versions kept in an MLflow registry with four-eyes promotion; outcomes after "
            "flags kept in a log beside the registry."
        ),
        "model_name": summary.name,
        "model_version": str(summary.version),
        "model_task": (
            f"Binary classification: outcome {p.get('outcome')} within {horizon} months."
            if horizon
            else None
        ),
        "model_input": _model_input(features),
        "model_architecture": p.get("estimator"),
        "model_performance": [x for x in performance if x] or None,
        "datasets": _datasets(p),
        "dataset_purposes": (
            "Training snapshots fit the model, the calibration snapshot calibrates its risk, "
            "and a later cohort evaluates it (card: metrics, fairness, backtest)."
            if "n_train" in p
            else None
        ),
        "source_data_name": tables or None,
        "data_description": [
            f"{t}: {DATA_CATEGORIES[t][0]}" for t in tables if t in DATA_CATEGORIES
        ]
        or None,
        "data_quantities": _data_quantities(p, m),
        "sensitive_attributes": _sensitive(features),
        "data_completeness_and_representativeness": limitations,
        "risks": limitations,
    }


def _load_sections() -> dict:
    """key -> (title, [field spec, ...]) of each section of the record, from ``record.toml``."""
    import tomllib
    from importlib.resources import files

    text = files(__package__).joinpath("record.toml").read_text(encoding="utf-8")
    return {key: (s["title"], s["fields"]) for key, s in tomllib.loads(text).items()}


_SECTIONS = _load_sections()


def _field(spec: dict, values: dict) -> Field:
    """A field of ``record.toml``: a prompt for a person, a stated value, or one of ``values``."""
    if "ask" in spec:
        return _person(spec["name"], spec["label"], spec["ask"])
    value = spec["value"] if "value" in spec else values[spec["name"]]
    return Field(spec["name"], spec["label"], value, spec["source"])


def record_sections(summary, card: dict) -> dict:
    """The record's sections: key -> (title, [Field, ...])."""
    values = _values(summary, card)
    return {
        key: (title, [_field(spec, values) for spec in fields])
        for key, (title, fields) in _SECTIONS.items()
    }
