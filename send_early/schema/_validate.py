"""Validation of contract tables: every problem at once, with table, column, rule and ids."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..exceptions import SchemaError
from ._contract import CONTRACT_VERSION, EYFSP_MEASURES, TABLES, Column, Table
from ._dates import parse_iso_date, parse_iso_dates

logger = logging.getLogger(__name__)

__all__ = [
    "Tables",
    "ValidationReport",
    "validate",
    "coerce_column",
    "check_tables",
    "row_problems",
    "MAX_EXAMPLES",
]

#: How many example ids a problem lists.
MAX_EXAMPLES = 5

_TRUE = {"true", "t", "1", "yes", "y", "1.0"}
_FALSE = {"false", "f", "0", "no", "n", "0.0"}
_PROBLEM_COLUMNS = ["severity", "table", "column", "rule", "n_rows", "example_ids", "message"]


class Tables(Mapping):
    """A set of contract tables and the date they were extracted.

    Behaves as a read-only mapping from table name to DataFrame. Returned by
    :func:`send_early.read_tables` and :func:`send_early.datasets.make_cohort`;
    every function that takes ``tables`` also accepts a plain ``dict``.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The tables, keyed by contract table name.
    extract_date : str or date-like
        The day the data were extracted (ISO ``YYYY-MM-DD`` as text); no record
        may be dated after it. Required: today's date is never assumed.
    allow_missing : iterable of str, optional
        Required tables that may be absent (``"sen_events"``): validation then
        warns instead of failing. Without ``sen_events`` children already
        identified cannot be excluded from the population, so they are scored
        and can be flagged. ``children`` can never be missing.

    Examples
    --------
    >>> import pandas as pd
    >>> from send_early import Tables
    >>> t = Tables({"children": pd.DataFrame({"child_id": ["a"]})}, extract_date="2025-08-31")
    >>> list(t), t.extract_date.date().isoformat()
    (['children'], '2025-08-31')
    """

    def __init__(self, tables: Mapping[str, pd.DataFrame], extract_date=None, *, allow_missing=()):
        self._tables = dict(tables)
        if extract_date is None:
            raise ValueError(
                "extract_date is required: the day the extract was taken (YYYY-MM-DD), which "
                "every as-of rule is checked against; today's date is never assumed. Give "
                "Tables(tables, extract_date=...) or read a folder with read_tables(DIR)."
            )
        self.extract_date = parse_iso_date(extract_date, what="extract_date")
        self.allow_missing = _allowed_missing(allow_missing)

    @classmethod
    def coerce(cls, tables, extract_date=None, *, allow_missing=None) -> Tables:
        """Wrap a plain mapping; a :class:`Tables` keeps its own extract date and
        ``allow_missing`` unless others are given."""
        if isinstance(tables, Tables):
            new_date = extract_date is not None and (
                parse_iso_date(extract_date, what="extract_date") != tables.extract_date
            )
            new_allow = allow_missing is not None and (
                _allowed_missing(allow_missing) != tables.allow_missing
            )
            if new_date or new_allow:
                return cls(
                    tables._tables,
                    tables.extract_date if extract_date is None else extract_date,
                    allow_missing=tables.allow_missing if allow_missing is None else allow_missing,
                )
            return tables
        if not isinstance(tables, Mapping):
            raise TypeError(
                f"tables must be a mapping of table name to DataFrame (or a Tables); found {type(tables).__name__}."
            )
        return cls(tables, extract_date, allow_missing=allow_missing or ())

    def __getitem__(self, key: str) -> pd.DataFrame:
        return self._tables[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v):,}" for k, v in self._tables.items())
        allow = f"; allow_missing={self.allow_missing}" if self.allow_missing else ""
        return f"Tables({sizes}; extract_date={self.extract_date.date()}{allow})"

    def replace(self, **tables: pd.DataFrame) -> Tables:
        """A copy with some tables replaced (or added)."""
        return Tables(
            {**self._tables, **tables}, self.extract_date, allow_missing=self.allow_missing
        )


def _allowed_missing(names) -> tuple[str, ...]:
    """Check ``allow_missing``: contract table names, never ``children``."""
    if isinstance(names, str):
        names = (names,)
    names = tuple(dict.fromkeys(names))
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        raise ValueError(
            f"allow_missing must name contract tables ({', '.join(TABLES)}); found "
            f"{', '.join(map(repr, unknown))}."
        )
    if "children" in names:
        raise ValueError(
            "allow_missing cannot include children: every other table refers to its child_id."
        )
    return names


def _examples(df: pd.DataFrame, mask: np.ndarray) -> list[str]:
    idx = np.flatnonzero(mask)[:MAX_EXAMPLES]
    if "child_id" in df.columns:
        ids = df["child_id"].iloc[idx]
        return [
            str(v) if isinstance(v, str) and v.strip() else f"row {i + 1}"
            for v, i in zip(ids, idx, strict=True)
        ]
    return [f"row {i + 1}" for i in idx]


def _values(series: pd.Series, mask: np.ndarray, n: int = 5) -> str:
    vals = pd.unique(series[mask].astype(str))[:n]
    return ", ".join(repr(v) for v in vals)


def coerce_column(series: pd.Series, column: Column) -> tuple[pd.Series, np.ndarray]:
    """Convert ``series`` to the contract dtype of ``column``.

    Returns the converted series and a boolean mask of the rows whose non-empty
    value could not be converted. Those rows are *not* silently fixed: the caller
    reports them, and :func:`send_early.read_tables` leaves such a column as read.
    Empty values stay empty (nullability is checked separately).
    """
    kind = column.kind
    isna = series.isna().to_numpy()
    if kind in ("id", "str"):
        if pd.api.types.is_string_dtype(series) or series.dtype == object:
            out = series.astype("str")
            if series.dtype == object:
                notstr = ~isna & ~series.map(lambda v: isinstance(v, str)).to_numpy(bool)
                return out, notstr
            return out, np.zeros(len(series), bool)
        if pd.api.types.is_integer_dtype(series):
            return series.astype("str"), np.zeros(len(series), bool)
        return series.astype("str"), ~isna
    if kind == "date":
        return parse_iso_dates(series)
    if kind in ("int", "float"):
        if pd.api.types.is_bool_dtype(series):
            return series, ~isna
        num = pd.to_numeric(series, errors="coerce")
        with np.errstate(invalid="ignore"):
            infinite = np.isinf(num.astype("Float64").fillna(0).to_numpy(float))
        bad = (~isna & num.isna().to_numpy()) | infinite
        if kind == "int":
            with np.errstate(invalid="ignore"):
                frac = (num.astype("Float64") % 1 != 0).fillna(False).to_numpy(bool)
            bad = bad | frac
            if bad.any():
                return num, bad
            return num.astype("Float64").astype("Int64"), bad
        return num.astype("Float64"), bad
    if kind == "bool":
        if pd.api.types.is_bool_dtype(series):
            return series.astype("boolean"), np.zeros(len(series), bool)
        low = series.astype("str").str.strip().str.lower()
        t = low.isin(_TRUE).to_numpy()
        f = low.isin(_FALSE).to_numpy()
        bad = ~isna & ~t & ~f
        out = pd.Series(pd.array(np.where(t, True, False), dtype="boolean"), index=series.index)
        out[isna] = pd.NA
        return out, bad
    if kind == "code":
        codes = list(column.codes or ())
        s = series
        if column.null_means is not None:
            s = s.astype("object").where(~isna, column.null_means)
            isna = np.zeros(len(series), bool)
        if isinstance(s.dtype, pd.CategoricalDtype):
            vals = s.astype("str").where(s.notna())
        else:
            vals = s.astype("str").where(s.notna())
        bad = ~isna & ~vals.isin(codes).to_numpy()
        if bad.any():
            return series, bad
        return vals.astype(pd.CategoricalDtype(codes)), bad
    raise ValueError(f"unknown column kind {kind!r}")  # pragma: no cover


def _coerce_table(df: pd.DataFrame, table: Table) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Convert every clean contract column of ``df``; return bad-value masks per column."""
    out = {}
    bad = {}
    for col in table.columns:
        if col.name not in df.columns:
            continue
        conv, mask = coerce_column(df[col.name], col)
        bad[col.name] = mask
        out[col.name] = conv if not mask.any() else df[col.name]
    typed = df.assign(**out) if out else df
    return typed, bad


def _kind_words(col: Column) -> str:
    return {
        "id": "a non-empty text id",
        "str": "text",
        "date": "an ISO date, YYYY-MM-DD, without a time or time zone",
        "int": "a whole number",
        "float": "a finite number",
        "bool": "true or false",
        "code": "one of " + ", ".join(col.codes or ()),
    }[col.kind]


@dataclass(frozen=True)
class _Problem:
    severity: str
    table: str
    column: str
    rule: str
    n_rows: int
    example_ids: tuple[str, ...]
    message: str


class ValidationReport:
    """Every problem found in a set of contract tables.

    Attributes
    ----------
    ok : bool
        True when no problem has severity ``"error"`` (warnings are allowed).
    problems : DataFrame
        One row per problem: severity, table, column, rule, n_rows, example_ids
        (a comma-separated string of at most five ids) and a message.
    n_rows : dict
        Rows read per table.
    extract_date : Timestamp
        The extract date the dates were checked against.
    """

    def __init__(
        self, problems: list[_Problem], n_rows: Mapping[str, int], extract_date: pd.Timestamp
    ):
        self._problems = list(problems)
        self.n_rows = dict(n_rows)
        self.extract_date = extract_date

    @property
    def problems(self) -> pd.DataFrame:
        rows = [{**p.__dict__, "example_ids": ", ".join(p.example_ids)} for p in self._problems]
        return pd.DataFrame(rows, columns=_PROBLEM_COLUMNS).astype({"n_rows": "int64"})

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self._problems)

    @property
    def n_errors(self) -> int:
        return sum(p.severity == "error" for p in self._problems)

    @property
    def n_warnings(self) -> int:
        return sum(p.severity == "warning" for p in self._problems)

    def to_dict(self) -> dict:
        """A JSON-ready dict of the report."""
        return {
            "ok": self.ok,
            "contract_version": CONTRACT_VERSION,
            "extract_date": self.extract_date.date().isoformat(),
            "n_rows": self.n_rows,
            "problems": [
                {**p.__dict__, "example_ids": list(p.example_ids)} for p in self._problems
            ],
        }

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **({"indent": 2} | kwargs))

    def to_text(self) -> str:
        lines = [
            f"Data contract v{CONTRACT_VERSION}, extract date {self.extract_date.date()}: "
            + ", ".join(f"{t} {n:,} rows" for t, n in self.n_rows.items())
        ]
        if not self._problems:
            lines.append("OK: no problems found.")
        for p in self._problems:
            lines.append(f"{p.severity.upper():8s}{p.message}")
        verdict = "VALID" if self.ok else "INVALID"
        lines.append(f"{verdict}: {self.n_errors} error(s), {self.n_warnings} warning(s).")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"ValidationReport(ok={self.ok}, errors={self.n_errors}, warnings={self.n_warnings})"

    def raise_for_errors(self) -> None:
        """Raise :class:`~send_early.SchemaError` listing every error, if there is one."""
        if not self.ok:
            errs = [p.message for p in self._problems if p.severity == "error"]
            raise SchemaError(
                f"{len(errs)} data contract error(s):\n  " + "\n  ".join(errs), report=self
            )


class _Collector:
    def __init__(self, keep_rows: bool = False):
        self.problems: list[_Problem] = []
        self.keep_rows = keep_rows
        self.rows: list[pd.DataFrame] = []

    def add(self, severity, table, column, rule, df, mask, message):
        mask = np.asarray(mask, bool)
        n = int(mask.sum())
        if n == 0:
            return
        if self.keep_rows and severity == "error":
            ids = df["child_id"].to_numpy()[mask] if "child_id" in df.columns else np.full(n, None)
            self.rows.append(
                pd.DataFrame(
                    {
                        "child_id": pd.array(ids, dtype="str"),
                        "table": table,
                        "column": column,
                        "rule": rule,
                        "row": np.flatnonzero(mask),
                    }
                )
            )
        ex = tuple(_examples(df, mask))
        ids = ", ".join(ex) + (", ..." if n > len(ex) else "")
        where = f" ({'child_id ' if 'child_id' in df.columns else ''}{ids})" if ex else ""
        self.problems.append(
            _Problem(
                severity,
                table,
                column,
                rule,
                n,
                ex,
                f"{message} in {n:,} row{'s' if n != 1 else ''}{where}.",
            )
        )

    def add_whole(self, severity, table, column, rule, n_rows, message):
        self.problems.append(_Problem(severity, table, column, rule, int(n_rows), (), message))


def validate(tables, *, extract_date=None, allow_missing=None) -> ValidationReport:
    """Check contract tables and report every problem at once.

    Parameters
    ----------
    tables : Tables or mapping of str to DataFrame
        Tables as read by :func:`send_early.read_tables` or built in memory.
    extract_date : date-like, optional
        Overrides ``tables.extract_date``; required for a plain mapping. No
        record may be dated after it.
    allow_missing : iterable of str, optional
        Required tables that may be absent (a warning instead of an error);
        overrides ``tables.allow_missing``. See :class:`Tables`.

    Returns
    -------
    ValidationReport
        ``.ok`` is False when any error was found; ``.problems`` lists them all.

    Examples
    --------
    >>> import pandas as pd
    >>> from send_early import validate
    >>> children = pd.DataFrame({
    ...     "child_id": ["c1", "c2", "c2"], "birth_date": ["2019-01-05"] * 3,
    ...     "sex": ["F", "M", "X"], "ethnicity": [None] * 3, "imd_decile": [3, 11, None],
    ...     "gestation_weeks": [39, 40, None], "birth_weight_g": [3300, None, None],
    ...     "moved_out_date": [None] * 3})
    >>> report = validate({"children": children}, extract_date="2025-08-31")
    >>> report.ok
    False
    >>> report.problems[["table", "column", "rule", "n_rows"]]
            table      column           rule  n_rows
    0    children         sex           code       1
    1    children  imd_decile          range       1
    2    children    child_id         unique       2
    3  sen_events              missing_table       0
    """
    return _run(Tables.coerce(tables, extract_date, allow_missing=allow_missing), _Collector())


def _run(tables: Tables, col: _Collector) -> ValidationReport:
    extract = tables.extract_date
    typed: dict[str, pd.DataFrame] = {}
    n_rows = {}
    for name, df in tables.items():
        if name not in TABLES:
            col.add_whole(
                "warning",
                name,
                "",
                "unknown_table",
                len(df) if hasattr(df, "__len__") else 0,
                f"{name} is not a contract table (expected one of {', '.join(TABLES)}); it is ignored.",
            )
            continue
        if not isinstance(df, pd.DataFrame):
            raise TypeError(
                f"tables[{name!r}] must be a pandas DataFrame; found {type(df).__name__}."
            )
        n_rows[name] = len(df)
        if df.columns.duplicated().any():
            df = _without_duplicate_columns(df, TABLES[name], col)
        typed[name] = _check_table(df, TABLES[name], col, extract)
    _check_required(tables, col)
    _check_cross(typed, col, extract)
    if extract > pd.Timestamp.today().normalize() + pd.Timedelta(days=1):
        col.add_whole(
            "warning",
            "manifest",
            "extract_date",
            "future_extract",
            0,
            f"manifest.extract_date {extract.date()} is after today; dates are checked against it.",
        )
    return ValidationReport(col.problems, n_rows, extract)


#: Why each required table is required (shown when it is missing).
_NEEDED_FOR = {
    "children": "every other table refers to its child_id",
    "sen_events": "without it children already identified (SEN support, EHC needs assessment "
    "request or EHC plan) cannot be excluded from the population, so they would be scored and "
    "flagged, and labels cannot be built",
}


def _check_required(tables: Tables, col: _Collector) -> None:
    """Required tables must be given (or allowed missing); empty ones are named."""
    for name, table in TABLES.items():
        if not table.required:
            continue
        if name not in tables:
            why = _NEEDED_FOR.get(name, "the population rules need it")
            if name in tables.allow_missing:
                col.add_whole(
                    "warning",
                    name,
                    "",
                    "missing_table",
                    0,
                    f"{name} is required but was allowed to be missing (allow_missing): {why}.",
                )
            else:
                opt_out = (
                    ""
                    if name == "children"
                    else f" If the extract truly has no {name}, opt out explicitly with "
                    f"--allow-missing-table {name} (Python: allow_missing=({name!r},))."
                )
                col.add_whole(
                    "error",
                    name,
                    "",
                    "missing_table",
                    0,
                    f"{name} is required: {why}; no {name} table was given. Add {name}.csv or "
                    f"{name}.parquet.{opt_out}",
                )
        elif (
            name == "children" and isinstance(tables[name], pd.DataFrame) and not len(tables[name])
        ):
            col.add_whole(
                "warning",
                name,
                "",
                "empty_table",
                0,
                "children has no rows: the population is empty and nobody can be scored.",
            )


def _without_duplicate_columns(df: pd.DataFrame, table: Table, col: _Collector) -> pd.DataFrame:
    """Report each repeated column name once; keep the first copy so the rest can be checked."""
    dup = df.columns[df.columns.duplicated()].unique()
    for c in dup:
        n = int((df.columns == c).sum())
        col.add_whole(
            "error",
            table.name,
            str(c),
            "duplicate_column",
            len(df),
            f"{table.name}.{c} must be one column; found {n} columns with that name. Keep one.",
        )
    return df.loc[:, ~df.columns.duplicated()]


def _check_table(
    df: pd.DataFrame, table: Table, col: _Collector, extract: pd.Timestamp
) -> pd.DataFrame:
    t = table.name
    if len(df.columns) and not set(map(str, df.columns)) & set(table.column_names):
        col.add_whole(
            "error",
            t,
            "",
            "no_header",
            len(df),
            f"{t} has none of the contract's columns ({', '.join(table.column_names)}): "
            "the first row must be the header; was the header row dropped?",
        )
        return df
    missing = [c for c in table.column_names if c not in df.columns]
    for c in missing:
        col.add_whole(
            "error",
            t,
            c,
            "missing_column",
            len(df),
            f"{t}.{c} is a required column and is missing (columns found: {', '.join(map(str, df.columns))}).",
        )
    for c in df.columns:
        if c not in table.column_names:
            col.add_whole(
                "warning",
                t,
                str(c),
                "unknown_column",
                len(df),
                f"{t}.{c} is not in the contract; it is kept but not used.",
            )
    typed, bad = _coerce_table(df, table)
    for c in table.columns:
        if c.name not in df.columns:
            continue
        raw = df[c.name]
        mask = bad[c.name]
        if c.kind == "code":
            col.add(
                "error",
                t,
                c.name,
                "code",
                df,
                mask,
                f"{t}.{c.name} must be one of {', '.join(c.codes or ())}; found {_values(raw, mask)}",
            )
        elif c.kind == "id":
            col.add("error", t, c.name, "type", df, mask, f"{t}.{c.name} must be {_kind_words(c)}")
        else:
            col.add(
                "error",
                t,
                c.name,
                "type",
                df,
                mask,
                f"{t}.{c.name} must be {_kind_words(c)}; found values that are not",
            )
        isna = raw.isna().to_numpy()
        if c.kind == "id":
            isna = isna | (raw.astype("str").str.strip() == "").fillna(True).to_numpy(bool)
        if not c.nullable and c.null_means is None:
            col.add(
                "error",
                t,
                c.name,
                "not_null",
                df,
                isna,
                f"{t}.{c.name} must not be empty; found empty values",
            )
        if mask.any() and c.kind not in ("int", "float"):
            continue
        s = typed[c.name]
        if mask.any():  # the range of the values that are numbers is still checked
            s = pd.to_numeric(raw, errors="coerce").astype("Float64").where(~mask)
        if c.min is not None or c.max is not None:
            v = s.astype("Float64")
            lo = -np.inf if c.min is None else c.min
            hi = np.inf if c.max is None else c.max
            out = ((v < lo) | (v > hi)).fillna(False).to_numpy(bool)
            rng = f"between {c.min:g} and {c.max:g}" if c.max is not None else f"at least {c.min:g}"
            col.add(
                "error",
                t,
                c.name,
                "range",
                df,
                out,
                f"{t}.{c.name} must be {rng}; found values outside",
            )
        if c.step is not None:
            off = (s.astype("Float64") % c.step != 0).fillna(False).to_numpy(bool)
            col.add(
                "error",
                t,
                c.name,
                "step",
                df,
                off,
                f"{t}.{c.name} must move in steps of {c.step}; found other values",
            )
    if "child_id" in df.columns and t == "children" and not bad.get("child_id", np.zeros(0)).any():
        dup = (
            typed["child_id"].duplicated(keep=False).to_numpy()
            & typed["child_id"].notna().to_numpy()
        )
        col.add(
            "error",
            t,
            "child_id",
            "unique",
            df,
            dup,
            f"{t}.child_id must be unique; found duplicates",
        )
    ok = {c: not bad.get(c, np.ones(1, bool)).any() and c in df.columns for c in table.column_names}
    if t == "attendance":
        if ok["term_start"] and ok["term_end"]:
            m = (typed["term_end"] < typed["term_start"]).fillna(False).to_numpy(bool)
            col.add(
                "error",
                t,
                "term_end",
                "order",
                df,
                m,
                "attendance.term_end must be on or after term_start; found earlier",
            )
        if ok["possible_sessions"] and ok["authorised_absence"] and ok["unauthorised_absence"]:
            s = typed["authorised_absence"] + typed["unauthorised_absence"]
            m = (s > typed["possible_sessions"]).fillna(False).to_numpy(bool)
            col.add(
                "error",
                t,
                "authorised_absence",
                "absence_sum",
                df,
                m,
                "attendance.authorised_absence + unauthorised_absence must not exceed possible_sessions; found more",
            )
    if t == "social_care" and ok["start_date"] and ok["end_date"]:
        m = (typed["end_date"] < typed["start_date"]).fillna(False).to_numpy(bool)
        col.add(
            "error",
            t,
            "end_date",
            "order",
            df,
            m,
            "social_care.end_date must be on or after start_date; found earlier",
        )
    if t == "exclusions" and ok["days"]:
        m = (typed["days"] <= 0).fillna(False).to_numpy(bool)
        col.add(
            "error",
            t,
            "days",
            "range",
            df,
            m,
            "exclusions.days must be greater than 0; found 0 or less",
        )
    if t == "assessments" and ok["measure"] and ok["value"]:
        v = typed["value"].astype("Float64")
        eyfsp = typed["measure"].isin(EYFSP_MEASURES).to_numpy()
        m1 = eyfsp & ~v.isin([0, 1]).fillna(False).to_numpy(bool)
        col.add(
            "error",
            t,
            "value",
            "measure_value",
            df,
            m1,
            "assessments.value must be 0 or 1 for EYFSP measures; found other values",
        )
        ph = (typed["measure"] == "phonics_mark").to_numpy(bool)
        m2 = ph & ((v < 0) | (v > 40) | (v % 1 != 0)).fillna(False).to_numpy(bool)
        col.add(
            "error",
            t,
            "value",
            "measure_value",
            df,
            m2,
            "assessments.value must be a whole number from 0 to 40 for phonics_mark; found other values",
        )
    return typed


def _date_ok(df: pd.DataFrame, c: str) -> bool:
    return c in df.columns and pd.api.types.is_datetime64_dtype(df[c])


def _child_codes(df: pd.DataFrame, ids: pd.Index) -> np.ndarray:
    """Position of each row's child_id in ``ids`` (unique), -1 where absent.

    One hash lookup per table: pandas' ``isin`` on Arrow-backed strings loops in
    Python, ``Index.get_indexer`` does not.
    """
    return ids.get_indexer(df["child_id"].astype("str"))


def _check_cross(typed: dict[str, pd.DataFrame], col: _Collector, extract: pd.Timestamp) -> None:
    children = typed.get("children")
    have_ids = (
        children is not None
        and "child_id" in children.columns
        and pd.api.types.is_string_dtype(children["child_id"])
    )
    ids = birth = None
    if have_ids:
        first = ~children["child_id"].duplicated().to_numpy()
        ids = pd.Index(children["child_id"].to_numpy()[first])
        if _date_ok(children, "birth_date"):
            birth = children["birth_date"].to_numpy()[first]
    for name, df in typed.items():
        table = TABLES[name]
        codes = None
        if have_ids and "child_id" in df.columns and pd.api.types.is_string_dtype(df["child_id"]):
            codes = _child_codes(df, ids)
        if name != "children" and codes is not None:
            orphan = (codes < 0) & df["child_id"].notna().to_numpy()
            col.add(
                "error",
                name,
                "child_id",
                "orphan",
                df,
                orphan,
                f"{name}.child_id must exist in children; found ids with no child",
            )
        for c in table.date_columns:
            if not _date_ok(df, c):
                continue
            d = df[c]
            future = (d > extract).fillna(False).to_numpy(bool)
            col.add(
                "error",
                name,
                c,
                "after_extract",
                df,
                future,
                f"{name}.{c} must not be after the extract date {extract.date()}; found later dates",
            )
            if (
                birth is not None
                and len(birth)  # no children: every record is an orphan, none can be dated
                and codes is not None
                and not (name == "children" and c == "birth_date")
            ):
                known = codes >= 0
                b = birth[np.where(known, codes, 0)]
                dv = d.to_numpy()
                before = known & ~pd.isna(b) & ~pd.isna(dv) & (dv < b)
                col.add(
                    "error",
                    name,
                    c,
                    "before_birth",
                    df,
                    before,
                    f"{name}.{c} must not be before the child's birth_date; found earlier dates",
                )
    _check_consistency(typed, col)


def _check_consistency(typed: dict[str, pd.DataFrame], col: _Collector) -> None:
    """Census K/E should follow a sen_events record (a warning: extracts lag)."""
    census, ev = typed.get("census"), typed.get("sen_events")
    if census is None or ev is None:
        return
    need = {"child_id", "census_date", "sen_provision"} <= set(census.columns) and {
        "child_id",
        "event_date",
        "event",
    } <= set(ev.columns)
    if not need or not (_date_ok(census, "census_date") and _date_ok(ev, "event_date")):
        return
    if not isinstance(census["sen_provision"].dtype, pd.CategoricalDtype) or not isinstance(
        ev["event"].dtype, pd.CategoricalDtype
    ):
        return
    ids = pd.Index(pd.unique(ev["child_id"].astype("str")))
    ev_code = _child_codes(ev, ids)
    cen_code = _child_codes(census, ids)
    never = np.datetime64("NaT")

    def first_date(mask: np.ndarray) -> np.ndarray:
        if not len(ids):
            return np.full(len(census), never, dtype="datetime64[s]")
        out = np.full(len(ids), np.datetime64("9999-12-31"), dtype="datetime64[s]")
        np.minimum.at(out, ev_code[mask], ev["event_date"].to_numpy(dtype="datetime64[s]")[mask])
        f = out[np.where(cen_code >= 0, cen_code, 0)]
        return np.where(cen_code >= 0, f, never)

    dates = census["census_date"].to_numpy(dtype="datetime64[s]")
    sen = (census["sen_provision"] != "N").to_numpy(bool)
    f = first_date(ev["event_date"].notna().to_numpy())
    m = sen & (pd.isna(f) | (f > dates))
    col.add(
        "warning",
        "census",
        "sen_provision",
        "consistency",
        census,
        m,
        "census.sen_provision K or E should follow a sen_events record on or before census_date; found none",
    )
    e = (census["sen_provision"] == "E").to_numpy(bool)
    f = first_date((ev["event"] == "ehcp").to_numpy(bool) & ev["event_date"].notna().to_numpy())
    m = e & (pd.isna(f) | (f > dates))
    col.add(
        "warning",
        "census",
        "sen_provision",
        "consistency",
        census,
        m,
        "census.sen_provision E should follow an ehcp event on or before census_date; found none",
    )


def row_problems(
    tables, *, extract_date=None, allow_missing=None
) -> tuple[ValidationReport, pd.DataFrame]:
    """Validate and also list every offending row (not just five examples).

    Returns the report and a DataFrame with one row per offending record:
    child_id (empty where the id itself is missing), table, column, rule and
    row (0-based position in that table). Batch scoring uses it to reject
    exactly the children whose records break the contract.
    """
    col = _Collector(keep_rows=True)
    report = _run(Tables.coerce(tables, extract_date, allow_missing=allow_missing), col)
    cols = ["child_id", "table", "column", "rule", "row"]
    rows = (
        pd.concat(col.rows, ignore_index=True)
        if col.rows
        else pd.DataFrame(
            {
                "child_id": pd.array([], dtype="str"),
                "table": [],
                "column": [],
                "rule": [],
                "row": [],
            }
        )[cols]
    )
    return report, rows


def check_tables(tables, *, extract_date=None, allow_missing=None) -> Tables:
    """Validate and return typed tables, or raise :class:`~send_early.SchemaError`.

    The typed tables hold every contract column in its contract dtype (dates as
    ``datetime64``, codes as categoricals, nullable integers as ``Int64``).
    Warnings are logged, not raised. ``extract_date`` and ``allow_missing`` are
    as in :func:`validate`.
    """
    tables = Tables.coerce(tables, extract_date, allow_missing=allow_missing)
    report = validate(tables)
    report.raise_for_errors()
    for p in report._problems:  # no ids in logs: counts and rules only
        logger.warning(
            "data contract warning: %s.%s %s in %d rows", p.table, p.column, p.rule, p.n_rows
        )
    out = {}
    for name, df in tables.items():
        if name in TABLES:
            out[name] = _coerce_table(df, TABLES[name])[0]
    return Tables(out, tables.extract_date, allow_missing=tables.allow_missing)
