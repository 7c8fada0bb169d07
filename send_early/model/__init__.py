"""RiskModel: the object councils fit, save, load and score with."""

from ._reference import OTHER, drift_reference, reference_cells
from ._risk_model import RiskModel, rank_and_flag
from ._spec import ModelSpec, load_model_spec

__all__ = [
    "OTHER",
    "ModelSpec",
    "RiskModel",
    "drift_reference",
    "load_model_spec",
    "rank_and_flag",
    "reference_cells",
]
