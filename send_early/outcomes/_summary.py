"""What followed the flags of each model version, under the disclosure rule."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..privacy import count, protect, show_count, statistic
from ._log import OUTCOME_CODES

#: How each outcome reads in a report.
OUTCOME_TEXT = {
    "reviewed": "reviewed by a person",
    "no_action": "reviewed: no action needed",
    "sen_support_started": "SEN support started",
    "referred": "referred (e.g. educational psychology, health)",
    "declined": "family declined",
    "unknown": "not known",
}
_RANK = {code: i for i, code in enumerate(OUTCOME_CODES)}
_GROUP = ["model_name", "model_version", "child_id", "as_of"]


def latest_outcomes(outcomes: pd.DataFrame) -> pd.DataFrame:
    """One row per flag (child, model version, as_of): its latest dated outcome.

    Outcomes on the same day are ordered as in :data:`OUTCOME_CODES` (an ``unknown`` with
    no date comes first, so any dated outcome replaces it).
    """
    df = outcomes.assign(
        _when=pd.to_datetime(outcomes["outcome_date"]).fillna(pd.Timestamp.min),
        _rank=outcomes["outcome"].map(_RANK),
    )
    df = df.sort_values(["_when", "_rank"], kind="stable")
    return df.drop_duplicates(_GROUP, keep="last").drop(columns=["_when", "_rank"])


def outcome_summary(
    outcomes: pd.DataFrame, *, model_name: str | None = None, model_version=None
) -> pd.DataFrame:
    """Flags by latest outcome, per model version: counts, shares and days to outcome.

    Each flag (child, model version, scoring date) counts once, under its latest outcome.
    Counts of 1 to 9 read ``"<10"``, and further counts are hidden where a reader could
    work a small one out from the version's total (:func:`send_early.privacy.protect`);
    a share is shown only beside a count shown; the median days from the flag to the
    outcome only for 10 or more flags.

    Returns
    -------
    DataFrame
        model_name, model_version, outcome, text, flags, share, median_days, suppressed;
        and a row ``outcome == "all"`` per version with the total.
    """
    df = outcomes
    if model_name is not None:
        df = df[df["model_name"] == str(model_name)]
    if model_version is not None:
        df = df[df["model_version"] == str(model_version)]
    last = latest_outcomes(df)
    days = (pd.to_datetime(last["outcome_date"]) - pd.to_datetime(last["as_of"])).dt.days.astype(
        float
    )
    last = last.assign(days=days)
    grouped = last.groupby(["model_name", "model_version", "outcome"], sort=False)
    table = grouped.agg(flags=("child_id", "size"), median_days=("days", "median")).reset_index()
    records = []
    for (name, version), part in table.groupby(["model_name", "model_version"], sort=True):
        by_code = part.set_index("outcome")
        for code in OUTCOME_CODES:  # every outcome, zero where none: a fixed shape
            n = int(by_code["flags"].get(code, 0))
            md = by_code["median_days"].get(code, np.nan)
            records.append(
                {
                    "model_name": name,
                    "model_version": version,
                    "outcome": code,
                    "text": OUTCOME_TEXT[code],
                    "flags": n,
                    "median_days": float(md) if n else np.nan,
                }
            )
    if not records:
        return pd.DataFrame(
            columns=[
                "model_name",
                "model_version",
                "outcome",
                "text",
                "flags",
                "share",
                "median_days",
                "suppressed",
            ]
        )
    kept = protect(
        records,
        cells=["flags"],
        figures={"flags": count("flags"), "median_days": statistic("flags")},
        by=["model_name", "model_version"],
        totals=True,
    )
    out = pd.DataFrame(kept)
    raw_total = (
        pd.DataFrame(records).groupby(["model_name", "model_version"])["flags"].transform("sum")
    )
    shown = out["flags"].map(lambda v: not isinstance(v, str | bool) and v is not None)
    flags = pd.to_numeric(out["flags"].where(shown), errors="coerce")
    out["share"] = (flags / raw_total.where(raw_total > 0)).astype(float)
    total_rows = (
        pd.DataFrame(records)
        .groupby(["model_name", "model_version"], as_index=False)["flags"]
        .sum()
        .assign(outcome="all", text="all flags with an outcome recorded", median_days=np.nan)
    )
    total_rows["flags"] = total_rows["flags"].map(show_count)
    total_rows["share"] = np.where(total_rows["flags"].map(lambda v: v == 0), np.nan, 1.0)
    total_rows["suppressed"] = total_rows["flags"].map(lambda v: isinstance(v, str))
    out = pd.concat([out, total_rows], ignore_index=True)
    cols = ["model_name", "model_version", "outcome", "text", "flags", "share"]
    cols += ["median_days", "suppressed"]
    return (
        out[cols].sort_values(["model_name", "model_version"], kind="stable").reset_index(drop=True)
    )


def outcome_section(outcomes: pd.DataFrame, *, model_name: str, model_version) -> dict:
    """The card section "What followed flags" for one version, as JSON-ready data.

    Returns
    -------
    dict
        ``title``, ``rows`` (outcome, text, flags, share, median_days, under the
        disclosure rule) and ``notes``.
    """
    table = outcome_summary(outcomes, model_name=model_name, model_version=str(model_version))
    rows = [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
        for r in table.drop(columns=["model_name", "model_version"]).to_dict(orient="records")
    ]
    return {
        "title": "What followed flags",
        "model": f"{model_name} version {model_version}",
        "rows": rows,
        "notes": [
            "Each flag counts once, under its latest recorded outcome (send-early "
            "record-outcomes). Flags with nothing recorded are not in the table.",
            "Counts of 1 to 9 read <10; a count that would give one away is hidden too.",
            "An outcome after a flag is not evidence that the flag caused it: children "
            "flagged are those most likely to be identified anyway.",
        ],
    }
