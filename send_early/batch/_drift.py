"""Population stability index (PSI) of features and scores against a model's reference."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..model import reference_cells
from ..privacy import protect, statistic

#: PSI above this is worth a look (the conventional 0.1).
PSI_WARN = 0.1
#: PSI above this means the population has shifted materially (the conventional 0.25).
PSI_ALERT = 0.25
#: Status of a PSI not shown: the batch (or a group its value would reveal) is too small.
TOO_FEW = "too few children"
_EPS = 1e-4


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index between two vectors of bin shares.

    ``sum((a - e) * ln(a / e))`` with shares floored at 1e-4 so empty bins stay finite.

    Examples
    --------
    >>> round(psi([0.5, 0.5], [0.5, 0.5]), 6)
    0.0
    >>> round(psi([0.5, 0.5], [0.9, 0.1]), 3)
    0.879
    """
    e = np.clip(np.asarray(expected, float), _EPS, None)
    a = np.clip(np.asarray(actual, float), _EPS, None)
    return float(np.sum((a - e) * np.log(a / e)))


def drift_report(reference: dict, features: pd.DataFrame, risk: np.ndarray) -> pd.DataFrame:
    """PSI per feature and for the score, with a status of ok / warn (> 0.1) / alert (> 0.25).

    Each PSI is a statistic of the batch, shown under the disclosure rule of
    :mod:`send_early.privacy`: only for a batch of at least ``MIN_CELL`` children, and
    computed on the reference's cells merged (by :func:`send_early.model.reference_cells`)
    until each holds 0 or at least ``MIN_CELL`` of the batch's children. Where that
    leaves one cell (the batch's spread would reveal a group of 1 to 9) or the batch is
    smaller, ``psi`` is NaN and the status ``"too few children"``.

    Parameters
    ----------
    reference : dict
        ``RiskModel.reference_``: bin edges and shares from the calibration cohort
        (references saved by earlier versions are read as saved).
    features : DataFrame
        The features scored now.
    risk : array
        The scores given now.

    Returns
    -------
    DataFrame
        name, psi, status; the score is the row named ``"(score)"``. Aggregates only.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from send_early.batch import drift_report
    >>> ref = {"features": {"kind": {"kind": "categorical", "shares": {"a": 0.5, "b": 0.5}}}}
    >>> drift_report(ref, pd.DataFrame({"kind": ["a"] * 30 + ["b"] * 10}), np.zeros(40))
       name       psi status
    0  kind  0.274653  alert
    >>> drift_report(ref, pd.DataFrame({"kind": ["a"] * 5}), np.zeros(5))
       name  psi            status
    0  kind  NaN  too few children
    """
    entries = [
        (name, ref, features[name])
        for name, ref in reference.get("features", {}).items()
        if name in features.columns and ref.get("shares")
    ]
    if reference.get("score", {}).get("shares"):
        entries.append(("(score)", reference["score"], np.asarray(risk, float)))
    rows = []
    for name, ref, values in entries:
        e, a = reference_cells(ref, values)
        n = int(a.sum())
        value = psi(e, a / n) if n and len(a) > 1 else np.nan
        # a statistic of the batch: shown only on a group of at least MIN_CELL children
        rows.append({"name": name, "psi": value, "children": n if len(a) > 1 else 0})
    kept = protect(rows, cells=["children"], figures={"psi": statistic("children")}, flag=None)
    out = pd.DataFrame(
        {
            "name": pd.Series([r["name"] for r in kept], dtype="str"),
            "psi": pd.Series([r["psi"] for r in kept], dtype=float),
        }
    )
    out["status"] = np.select(
        [out["psi"].isna(), out["psi"] > PSI_ALERT, out["psi"] > PSI_WARN],
        [TOO_FEW, "alert", "warn"],
        "ok",
    )
    return out.sort_values("psi", ascending=False, kind="stable").reset_index(drop=True)
