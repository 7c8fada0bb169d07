"""Identification that followed a flag: marked, so retraining need not learn from its own flags."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Column :func:`mark_identified_after_flag` adds.
AFTER_FLAG = "identified_after_flag"


def _first_flag(outcomes: pd.DataFrame, outcome_codes) -> pd.Series:
    """The earliest flag date per child among the log's rows (optionally some outcomes only)."""
    need = {"child_id", "as_of"}
    if not need <= set(outcomes.columns):
        raise ValueError(
            f"outcomes must have the columns child_id and as_of (read_outcomes gives them); "
            f"found {', '.join(map(str, outcomes.columns))}."
        )
    rows = outcomes
    if outcome_codes is not None:
        from ._log import OUTCOME_CODES

        unknown = sorted(set(outcome_codes) - set(OUTCOME_CODES))
        if unknown:
            raise ValueError(
                f"outcome_codes must be among {', '.join(OUTCOME_CODES)}; found {unknown}."
            )
        rows = outcomes[outcomes["outcome"].isin(list(outcome_codes))]
    flag = pd.to_datetime(rows["as_of"]).astype("datetime64[s]")
    return flag.groupby(rows["child_id"].astype(str).to_numpy()).min()


def mark_identified_after_flag(
    frame: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    drop: bool = False,
    outcome_codes=None,
) -> pd.DataFrame:
    """Mark the positive labels whose identification came on or after a flag.

    A child flagged on a date (any model version, the log's ``as_of``) and identified
    later may have been identified *because* of the flag. A model retrained on those
    labels learns its own flags; this marks them, so training can leave them out or
    weigh them.

    Parameters
    ----------
    frame : DataFrame
        From :func:`send_early.features.make_training_frame` (a MultiIndex with
        ``child_id``, and ``label`` and ``event_date`` columns) or
        :func:`~send_early.features.build_labels` (indexed by ``child_id``).
    outcomes : DataFrame
        The outcome log, :func:`send_early.outcomes.read_outcomes`.
    drop : bool, default False
        Leave the marked rows out instead of marking them.
    outcome_codes : collection of str, optional
        Count only flags whose recorded outcome is one of these (e.g. ``{"reviewed",
        "sen_support_started", "referred"}``: flags someone acted on). Default: every
        flag in the log.

    Returns
    -------
    DataFrame
        ``frame`` with a boolean column ``identified_after_flag`` (True where
        ``label == 1`` and ``event_date`` is on or after the child's first flag), or
        without those rows when ``drop``. ``.attrs["identified_after_flag"]`` counts them.

    Examples
    --------
    >>> import pandas as pd
    >>> from send_early.outcomes import mark_identified_after_flag
    >>> labels = pd.DataFrame({"label": [1, 1, 0],
    ...     "event_date": pd.to_datetime(["2024-03-01", "2023-01-01", None])},
    ...     index=pd.Index(["a", "b", "c"], name="child_id"))
    >>> log = pd.DataFrame({"child_id": ["a", "b", "c"], "as_of": ["2024-01-15"] * 3,
    ...     "outcome": ["reviewed"] * 3})
    >>> mark_identified_after_flag(labels, log)["identified_after_flag"].tolist()
    [True, False, False]
    """
    for c in ("label", "event_date"):
        if c not in frame.columns:
            raise ValueError(
                f"frame must have a {c} column (make_training_frame or build_labels); "
                f"found {', '.join(map(str, frame.columns))}."
            )
    if "child_id" not in (frame.index.names or []):
        raise ValueError("frame must be indexed by child_id (alone or in a MultiIndex).")
    first = _first_flag(outcomes, outcome_codes)
    ids = frame.index.get_level_values("child_id").astype(str)
    flag = first.reindex(ids).to_numpy(dtype="datetime64[s]")
    event = pd.to_datetime(frame["event_date"]).to_numpy(dtype="datetime64[s]")
    label = pd.array(frame["label"], dtype="Int8").fillna(0).to_numpy(dtype=np.int8)
    after = (label == 1) & ~np.isnat(flag) & ~np.isnat(event) & (event >= flag)
    out = frame[~after] if drop else frame.assign(**{AFTER_FLAG: after})
    out.attrs = {**frame.attrs, AFTER_FLAG: int(after.sum())}
    return out
