"""Plots for the model card, drawn from the suppressed card sections and returned as
base64 PNG. matplotlib is imported here, lazily, with the Agg canvas (no pyplot, so
no global figure state)."""

from __future__ import annotations

import base64
import io
import math
import textwrap

__all__ = ["calibration_png", "capacity_png", "shapes_png", "backtest_png", "fnr_png"]

_RED, _BLUE, _GREY, _INK = "#b2182b", "#2166ac", "#888888", "#222222"


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _ok(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def calibration_png(rows: list[dict]) -> str | None:
    """Reliability diagram: mean predicted against observed rate per bin, with intervals."""
    pts = [r for r in rows if _ok(r.get("mean_predicted")) and _ok(r.get("observed_rate"))]
    if not pts:
        return None
    fig = _figure(4.2, 3.6)
    ax = fig.add_subplot()
    x = [r["mean_predicted"] for r in pts]
    y = [r["observed_rate"] for r in pts]
    top = max(max(x), max(y), *(r["ci_high"] for r in pts if _ok(r.get("ci_high")))) * 1.08
    ax.plot([0, top], [0, top], color=_GREY, lw=1, ls="--", label="perfect calibration")
    lo = [r["observed_rate"] - r["ci_low"] if _ok(r.get("ci_low")) else 0 for r in pts]
    hi = [r["ci_high"] - r["observed_rate"] if _ok(r.get("ci_high")) else 0 for r in pts]
    ax.errorbar(
        x,
        y,
        yerr=[lo, hi],
        fmt="o",
        color=_BLUE,
        ms=4,
        capsize=2,
        lw=1,
        label="observed (95% interval)",
    )
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("mean predicted risk")
    ax.set_ylabel("observed rate (identified)")
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title("Calibration (bins that would reveal 1 to 9 children not shown)", fontsize=8)
    fig.subplots_adjust(left=0.16, right=0.97, top=0.92, bottom=0.13)
    return _png(fig)


def capacity_png(rows: list[dict], k_share: float | None = None) -> str | None:
    """Recall and precision against the share of children flagged."""
    pts = [r for r in rows if _ok(r.get("share"))]
    if not pts:
        return None
    fig = _figure(4.2, 3.2)
    ax = fig.add_subplot()
    for key, colour, label in (
        ("recall", _RED, "recall (share of identified found)"),
        ("precision", _BLUE, "precision (share of flagged identified)"),
    ):
        xy = [(100 * r["share"], r[key]) for r in pts if _ok(r.get(key))]
        if xy:
            ax.plot(*zip(*xy, strict=True), color=colour, lw=1.6, label=label)
    if k_share is not None and _ok(k_share):
        ax.axvline(100 * k_share, color=_GREY, ls=":", lw=1, label="chosen capacity")
    ax.set_ylim(0, 1)
    ax.set_xlabel("children flagged (% of cohort)")
    ax.legend(fontsize=7, loc="center right")
    fig.subplots_adjust(left=0.12, right=0.97, top=0.96, bottom=0.15)
    return _png(fig)


def shapes_png(terms: list[tuple[str, list[dict]]]) -> str | None:
    """Each term's contribution by bin, one panel per term (red raises risk, blue
    lowers it). Bins without a shown contribution are left out."""
    panels = [(title, [r for r in rows if _ok(r.get("contribution"))]) for title, rows in terms]
    panels = [(t, rows) for t, rows in panels if rows]
    if not panels:
        return None
    fig = _figure(4.2, 2.1 * len(panels) + 0.2)
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    for ax, (title, pts) in zip(axes, panels, strict=True):
        vals = [r["contribution"] for r in pts]
        labels = [str(r.get("bin", i)) for i, r in enumerate(pts)]
        ax.bar(range(len(vals)), vals, color=[_RED if v > 0 else _BLUE for v in vals])
        ax.axhline(0, color=_INK, lw=0.8)
        step = max(1, len(labels) // 8)
        ax.set_xticks(range(0, len(labels), step))
        ax.set_xticklabels([lb[:14] for lb in labels[::step]], rotation=30, ha="right", fontsize=6)
        ax.set_ylabel("contribution", fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title(title[:60], fontsize=8)
    inch = 2.1 * len(panels) + 0.2
    fig.subplots_adjust(left=0.16, right=0.97, top=1 - 0.3 / inch, bottom=0.45 / inch, hspace=0.75)
    return _png(fig)


def backtest_png(rows: list[dict]) -> str | None:
    """ROC AUC and average precision per test year."""
    pts = [r for r in rows if r.get("test_year") is not None]
    if not pts:
        return None
    fig = _figure(4.2, 2.8)
    ax = fig.add_subplot()
    for key, colour in (("roc_auc", _RED), ("average_precision", _BLUE), ("recall_at_k", _INK)):
        xy = [(int(r["test_year"]), r[key]) for r in pts if _ok(r.get(key))]
        if xy:
            ax.plot(*zip(*xy, strict=True), marker="o", ms=4, color=colour, lw=1.4, label=key)
    ax.set_ylim(0, 1)
    years = sorted({int(r["test_year"]) for r in pts})
    ax.set_xticks(years, [str(y) for y in years])  # plain years, never an offset such as +2.02e3
    ax.set_xlim(years[0] - 0.5, years[-1] + 0.5)
    ax.set_xlabel("test year")
    ax.legend(fontsize=7, loc="lower right")
    fig.subplots_adjust(left=0.12, right=0.97, top=0.95, bottom=0.17)
    return _png(fig)


def fnr_png(rows: list[dict], band: tuple[float, float]) -> str | None:
    """False negative rate ratio to the reference group, with the band shaded."""
    pts = [r for r in rows if not r.get("suppressed") and _ok(r.get("ratio"))]
    if not pts:
        return None
    height = 0.45 * len(pts) + 1.0
    fig = _figure(4.2, height)
    ax = fig.add_subplot()
    labels = [  # wrapped, never cut: the whole group name stays readable
        textwrap.fill(f"{r.get('feature')}: {r.get('group')} vs {r.get('reference')}", 30)
        for r in pts
    ]
    ratios = [r["ratio"] for r in pts]
    ax.axvspan(band[0], band[1], color="#dddddd")
    colours = [_BLUE if band[0] <= v <= band[1] else _RED for v in ratios]
    ax.barh(range(len(pts)), ratios, color=colours, height=0.6)
    for i, r in enumerate(pts):
        if _ok(r.get("ratio_low")) and _ok(r.get("ratio_high")):
            ax.plot([r["ratio_low"], r["ratio_high"]], [i, i], color=_INK, lw=1)
    ax.axvline(1, color=_INK, lw=0.8)
    ax.set_yticks(range(len(pts)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"FNR ratio (>1: missed more; shaded {band[0]}-{band[1]})", fontsize=7)
    fig.subplots_adjust(left=0.45, right=0.97, top=1 - 0.15 / height, bottom=0.6 / height)
    return _png(fig)
