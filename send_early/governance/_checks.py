"""Automatic reviewer checks of a model card.

Each check reads the already-suppressed card sections (plain dicts), so a check
can never rest on a number computed from fewer than ten children. A check whose
inputs are missing fails (fail closed): a reviewer must see the evidence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ._policy import DEFAULT_THRESHOLDS

__all__ = ["run_checks"]


def _num(v) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _text(v, digits: int, signed: bool = False) -> str:
    """A check's value as the card shows it: exactly ``digits`` decimals."""
    return "n/a" if v is None else f"{v:{'+' if signed else ''}.{digits}f}"


def _check(name: str, passed: bool, value, threshold, rule: str, detail: str, text: str) -> dict:
    """One check. ``value`` is the number that was compared (already rounded to what the card
    shows), ``value_text`` how it is shown and ``rule`` the comparison in words, so the displayed
    value, the pass/fail and the detail text can never disagree."""
    return {
        "name": name,
        "passed": bool(passed),
        "value": value,
        "value_text": text,
        "threshold": threshold,
        "rule": rule,
        "detail": detail,
    }


def _ece(metrics: Mapping, t: Mapping) -> dict:
    thr = t["ece_max"]
    rule = f"below {thr}"
    raw = _num((metrics.get("headline") or {}).get("ece"))
    if raw is None:
        return _check(
            "ece_below_threshold",
            False,
            None,
            thr,
            rule,
            "No expected calibration error was given; evaluate the model on a held-out cohort.",
            "n/a",
        )
    ece = round(raw, 4)
    ok = ece < thr
    return _check(
        "ece_below_threshold",
        ok,
        ece,
        thr,
        rule,
        f"Expected calibration error {_text(ece, 4)} is {'' if ok else 'not '}{rule}: predicted "
        f"risks {'match' if ok else 'do not match'} observed rates closely enough.",
        _text(ece, 4),
    )


def _beats_rule(baselines: Mapping | None) -> dict:
    name, rule = "beats_best_simple_rule", "model recall minus best rule recall above 0"
    if not baselines or baselines.get("beats_best_rule") is None:
        return _check(
            name,
            False,
            None,
            True,
            rule,
            "No comparison with simple rules was given (or no rule could be "
            "evaluated); pass X to Evaluation so the baselines run.",
            "n/a",
        )
    raw = _num(baselines.get("recall_difference"))
    if raw is None:
        return _check(name, False, None, True, rule, "No recall difference was given.", "n/a")
    # six decimals keep one child's difference visible for up to a million identified children
    diff = round(raw, 6)
    # the comparison's own verdict and the shown difference must agree (fail closed)
    beats = bool(baselines["beats_best_rule"]) and diff > 0
    summary = baselines.get("summary") or (
        f"The model {'beats' if beats else 'does not beat'} the best simple rule "
        f"({baselines.get('best_rule')}) at the same capacity."
    )
    return _check(
        name,
        beats,
        diff,
        True,
        rule,
        f"Recall difference {_text(diff, 6, signed=True)} is {'' if beats else 'not '}above 0. "
        + str(summary),
        _text(diff, 6, signed=True),
    )


_GATED = {
    "recall": ("recall_ratio_within_band", "recall", "later-identified children flagged"),
    "flag_rate": ("flag_rate_ratio_within_band", "flag rate", "children flagged"),
}


def _denominator(metric: str, row: Mapping | None) -> float | None:
    """Children the group's ``metric`` is computed on, from its (shown) by-group row."""
    if not row:
        return None
    n = _num(row.get("n"))
    if metric == "flag_rate" or n is None:
        return n
    prev = _num(row.get("prevalence", row.get("observed_rate")))
    return None if prev is None else n * prev


def _ratio_check(metric: str, fairness: Mapping | None, t: Mapping) -> dict:
    """Gate on the ratio of a group's ``metric`` to its reference group's.

    A group fails when its bootstrap interval lies wholly outside the band (or, with no
    interval shown, its ratio does), and at the reference group's rate at least
    ``ratio_min_expected`` of its children would count (flagged, or flagged among the
    identified): fewer, and a zero is chance, not evidence. Comparisons hidden by the
    disclosure rule cannot be checked; the detail counts them. See docs/fairness.md.
    """
    name, words, what = _GATED[metric]
    lo, hi, k = t["ratio_band_low"], t["ratio_band_high"], t["ratio_min_expected"]
    thr = [lo, hi]
    rule = (
        f"no group's {words} ratio interval wholly outside {lo} to {hi} "
        f"(groups with at least {k:g} expected at the reference rate)"
    )
    if not fairness:
        return _check(
            name,
            False,
            None,
            thr,
            rule,
            "No group audit was given; run a GroupAudit on the evaluation cohort.",
            "n/a",
        )
    rows = [
        r
        for r in fairness.get("disparity") or []
        if (r.get("metric") or "fnr") == metric and not r.get("suppressed")
    ]
    hidden = sum(
        1
        for r in fairness.get("disparity") or []
        if (r.get("metric") or "fnr") == metric and r.get("suppressed")
    )
    groups = {(g.get("feature"), g.get("group")): g for g in fairness.get("by_group") or []}
    outside, ratios, few = [], [], 0
    for r in rows:
        raw, value, ref = _num(r.get("ratio")), _num(r.get("value")), _num(r.get("reference_value"))
        where = f"{r.get('feature')}={r.get('group')}"
        den = _denominator(metric, groups.get((r.get("feature"), r.get("group"))))
        if raw is None:
            # the reference has none: unbounded when the group has enough of its own
            if value and den is not None and value * den >= k:
                outside.append((math.inf, None, f"{where} (reference has none)"))
            continue
        ratio = round(raw, 3)
        ratios.append((abs(math.log(ratio)) if ratio > 0 else math.inf, ratio, where))
        low, high = _num(r.get("ratio_low")), _num(r.get("ratio_high"))
        low, high = (ratio, ratio) if low is None or high is None else (low, high)
        if not (high < lo or low > hi):
            continue
        if den is not None and ref is not None and ref * den < k:
            few += 1
            continue
        size = abs(math.log(ratio)) if ratio > 0 else math.inf
        interval = f"{_text(low, 3)}-{_text(high, 3)}"
        outside.append((size, ratio, f"{where} ({_text(ratio, 3)}, interval {interval})"))
    if not ratios and not outside:
        return _check(
            name,
            False,
            None,
            thr,
            rule,
            f"No {words} ratio could be shown (every group comparison is suppressed or "
            "missing), so the groups cannot be compared." + _hidden_note(hidden),
            "n/a",
        )
    if outside:
        outside.sort(key=lambda o: o[0], reverse=True)
        value = outside[0][1]
        text = "unbounded" if value is None else _text(value, 3)
        detail = (
            f"The {words} ratio to the reference group is outside {lo} to {hi} beyond chance "
            "(the whole 95% interval) for: "
            + ", ".join(o[2] for o in outside)
            + f". Share of {what}: these groups differ from their reference group; "
            "explain or fix before promotion."
        )
        return _check(name, False, value, thr, rule, detail + _hidden_note(hidden), text)
    worst = max(ratios)
    text = _text(worst[1], 3)
    detail = (
        f"No {words} ratio interval lies wholly outside {lo} to {hi} ({len(ratios)} shown "
        f"comparisons); the ratio furthest from 1 is {text} ({worst[2]})."
    )
    if few:
        detail += (
            f" {few} comparison(s) outside the band rest on fewer than {k:g} expected "
            "children and do not count."
        )
    return _check(name, True, worst[1], thr, rule, detail + _hidden_note(hidden), text)


def _hidden_note(hidden: int) -> str:
    if not hidden:
        return ""
    return (
        f" {hidden} comparison(s) are hidden by the disclosure rule and cannot be checked "
        "here; the Equality Impact Assessment must consider them."
    )


def _gap_interval(r: Mapping, gap: float) -> tuple[float | None, float | None]:
    low, high = _num(r.get("calibration_gap_low")), _num(r.get("calibration_gap_high"))
    n, orate = _num(r.get("n")), _num(r.get("observed_rate"))
    if (low is None or high is None) and n and orate is not None:
        se = math.sqrt(max(orate * (1 - orate), 1e-12) / n)
        low, high = gap - 1.96 * se, gap + 1.96 * se
    return low, high


def _cal_by_group(fairness: Mapping | None, t: Mapping) -> dict:
    tol = t["calibration_gap_max"]
    name = "calibration_in_the_large_by_group"
    rule = f"no group's gap beyond chance larger than {tol} in size"
    if not fairness:
        return _check(name, False, None, tol, rule, "No group audit was given.", "n/a")
    beyond, n_shown = [], 0
    for r in fairness.get("by_group") or []:
        gap = _num(r.get("calibration_gap"))
        if gap is None:
            mr, orate = _num(r.get("mean_risk")), _num(r.get("observed_rate"))
            gap = None if mr is None or orate is None else mr - orate
        if gap is None:
            continue
        n_shown += 1
        low, high = _gap_interval(r, gap)
        # a gap counts when its 95% interval excludes 0 (or no interval could be formed)
        if low is None or high is None or low > 0 or high < 0:
            beyond.append((round(gap, 4), f"{r.get('feature')}={r.get('group')}"))
    if not n_shown:
        return _check(
            name,
            False,
            None,
            tol,
            rule,
            "No group shows both mean risk and observed rate (all suppressed or missing).",
            "n/a",
        )
    if not beyond:
        return _check(
            name,
            True,
            0.0,
            tol,
            rule,
            f"No gap beyond chance ({_text(0.0, 4, signed=True)}): in all {n_shown} shown "
            "groups the gap between mean predicted risk and the observed rate is within its "
            "95% interval of 0.",
            _text(0.0, 4, signed=True),
        )
    value, where = max(beyond, key=lambda g: abs(g[0]))
    bad = [f"{w} ({_text(g, 4, signed=True)})" for g, w in beyond if abs(g) > tol]
    text = _text(value, 4, signed=True)
    if bad:
        detail = (
            f"Mean predicted risk differs from the observed rate by more than {tol} "
            "(beyond chance) for: "
            + ", ".join(bad)
            + ". Positive means risk is over-stated for the group."
        )
    else:
        detail = (
            f"Of {n_shown} shown groups, {len(beyond)} have a gap beyond chance; the largest is "
            f"{text} ({where}), within {tol}."
        )
    return _check(name, not bad, value, tol, rule, detail, text)


def _backtest(backtest: Mapping | None, t: Mapping) -> dict:
    thr = t["backtest_auc_range_max"]
    name = "backtest_spread_small"
    rule = f"at most {thr}"
    aucs = [_num(r.get("roc_auc")) for r in (backtest or {}).get("by_year") or []]
    aucs = [round(a, 4) for a in aucs if a is not None]
    if len(aucs) < 2:
        return _check(
            name,
            False,
            None,
            thr,
            rule,
            "A temporal backtest with at least two test years "
            "is needed to judge stability; none was given.",
            "n/a",
        )
    spread = round(max(aucs) - min(aucs), 4)
    ok = spread <= thr
    return _check(
        name,
        ok,
        spread,
        thr,
        rule,
        f"ROC AUC ranges from {_text(min(aucs), 4)} to {_text(max(aucs), 4)} over {len(aucs)} "
        f"test years: spread {_text(spread, 4)} is {'' if ok else 'not '}{rule}.",
        _text(spread, 4),
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
    return _check(
        "protected_not_features",
        ok,
        found,
        [],
        "none used as a model feature",
        detail,
        ", ".join(found) or "none",
    )


def run_checks(card: Mapping, thresholds: Mapping | None = None) -> list[dict]:
    """Run every automatic check on the (suppressed) card sections.

    Returns a list of ``{"name", "passed", "value", "value_text", "threshold", "rule",
    "detail"}``. ``value`` is the number compared with the threshold, rounded to the
    precision the card shows (``value_text``), so what a reviewer reads is what was
    compared: "below 0.02" fails at 0.0200.
    """
    t = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    return [
        _ece(card.get("metrics") or {}, t),
        _beats_rule(card.get("baselines")),
        _ratio_check("recall", card.get("fairness"), t),
        _ratio_check("flag_rate", card.get("fairness"), t),
        _cal_by_group(card.get("fairness"), t),
        _backtest(card.get("backtest"), t),
        _protected(card.get("features") or {}),
    ]
