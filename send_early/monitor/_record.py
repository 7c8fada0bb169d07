"""The scoring runs on record: a register of published runs beside the model store.

``send-early score`` adds a line per published run to ``scoring_runs.jsonl`` in the
embedded store's folder: where the run's manifest is, its run id, as-of date and model.
It holds no child-level row; the scores stay in the run's own files.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)

#: File name of the register in the store folder.
REGISTER_NAME = "scoring_runs.jsonl"


def run_register_path(store=None) -> Path:
    """Where the register is: ``scoring_runs.jsonl`` in the embedded store's folder.

    Raises
    ------
    FileNotFoundError
        No store there (see :func:`send_early.registry.open_store`).
    ValueError
        The store is a tracking server (it has no folder).
    """
    from ..registry import open_store

    opened = open_store(store, create=False, write=False)
    if opened.path is None:
        raise ValueError(
            "the scoring runs on record sit beside an embedded store (a folder); the store "
            f"{opened.tracking_uri!r} is a tracking server. Name the runs instead (CLI: --runs)."
        )
    return opened.path / REGISTER_NAME


def record_run(manifest, *, store=None) -> Path:
    """Add a published run (its ``<out>_run.json`` manifest) to the runs on record.

    Parameters
    ----------
    manifest : path-like
        The manifest :func:`send_early.batch.write_run` returned.
    store : str or path-like, optional
        The embedded model store (as for :func:`send_early.registry.open_store`).

    Returns
    -------
    Path
        The register file.
    """
    manifest = Path(manifest).resolve()
    m = json.loads(manifest.read_text(encoding="utf-8"))
    model = m.get("model") or {}
    entry = {
        "manifest": str(manifest),
        "run_id": m.get("run_id"),
        "as_of": m.get("as_of"),
        "finished_at": m.get("finished_at"),
        "model": {k: model.get(k) for k in ("name", "version", "uri")},
    }
    path = run_register_path(store)
    line = json.dumps(entry, ensure_ascii=False) + "\n"
    # one write of one line in append mode: runs recorded at once do not mix their lines
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)
    logger.info("scoring run %s recorded in %s", entry["run_id"], path)
    return path


def runs_on_record(name: str, *, store=None) -> list[Path]:
    """The published runs of model ``name`` on record, in as-of order.

    A run counts while its manifest still names it: a later run published to the same
    ``--out`` replaces it (that later run is on record in its place), and a manifest
    removed since is skipped.

    Parameters
    ----------
    name : str
        The registered name or the model's name.
    store : str or path-like, optional
        The embedded model store.

    Returns
    -------
    list of Path
        The manifests, oldest as-of first; empty when none is on record.
    """
    from ._monitor import _model_matches

    path = run_register_path(store)
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:  # a line cut short by a stopped write
            continue
        if isinstance(entry, dict) and _model_matches(entry.get("model") or {}, name):
            entries.append(entry)
    published = {}
    for entry in entries:
        manifest = Path(entry["manifest"])
        if manifest in published or not manifest.exists():
            continue
        try:
            current = json.loads(manifest.read_text(encoding="utf-8")).get("run_id")
        except (OSError, ValueError):
            continue
        if current is not None:
            published[manifest] = current
    kept = {
        (e["manifest"], e["run_id"]): e
        for e in entries
        if published.get(Path(e["manifest"])) == e["run_id"]
    }
    order = sorted(kept.values(), key=lambda e: (e.get("as_of") or "", e.get("finished_at") or ""))
    return [Path(e["manifest"]) for e in order]
