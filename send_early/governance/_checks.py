"""Automatic reviewer checks of a model card.

Each check reads the already-suppressed card sections (plain dicts), so a check
can never rest on a number computed from fewer than ten children. A check whose
inputs are missing fails (fail closed): a reviewer must see the evidence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ._multiplicity import _GATED, CORRECTION, _num, gap_gate, ratio_gate
from ._policy import DEFAULT_THRESHOLDS

__all__ = ["run_checks"]


def _not_evaluated(name: str, threshold, rule: str, detail: str) -> dict:
    """A check that fails because the figure it compares is missing (shown as "n/a")."""
    return _check(name, False, None, threshold, rule, detail, "n/a")


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
        return _not_evaluated(
            "ece_below_threshold",
            thr,
            rule,
            "No expected calibration error was given; evaluate the model on a held-out cohort.",
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
        return _not_evaluated(
            name,
            True,
            rule,
            "No comparison with simple rules was given (or no rule could be "
            "evaluated); pass X to Evaluation so the baselines run.",
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


def _ratio_check(metric: str, fairness: Mapping | None, t: Mapping) -> dict:
    """Gate on the ratio of a group's ``metric`` to its reference group's.

    Each tested group gets a p-value against the band (:func:`band_p_value`); a group fails
    when Holm's correction over the groups this check tests rejects it. Groups with fewer
    than ``ratio_min_expected`` children counting at the reference rate are not tested: a
    zero there is chance, not evidence. Comparisons hidden by the disclosure rule cannot be
    checked; the detail counts them. See docs/fairness.md.
    """
    name, words, what = _GATED[metric]
    lo, hi, k = t["ratio_band_low"], t["ratio_band_high"], t["ratio_min_expected"]
    thr = [lo, hi]
    # short: the registry's version page shows each rule in a table cell (the detail explains)
    rule = (
        f"no group's {words} ratio outside {lo} to {hi} beyond chance "
        f"({CORRECTION}, family-wise error {t['family_error']:.0%}; {k:g}+ expected)"
    )
    if not fairness:
        return _not_evaluated(
            name,
            thr,
            rule,
            "No group audit was given; run a GroupAudit on the evaluation cohort.",
        )
    g = ratio_gate(metric, fairness, t)
    hidden = _hidden_note(g.hidden)
    if not g.shown and not g.tested:
        return _not_evaluated(
            name,
            thr,
            rule,
            f"No {words} ratio could be shown (every group comparison is suppressed or "
            "missing), so the groups cannot be compared." + hidden,
        )
    tested = f" {g.correction_text()}."
    if g.rejected:
        bad = sorted(g.rejected, key=lambda r: _distance(r[1]), reverse=True)
        value = bad[0][1]
        text = "unbounded" if value is None else _text(value, 3)
        named = [
            w
            if v is None
            else f"{w} ({_text(v, 3)}, interval {_text(a, 3)}-{_text(b, 3)}, adjusted p {_p(adj)})"
            for w, v, a, b, _, adj, _ in bad
        ]
        detail = (
            f"The {words} ratio to the reference group is outside {lo} to {hi} beyond chance "
            "for: " + ", ".join(named) + f". Share of {what}: these groups differ from "
            "their reference group; explain or fix before promotion." + tested
        )
        return _check(name, False, value, thr, rule, detail + hidden, text)
    shown = [r for r in g.tested if r[1] is not None]
    if not shown:  # every shown comparison rests on too few expected children
        worst = None
    else:
        worst = max(shown, key=lambda r: _distance(r[1]))
    text = "n/a" if worst is None else _text(worst[1], 3)
    detail = f"No {words} ratio lies outside {lo} to {hi} beyond chance.{tested}"
    if worst is not None:
        detail += f" The tested ratio furthest from 1 is {text} ({worst[0]})."
    if g.raw_outside:
        detail += (
            f" {g.raw_outside} comparison(s) have a 95% interval wholly outside the band "
            f"but are within chance for {g.n_tested} tests."
        )
    if g.few:
        detail += (
            f" {g.few} comparison(s) outside the band rest on fewer than {k:g} expected "
            "children and are not tested."
        )
    return _check(name, True, None if worst is None else worst[1], thr, rule, detail + hidden, text)


def _distance(ratio: float | None) -> float:
    """How far a ratio is from 1 (log scale); unbounded and zero ratios are furthest."""
    return math.inf if ratio is None or ratio <= 0 else abs(math.log(ratio))


def _p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _hidden_note(hidden: int) -> str:
    if not hidden:
        return ""
    return (
        f" {hidden} comparison(s) are hidden by the disclosure rule and cannot be checked "
        "here; the Equality Impact Assessment must consider them."
    )


def _cal_by_group(fairness: Mapping | None, t: Mapping) -> dict:
    tol = t["calibration_gap_max"]
    name = "calibration_in_the_large_by_group"
    rule = (
        f"no group's gap larger than {tol} beyond chance "
        f"({CORRECTION}, family-wise error {t['family_error']:.0%})"
    )
    if not fairness:
        return _check(name, False, None, tol, rule, "No group audit was given.", "n/a")
    g = gap_gate(fairness, t)
    if not g.shown:
        return _not_evaluated(
            name,
            tol,
            rule,
            "No group shows both mean risk and observed rate (all suppressed or missing).",
        )
    tested = f" {g.correction_text()}."
    beyond = [(r[1], r[0]) for r in g.rejected]
    if not beyond:
        return _check(
            name,
            True,
            0.0,
            tol,
            rule,
            f"No gap beyond chance ({_text(0.0, 4, signed=True)}): in all {g.shown} shown "
            "groups the gap between mean predicted risk and the observed rate is within "
            "chance of 0." + tested,
            _text(0.0, 4, signed=True),
        )
    value, where = max(beyond, key=lambda b: abs(b[0]))
    bad = [f"{w} ({_text(v, 4, signed=True)})" for v, w in beyond if abs(v) > tol]
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
            f"Of {g.shown} shown groups, {len(beyond)} have a gap beyond chance; the largest is "
            f"{text} ({where}), within {tol}."
        )
    return _check(name, not bad, value, tol, rule, detail + tested, text)


def _backtest(backtest: Mapping | None, t: Mapping) -> dict:
    thr = t["backtest_auc_range_max"]
    name = "backtest_spread_small"
    rule = f"at most {thr}"
    aucs = [_num(r.get("roc_auc")) for r in (backtest or {}).get("by_year") or []]
    aucs = [round(a, 4) for a in aucs if a is not None]
    if len(aucs) < 2:
        return _not_evaluated(
            name,
            thr,
            rule,
            "A temporal backtest with at least two test years "
            "is needed to judge stability; none was given.",
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


#: How to recalibrate, named in the detail of a failed calibration-by-year check.
RECALIBRATE = (
    "Recalibrate: refit the calibrator on the latest as-of year whose label window is "
    "complete (RiskModel.fit(tables, as_of_dates, calibration_as_of=<that date>), or "
    "send-early train with that date last), then rebuild the card and check again."
)


def _cal_by_year(backtest: Mapping | None, t: Mapping) -> dict:
    """Calibration in the large (observed minus predicted) of each backtest test year."""
    tol = t["calibration_year_gap_max"]
    name = "calibration_by_year_within_tolerance"
    rule = f"every test year's observed minus predicted rate at most {tol} in size"
    years = [
        (
            r.get("test_year"),
            round(g, 4),
            _num(r.get("calibration_in_the_large_low")),
            _num(r.get("calibration_in_the_large_high")),
        )
        for r in (backtest or {}).get("by_year") or []
        if (g := _num(r.get("calibration_in_the_large"))) is not None
    ]
    if not years:
        return _not_evaluated(
            name,
            tol,
            rule,
            "No test year shows calibration in the large (no temporal backtest, or one "
            "from an older release, or every year suppressed); run temporal_backtest.",
        )
    year, gap, low, high = max(years, key=lambda y: abs(y[1]))
    text = _text(gap, 4, signed=True)
    interval = "" if low is None or high is None else f", interval {low:+.4f} to {high:+.4f}"
    if abs(gap) <= tol:
        return _check(
            name,
            True,
            gap,
            tol,
            rule,
            f"In all {len(years)} test years the observed rate is within {tol} of the mean "
            f"predicted risk; the largest gap is {text} ({year}{interval}).",
            text,
        )
    bad = [f"{y} ({_text(g, 4, signed=True)})" for y, g, _, _ in years if abs(g) > tol]
    way = "under-states" if gap > 0 else "over-states"
    detail = (
        f"Observed minus predicted rate exceeds {tol} in size in test year(s) "
        + ", ".join(bad)
        + f"; the largest is {text} ({year}{interval}): a model fitted on earlier years "
        f"{way} risk in later ones (recording practice, services or the population moved). "
        + RECALIBRATE
    )
    return _check(name, False, gap, tol, rule, detail, text)


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
        _cal_by_year(card.get("backtest"), t),
        _protected(card.get("features") or {}),
    ]
