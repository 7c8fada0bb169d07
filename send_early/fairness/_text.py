"""The group audit as plain text (``str(audit)``); suppressed values read "suppressed"."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..governance import BAND, GATING, gap_gate, ratio_gate
from ._audit import _SUPPRESSED


def audit_text(audit) -> str:
    """Plain-text report of a :class:`GroupAudit`; suppressed values read \"suppressed\"."""
    show = [
        "n",
        "prevalence",
        "flag_rate",
        "recall",
        "fnr",
        "precision",
        "fpr",
        "mean_risk",
        "observed_rate",
    ]
    bg = audit.by_group
    table = pd.DataFrame({"feature": bg["feature"], "group": bg["group"]})
    for c in show:
        table[c] = [_fmt(v, c == "n") for v in bg[c]]
    d = audit.disparity
    disp = pd.DataFrame(
        {
            "feature": d["feature"],
            "group": d["group"],
            "reference": d["reference"],
            "fnr_ratio": [_fmt(v) for v in d["ratio"]],
            "interval": [
                _SUPPRESSED if s else f"{_fmt(lo)}-{_fmt(hi)}"
                for s, lo, hi in zip(d["suppressed"], d["ratio_low"], d["ratio_high"], strict=True)
            ],
            f"in_{BAND[0]:g}-{BAND[1]:g}": [
                "" if s else ("yes" if w is True else "NO" if w is False else "n/a")
                for s, w in zip(d["suppressed"], d["within_band"], strict=True)
            ],
        }
    )
    gate = audit.gating
    gt = pd.DataFrame(
        {
            "feature": gate["feature"],
            "group": gate["group"],
            "reference": gate["reference"],
            "metric": gate["metric"],
            "ratio": [_fmt(v) for v in gate["ratio"]],
            "interval": [
                _SUPPRESSED if s else f"{_fmt(lo)}-{_fmt(hi)}"
                for s, lo, hi in zip(
                    gate["suppressed"], gate["ratio_low"], gate["ratio_high"], strict=True
                )
            ],
        }
    )
    parts = [
        "Group audit",
        f"Caveat: {audit.caveat}",
        f"Values computed on fewer than {audit._min_cell} children are shown as '{_SUPPRESSED}'.",
        "",
        table.to_string(index=False),
        "",
        "Recall and flag-rate ratios to the reference group (these gate the model card):",
        gt.to_string(index=False) if len(gt) else "(no groups to compare)",
        "",
        *_gate_lines(audit),
        "",
        "False negative rate ratio to the reference group (reported; near 1 at low capacity):",
        disp.to_string(index=False) if len(disp) else "(no groups to compare)",
    ]
    need = audit.recall_vs_need
    if need is not None:
        nt = pd.DataFrame(
            {
                "feature": need["feature"],
                "group": need["group"],
                "n_need": [_fmt(v, True) for v in need["n_need"]],
                "recall_vs_need": [_fmt(v) for v in need["recall_vs_need"]],
                "identified_among_need": [_fmt(v) for v in need["identified_among_need"]],
            }
        )
        parts += [
            "",
            "Among children with true need (synthetic cohorts only):",
            nt.to_string(index=False),
        ]
    return "\n".join(parts)


def _gate_lines(audit) -> list[str]:
    """What the model card's gates make of this audit: groups tested, the correction, and
    the groups outside the band (or with a calibration gap) beyond chance."""
    d = audit.to_dict()
    out = ["Gates (as the model card applies them; many groups are tested at once):"]
    for metric in GATING:
        g = ratio_gate(metric, d)
        bad = ", ".join(r[0] for r in g.rejected) or "none"
        out.append(
            f"  {metric} ratio: {g.correction_text()}; outside {BAND[0]:g}-{BAND[1]:g} "
            f"beyond chance: {bad}"
        )
    g = gap_gate(d)
    bad = ", ".join(f"{r[0]} ({r[1]:+.4f})" for r in g.rejected) or "none"
    out.append(f"  calibration gap: {g.correction_text()}; beyond chance: {bad}")
    return out


def _fmt(v, integer: bool = False) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return _SUPPRESSED
    return f"{int(v)}" if integer else f"{float(v):.3f}"
