"""Global and per-child explanations as data (DataFrames); plots live in ``_plot.py``."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["explain_global", "explain_local", "format_value", "MIN_CELL"]

#: Cells built from fewer children than this are suppressed in any table meant to leave the model.
MIN_CELL = 10


def _term_features(model) -> list[tuple[str, ...]]:
    """The features each estimator term is built from (a pair term has two)."""
    est = model.estimator_
    names = list(getattr(est, "feature_names_in_", model.feature_names_))
    tf = getattr(est, "term_features_", None)
    if tf is not None:
        out = []
        for t in tf:
            t = (t,) if isinstance(t, (str, int, np.integer)) else tuple(t)
            out.append(tuple(names[j] if isinstance(j, (int, np.integer)) else str(j) for j in t))
        return out
    return [tuple(t.split(" x ")) for t in est.term_names_]


def _blocked_terms(model) -> np.ndarray:
    """Terms that may never be offered as a reason: any term touching a protected characteristic."""
    protected = set(model.pipeline.protected)
    return np.array([bool(set(fs) & protected) for fs in _term_features(model)], dtype=bool)


def format_value(values: pd.Series) -> pd.Series:
    """Plain-English rendering of feature values for reasons.

    0/1 flags become ``"yes"``/``"no"``, missing values ``"not recorded"``,
    numbers keep at most three significant digits.

    Examples
    --------
    >>> import pandas as pd
    >>> format_value(pd.Series([1.0, 0.0, None, 0.8734, 31.0])).tolist()
    ['yes', 'no', 'not recorded', '0.873', '31']
    """
    if isinstance(values.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(values):
        out = values.astype("object").where(values.notna(), "not recorded")
        return out.astype(str)
    v = pd.to_numeric(values, errors="coerce").astype(float)
    arr = v.to_numpy()
    flags = np.isin(arr[~np.isnan(arr)], (0.0, 1.0)).all()
    if flags:
        out = np.where(arr == 1, "yes", "no").astype(object)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            mag = np.floor(np.log10(np.abs(arr)))
        dec = np.clip(2 - np.nan_to_num(mag, nan=0.0, posinf=0.0, neginf=0.0), 0, 12).astype(int)
        rounded = np.round(arr * 10.0**dec) / 10.0**dec
        out = (pd.Series(rounded).astype(str).str.replace(r"\.0$", "", regex=True)).to_numpy(dtype=object)
    out[np.isnan(arr)] = "not recorded"
    return pd.Series(out, index=values.index, dtype=object)


def _offerable(features: pd.DataFrame, fs: tuple[str, ...]) -> np.ndarray:
    """Rows where a term may be offered as a reason.

    A reason must be about something recorded for the child: a term is not
    offered when any of its features is missing for that child (the absence of
    a record is offered only through explicit indicator features such as
    ``asq_review_missing``), and an assessment-status feature is offered only
    when an assessment that was due is missing (never for "not yet due").
    """
    ok = np.ones(len(features), dtype=bool)
    for f in fs:
        if f not in features.columns:
            continue
        s = features[f]
        if f.endswith("_status"):
            ok &= (s.astype("object") == "missing").to_numpy(dtype=bool)
        else:
            ok &= s.notna().to_numpy(dtype=bool)
    return ok


def explain_local(model, features: pd.DataFrame, top: int = 3, *, min_contribution: float | None = None,
                  wide: bool = False) -> pd.DataFrame:
    """The features that raise each child's risk most, with plain-English sentences.

    Contributions are in calibrated log-odds and measured from the population
    average (each term's mean contribution over the training population is 0),
    so a positive contribution means "raises this child's risk above the
    average child's". A contribution smaller than ``min_contribution``
    (default: the model spec's ``[explain] min_contribution``, 0.05 log-odds)
    is not offered, so noise features are not given as reasons. Protected
    characteristics (sex, ethnicity) are never given as reasons. A feature with
    no record for the child is not offered either (see ``asq_review_missing``
    and the ``*_status`` features for missing records that matter).

    Parameters
    ----------
    model : fitted RiskModel
    features : DataFrame indexed by child_id
    top : int
        Reasons per child.
    min_contribution : float, optional
    wide : bool
        If True, return one row per child with columns ``reason_1..reason_top``
        (empty string where fewer reasons qualify); otherwise a long table
        (child_id, position, term, contribution, value, reason).
    """
    if min_contribution is None:
        min_contribution = model.spec.min_contribution
    contrib = model.contributions(features)
    C = contrib.to_numpy(dtype=float, copy=True)
    C[:, _blocked_terms(model)] = -np.inf
    C[C < min_contribution] = -np.inf
    term_feats = _term_features(model)
    for t, fs in enumerate(term_feats):  # loop over terms, never over children
        C[~_offerable(features, fs), t] = -np.inf
    n, m = C.shape
    k = min(top, m)
    if k == 0 or n == 0:
        idx = np.zeros((n, 0), dtype=np.int64)
    else:
        part = np.argpartition(-C, kth=k - 1, axis=1)[:, :k] if k < m else np.tile(np.arange(m), (n, 1))
        order = np.argsort(-np.take_along_axis(C, part, axis=1), axis=1, kind="stable")
        idx = np.take_along_axis(part, order, axis=1)
    vals = np.take_along_axis(C, idx, axis=1)
    terms = np.asarray(contrib.columns)
    labels = model.pipeline.labels()
    sentences = np.full((n, k), "", dtype=object)
    for t in range(m):  # loop over terms, never over children
        rows, pos = np.nonzero((idx == t) & np.isfinite(vals))
        if not len(rows):
            continue
        fs = term_feats[t]
        parts = []
        for f in fs:
            v = format_value(features[f].iloc[rows]) if f in features.columns else pd.Series([""] * len(rows))
            parts.append(labels.get(f, f) + ": " + v.to_numpy(dtype=object))
        text = parts[0] if len(parts) == 1 else parts[0] + "; together with " + parts[1]
        sentences[rows, pos] = text
    if wide:
        return pd.DataFrame({f"reason_{j + 1}": sentences[:, j] if j < k else "" for j in range(top)},
                            index=features.index)
    ok = np.isfinite(vals)
    r, p = np.nonzero(ok)
    out = pd.DataFrame({
        "child_id": features.index.to_numpy()[r],
        "position": p + 1,
        "term": terms[idx[r, p]],
        "contribution": vals[r, p],
        "reason": sentences[r, p],
    })
    return out


def explain_global(model, features: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every term's shape table (or points), with importance and the share of children per bin.

    Parameters
    ----------
    model : fitted RiskModel
    features : DataFrame, optional
        Population to measure importance on (mean absolute contribution). By
        default the importance stored from training is used where available.

    Returns
    -------
    DataFrame
        One row per term and bin: term, label, bin, contribution (calibrated
        log-odds, or points for a scorecard), share (of children in the bin),
        importance (mean absolute contribution of the term), protected.
    """
    est = model.estimator_
    slope = model.calibration_["slope"]
    if hasattr(est, "shape_tables"):
        tab = est.shape_tables().copy()
        tab["contribution"] = tab["contribution"] * slope
    else:  # pragma: no cover
        tab = est.points_table_.copy()
    if "count" in tab.columns:
        tab["share"] = tab["count"] / tab.groupby("term")["count"].transform("sum")
        # small-cell suppression: no count, share or rate built from fewer than 10 children
        small = tab["count"] < MIN_CELL
        tab["count"] = tab["count"].astype("Float64").mask(small)
        tab["share"] = tab["share"].mask(small)
        if "event_rate" in tab.columns:
            tab["event_rate"] = tab["event_rate"].mask(small)
        tab["suppressed"] = small
    if features is not None:
        imp = model.contributions(features).abs().mean()
    elif hasattr(est, "term_importances"):
        imp = est.term_importances() * abs(slope)
    else:
        imp = tab.assign(w=lambda d: d["contribution"].abs() * d.get("share", 1.0)).groupby("term")["w"].sum()
    tab["importance"] = tab["term"].map(imp).astype(float)
    labels = model.pipeline.labels()
    tab["label"] = tab["term"].map(lambda t: " x ".join(labels.get(f, f) for f in t.split(" x ")))
    blocked = dict(zip(est.term_names_, _blocked_terms(model), strict=True))
    tab["protected"] = tab["term"].map(blocked).fillna(False).astype(bool)
    return tab.sort_values(["importance", "term"], ascending=[False, True], kind="stable").reset_index(drop=True)
