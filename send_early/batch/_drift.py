"""Population stability index (PSI) of features and scores against a model's reference."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["psi", "drift_report", "PSI_WARN", "PSI_ALERT"]

#: PSI above this is worth a look (the conventional 0.1).
PSI_WARN = 0.1
#: PSI above this means the population has shifted materially (the conventional 0.25).
PSI_ALERT = 0.25
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


def _shares_numeric(v: np.ndarray, edges) -> np.ndarray:
    v = v[~np.isnan(v)]
    counts = np.bincount(
        np.searchsorted(np.asarray(edges, float), v, side="right"), minlength=len(edges) + 1
    )
    return counts / max(counts.sum(), 1)


def drift_report(reference: dict, features: pd.DataFrame, risk: np.ndarray) -> pd.DataFrame:
    """PSI per feature and for the score, with a status of ok / warn (> 0.1) / alert (> 0.25).

    Parameters
    ----------
    reference : dict
        ``RiskModel.reference_``: bin edges and shares from the calibration cohort.
    features : DataFrame
        The features scored now.
    risk : array
        The scores given now.

    Returns
    -------
    DataFrame
        name, psi, status; the score is the row named ``"(score)"``. Aggregates only.
    """
    rows = []
    for name, ref in reference.get("features", {}).items():
        if name not in features.columns:
            continue
        s = features[name]
        if ref["kind"] == "categorical":
            now = s.astype("object").fillna("(missing)").astype(str).value_counts(normalize=True)
            keys = sorted(set(ref["shares"]) | set(now.index))
            value = psi(
                [ref["shares"].get(k, 0.0) for k in keys], [float(now.get(k, 0.0)) for k in keys]
            )
        else:
            if not ref["shares"]:
                continue
            v = s.to_numpy(dtype=float, na_value=np.nan)
            value = psi(ref["shares"], _shares_numeric(v, ref["edges"]))
            miss_now = float(np.isnan(v).mean()) if len(v) else 0.0
            value += psi(
                [ref.get("missing", 0.0), 1 - ref.get("missing", 0.0)], [miss_now, 1 - miss_now]
            )
        rows.append((name, value))
    sc = reference.get("score", {})
    if sc.get("shares"):
        rows.append(
            ("(score)", psi(sc["shares"], _shares_numeric(np.asarray(risk, float), sc["edges"])))
        )
    out = pd.DataFrame(rows, columns=["name", "psi"])
    out["status"] = np.select(
        [out["psi"] > PSI_ALERT, out["psi"] > PSI_WARN], ["alert", "warn"], "ok"
    )
    return out.sort_values("psi", ascending=False, kind="stable").reset_index(drop=True)
