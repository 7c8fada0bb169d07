"""Capacity by setting: the council's top k, or quotas per setting or locality, and what each
gives.

Every policy orders children by :func:`send_early.evaluation.flag_capacity` (the one
capacity rule); a quota policy only changes how many of each setting's children, taken in
that order, are flagged. Group sizes come from ``groupby``; nothing loops over children.
The model card (training) and the work lists both call these functions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..privacy import count, protect, protect_frame, rate
from ._capacity import CapacityFlags, flag_capacity

#: council: the top k council-wide; proportional: quotas proportional to each setting's
#: children scored (largest remainders, so they add up to k); minimum: up to ``minimum``
#: per setting first, the rest of k council-wide; locality: quotas proportional to each
#: locality team's children scored (children with no locality form one group).
CAPACITY_POLICIES = ("council", "proportional", "minimum", "locality")


def _quotas(n: np.ndarray, k: int) -> np.ndarray:
    """k split in proportion to ``n`` (largest remainders; ties to the larger group)."""
    exact = k * n / max(n.sum(), 1)
    q = np.floor(exact + 1e-9).astype(np.int64)
    left = k - int(q.sum())
    order = np.lexsort((-n, -(exact - q)))  # largest remainder first, then the larger setting
    q[order[:left]] += 1
    return np.minimum(q, n)


def _groups(values, n: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Codes and labels of one value per child; empty (None, NaN, "") is one group, ""."""
    s = pd.Series(np.asarray(values, dtype=object)).fillna("").astype(str)
    if len(s) != n:
        raise ValueError(
            f"{name} must give one value per child: {n:,} risks, {len(s):,} {name} values."
        )
    return pd.factorize(s)


def capacity_by_setting(
    risk,
    setting,
    *,
    k: int,
    policy: str = "council",
    minimum: int = 1,
    tiebreak=None,
    locality=None,
):
    """Flag ``k`` children under a capacity policy by setting.

    Parameters
    ----------
    risk : array-like of float
    setting : array-like
        Each child's setting (a school id, or one value for children on no school roll).
    k : int
        Children to flag in all, 0 to ``len(risk)``.
    policy : {"council", "proportional", "minimum", "locality"}
        See :data:`CAPACITY_POLICIES`.
    minimum : int
        For ``policy="minimum"``: children flagged in each setting first (all of a
        smaller setting); ``minimum`` times the settings may not exceed ``k``.
    tiebreak : array-like, optional
        Ascending tie-break (the child id), as in ``flag_capacity``.
    locality : array-like, optional
        For ``policy="locality"`` (required there): each child's locality team, the one
        of the child's home (``children.locality``), whether or not on a school roll;
        empty values form one group.

    Returns
    -------
    CapacityFlags
        ``rank`` (council-wide, 1 = highest risk), ``flagged`` and ``k``.

    Examples
    --------
    >>> from send_early.evaluation import capacity_by_setting
    >>> risk = [0.9, 0.8, 0.7, 0.2, 0.1]
    >>> where = ["a", "a", "a", "b", "b"]
    >>> capacity_by_setting(risk, where, k=2).flagged.tolist()
    [True, True, False, False, False]
    >>> capacity_by_setting(risk, where, k=2, policy="minimum").flagged.tolist()
    [True, False, False, True, False]
    >>> team = ["L1", "L2", "L2", "L2", "L1"]
    >>> capacity_by_setting(risk, where, k=2, policy="locality", locality=team).flagged.tolist()
    [True, True, False, False, False]
    """
    if policy not in CAPACITY_POLICIES:
        raise ValueError(f"policy must be one of {', '.join(CAPACITY_POLICIES)}; found {policy!r}.")
    if policy == "locality" and locality is None:
        raise ValueError(
            "policy 'locality' needs locality= (each child's locality team, "
            "children.locality); found none."
        )
    risk = np.asarray(risk, dtype=float)
    codes, uniq = _groups(setting, len(risk), "setting")
    if policy == "locality":
        codes, uniq = _groups(locality, len(risk), "locality")
    whole = flag_capacity(risk, k=len(risk), tiebreak=tiebreak)  # the council-wide order
    k = int(min(max(k, 0), len(risk)))
    if policy == "council":
        f = flag_capacity(risk, k=k, tiebreak=tiebreak)
        return CapacityFlags(f.rank, f.flagged, f.k)
    within = pd.Series(whole.rank).groupby(codes).rank(method="first").to_numpy(dtype=np.int64)
    n = np.bincount(codes, minlength=len(uniq))
    if policy in ("proportional", "locality"):  # quotas by setting, or by locality team
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
    by_setting: bool = False,
    locality=None,
    policies=None,
) -> pd.DataFrame:
    """What each capacity policy gives on a labelled cohort, so a council can choose.

    ``policies`` (default: council, proportional and minimum, and locality when
    ``locality`` is given) names the policies compared; leave ``minimum`` out when the
    settings outnumber ``k``. Every figure is by setting, whichever groups a policy
    sets quotas for.

    With ``by_setting=False`` one row per policy: flagged, precision, recall, settings
    (with children scored), settings_flagged (with at least one flag), and how the flags
    spread: settings with 1 to 9 flags (``settings_1_9``) and with 10 or more
    (``settings_10_plus``). With ``by_setting=True`` one row per policy and setting:
    children, flagged, flag_rate, precision, recall. Every count and rate of children
    follows the disclosure rule (:mod:`send_early.privacy`): a figure that would reveal 1
    to 9 children is hidden, and within a policy the settings' rows are complemented
    against its total.

    Examples
    --------
    >>> import numpy as np
    >>> from send_early.evaluation import compare_capacity_policies
    >>> rng = np.random.default_rng(0)
    >>> risk = rng.random(400); y = rng.random(400) < risk / 2
    >>> where = rng.choice(["a", "b", "c", "d"], 400)
    >>> t = compare_capacity_policies(risk, y, where, k=40)
    >>> t["policy"].tolist(), t["flagged"].tolist(), t["settings_flagged"].tolist()
    (['council', 'proportional', 'minimum'], [40, 40, 40], [4, 4, 4])
    """
    y = np.asarray(y_true, dtype=bool)
    codes, uniq = _groups(setting, len(y), "setting")
    if policies is None:
        policies = CAPACITY_POLICIES if locality is not None else CAPACITY_POLICIES[:3]
    parts = []
    for policy in policies:  # a few policies, never a loop over children
        f = capacity_by_setting(
            risk,
            setting,
            k=k,
            policy=policy,
            minimum=minimum,
            tiebreak=tiebreak,
            locality=locality,
        ).flagged
        cells = {
            name: np.bincount(codes, weights=m, minlength=len(uniq)).astype(np.int64)
            for name, m in (("tp", f & y), ("fp", f & ~y), ("fn", ~f & y), ("tn", ~f & ~y))
        }
        parts.append(pd.DataFrame({"policy": policy, "setting": np.asarray(uniq), **cells}))
    long = pd.concat(parts, ignore_index=True)
    long["children"] = long[["tp", "fp", "fn", "tn"]].sum(axis=1)
    long["flagged"] = long["tp"] + long["fp"]
    tp, fp, fn = long["tp"], long["fp"], long["fn"]
    long["flag_rate"] = long["flagged"] / long["children"].clip(lower=1)
    long["precision"] = (tp / (tp + fp).clip(lower=1)).where(tp + fp > 0)
    long["recall"] = (tp / (tp + fn).clip(lower=1)).where(tp + fn > 0)
    cell_names = ["tp", "fp", "fn", "tn"]
    if by_setting:
        figures = {
            "children": count(*cell_names),
            "flagged": count("tp", "fp"),
            "flag_rate": rate(["tp", "fp"], cell_names),
            "precision": rate("tp", ["tp", "fp"]),
            "recall": rate("tp", ["tp", "fn"]),
        }
        shown = long[
            ["policy", "setting", "children", "flagged", "flag_rate", "precision", "recall"]
        ]
        return protect_frame(
            shown,
            cells={c: long[c].to_numpy() for c in cell_names},
            figures=figures,
            by=["policy"],
            totals=True,
        )
    g = long.groupby("policy", sort=False)
    rows = g[cell_names].sum().reset_index()
    rows["flagged"] = rows["tp"] + rows["fp"]
    rows["precision"] = rows["tp"] / (rows["tp"] + rows["fp"]).clip(lower=1)
    rows["recall"] = rows["tp"] / (rows["tp"] + rows["fn"]).clip(lower=1)
    rows["settings"] = len(uniq)
    rows["settings_flagged"] = g["flagged"].apply(lambda x: int((x > 0).sum())).to_numpy()
    rows["settings_1_9"] = g["flagged"].apply(lambda x: int(x.between(1, 9).sum())).to_numpy()
    rows["settings_10_plus"] = g["flagged"].apply(lambda x: int((x >= 10).sum())).to_numpy()
    figures = {
        "flagged": count("tp", "fp"),
        "precision": rate("tp", ["tp", "fp"]),
        "recall": rate("tp", ["tp", "fn"]),
    }
    out = protect(rows.to_dict(orient="records"), cells=cell_names, figures=figures, flag=None)
    return pd.DataFrame(out)
