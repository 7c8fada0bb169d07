"""Exceptions raised by send_early.

Domain errors subclass the built-in exception a caller would expect, so that
``except ValueError`` keeps working: a bad value is a ``ValueError``, a bad type a
``TypeError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from sklearn.exceptions import NotFittedError

    from .schema import ValidationReport

__all__ = ["SchemaError", "SpecError", "LeakageError", "NotFittedError", "IntegrityError"]


class SchemaError(ValueError):
    """Input tables break the data contract.

    The message lists every problem found (table, column, rule, count and up to
    five example ids); the full :class:`~send_early.schema.ValidationReport` is
    available as ``.report`` when validation produced one.
    """

    def __init__(self, message: str, report: ValidationReport | None = None):
        super().__init__(message)
        self.report = report


class SpecError(ValueError):
    """A pipeline or model specification (TOML) is invalid.

    The message names the spec file, the entry and what must hold.
    """


class LeakageError(ValueError):
    """A computation would use information dated after its as-of date."""


class IntegrityError(RuntimeError):
    """A stored model does not match the checksum recorded when it was registered,
    or a batch run failed to account for every child."""


def __getattr__(name: str):
    # scikit-learn's own NotFittedError (so ``except NotFittedError`` catches what
    # ``check_is_fitted`` raises), imported on first use: ``import send_early`` stays light.
    if name == "NotFittedError":
        from sklearn.exceptions import NotFittedError

        return NotFittedError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
