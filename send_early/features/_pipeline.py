"""What a feature pipeline spec can say, and the validated objects it becomes.

The vocabulary (aggregations, roles, transforms, named constants, comparison ops) and
:class:`Window`, :class:`FeatureSpec` and :class:`PipelineSpec`. Reading and checking
a TOML file into these objects is :mod:`send_early.features._spec`'s job.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..schema import ASQ_CUTOFFS, PHONICS_THRESHOLD

__all__ = [
    "AGGREGATIONS",
    "CONSTANTS",
    "FeatureSpec",
    "PipelineSpec",
    "ROLES",
    "TRANSFORMS",
    "Window",
    "parse_window",
]

#: Aggregation name -> what it computes (shown in docs/features.md).
AGGREGATIONS: Mapping[str, str] = {
    "latest": "value of `column` on the latest record in the window (`prefer` picks a record kind first)",
    "count": "number of records in the window",
    "sum": "sum of `column` over the window",
    "rate": "sum of `column` (one or more) divided by the sum of `denominator`; `complement = true` gives 1 - rate",
    "min": "smallest `column` value in the window",
    "max": "largest `column` value in the window",
    "mean": "mean of `column` over the window",
    "any": "1 if any record in the window (with a true `column`, if given), else 0",
    "absent": "1 if no record in the window, else 0",
    "distinct": "number of distinct `column` values in the window, plus `offset`, at least 0",
    "days_since": "days from the latest record's date to the as-of date",
    "trend": "per-record rate of the latest record minus the mean of the earlier records in the window",
    "open_at": "1 if a record started on or before the as-of date and `end_column` is empty or after it",
    "derive": "a named transform of the children table (see TRANSFORMS)",
    "threshold": "1 if feature `source` compares true (`op`) with `cutoff`, 0 if false, missing if the source is",
    "any_of": "1 if any feature in `sources` is 1, 0 if all known are 0, missing if all are missing",
    "below_cutoff": "1 if `column` on the latest record (`prefer` first) is below the cut-off of "
    "that record's own questionnaire interval (`interval_column`) in the shipped table "
    "`cutoff_table`, 0 if not; missing when the interval is missing or has no cut-off",
    "standing": "the latest `column` value as a z-score among records of children born in the "
    "same month of the school year, assessed in the same school year, dated on or before the "
    "as-of date (missing when that group has fewer than `min_group` records)",
    "moves": "changes of `column` between a child's consecutive records, except at the year "
    "groups in `normal_year_groups` (a change from the year group before into one of them)",
    "months_known": "completed months from the child's earliest record in any table other than "
    "children to the as-of date (0 if none)",
}

#: Feature roles: what a feature measures (``role`` in a pipeline spec).
ROLES: Mapping[str, str] = {
    "need": "measures the child's development, attainment or health",
    "context": "circumstances that shape risk or identification but are not need in themselves "
    "(deprivation, social care, attendance, relative age, demographics)",
    "process": "a record of the identification process itself (referrals and measures that "
    "follow or reflect a school's or the council's decisions)",
}

#: Named transforms of the children table for ``aggregation = "derive"``.
TRANSFORMS: Mapping[str, str] = {
    "age_months": "completed months from birth_date to the as-of date",
    "month_in_school_year": "birth month counted from September (1 = Sep ... 12 = Aug)",
    "summer_born": "1 if born 1 April to 31 August (month in school year 8 to 12)",
}

#: Named constants a ``cutoff`` may refer to.
CONSTANTS: Mapping[str, object] = {
    "ASQ_CUTOFFS": dict(ASQ_CUTOFFS),
    "PHONICS_THRESHOLD": PHONICS_THRESHOLD,
}

# comparison ops a feature may use, and what each does (numpy arrays and Ibis columns alike)
_OPS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_WINDOW_RE = re.compile(r"^\s*(\d+)\s*(d|days?|w|weeks?|m|months?|y|years?|t|terms?)\s*$")


@dataclass(frozen=True)
class Window:
    """A look-back window: the last ``n`` units up to and including the as-of date.

    ``unit`` is ``"days"``, ``"months"`` (calendar months), ``"terms"`` (the
    latest ``n`` records of the child) or ``"all"`` (every record on or before
    the as-of date).
    """

    n: int
    unit: str
    text: str

    @property
    def is_all(self) -> bool:
        return self.unit == "all"


def parse_window(text: str) -> Window:
    """Parse a window such as ``"365d"``, ``"24 months"``, ``"3 terms"`` or ``"all"``.

    Examples
    --------
    >>> from send_early.features import parse_window
    >>> parse_window("365d")
    Window(n=365, unit='days', text='365d')
    >>> parse_window("3 terms").unit
    'terms'
    """
    if not isinstance(text, str):
        raise ValueError(f"a window must be a string; found {text!r}")
    if text.strip().lower() == "all":
        return Window(0, "all", text)
    m = _WINDOW_RE.match(text.lower())
    if not m or int(m.group(1)) <= 0:
        raise ValueError(
            f"a window must be 'all' or a positive number with a unit (d, w, m, y, terms), "
            f"e.g. '365d', '24m', '3 terms'; found {text!r}"
        )
    n, u = int(m.group(1)), m.group(2)[0]
    if u == "w":
        return Window(7 * n, "days", text)
    if u == "y":
        return Window(12 * n, "months", text)
    return Window(n, {"d": "days", "m": "months", "t": "terms"}[u], text)


@dataclass(frozen=True)
class FeatureSpec:
    """One feature of a pipeline spec; see ``docs/features.md`` for the fields."""

    name: str
    label: str
    aggregation: str
    table: str | None = None
    column: tuple[str, ...] = ()
    window: Window = field(default_factory=lambda: Window(0, "all", "all"))
    filter: Mapping[str, tuple] = field(default_factory=dict)
    prefer: Mapping[str, tuple] = field(default_factory=dict)
    denominator: str | None = None
    complement: bool = False
    transform: str | None = None
    source: str | None = None
    sources: tuple[str, ...] = ()
    op: str | None = None
    cutoff: float | None = None
    cutoff_text: str | None = None
    end_column: str | None = None
    offset: int = 0
    missing: str = "missing"
    indicator: bool = False
    due_year_group: int | None = None
    dtype: str = "float"
    protected: bool = False
    unit: str = ""
    line: int | None = None
    role: str = ""
    cutoff_table: str | None = None
    interval_column: str | None = None
    min_group: int = 10
    normal_year_groups: tuple[int, ...] = ()

    @property
    def output_columns(self) -> list[str]:
        """Column names this feature adds to the feature frame."""
        out = [self.name]
        if self.indicator:
            out.append(f"{self.name}_missing")
        if self.missing == "not_assessed":
            out.append(f"{self.name}_status")
        return out


@dataclass(frozen=True)
class PipelineSpec:
    """A validated feature pipeline.

    Attributes
    ----------
    name, version, description : str
    min_age_months, max_age_months : int
        Population ages at the as-of date, ``min <= age < max`` in completed months.
    features : tuple of FeatureSpec
    path : Path
        The file it was read from.
    population : str
        Who is scored: ``"not_identified"`` (default) or ``"sen_support"``; set from the
        model's outcome by ``RiskModel`` (see ``OUTCOMES``), not read from the file.
    """

    name: str
    version: str
    description: str
    min_age_months: int
    max_age_months: int
    features: tuple[FeatureSpec, ...]
    path: Path
    population: str = "not_identified"

    @property
    def feature_names(self) -> list[str]:
        """The spec's feature names (without indicator or status columns)."""
        return [f.name for f in self.features]

    @property
    def columns(self) -> list[str]:
        """Every column ``build_features`` returns, in order."""
        return [c for f in self.features for c in f.output_columns]

    @property
    def protected(self) -> list[str]:
        """Features flagged ``protected = true`` (kept for audits)."""
        return [f.name for f in self.features if f.protected]

    def roles(self) -> dict[str, str]:
        """Feature name -> role (``need``, ``context`` or ``process``; see ``ROLES``)."""
        return {f.name: f.role for f in self.features}

    def labels(self) -> dict[str, str]:
        """Column name -> plain-English label (used in reasons)."""
        out = {}
        for f in self.features:
            out[f.name] = f.label
            if f.indicator:
                out[f"{f.name}_missing"] = f"No record for: {f.label[0].lower()}{f.label[1:]}"
            if f.missing == "not_assessed":
                out[f"{f.name}_status"] = (
                    f"Assessment status for: {f.label[0].lower()}{f.label[1:]}"
                )
        return out

    def feature(self, name: str) -> FeatureSpec:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(f"pipeline {self.name!r} has no feature {name!r}")
