"""Next year's new SEN support and EHC needs assessment requests, by term, phase and need.

New SEN support comes from the model: each scored child's risk over the horizon, times the
share of identifications that fall in the first 12 months, split by term and area of need
with the shares seen in the council's own history for the child's phase. EHC needs
assessment requests mostly come from children already identified (who are not scored), so
they come from history: the mean of the last three years. Intervals are approximate (see
:func:`forecast`); every figure goes through :mod:`send_early.privacy`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..evaluation import PHASES, phase_of
from ..privacy import count, protect, statistic

#: School terms by calendar month: September to December, January to March, April to August.
TERMS = ("autumn", "spring", "summer")
_TERM_OF_MONTH = np.array([1, 1, 1, 2, 2, 2, 2, 2, 0, 0, 0, 0])  # Jan..Dec -> term index
_Z = 1.96


def term_of(dates) -> np.ndarray:
    """Term index (0 autumn, 1 spring, 2 summer) of each date.

    Examples
    --------
    >>> import pandas as pd
    >>> from send_early.monitor import term_of
    >>> term_of(pd.to_datetime(["2025-09-01", "2026-02-10", "2026-06-30"])).tolist()
    [0, 1, 2]
    """
    return _TERM_OF_MONTH[pd.DatetimeIndex(dates).month.to_numpy() - 1]


def _phase(tables, ids, when) -> np.ndarray:
    """Phase (:func:`send_early.evaluation.phase_of`) of each child on ``when`` (one date, or
    one per child)."""
    kids = tables["children"][["child_id", "birth_date"]].astype({"child_id": "str"})
    born = pd.DatetimeIndex(
        pd.to_datetime(
            pd.Index(np.asarray(ids, dtype=str)).map(kids.set_index("child_id")["birth_date"])
        )
    )
    when = pd.Timestamp(when) if np.ndim(when) == 0 else pd.DatetimeIndex(when)
    return phase_of(np.asarray((when - born).days, float) / (365.25 / 12))


def _needs(events: pd.DataFrame) -> pd.Series:
    """Each child's area of need: the first primary need recorded on any of their events."""
    known = events[events["primary_need"].notna() & (events["primary_need"].astype(str) != "")]
    known = known.sort_values("event_date", kind="stable")
    return known.drop_duplicates("child_id").set_index("child_id")["primary_need"].astype(str)


def _history(tables, as_of: pd.Timestamp, years: int):
    """First identifications of children in past windows: months to event, term, phase, need."""
    from ..features import OUTCOMES

    ev = tables["sen_events"].assign(
        child_id=lambda d: d["child_id"].astype(str),
        event_date=lambda d: pd.to_datetime(d["event_date"]),
    )
    need = _needs(ev)
    first = (
        ev[ev["event"].astype(str).isin(list(OUTCOMES["any_support"]))]
        .groupby("child_id")["event_date"]
        .min()
    )
    window = first[(first > as_of - pd.DateOffset(years=years)) & (first <= as_of)]
    ids = window.index.to_numpy(dtype=str)
    return (
        pd.DataFrame(
            {
                "term": term_of(window.to_numpy()),
                "phase": _phase(tables, ids, window.to_numpy()),
                "need": pd.Series(ids).map(need).fillna("not recorded").to_numpy(),
            }
        ),
        ev,
        need,
    )


def _pooled_needs(need: pd.Series) -> pd.Series:
    """Needs seen for 1 to 9 children in the history pooled as "other needs" (a share of a
    small group would reveal it); a pool of 1 to 9 joins the smallest need shown."""
    from ..privacy import MIN_CELL

    n = need.value_counts()
    small = n.index[(n > 0) & (n < MIN_CELL)]
    out = need.where(~need.isin(small), "other needs")
    pooled = int((out == "other needs").sum())
    if 0 < pooled < MIN_CELL:
        big = out[out != "other needs"].value_counts()
        if len(big):
            out = out.replace({"other needs": big.index[-1]})
    return out


def _shares(hist: pd.DataFrame, by: str) -> pd.Series:
    """Share of each ``by`` value in the history (all phases together: larger groups)."""
    values = _pooled_needs(hist[by]) if by == "need" else hist[by]
    return values.value_counts(normalize=True).sort_index()


def _within_12(tables, as_of, horizon, model_horizon_share) -> float:
    if model_horizon_share is not None:
        return float(model_horizon_share)
    from ..features import build_labels

    past = as_of - pd.DateOffset(months=horizon)
    y = build_labels(tables, past, horizon_months=horizon)
    pos = y["months_to_event"].dropna()
    return float((pos <= 12).mean()) if len(pos) else 12 / horizon


def _new_support(run, tables, hist, share12) -> list[dict]:
    s = run.scores
    as_of = pd.Timestamp(run.metadata["as_of"])
    ids = s["child_id"].astype(str).to_numpy()
    q = s["risk"].to_numpy(float) * share12
    phase = _phase(tables, ids, as_of + pd.DateOffset(months=6))
    rows = []
    for by in ("term", "need"):
        shares = _shares(hist, by)
        for ph in PHASES:
            m = phase == ph
            for key, share in shares.items():
                qi = q[m] * share
                rows.append(
                    {
                        "measure": "new SEN support",
                        "by": by,
                        "phase": ph,
                        "group": TERMS[key] if by == "term" else key,
                        "expected": float(qi.sum()),
                        "sd": float(np.sqrt((qi * (1 - qi)).sum())),
                        "children": int(m.sum()),
                        "basis": "model scores",
                    }
                )
    kept = protect(rows, cells=["children"], figures={"expected": statistic("children")}, flag=None)
    return kept


def _ehc_requests(ev, need, tables, as_of: pd.Timestamp, years: int) -> list[dict]:
    req = ev[(ev["event"].astype(str) == "ehc_request") & (ev["event_date"] <= as_of)]
    req = req[req["event_date"] > as_of - pd.DateOffset(years=years)]
    ids = req["child_id"].to_numpy(dtype=str)
    df = pd.DataFrame(
        {
            "term": term_of(req["event_date"].to_numpy()),
            "phase": _phase(tables, ids, req["event_date"].to_numpy()),
            "need": _pooled_needs(pd.Series(ids).map(need).fillna("not recorded")).to_numpy(),
        }
    )
    rows = []
    for by in ("term", "need"):
        counts = df.groupby(["phase", by]).size()
        keys = range(len(TERMS)) if by == "term" else sorted(df["need"].unique())
        for ph in PHASES:
            for key in keys:
                n = int(counts.get((ph, key), 0))
                rows.append(
                    {
                        "measure": "EHC needs assessment requests",
                        "by": by,
                        "phase": ph,
                        "group": TERMS[key] if by == "term" else key,
                        "events": n,
                        "basis": f"mean of the last {years} years",
                    }
                )
    kept = protect(
        rows,
        cells=["events"],
        figures={"events": count("events")},
        by=["by", "phase"],
        totals=True,
        flag=None,
    )
    for r in kept:
        n = r.pop("events")
        shown = isinstance(n, int | float) and not isinstance(n, bool)
        mean = n / years if shown else None
        r["expected"] = mean
        # next year's count is Poisson around the mean, which is itself estimated from
        # ``years`` years: variance mean * (1 + 1 / years)
        r["sd"] = float(np.sqrt(mean * (1 + 1 / years))) if shown else None
    return kept


def forecast(
    run, tables, *, horizon_months: int = 24, years: int = 3, share_within_12=None
) -> pd.DataFrame:
    """Expected new SEN support and EHC needs assessment requests in the 12 months after a run.

    Parameters
    ----------
    run : ScoringResult or path-like
        A published scoring run (:func:`send_early.batch.read_run`); its as-of date starts
        the year forecast.
    tables : Tables
        The extract the run scored (children's birth dates, ``sen_events`` history).
    horizon_months : int, default 24
        The model's label window.
    years : int, default 3
        Years of history behind the EHC request forecast and the term and need shares.
    share_within_12 : float, optional
        Share of identifications within the horizon that come in its first 12 months
        (default: measured on the latest complete window of the history).

    Returns
    -------
    DataFrame
        measure, by (``term`` or ``need``), phase, group, expected, low, high, basis.
        New SEN support: the sum over the phase's scored children of risk x share within
        12 months x the term's (or need's) historical share; the interval is the normal
        approximation of that sum of independent chances (the shares' own uncertainty is
        not included). EHC requests: the mean yearly count, with a Poisson interval.
        A figure on fewer than 10 children, or a count of 1 to 9 behind a history, is
        hidden (None).
    """
    from ..batch import ScoringResult, read_run

    run = run if isinstance(run, ScoringResult) else read_run(run)
    as_of = pd.Timestamp(run.metadata["as_of"])
    hist, ev, need = _history(tables, as_of, years)
    share12 = _within_12(tables, as_of, horizon_months, share_within_12)
    rows = _new_support(run, tables, hist, share12) + _ehc_requests(ev, need, tables, as_of, years)
    out = pd.DataFrame(rows)
    exp = pd.to_numeric(out["expected"], errors="coerce")
    sd = pd.to_numeric(out["sd"], errors="coerce")
    out["expected"] = exp.round(1)
    out["low"] = (exp - _Z * sd).clip(lower=0).round(1)
    out["high"] = (exp + _Z * sd).round(1)
    cols = ["measure", "by", "phase", "group", "expected", "low", "high", "basis"]
    out = out[cols]
    out.attrs = {"as_of": as_of.date().isoformat(), "share_within_12": round(share12, 3)}
    return out
