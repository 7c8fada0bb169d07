"""The additive model's bags: boosted engines on row subsamples (private)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._engine import Engine, engine_weights, validation_split

__all__ = ["SizeSettings", "engine_params", "fit_bags", "size_settings"]

# Training rows from which "auto" switches to the settings for larger data
# (docs/models.md, "Defaults for every size"; measurements in docs/benchmarks.md).
MID_ROWS = 10_000


class SizeSettings(NamedTuple):
    """Bags, learning rate and pair budget of one fit."""

    n_bags: int
    learning_rate: float
    n_interactions: int


def size_settings(n_bags, learning_rate, n_interactions, n_samples: int) -> SizeSettings:
    """The settings for ``n_samples`` training rows; ``"auto"`` entries follow the size.

    Small data gain most from averaging bags at a low learning rate and have the rows
    for few pairs; with more rows each bag is less noisy, so fewer bags at a higher
    learning rate rank as well in a fraction of the time, and a larger pair budget
    lets the screen keep every pair it finds significant.
    """
    if n_samples < MID_ROWS:
        auto = SizeSettings(5, 0.05, 3)
    else:
        auto = SizeSettings(2, 0.2, 20)
    given = (n_bags, learning_rate, n_interactions)
    return SizeSettings(*(a if isinstance(g, str) else g for g, a in zip(given, auto, strict=True)))


def engine_params(est, early: bool, order: np.ndarray) -> dict:
    """The engine settings of ``est``'s bags (columns in engine ``order``)."""
    engine_cst = est.monotonic_method == "engine" and est.monotonic_cst_.any()
    cst = est.monotonic_cst_.tolist() if engine_cst else None
    return dict(
        learning_rate=est.learning_rate_,
        max_iter=est.max_iter,
        max_leaf_nodes=est.max_leaf_nodes,
        min_samples_leaf=est.min_samples_leaf,
        l2_regularization=est.l2_regularization,
        max_bins=255,
        monotonic_cst=None if cst is None else [cst[j] for j in order],
        categorical_features=est.is_categorical_[order] if est.is_categorical_.any() else None,
        early_stopping=early,
        validation_fraction=est.validation_fraction,
        n_iter_no_change=est.n_iter_no_change,
    )


def fit_bags(Xb, y01, sw, params, groups, *, n_bags, subsample, early, rng):
    """Boost ``n_bags`` engines; returns them and each one's validation rows (or None).

    Each bag draws its seed (and its row subsample when ``subsample < 1``) from
    ``rng``; with ``early`` stopping its validation rows are split off here, as the
    engine would split them, so that they are known afterwards.
    """
    n = Xb.shape[0]
    engines, val_rows = [], []
    for _ in range(n_bags):
        seed = int(rng.randint(np.iinfo(np.int32).max))
        rows = np.arange(n)
        if subsample < 1:
            m = max(int(round(subsample * n)), 2)
            rows = np.sort(rng.choice(n, m, replace=False))
        engine = Engine(interaction_cst=groups, random_state=seed, **params)
        if early:
            rows, val = validation_split(rows, y01, params["validation_fraction"], seed)
            w, w_val = engine_weights(sw, rows), engine_weights(sw, val)
            if (w is None) != (w_val is None):
                w, w_val = sw[rows], sw[val]
            engine.fit(
                Xb[rows],
                y01[rows],
                sample_weight=w,
                X_val=Xb[val],
                y_val=y01[val],
                sample_weight_val=w_val,
            )
            val_rows.append(val)
        else:
            engine.fit(Xb[rows], y01[rows], sample_weight=engine_weights(sw, rows))
            val_rows.append(None)
        engines.append(engine)
    return engines, val_rows
