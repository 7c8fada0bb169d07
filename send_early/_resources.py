"""Finding the TOML specs shipped with send_early (pipelines, models).

An installed wheel holds them under ``send_early/_specs/<kind>/``; an editable
install (a clone of the repository) has them in ``<repo>/<kind>/``. Both are
searched, in that order; an explicit path to a ``.toml`` file is used as given.
"""

from __future__ import annotations

import os
from pathlib import Path

from .exceptions import SpecError

__all__ = ["spec_path", "list_specs", "spec_dirs"]

_KINDS = ("pipelines", "models")


def spec_dirs(kind: str) -> list[Path]:
    """The folders searched for specs of ``kind``, in order (existing ones only).

    Examples
    --------
    >>> from send_early._resources import spec_dirs
    >>> [p.name for p in spec_dirs("pipelines")][:1]
    ['pipelines']
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {', '.join(_KINDS)}; found {kind!r}.")
    here = Path(__file__).resolve().parent
    candidates = [here / "_specs" / kind, here.parent / kind]
    return [p for p in candidates if p.is_dir()]


def list_specs(kind: str) -> list[str]:
    """Names of the shipped specs of ``kind`` (file stems, sorted, no duplicates).

    Examples
    --------
    >>> from send_early._resources import list_specs
    >>> "default" in list_specs("pipelines")
    True
    """
    names: set[str] = set()
    for d in spec_dirs(kind):
        names.update(p.stem for p in d.glob("*.toml"))
    return sorted(names)


def spec_path(kind: str, name_or_path: str | os.PathLike) -> Path:
    """The file of a spec given by shipped name or by path.

    Parameters
    ----------
    kind : {"pipelines", "models"}
        Which kind of spec.
    name_or_path : str or path-like
        A shipped spec name (``"default"``) or a path to a ``.toml`` file.

    Returns
    -------
    Path

    Raises
    ------
    SpecError
        If no spec of that name exists (the message lists the available ones) or
        the path does not exist.

    Examples
    --------
    >>> from send_early._resources import spec_path
    >>> spec_path("pipelines", "default").name
    'default.toml'
    """
    s = os.fspath(name_or_path)
    looks_like_path = (
        isinstance(name_or_path, os.PathLike) or s.endswith(".toml") or os.sep in s or "/" in s
    )
    if looks_like_path:
        p = Path(s)
        if not p.is_file():
            raise SpecError(
                f"{kind} spec file must exist; {p} was not found. Pass a shipped name "
                f"({', '.join(list_specs(kind)) or 'none found'}) or a path to a .toml file."
            )
        return p
    for d in spec_dirs(kind):
        p = d / f"{s}.toml"
        if p.is_file():
            return p
    available = ", ".join(list_specs(kind)) or "none found"
    raise SpecError(
        f"{kind} spec {s!r} is unknown; available: {available}. "
        f"Pass one of these names or a path to a .toml file."
    )
