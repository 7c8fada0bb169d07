"""RiskModel: the object councils fit, save, load and score with."""

from ._risk_model import RiskModel, rank_and_flag
from ._spec import ModelSpec, load_model_spec

__all__ = ["ModelSpec", "RiskModel", "load_model_spec", "rank_and_flag"]
