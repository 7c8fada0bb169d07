"""send_early: find, early, the children likely to need SEND support.

A score from send_early is decision support for a person, never a decision.

The public API is re-exported here; heavy parts (MLflow, plotting) are imported
only when first used, so ``import send_early`` stays cheap.
"""

from __future__ import annotations

import importlib
import logging

from .exceptions import IntegrityError, LeakageError, SchemaError, SpecError
from .schema import CONTRACT_VERSION, Tables, ValidationReport, read_tables, validate, write_tables

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

# name -> module that defines it (imported on first access)
_LAZY = {
    "build_features": "send_early.features",
    "build_labels": "send_early.features",
    "make_training_frame": "send_early.features",
    "temporal_split": "send_early.features",
    "population": "send_early.features",
    "load_pipeline": "send_early.features",
    "RiskModel": "send_early.model",
    "score": "send_early.batch",
    "datasets": "send_early.datasets",
    "estimators": "send_early.estimators",
    "evaluation": "send_early.evaluation",
    "fairness": "send_early.fairness",
    "explain": "send_early.explain",
    "report": "send_early.report",
    "registry": "send_early.registry",
    "batch": "send_early.batch",
}

__all__ = [
    "CONTRACT_VERSION",
    "IntegrityError",
    "LeakageError",
    "SchemaError",
    "SpecError",
    "Tables",
    "ValidationReport",
    "__version__",
    "read_tables",
    "validate",
    "write_tables",
    *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        mod = importlib.import_module(_LAZY[name])
        value = mod if mod.__name__.endswith("." + name) else getattr(mod, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'send_early' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
