"""Cut-off tables shipped with the package (``asq_cutoffs.toml``): one set of cut-offs per
questionnaire interval, each marked confirmed or not against the publisher's tables."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["CUTOFF_TABLES", "CutoffTable"]

_FILES = {"asq3": "asq_cutoffs.toml"}


@dataclass(frozen=True)
class CutoffTable:
    """Cut-offs by interval: ``cutoffs[months][domain]``; ``confirmed[months]``, ``sources``."""

    name: str
    description: str
    source: str
    domains: tuple[str, ...]
    cutoffs: Mapping[int, Mapping[str, float]]
    confirmed: Mapping[int, bool]
    sources: Mapping[int, str]

    def lookup(self, domain: str, size: int = 61) -> np.ndarray:
        """Cut-off of ``domain`` indexed by interval in months (NaN where none is shipped)."""
        out = np.full(size, np.nan)
        for months, cut in self.cutoffs.items():
            out[months] = cut[domain]
        return out


def _load(name: str) -> CutoffTable:
    doc = tomllib.loads((Path(__file__).parent / _FILES[name]).read_text(encoding="utf-8"))
    domains = tuple(doc["domains"])
    rows = doc["interval"]
    return CutoffTable(
        name=doc["name"],
        description=doc["description"],
        source=doc["source"],
        domains=domains,
        cutoffs={r["months"]: dict(zip(domains, r["cutoffs"], strict=True)) for r in rows},
        confirmed={r["months"]: bool(r["confirmed"]) for r in rows},
        sources={r["months"]: r["source"] for r in rows},
    )


#: Shipped cut-off tables by name (``cutoff_table`` in a pipeline spec).
CUTOFF_TABLES: Mapping[str, CutoffTable] = {n: _load(n) for n in _FILES}
