"""The card's "Features left out" block: each feature the model spec left out, with why."""

from __future__ import annotations

__all__ = ["left_out_reasons"]


def left_out_reasons(spec) -> dict[str, str] | None:
    """Feature -> reason from ``ModelSpec.left_out`` (None for a spec without reasons).

    Examples
    --------
    >>> from send_early.model import load_model_spec
    >>> from send_early.report._left_out import left_out_reasons
    >>> left_out_reasons(load_model_spec("default"))["referrals_ep_365d"][:16]
    "role 'process': "
    """
    reasons = getattr(spec, "left_out", None) if spec is not None else None
    return {str(k): str(v) for k, v in reasons.items()} if reasons else None
