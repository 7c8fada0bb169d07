"""MLflow registry for send_early risk models: log, review, promote, load, drift.

The only part of send_early that imports mlflow, and only inside its functions. By
default models go to an embedded store (``./send_early_store`` or
``$SEND_EARLY_STORE``: a SQLite database ``mlflow.db`` and an ``artifacts/`` folder);
``tracking_uri=`` or ``$MLFLOW_TRACKING_URI`` names any MLflow server instead. MLflow
telemetry is off unless ``MLFLOW_DISABLE_TELEMETRY=false`` is set.
"""

from ._pyfunc import OUTPUT_COLUMNS, directory_sha256, pyfunc_input
from ._registry import (
    REVIEW_CHECKLIST,
    LoggedModel,
    Promotion,
    ReviewSummary,
    load_model,
    log_drift,
    log_model,
    promote,
    review_summary,
)
from ._store import STORE_ENV, Store, default_store_path, open_store

__all__ = [
    "OUTPUT_COLUMNS",
    "REVIEW_CHECKLIST",
    "STORE_ENV",
    "LoggedModel",
    "Promotion",
    "ReviewSummary",
    "Store",
    "default_store_path",
    "directory_sha256",
    "load_model",
    "log_drift",
    "log_model",
    "open_store",
    "promote",
    "pyfunc_input",
    "review_summary",
]
