"""Reading and writing a folder of contract tables."""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import SchemaError
from ._contract import CONTRACT_VERSION, TABLES
from ._validate import Tables, _coerce_table

logger = logging.getLogger(__name__)

__all__ = ["atomic_write", "parse_iso_date", "read_manifest", "read_tables", "write_tables"]

_EXTS = ("parquet", "csv")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_iso_date(value, *, what: str = "date") -> pd.Timestamp:
    """An ISO 8601 calendar date, ``YYYY-MM-DD``, as a Timestamp; anything else is refused.

    ``01/02/2023`` could be the 1st of February or the 2nd of January, so only the
    ISO form is read from text. Dates, datetimes and Timestamps without a time zone
    are accepted as they are (normalised to midnight).

    Parameters
    ----------
    value : str, date, datetime or Timestamp
    what : str
        What the date is (``"--as-of"``, ``"manifest.json extract_date"``), for the message.

    Examples
    --------
    >>> from send_early.schema import parse_iso_date
    >>> parse_iso_date("2026-01-15").date()
    datetime.date(2026, 1, 15)
    >>> parse_iso_date("15/01/2026", what="as_of")
    Traceback (most recent call last):
    ...
    ValueError: as_of must be an ISO date, YYYY-MM-DD (e.g. 2026-01-15); found '15/01/2026'.
    """
    must = f"{what} must be an ISO date, YYYY-MM-DD (e.g. 2026-01-15); found {value!r}."
    if isinstance(value, str):
        text = value.strip()
        if not _ISO_DATE.fullmatch(text):
            raise ValueError(must)
        try:
            return pd.Timestamp(_dt.date.fromisoformat(text))
        except ValueError:  # 2026-02-30
            raise ValueError(must[:-1] + ", which is not a day of the calendar.") from None
    if isinstance(value, _dt.date | np.datetime64):  # Timestamp and datetime are dates too
        ts = pd.Timestamp(value)
        if not pd.isna(ts) and ts.tz is None:
            return ts.normalize()
    raise ValueError(must)


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


def read_tables(path: str | os.PathLike, *, extract_date=None) -> Tables:
    """Read a folder of contract tables into typed DataFrames.

    One file per table, ``<table>.parquet`` or ``<table>.csv`` (ISO dates); the
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

    Returns
    -------
    Tables
        A mapping of table name to DataFrame, with ``.extract_date``.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist.
    SchemaError
        If a file cannot be parsed at all, a table is given twice, or (without
        ``extract_date``) the manifest is missing, not valid JSON or has no ISO
        ``extract_date``.
    ValueError
        If ``extract_date`` is not an ISO date.
    """
    folder = Path(path)
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
    for name, table in TABLES.items():
        files = [folder / f"{name}.{ext}" for ext in _EXTS if (folder / f"{name}.{ext}").exists()]
        if len(files) > 1:
            raise SchemaError(
                f"{name} is given twice ({', '.join(f.name for f in files)}); keep one file per table."
            )
        if not files:
            continue
        f = files[0]
        try:
            if f.suffix == ".csv":
                df = pd.read_csv(f, dtype="str", keep_default_na=True)
            else:
                df = pd.read_parquet(f)
        except Exception as exc:
            raise SchemaError(
                f"{name}: could not read {f.name} ({type(exc).__name__}: {exc})."
            ) from None
        out[name] = _coerce_table(df, table)[0]
    known = {f"{n}.{e}" for n in TABLES for e in _EXTS} | {"manifest.json"}
    for f in sorted(folder.iterdir()):
        if f.suffix.lstrip(".") in _EXTS and f.name not in known:
            logger.warning("%s is not a contract table file; it is ignored", f.name)
    return Tables(out, extract_date)


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
