"""Capacity by setting: the council's top k, or quotas per setting, and what each gives.

Every policy orders children by :func:`send_early.evaluation.flag_capacity` (the one
capacity rule); a quota policy only changes how many of each setting's children, taken in
that order, are flagged. Group sizes come from ``groupby``; nothing loops over children.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["CAPACITY_POLICIES", "capacity_by_setting", "compare_capacity_policies"]

#: council: the top k council-wide; proportional: quotas proportional to each setting's
#: children scored (largest remainders, so they add up to k); minimum: up to ``minimum``
#: per setting first, the rest of k council-wide.
CAPACITY_POLICIES = ("council", "proportional", "minimum")


def _quotas(n: np.ndarray, k: int) -> np.ndarray:
    """k split in proportion to ``n`` (largest remainders; ties to the larger group)."""
    exact = k * n / max(n.sum(), 1)
    q = np.floor(exact + 1e-9).astype(np.int64)
    left = k - int(q.sum())
    order = np.lexsort((-n, -(exact - q)))  # largest remainder first, then the larger setting
    q[order[:left]] += 1
    return np.minimum(q, n)


def capacity_by_setting(
    risk, setting, *, k: int, policy: str = "council", minimum: int = 1, tiebreak=None
):
    """Flag ``k`` children under a capacity policy by setting.

    Parameters
    ----------
    risk : array-like of float
    setting : array-like
        Each child's setting (a school id, or one value for children on no school roll).
    k : int
        Children to flag in all, 0 to ``len(risk)``.
    policy : {"council", "proportional", "minimum"}
        See :data:`CAPACITY_POLICIES`.
    minimum : int
        For ``policy="minimum"``: children flagged in each setting first (all of a
        smaller setting); ``minimum`` times the settings may not exceed ``k``.
    tiebreak : array-like, optional
        Ascending tie-break (the child id), as in ``flag_capacity``.

    Returns
    -------
    CapacityFlags
        ``rank`` (council-wide, 1 = highest risk), ``flagged`` and ``k``.

    Examples
    --------
    >>> from send_early.lists import capacity_by_setting
    >>> risk = [0.9, 0.8, 0.7, 0.2, 0.1]
    >>> where = ["a", "a", "a", "b", "b"]
    >>> capacity_by_setting(risk, where, k=2).flagged.tolist()
    [True, True, False, False, False]
    >>> capacity_by_setting(risk, where, k=2, policy="minimum").flagged.tolist()
    [True, False, False, True, False]
    """
    from ..evaluation import CapacityFlags, flag_capacity

    if policy not in CAPACITY_POLICIES:
        raise ValueError(f"policy must be one of {', '.join(CAPACITY_POLICIES)}; found {policy!r}.")
    risk = np.asarray(risk, dtype=float)
    setting = pd.Series(np.asarray(setting, dtype=object)).astype(str)
    if len(setting) != len(risk):
        raise ValueError(
            f"setting must give one value per child: {len(risk):,} risks, {len(setting):,} settings."
        )
    whole = flag_capacity(risk, k=len(risk), tiebreak=tiebreak)  # the council-wide order
    k = int(min(max(k, 0), len(risk)))
    if policy == "council":
        f = flag_capacity(risk, k=k, tiebreak=tiebreak)
        return CapacityFlags(f.rank, f.flagged, f.k)
    codes, uniq = pd.factorize(setting)
    within = pd.Series(whole.rank).groupby(codes).rank(method="first").to_numpy(dtype=np.int64)
    n = np.bincount(codes, minlength=len(uniq))
    if policy == "proportional":
        flagged = within <= _quotas(n, k)[codes]
    else:
        if minimum < 0:
            raise ValueError(f"minimum must be 0 or more children per setting; found {minimum}.")
        base = within <= np.minimum(minimum, n)[codes]
        if base.sum() > k:
            raise ValueError(
                f"minimum {minimum} per setting needs {int(base.sum()):,} flags over "
                f"{len(uniq):,} settings, more than the capacity k={k:,}: lower the minimum or "
                "raise k."
            )
        rest = np.where(base, np.iinfo(np.int64).max, whole.rank)  # the rest by council rank
        order = np.argsort(rest, kind="stable")[: k - int(base.sum())]
        flagged = base.copy()
        flagged[order] = True
    return CapacityFlags(whole.rank, flagged, int(flagged.sum()))


def compare_capacity_policies(
    risk,
    y_true,
    setting,
    *,
    k: int,
    minimum: int = 1,
    tiebreak=None,
) -> pd.DataFrame:
    """What each capacity policy gives on a labelled cohort: one row per policy.

    Columns: policy, flagged, precision, recall, settings (with children scored),
    settings_flagged (with at least one flag), flag rate by setting (``min``, ``median``,
    ``max`` over settings of flagged / children in the setting; settings with fewer than
    ``MIN_CELL`` children scored are left out of these three). Counts, precision and
    recall follow the disclosure rule (:mod:`send_early.privacy`).

    Examples
    --------
    >>> import numpy as np
    >>> from send_early.lists import compare_capacity_policies
    >>> rng = np.random.default_rng(0)
    >>> risk = rng.random(400); y = rng.random(400) < risk / 2
    >>> where = rng.choice(["a", "b", "c", "d"], 400)
    >>> t = compare_capacity_policies(risk, y, where, k=40)
    >>> t["policy"].tolist(), t["flagged"].tolist()
    (['council', 'proportional', 'minimum'], [40, 40, 40])
    """
    from ..privacy import MIN_CELL, count, protect, rate

    y = np.asarray(y_true, dtype=bool)
    codes, uniq = pd.factorize(pd.Series(np.asarray(setting, dtype=object)).astype(str))
    n = np.bincount(codes, minlength=len(uniq))
    rows = []
    for policy in CAPACITY_POLICIES:  # three policies, never a loop over children
        f = capacity_by_setting(
            risk, setting, k=k, policy=policy, minimum=minimum, tiebreak=tiebreak
        ).flagged
        tp, fp = int((f & y).sum()), int((f & ~y).sum())
        fn, tn = int((~f & y).sum()), int((~f & ~y).sum())
        per = np.bincount(codes, weights=f, minlength=len(uniq))
        big = n >= MIN_CELL
        share = per[big] / n[big]
        rows.append(
            {
                "policy": policy,
                "flagged": tp + fp,
                "precision": tp / max(tp + fp, 1),
                "recall": tp / max(tp + fn, 1),
                "settings": len(uniq),
                "settings_flagged": int((per > 0).sum()),
                "flag_rate_min": float(share.min()) if len(share) else None,
                "flag_rate_median": float(np.median(share)) if len(share) else None,
                "flag_rate_max": float(share.max()) if len(share) else None,
                "tp": tp,
                "fp": fp,
                "fn": fn,
                "tn": tn,
            }
        )
    figures = {
        "flagged": count("tp", "fp"),
        "precision": rate("tp", ["tp", "fp"]),
        "recall": rate("tp", ["tp", "fn"]),
    }
    return pd.DataFrame(protect(rows, cells=["tp", "fp", "fn", "tn"], figures=figures, flag=None))
