"""Monitoring across terms: the scoring runs on record, read side by side.

Aggregates only (no child ids), each through :mod:`send_early.privacy`: flag stability
from one run to the next, precision and recall as delayed labels arrive (later
``sen_events`` and the outcome log), calibration by term, and the drift history with an
alert only where a shift is material and not expected from the population's age mix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..privacy import count, protect, rate, show_count, statistic

logger = logging.getLogger(__name__)

#: Tables whose records a child only has from some age (reviews at 2, school from 4 or 5):
#: their features shift when the age mix of the children scored shifts.
AGE_LINKED_TABLES = frozenset(
    {"health_reviews", "census", "attendance", "exclusions", "assessments"}
)
_DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class MonitorReport:
    """The monitoring report in memory; see :func:`monitor_report`.

    Every table is a list of JSON-ready records already under the disclosure rule.
    """

    name: str
    runs: list[dict]
    stability: list[dict]
    labels: list[dict]
    calibration: list[dict]
    drift: list[dict]
    outcomes: list[dict]
    notes: list[str] = field(default_factory=list)
    forecast: list[dict] = field(default_factory=list)

    @property
    def alerts(self) -> list[dict]:
        """Drift rows that are alerts (material and not expected)."""
        return [r for r in self.drift if r["verdict"] == "alert"]

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "runs": self.runs,
            "stability": self.stability,
            "labels": self.labels,
            "calibration": self.calibration,
            "drift": self.drift,
            "alerts": self.alerts,
            "outcomes": self.outcomes,
            "forecast": self.forecast,
            "notes": self.notes,
        }

    def to_json(self) -> str:
        import json

        return json.dumps(self.to_dict(), indent=2, default=_json_default) + "\n"

    def html(self) -> str:
        from ._render import render_monitor

        return render_monitor(self)

    def write(self, out) -> list:
        """Write ``monitor.html`` and ``monitor.json`` into the folder ``out`` (atomically)."""
        from pathlib import Path

        from ..schema import atomic_write

        out = Path(out)
        return [
            atomic_write(out / n, lambda p, t=t: p.write_text(t, encoding="utf-8"))
            for n, t in (("monitor.html", self.html()), ("monitor.json", self.to_json()))
        ]


def _json_default(v):
    if isinstance(v, np.integer | np.floating):
        return v.item()
    return str(v)


def _clean(v):
    if isinstance(v, float | np.floating) and not np.isfinite(v):
        return None
    return v.item() if isinstance(v, np.generic) else v


def _records(rows: list[dict]) -> list[dict]:
    return [{k: _clean(v) for k, v in r.items()} for r in rows]


# ----------------------------------------------------------------------------- runs
def _load_runs(runs, name: str | None) -> list:
    """Published runs (manifests or scores paths), of model ``name``, in as-of order."""
    from ..batch import ScoringResult, read_run

    loaded = [r if isinstance(r, ScoringResult) else read_run(r) for r in runs]
    if name is not None:
        loaded = [r for r in loaded if _model_matches(r.metadata.get("model") or {}, name)]
    if not loaded:
        raise ValueError(
            f"monitoring needs at least one published scoring run"
            f"{f' of model {name!r}' if name else ''}; none was found among the "
            f"{len(list(runs))} given. Pass the runs' manifests (<out>_run.json) or scores files."
        )
    loaded.sort(key=lambda r: (r.metadata.get("as_of", ""), r.metadata.get("finished_at", "")))
    return loaded


def _model_matches(model: dict, name: str) -> bool:
    uri = str(model.get("uri") or "")
    registered = uri[len("models:/") :].split("/")[0].split("@")[0] if uri else ""
    return name in {model.get("name"), registered}


def _run_label(run) -> str:
    m = run.metadata.get("model") or {}
    return f"{run.metadata.get('as_of')} (v{m.get('version') or '?'})"


def _run_rows(runs) -> list[dict]:
    rows = []
    for r in runs:
        c, m = r.counts, r.metadata.get("model") or {}
        rows.append(
            {
                "run": _run_label(r),
                "as_of": r.metadata.get("as_of"),
                "model_version": m.get("version"),
                "approved": m.get("approved"),
                "scored": show_count(c.get("scored")),
                "flagged": show_count(c.get("flagged")),
                "rejected": show_count(c.get("rejected")),
                "warnings": len(r.metadata.get("warnings") or []),
            }
        )
    return rows


# ------------------------------------------------------------------------- stability
def _stability(runs) -> list[dict]:
    """From each run to the next: last term's flags kept, dropped, gone; new flags."""
    rows = []
    for prev, cur in zip(runs, runs[1:], strict=False):
        p, c = prev.scores, cur.scores
        pf = pd.Index(p.loc[p["flagged"].astype(bool), "child_id"].astype(str))
        cs = pd.Index(c["child_id"].astype(str))
        cf = pd.Index(c.loc[c["flagged"].astype(bool), "child_id"].astype(str))
        still = pf.intersection(cs)
        rows.append(
            {
                "from": _run_label(prev),
                "to": _run_label(cur),
                "kept": len(still.intersection(cf)),
                "dropped": len(still.difference(cf)),
                "gone": len(pf.difference(cs)),
                "new": len(cf.difference(pf)),
            }
        )
    for r in rows:
        r["kept_share"] = (
            r["kept"] / (r["kept"] + r["dropped"]) if r["kept"] + r["dropped"] else np.nan
        )
    cells = ["kept", "dropped", "gone", "new"]
    figures = {c: count(c) for c in cells} | {"kept_share": rate("kept", ["kept", "dropped"])}
    return _records(protect(rows, cells=cells, figures=figures))


# ------------------------------------------------------------------- delayed labels
def _first_events(tables, codes) -> pd.DataFrame:
    ev = tables["sen_events"]
    ev = ev[ev["event"].astype(str).isin(list(codes))]
    return pd.DataFrame(
        {
            "child_id": ev["child_id"].astype(str).to_numpy(),
            "date": pd.to_datetime(ev["event_date"]),
        }
    )


def _identified(run, events: pd.DataFrame | None, outcomes: pd.DataFrame | None, end, horizon):
    """Per scored child: identified in (as_of, min(as_of + horizon, end)]?"""
    as_of = pd.Timestamp(run.metadata["as_of"])
    stop = min(as_of + pd.DateOffset(months=horizon), end)
    sources = []
    if events is not None:
        sources.append(events)
    if outcomes is not None and len(outcomes):
        started = outcomes[outcomes["outcome"] == "sen_support_started"]
        sources.append(
            pd.DataFrame(
                {
                    "child_id": started["child_id"].astype(str),
                    "date": pd.to_datetime(started["outcome_date"]),
                }
            )
        )
    ids = run.scores["child_id"].astype(str)
    if not sources:
        return np.zeros(len(ids), bool), stop
    allev = pd.concat(sources, ignore_index=True)
    hit = allev[(allev["date"] > as_of) & (allev["date"] <= stop)]
    return ids.isin(hit["child_id"]).to_numpy(), stop


def _label_rows(runs, tables, outcomes, horizon: int) -> tuple[list[dict], list[dict]]:
    from ..features import OUTCOMES

    events = _first_events(tables, OUTCOMES["any_support"]) if tables is not None else None
    if tables is not None:
        end = pd.Timestamp(tables.extract_date)
    elif outcomes is not None and len(outcomes):
        end = pd.to_datetime(outcomes["outcome_date"]).max()
    else:
        return [], []
    labels, calib = [], []
    for run in runs:
        y, stop = _identified(run, events, outcomes, end, horizon)
        flag = run.scores["flagged"].astype(bool).to_numpy()
        risk = run.scores["risk"].to_numpy(float)
        as_of = pd.Timestamp(run.metadata["as_of"])
        elapsed = max(0.0, (stop - as_of).days / _DAYS_PER_MONTH)
        row = {
            "run": _run_label(run),
            "labels_until": stop.date().isoformat(),
            "months_elapsed": round(elapsed, 1),
            "complete": bool(elapsed >= horizon - 0.5),
            "tp": int((flag & y).sum()),
            "fp": int((flag & ~y).sum()),
            "fn": int((~flag & y).sum()),
            "tn": int((~flag & ~y).sum()),
        }
        labels.append(row)
        calib += _calibration_rows(_run_label(run), risk, y, row["complete"])
    labels = _protect_labels(labels, recall=tables is not None)
    return labels, calib


def _protect_labels(rows: list[dict], *, recall: bool) -> list[dict]:
    for r in rows:
        r["flagged_identified"] = r["tp"]
        r["precision"] = r["tp"] / (r["tp"] + r["fp"]) if r["tp"] + r["fp"] else np.nan
        if recall:  # who was identified among children not flagged is known from sen_events only
            r["identified"] = r["tp"] + r["fn"]
            r["recall"] = r["tp"] / (r["tp"] + r["fn"]) if r["tp"] + r["fn"] else np.nan
    figures = {
        "flagged_identified": count("tp"),
        "precision": rate("tp", ["tp", "fp"]),
    }
    if recall:
        figures |= {"identified": count("tp", "fn"), "recall": rate("tp", ["tp", "fn"])}
    out = protect(rows, cells=["tp", "fp", "fn", "tn"], figures=figures)
    return _records(out)


def _calibration_rows(run: str, risk: np.ndarray, y: np.ndarray, complete: bool) -> list[dict]:
    """Predicted against observed so far by fifth of risk (bands cut on this run's scores)."""
    if len(risk) == 0:
        return []
    edges = np.unique(np.quantile(risk, [0.2, 0.4, 0.6, 0.8]))
    band = np.searchsorted(edges, risk, side="right")
    rows = []
    for b in range(len(edges) + 1):  # five bands at most
        m = band == b
        if not m.any():
            continue
        rows.append(
            {
                "run": run,
                "band": f"{b + 1} of {len(edges) + 1}",
                "children": int(m.sum()),
                "mean_risk": float(risk[m].mean()),
                "observed_so_far": float(y[m].mean()),
                "complete": complete,
                "events": int(y[m].sum()),
                "others": int((~y[m]).sum()),
            }
        )
    figures = {
        "children": count("events", "others"),
        "mean_risk": statistic(["events", "others"]),
        "observed_so_far": rate("events", ["events", "others"]),
    }
    return _records(protect(rows, cells=["events", "others"], figures=figures, totals=True))


# ---------------------------------------------------------------------------- drift
def _age_linked(pipeline) -> set[str]:
    """Features (and their missing indicators) that come from age-linked tables, or age."""
    from ..features import load_pipeline

    spec = load_pipeline(pipeline)
    feats = {f.name: f for f in spec.features}

    def table(f, depth=0):
        if f.table or depth > 5:
            return f.table
        src = [s for s in (f.source, *f.sources) if s in feats]
        return next((t for t in (table(feats[s], depth + 1) for s in src) if t), None)

    names = {n for n, f in feats.items() if table(f) in AGE_LINKED_TABLES}
    names |= {"age_months"}
    return names | {f"{n}_missing" for n in names}


def _pass_fail_standings(pipeline) -> set[str]:
    """Standings (z-scores within school year and birth month) of a pass/fail result.

    Such a standing takes two values in each group, set by that group's pass rate, so the
    reference's decile cells split values that belong to particular years: scored on other
    years (a later cohort, or after the EYFSP reform of September 2021 moved the rates) its
    children fall into other cells with no change in standing. Whether the results are
    recorded at all is the status feature's drift (``eyfsp_gld_status``), alerted as usual.
    """
    from ..features import load_pipeline

    spec = load_pipeline(pipeline)

    def source(f):
        return f.table, f.column, tuple(sorted(f.filter.items()))

    # a result is pass/fail where the pipeline reads the same records as a flag (dtype "flag")
    flags = {source(f) for f in spec.features if f.dtype == "flag"}
    return {f.name for f in spec.features if f.aggregation == "standing" and source(f) in flags}


def _drift_rows(
    runs, expected: set[str], known: set[str] = frozenset(), standings: set[str] = frozenset()
) -> list[dict]:
    from ..batch import PSI_ALERT

    rows = []
    for run in runs:
        drift = run.metadata.get("drift") or []
        age_moved = any(d.get("name") == "age_months" for d in drift)
        for d in drift:
            name, psi = d.get("name"), d.get("psi")
            material = psi is not None and psi > PSI_ALERT
            if not material:
                verdict = "watch"
            elif name == "age_months":
                verdict = "expected: the age mix moves with the scoring date"
            elif age_moved and (name in expected or name == "(score)"):
                verdict = "expected: follows the age mix"
            elif name in standings:
                verdict = (
                    "expected: a pass/fail result's standing takes new values in each year "
                    "scored; whether results are recorded is checked on its status"
                )
            elif name in known:
                verdict = "known: a shift a person has recorded as understood"
            else:
                verdict = "alert"
            rows.append({"run": _run_label(run), "name": name, "psi": psi, "verdict": verdict})
    return _records(rows)


def monitor_report(
    runs,
    *,
    name: str | None = None,
    tables=None,
    outcomes: pd.DataFrame | None = None,
    horizon_months: int = 24,
    pipeline="default",
    expected=None,
    forecast: bool = True,
    known=(),
) -> MonitorReport:
    """The monitoring report over the scoring runs on record.

    Parameters
    ----------
    runs : sequence of path-like or ScoringResult
        Published runs (:func:`send_early.batch.read_run` reads each: manifests
        ``<out>_run.json`` or the scores files).
    name : str, optional
        Keep the runs of this model only (its registered name or model name).
    tables : Tables or path-like, optional
        A later extract: its ``sen_events`` give the labels that arrived since each run
        (precision, recall and calibration so far).
    outcomes : DataFrame, optional
        The outcome log (:func:`send_early.outcomes.read_outcomes`): an outcome
        ``sen_support_started`` counts as identified. Alone (without ``tables``) it gives
        precision only: who was identified among children not flagged is unknown.
    horizon_months : int, default 24
        The label window of the model.
    pipeline : str or PipelineSpec, default "default"
        Tells which features come from age-linked tables (see :data:`AGE_LINKED_TABLES`).
    expected : collection of str, optional
        Features whose shift is expected when the age mix moves (default: from
        ``pipeline``).
    known : collection of str, optional
        Features whose material shift a person has looked into and recorded as understood
        (a change in how a record is kept, a reform): shown as "known", not alerted.
    forecast : bool, default True
        With ``tables``, add next year's forecast from the latest run
        (:func:`send_early.monitor.forecast`).

    Returns
    -------
    MonitorReport
    """
    runs = _load_runs(list(runs), name)
    if tables is not None and not hasattr(tables, "extract_date"):
        from ..schema import read_tables

        tables = read_tables(tables)
    expected = set(expected) if expected is not None else _age_linked(pipeline)
    labels, calibration = _label_rows(runs, tables, outcomes, horizon_months)
    summary = []
    if outcomes is not None and len(outcomes):
        from ..outcomes import outcome_summary

        summary = _records(outcome_summary(outcomes).to_dict(orient="records"))
    notes = [
        "Counts of 1 to 9 read <10, and a figure that would give one away is hidden "
        "(send_early.privacy).",
        f"Labels arrive late: a run's precision and recall are final only when "
        f"{horizon_months} months of records after it are in (complete = yes).",
        "Drift: PSI above 0.25 is material. A material shift of age, or of a feature from an "
        "age-linked table in a run where age moved, is expected and not an alert; so is the "
        "shift of a pass/fail result's standing (it takes new values in each year scored).",
    ]
    predicted = []
    if tables is not None and forecast:
        predicted, note = _forecast_rows(runs[-1], tables, horizon_months)
        notes.append(note)
    if outcomes is not None and tables is None:
        notes.append(
            "Without a later extract, recall is not shown: only flagged children have outcomes."
        )
    return MonitorReport(
        name=name or str((runs[-1].metadata.get("model") or {}).get("name")),
        runs=_run_rows(runs),
        stability=_stability(runs),
        labels=labels,
        calibration=calibration,
        drift=_drift_rows(runs, expected, set(known), _pass_fail_standings(pipeline)),
        outcomes=summary,
        notes=notes,
        forecast=predicted,
    )


def _forecast_rows(run, tables, horizon_months: int) -> tuple[list[dict], str]:
    from ._forecast import forecast

    f = forecast(run, tables, horizon_months=horizon_months)
    rows = f.to_dict(orient="records")
    for r in rows:
        ok = not (pd.isna(r["low"]) or pd.isna(r["high"]))
        r["interval"] = f"{r['low']:.0f} to {r['high']:.0f}" if ok else None
    note = (
        f"Forecast: the 12 months after {f.attrs['as_of']}. New SEN support = the risk of each "
        f"child scored, times the share of identifications within 12 months of the horizon's "
        f"({f.attrs['share_within_12']:.0%} in the latest complete window), split by the "
        "terms and needs of the last three years' identifications. EHC needs assessment "
        "requests = the mean of the last three years (most come from children already "
        "identified, who are not scored). Intervals are approximate 95% intervals."
    )
    return _records(rows), note
