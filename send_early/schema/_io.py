"""Reading and writing a folder of contract tables."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ..exceptions import SchemaError
from ._contract import CONTRACT_VERSION, TABLES
from ._validate import Tables, _coerce_table

logger = logging.getLogger(__name__)

__all__ = ["read_tables", "write_tables", "atomic_write"]

_EXTS = ("parquet", "csv")


def read_tables(path: str | os.PathLike) -> Tables:
    """Read a folder of contract tables into typed DataFrames.

    One file per table, ``<table>.parquet`` or ``<table>.csv`` (ISO dates); the
    two formats may be mixed. An optional ``manifest.json`` gives
    ``extract_date`` (default: today). Columns whose values all convert to the
    contract type are converted (dates, codes as categoricals, nullable
    integers); a column with any value that does not convert is left exactly as
    read, so that :func:`send_early.validate` can report it: nothing is
    silently coerced or dropped.

    Parameters
    ----------
    path : str or path-like
        The folder.

    Returns
    -------
    Tables
        A mapping of table name to DataFrame, with ``.extract_date``.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist.
    SchemaError
        If a file cannot be parsed at all, a table is given twice, or the
        manifest is not valid JSON.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{folder} is not a folder of contract tables (it does not exist or is a file)."
        )
    extract_date = None
    manifest = folder / "manifest.json"
    if manifest.exists():
        try:
            meta = json.loads(manifest.read_text())
            if "extract_date" in meta:
                extract_date = pd.Timestamp(meta["extract_date"])
        except (json.JSONDecodeError, ValueError, TypeError) as exc:
            raise SchemaError(
                f"manifest.json must be JSON with an ISO extract_date (YYYY-MM-DD); could not read it: {exc}"
            ) from None
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
