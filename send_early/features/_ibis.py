"""The feature pipeline compiled to Ibis expressions, run on an embedded DuckDB, on Spark
(:mod:`._spark`) or on the backend of an Ibis connection (PostgreSQL, ...).

The same spec, population rules and output as the memory engine
(:mod:`._engine`): every aggregation is one grouped query over the rows dated on
or before the as-of date, and the features are left-joined onto the population.
Records of one child on the same date are ordered as in their source (row
order of a DataFrame or Parquet file), as the memory engine's stable sort does.
"""

from __future__ import annotations

import csv as csv_module
import datetime as dt
import logging
import os
import warnings
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from ..schema import TABLES, Tables, read_manifest
from ._columnar import _as_of
from ._population import _IDENTIFYING, _STATUS_DTYPE, STATUSES, _typed
from ._spec import _OPS, FeatureSpec, PipelineSpec

logger = logging.getLogger(__name__)

#: Aggregation kinds the Ibis engines compile (every kind of the spec language).
COMPILED = frozenset(
    {
        "latest", "count", "sum", "rate", "min", "max", "mean", "any", "absent", "distinct",
        "days_since", "trend", "open_at", "derive", "threshold", "any_of", "below_cutoff",
        "standing", "moves", "months_known",
    }
)  # fmt: skip
_ROW = "_se_row"  # source row order: breaks ties between records of one child on one date
_DAY = "_se_day"  # the table's date column as days since 1970-01-01
_KEY = "_se_key"  # (day, row) as one int64: the latest record has the largest key
_IBIS_TYPES = {
    "int": "int64",
    "float": "float64",
    "bool": "boolean",
    "date": "date",
    "str": "string",
}
_HINT = 'the DuckDB engine needs Ibis and DuckDB: pip install "send_early[duckdb]"'


def _ibis():
    try:
        import ibis
    except ImportError as exc:
        raise ImportError(_HINT) from exc
    return ibis


def _as_number(cond, to: str = "float64"):
    """A boolean as 1 or 0 (NULL stays NULL), through int32: PostgreSQL casts a boolean to
    an integer but to no other number type."""
    return cond.cast("int32").cast(to)


def _preferred_key(t, f: FeatureSpec):
    """The row order for ``latest``: rows matching every ``prefer`` value come after the
    rest (a bit above any row number), so arg_max picks the last preferred row."""
    key = t[_KEY]
    if f.prefer:
        pref = _ibis().literal(True)
        for col, vals in f.prefer.items():
            pref = pref & t[col].isin(list(vals)).fill_null(False)
        key = key + _as_number(pref, "int64") * 2**58
    return key


def check_compiled(spec: PipelineSpec) -> None:
    """Refuse a spec with an aggregation the Ibis engines do not compile (never differ)."""
    bad = [f"{f.name} ({f.aggregation})" for f in spec.features if f.aggregation not in COMPILED]
    if bad:
        raise NotImplementedError(
            f"pipeline {spec.name!r}: the DuckDB, Spark and Ibis engines do not compile "
            "the aggregation kinds of "
            f"feature(s) {', '.join(bad)}; use engine='memory' for this pipeline."
        )


# --------------------------------------------------------------------------- sources


class _Bounds:
    """What ``_as_of`` checks: the extract date and the earliest birth date."""

    def __init__(self, extract_date: pd.Timestamp, first_birth):
        self.extract_date = extract_date
        self._births = pd.Series([pd.Timestamp(first_birth)] if first_birth is not None else [])

    def __getitem__(self, name: str) -> dict:
        return {"birth_date": self._births}


def _arrow_tables(tables: Tables):
    """(name, Arrow table) for each contract table: codes as strings, plus the row order."""
    import pyarrow as pa

    for name, df in tables.items():
        if name not in TABLES:
            continue
        cols, arrays = [], []
        for c in TABLES[name].columns:
            s = df[c.name]
            a = pa.Array.from_pandas(s)
            if c.kind == "code":
                a = a.dictionary_decode()
            if c.kind in ("code", "id", "str") and a.type != pa.string():
                a = a.cast(pa.string())
            cols.append(c.name)
            arrays.append(a)
        cols.append(_ROW)
        arrays.append(pa.array(np.arange(len(df), dtype=np.int64)))
        yield name, pa.Table.from_arrays(arrays, names=cols)


def _from_frames(con, tables: Tables) -> dict:
    """Register each typed DataFrame with DuckDB (Arrow, codes as strings, row numbers)."""
    out = {}
    for name, table in _arrow_tables(tables):
        view = f"se_{name}"
        con.con.register(view, table)
        out[name] = con.table(view)
    return out


def _from_folder(con, folder: Path) -> dict:
    """Contract Parquet/CSV files read in place (``file_row_number`` keeps their order)."""
    out = {}
    for name in TABLES:
        pq, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
        path = pq if pq.exists() else csv if csv.exists() else None
        if path is None:
            continue
        quoted = str(path).replace("'", "''")
        if path.suffix == ".parquet":
            rel = f"SELECT *, file_row_number AS {_ROW} FROM read_parquet('{quoted}', file_row_number = true)"
        else:
            # ids, text and codes stay text, as read_tables reads them (DuckDB would infer numbers)
            with path.open(encoding="utf-8-sig", newline="") as fh:
                header = next(csv_module.reader(fh), [])
            text = [c.name for c in TABLES[name].columns if c.kind in ("id", "str", "code")]
            types = ", ".join(f"'{c}': 'VARCHAR'" for c in text if c in header)
            rel = (
                f"SELECT *, row_number() OVER () AS {_ROW} FROM read_csv('{quoted}', "
                f"header = true, types = {{{types}}})"
            )
        con.con.execute(f"CREATE TEMP VIEW se_{name} AS {rel}")
        out[name] = con.table(f"se_{name}")
    return out


def _from_connection(con) -> dict:
    """The contract tables a connection holds (``list_tables`` fails on Ibis 12 with DuckDB 2)."""
    from ibis.common.exceptions import TableNotFound

    out = {}
    for name in TABLES:
        try:
            out[name] = con.table(name)
        except TableNotFound:
            continue
    return out


def _is_spark(source) -> bool:
    """A SparkSession or an Ibis PySpark connection (without importing PySpark)."""
    kind = type(source).__module__.split(".")[0]
    return kind == "pyspark" or getattr(source, "name", None) == "pyspark"


def _require(engine: str) -> None:
    """Import what ``engine`` needs now, so a missing extra names its install command."""
    if engine == "spark":
        from ._spark import _pyspark

        _pyspark()
    _ibis()


def _open(source, check: bool, engine: str):
    """(connection, raw tables by name, extract date) of a folder or mapping read by DuckDB,
    or of an Ibis connection (whose extract date is unknown: ``Timestamp.max``)."""
    ibis = _ibis()
    is_connection = hasattr(source, "table") and not isinstance(source, Mapping)
    if engine == "ibis" and not is_connection:
        raise TypeError(
            "engine='ibis' runs on the backend of an Ibis connection holding the contract "
            f"tables; found {type(source).__name__}. Pass a folder or DataFrames with "
            "engine='duckdb' or engine='spark'."
        )
    if isinstance(source, str | os.PathLike):
        folder = Path(source)
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} is not a folder of contract tables.")
        con = ibis.duckdb.connect()
        raw = _from_folder(con, folder)
        if "children" not in raw:
            raise FileNotFoundError(f"{folder} has no children.parquet or children.csv.")
        return con, raw, read_manifest(folder)["extract_date"]
    if isinstance(source, Mapping):
        tables = _typed(source, check)
        con = ibis.duckdb.connect()
        return con, _from_frames(con, tables), tables.extract_date
    if is_connection:
        if engine == "duckdb" and getattr(source, "name", "duckdb") != "duckdb":
            warnings.warn(
                f"engine='duckdb' was given an Ibis {source.name} connection: the features are "
                f"computed by {source.name}, not DuckDB. Pass engine='ibis' (the backend of "
                "the connection); engine='duckdb' will refuse other backends in a future release.",
                FutureWarning,
                stacklevel=5,
            )
        raw = _from_connection(source)
        if "children" not in raw:
            raise ValueError("the connection must hold a 'children' table of the data contract.")
        return source, raw, pd.Timestamp.max.normalize()
    raise TypeError(
        "source must be a folder of contract tables, a mapping of table name to DataFrame "
        f"or an Ibis connection; found {type(source).__name__}."
    )


@contextmanager
def _connect(source, as_of, check: bool, engine: str = "duckdb"):
    """Yield (connection, typed tables by name, as-of Timestamp, extract date) of ``source``
    on ``engine`` (see :func:`_open` and :func:`._spark.open_spark`); temporary views the
    engine registered are dropped on exit."""
    _require(engine)
    close = None
    if engine == "spark" or (engine == "ibis" and _is_spark(source)):
        from ._spark import open_spark

        con, raw, extract, close = open_spark(source, check)
    elif _is_spark(source):
        raise TypeError(
            "a SparkSession or an Ibis PySpark connection is a source for engine='spark'; "
            f"found engine={engine!r}."
        )
    else:
        con, raw, extract = _open(source, check, engine)
    try:
        tables = {n: _typed_table(t, n) for n, t in raw.items()}
        first = _arrow(tables["children"].aggregate(_b=tables["children"].birth_date.min()))
        first = first.column("_b")[0].as_py()
        yield con, tables, _as_of(as_of, _Bounds(extract, first)), pd.Timestamp(extract)
    finally:
        if close is not None:
            close()


def _arrow(t):
    """The rows of table expression ``t`` as an Arrow table (on Spark straight from its
    Arrow batches: Ibis's PySpark backend goes through pandas)."""
    con = _ibis().get_backend(t)
    if con.name == "pyspark":
        from ._spark import collect

        return collect(con._session.sql(con.compile(t)))
    return t.to_pyarrow()


def _typed_table(t, name: str):
    """Dates as DATE, plus the day number of the table's date column (and a row order)."""
    ibis = _ibis()
    if _ROW not in t.columns:
        t = t.mutate(**{_ROW: ibis.row_number()})
    fix = {c.name: t[c.name].cast("date") for c in TABLES[name].columns if c.kind == "date"}
    t = t.mutate(**fix)
    absent = [c for c in TABLES[name].columns if c.optional and c.name not in t.columns]
    if absent:  # an optional column a folder or connection does not hold: read as empty
        t = t.mutate(**{c.name: ibis.null().cast(_IBIS_TYPES[c.kind]) for c in absent})
    d = t[TABLES[name].date_column]
    t = t.mutate(**{_DAY: d.delta(ibis.date(1970, 1, 1), unit="day")})
    # days offset by 2**16 (dates 1790-2149) in bits 40-56, the row below; bit 58 is for prefer
    return t.mutate(**{_KEY: ((t[_DAY] + 65536).cast("int64") * 2**40) + t[_ROW].cast("int64")})


# --------------------------------------------------------------------------- population


def _population(tables: dict, as_of: pd.Timestamp, spec: PipelineSpec, day: int):
    """Every child with its status code (index into STATUSES) and age in completed months."""
    ibis = _ibis()
    ch = tables["children"]
    b = ch.birth_date
    age = (
        (as_of.year - b.year()) * 12
        + (as_of.month - b.month())
        - _as_number(as_of.day < b.day(), "int64")
    )
    ident = []
    if "sen_events" in tables:
        ev = tables["sen_events"]
        ev = ev.filter(ev[_DAY] <= day, ev.event.isin(list(_IDENTIFYING)))
        ident.append(ev.select(_k=ev.child_id).distinct())
    if "census" in tables:
        ce = tables["census"]
        ce = ce.filter(ce[_DAY] <= day)
        # each child's latest record (the largest key: latest day, then row) by a grouped max
        # and a join, not a window: one hash pass each, where DuckDB sorts every partition
        last = ce.group_by(_lk=ce.child_id).aggregate(_mk=ce[_KEY].max())
        ce = ce.inner_join(last, [ce.child_id == last._lk, ce[_KEY] == last._mk])
        ce = ce.filter(ce.sen_provision.notnull(), ce.sen_provision != "N")
        ident.append(ce.select(_k=ce.child_id))
    t = ch.mutate(_age=age)
    if ident:
        ids = ident[0] if len(ident) == 1 else ident[0].union(ident[1])
        ids = ids.distinct().mutate(_ident=ibis.literal(True))
        t = t.left_join(ids, t.child_id == ids._k).drop("_k")
        identified = t._ident.fill_null(False)
    else:
        identified = ibis.literal(False)
    status = ibis.cases(
        (t[_DAY] > day, 2),
        (t.moved_out_date.notnull() & (t.moved_out_date <= as_of.date()), 3),
        (t._age < spec.min_age_months, 4),
        (t._age >= spec.max_age_months, 5),
        (identified, 1),
        else_=0,
    )
    return t.mutate(_status=status)


# --------------------------------------------------------------------------- aggregations


def _num(t, table: str, col: str):
    """A column as float64, as the memory engine reads it (codes as their index)."""
    ibis = _ibis()
    c = TABLES[table].column(col)
    x = t[col]
    if c.kind == "code":
        # integer codes, then cast: PostgreSQL reads float literals as numeric
        codes = ibis.cases(*((x == code, i) for i, code in enumerate(c.codes)), else_=None)
        return codes.cast("float64")
    if c.kind == "date":
        return x.delta(ibis.date(1970, 1, 1), unit="day").cast("float64")
    if c.kind == "bool":
        return _as_number(x)
    return x.cast("float64")


def _cond(t, f: FeatureSpec, as_of: pd.Timestamp, day: int):
    """Which rows (already on or before the as-of date) feed ``f``: filter, open, days or months."""
    ibis = _ibis()
    c = ibis.literal(True)
    for col, vals in f.filter.items():
        c = c & t[col].isin(list(vals)).fill_null(False)
    if f.aggregation == "open_at":
        end = t[f.end_column]
        c = c & (end.isnull() | (end > as_of.date()))
    w = f.window
    if w.unit == "days":
        c = c & (t[_DAY] > day - w.n)
    elif w.unit == "months":
        start = (as_of - pd.DateOffset(months=w.n)).date()
        c = c & (t[_DAY] > (start - dt.date(1970, 1, 1)).days)
    return c


def _rows(t, f: FeatureSpec, as_of: pd.Timestamp, day: int):
    """The rows feeding ``f`` (for latest, trend and ``N terms``): as-of, condition, then terms."""
    ibis = _ibis()
    t = t.filter(t[_DAY] <= day)
    t = t.filter(_cond(t, f, as_of, day))
    if f.window.unit == "terms":
        win = ibis.window(group_by=t.child_id, order_by=ibis.desc(t[_KEY]))
        t = t.mutate(_rn=ibis.row_number().over(win))
        t = t.filter(t._rn < f.window.n).drop("_rn")
    return t


def _rate_parts(t, f: FeatureSpec):
    num = sum(_num(t, f.table, c).fill_null(0.0) for c in f.column)
    return num, _num(t, f.table, f.denominator).fill_null(0.0)


def _metrics(t, f: FeatureSpec, i: int, day: int, where=None) -> dict:
    """Grouped reductions for ``f`` over the rows of ``t`` where ``where`` holds.

    ``_n{i}`` counts the rows (no row: the feature is missing, or 1 for ``absent``);
    ``_a{i}`` is the value.
    """
    ibis = _ibis()
    agg = f.aggregation
    out = {f"_n{i}": t.count(where=where)}
    if agg in ("count", "absent"):
        return out
    if agg == "latest":
        x = _num(t, f.table, f.column[0])
        key = _preferred_key(t, f)
        has = x.notnull() if where is None else where & x.notnull()
        v = x.argmax(key, where=has)
    elif agg == "trend":
        num, den = _rate_parts(t, f)
        r = ibis.ifelse(den > 0, num / den, ibis.null().cast("float64"))
        r = 1.0 - r if f.complement else r
        has = r.notnull() if where is None else where & r.notnull()
        last, c, sm = r.argmax(t[_KEY], where=has), r.count(where=has), r.sum(where=has)
        v = ibis.ifelse(c >= 2, last - (sm - last) / (c - 1).cast("float64"), None)
    elif agg in ("any", "open_at"):
        if f.column:
            hit = _as_number(_num(t, f.table, f.column[0]) == 1, "int64")
            v = _as_number(hit.sum(where=where).fill_null(0) > 0)
        else:
            v = _as_number(ibis.literal(True))  # typed: PostgreSQL reads 1.0 as numeric
    elif agg == "days_since":
        v = (day - t[_DAY].max(where=where)).cast("float64")
    elif agg == "distinct":
        v = ibis.greatest(t[f.column[0]].nunique(where=where) + f.offset, 0).cast("float64")
    elif agg == "rate":
        num, den = _rate_parts(t, f)
        sn, sd = num.sum(where=where), den.sum(where=where)
        v = ibis.ifelse(sd > 0, sn / sd, ibis.null().cast("float64"))
        v = 1.0 - v if f.complement else v
    elif agg == "sum":
        if len(f.column) > 1:
            v = sum(_num(t, f.table, c).fill_null(0.0) for c in f.column).sum(where=where)
        else:
            v = _num(t, f.table, f.column[0]).sum(where=where).fill_null(0.0)
    elif agg in ("min", "max", "mean"):
        x = _num(t, f.table, f.column[0])
        v = {"min": x.min, "max": x.max, "mean": x.mean}[agg](where=where)
    else:  # pragma: no cover - refused by check_compiled
        raise NotImplementedError(f"aggregation {agg!r}")
    out[f"_a{i}"] = v
    return out


def _children_value(t, f: FeatureSpec, as_of: pd.Timestamp):
    ibis = _ibis()
    if f.aggregation == "derive":
        misy = ((t.birth_date.month() + 3) % 12 + 1).cast("float64")
        return {
            "age_months": t._age.cast("float64"),
            "month_in_school_year": misy,
            "summer_born": _as_number(misy >= 8),
        }[f.transform]
    v = _num(t, "children", f.column[0])
    if f.aggregation in ("latest", "min", "max", "mean", "sum"):
        return v
    if f.aggregation == "count":
        return _as_number(ibis.literal(True))
    if f.aggregation == "any":
        return _as_number((v == 1).fill_null(False))
    raise NotImplementedError(  # pragma: no cover - the memory engine refuses it too
        f"aggregation {f.aggregation!r} is not supported on the children table"
    )


def _compare(v, op: str, cut: float):
    return _as_number(_OPS[op](v, cut))


def _status(t, v, f: FeatureSpec, as_of: pd.Timestamp):
    """Assessment status code: 0 assessed, 1 not yet due, 2 missing (as the memory engine)."""
    ibis = _ibis()
    b = t.birth_date
    due_year = b.year() - _as_number(b.month() < 9, "int64") + 6 + f.due_year_group
    before_aug = as_of < pd.Timestamp(as_of.year, 8, 1)
    not_due = (due_year > as_of.year) | ((due_year == as_of.year) & before_aug)
    return ibis.cases((v.notnull(), 0), (not_due, 1), else_=2)


def _features(tables: dict, pop, spec: PipelineSpec, as_of: pd.Timestamp, day: int):
    """The population with one column per output column (codes for categoricals)."""
    ibis = _ibis()
    t = pop
    # one grouped pass per table (conditions as FILTER clauses), and one per set of rows
    # cut to each child's latest N records (``N terms``)
    passes: dict[tuple, dict] = {}
    from ._ibis_special import SPECIAL

    for i, f in enumerate(spec.features):
        if f.aggregation in SPECIAL and (f.table is None or f.table in tables):
            a = SPECIAL[f.aggregation](tables, f, as_of, day)
            a = a.select(**{f"_sk{i}": a._sk, f"_s{i}": a._sv})
            t = t.left_join(a, t.child_id == a[f"_sk{i}"])
    for i, f in enumerate(spec.features):
        if f.aggregation in SPECIAL:
            continue
        if not f.table or f.table == "children" or f.table not in tables:
            continue
        if f.window.unit == "terms":
            key = (f.table, f.window, tuple(f.filter.items()), f.end_column)
            r = passes.setdefault(key, {"rows": _rows(tables[f.table], f, as_of, day), "m": {}})
            r["m"].update(_metrics(r["rows"], f, i, day))
        else:
            src = tables[f.table]
            r = passes.setdefault((f.table,), {"rows": src.filter(src[_DAY] <= day), "m": {}})
            r["m"].update(_metrics(r["rows"], f, i, day, _cond(r["rows"], f, as_of, day)))
    for j, p in enumerate(passes.values()):
        r = p["rows"]
        a = r.group_by(**{f"_t{j}": r.child_id}).aggregate(**p["m"])
        t = t.left_join(a, t.child_id == a[f"_t{j}"])
    vals: dict = {}  # feature name -> expression (threshold and any_of read earlier ones)
    out: dict = {}
    for i, f in enumerate(spec.features):
        if f.aggregation == "threshold":
            v = _compare(vals[f.source], f.op, f.cutoff)
        elif f.aggregation == "any_of":
            srcs = [vals[s] for s in f.sources]
            hit = ibis.greatest(*[s.fill_null(0.0) for s in srcs]) > 0
            known = ibis.greatest(*[_as_number(s.notnull(), "int8") for s in srcs]) > 0
            v = ibis.cases((hit, 1.0), (known, 0.0), else_=ibis.null().cast("float64"))
        elif f.aggregation in SPECIAL and (f.table is None or f.table in tables):
            v = t[f"_s{i}"]
            v = v.fill_null(0.0) if f.aggregation == "months_known" else v
        elif f.table not in tables:
            v = ibis.null().cast("float64")
        elif f.table == "children":
            v = _children_value(t, f, as_of)
        elif f.aggregation == "absent":
            v = _as_number(t[f"_n{i}"].fill_null(0) == 0)
        else:
            got = t[f"_n{i}"].fill_null(0) > 0
            value = t[f"_n{i}"] if f.aggregation == "count" else t[f"_a{i}"]
            v = ibis.ifelse(got, value.cast("float64"), ibis.null().cast("float64"))
        if f.missing == "zero" and (f.table is None or f.table in tables):
            v = v.fill_null(0.0)
        vals[f.name] = v = v.cast("float64")
        out[f.name] = v
        if f.indicator:
            out[f"{f.name}_missing"] = _as_number(v.isnull())
        if f.missing == "not_assessed":
            out[f"{f.name}_status"] = _status(t, v, f, as_of)
    return t.select("child_id", _ROW, **out).order_by(_ROW)


def _to_frame(tbl, spec: PipelineSpec) -> pd.DataFrame:
    """An Arrow result as the memory engine's frame (float64 with NaN, fixed categoricals)."""

    def num(c):
        return tbl.column(c).to_numpy().astype(np.float64)  # nulls become NaN

    out = {}
    for f in spec.features:
        v = num(f.name)
        if f.dtype == "category":
            codes = np.where(np.isnan(v), -1, v).astype(np.int64)
            cdef = TABLES[f.table].column(f.column[0])
            out[f.name] = pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(cdef.codes))
        else:
            out[f.name] = v
        for c in f.output_columns[1:]:
            if c.endswith("_status"):
                codes = tbl.column(c).to_numpy().astype(np.int64)
                out[c] = pd.Categorical.from_codes(codes, dtype=_STATUS_DTYPE)
            else:
                out[c] = num(c)
    ids = pd.array(tbl.column("child_id").to_numpy(zero_copy_only=False), dtype="str")
    return pd.DataFrame(out, index=pd.Index(ids, dtype="str", name="child_id"))


def build_features_ibis(
    source, as_of, spec: PipelineSpec, *, engine: str = "duckdb", check: bool = True
):
    """``build_features(..., engine=...)`` for "duckdb", "spark" and "ibis": see
    :func:`send_early.features.build_features`."""
    check_compiled(spec)
    with warnings.catch_warnings():
        # Ibis 12 calls DuckDB 2's deprecated fetch_arrow_table(): not ours to fix, not the user's
        warnings.filterwarnings("ignore", "fetch_arrow_table", DeprecationWarning)
        return _build(source, as_of, spec, check, engine)


def _build(source, as_of, spec: PipelineSpec, check: bool, engine: str) -> pd.DataFrame:
    with _connect(source, as_of, check, engine) as (con, tables, as_of, _):
        day = (as_of.date() - dt.date(1970, 1, 1)).days
        from ._ibis_labels import population_of  # that module builds on this one

        everyone = population_of(tables, as_of, spec, day, spec.population)
        # the counts and the features both read the population: on a DuckDB connection of
        # our own (a folder or DataFrames) it is computed once, as a temporary table; on a
        # council's connection nothing is written (an account may not create tables)
        ours = engine == "duckdb" and isinstance(source, str | os.PathLike | Mapping)
        everyone = everyone.cache() if ours else everyone
        counts = everyone.group_by("_status").aggregate(n=everyone.count())
        counts = _arrow(counts).to_pydict()
        n_by = dict(zip(counts["_status"], counts["n"], strict=True))
        pop = everyone.filter(everyone._status == 0)
        frame = _to_frame(_arrow(_features(tables, pop, spec, as_of, day)), spec)
        if ours:
            everyone.release()
    frame.attrs = {
        "as_of": as_of.date().isoformat(),
        "pipeline": spec.name,
        "pipeline_version": spec.version,
        "population": {s: n_by.get(i, 0) for i, s in enumerate(STATUSES)},
        "protected": spec.protected,
        "missing_tables": sorted(
            {f.table for f in spec.features if f.table and f.table not in tables}
        ),
    }
    logger.info(
        "built %d features for %d children at %s (pipeline %s, %s)",
        frame.shape[1],
        len(frame),
        as_of.date(),
        spec.name,
        con.name,
    )
    return frame
