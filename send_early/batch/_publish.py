"""A scoring run's outputs published as one unit: its files first, its manifest last.

The scores and rejects of a run are written into a folder of their own beside the scores
file, flushed to disk, and then published by one atomic rename: the run manifest
(``<out>_run.json``), which names the run's files with their SHA-256 and row counts. The
files a published manifest names are never changed, so a reader who trusts only those
files sees the previous complete run or the new one, never a mix, whenever a run stops.
The ``--out`` and ``--rejects`` paths are refreshed from the run folder after the manifest.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import hashlib
import io
import json
import logging
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import IntegrityError

logger = logging.getLogger(__name__)

RUN_FORMAT = "send_early.run/1"
_TMP = ".send-early.tmp"  # every temporary name this module makes ends with it
_SUFFIXES = (".csv", ".parquet")


@dataclass(frozen=True)
class _Paths:
    scores: Path
    rejects: Path
    manifest: Path
    store: Path  # the run folders, beside the manifest


def _paths(scores, rejects=None) -> _Paths:
    scores = Path(scores)
    rejects = Path(rejects) if rejects is not None else None
    rejects = rejects or scores.with_name(scores.stem + "_rejects.csv")
    manifest = scores.with_name(scores.stem + "_run.json")
    return _Paths(scores, rejects, manifest, scores.with_name(f".{scores.stem}.send-early-runs"))


def _problems(path: Path, what: str) -> list[str]:
    if path.suffix not in _SUFFIXES:
        return [f"{what} must end in .csv or .parquet; found {path.name!r}."]
    if path.is_dir():
        return [f"{what} must be a file; {path} is a folder."]
    parent = path.parent
    if not parent.is_dir():
        state = "is a file" if parent.exists() else "does not exist"
        return [
            f"{what} must be in an existing folder; {parent} {state}. Create the folder "
            "first: nothing is created for a mistyped path."
        ]
    try:  # os.access says yes to root on a read-only mount: try it
        fd, probe = _mkstemp(parent, "probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return [f"{what} must be in a folder this user can write to; {parent}: {exc.strerror}."]
    return []


def check_outputs(scores, rejects=None, *, names=("scores", "rejects")) -> None:
    """Refuse output paths a run could not publish to, before any work.

    Parameters
    ----------
    scores, rejects : path-like
        The scores file and the rejects file (default ``<scores>_rejects.csv``), each
        ``.csv`` or ``.parquet``, in an existing folder this user can write to.
    names : pair of str
        How messages name the two paths (the CLI passes ``("--out", "--rejects")``).

    Raises
    ------
    ValueError
        Naming every bad path at once: a wrong suffix, a folder, a parent folder that does
        not exist or cannot be written, the two paths the same file.
    """
    p = _paths(scores, rejects)
    problems = _problems(p.scores, names[0])
    if rejects is not None:
        problems += _problems(p.rejects, names[1])
    elif p.rejects.is_dir():  # the default, beside the scores
        problems.append(f"{names[1]} must be a file; {p.rejects} is a folder.")
    if not problems and p.scores.resolve() == p.rejects.resolve():
        problems.append(f"{names[0]} and {names[1]} must be different files; both are {p.scores}.")
    if problems:
        raise ValueError(" ".join(problems))


def _mkstemp(folder: Path, name: str) -> tuple[int, str]:
    import tempfile

    return tempfile.mkstemp(prefix=f".{name}.", suffix=_TMP, dir=folder)


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}{_TMP}")


def _fsync(path: Path) -> None:
    """Flush a file or a folder (its entries) to disk; folders cannot be opened on Windows."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except (IsADirectoryError, PermissionError):  # pragma: no cover - Windows folders
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_frame(df: pd.DataFrame, path: Path) -> None:
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False, date_format="%Y-%m-%d")
    _fsync(path)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _step(name: str) -> None:
    """Called between the publishing steps; the kill tests stop a run here."""


@contextlib.contextmanager
def _locked(p: _Paths):
    """Hold the run folders' lock: one writer per output set; freed when the process dies."""
    store = p.store
    created = not store.exists()
    store.mkdir(exist_ok=True)
    fd = os.open(store, os.O_RDONLY)
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no lock
            fcntl = None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise BlockingIOError(
                    f"another run is writing {p.scores} and its run record; wait for it to "
                    "finish (nothing was written)."
                ) from None
        yield
    finally:
        os.close(fd)
        if created:
            with contextlib.suppress(OSError):
                store.rmdir()  # only when empty: the first run failed before publishing


def _published_run(manifest: Path) -> str | None:
    """The run folder the manifest names: "" when none does, None when it cannot be read."""
    try:
        m = json.loads(manifest.read_text())
        if m.get("format") != RUN_FORMAT:
            return ""
        return Path(m["files"]["scores"]["path"]).parent.name
    except FileNotFoundError:
        return ""
    except (ValueError, KeyError, TypeError, AttributeError, OSError):
        return None  # unreadable: keep every complete run folder


def _clean_stale(p: _Paths) -> int:
    """Remove what a stopped run left: temporary names and run folders no manifest names."""
    published = _published_run(p.manifest)
    removed = 0
    for entry in p.store.iterdir():
        if entry.name.endswith(_TMP) or (published is not None and entry.name != published):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed += 1
    for dest in (p.scores, p.rejects, p.manifest):
        for entry in dest.parent.glob(f".{glob.escape(dest.name)}.*.tmp"):  # and atomic_write's
            entry.unlink(missing_ok=True)
            removed += 1
    # check_outputs' write probe, left by a run stopped between creating and removing it
    for folder in {p.scores.parent, p.rejects.parent}:
        for entry in folder.glob(f".probe.*{_TMP}"):
            entry.unlink(missing_ok=True)
            removed += 1
    if removed:
        logger.info("removed %d temporary files or folders left by a stopped run", removed)
    return removed


def _refresh(src: Path, dest: Path) -> None:
    """Replace ``dest`` with the run's file: a hard link where possible, else a copy."""
    tmp = _tmp_name(dest)
    try:
        try:
            os.link(src, tmp)
        except OSError:  # another file system, or links not allowed
            shutil.copyfile(src, tmp)
            _fsync(tmp)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_run(result, scores, rejects=None, *, record: dict | None = None) -> Path:
    """Publish a run's scores, rejects and summary as one unit; return the manifest's path.

    The files go into a new run folder beside ``scores``
    (``.<scores stem>.send-early-runs/<run id>/``) and are flushed to disk; then the
    manifest ``<scores stem>_run.json`` (the run summary: counts, model, as-of, capacity,
    warnings, and each file's path, SHA-256 and rows) is written to a temporary name,
    flushed and renamed over the previous one. That rename publishes the run. ``scores`` and ``rejects`` are then refreshed from the run folder and
    the previous run folder is removed. Temporary files of a run that stopped earlier are
    removed first; on any error nothing of this run is left and the previous run stays
    published.

    Parameters
    ----------
    result : ScoringResult
        From :func:`send_early.score`.
    scores : path-like
        The scores file (``.csv`` or ``.parquet``) in an existing folder.
    rejects : path-like, optional
        The rejects file; default ``<scores stem>_rejects.csv``.
    record : dict, optional
        More fields for the run summary (the CLI adds the model source as typed).

    Returns
    -------
    Path
        The manifest. Read the run back with :func:`read_run`.
    """
    check_outputs(scores, rejects)
    p = _paths(scores, rejects)
    with _locked(p):
        _clean_stale(p)
        now = dt.datetime.now(dt.UTC)
        run_id = f"{now:%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(3)}"
        tmp, final = p.store / f".{run_id}{_TMP}", p.store / run_id
        tmp.mkdir()
        try:
            files = {}
            for kind, df, dest in (
                ("scores", result.scores, p.scores),
                ("rejects", result.rejects, p.rejects),
            ):
                name = f"{kind}{dest.suffix}"
                _write_frame(df, tmp / name)
                files[kind] = {
                    "path": (final / name).relative_to(p.manifest.parent).as_posix(),
                    "sha256": _sha256(tmp / name),
                    "rows": len(df),
                    "bytes": (tmp / name).stat().st_size,
                }
                _step(f"wrote {kind}")
            _fsync(tmp)
            os.rename(tmp, final)
            _fsync(p.store)
            _step("run folder complete")
            summary = {
                "format": RUN_FORMAT,
                "run_id": run_id,
                **result.metadata,
                **(record or {}),
                "files": files,
                "outputs": {"scores": str(p.scores), "rejects": str(p.rejects)},
                "finished_at": now.isoformat(timespec="seconds"),
            }
            text = json.dumps(summary, indent=2, default=str) + "\n"
            mtmp = _tmp_name(p.manifest)
            try:
                mtmp.write_text(text)
                _fsync(mtmp)
                os.replace(mtmp, p.manifest)  # the run is published
            finally:
                mtmp.unlink(missing_ok=True)
            _fsync(p.manifest.parent)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            if _published_run(p.manifest) != run_id:
                shutil.rmtree(final, ignore_errors=True)
            raise
        try:
            _step("manifest written")
            for kind, dest in (("scores", p.scores), ("rejects", p.rejects)):
                try:
                    _refresh(final / Path(files[kind]["path"]).name, dest)
                except OSError as exc:
                    raise OSError(
                        f"the run is published ({p.manifest}), but {dest} could not be "
                        f"refreshed from it: {exc}"
                    ) from exc
                _step(f"refreshed {kind}")
            for folder in {p.scores.parent, p.rejects.parent}:
                _fsync(folder)
        finally:
            for entry in p.store.iterdir():  # the previous run, no longer named
                if entry.name != run_id:
                    shutil.rmtree(entry, ignore_errors=True)
    return p.manifest


def _manifest_path(path) -> Path:
    path = Path(path)
    if path.suffix in _SUFFIXES:
        return path.with_name(path.stem + "_run.json")
    return path


class _Changed(Exception):
    pass


def _read_file(base: Path, kind: str, spec: dict) -> pd.DataFrame:
    name = Path(spec["path"])
    if name.is_absolute() or ".." in name.parts:
        raise _Changed(f"the {kind} file must be in the run folder; found {spec['path']!r}")
    path = base / name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _Changed(f"the {kind} file {spec['path']} is missing") from None
    if hashlib.sha256(data).hexdigest() != spec["sha256"]:
        raise _Changed(f"the {kind} file {spec['path']} differs from its SHA-256")
    if path.suffix == ".parquet":
        df = pd.read_parquet(io.BytesIO(data))
    else:
        df = pd.read_csv(  # text as written: "" is empty text, only a missing child_id is NA
            io.BytesIO(data),
            dtype="str"
            if kind == "rejects"
            else {c: "str" for c in ("child_id", "model_version", "setting_type", "setting_id")},
            keep_default_na=False,
            na_values={"child_id": [""]},
        )
        if kind == "scores" and "as_of" in df.columns:
            df["as_of"] = pd.to_datetime(df["as_of"], format="%Y-%m-%d")
    if len(df) != spec["rows"]:
        raise _Changed(f"the {kind} file {spec['path']} has {len(df):,} rows, not {spec['rows']:,}")
    return df


def read_run(path):
    """The published run at ``path``: scores and rejects of one complete run, checked.

    The reader's rule: trust only the files the manifest names. A run writes its manifest
    last, so the files it names are complete; this function checks each one's SHA-256 and
    row count and that the counts add up (children read = scored + rejected), and refuses
    anything else.

    Parameters
    ----------
    path : path-like
        The manifest (``<out>_run.json``) or the scores file ``--out`` named.

    Returns
    -------
    ScoringResult
        ``scores, rejects = read_run(path)``; ``.counts``, ``.warnings`` and ``.metadata``
        (the whole manifest) come from the run summary.

    Raises
    ------
    FileNotFoundError
        No run was ever published there.
    ValueError
        The manifest is not a run manifest of this format (runs before this release wrote
        no file list: score again).
    IntegrityError
        A named file is missing or changed, or the counts do not add up.
    """
    from ._score import ScoringResult, _id_codes

    manifest = _manifest_path(path)
    for _ in range(5):  # a run publishing meanwhile may remove the files just named
        try:
            text = manifest.read_text()
        except FileNotFoundError:
            raise FileNotFoundError(
                f"no published scoring run at {path}: {manifest} does not exist (a run writes "
                "it last, so no run finished there)."
            ) from None
        try:
            m = json.loads(text)
        except ValueError:
            raise ValueError(f"{manifest} is not a scoring run manifest (not JSON).") from None
        if not isinstance(m, dict) or m.get("format") != RUN_FORMAT:
            raise ValueError(
                f"{manifest} must be a run manifest of format {RUN_FORMAT!r} naming the run's "
                "files; found none (written before runs were published as one unit?). Score "
                "again to publish a complete run."
            )
        frames, changed = {}, []
        for kind in ("scores", "rejects"):
            try:
                frames[kind] = _read_file(manifest.parent, kind, m["files"][kind])
            except _Changed as exc:
                changed.append(str(exc))
        if not changed:
            break
        if manifest.read_text() == text:
            raise IntegrityError(
                f"{manifest} names files that must be unchanged since the run was published; "
                f"{'; '.join(changed)}. Do not use these outputs: score again."
            )
        # else a newer run was published while we read (and removed these files): read it
    else:
        raise IntegrityError(f"{manifest} kept changing while it was read; try again.")
    c = m.get("counts", {})
    scores, rejects = frames["scores"], frames["rejects"]
    problems = []
    if c.get("input_children") != c.get("scored", -1) + c.get("rejected", -1):
        problems.append(
            f"children read ({c.get('input_children')}) must equal scored ({c.get('scored')}) "
            f"+ rejected ({c.get('rejected')})"
        )
    if len(scores) != c.get("scored"):
        problems.append(f"the scores hold {len(scores):,} rows for {c.get('scored')} scored")
    codes, _ = _id_codes([scores["child_id"], rejects["child_id"]])
    if np.intersect1d(codes[0][codes[0] >= 0], codes[1]).size:
        problems.append("some children are both scored and rejected")
    if problems:
        raise IntegrityError(f"{manifest}: {'; '.join(problems)}. Do not use these outputs.")
    return ScoringResult(
        scores=scores,
        rejects=rejects,
        counts=dict(c),
        warnings=[w.get("message", "") for w in m.get("warnings", [])],
        metadata=m,
    )
