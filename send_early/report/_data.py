"""Data sections of the model card: the training metadata, the evaluation cohort and the
caller's data summary (:func:`summarise_data`), with the disclosure rule applied."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .._json import jsonable
from ._privacy import protect_rows, show_count
from ._sections import DataSummary

logger = logging.getLogger(__name__)

__all__ = ["data_summary_section", "summarise_data"]


def _metadata_summary(model) -> dict:
    meta = dict(getattr(model, "metadata_", None) or {})
    out = {}
    for k, v in meta.items():
        if k.endswith("_text") or k.endswith("sha256"):
            continue
        v = jsonable(v)
        if isinstance(v, bool | str) and len(str(v)) <= 120:
            out[k] = v
        elif isinstance(v, int | float):
            out[k] = v
        elif isinstance(v, list) and all(isinstance(x, str) for x in v) and len(v) <= 50:
            out[k] = v
    for k, v in out.items():
        if k.startswith("n_") and isinstance(v, int | float) and not isinstance(v, bool):
            out[k] = show_count(v)
    for key in ("n_train", "n_calibration"):  # each with its later-identified count
        if isinstance(meta.get(key), int | float):
            row = {"n": meta[key], "n_positive": meta.get(f"{key}_positive")}
            safe = protect_rows([row], "data", events="n_positive")[0]
            out[key] = safe["n"]
            if f"{key}_positive" in out:
                out[f"{key}_positive"] = safe["n_positive"]
    return out


_SUMMARY_COUNTS = ("n_children", "n_positive")


def data_summary_section(data_summary, model, evaluation: Mapping) -> DataSummary:
    """The data summary section: training metadata, evaluation cohort, caller's summary."""
    out: dict = {"training": _metadata_summary(model)}
    head = evaluation.get("headline") or {}
    if head:
        ev = protect_rows(
            [{k: head.get(k) for k in ("n", "n_positive", "prevalence") if k in head}],
            "data",
            events="n_positive",
            rate_key="prevalence",
        )[0]
        ev.pop("suppressed")
        out["evaluation"] = ev
    if data_summary is None:
        return DataSummary(**out)
    if not isinstance(data_summary, Mapping):
        raise TypeError(
            f"data_summary must be a dict (see summarise_data); found {type(data_summary).__name__}."
        )
    d = jsonable(data_summary)
    given: dict = {}
    if any(k in d for k in (*_SUMMARY_COUNTS, "prevalence")):
        row = {k: d[k] for k in (*_SUMMARY_COUNTS, "prevalence") if k in d}
        row = protect_rows(
            [row], "data", size="n_children", events="n_positive", rate_key="prevalence"
        )[0]
        given |= {k: v for k, v in row.items() if k != "suppressed"}
    for k in ("extract_date", "source", "notes", "as_of_dates", "date_range"):
        if k in d:
            given[k] = d[k]
    if isinstance(d.get("tables"), Mapping):
        rows = [
            {"table": name, **(v if isinstance(v, Mapping) else {"rows": v})}
            for name, v in d["tables"].items()
        ]
        given["tables"] = [
            {k: (show_count(v) if k in ("rows", "children") else v) for k, v in r.items()}
            for r in rows
        ]
    miss = data_summary.get("missingness") if isinstance(data_summary, Mapping) else None
    if isinstance(miss, pd.Series):
        miss = miss.to_dict()
    if isinstance(miss, Mapping):
        # a share missing reveals the children missing (and recorded) among n_children
        n = d.get("n_children", head.get("n"))
        rows = [{"n": n, "prevalence": jsonable(v)} for v in miss.values()]
        safe = protect_rows(rows, "data", rate_key="prevalence") if n is not None else rows
        given["missingness"] = {str(k): r["prevalence"] for k, r in zip(miss, safe, strict=True)}
    ignored = sorted(set(d) - set(given) - {"synthetic", "tables", "missingness", "prevalence"})
    if ignored:
        logger.info("data_summary keys not shown in the card: %s", ", ".join(ignored))
    out["given"] = given
    return DataSummary(**out)


def summarise_data(
    features: pd.DataFrame | None = None,
    labels=None,
    *,
    tables=None,
    source: str | None = None,
    synthetic: bool = False,
) -> dict:
    """Aggregate data summary for :func:`build_model_card` (no child-level rows).

    Parameters
    ----------
    features : DataFrame, optional
        One row per child (and as-of date); an ``as_of`` column gives the as-of dates.
        Gives ``n_children`` and per-feature ``missingness`` (share missing).
    labels : array-like or DataFrame, optional
        Outcome labels (0/1) or a frame with a ``label`` column; gives ``n_positive``
        and ``prevalence``.
    tables : mapping of name to DataFrame, optional
        Contract tables; gives rows, distinct children and date range per table,
        and ``extract_date`` when the mapping has one.
    source : str, optional
        Where the data came from, in words.
    synthetic : bool, default False
        True when the data are simulated (adds the synthetic-data caveat to the card).

    Returns
    -------
    dict

    Examples
    --------
    >>> import pandas as pd
    >>> from send_early.report import summarise_data
    >>> f = pd.DataFrame({"age_months": [50, 60, None], "eal": [1, 0, 0]})
    >>> s = summarise_data(f, [0, 1, 0], synthetic=True)
    >>> s["n_children"], s["n_positive"], s["missingness"]["age_months"]
    (3, 1, 0.333...)
    """
    out: dict = {"synthetic": bool(synthetic)}
    if source:
        out["source"] = source
    if features is not None:
        out["n_children"] = int(len(features))
        cols = [c for c in features.columns if c != "as_of"]
        out["missingness"] = {c: float(v) for c, v in features[cols].isna().mean().items()}
        if "as_of" in features.columns:
            dates = pd.to_datetime(features["as_of"]).dropna().unique()
            out["as_of_dates"] = sorted(pd.Timestamp(x).date().isoformat() for x in dates)
    if labels is not None:
        y = labels["label"] if isinstance(labels, pd.DataFrame) else labels
        y = pd.Series(np.asarray(y, dtype=float))
        out["n_positive"] = int(y.sum())
        out["prevalence"] = float(y.mean()) if len(y) else None
    if tables is not None:
        summary = {}
        for name, df in tables.items():
            row: dict = {"rows": int(len(df))}
            if "child_id" in df.columns:
                row["children"] = int(df["child_id"].nunique())
            dates = [c for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c])]
            if dates:
                lo = min(df[c].min() for c in dates)
                hi = max(df[c].max() for c in dates)
                if pd.notna(lo):
                    row["from"], row["to"] = lo.date().isoformat(), hi.date().isoformat()
            summary[name] = row
        out["tables"] = summary
        extract = getattr(tables, "extract_date", None)
        if extract is not None:
            out["extract_date"] = pd.Timestamp(extract).date().isoformat()
    return out
