"""The card's results by phase: the rows of :class:`send_early.evaluation.PhaseEvaluation`,
shown under the headline metrics (``templates/_phase.html.j2``)."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["phase_rows"]


def phase_rows(by_phase) -> list[dict] | None:
    """The rows of a ``PhaseEvaluation`` (or its ``to_dict()``), already under the
    disclosure rule; None when not given.

    Examples
    --------
    >>> from send_early.report._phase import phase_rows
    >>> phase_rows({"table": [{"phase": "under 5", "n": None, "suppressed": True}]})
    [{'phase': 'under 5', 'n': None, 'suppressed': True}]
    """
    if by_phase is None:
        return None
    data = by_phase.to_dict() if hasattr(by_phase, "to_dict") else by_phase
    if not isinstance(data, Mapping) or not isinstance(data.get("table"), list):
        raise TypeError(
            "by_phase must be a send_early.evaluation.PhaseEvaluation or its to_dict(); "
            f"found {type(by_phase).__name__}."
        )
    return [dict(r) for r in data["table"]]
