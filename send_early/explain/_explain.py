"""Global and per-child explanations as data (DataFrames); plots live in ``_plot.py``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..privacy import count, protect_frame, rate


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


def pair_rows(tab: pd.DataFrame) -> pd.Series:
    """Rows of a global explanation (``explain_global``) that belong to a pair term.

    A pair row names a second feature in ``feature_2``; a table without that column
    has no pair rows.

    Examples
    --------
    >>> import pandas as pd
    >>> tab = pd.DataFrame({"term": ["age", "age x gld"], "feature_2": [None, "gld"]})
    >>> pair_rows(tab).tolist()
    [False, True]
    """
    if "feature_2" not in tab.columns:
        return pd.Series(False, index=tab.index)
    second = tab["feature_2"].astype("object")
    return second.notna() & ~second.astype(str).isin(["None", "nan", ""])


def offers_reason(pipeline, features) -> bool:
    """May a term built from ``features`` be offered as a reason?

    A reason is something a practitioner can look at and act on: a term is offered only when
    at least one of its features measures need (``role = "need"`` in the pipeline spec;
    development, attainment, health) and none is a protected characteristic. Context
    (deprivation, social care, attendance, relative age) may shape the score and is shown as
    context (:func:`explain_context`), never as a reason; a process feature (a record of the
    identification process itself) is never either.

    Examples
    --------
    >>> from send_early.features import load_pipeline
    >>> spec = load_pipeline("default")
    >>> offers_reason(spec, ["asq_communication"]), offers_reason(spec, ["imd_decile"])
    (True, False)
    >>> offers_reason(spec, ["imd_decile", "eyfsp_gld"]), offers_reason(spec, ["sex"])
    (True, False)
    """
    fs = set(features)
    roles = pipeline.roles() if hasattr(pipeline, "roles") else {}
    if fs & set(pipeline.protected):
        return False
    return any(roles.get(f) in ("need", "", None) for f in fs)


def _context_term(pipeline, features) -> bool:
    """A term shown as context: no protected feature, no need feature, some context feature."""
    fs = set(features)
    roles = pipeline.roles() if hasattr(pipeline, "roles") else {}
    if fs & set(pipeline.protected) or offers_reason(pipeline, fs):
        return False
    return any(roles.get(f) == "context" for f in fs)


def _blocked_terms(model) -> np.ndarray:
    """Terms that may never be offered as a reason (see :func:`offers_reason`)."""
    return np.array([not offers_reason(model.pipeline, fs) for fs in _term_features(model)])


def format_value(values: pd.Series, flag: bool = False, unit: str = "") -> pd.Series:
    """Plain-English rendering of feature values for reasons.

    Values of a flag feature (``flag=True``, from the pipeline spec's
    ``dtype = "flag"``) become ``"yes"``/``"no"``; missing values
    ``"not recorded"``; a share (the spec's ``unit`` starts with ``"share"``, such as
    attendance) a percentage with one decimal; other numbers keep at most three
    significant digits (a count of 1 stays ``"1"``).

    Examples
    --------
    >>> import pandas as pd
    >>> format_value(pd.Series([1.0, 0.0, None]), flag=True).tolist()
    ['yes', 'no', 'not recorded']
    >>> format_value(pd.Series([1.0, 0.8734, 31.0, None])).tolist()
    ['1', '0.873', '31', 'not recorded']
    >>> format_value(pd.Series([0.9125, -0.0296, None]), unit="share of sessions").tolist()
    ['91.2%', '-3.0%', 'not recorded']
    """
    if isinstance(values.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(values):
        out = values.astype("object").where(values.notna(), "not recorded")
        return out.astype(str)
    v = pd.to_numeric(values, errors="coerce").astype(float)
    arr = v.to_numpy()
    if flag:
        out = np.where(arr == 1, "yes", "no").astype(object)
    elif unit.startswith("share"):
        out = np.char.add(np.char.mod("%.1f", np.round(arr * 100, 1)), "%").astype(object)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            mag = np.floor(np.log10(np.abs(arr)))
        dec = np.clip(2 - np.nan_to_num(mag, nan=0.0, posinf=0.0, neginf=0.0), 0, 12).astype(int)
        rounded = np.round(arr * 10.0**dec) / 10.0**dec
        out = (pd.Series(rounded).astype(str).str.replace(r"\.0$", "", regex=True)).to_numpy(
            dtype=object
        )
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


def explain_local(
    model,
    features: pd.DataFrame,
    top: int = 3,
    *,
    min_contribution: float | None = None,
    wide: bool = False,
    contributions: pd.DataFrame | None = None,
    lowers: bool = False,
    records: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The features that raise each child's risk most, with plain-English sentences.

    Contributions are in calibrated log-odds and measured from the population
    average (each term's mean contribution over the training population is 0),
    so a positive contribution means "raises this child's risk above the
    average child's". A contribution smaller than ``min_contribution``
    (default: the model spec's ``[explain] min_contribution``, 0.05 log-odds)
    is not offered, so noise features are not given as reasons. Only terms with a
    feature that measures need are reasons (:func:`offers_reason`): protected
    characteristics (sex, ethnicity) never, and context (deprivation, social care,
    attendance, relative age) is shown apart by :func:`explain_context`. A feature with
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
        (child_id, position, term, contribution, reason). Wide reasons are
        categoricals (few distinct sentences, many children).
    contributions : DataFrame, optional
        ``model.contributions(features)`` if already computed (scoring reuses it).
    lowers : bool, default False
        Give instead the need features that lower each child's risk most (contribution at
        most ``-min_contribution``; wide columns ``lowers_k``): a practitioner sees what
        stands in the child's favour, not only what counts against.
    records : DataFrame, optional
        :func:`send_early.features.feature_records` at the same as-of date: each reason then
        names the record behind its value, so a practitioner can check it, e.g. "...: 10
        (27-month review on 2024-03-02; cut-off 24.02, not yet confirmed)" or "...: no
        (recorded on 2023-07-01)".
    """
    if min_contribution is None:
        min_contribution = model.spec.min_contribution
    contrib = model.contributions(features) if contributions is None else contributions
    allowed = ~_blocked_terms(model)
    sign, name = (-1, "lowers") if lowers else (1, "reason")
    return _ranked(
        model, features, contrib, allowed, sign, top, wide, name, min_contribution, records
    )


def explain_context(
    model,
    features: pd.DataFrame,
    top: int = 1,
    *,
    wide: bool = False,
    contributions: pd.DataFrame | None = None,
    records: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Context lines: the context features (deprivation, social care, attendance, relative
    age: ``role = "context"``) that raise each child's risk most.

    Context shapes a score but is not something to act on, so it is never a reason
    (:func:`explain_local`); a list may show it apart, as context. The same rules as for
    reasons apply otherwise (at least the model spec's ``min_contribution``, only recorded
    values, never a protected characteristic). Returns the same layout as
    :func:`explain_local`, with ``context_k`` columns when ``wide``; ``records`` as there.
    """
    contrib = model.contributions(features) if contributions is None else contributions
    shown = np.array([_context_term(model.pipeline, fs) for fs in _term_features(model)])
    floor = model.spec.min_contribution
    return _ranked(model, features, contrib, shown, 1, top, wide, "context", floor, records)


def _ranked(
    model, features, contrib, allowed, sign, top, wide, name, floor, records=None
) -> pd.DataFrame:
    """The ``top`` allowed terms per child by ``sign * contribution``, at least ``floor``, as
    sentences; ``name`` names the wide columns (``name_1`` ...). The long table keeps the
    signed contribution and calls the sentence ``reason`` for every kind (one layout)."""
    # column-major: each term's contributions contiguous (RiskModel.contributions is
    # already laid out so, and then this is a view, not a copy)
    A = np.asfortranarray(sign * contrib.to_numpy(dtype=float))
    term_feats = _term_features(model)

    def eligible(t):
        if not allowed[t]:
            return None
        return (A[:, t] >= floor) & _offerable(features, term_feats[t])

    n, m = A.shape
    k = min(top, m)
    idx, vals = _top_k(A, eligible, k)
    ok = np.isfinite(vals)
    labels = model.pipeline.labels()
    flags = {f.name for f in model.pipeline.features if f.dtype == "flag"}
    units = {f.name: f.unit for f in model.pipeline.features}
    details = _record_details(records, features.index) if records is not None else {}
    reasons = [
        _sentences(features, idx[:, j], ok[:, j], term_feats, labels, flags, units, details)
        for j in range(k)
    ]
    if wide:
        empty = pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[""])
        return pd.DataFrame(
            {f"{name}_{j + 1}": reasons[j] if j < k else empty for j in range(top)},
            index=features.index,
        )
    r, p = np.nonzero(ok)
    terms = np.asarray(contrib.columns)
    text = np.empty(len(r), dtype=object)
    for j in range(k):
        sel = p == j
        text[sel] = np.asarray(reasons[j])[r[sel]]
    return pd.DataFrame(
        {
            "child_id": features.index.to_numpy()[r],
            "position": p + 1,
            "term": terms[idx[r, p]],
            "contribution": sign * vals[r, p],
            "reason": text,
        }
    )


def _top_k(A: np.ndarray, eligible, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Column index and value of the k largest eligible entries per row, largest first.

    ``eligible(t)`` gives the rows where column ``t`` may be chosen (or None for none).
    One pass over the columns (terms, each contiguous in a column-major ``A``), never a
    loop over rows: a row enters a column's update only where the entry is eligible and
    beats the row's current k-th value, which with a minimum contribution is a small
    share of the rows. Ties go to the lower column index, so the order is deterministic.
    Where fewer than k entries qualify, the value is -inf and the index 0.
    """
    n, m = A.shape
    vals = np.full((k, n), -np.inf)
    idx = np.zeros((k, n), dtype=np.int64)
    if k == 0:
        return idx.T, vals.T
    for t in range(m):  # loop over terms, never over children
        ok = eligible(t)
        if ok is None:
            continue
        v = A[:, t]
        rows = np.flatnonzero(ok & (v > vals[k - 1]))
        if not rows.size:
            continue
        x = v[rows]
        top_v, top_i = vals[:, rows], idx[:, rows]
        pos = (top_v >= x).sum(axis=0)  # where x goes; an equal earlier column stays ahead
        for r in range(k - 1, 0, -1):  # shift the smaller ones down
            s = pos < r
            top_v[r, s] = top_v[r - 1, s]
            top_i[r, s] = top_i[r - 1, s]
        for r in range(k):
            s = pos == r
            top_v[r, s] = x[s]
            top_i[r, s] = t
        vals[:, rows] = top_v
        idx[:, rows] = top_i
    return idx.T, vals.T


def _sentences(
    features: pd.DataFrame,
    term_idx: np.ndarray,
    ok: np.ndarray,
    term_feats,
    labels,
    flags: set[str],
    units: dict[str, str] | None = None,
    details: dict[str, np.ndarray] | None = None,
) -> pd.Categorical:
    """One reason sentence per row, for the term chosen at one position ("" where none).

    Each term's values are factorized first, so only the distinct values are
    formatted; the result is a categorical (few distinct sentences, many rows).
    ``details`` (from :func:`_record_details`) adds each row's record to its feature's text.
    """
    details = details or {}
    n = len(term_idx)
    codes = np.full(n, -1, dtype=np.int64)
    texts: list[np.ndarray] = []
    offset = 0
    order = np.argsort(term_idx, kind="stable")
    bounds = np.searchsorted(term_idx[order], np.arange(len(term_feats) + 1))
    for t, fs in enumerate(term_feats):  # loop over terms, never over children
        rows = order[bounds[t] : bounds[t + 1]]
        rows = rows[ok[rows]]
        if not len(rows):
            continue
        combined = np.zeros(len(rows), dtype=np.int64)
        parts: list[np.ndarray] = []
        for f in fs:
            values = (
                features[f].iloc[rows] if f in features.columns else pd.Series([None] * len(rows))
            )
            c, uniq = pd.factorize(values, use_na_sentinel=False)
            txt = (
                labels.get(f, f)
                + ": "
                + format_value(
                    pd.Series(uniq), flag=f in flags, unit=(units or {}).get(f, "")
                ).to_numpy(dtype=object)
            )
            if f in details:  # the record behind each row's value: one text per row
                c, txt = pd.factorize(txt[c] + details[f][rows])
                uniq = txt
            combined = combined * len(uniq) + c
            parts.append((txt, len(uniq)))
        c, uniq_combined = pd.factorize(combined)
        if len(parts) == 1:
            sentence = parts[0][0][uniq_combined]
        else:
            (t1, _), (t2, n2) = parts[0], parts[1]
            sentence = t1[uniq_combined // n2] + "; together with " + t2[uniq_combined % n2]
        codes[rows] = offset + c
        texts.append(sentence)
        offset += len(sentence)
    if not texts:  # no child has a reason at this position
        return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[""])
    inv, cats = pd.factorize(np.concatenate(texts))
    final = np.where(codes >= 0, inv[np.maximum(codes, 0)] + 1, 0)
    return pd.Categorical.from_codes(final, categories=["", *cats])


def _record_details(records: pd.DataFrame, index: pd.Index) -> dict[str, np.ndarray]:
    """Per feature of ``records`` (:func:`send_early.features.feature_records`), the text
    naming each child's record (aligned with ``index``; "" where there is none)."""
    rec = records.reindex(pd.Index(index).astype(str))
    out = {}
    for f in rec.columns.get_level_values(0).unique():  # loop over features, never children
        r = rec[f]
        date = r["date"].to_numpy(dtype="datetime64[ns]")
        has = ~np.isnat(date)
        iso = np.datetime_as_string(date, unit="D").astype(object)
        text = np.where(has, " (recorded on " + iso + ")", "").astype(object)
        if "at_birth" in r.columns:
            text = np.where(has, " (at birth, " + iso + ")", "").astype(object)
        if "n_records" in r.columns:  # a count or rate: how many records, the latest
            k = r["n_records"].to_numpy(dtype=float)
            many = np.char.mod("%d", np.nan_to_num(k).astype(np.int64)).astype(object)
            text = np.where(
                has,
                np.where(k == 1, " (1 record, on ", " (" + many + " records, the latest on ")
                + iso
                + ")",
                "",
            ).astype(object)
        if "interval_months" in r.columns:
            months = r["interval_months"].to_numpy(dtype=float)
            cut = r["cutoff"].to_numpy(dtype=float)
            confirmed = r["cutoff_confirmed"].to_numpy(dtype=float) == 1
            m = np.char.mod("%d", np.nan_to_num(months).astype(np.int64)).astype(object)
            c = np.char.mod("%g", np.nan_to_num(cut)).astype(object)
            review = np.where(
                np.isnan(months),
                " (review on " + iso + "; questionnaire interval not recorded, so no cut-off",
                " (" + m + "-month review on " + iso,
            )
            cutoff = np.where(
                np.isnan(months),
                "",
                np.where(
                    np.isnan(cut),
                    "; no cut-off shipped for this interval",
                    "; cut-off " + c + np.where(confirmed, "", ", not yet confirmed"),
                ),
            )
            text = np.where(has, review + cutoff + ")", "").astype(object)
        out[f] = text
    return out


def _protect_bins(tab: pd.DataFrame) -> pd.DataFrame:
    """The disclosure rule (:mod:`send_early.privacy`) on the children per bin: each term's
    bins partition the training children, so hidden bins are complemented within a term."""
    n = tab["count"].to_numpy(dtype=float)
    if "event_rate" not in tab.columns:
        figures = {"count": count("children"), "share": count("children")}
        return protect_frame(tab, cells={"children": n}, figures=figures, by=["term"], totals=True)
    events = np.nan_to_num(np.round(tab["event_rate"].to_numpy(dtype=float) * n))  # empty bins
    figures = {
        "count": count("events", "others"),
        "share": count("events", "others"),
        "event_rate": rate("events", ["events", "others"]),
    }
    cells = {"events": events, "others": n - events}
    return protect_frame(tab, cells=cells, figures=figures, by=["term"], totals=True)


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
        importance (mean absolute contribution of the term), protected. Counts, shares
        and event rates follow the disclosure rule of :mod:`send_early.privacy`: missing
        where they would let a reader work out 1 to 9 children (``suppressed`` True).
    """
    est = model.estimator_
    slope = model.calibration_["slope"]
    if hasattr(est, "shape_tables"):
        tab = est.shape_tables().copy()
        tab["contribution"] = tab["contribution"] * slope
    else:  # a scorecard: its points per bin
        tab = est.points_table_.rename(columns={"feature": "term", "points": "contribution"})
    if "count" in tab.columns:
        tab["share"] = tab["count"] / tab.groupby("term")["count"].transform("sum")
        tab = _protect_bins(tab)
    if features is not None:
        imp = model.contributions(features).abs().mean()
    elif hasattr(est, "term_importances"):
        imp = est.term_importances() * abs(slope)
    else:
        imp = (
            tab.assign(w=lambda d: d["contribution"].abs() * d.get("share", 1.0))
            .groupby("term")["w"]
            .sum()
        )
    tab["importance"] = tab["term"].map(imp).astype(float)
    labels = model.pipeline.labels()
    tab["label"] = tab["term"].map(lambda t: " x ".join(labels.get(f, f) for f in t.split(" x ")))
    blocked = dict(zip(est.term_names_, _blocked_terms(model), strict=True))
    tab["protected"] = tab["term"].map(blocked).fillna(False).astype(bool)
    return tab.sort_values(
        ["importance", "term"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)
