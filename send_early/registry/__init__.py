"""MLflow registry for send_early risk models: log, review, promote, load, drift.

The only part of send_early that imports mlflow, and only inside its functions. By
default models go to an embedded store (``./send_early_store`` or
``$SEND_EARLY_STORE``: a SQLite database ``mlflow.db`` and an ``artifacts/`` folder);
``tracking_uri=`` or ``$MLFLOW_TRACKING_URI`` names any MLflow server instead. Only
logging (models, drift) creates a store; loading, reviewing, listing and promoting
need one to exist.
MLflow telemetry is off unless ``MLFLOW_DISABLE_TELEMETRY=false`` is set.
"""

from ._council import grant_role, revoke_user, setup_registry
from ._identity import candidates_name
from ._loading import load_model
from ._logging import LoggedModel, log_drift, log_model
from ._promote import Promotion, demote, promote, rollback
from ._pyfunc import OUTPUT_COLUMNS, directory_sha256, pyfunc_input
from ._registered_card import registered_card
from ._review import REVIEW_CHECKLIST, ReviewSummary, review_summary
from ._serve import make_app, serve
from ._spark import spark_scores
from ._store import STORE_ENV, Store, default_store_path, open_store
from ._versions import (
    ALIASES_ENV,
    DECISION_COLUMNS,
    DEFAULT_ALIASES,
    VERSION_COLUMNS,
    allowed_aliases,
    list_decisions,
    list_versions,
)

__all__ = [
    "ALIASES_ENV",
    "DECISION_COLUMNS",
    "DEFAULT_ALIASES",
    "OUTPUT_COLUMNS",
    "REVIEW_CHECKLIST",
    "STORE_ENV",
    "VERSION_COLUMNS",
    "LoggedModel",
    "Promotion",
    "ReviewSummary",
    "Store",
    "allowed_aliases",
    "candidates_name",
    "demote",
    "default_store_path",
    "directory_sha256",
    "grant_role",
    "list_decisions",
    "list_versions",
    "load_model",
    "log_drift",
    "log_model",
    "make_app",
    "open_store",
    "promote",
    "pyfunc_input",
    "registered_card",
    "review_summary",
    "revoke_user",
    "rollback",
    "serve",
    "setup_registry",
    "spark_scores",
]
