"""Confusion cells per group and bootstrap draw: the metrics, their intervals, what they reveal."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..privacy import SMALL, count, protect, rate, statistic


def _metrics(C: np.ndarray, S: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Metrics and denominators from cell counts ``C[..., need, y, f]`` and risk sums ``S``."""
    c = C.sum(axis=-3)  # over need: [..., y, f]
    tp, fn, fp, tn = c[..., 1, 1], c[..., 1, 0], c[..., 0, 1], c[..., 0, 0]
    n = tp + fn + fp + tn
    pos, neg, flg = tp + fn, fp + tn, tp + fp
    need = C[..., 1, :, :].sum(axis=(-1, -2))
    need_flagged = C[..., 1, :, 1].sum(axis=-1)
    need_identified = C[..., 1, 1, :].sum(axis=-1)
    risk = S.sum(axis=(-1, -2, -3))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {
            "prevalence": (pos / n, n),
            "flag_rate": (flg / n, n),
            "recall": (tp / pos, pos),
            "fnr": (fn / pos, pos),
            "precision": (tp / flg, flg),
            "fpr": (fp / neg, neg),
            "mean_risk": (risk / n, n),
            "observed_rate": (pos / n, n),
            "calibration_gap": (risk / n - pos / n, n),
            "recall_vs_need": (need_flagged / need, need),
            "identified_among_need": (need_identified / need, need),
        }
    return out


def _quantiles(x: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1 - confidence) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN groups give NaN
        lo, hi = np.nanquantile(x, [alpha, 1 - alpha], axis=0)
    return lo, hi


_OUTCOMES = ("tn", "fp", "fn", "tp")  # (y, f) = (0, 0), (0, 1), (1, 0), (1, 1)


def _cell_names(has_need: bool) -> list[str]:
    """Names of the counts behind each group: ``C[group, need, y, f]`` flattened."""
    if not has_need:
        return list(_OUTCOMES)
    return [f"{need}_{lab}" for need in ("other", "need") for lab in _OUTCOMES]


def _figures(has_need: bool) -> dict:
    """What each published value of the audit reveals, for :func:`send_early.privacy.protect`
    (the group size first, then the headline FNR)."""
    cells = _cell_names(has_need)

    def pick(*labs, need=False):
        return [c for c in cells if c[-2:] in labs and (not need or c.startswith("need_"))]

    every, pos, neg = cells, pick("fn", "tp"), pick("tn", "fp")
    flg = pick("fp", "tp")
    figs = {
        "n": count(*every),
        "fnr": rate(pick("fn"), pos),
        "recall": rate(pick("tp"), pos),
        "flag_rate": rate(flg, every),
        "precision": rate(pick("tp"), flg),
        "fpr": rate(pick("fp"), neg),
        "prevalence": rate(pos, every),
        "observed_rate": rate(pos, every),
        "mean_risk": statistic(every),
        "calibration_gap": rate(pos, every),  # mean_risk minus the observed rate
    }
    if has_need:
        need = pick("tn", "fp", "fn", "tp", need=True)
        figs["recall_vs_need"] = rate(pick("fp", "tp", need=True), need)
        figs["identified_among_need"] = rate(pick("fn", "tp", need=True), need)
    return figs


def _hidden(C, point, has_need: bool, min_cell: int, block: bool) -> dict[str, np.ndarray]:
    """Which values of each group are hidden (the disclosure rule); the groups of a
    feature partition the cohort, whose totals are published in the overall row."""
    flat = C.reshape(len(C), 8) if has_need else C.sum(axis=1).reshape(len(C), 4)
    cells = _cell_names(has_need)
    figs = _figures(has_need)
    recs = [
        {"n": float(flat[g].sum())}
        | {m: float(point[m][0][g]) for m in figs if m != "n"}
        | dict(zip(cells, map(float, flat[g]), strict=True))
        for g in range(len(C))
    ]
    out = protect(recs, cells=cells, figures=figs, totals=block, flag=None, min_cell=min_cell)
    return {m: np.array([o[m] is None or o[m] == SMALL for o in out]) for m in figs}


def _wide(t: pd.DataFrame, metrics: list[str], n_from: str | None = None) -> pd.DataFrame:
    """One row per (feature, group) from the long table (which lists groups in the
    same order for every metric)."""
    first = t[t["metric"] == (n_from or metrics[0])].reset_index(drop=True)
    out = first[["feature", "group"]].copy()
    out["n"] = first["denominator" if n_from else "group_n"].astype("Int64").array
    sup = np.zeros((len(out), len(metrics)), dtype=bool)
    for j, m in enumerate(metrics):
        sub = t[t["metric"] == m].reset_index(drop=True)
        out[m] = sub["value"].to_numpy(dtype=np.float64)
        out[f"{m}_low"] = sub["ci_low"].to_numpy(dtype=np.float64)
        out[f"{m}_high"] = sub["ci_high"].to_numpy(dtype=np.float64)
        sup[:, j] = sub["suppressed"].to_numpy(dtype=bool)
    out["suppressed"] = sup.any(axis=1)
    out["suppressed_metrics"] = [
        ", ".join(m for m, s in zip(metrics, row, strict=True) if s) for row in sup
    ]
    return out
