"""As-of features, label windows and temporal splits (the leakage-proof core).

Every feature is computed from records dated on or before an as-of date, as
declared in a TOML pipeline spec (``pipelines/default.toml``, documented in
``docs/features.md``).
"""

from ._cutoffs import CUTOFF_TABLES, CutoffTable
from ._docs import features_markdown
from ._engine import STATUSES, build_features, population
from ._labels import (
    NEED_AREAS,
    OUTCOMES,
    Outcome,
    build_labels,
    make_training_frame,
    outcome_definition,
)
from ._pipeline import AGGREGATIONS, ROLES, TRANSFORMS, FeatureSpec, PipelineSpec, parse_window
from ._population import POPULATIONS
from ._records import feature_records
from ._spec import feature_roles, load_pipeline
from ._split import temporal_split

__all__ = [
    "AGGREGATIONS",
    "CUTOFF_TABLES",
    "NEED_AREAS",
    "OUTCOMES",
    "POPULATIONS",
    "ROLES",
    "STATUSES",
    "TRANSFORMS",
    "CutoffTable",
    "FeatureSpec",
    "Outcome",
    "PipelineSpec",
    "build_features",
    "build_labels",
    "feature_roles",
    "feature_records",
    "features_markdown",
    "load_pipeline",
    "make_training_frame",
    "outcome_definition",
    "parse_window",
    "population",
    "temporal_split",
]
