"""Many groups tested at once: one p-value per group from the interval the card shows, and
Holm's step-down correction over the groups one check tests (``docs/fairness.md``).

The card keeps each group's point value and its 95% bootstrap interval, not the bootstrap
draws, and 200 draws could not resolve the tail probabilities Holm needs anyway (a level
of 0.05 / 20 is a quarter of one draw). So each p-value treats the half of the interval
that faces the null region as 1.96 standard errors of a normal estimate (on the log scale
for ratios, where the band is symmetric and ratios are close to normal). For one group
the corrected rule is then exactly the uncorrected one: the whole interval lies outside.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

from ._policy import BAND, DEFAULT_THRESHOLDS, GATING

__all__ = ["GateResult", "band_p_value", "gap_p_value", "holm", "ratio_gate", "gap_gate"]

CORRECTION = "Holm-Bonferroni"
_N = NormalDist()
_GATED = {
    "recall": ("recall_ratio_within_band", "recall", "later-identified children flagged"),
    "flag_rate": ("flag_rate_ratio_within_band", "flag rate", "children flagged"),
}


def holm(p_values: Sequence[float], alpha: float) -> tuple[list[bool], list[float]]:
    """Holm's step-down procedure: which hypotheses are rejected at family-wise error
    ``alpha``, and the Holm-adjusted p-values (same order as given).

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03], 0.05)
    ([True, False, False], [0.03, 0.06, 0.06])
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    reject, adjusted = [False] * m, [1.0] * m
    running, stopped = 0.0, False
    for step, i in enumerate(order):
        running = max(running, min(1.0, (m - step) * p_values[i]))
        adjusted[i] = running
        stopped = stopped or p_values[i] >= alpha / (m - step)
        reject[i] = not stopped
    return reject, adjusted


def _two_sided(z: float) -> float:
    return 1.0 if z <= 0 else min(1.0, 2 * (1 - _N.cdf(z)))


def band_p_value(
    ratio: float,
    low: float | None,
    high: float | None,
    band: tuple[float, float] = BAND,
    *,
    confidence: float = 0.95,
    expected: float | None = None,
) -> float:
    """P-value of "the ratio lies inside ``band``" for one group.

    The standard error on the log scale is read off the half of the interval facing the
    band; with no interval, a ratio outside the band gets 0 (the ratio itself decides). A
    ratio of 0 has no log: then, with ``expected`` children counting at the reference
    rate, the chance of none at the band's lower edge is ``exp(-band[0] * expected)``
    (Poisson), doubled like the other two-sided p-values.
    """
    lo, hi = band
    if lo <= ratio <= hi:
        return 1.0
    if ratio <= 0:
        return 0.0 if expected is None else min(1.0, 2 * math.exp(-lo * expected))
    if low is None or high is None:
        return 0.0
    z = _N.inv_cdf(0.5 + confidence / 2)
    edge, side = (hi, low) if ratio > hi else (lo, high)
    if side <= 0 or side == ratio:
        return 0.0 if side == ratio else 1.0
    se = abs(math.log(ratio) - math.log(side)) / z
    return _two_sided(abs(math.log(ratio) - math.log(edge)) / se)


def gap_p_value(gap: float, low: float | None, high: float | None, confidence: float = 0.95):
    """P-value of "no gap" (0) for one group's calibration gap, the same way."""
    if gap == 0:
        return 1.0
    if low is None or high is None:
        return 0.0
    side = high if gap < 0 else low
    if side == gap:
        return 0.0
    se = abs(gap - side) / _N.inv_cdf(0.5 + confidence / 2)
    return _two_sided(abs(gap) / se)


@dataclass
class GateResult:
    """The groups one check tested and what the correction made of them.

    ``tested`` rows are ``(where, value, low, high, p, adjusted_p, rejected)``; ``shown``
    counts comparisons with a value; ``few`` those outside without enough expected
    children; ``hidden`` those hidden by the disclosure rule; ``raw_outside`` those that
    would fail uncorrected (p below ``alpha``) but are within chance after the correction.
    """

    alpha: float
    tested: list[tuple] = field(default_factory=list)
    shown: int = 0
    few: int = 0
    hidden: int = 0

    @property
    def n_tested(self) -> int:
        return len(self.tested)

    @property
    def rejected(self) -> list[tuple]:
        return [r for r in self.tested if r[6]]

    @property
    def raw_outside(self) -> int:
        return sum(1 for r in self.tested if not r[6] and r[4] < self.alpha)

    def correction_text(self) -> str:
        fwe = f"{self.alpha:.0%}"
        return (
            f"{CORRECTION} over the {self.n_tested} comparison(s) tested (family-wise error {fwe})"
        )

    def _finish(self) -> GateResult:
        reject, adjusted = holm([r[4] for r in self.tested], self.alpha)
        self.tested = [
            (*r[:5], a, x) for r, a, x in zip(self.tested, adjusted, reject, strict=True)
        ]
        return self


def _num(v) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _denominator(metric: str, row: Mapping | None) -> float | None:
    """Children the group's ``metric`` is computed on, from its (shown) by-group row."""
    if not row:
        return None
    n = _num(row.get("n"))
    if metric == "flag_rate" or n is None:
        return n
    prev = _num(row.get("prevalence", row.get("observed_rate")))
    return None if prev is None else n * prev


def ratio_gate(metric: str, fairness: Mapping, thresholds: Mapping | None = None) -> GateResult:
    """Test every shown ratio of ``metric`` (a gating metric) against the band, Holm-corrected.

    A comparison is tested when at least ``ratio_min_expected`` of the group's children
    would count at the reference group's rate (or the group's size is not shown); a
    reference with none against a group with that many is "unbounded" (p = 0).
    """
    if metric not in GATING:
        raise ValueError(f"metric must be one of {list(GATING)}; found {metric!r}.")
    t = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    band, k = (t["ratio_band_low"], t["ratio_band_high"]), t["ratio_min_expected"]
    conf = _num(fairness.get("confidence")) or 0.95
    out = GateResult(alpha=t["family_error"])
    groups = {(g.get("feature"), g.get("group")): g for g in fairness.get("by_group") or []}
    for r in fairness.get("disparity") or []:
        if (r.get("metric") or "fnr") != metric:
            continue
        if r.get("suppressed"):
            out.hidden += 1
            continue
        raw, value, ref = _num(r.get("ratio")), _num(r.get("value")), _num(r.get("reference_value"))
        where = f"{r.get('feature')}={r.get('group')}"
        den = _denominator(metric, groups.get((r.get("feature"), r.get("group"))))
        if raw is None:  # the reference has none: unbounded when the group has enough
            if value and den is not None and value * den >= k:
                out.tested.append((f"{where} (reference has none)", None, None, None, 0.0))
            continue
        out.shown += 1
        ratio = round(raw, 3)
        low, high = _num(r.get("ratio_low")), _num(r.get("ratio_high"))
        expected = None if den is None or ref is None else ref * den
        if expected is not None and expected < k:
            outside = (ratio < band[0] if high is None else high < band[0]) or (
                ratio > band[1] if low is None else low > band[1]
            )
            out.few += outside
            continue
        p = band_p_value(ratio, low, high, band, confidence=conf, expected=expected)
        out.tested.append((where, ratio, low, high, p))
    return out._finish()


def gap_gate(fairness: Mapping, thresholds: Mapping | None = None) -> GateResult:
    """Test every shown group's calibration gap against 0, Holm-corrected."""
    t = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    conf = _num(fairness.get("confidence")) or 0.95
    out = GateResult(alpha=t["family_error"])
    for r in fairness.get("by_group") or []:
        gap = _num(r.get("calibration_gap"))
        if gap is None:
            mr, orate = _num(r.get("mean_risk")), _num(r.get("observed_rate"))
            gap = None if mr is None or orate is None else mr - orate
        if gap is None:
            continue
        out.shown += 1
        low, high = _num(r.get("calibration_gap_low")), _num(r.get("calibration_gap_high"))
        n, orate = _num(r.get("n")), _num(r.get("observed_rate"))
        if (low is None or high is None) and n and orate is not None:
            se = math.sqrt(max(orate * (1 - orate), 1e-12) / n)
            z = _N.inv_cdf(0.5 + conf / 2)
            low, high = gap - z * se, gap + z * se
        where = f"{r.get('feature')}={r.get('group')}"
        p = gap_p_value(gap, low, high, conf)
        out.tested.append((where, round(gap, 4), low, high, p))
    return out._finish()
