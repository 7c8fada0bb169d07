"""Automatic reviewer checks of a model card, and the manual checklist.

Each check reads the already-suppressed card sections (plain dicts), so a check
can never rest on a number computed from fewer than ten children. A check whose
inputs are missing fails (fail closed): a reviewer must see the evidence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = ["DEFAULT_THRESHOLDS", "MANUAL_CHECKLIST", "run_checks"]

#: Thresholds of the automatic checks (override with ``build_model_card(thresholds=)``).
DEFAULT_THRESHOLDS: dict[str, float] = {
    "ece_max": 0.02,
    "fnr_ratio_low": 0.8,
    "fnr_ratio_high": 1.25,
    "calibration_gap_max": 0.02,
    "backtest_auc_range_max": 0.05,
}

#: Items a reviewer confirms by hand before promotion (never ticked automatically).
MANUAL_CHECKLIST: tuple[tuple[str, str], ...] = (
    (
        "dpia",
        "A Data Protection Impact Assessment (DPIA) covering this model and its data "
        "flows is complete and signed off by the Data Protection Officer.",
    ),
    (
        "eia",
        "An Equality Impact Assessment (EIA) has considered the fairness audit in this "
        "card, including the groups whose figures are suppressed.",
    ),
    (
        "caseworker_briefing",
        "Caseworkers and SENCOs who will see the flags have been briefed: "
        "a flag prompts the 'assess' step of the graduated approach; it is "
        "never an eligibility decision and never replaces professional "
        "judgement.",
    ),
    (
        "intended_use",
        "The deployment matches the intended use in this card (no school "
        "rankings, no automated decisions, no use outside the stated population "
        "and horizon).",
    ),
    (
        "data_currency",
        "The data extract date and contract version are current, and the "
        "pipeline and model spec hashes are the specs that were reviewed.",
    ),
    (
        "limitations_read",
        "The limitations section has been read, including label bias "
        "(identified SEN is not the same as need).",
    ),
)


def _num(v) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _check(name: str, passed: bool, value, threshold, detail: str) -> dict:
    return {
        "name": name,
        "passed": bool(passed),
        "value": value,
        "threshold": threshold,
        "detail": detail,
    }


def _ece(metrics: Mapping, t: Mapping) -> dict:
    ece = _num((metrics.get("headline") or {}).get("ece"))
    thr = t["ece_max"]
    if ece is None:
        return _check(
            "ece_below_threshold",
            False,
            None,
            thr,
            "No expected calibration error was given; evaluate the model on a held-out cohort.",
        )
    ok = ece < thr
    return _check(
        "ece_below_threshold",
        ok,
        round(ece, 4),
        thr,
        f"Expected calibration error {ece:.4f} {'<' if ok else '>='} {thr}: predicted "
        f"risks {'match' if ok else 'do not match'} observed rates closely enough.",
    )


def _beats_rule(baselines: Mapping | None) -> dict:
    if not baselines or baselines.get("beats_best_rule") is None:
        return _check(
            "beats_best_simple_rule",
            False,
            None,
            True,
            "No comparison with simple rules was given (or no rule could be "
            "evaluated); pass X to Evaluation so the baselines run.",
        )
    beats = bool(baselines["beats_best_rule"])
    diff = _num(baselines.get("recall_difference"))
    return _check(
        "beats_best_simple_rule",
        beats,
        None if diff is None else round(diff, 4),
        True,
        str(
            baselines.get("summary")
            or f"The model {'beats' if beats else 'does not beat'} the best simple rule "
            f"({baselines.get('best_rule')}) at the same capacity."
        ),
    )


def _fnr(fairness: Mapping | None, t: Mapping) -> dict:
    lo, hi = t["fnr_ratio_low"], t["fnr_ratio_high"]
    name = "fnr_disparity_within_band"
    thr = [lo, hi]
    if not fairness:
        return _check(
            name,
            False,
            None,
            thr,
            "No group audit was given; run a GroupAudit on the evaluation cohort.",
        )
    rows = [r for r in fairness.get("disparity") or [] if not r.get("suppressed")]
    if not rows:
        return _check(
            name,
            False,
            None,
            thr,
            "No false negative rate ratio could be shown (every group comparison "
            "is suppressed or missing), so parity cannot be checked.",
        )
    outside, worst, worst_row = [], None, None
    for r in rows:
        ratio = _num(r.get("ratio"))
        value = _num(r.get("value"))
        if ratio is None:
            # reference misses nobody: any miss in the group is an unbounded ratio
            if value is not None and value > 0:
                outside.append(f"{r.get('feature')}={r.get('group')} (reference misses none)")
            continue
        dist = abs(math.log(ratio)) if ratio > 0 else math.inf
        if worst is None or dist > worst:
            worst, worst_row = dist, r
        if not lo <= ratio <= hi:
            outside.append(f"{r.get('feature')}={r.get('group')} ({ratio:.2f})")
    value = None if worst_row is None else round(float(worst_row["ratio"]), 3)
    if outside:
        detail = (
            "False negative rate ratio outside "
            f"{lo}-{hi} for: "
            + ", ".join(outside)
            + ". Children in these groups who were later identified were missed at a "
            "different rate from the reference group."
        )
    else:
        detail = (
            f"Every shown false negative rate ratio is within {lo}-{hi} "
            f"({len(rows)} comparisons); the furthest from 1 is {value}."
        )
    return _check(name, not outside, value, thr, detail)


def _cal_by_group(fairness: Mapping | None, t: Mapping) -> dict:
    tol = t["calibration_gap_max"]
    name = "calibration_in_the_large_by_group"
    if not fairness:
        return _check(name, False, None, tol, "No group audit was given.")
    bad, worst, n_shown = [], None, 0
    for r in fairness.get("by_group") or []:
        gap = _num(r.get("calibration_gap"))
        if gap is None:
            mr, orate = _num(r.get("mean_risk")), _num(r.get("observed_rate"))
            gap = None if mr is None or orate is None else mr - orate
        if gap is None:
            continue
        n_shown += 1
        if worst is None or abs(gap) > abs(worst):
            worst = gap
        low, high = _num(r.get("calibration_gap_low")), _num(r.get("calibration_gap_high"))
        n, orate = _num(r.get("n")), _num(r.get("observed_rate"))
        if (low is None or high is None) and n and orate is not None:
            se = math.sqrt(max(orate * (1 - orate), 1e-12) / n)
            low, high = gap - 1.96 * se, gap + 1.96 * se
        clear = low is not None and high is not None and (low > 0 or high < 0)
        if abs(gap) > tol and (clear or low is None):
            bad.append(f"{r.get('feature')}={r.get('group')} ({gap:+.3f})")
    if not n_shown:
        return _check(
            name,
            False,
            None,
            tol,
            "No group shows both mean risk and observed rate (all suppressed or missing).",
        )
    if bad:
        detail = (
            "Mean predicted risk differs from the observed rate by more than "
            f"{tol} (beyond chance) for: "
            + ", ".join(bad)
            + ". Positive means risk is over-stated for the group."
        )
    else:
        detail = (
            f"In all {n_shown} shown groups mean predicted risk is within {tol} of the "
            "observed rate, or the gap is within its 95% interval of 0."
        )
    return _check(name, not bad, None if worst is None else round(worst, 4), tol, detail)


def _backtest(backtest: Mapping | None, t: Mapping) -> dict:
    thr = t["backtest_auc_range_max"]
    name = "backtest_spread_small"
    aucs = [_num(r.get("roc_auc")) for r in (backtest or {}).get("by_year") or []]
    aucs = [a for a in aucs if a is not None]
    if len(aucs) < 2:
        return _check(
            name,
            False,
            None,
            thr,
            "A temporal backtest with at least two test years "
            "is needed to judge stability; none was given.",
        )
    spread = max(aucs) - min(aucs)
    ok = spread <= thr
    return _check(
        name,
        ok,
        round(spread, 4),
        thr,
        f"ROC AUC ranges from {min(aucs):.3f} to {max(aucs):.3f} over {len(aucs)} test "
        f"years (spread {spread:.3f} {'<=' if ok else '>'} {thr}).",
    )


def _protected(features: Mapping) -> dict:
    used = set(features.get("used") or [])
    protected = set(features.get("protected") or [])
    found = sorted(used & protected)
    flag = bool(features.get("use_protected"))
    ok = not found and not flag
    detail = (
        "Protected characteristics (" + ", ".join(sorted(protected)) + ") are used only "
        "for the audit, never as model features."
        if ok
        else "Protected characteristics used as model features: "
        + (", ".join(found) or "none")
        + ("; the model spec sets use_protected = true." if flag else ".")
    )
    return _check("protected_not_features", ok, found, [], detail)


def run_checks(card: Mapping, thresholds: Mapping | None = None) -> list[dict]:
    """Run every automatic check on the (suppressed) card sections.

    Returns a list of ``{"name", "passed", "value", "threshold", "detail"}``.
    """
    t = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    return [
        _ece(card.get("metrics") or {}, t),
        _beats_rule(card.get("baselines")),
        _fnr(card.get("fairness"), t),
        _cal_by_group(card.get("fairness"), t),
        _backtest(card.get("backtest"), t),
        _protected(card.get("features") or {}),
    ]
