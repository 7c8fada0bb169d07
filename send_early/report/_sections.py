"""The sections of a model card as typed, read-only records.

Each section holds the figures of one part of the card after the disclosure rule has been
applied (:mod:`._privacy`), as plain JSON values: rows of a table are dicts whose keys are
the table's columns. ``to_dict()`` gives the section as it is written in the card JSON and
``from_dict()`` reads it back, refusing missing or unknown keys, so a renamed key fails
loudly instead of rendering an empty table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar

from .._json import jsonable

Row = dict[str, Any]


def plain(value):
    """A JSON value (fresh dicts and lists) from sections, tuples, mappings and scalars."""
    if isinstance(value, Section):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def keys_problem(data, cls, where: str) -> str | None:
    """What is wrong with the keys of ``data`` read as ``cls`` (None when nothing)."""
    if not isinstance(data, Mapping):
        return f"{where} must be a JSON object; found {type(data).__name__}"
    names = [f.name for f in fields(cls)]
    required = [
        f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING
    ]
    missing = [k for k in required if k not in data]
    unknown = [str(k) for k in data if k not in names]
    if not missing and not unknown:
        return None
    found = []
    if missing:
        found.append("missing " + ", ".join(missing))
    if unknown:
        found.append("unknown " + ", ".join(unknown))
    return f"{where} must have the keys {', '.join(names)}; found {'; '.join(found)}"


class Section:
    """Shared behaviour: values held as JSON values (a list field as a tuple), JSON out
    and back in."""

    #: Keys left out of the JSON when their value is None (instead of written as null).
    _omit_none: ClassVar[tuple[str, ...]] = ()
    #: Whether list fields are held as tuples.
    _tuples: ClassVar[bool] = True

    def __post_init__(self) -> None:
        for f in fields(self):
            v = jsonable(getattr(self, f.name))
            object.__setattr__(
                self, f.name, tuple(v) if self._tuples and isinstance(v, list) else v
            )

    def to_dict(self) -> dict:
        """The section as written in the card JSON (fresh dicts and lists)."""
        return {
            f.name: plain(getattr(self, f.name))
            for f in fields(self)
            if not (getattr(self, f.name) is None and f.name in self._omit_none)
        }

    @classmethod
    def problem(cls, data, where: str) -> str | None:
        """What keeps ``data`` from being read as this section (None when nothing)."""
        return keys_problem(data, cls, where)

    @classmethod
    def from_dict(cls, data: Mapping, where: str | None = None):
        """Read the section back from the card JSON (``where`` names it in errors)."""
        problem = cls.problem(data, where or cls.__name__)
        if problem:
            raise ValueError(problem + ".")
        return cls(**{str(k): v for k, v in data.items()})


@dataclass(frozen=True)
class Check(Section, Mapping):
    """One automatic reviewer check (see ``docs/governance.md``).

    Reads like a dict too (``check["passed"]``, ``check.get("detail")``), as the card's
    checks did before they were typed.
    """

    _tuples: ClassVar[bool] = False

    name: str
    passed: bool
    value: Any = None
    value_text: str = ""
    threshold: Any = None
    rule: str = ""
    detail: str = ""

    def __getitem__(self, key: str):
        if key not in self._names():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self):
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    @classmethod
    def _names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    __hash__ = None  # value and threshold may be lists


@dataclass(frozen=True)
class ManualItem(Section):
    """An item of the reviewer checklist, confirmed by hand (never ticked automatically)."""

    id: str
    item: str
    status: str = "to confirm by the reviewer"


@dataclass(frozen=True)
class ModelInfo(Section):
    """Which model the card describes: names, settings and spec hashes."""

    name: str | None
    description: str | None
    estimator: str | None
    calibration: str | None
    capacity_policy: str | None
    capacity_value: Any
    model_spec_sha256: str | None
    pipeline: str | None
    pipeline_spec_sha256: str | None
    contract_version: str | None


@dataclass(frozen=True)
class IntendedUse(Section):
    """What the score is for and what it must never be used for."""

    intended: tuple[str, ...]
    out_of_scope: tuple[str, ...]


@dataclass(frozen=True)
class DataSummary(Section):
    """Aggregates of the data: the model's training metadata, the evaluation cohort
    (``n``, ``n_positive``, ``prevalence``) and what the caller summarised
    (``summarise_data``); the last two are left out of the JSON when not given."""

    training: Row
    evaluation: Row | None = None
    given: Row | None = None
    _omit_none: ClassVar[tuple[str, ...]] = ("evaluation", "given")


@dataclass(frozen=True)
class Outcome(Section):
    """The outcome predicted, its horizon, the population's ages and a sentence."""

    outcome: str | None
    horizon_months: Any
    population_age_months: tuple | None
    text: str


@dataclass(frozen=True)
class Features(Section):
    """Features used (with plain-English labels), protected characteristics, exclusions."""

    used: tuple[str, ...]
    labels: dict[str, str]
    protected: tuple[str, ...]
    use_protected: bool
    excluded_by_spec: tuple[str, ...]
    not_used: tuple[str, ...]
    left_out: dict[str, str] | None = None  # feature -> why the model spec left it out
    _omit_none: ClassVar[tuple[str, ...]] = ("left_out",)


@dataclass(frozen=True)
class Explanation(Section):
    """Global explanation: terms by importance (``term``, ``label``, ``importance``,
    ``protected``, ``pair``) and shape rows of the top single-feature terms; or only
    ``error`` when the explanation could not be computed."""

    terms: tuple[Row, ...] = ()
    shapes: dict[str, list[Row]] = field(default_factory=dict)
    unit: str = "log-odds"
    error: str | None = None

    def to_dict(self) -> dict:
        if self.error is not None:
            return {"error": self.error}
        return {"terms": plain(self.terms), "shapes": plain(self.shapes), "unit": self.unit}

    @classmethod
    def problem(cls, data, where: str) -> str | None:
        if isinstance(data, Mapping) and set(data) == {"error"}:
            return None
        if isinstance(data, Mapping) and set(data) != {"terms", "shapes", "unit"}:
            found = ", ".join(map(str, data)) or "no keys"
            return f"{where} must have the keys terms, shapes, unit (or only error); found {found}"
        return keys_problem(data, cls, where)


@dataclass(frozen=True)
class Metrics(Section):
    """Headline figures of the evaluation cohort and the evaluation's settings; written
    as ``{}`` when no evaluation was given. ``by_phase``: the rows of
    :class:`send_early.evaluation.PhaseEvaluation`, left out of the JSON when not given."""

    headline: Row | None = None
    params: Row = field(default_factory=dict)
    by_phase: tuple[Row, ...] | None = None

    def to_dict(self) -> dict:
        if self.headline is None:
            return {}
        out = {"headline": plain(self.headline), "params": plain(self.params)}
        return out if self.by_phase is None else {**out, "by_phase": plain(self.by_phase)}

    @classmethod
    def problem(cls, data, where: str) -> str | None:
        if (
            isinstance(data, Mapping)
            and data
            and set(data) - {"by_phase"} != {"headline", "params"}
        ):
            found = ", ".join(map(str, data))
            return f"{where} must have the keys headline, params (or none); found {found}"
        return keys_problem(data, cls, where)


@dataclass(frozen=True)
class Calibration(Section):
    """Calibration bins (``bin``, ``n``, ``n_events``, ``mean_predicted``,
    ``observed_rate``, ``ci_low``, ``ci_high``, ``suppressed``); written in the card
    JSON as the list of bins."""

    bins: tuple[Row, ...] = ()

    def bins_list(self) -> list[Row]:
        """The bins as written in the card JSON."""
        return plain(self.bins)


@dataclass(frozen=True)
class Capacity(Section):
    """Figures at the model's capacity ``k``, the capacity curve, and, when given, what each
    capacity policy by setting gives at that ``k`` (``policies``: ``k``, ``summary`` rows per
    policy and ``by_setting`` rows per policy and setting, from
    :func:`send_early.lists.compare_capacity_policies`; left out of the JSON otherwise)."""

    at_k: Row | None
    curve: tuple[Row, ...]
    policies: Row | None = None
    _omit_none: ClassVar[tuple[str, ...]] = ("policies",)


@dataclass(frozen=True)
class LeadTime(Section):
    """Months between the as-of date and identification, for flagged children."""

    summary: Row
    table: tuple[Row, ...]


@dataclass(frozen=True)
class Baselines(Section):
    """The model against simple rules at the same capacity."""

    best_rule: str | None
    beats_best_rule: bool | None
    recall_difference: float | None
    recall_difference_ci: tuple | None
    summary: str | None
    table: tuple[Row, ...]


@dataclass(frozen=True)
class Fairness(Section):
    """The group audit: rows by group, ratios to each group's reference group (``disparity``:
    recall and flag rate, which gate, and the false negative rate, reported; each row's
    ``metric`` says which), the band."""

    caveat: str
    min_cell: int
    band: tuple[float, float]
    reference: dict[str, Any]
    overall: tuple[Row, ...]
    by_group: tuple[Row, ...]
    disparity: tuple[Row, ...]


@dataclass(frozen=True)
class Backtest(Section):
    """Temporal backtest by test year (with calibration in the large) and the spread of
    each metric across years; ``by_council`` (calibration per test year and council) only
    when the data name councils, and left out of the JSON otherwise."""

    by_year: tuple[Row, ...]
    spread: tuple[Row, ...]
    by_council: tuple[Row, ...] | None = None
    _omit_none: ClassVar[tuple[str, ...]] = ("by_council",)


@dataclass(frozen=True)
class Registry(Section):
    """Where the version stands in the registry: the registered model's name, the version,
    the run that logged it, and its approvals (``alias``, ``reviewer``, ``timestamp``,
    ``forced``; newest first, empty when not yet approved). A card written before the
    version was registered has none; :meth:`ModelCard.with_registry` fills it."""

    name: str
    version: str
    run_id: str | None
    approvals: tuple[Row, ...] = ()


@dataclass(frozen=True)
class OutcomesAfterFlags(Section):
    """What followed the model's flags, from the outcome log: one row per model version and
    outcome (``model_version``, ``outcome``, ``text``, ``flags``, ``share``,
    ``median_days``), counts under the disclosure rule, and the log's date range."""

    rows: tuple[Row, ...]
    note: str
