"""The outcome log: what happened after each flag, kept beside the model store.

One SQLite file, ``outcomes.sqlite``, in the embedded store's folder (or a file named
with ``log=``), never in MLflow artifacts. Each row is one outcome of one flagged child
for one model version and one scoring date; a file is recorded in one transaction, so a
reader sees all of it or none of it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import hashlib
import logging
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import SchemaError
from ..schema import atomic_write, parse_iso_dates

logger = logging.getLogger(__name__)

#: What can follow a flag, in the order a case usually moves.
OUTCOME_CODES = (
    "reviewed",
    "no_action",
    "sen_support_started",
    "referred",
    "declined",
    "unknown",
)
#: Columns of an outcome file (others are ignored and never stored).
OUTCOME_COLUMNS = ("child_id", "model_name", "model_version", "as_of", "outcome", "outcome_date")
#: File name of the log in the store folder.
LOG_NAME = "outcomes.sqlite"
REJECT_COLUMNS = ("child_id", "row", "column", "rule", "reason")
_KEY = ["child_id", "model_name", "model_version", "as_of", "outcome"]
_EXAMPLES = 5

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    batch_id INTEGER PRIMARY KEY,
    recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    rows INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outcomes (
    child_id TEXT NOT NULL,
    model_name TEXT NOT NULL,
    model_version TEXT NOT NULL,
    as_of TEXT NOT NULL,
    outcome TEXT NOT NULL,
    outcome_date TEXT,
    batch_id INTEGER NOT NULL REFERENCES batches(batch_id),
    PRIMARY KEY (child_id, model_name, model_version, as_of, outcome)
);
"""


def outcome_log_path(store=None, *, log=None) -> Path:
    """Where the outcome log is: ``log`` if given, else ``outcomes.sqlite`` in the store.

    Parameters
    ----------
    store : str or path-like, optional
        The model store (folder or tracking URI, as for
        :func:`send_early.registry.open_store`); it must exist. A tracking server has no
        folder: pass ``log`` instead.
    log : path-like, optional
        The log file itself.

    Returns
    -------
    Path
    """
    if log is not None:
        return Path(log).expanduser().resolve()
    from ..registry import open_store

    opened = open_store(store, create=False, write=False)
    if opened.path is None:
        raise ValueError(
            f"the outcome log must sit beside an embedded store (a folder); the store "
            f"{opened.tracking_uri!r} is a tracking server. Name a file for the log: "
            "log= (CLI: --log FILE), kept where the council keeps the store."
        )
    return opened.path / LOG_NAME


@dataclass(frozen=True)
class RecordResult:
    """What :func:`record_outcomes` did: counts only (no child ids)."""

    log: Path
    read: int
    recorded: int
    already_recorded: int
    rejected: int
    ignored_columns: tuple[str, ...] = ()
    rejects_path: Path | None = None
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = (
            f"Read {self.read:,} outcome rows: recorded {self.recorded:,}, already recorded "
            f"{self.already_recorded:,}, rejected {self.rejected:,}. Log: {self.log}"
        )
        if self.ignored_columns:
            text += f"\nIgnored columns (not stored): {', '.join(self.ignored_columns)}"
        if self.rejects_path is not None:
            text += f"\nRejects: {self.rejects_path}"
        return text


def _read_source(source) -> tuple[pd.DataFrame, str]:
    if isinstance(source, pd.DataFrame):
        digest = hashlib.sha256(
            pd.util.hash_pandas_object(source, index=False).to_numpy().tobytes()
        ).hexdigest()
        return source.copy(), digest
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"the outcome file must exist; {path} does not.")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if path.suffix == ".parquet":
        return pd.read_parquet(path), digest
    if path.suffix != ".csv":
        raise ValueError(f"the outcome file must be .csv or .parquet; found {path.name!r}.")
    try:
        df = pd.read_csv(path, dtype="str", keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError:
        raise SchemaError(f"the outcome file {path} must be UTF-8 text.") from None
    return df, digest


def _text(s: pd.Series) -> pd.Series:
    return s.astype("str").fillna("").str.strip()


def _blank_to_none(s: pd.Series) -> pd.Series:
    """Empty text is a missing date, not a malformed one."""
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        return s.where(s.astype("str").str.strip() != "", None)
    return s


def check_outcomes(df: pd.DataFrame, *, today=None) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Check an outcome table; every problem at once.

    Rules: the six columns of :data:`OUTCOME_COLUMNS` are present; ``child_id``,
    ``model_name`` and ``model_version`` are filled; ``outcome`` is one of
    :data:`OUTCOME_CODES`; ``as_of`` and ``outcome_date`` are ISO dates (``outcome_date``
    may be empty only for ``unknown``), not after ``today``, and an outcome is not dated
    before the flag; one row per child, model version, as-of date and outcome.

    Returns
    -------
    clean : DataFrame
        The valid rows, the six columns as text (dates ``YYYY-MM-DD``).
    rejects : DataFrame
        One row per problem: child_id, row (1-based data row of the file), column,
        rule, reason.
    problems : list of str
        One message per rule broken, naming the column, the rule, the count and up to
        five example ids.

    Raises
    ------
    SchemaError
        When a column is missing (nothing can be checked).
    """
    clean, rejects, problems = _check(df, today=today)
    return clean.drop(columns="_row"), rejects, problems


def _check(df: pd.DataFrame, *, today=None) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """:func:`check_outcomes`, the valid rows keeping their file row in ``_row``."""
    missing = [c for c in OUTCOME_COLUMNS if c not in df.columns]
    if missing:
        raise SchemaError(
            f"the outcome file must have the columns {', '.join(OUTCOME_COLUMNS)}; "
            f"{', '.join(missing)} missing (found {', '.join(map(str, df.columns)) or 'none'})."
        )
    today = pd.Timestamp(today or dt.date.today()).normalize()
    t = {c: _text(df[c]) for c in ("child_id", "model_name", "model_version", "outcome")}
    as_of, bad_as_of = parse_iso_dates(_blank_to_none(df["as_of"]))
    when, bad_when = parse_iso_dates(_blank_to_none(df["outcome_date"]))
    outcome = t["outcome"].str.lower()
    known = outcome.isin(OUTCOME_CODES).to_numpy()
    rules = [
        ("child_id", "required", (t["child_id"] == "").to_numpy(), "child_id is empty"),
        ("model_name", "required", (t["model_name"] == "").to_numpy(), "model_name is empty"),
        (
            "model_version",
            "required",
            (t["model_version"] == "").to_numpy(),
            "model_version is empty",
        ),
        (
            "outcome",
            "allowed_values",
            ~known,
            f"outcome must be one of {', '.join(OUTCOME_CODES)}",
        ),
        ("as_of", "required", as_of.isna().to_numpy() & ~bad_as_of, "as_of is empty"),
        ("as_of", "iso_date", bad_as_of, "as_of must be an ISO date, YYYY-MM-DD"),
        ("outcome_date", "iso_date", bad_when, "outcome_date must be an ISO date, YYYY-MM-DD"),
        (
            "outcome_date",
            "required",
            (when.isna().to_numpy() & ~bad_when & (outcome != "unknown").to_numpy()),
            "outcome_date is empty (only an unknown outcome may have no date)",
        ),
        (
            "outcome_date",
            "not_before_flag",
            (when < as_of).fillna(False).to_numpy(bool),
            "outcome_date is before as_of (an outcome cannot precede the flag)",
        ),
        (
            "as_of",
            "not_in_future",
            (as_of > today).fillna(False).to_numpy(bool),
            f"as_of is after today ({today.date()})",
        ),
        (
            "outcome_date",
            "not_in_future",
            (when > today).fillna(False).to_numpy(bool),
            f"outcome_date is after today ({today.date()})",
        ),
    ]
    clean = pd.DataFrame(
        {
            "_row": np.arange(1, len(df) + 1),  # the file's data row, for the rejects
            **{c: t[c] for c in ("child_id", "model_name", "model_version")},
            "as_of": as_of.dt.strftime("%Y-%m-%d"),
            "outcome": outcome,
            "outcome_date": when.dt.strftime("%Y-%m-%d"),
        }
    )
    dup = clean.duplicated(subset=_KEY, keep="first").to_numpy() & known
    rules.append(
        (
            "outcome",
            "unique",
            dup,
            "a second row for the same child, model version, as_of and outcome",
        )
    )
    return _split(clean, t["child_id"], rules)


def _split(clean, ids, rules) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    bad = np.zeros(len(clean), bool)
    rows = clean["_row"].to_numpy() if "_row" in clean else np.arange(1, len(clean) + 1)
    parts, problems = [], []
    for column, rule, mask, reason in rules:
        mask = np.asarray(mask, bool)
        if not mask.any():
            continue
        bad |= mask
        where = np.flatnonzero(mask)
        examples = ", ".join(ids.iloc[where[:_EXAMPLES]].replace("", "(empty)"))
        more = ", ..." if len(where) > _EXAMPLES else ""
        problems.append(
            f"outcomes.{column} ({rule}): {reason}; found in {len(where):,} rows "
            f"(child_id {examples}{more})."
        )
        parts.append(
            pd.DataFrame(
                {
                    "child_id": ids.iloc[where].to_numpy(),
                    "row": rows[where],
                    "column": column,
                    "rule": rule,
                    "reason": reason,
                }
            )
        )
    rejects = (
        pd.concat(parts, ignore_index=True).sort_values("row", kind="stable")
        if parts
        else pd.DataFrame({c: pd.Series([], dtype="str") for c in REJECT_COLUMNS})
    )
    return clean[~bad].reset_index(drop=True), rejects.reset_index(drop=True), problems


@contextlib.contextmanager
def _connect(path: Path, *, write: bool):
    if write:
        path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(path, timeout=60)
    else:
        if not path.is_file():
            raise FileNotFoundError(
                f"no outcome log at {path}: record outcomes first (send-early record-outcomes)."
            )
        con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=60)
    try:
        if write:
            con.executescript(_SCHEMA)
        yield con
    finally:
        con.close()


def _stored(con, clean: pd.DataFrame) -> pd.DataFrame:
    """The rows already in the log for the children of ``clean`` (their keys and dates)."""
    ids = clean["child_id"].unique().tolist()
    con.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (child_id TEXT PRIMARY KEY)")
    con.execute("DELETE FROM wanted")
    con.executemany("INSERT OR IGNORE INTO wanted VALUES (?)", ((i,) for i in ids))
    return pd.read_sql_query(
        "SELECT o.child_id, model_name, model_version, as_of, outcome, outcome_date "
        "FROM outcomes o JOIN wanted w ON o.child_id = w.child_id",
        con,
        dtype="str",
    )


def _against_log(con, clean: pd.DataFrame):
    """Rows new to the log, the count already there, and rows the log contradicts."""
    old = _stored(con, clean)
    both = clean.merge(old, on=_KEY, how="left", suffixes=("", "_old"), indicator=True)
    seen = (both["_merge"] == "both").to_numpy()
    same = seen & (both["outcome_date"].fillna("") == both["outcome_date_old"].fillna(""))
    conflict = seen & ~same
    _, bad, problems = _split(
        both[clean.columns],
        both["child_id"],
        [
            (
                "outcome_date",
                "matches_log",
                conflict,
                "the log holds this outcome with another date (correct the file, or the "
                "log with the council's data steward)",
            )
        ],
    )
    return both[~seen][list(OUTCOME_COLUMNS)], int(same.sum()), bad, problems


def _insert(con, new: pd.DataFrame, digest: str) -> None:
    """Add ``new`` as one batch (time, user, the file's SHA-256); the caller commits."""
    cur = con.execute(
        "INSERT INTO batches (recorded_at, recorded_by, source_sha256, rows) VALUES (?, ?, ?, ?)",
        (dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), _user(), digest, len(new)),
    )
    rows = new.assign(batch_id=cur.lastrowid).astype(object)
    con.executemany(
        "INSERT INTO outcomes VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows.where(rows.notna(), None).itertuples(index=False, name=None),
    )


def record_outcomes(source, *, store=None, log=None, rejects=None, today=None) -> RecordResult:
    """Check an outcome file and add it to the outcome log in one transaction.

    Parameters
    ----------
    source : path-like or DataFrame
        A ``.csv`` or ``.parquet`` file (or a frame) with the columns of
        :data:`OUTCOME_COLUMNS`: one row per flagged child, model version, scoring date
        (``as_of``) and outcome (:data:`OUTCOME_CODES`) with its date. A lists CSV with
        ``model_name``, ``model_version``, ``as_of``, ``outcome`` and ``outcome_date``
        added works; other columns are ignored and never stored.
    store : str or path-like, optional
        The model store; the log is ``outcomes.sqlite`` in its folder.
    log : path-like, optional
        The log file instead (needed for a tracking server).
    rejects : path-like, optional
        Record the valid rows and write the rows that break a rule here (CSV: child_id,
        row, column, rule, reason). Without it a file with any problem is refused whole.
    today : date-like, optional
        The date outcomes may not be after (default: today).

    Returns
    -------
    RecordResult
        Counts read, recorded, already recorded (the same row again: nothing changes)
        and rejected.

    Raises
    ------
    SchemaError
        Naming every problem (column, rule, count, example ids) when the file breaks a
        rule and ``rejects`` is not given, or when a row contradicts the log (the same
        child, version, as_of and outcome recorded with another date); nothing is written.
    """
    df, digest = _read_source(source)
    ignored = tuple(str(c) for c in df.columns if c not in OUTCOME_COLUMNS)
    clean, bad, problems = _check(df, today=today)
    path = outcome_log_path(store, log=log)
    with _connect(path, write=True) as con:
        con.execute("BEGIN IMMEDIATE")  # one writer at a time; released on rollback
        try:
            new, same, c_bad, c_problems = _against_log(con, clean)
            problems += c_problems
            bad = pd.concat([bad, c_bad], ignore_index=True) if len(c_bad) else bad
            if problems and rejects is None:
                raise SchemaError(
                    "the outcome file breaks "
                    f"{len(problems)} rule{'s' * (len(problems) > 1)}; nothing was recorded. "
                    + " ".join(problems)
                    + " Fix the file, or pass --rejects FILE to record the valid rows and "
                    "write the others there."
                )
            _insert(con, new, digest)
            rejects_path = None
            if rejects is not None and len(bad):
                rejects_path = atomic_write(
                    rejects, lambda p: bad[list(REJECT_COLUMNS)].to_csv(p, index=False)
                )
            con.commit()
        except BaseException:
            con.rollback()
            raise
    result = RecordResult(
        log=path,
        read=len(df),
        recorded=len(new),
        already_recorded=same,
        rejected=int(bad["row"].nunique()) if len(bad) else 0,
        ignored_columns=ignored,
        rejects_path=rejects_path,
        problems=problems,
    )
    logger.info(
        "recorded %d outcomes (%d already recorded, %d rejected) in %s",
        result.recorded,
        result.already_recorded,
        result.rejected,
        path,
    )
    return result


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no user database (containers)
        return os.environ.get("USER", "unknown")


def read_outcomes(*, store=None, log=None) -> pd.DataFrame:
    """The outcome log as a frame: the six columns, ``as_of`` and ``outcome_date`` as dates.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from send_early.outcomes import record_outcomes, read_outcomes
    >>> rows = pd.DataFrame({"child_id": ["c1"], "model_name": ["risk"],
    ...     "model_version": ["3"], "as_of": ["2025-01-15"], "outcome": ["reviewed"],
    ...     "outcome_date": ["2025-02-03"]})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     log = folder + "/outcomes.sqlite"
    ...     print(record_outcomes(rows, log=log).recorded)
    ...     print(read_outcomes(log=log)["outcome"].tolist())
    1
    ['reviewed']
    """
    path = outcome_log_path(store, log=log)
    with _connect(path, write=False) as con:
        df = pd.read_sql_query(
            f"SELECT {', '.join(OUTCOME_COLUMNS)} FROM outcomes ORDER BY as_of, child_id",
            con,
            dtype="str",
        )
    for c in ("as_of", "outcome_date"):
        df[c] = pd.to_datetime(df[c], format="%Y-%m-%d").astype("datetime64[s]")
    return df
