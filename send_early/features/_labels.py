"""Label windows: did a child's qualifying SEN event fall in (as_of, as_of + horizon]?

An outcome says which ``sen_events`` count, which primary needs count (need-area
outcomes) and who is in the population it is asked of (``escalation`` asks it of
children on SEN support; the others of children not yet identified).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..schema import TABLES
from ._columnar import _as_of, _day, _Store
from ._engine import _build, _check_dates, _check_engine
from ._population import _status, _typed
from ._spec import load_pipeline
from ._split import _whole_months

logger = logging.getLogger(__name__)

__all__ = [
    "NEED_AREAS",
    "OUTCOMES",
    "Outcome",
    "build_labels",
    "make_training_frame",
    "outcome_definition",
]

_IDENTIFYING = ("sen_support", "ehc_request", "ehcp")
_REQUEST = ("ehc_request", "ehcp")  # a plan issued with no request on record implies one

#: Broad areas of need of the SEND Code of Practice (6.28-6.35) -> ``primary_need`` codes.
#: OTH (other), NSA (no specialist assessment) and DS fall in no area.
NEED_AREAS = {
    "communication_interaction": ("SLCN", "ASD"),
    "cognition_learning": ("SPLD", "MLD", "SLD", "PMLD"),
    "semh": ("SEMH",),
    "sensory_physical": ("VI", "HI", "MSI", "PD"),
}
_AREA_TEXT = {
    "communication_interaction": "communication and interaction",
    "cognition_learning": "cognition and learning",
    "semh": "social, emotional and mental health",
    "sensory_physical": "sensory and/or physical",
}


@dataclass(frozen=True)
class Outcome:
    """What a label counts, and of whom it is asked.

    Attributes
    ----------
    name : str
    events : tuple of str
        ``sen_events.event`` codes that count.
    population : {"not_identified", "sen_support"}
        Who gets a label (see :func:`population`).
    needs : tuple of str
        ``sen_events.primary_need`` codes that count; empty means any (or none recorded).
    text : str
        What a label of 1 means, as a clause for docs and model cards ("The
        probability that <text> within 24 months.").
    """

    name: str
    events: tuple[str, ...]
    population: str
    needs: tuple[str, ...]
    text: str


def _need_outcome(area: str) -> Outcome:
    return Outcome(
        f"need_{area}",
        _IDENTIFYING,
        "not_identified",
        NEED_AREAS[area],
        f"a child not yet identified at the as-of date is recorded with SEN support, an EHC "
        f"needs assessment request or an EHC plan with a primary need in {_AREA_TEXT[area]} "
        f"({', '.join(NEED_AREAS[area])})",
    )


_DEFINITIONS = {
    o.name: o
    for o in (
        Outcome(
            "any_support",
            _IDENTIFYING,
            "not_identified",
            (),
            "a child not yet identified at the as-of date is recorded with SEN support, an EHC "
            "needs assessment request or an EHC plan",
        ),
        Outcome(
            "ehc_request",
            _REQUEST,
            "not_identified",
            (),
            "a child not yet identified at the as-of date has an EHC needs assessment requested "
            "(refused requests included) or an EHC plan issued",
        ),
        Outcome(
            "escalation",
            _REQUEST,
            "sen_support",
            (),
            "a child on SEN support at the as-of date with no EHC needs assessment request yet "
            "has one requested (refused requests included) or an EHC plan issued",
        ),
        *(_need_outcome(a) for a in NEED_AREAS),
    )
}
#: Outcome name -> the ``sen_events`` that count as the event (see :class:`Outcome`).
OUTCOMES = {k: o.events for k, o in _DEFINITIONS.items()}
#: Deprecated outcome names -> their current names.
_ALIASES = {"ehcp": "ehc_request"}
_DAYS_PER_MONTH = 365.25 / 12


def outcome_definition(name: str) -> Outcome:
    """The :class:`Outcome` called ``name``.

    ``"ehcp"`` is a deprecated name of ``"ehc_request"`` (it never required a plan):
    it still works, with a ``FutureWarning``.

    Examples
    --------
    >>> from send_early.features import outcome_definition
    >>> o = outcome_definition("escalation")
    >>> o.events, o.population
    (('ehc_request', 'ehcp'), 'sen_support')
    >>> outcome_definition("need_semh").needs
    ('SEMH',)
    """
    if name in _ALIASES:
        warnings.warn(
            f"outcome {name!r} is deprecated and will be removed: it counts EHC needs "
            f"assessment requests, not plans. Use {_ALIASES[name]!r}.",
            FutureWarning,
            stacklevel=2,
        )
        name = _ALIASES[name]
    if not isinstance(name, str) or name not in _DEFINITIONS:
        raise ValueError(f"outcome must be one of {', '.join(_DEFINITIONS)}; found {name!r}.")
    return _DEFINITIONS[name]


def _check_args(horizon_months, outcome) -> Outcome:
    if not _whole_months(horizon_months):
        raise ValueError(
            f"horizon_months must be a positive whole number of months; found {horizon_months!r}."
        )
    return outcome_definition(outcome)


def _labels(
    store: _Store, as_of: pd.Timestamp, horizon_months: int, outcome: Outcome, status: np.ndarray
):
    if "sen_events" not in store.tables:
        raise ValueError(
            "labels need the sen_events table; the tables given have none. Add sen_events.csv/.parquet."
        )
    day = _day(as_of)
    end_ts = as_of + pd.DateOffset(months=horizon_months)
    end = _day(end_ts)
    pop = np.flatnonzero(status == 0)
    _, pos, days = store.sorted("sen_events")
    ev = store.column("sen_events", "event")
    codes = [TABLES["sen_events"].column("event").codes.index(c) for c in outcome.events]
    hit = np.isin(ev, codes) & (days > day) & (days <= end) & (pos >= 0)
    unrecorded = np.zeros(store.n, bool)
    if outcome.needs:  # identified in the window with no primary need on any record: counted
        need = store.column("sen_events", "primary_need")
        unrecorded[pos[hit]] = True
        unrecorded[pos[hit & ~np.isnan(need)]] = False
        need_codes = TABLES["sen_events"].column("primary_need").codes
        hit = hit & np.isin(need, [need_codes.index(c) for c in outcome.needs])
    first = np.full(store.n, np.iinfo(np.int64).max)
    np.minimum.at(first, pos[hit], days[hit])
    first = first[pop]
    has = first != np.iinfo(np.int64).max
    moved = (store.moved_out[pop] < end) & ~has
    ids = pd.Index(store.ids[pop], name="child_id")
    return _label_frame(
        ids,
        has,
        first,
        day,
        moved,
        unrecorded[pop] if outcome.needs else None,
        as_of=as_of,
        end_ts=end_ts,
        horizon_months=horizon_months,
        outcome=outcome,
        extract=store.tables.extract_date,
    )


def _label_frame(
    ids, has, first, day, moved, unrecorded, *, as_of, end_ts, horizon_months, outcome, extract
):
    """(labels frame, summary) for the population, either engine: ``has`` an event in the
    window, ``first`` its day, ``moved`` moved out before the window ends, ``unrecorded``
    identified in the window with no need recorded (``None`` unless the outcome has needs)."""
    past_extract = end_ts > extract
    if past_extract:  # every child censored
        moved = np.zeros(len(has), bool)
    cens_extract = np.full(len(has), past_extract)
    keep = ~(moved | cens_extract)
    ev_date = np.where(has, first, 0).astype("datetime64[D]").astype("datetime64[s]")
    ev_date = np.where(has, ev_date, np.datetime64("NaT", "s"))
    out = pd.DataFrame(
        {
            "label": pd.array(has.astype(np.int8), dtype="Int8"),
            "event_date": ev_date,
            "months_to_event": np.where(has, (first - day) / _DAYS_PER_MONTH, np.nan),
        },
        index=ids,
    )[keep]
    summary = {
        "as_of": as_of.date().isoformat(),
        "horizon_months": int(horizon_months),
        "window_end": end_ts.date().isoformat(),
        "outcome": outcome.name,
        "population_kind": outcome.population,
        "n_population": int(len(has)),
        "n_labelled": int(keep.sum()),
        "n_positive": int(has[keep].sum()),
        "n_censored_moved_out": int(moved.sum()),
        "n_censored_extract": int(cens_extract.sum()),
    }
    if outcome.needs:
        summary["n_need_unrecorded"] = int((unrecorded & ~has & keep).sum())
    if past_extract:
        logger.warning(
            "label window %s to %s runs past the extract date %s: every child is censored",
            as_of.date(),
            end_ts.date(),
            extract.date(),
        )
    return out, summary


def build_labels(
    tables,
    as_of,
    horizon_months: int = 24,
    outcome: str = "any_support",
    pipeline="default",
    *,
    check: bool = True,
    engine: str = "memory",
) -> pd.DataFrame:
    """Outcome labels for the population at ``as_of``.

    A child is labelled 1 if their first qualifying ``sen_events`` record falls
    in ``(as_of, as_of + horizon_months]``, else 0. Only children in the
    outcome's population at ``as_of`` get a label (see :func:`population`:
    children not yet identified, or for ``escalation`` children on SEN support
    with no EHC request yet). A child is *censored* (no label, only
    counted) if they moved out before the window ends without an event, or if
    the window runs past the extract date (then every child is censored:
    keeping only the events seen so far would bias the labels).

    Parameters
    ----------
    tables : Tables, mapping of str to DataFrame, folder, Ibis connection or SparkSession
        Contract tables including ``sen_events``. With ``engine="duckdb"`` or
        ``"spark"`` also a folder of contract Parquet/CSV files (read in place, not
        validated); with ``engine="ibis"`` an Ibis connection holding the contract
        tables (PostgreSQL, DuckDB, ...); with ``engine="spark"`` also a SparkSession
        or an Ibis PySpark connection whose catalog holds them.
    as_of : date-like
        The as-of date.
    horizon_months : int, default 24
        Length of the label window in calendar months.
    outcome : str, default "any_support"
        A key of :data:`OUTCOMES` (see :class:`Outcome` and ``docs/models.md``):
        ``any_support`` counts sen_support, ehc_request and ehcp events;
        ``ehc_request`` only ehc_request and ehcp; ``escalation`` the same of
        children on SEN support; ``need_<area>`` (an area of :data:`NEED_AREAS`)
        any of the three with a primary need in that area. ``"ehcp"`` is a
        deprecated name of ``ehc_request`` (``FutureWarning``).
    pipeline : str, path-like or PipelineSpec, default "default"
        Gives the population age range.
    check : bool, default True
        Validate the tables first (see :func:`build_features`).
    engine : {"memory", "duckdb", "spark", "ibis"}, default "memory"
        ``"memory"`` computes in numpy. The others compile the label window to Ibis
        expressions with the same result (see ``docs/engines.md``): ``"duckdb"``
        runs them on an embedded DuckDB (``pip install "send_early[duckdb]"``),
        ``"spark"`` on Spark (``pip install "send_early[spark]"`` and Java 17+;
        the active session, else a local one), ``"ibis"`` on the backend of the
        Ibis connection given as ``tables``.

    Returns
    -------
    DataFrame
        Indexed by ``child_id``: ``label`` (Int8 0/1), ``event_date`` (first
        qualifying event in the window or NaT) and ``months_to_event`` (float,
        days / 30.44). ``.attrs["summary"]`` counts the population, labelled,
        positive and censored children (``n_censored_moved_out``,
        ``n_censored_extract``); for need-area outcomes ``n_need_unrecorded``
        counts children labelled 0 who were identified with no primary need recorded.

    Examples
    --------
    >>> import pandas as pd
    >>> from send_early.features import build_labels
    >>> from send_early.schema import Tables
    >>> children = pd.DataFrame({"child_id": ["a", "b", "c"], "birth_date": ["2018-01-10"] * 3,
    ...     "sex": ["F", "M", "F"], "ethnicity": [None] * 3, "imd_decile": [3, 4, 5],
    ...     "gestation_weeks": [39] * 3, "birth_weight_g": [3300] * 3,
    ...     "moved_out_date": [None, None, "2022-03-01"]})
    >>> events = pd.DataFrame({"child_id": ["a"], "event_date": ["2022-05-01"],
    ...     "event": ["sen_support"], "primary_need": ["SLCN"]})
    >>> t = Tables({"children": children, "sen_events": events}, extract_date="2025-08-31")
    >>> y = build_labels(t, "2021-09-01", horizon_months=24)
    >>> y["label"].tolist(), y.attrs["summary"]["n_censored_moved_out"]
    ([1, 0], 1)
    """
    return _on_engine(
        _labels_memory,
        "build_labels_ibis",
        tables,
        as_of,
        horizon_months,
        outcome,
        pipeline,
        engine=engine,
        check=check,
    )


def _on_engine(
    memory, ibis_name, tables, when, horizon_months, outcome, pipeline, *, engine, check
):
    """``memory(typed tables, when, horizon_months, outcome, spec)`` on the memory engine, else
    ``._ibis_labels.<ibis_name>`` with the same arguments on the Ibis engine (docs/engines.md):
    the dispatch of :func:`build_labels` and :func:`make_training_frame`."""
    definition = _check_args(horizon_months, outcome)
    spec = load_pipeline(pipeline)
    if engine == "memory":
        return memory(_typed(tables, check), when, horizon_months, definition, spec)
    _check_engine(engine)
    from . import _ibis_labels  # Ibis is optional, and _ibis_labels imports this module

    on_ibis = getattr(_ibis_labels, ibis_name)
    return on_ibis(tables, when, horizon_months, definition, spec, engine=engine, check=check)


def _labels_memory(tables, as_of, horizon_months: int, outcome: Outcome, spec) -> pd.DataFrame:
    as_of = _as_of(as_of, tables)
    store = _Store(tables)
    status, _ = _status(store, as_of, spec, outcome.population)
    out, summary = _labels(store, as_of, horizon_months, outcome, status)
    out.attrs = {"summary": summary}
    return out


def make_training_frame(
    tables,
    as_of_dates: Sequence,
    horizon_months: int = 24,
    pipeline="default",
    outcome: str = "any_support",
    *,
    check: bool = True,
    engine: str = "memory",
) -> pd.DataFrame:
    """Stacked feature snapshots with labels, one row per child per as-of date.

    Parameters
    ----------
    tables : Tables, mapping of str to DataFrame, folder, Ibis connection or SparkSession
        Contract tables including ``sen_events``, in any form :func:`build_labels`
        takes for ``engine``.
    as_of_dates : sequence of date-like
        Snapshot dates (deduplicated and sorted).
    horizon_months : int, default 24
    pipeline : str, path-like or PipelineSpec, default "default"
    outcome : str, default "any_support"
        As in :func:`build_labels`; it also decides whose features are built.
    check : bool, default True
        Validate the tables once first (see :func:`build_features`).
    engine : {"memory", "duckdb", "spark", "ibis"}, default "memory"
        As in :func:`build_labels`: both the features and the labels of each
        snapshot are computed on it.

    Returns
    -------
    DataFrame
        A MultiIndex ``(as_of, child_id)`` (``as_of`` as ``datetime64[s]``), the
        feature columns of :func:`build_features`, then ``label``,
        ``event_date`` and ``months_to_event``. Censored children are left out;
        ``.attrs["snapshots"]`` lists, per as-of date, the population counts and
        label summary.

    Examples
    --------
    >>> import pandas as pd
    >>> from send_early.features import make_training_frame
    >>> from send_early.schema import Tables
    >>> children = pd.DataFrame({"child_id": ["a", "b"], "birth_date": ["2017-01-10", "2018-02-01"],
    ...     "sex": ["F", "M"], "ethnicity": [None, None], "imd_decile": [3, 4],
    ...     "gestation_weeks": [39, 38], "birth_weight_g": [3300, 3000], "moved_out_date": [None, None]})
    >>> events = pd.DataFrame({"child_id": ["a"], "event_date": ["2022-05-01"],
    ...     "event": ["sen_support"], "primary_need": [None]})
    >>> t = Tables({"children": children, "sen_events": events}, extract_date="2025-08-31")
    >>> frame = make_training_frame(t, ["2020-09-01", "2021-09-01"], horizon_months=12)
    >>> frame["label"].groupby(level="as_of").sum().tolist()
    [0, 1]
    """
    return _on_engine(
        _training_frame_memory,
        "make_training_frame_ibis",
        tables,
        as_of_dates,
        horizon_months,
        outcome,
        pipeline,
        engine=engine,
        check=check,
    )


def _training_frame_memory(tables, as_of_dates, horizon_months: int, outcome: Outcome, spec):
    dates = _check_dates(as_of_dates, tables)
    store = _Store(tables)

    def snapshot(d):
        status, age = _status(store, d, spec, outcome.population)
        X = _build(store, d, spec, (status, age))
        y, summary = _labels(store, d, horizon_months, outcome, status)
        return d, X, y, summary

    return _stack(map(snapshot, dates), spec, horizon_months, outcome)


def _stack(snapshots, spec, horizon_months: int, outcome: Outcome) -> pd.DataFrame:
    """The training frame, either engine: each ``(as_of, X, y, summary)`` snapshot's features
    joined to its labels, stacked on an ``(as_of, child_id)`` index, with the attrs."""
    parts, snaps = [], []
    for as_of, X, y, summary in snapshots:  # one per as-of date (a handful), never per child
        part = X.loc[y.index].join(y)
        part.index = pd.MultiIndex.from_arrays(
            [np.full(len(part), np.datetime64(as_of.date(), "s")), part.index],
            names=["as_of", "child_id"],
        )
        parts.append(part)
        snaps.append({"population": X.attrs["population"], **summary})
    frame = pd.concat(parts)
    frame.attrs = {
        "pipeline": spec.name,
        "pipeline_version": spec.version,
        "horizon_months": int(horizon_months),
        "outcome": outcome.name,
        "population_kind": outcome.population,
        "protected": spec.protected,
        "snapshots": snaps,
    }
    return frame
