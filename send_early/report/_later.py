"""The card's parts that come from after the evaluation: the registry entry and its approvals,
what followed the model's flags (the outcome log), and the capacity policies by setting.

Each is given as plain data by a caller that can read the registry, the outcome log or the
settings (the report package reads none of them), and each holds aggregates only.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._sections import OutcomesAfterFlags, Registry

_APPROVAL_KEYS = ("alias", "reviewer", "timestamp", "forced")
_OUTCOME_KEYS = ("model_version", "outcome", "text", "flags", "share", "median_days")
_POLICY_KEYS = (
    "policy",
    "flagged",
    "precision",
    "recall",
    "settings",
    "settings_flagged",
    "settings_1_9",
    "settings_10_plus",
)
_SETTING_KEYS = ("policy", "setting", "children", "flagged", "flag_rate", "precision", "recall")


def _rows(data, keys) -> list[dict]:
    """Records of a DataFrame or a sequence of mappings, keeping ``keys`` (those present)."""
    if data is None:
        return []
    if hasattr(data, "to_dict"):
        data = data.to_dict(orient="records")
    return [{k: r[k] for k in keys if k in r} for r in data]


def registry_section(info: Mapping | None) -> Registry | None:
    """The card's registry section from ``name``, ``version``, ``run_id`` and ``approvals``
    (approval records as :attr:`send_early.registry.ReviewSummary.approvals` gives them)."""
    if info is None:
        return None
    if not isinstance(info, Mapping) or not {"name", "version"} <= set(info):
        raise ValueError(
            "registry must be a mapping with name, version, run_id and approvals; found "
            f"{sorted(info) if isinstance(info, Mapping) else type(info).__name__}."
        )
    approvals = [
        {**r, "forced": str(r.get("forced", "false")).lower() == "true"}
        for r in _rows(info.get("approvals"), _APPROVAL_KEYS)
    ]
    return Registry(
        name=str(info["name"]),
        version=str(info["version"]),
        run_id=info.get("run_id"),
        approvals=approvals,
    )


def outcomes_section(summary, note: str = "") -> OutcomesAfterFlags | None:
    """The card's "outcomes after flags" section from
    :func:`send_early.outcomes.outcome_summary` (its rows already follow the disclosure
    rule); None when the log holds no flag of the model."""
    rows = _rows(summary, _OUTCOME_KEYS)
    if not rows:
        return None
    for r in rows:
        if isinstance(r.get("median_days"), float) and r["median_days"] != r["median_days"]:
            r["median_days"] = None  # NaN: fewer than 10 flags, not shown
    return OutcomesAfterFlags(rows=rows, note=note)


def policies_part(policies: Mapping | None) -> dict | None:
    """The capacity section's ``policies``: ``k``, ``summary`` (one row per policy) and
    ``by_setting`` (one row per policy and setting), from
    :func:`send_early.evaluation.compare_capacity_policies` with ``by_setting`` False and True."""
    if policies is None:
        return None
    if not isinstance(policies, Mapping) or "summary" not in policies:
        raise ValueError(
            "capacity_policies must be a mapping with k, summary and by_setting (the tables "
            "of send_early.evaluation.compare_capacity_policies); found "
            f"{sorted(policies) if isinstance(policies, Mapping) else type(policies).__name__}."
        )
    return {
        "k": policies.get("k"),
        "summary": _rows(policies["summary"], _POLICY_KEYS),
        "by_setting": _rows(policies.get("by_setting"), _SETTING_KEYS),
    }
