"""Reading and writing a folder of contract tables."""

from __future__ import annotations

import csv
import json
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ..exceptions import SchemaError
from ._coerce import _coerce_table
from ._contract import CONTRACT_VERSION, TABLES
from ._dates import parse_iso_date
from ._tables import Tables, _allowed_missing

logger = logging.getLogger(__name__)

__all__ = ["atomic_write", "read_manifest", "read_tables", "write_tables"]

_EXTS = ("parquet", "csv")


def read_manifest(path: str | os.PathLike) -> dict:
    """The ``manifest.json`` of a folder of contract tables, with ``extract_date`` read.

    The manifest says when the extract was taken; every as-of rule is checked
    against that date, so it is required (:func:`write_tables` writes it).

    Parameters
    ----------
    path : str or path-like
        The folder.

    Returns
    -------
    dict
        The manifest, with ``extract_date`` as a Timestamp.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist.
    SchemaError
        If ``manifest.json`` is missing, is not JSON, or has no ISO ``extract_date``.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{folder} is not a folder of contract tables (it does not exist or is a file)."
        )
    manifest = folder / "manifest.json"
    fix = (
        f'write {manifest} as {{"extract_date": "YYYY-MM-DD"}} with the date the extract was '
        "taken (CLI: or give --extract-date YYYY-MM-DD)"
    )
    if not manifest.is_file():
        raise SchemaError(
            f"A folder of contract tables must hold manifest.json with the extract date; "
            f"found none in {folder}: {fix}."
        )
    try:
        meta = json.loads(manifest.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SchemaError(
            f"manifest.json must be JSON with an ISO extract_date (YYYY-MM-DD); could not read "
            f"{manifest}: {exc}"
        ) from None
    if not isinstance(meta, dict) or "extract_date" not in meta:
        raise SchemaError(
            f"manifest.json must give extract_date; found no extract_date in {manifest}: {fix}."
        )
    try:
        meta["extract_date"] = parse_iso_date(
            meta["extract_date"], what="manifest.json extract_date"
        )
    except ValueError as exc:
        raise SchemaError(f"{exc} In {manifest}.") from None
    return meta


def read_tables(path: str | os.PathLike, *, extract_date=None, allow_missing=()) -> Tables:
    """Read a folder of contract tables into typed DataFrames.

    One file per table, ``<table>.parquet`` or ``<table>.csv`` (UTF-8, a byte
    order mark allowed, the first line the header, dates ``YYYY-MM-DD``); the
    two formats may be mixed. ``manifest.json`` gives ``extract_date`` (see
    :func:`read_manifest`); it is required unless ``extract_date`` is given, and
    today's date is never assumed. Columns whose values all convert to the
    contract type are converted (dates, codes as categoricals, nullable
    integers); a column with any value that does not convert is left exactly as
    read, so that :func:`send_early.validate` can report it: nothing is
    silently coerced or dropped.

    Parameters
    ----------
    path : str or path-like
        The folder.
    extract_date : str or date-like, optional
        The date the extract was taken (ISO ``YYYY-MM-DD``); overrides the
        manifest's (a difference is logged), and lets a folder without a
        manifest be read.
    allow_missing : iterable of str, optional
        Required tables that may be absent, e.g. ``("sen_events",)``: an
        explicit opt-out (see :class:`~send_early.Tables`); validation then
        warns instead of failing. Without ``sen_events`` children already
        identified are scored and can be flagged.

    Returns
    -------
    Tables
        A mapping of table name to DataFrame, with ``.extract_date``.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist.
    SchemaError
        If a file cannot be read as a table (not UTF-8, no header row, a column
        name twice, not Parquet), a table is given twice, or (without
        ``extract_date``) the manifest is missing, not valid JSON or has no ISO
        ``extract_date``. One error lists every such file; no data value is
        shown.
    ValueError
        If ``extract_date`` is not an ISO date or ``allow_missing`` names no
        contract table (or names ``children``).
    """
    folder = Path(path)
    allow_missing = _allowed_missing(allow_missing)
    if extract_date is not None:
        extract_date = parse_iso_date(extract_date, what="extract_date")
        if not folder.is_dir():
            raise FileNotFoundError(
                f"{folder} is not a folder of contract tables (it does not exist or is a file)."
            )
        if (folder / "manifest.json").exists():
            try:
                found = read_manifest(folder)["extract_date"]
            except SchemaError as exc:
                logger.warning("manifest.json ignored (extract_date was given): %s", exc)
            else:
                if found != extract_date:
                    logger.warning(
                        "extract_date %s given; manifest.json says %s (ignored)",
                        extract_date.date(),
                        found.date(),
                    )
    else:
        extract_date = read_manifest(folder)["extract_date"]
    out: dict[str, pd.DataFrame] = {}
    problems: list[str] = []
    for name, table in TABLES.items():
        files = [folder / f"{name}.{ext}" for ext in _EXTS if (folder / f"{name}.{ext}").exists()]
        if len(files) > 1:
            problems.append(
                f"{name} is given twice ({', '.join(f.name for f in files)}); keep one file per table."
            )
            continue
        if not files:
            continue
        try:
            df = (
                _read_csv(files[0], table) if files[0].suffix == ".csv" else _read_parquet(files[0])
            )
        except _FileProblem as exc:
            problems.append(f"{name}: {exc}")
            continue
        out[name] = _coerce_table(df, table)[0]
    if problems:
        raise SchemaError(
            f"{len(problems)} table file(s) in {folder} could not be read:\n  "
            + "\n  ".join(problems)
        )
    known = {f"{n}.{e}" for n in TABLES for e in _EXTS} | {"manifest.json"}
    for f in sorted(folder.iterdir()):
        if f.suffix.lstrip(".") in _EXTS and f.name not in known:
            logger.warning("%s is not a contract table file; it is ignored", f.name)
    tables = Tables(out, extract_date, allow_missing=allow_missing)
    for name in tables.allow_missing:
        if name not in tables:
            logger.warning(
                "%s: no %s.csv or %s.parquet; allowed missing, so children it would exclude "
                "from the population are scored",
                name,
                name,
                name,
            )
    return tables


class _FileProblem(Exception):
    """A table file that cannot be read as a table; the message names the file and the fix."""


def _first_bad_line(f: Path) -> int:
    """The 1-based number of the first line of ``f`` that is not UTF-8 (0 if none)."""
    with open(f, "rb") as fh:
        for i, line in enumerate(fh, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return i
    return 0


def _not_utf8(f: Path) -> _FileProblem:
    line = _first_bad_line(f)
    where = f"line {line} is not" if line else "it is not"
    return _FileProblem(
        f"{f.name} must be UTF-8 text; {where} (was it saved as Latin-1 or Windows-1252?). "
        "Save it as 'CSV UTF-8'."
    )


def _read_csv(f: Path, table) -> pd.DataFrame:
    """A CSV table file, every value as text; header and encoding faults named, no values shown."""
    expected = ", ".join(table.column_names)
    try:
        with open(f, encoding="utf-8-sig", newline="") as fh:  # a BOM (Excel's CSV UTF-8) is fine
            first = fh.readline()
    except UnicodeDecodeError:
        raise _not_utf8(f) from None
    if not first.strip():
        raise _FileProblem(
            f"{f.name} is empty; the first line must be the header with columns {expected}."
        )
    header = next(csv.reader([first]))
    if not set(header) & set(table.column_names):
        raise _FileProblem(
            f"{f.name}: the first line must be the header with columns {expected}; it holds no "
            "expected column names. Was the header row dropped?"
        )
    repeated = [h for h, n in Counter(header).items() if n > 1]
    if repeated:
        raise _FileProblem(
            f"{f.name}: each column name must appear once in the header; found "
            f"{', '.join(repeated)} more than once. Keep one column of each name."
        )
    try:
        return pd.read_csv(f, dtype="str", keep_default_na=True, encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise _not_utf8(f) from None
    except (ValueError, OSError) as exc:  # pandas' ParserError is a ValueError
        raise _FileProblem(
            f"could not read {f.name} as CSV ({type(exc).__name__}: {exc})."
        ) from None


def _read_parquet(f: Path) -> pd.DataFrame:
    """A Parquet table file; a file that is not Parquet, or repeats a column name, is named."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(f).names
    except (pa.ArrowException, OSError) as exc:
        raise _FileProblem(
            f"{f.name} is not a Parquet file that can be read ({type(exc).__name__}). Is it "
            f"another format renamed .parquet? Write it as Parquet, or as CSV named "
            f"{f.stem}.csv."
        ) from None
    repeated = [h for h, n in Counter(names).items() if n > 1]
    if repeated:
        raise _FileProblem(
            f"{f.name}: each column name must appear once; found {', '.join(repeated)} more "
            "than once. Keep one column of each name."
        )
    try:
        return pd.read_parquet(f)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _FileProblem(
            f"could not read {f.name} as Parquet ({type(exc).__name__}: {exc})."
        ) from None


def atomic_write(path: str | os.PathLike, write) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path``.

    Readers never see a half-written file: either the old file or the new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _write_frame(df: pd.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        atomic_write(path, lambda p: df.to_parquet(p, index=False))
    else:

        def w(p):
            df.to_csv(p, index=False, date_format="%Y-%m-%d")

        atomic_write(path, w)


def write_tables(
    tables: Mapping[str, pd.DataFrame],
    path: str | os.PathLike,
    *,
    format: str = "parquet",
    extract_date=None,
) -> Path:
    """Write contract tables to a folder, one file per table, plus ``manifest.json``.

    Each file is written atomically (temporary file, then rename).

    Parameters
    ----------
    tables : Tables or mapping
        The tables to write.
    path : str or path-like
        The folder (created if needed).
    format : {"parquet", "csv"}
        File format.
    extract_date : date-like, optional
        Written to the manifest; defaults to ``tables.extract_date``.
    """
    if format not in _EXTS:
        raise ValueError(f"format must be 'parquet' or 'csv'; found {format!r}.")
    tables = Tables.coerce(tables, extract_date)
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        other = folder / f"{name}.{'csv' if format == 'parquet' else 'parquet'}"
        other.unlink(missing_ok=True)
        _write_frame(df, folder / f"{name}.{format}", format)
    meta = {
        "extract_date": tables.extract_date.date().isoformat(),
        "contract_version": CONTRACT_VERSION,
    }
    atomic_write(
        folder / "manifest.json", lambda p: p.write_text(json.dumps(meta, indent=2) + "\n")
    )
    return folder
