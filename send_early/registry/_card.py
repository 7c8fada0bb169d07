"""What a registered version records, read from its model card and its tags.

The model card JSON already applies the disclosure rule (no figure reveals 1 to 9
children), so the registry takes its figures from the card and never recomputes
them. This module turns a card into MLflow metrics and params, renders the version
description a reviewer reads in the MLflow UI, and reads checks and approvals back
from version tags (including the tags of versions logged by earlier releases).
No mlflow import here.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping

from ..report import MANUAL_CHECKLIST

__all__ = [
    "APPROVAL_HEADING",
    "CHECKS_TAG",
    "STATUS_TAG",
    "TAG",
    "approval_markdown",
    "approvals",
    "card_figures",
    "checks_from_tags",
    "describe_version",
    "parse_checks",
    "with_approval",
]

TAG = "send_early."
#: Old (JSON) checks tag, still read for versions logged before the readable tags.
CHECKS_TAG = TAG + "card_checks"
PASSED_TAG = TAG + "checks_passed"
FAILED_TAG = TAG + "checks_failed"
STATUS_TAG = "validation_status"
APPROVAL_HEADING = "## Approval"
MAX_DESCRIPTION = 5000  # MLflow's model version description column (VARCHAR(5000))

_BAD_KEY = re.compile(r"[^0-9A-Za-z_\-. /:]")


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _key(*parts) -> str:
    return _BAD_KEY.sub("_", ".".join(str(p) for p in parts))


# --------------------------------------------------------------------------- checks
def parse_checks(card: Mapping) -> list[dict]:
    """Checks of a model card JSON, as ``[{"name", "passed" (True/False/None), "detail", ...}]``.

    Accepts ``"checks"`` as a list of objects (``name``/``id``, ``passed``/``ok``/
    ``status``, optional ``detail``/``message``, ``rule``, ``value_text``) or a mapping
    name -> bool or object. A status other than pass/ok/true/warn counts as failed.
    """
    raw = card.get("checks")
    if raw is None:
        return []
    items = (
        [{"name": k, **(v if isinstance(v, Mapping) else {"passed": v})} for k, v in raw.items()]
        if isinstance(raw, Mapping)
        else list(raw)
    )
    checks = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            item = {"passed": item}
        name = str(item.get("name") or item.get("id") or item.get("check") or f"check_{i + 1}")
        verdict = next((item[k] for k in ("passed", "ok", "status", "result") if k in item), None)
        if isinstance(verdict, str):
            v = verdict.strip().lower()
            passed = (
                True
                if v in {"pass", "passed", "ok", "true", "yes"}
                else (None if v in {"warn", "warning"} else False)
            )
        else:
            passed = bool(verdict) if verdict is not None else False
        detail = item.get("detail") or item.get("message") or ""
        checks.append(
            {
                "name": name[:200],
                "passed": passed,
                "detail": str(detail)[:300],
                "rule": str(item.get("rule") or "")[:120],
                "value": str(item.get("value_text") or "")[:40],
            }
        )
    return checks


def check_tags(checks: list[dict]) -> dict[str, str]:
    """Short readable tags: ``send_early.checks`` ("2 passed, 1 failed") and the names."""
    passed = [c["name"] for c in checks if c["passed"] is True]
    failed = [c["name"] for c in checks if c["passed"] is False]
    warned = len(checks) - len(passed) - len(failed)
    summary = f"{len(passed)} passed, {len(failed)} failed" + (
        f", {warned} warnings" if warned else ""
    )
    return {
        TAG + "checks": summary if checks else "no card checks",
        PASSED_TAG: ", ".join(passed),  # spaces let the MLflow UI wrap the tag cell
        FAILED_TAG: ", ".join(failed),
    }


def checks_from_tags(tags: Mapping) -> list[dict]:
    """Checks recorded on a version: the old JSON tag if present, else the readable tags."""
    if tags.get(CHECKS_TAG):
        return [
            {"name": c["name"], "passed": c["passed"], "detail": ""}
            for c in json.loads(tags[CHECKS_TAG])
        ]
    out = []
    for key, passed in ((PASSED_TAG, True), (FAILED_TAG, False)):
        names = [n.strip() for n in tags.get(key, "").split(",")]
        out += [{"name": n, "passed": passed, "detail": ""} for n in names if n]
    return out


# --------------------------------------------------------------------------- figures
def card_figures(card: Mapping) -> tuple[dict[str, float], dict[str, str]]:
    """MLflow metrics and params from a model card JSON.

    Metrics: headline figures, capacity at k, lead time, fairness ratios and
    calibration gaps by group, backtest spread (mean, sd, range), check counts.
    Params: the evaluation's settings (k, n_bins, ...), check thresholds, the
    disclosure rule's minimum cell. Suppressed figures (null or "<10") are skipped.
    """
    metrics: dict[str, float] = {}
    params: dict[str, str] = {}

    def put(name, value):
        number = _number(value)
        if number is not None:
            metrics[_key(*name)] = number

    block = card.get("metrics") or {}
    for key, value in (block.get("headline") or {}).items():
        put(("headline", key), value)
    for key, value in (block.get("params") or {}).items():
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            params[_key("evaluation", key)] = str(value)
    at_k = (card.get("capacity") or {}).get("at_k") or {}
    for key, value in at_k.items():
        put(("capacity", key), value)
    summary = (card.get("lead_time") or {}).get("summary") or {}
    if not summary.get("suppressed"):
        for key in ("median", "q1", "q3", "iqr", "n"):
            put(("lead_time", key), summary.get(key))
    fairness = card.get("fairness") or {}
    for row in fairness.get("disparity") or []:
        put(
            (f"fairness.{row.get('metric')}_ratio", row.get("feature"), row.get("group")),
            row.get("ratio"),
        )
    for row in fairness.get("by_group") or []:
        put(
            ("fairness.calibration_gap", row.get("feature"), row.get("group")),
            row.get("calibration_gap"),
        )
    if _number(fairness.get("min_cell")) is not None:
        params["fairness.min_cell"] = str(fairness["min_cell"])
    if isinstance(fairness.get("band"), list):
        params["fairness.band"] = " to ".join(str(b) for b in fairness["band"])
    for row in (card.get("backtest") or {}).get("spread") or []:
        metric = row.get("metric")
        put(("backtest", metric, "mean"), row.get("mean"))
        put(("backtest", metric, "sd"), row.get("sd"))
        lo, hi = _number(row.get("min")), _number(row.get("max"))
        if lo is not None and hi is not None and (_number(row.get("n_years")) or 0) >= 2:
            put(("backtest", metric, "range"), hi - lo)  # one year has no spread
        if _number(row.get("n_years")) is not None:
            params["backtest.n_years"] = str(row["n_years"])
    for key, value in (card.get("thresholds") or {}).items():
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            params[_key("check", key)] = str(value)
    if _number(card.get("min_cell")) is not None:
        params["min_cell"] = str(card["min_cell"])
    checks = parse_checks(card)
    if checks:
        metrics["checks.passed"] = float(sum(c["passed"] is True for c in checks))
        metrics["checks.failed"] = float(sum(c["passed"] is False for c in checks))
    return metrics, params


# --------------------------------------------------------------------------- description
def _pct(x) -> str:
    n = _number(x)
    return "n/a" if n is None else f"{100 * n:.1f}%"


def _fmt(x, digits: int = 3) -> str:
    n = _number(x)
    return "n/a" if n is None else f"{n:.{digits}f}"


def _count(x) -> str:
    n = _number(x)
    return str(x) if n is None and x is not None else ("n/a" if n is None else f"{n:,.0f}")


def _cell(text) -> str:
    return str(text).replace("|", "/").replace("\n", " ")


def describe_version(
    card: Mapping | None,
    *,
    model_name: str,
    run_id: str,
    card_files: list[str],
    artifact_sha256: str,
) -> str:
    """Markdown for a model version's description (without the approval section).

    Headline, capacity, fairness and backtest figures come from the card as it
    shows them; each check with its rule, value and result; where the card is; the
    reviewer checklist (:data:`send_early.report.MANUAL_CHECKLIST`).
    """
    lines = [
        f"**{model_name}**: a score is decision support for a practitioner who reviews "
        "every flag, never a decision about a child.",
        "",
    ]
    if not card:
        lines += [
            "No model card was logged with this version: review the evaluation before promoting.",
            "",
        ]
    else:
        model = card.get("model") or {}
        outcome = card.get("outcome") or {}
        if outcome.get("text"):
            lines += [f"Outcome: {_cell(outcome['text'])}", ""]
        head = (card.get("metrics") or {}).get("headline") or {}
        at_k = (card.get("capacity") or {}).get("at_k") or {}
        lines += [
            "## Headline (evaluation cohort)",
            "",
            "| measure | value |",
            "|---|---|",
            f"| children evaluated | {_count(head.get('n'))} |",
            f"| later identified (base rate) | {_count(head.get('n_positive'))} "
            f"({_pct(head.get('prevalence'))}) |",
            f"| ROC AUC | {_fmt(head.get('roc_auc'))} |",
            f"| average precision | {_fmt(head.get('average_precision'))} |",
            f"| Brier score | {_fmt(head.get('brier'), 4)} |",
            f"| expected calibration error | {_fmt(head.get('ece'), 4)} |",
            "",
            "## Capacity",
            "",
            f"Policy: {model.get('capacity_policy', 'n/a')} {model.get('capacity_value', '')}. "
            f"At k = {_count(at_k.get('k'))} children ({_pct(at_k.get('share'))}): precision "
            f"{_pct(at_k.get('precision'))}, recall {_pct(at_k.get('recall'))}, lift "
            f"{_fmt(at_k.get('lift'), 1)}x.",
            "",
        ]
        lines += _fairness_lines(card.get("fairness") or {})
        lines += _backtest_lines(card.get("backtest") or {})
        checks = parse_checks(card)
        failed = sum(c["passed"] is False for c in checks)
        lines += [
            f"## Checks: {len(checks) - failed} of {len(checks)} passed",
            "",
            "| check | rule | value | result |",
            "|---|---|---|---|",
        ]
        for c in checks:
            mark = {True: "pass", False: "**FAIL**", None: "warn"}[c["passed"]]
            lines.append(
                f"| {_cell(c['name'])} | {_cell(c['rule'])} | {_cell(c['value'])} | {mark} |"
            )
        lines.append("")
    files = ", ".join(f"`model_card/{f}`" for f in card_files) or "none"
    lines += [
        "## Files",
        "",
        f"Model card: {files} in the artifacts of run `{run_id}`. "
        f"Model files SHA-256 `{artifact_sha256[:16]}...` (checked on every load).",
        "",
        "## Reviewer checklist (confirm by hand before promoting)",
        "",
        *(f"- [ ] {item}" for _, item in MANUAL_CHECKLIST),
    ]
    return "\n".join(lines)


def _fairness_lines(fairness: Mapping) -> list[str]:
    rows = fairness.get("disparity") or []
    shown = [r for r in rows if _number(r.get("ratio")) is not None]
    band = fairness.get("band") or []
    head = "## Fairness"
    if len(band) == 2:
        head += f" (ratio to the reference group; band {band[0]} to {band[1]})"
    lines = [head, ""]
    if shown:
        lines += ["| group | metric | ratio | within band |", "|---|---|---|---|"]
        for r in shown[:12]:
            within = {True: "yes", False: "**no**"}.get(r.get("within_band"), "n/a")
            lines.append(
                f"| {_cell(r.get('feature'))} {_cell(r.get('group'))} vs "
                f"{_cell(r.get('reference'))} | {_cell(r.get('metric'))} | "
                f"{_fmt(r.get('ratio'), 2)} | {within} |"
            )
        if len(shown) > 12:
            lines.append(f"| ... {len(shown) - 12} more in the model card | | | |")
    hidden = len(rows) - len(shown)
    if hidden or not rows:
        lines.append(
            f"{hidden} of {len(rows)} group ratios are not shown (suppressed: they would "
            "reveal 1 to 9 children, or a group was too small)."
            if rows
            else "No group ratios in the card."
        )
    return [*lines, ""]


def _backtest_lines(backtest: Mapping) -> list[str]:
    spread = {r.get("metric"): r for r in backtest.get("spread") or []}
    auc = spread.get("roc_auc")
    if not auc:
        return ["## Backtest", "", "No temporal backtest in the card.", ""]
    lo, hi = _number(auc.get("min")), _number(auc.get("max"))
    years = _number(auc.get("n_years")) or 0
    rng = "n/a" if lo is None or hi is None or years < 2 else f"{hi - lo:.3f}"
    return [
        "## Backtest",
        "",
        f"ROC AUC over {auc.get('n_years', 'n/a')} test year(s): mean "
        f"{_fmt(auc.get('mean'))}, sd {_fmt(auc.get('sd'))}, range {rng}.",
        "",
    ]


# --------------------------------------------------------------------------- approvals
def approvals(tags: Mapping) -> list[dict]:
    """Approval decisions recorded on a version (``send_early.review.<alias>.*``), newest first."""
    found: dict[str, dict] = {}
    prefix = TAG + "review."
    for key, value in tags.items():
        if key.startswith(prefix):
            alias, _, field = key[len(prefix) :].rpartition(".")
            if alias:
                found.setdefault(alias, {"alias": alias})[field] = value
    rows = [d for d in found.values() if d.get("reviewer")]
    return sorted(rows, key=lambda d: d.get("timestamp", ""), reverse=True)


def approval_markdown(tags: Mapping) -> str:
    """The description's approval section, from the version's decision tags."""
    lines = [APPROVAL_HEADING, ""]
    rows = approvals(tags)
    if not rows:
        lines.append(
            "Not approved yet. Approve with `send-early promote NAME VERSION --reviewer ID "
            '--note "..."`: it re-checks the model files and records the decision here.'
        )
    for d in rows:
        text = (
            f"- **{d['alias']}**: approved by {_cell(d['reviewer'])} on {d.get('timestamp', 'n/a')}"
        )
        if d.get("previous_version"):
            text += f" (replacing version {d['previous_version']})"
        text += f'. Note: "{_cell(d.get("note", ""))}"'
        if d.get("forced") == "true":
            text += (
                f". **Forced** despite failed checks ({_cell(d.get('checks_failed', ''))}): "
                f'"{_cell(d.get("force_reason", ""))}"'
            )
        if d.get("replaced_by"):
            text += f". Replaced by version {d['replaced_by']} on {d.get('replaced_at', 'n/a')}"
        lines.append(text + ".")
    return "\n".join(lines)


def with_approval(description: str | None, tags: Mapping) -> str:
    """``description`` with its approval section replaced by the current decisions."""
    body = (description or "").split(APPROVAL_HEADING, 1)[0].rstrip()
    section = approval_markdown(tags)
    room = MAX_DESCRIPTION - len(section) - 2
    if len(body) > room:
        body = body[: max(room - 40, 0)].rstrip() + "\n\n... (see the model card)"
    return (body + "\n\n" if body else "") + section
