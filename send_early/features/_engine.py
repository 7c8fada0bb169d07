"""The as-of feature engine: vectorised execution of a pipeline spec.

Every table is sorted once by (child, date) into flat numpy arrays (a
:class:`_Store`); a snapshot at an as-of date keeps the rows dated on or before
it for children in the population, and each aggregation is a ``bincount`` or a
``reduceat`` over runs of one child. No Python loop runs over children.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..exceptions import SpecError
from ..schema import TABLES, Tables
from ._columnar import (
    _as_of,
    _day,
    _run_ends,
    _run_starts,
    _Snapshot,
    _Store,
)
from ._population import (
    _STATUS_DTYPE,
    STATUSES,
    _status,
    _typed,
    population,
)
from ._spec import _OPS, FeatureSpec, PipelineSpec, load_pipeline
from ._special import below_cutoff, months_known, moves, standing

logger = logging.getLogger(__name__)

__all__ = ["build_features", "population", "STATUSES"]


_SPECIAL = {"below_cutoff": below_cutoff, "standing": standing, "moves": moves}

#: ``engine=`` of build_features, build_labels and make_training_frame (docs/engines.md)
ENGINES = ("memory", "duckdb", "spark", "ibis")


def _check_engine(engine) -> None:
    if engine not in ENGINES:
        raise ValueError(
            f"engine must be one of {', '.join(map(repr, ENGINES))}; found {engine!r}."
        )


def _reduce(fn, p: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    if len(p):
        s = _run_starts(p)
        out[p[s]] = fn.reduceat(v, s)
    return out


def _feature_rows(snap: _Snapshot, f: FeatureSpec) -> np.ndarray:
    """Sorted-table positions of the rows feeding ``f`` (as-of, filter, window)."""
    store = snap.store
    idx = snap.idx(f.table)
    if len(idx) == 0:
        return idx
    m = np.ones(len(idx), bool)
    for col, vals in f.filter.items():
        v = store.column(f.table, col)[idx]
        cdef = TABLES[f.table].column(col)
        if cdef.codes:
            wanted = [cdef.codes.index(x) for x in vals]
            m = m & np.isin(v, wanted)
        else:  # pragma: no cover - specs filter on code columns
            raise NotImplementedError("filters on non-code columns are not supported")
    if f.aggregation == "open_at":
        end = store.column(f.table, f.end_column)[idx]
        m = m & (np.isnan(end) | (end > snap.day))
    w = f.window
    days = store.sorted(f.table)[2][idx]
    if w.unit == "days":
        m = m & (days > snap.day - w.n)
    elif w.unit == "months":
        start = snap.as_of - pd.DateOffset(months=w.n)
        m = m & (days > _day(start))
    idx = idx[m]
    if w.unit == "terms" and len(idx):
        p = store.sorted(f.table)[1][idx]
        starts = _run_starts(p)
        run = np.cumsum(np.r_[True, p[1:] != p[:-1]]) - 1
        ends = np.r_[starts[1:], len(p)] - 1
        rank_from_end = ends[run] - np.arange(len(p))
        idx = idx[rank_from_end < w.n]
    return idx


def _rate_parts(store: _Store, f: FeatureSpec, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    num = np.zeros(len(idx))
    for c in f.column:
        num = num + np.nan_to_num(store.column(f.table, c)[idx])
    den = np.nan_to_num(store.column(f.table, f.denominator)[idx])
    return num, den


def _aggregate(snap: _Snapshot, f: FeatureSpec) -> np.ndarray:
    """Raw values for every child (length n, NaN where the child has no rows)."""
    store, n, agg = snap.store, snap.store.n, f.aggregation
    idx = _feature_rows(snap, f)
    if agg in _SPECIAL:
        return _SPECIAL[agg](snap, f, idx)
    p = store.sorted(f.table)[1][idx]
    if agg == "absent":
        return (np.bincount(p, minlength=n) == 0).astype(np.float64)
    cnt = np.bincount(p, minlength=n).astype(np.float64)
    none = cnt == 0
    if agg == "count":
        out = cnt
    elif agg in ("any", "open_at"):
        if f.column:
            v = store.column(f.table, f.column[0])[idx]
            out = (np.bincount(p, weights=(v == 1).astype(np.float64), minlength=n) > 0).astype(
                np.float64
            )
        else:
            out = (cnt > 0).astype(np.float64)
    elif agg == "days_since":
        d = store.sorted(f.table)[2][idx].astype(np.float64)
        out = snap.day - _reduce(np.fmax, p, d, n)
    elif agg == "distinct":
        v = store.column(f.table, f.column[0])[idx]
        ok = ~np.isnan(v)
        key = np.unique(p[ok] * (np.int64(1) << 32) + v[ok].astype(np.int64))
        out = np.maximum(np.bincount(key >> 32, minlength=n) + f.offset, 0).astype(np.float64)
    elif agg in ("rate", "trend"):
        num, den = _rate_parts(store, f, idx)
        if agg == "rate":
            sn = np.bincount(p, weights=num, minlength=n)
            sd = np.bincount(p, weights=den, minlength=n)
            with np.errstate(invalid="ignore", divide="ignore"):
                out = np.where(sd > 0, sn / sd, np.nan)
            if f.complement:
                out = 1.0 - out
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                r = np.where(den > 0, num / den, np.nan)
            if f.complement:
                r = 1.0 - r
            ok = ~np.isnan(r)
            p2, r2 = p[ok], r[ok]
            c2 = np.bincount(p2, minlength=n)
            s2 = np.bincount(p2, weights=r2, minlength=n)
            last = np.full(n, np.nan)
            e = _run_ends(p2)
            last[p2[e]] = r2[e]
            with np.errstate(invalid="ignore", divide="ignore"):
                out = np.where(c2 >= 2, last - (s2 - last) / np.maximum(c2 - 1, 1), np.nan)
            none = c2 < 2
    else:  # latest, sum, min, max, mean: use known values only
        v = store.column(f.table, f.column[0])[idx] if len(f.column) == 1 else None
        if agg == "sum":
            v = (
                sum(np.nan_to_num(store.column(f.table, c)[idx]) for c in f.column)
                if len(f.column) > 1
                else v
            )
            ok = ~np.isnan(v)
            out = np.bincount(p[ok], weights=v[ok], minlength=n)
        else:
            ok = ~np.isnan(v)
            p2, v2 = p[ok], v[ok]
            if agg == "latest":
                out = np.full(n, np.nan)
                if f.prefer:
                    pref = np.ones(len(idx), bool)
                    for col, vals in f.prefer.items():
                        cdef = TABLES[f.table].column(col)
                        pv = store.column(f.table, col)[idx]
                        pref = pref & np.isin(pv, [cdef.codes.index(x) for x in vals])
                    pref = pref[ok]
                    e = _run_ends(p2[~pref])  # fallback first, preferred overwrites
                    out[p2[~pref][e]] = v2[~pref][e]
                    e = _run_ends(p2[pref])
                    out[p2[pref][e]] = v2[pref][e]
                else:
                    e = _run_ends(p2)
                    out[p2[e]] = v2[e]
            elif agg == "min":
                out = _reduce(np.fmin, p2, v2, n)
            elif agg == "max":
                out = _reduce(np.fmax, p2, v2, n)
            elif agg == "mean":
                c2 = np.bincount(p2, minlength=n)
                with np.errstate(invalid="ignore", divide="ignore"):
                    out = np.bincount(p2, weights=v2, minlength=n) / c2
            else:  # pragma: no cover - validated in the spec
                raise ValueError(f"unknown aggregation {agg!r}")
            none = np.isnan(out)
    out = np.asarray(out, np.float64)
    return np.where(none, np.nan, out)


def _children_feature(store: _Store, f: FeatureSpec, as_of: pd.Timestamp, age: np.ndarray):
    ch = store.tables["children"]
    if f.aggregation == "derive":
        month = pd.DatetimeIndex(store.birth.astype("datetime64[D]")).month.to_numpy()
        misy = ((month - 9) % 12 + 1).astype(np.float64)
        return {
            "age_months": age,
            "month_in_school_year": misy,
            "summer_born": (misy >= 8).astype(np.float64),
        }[f.transform]
    if not f.column:  # one row per child: counted once, present for everyone
        if f.aggregation in ("count", "any"):
            return np.ones(store.n)
        raise SpecError(
            f"feature {f.name!r}: aggregation {f.aggregation!r} on the children table needs a "
            "column; name one with column = ..."
        )
    s = ch[f.column[0]]
    if f.dtype == "category":
        return s.cat.codes.to_numpy().astype(np.float64)
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        raise SpecError(
            f"feature {f.name!r}: children.{f.column[0]} holds codes, not numbers, so "
            f'{f.aggregation!r} cannot compute a number from it; declare dtype = "category".'
        )
    v = s.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    if f.aggregation in ("latest", "min", "max", "mean", "sum"):
        return v
    if f.aggregation in ("count", "any"):
        return np.ones(store.n) if f.aggregation == "count" else (v == 1).astype(np.float64)
    raise ValueError(
        f"aggregation {f.aggregation!r} is not supported on the children table"
    )  # pragma: no cover


def _compare(v: np.ndarray, op: str, cut: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        r = _OPS[op](v, cut)
    return np.where(np.isnan(v), np.nan, r.astype(np.float64))


def _due_day(birth_days: np.ndarray, year_group: int) -> np.ndarray:
    """1 August after the school year of ``year_group`` (0 = Reception): from then on it is due."""
    b = pd.DatetimeIndex(birth_days.astype("datetime64[D]"))
    cohort = b.year.to_numpy() - (b.month.to_numpy() < 9)
    due_year = cohort + 6 + year_group
    due = (due_year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + np.timedelta64(7, "M")
    return due.astype("datetime64[D]").astype(np.int64)


def _compute(
    store: _Store, as_of: pd.Timestamp, spec: PipelineSpec, status: np.ndarray, age: np.ndarray
):
    keep = status == 0
    snap = _Snapshot(store, as_of, keep)
    values: dict[str, np.ndarray] = {}
    extra: dict[str, object] = {}
    missing_tables = sorted({f.table for f in spec.features if f.table and not store.has(f.table)})
    pop = np.flatnonzero(keep)
    for f in spec.features:
        if f.aggregation == "threshold":
            v = _compare(values[f.source], f.op, f.cutoff)
        elif f.aggregation == "any_of":
            stack = np.vstack([values[s] for s in f.sources])
            known = ~np.isnan(stack)
            hit = np.nan_to_num(stack).max(axis=0) > 0
            v = np.where(hit, 1.0, np.where(known.any(axis=0), 0.0, np.nan))
        elif f.aggregation == "months_known":
            v = months_known(store, snap.day, as_of)
        elif not store.has(f.table):
            values[f.name] = np.full(store.n, np.nan)
            if f.indicator:
                extra[f"{f.name}_missing"] = np.ones(len(pop))
            if f.missing == "not_assessed":
                extra[f"{f.name}_status"] = _status_col(
                    np.full(len(pop), np.nan), store, f, as_of, pop
                )
            continue
        elif f.table == "children":
            v = _children_feature(store, f, as_of, age)
        else:
            v = _aggregate(snap, f)
        if f.missing == "zero":
            v = np.where(np.isnan(v), 0.0, v)
        values[f.name] = v
        if f.indicator:
            extra[f"{f.name}_missing"] = np.isnan(v[pop]).astype(np.float64)
        if f.missing == "not_assessed":
            extra[f"{f.name}_status"] = _status_col(v[pop], store, f, as_of, pop)
    cols: dict[str, object] = {}
    for f in spec.features:
        v = values[f.name][pop]
        if f.dtype == "category":
            cdef = TABLES[f.table].column(f.column[0])
            codes = np.where(np.isnan(v), -1, v).astype(np.int64)
            cols[f.name] = pd.Categorical.from_codes(
                codes, dtype=pd.CategoricalDtype(list(cdef.codes))
            )
        else:
            cols[f.name] = v
        for c in f.output_columns[1:]:
            cols[c] = extra[c]
    frame = pd.DataFrame(cols, index=pd.Index(store.ids[pop], name="child_id"))
    return frame, missing_tables


def _status_col(v: np.ndarray, store: _Store, f: FeatureSpec, as_of: pd.Timestamp, pop: np.ndarray):
    due = _due_day(store.birth[pop], f.due_year_group)
    code = np.where(~np.isnan(v), 0, np.where(_day(as_of) < due, 1, 2))
    return pd.Categorical.from_codes(code, dtype=_STATUS_DTYPE)


def build_features(
    tables, as_of, pipeline="default", *, engine: str = "memory", check: bool = True
) -> pd.DataFrame:
    """Features of every child in the population at ``as_of``, from records on or before it.

    Parameters
    ----------
    tables : Tables, mapping of str to DataFrame, folder, Ibis connection or SparkSession
        Contract tables (validated first with :func:`send_early.schema.check_tables`).
        A table that is absent gives missing values for its features. With
        ``engine="duckdb"`` or ``"spark"`` also a folder of contract Parquet/CSV
        files (read in place, not validated); with ``engine="ibis"`` an Ibis
        connection holding the contract tables (PostgreSQL, DuckDB, ...); with
        ``engine="spark"`` also a SparkSession or an Ibis PySpark connection
        whose catalog holds them.
    as_of : date-like
        Only records dated on or before this day contribute (each table's
        ``date_column``); a social care episode open on that day counts as open
        even if it closed later. Must lie between the earliest birth date and the
        tables' extract date.
    pipeline : str, path-like or PipelineSpec, default "default"
        The feature pipeline spec (see ``docs/features.md``).
    engine : {"memory", "duckdb", "spark", "ibis"}, default "memory"
        ``"memory"`` computes in numpy. The others compile the spec to Ibis
        expressions with the same result (see ``docs/engines.md``): ``"duckdb"``
        runs them on an embedded DuckDB (``pip install "send_early[duckdb]"``),
        ``"spark"`` on Spark (``pip install "send_early[spark]"`` and Java 17+;
        the active session, else a local one), ``"ibis"`` on the backend of the
        Ibis connection given as ``tables``.
    check : bool, default True
        Validate the tables with :func:`send_early.schema.check_tables` first.
        Validation costs more than the features on large extracts: validate
        once with ``tables = check_tables(raw)`` and pass ``check=False`` for
        each snapshot (only dtypes are then checked).

    Returns
    -------
    DataFrame
        One row per child in the population (see :func:`population`), indexed
        by ``child_id`` (str). Numeric features and 0/1 flags are ``float64``
        with NaN for missing; protected characteristics and ``*_status`` columns
        are categoricals with fixed categories. ``.attrs`` holds ``as_of``,
        ``pipeline``, ``pipeline_version``, ``population`` (counts per status,
        adding up to the number of children), ``protected`` and
        ``missing_tables``.

    Raises
    ------
    ValueError
        If ``as_of`` is not a date inside the data.
    SchemaError
        If the tables break the data contract.
    SpecError
        If the pipeline is unknown or invalid.

    Examples
    --------
    >>> import pandas as pd
    >>> from send_early import Tables
    >>> from send_early.features import build_features
    >>> children = pd.DataFrame({"child_id": ["a", "b"], "birth_date": ["2018-01-10", "2019-07-01"],
    ...     "sex": ["F", "M"], "ethnicity": [None, "Asian"], "imd_decile": [3, None],
    ...     "gestation_weeks": [35, 40], "birth_weight_g": [2300, None], "moved_out_date": [None, None]})
    >>> referrals = pd.DataFrame({"child_id": ["a", "a", "b"],
    ...     "referral_date": ["2021-03-01", "2022-01-15", "2022-06-01"], "service": ["SALT"] * 3})
    >>> tables = Tables({"children": children, "referrals": referrals}, extract_date="2025-08-31",
    ...     allow_missing=["sen_events"])  # no one identified: an explicit opt-out
    >>> X = build_features(tables, "2022-01-31")
    >>> X[["age_months", "preterm", "low_birth_weight", "referrals_salt_365d"]]
              age_months  preterm  low_birth_weight  referrals_salt_365d
    child_id
    a               48.0      1.0               1.0                  2.0
    b               30.0      0.0               NaN                  0.0
    >>> X.attrs["population"]["in_population"]
    2
    """
    spec = load_pipeline(pipeline)
    if engine != "memory":
        _check_engine(engine)
        from ._ibis import build_features_ibis

        return build_features_ibis(tables, as_of, spec, engine=engine, check=check)
    tables = _typed(tables, check)
    as_of = _as_of(as_of, tables)
    return _build(_Store(tables), as_of, spec)


def _build(store: _Store, as_of: pd.Timestamp, spec: PipelineSpec, status_age=None) -> pd.DataFrame:
    status, age = _status(store, as_of, spec) if status_age is None else status_age
    frame, missing_tables = _compute(store, as_of, spec, status, age)
    counts = np.bincount(status, minlength=len(STATUSES))
    frame.attrs = {
        "as_of": as_of.date().isoformat(),
        "pipeline": spec.name,
        "pipeline_version": spec.version,
        "population": dict(zip(STATUSES, map(int, counts), strict=True)),
        "protected": spec.protected,
        "missing_tables": missing_tables,
    }
    logger.info(
        "built %d features for %d children at %s (pipeline %s)",
        frame.shape[1],
        len(frame),
        as_of.date(),
        spec.name,
    )
    return frame


def _check_dates(as_of_dates: Sequence, tables: Tables) -> list[pd.Timestamp]:
    out = sorted({_as_of(d, tables) for d in as_of_dates})
    if not out:
        raise ValueError("as_of_dates must hold at least one date; found none.")
    return out
