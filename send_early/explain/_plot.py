"""Plots of explanations. matplotlib is imported only when a plot is drawn."""

from __future__ import annotations

import textwrap

import numpy as np


def _plt():
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover
        raise ImportError("plotting needs matplotlib: pip install matplotlib") from exc
    return plt


def plot_shape(model, term: str, ax=None):
    """Plot one term's shape function (contribution in log-odds by bin).

    A single feature is drawn as bars, one per bin (red raises risk, blue lowers it).
    A pairwise term is drawn as a 2-D table (heat map) with one row per bin of its
    first feature and one column per bin of its second; cells whose count of training
    children is hidden by the disclosure rule (:mod:`send_early.privacy`) are left blank
    (grey).

    Returns the matplotlib Axes.
    """
    from ._explain import explain_global, pair_rows

    plt = _plt()
    tab = explain_global(model)
    t = tab[tab["term"] == term]
    if t.empty:
        raise ValueError(
            f"term must be one of the model's terms; {term!r} is not ({', '.join(tab['term'].unique()[:10])}, ...)."
        )
    is_pair = bool(pair_rows(t).iloc[0])
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4) if is_pair else (5, 3))
    if is_pair:
        rows = list(dict.fromkeys(t["bin"].astype(str)))
        cols = list(dict.fromkeys(t["bin_2"].astype(str)))
        grid = np.full((len(rows), len(cols)), np.nan)
        r = t["bin"].astype(str).map({b: i for i, b in enumerate(rows)}).to_numpy()
        c = t["bin_2"].astype(str).map({b: i for i, b in enumerate(cols)}).to_numpy()
        shown = (
            t["count"].notna().to_numpy(dtype=bool)
            if "count" in t.columns
            else np.ones(len(t), bool)
        )
        grid[r[shown], c[shown]] = t["contribution"].to_numpy(dtype=float)[shown]
        lim = float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 1.0
        cmap = plt.get_cmap("RdBu_r").with_extremes(bad="#dddddd")
        im = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=-lim, vmax=lim, aspect="auto")
        ax.figure.colorbar(im, ax=ax, label="contribution (log-odds)")
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels(rows, fontsize=7)
        ax.set_xticks(range(len(cols)))
        ax.set_xticklabels(cols, rotation=45, ha="right", fontsize=7)
        labels = model.pipeline.labels()
        first, second = str(t["feature"].iloc[0]), str(t["feature_2"].iloc[0])
        ax.set_ylabel(textwrap.fill(labels.get(first, first), 45), fontsize=8)
        ax.set_xlabel(textwrap.fill(labels.get(second, second), 60), fontsize=8)
        ax.set_title("Together, beyond their separate effects", fontsize=9)
        ax.figure.tight_layout()
        return ax
    labels = (
        t["bin"].astype(str).tolist() if "bin" in t.columns else [str(i) for i in range(len(t))]
    )
    ax.bar(
        range(len(t)),
        t["contribution"].to_numpy(),
        color=["#b2182b" if c > 0 else "#2166ac" for c in t["contribution"]],
    )
    ax.axhline(0, color="black", lw=0.8)
    step = max(1, len(labels) // 12)
    ax.set_xticks(range(0, len(labels), step))
    ax.set_xticklabels(labels[::step], rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("contribution (log-odds)")
    ax.set_title(textwrap.fill(str(t["label"].iloc[0]), 60), fontsize=9)
    ax.figure.tight_layout()
    return ax


def plot_points(model, ax=None, max_rows: int = 40):
    """Draw a scorecard's points table as a figure table. Returns the Axes."""
    plt = _plt()
    est = model.estimator_
    if not hasattr(est, "points_table_"):
        raise TypeError(
            "plot_points needs a ScorecardClassifier model; this model is additive: use plot_shape."
        )
    tab = est.points_table_
    cols = [c for c in ("feature", "bin", "points") if c in tab.columns]
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 0.25 * min(len(tab), max_rows) + 0.6))
    ax.axis("off")
    ax.table(cellText=tab[cols].head(max_rows).astype(str).values, colLabels=cols, loc="center")
    return ax
