"""The model card: a typed object of aggregate sections, written as JSON and as one
self-contained HTML page."""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..governance import DEFAULT_THRESHOLDS, MANUAL_CHECKLIST, run_checks
from ..schema import atomic_write
from . import _sections as sec
from ._build import (
    INTENDED_USE,
    LIMITATIONS,
    OUT_OF_SCOPE,
    SYNTHETIC_CAVEAT,
    as_dict,
    backtest_section,
    evaluation_sections,
    explanation_section,
    fairness_section,
    model_sections,
)
from ._data import data_summary_section
from ._later import outcomes_section, policies_part, registry_section
from ._phase import phase_rows
from ._privacy import MIN_CELL

logger = logging.getLogger(__name__)

CARD_SCHEMA = "send_early.model_card/2"
#: Version of the card JSON's layout. Version 2 added ``registry``, ``outcomes_after_flags``
#: and the capacity section's ``policies``; a version 1 card is read as version 2 without
#: them, and a card of any other version is refused.
SCHEMA_VERSION = 2
_READABLE = {1: "send_early.model_card/1", 2: CARD_SCHEMA}
_ADDED_IN_2 = ("registry", "outcomes_after_flags")

# top-level JSON key -> section class (None: a plain value)
_SECTIONS: dict[str, type | None] = {
    "schema": None,
    "schema_version": None,
    "title": None,
    "generated": None,
    "synthetic": None,
    "passed": None,
    "checks": sec.Check,
    "thresholds": None,
    "min_cell": None,
    "manual_checklist": sec.ManualItem,
    "model": sec.ModelInfo,
    "registry": sec.Registry,
    "intended_use": sec.IntendedUse,
    "data_summary": sec.DataSummary,
    "outcome": sec.Outcome,
    "features": sec.Features,
    "explanation": sec.Explanation,
    "metrics": sec.Metrics,
    "calibration": sec.Calibration,
    "capacity": sec.Capacity,
    "lead_time": sec.LeadTime,
    "baselines": sec.Baselines,
    "fairness": sec.Fairness,
    "backtest": sec.Backtest,
    "outcomes_after_flags": sec.OutcomesAfterFlags,
    "limitations": None,
}
_OPTIONAL = ("explanation", "lead_time", "baselines", "fairness", "backtest", *_ADDED_IN_2)


def refuse_unknown_version(data: Mapping, where: str = "model card JSON") -> None:
    """Raise ValueError when ``data`` says it follows another card schema than this
    release reads (version 2, or version 1, read as 2). A card written before
    ``schema_version`` existed carries only ``"schema": "send_early.model_card/1"`` and
    reads as version 1, and so does one that names neither."""
    version, schema = data.get("schema_version"), data.get("schema")
    if version is None and (schema is None or schema in _READABLE.values()):
        return
    if type(version) is int and version in _READABLE and schema in (None, _READABLE[version]):
        return
    raise ValueError(
        f"{where} must have schema_version {SCHEMA_VERSION} (schema {CARD_SCHEMA!r}), or 1; "
        "found "
        f"schema_version {version!r}, schema {schema!r}. It was written by another release of "
        "send_early: read it with that release, or rebuild the card with this one."
    )


@dataclass(repr=False)
class ModelCard:
    """A model card for registry reviewers: typed sections of aggregate figures.

    Every figure follows the disclosure rule of :mod:`send_early.privacy` (no figure lets
    a reader recover a group of 1 to 9 children) and no child-level row or id is held.
    Build one with :func:`build_model_card` (in memory), write it with :meth:`save`, read
    one back with :meth:`read_json`. The sections are read-only records
    (:mod:`send_early.report` exports their classes); ``passed`` is derived from the checks.

    Attributes
    ----------
    title, generated : str
        Page title and build time (UTC, ISO 8601).
    synthetic : bool
        True when the data are simulated.
    checks : tuple of Check
        Automatic reviewer checks; each reads like a dict too (``c["passed"]``).
    thresholds : dict
        Thresholds the checks used.
    min_cell : int
        Smallest group of children a figure may describe (:data:`MIN_CELL`).
    manual_checklist : tuple of ManualItem
        Items the reviewer confirms by hand.
    model, intended_use, data_summary, outcome, features, metrics, calibration, capacity
        The sections every card has.
    explanation, lead_time, baselines, fairness, backtest
        The optional sections (``None`` when their input was not given).
    registry : Registry or None
        The registered name, version, run and approvals; ``None`` in a card written before
        the version was registered (see :meth:`with_registry`).
    outcomes_after_flags : OutcomesAfterFlags or None
        What followed the model's flags, from the outcome log, when one was given.
    limitations : tuple of str
        The limitations a reviewer reads.
    html_path, json_path : Path or None
        Where :meth:`save` last wrote the card (None until then).
    """

    title: str
    generated: str
    synthetic: bool
    checks: tuple[sec.Check, ...]
    thresholds: dict[str, float]
    min_cell: int
    manual_checklist: tuple[sec.ManualItem, ...]
    model: sec.ModelInfo
    intended_use: sec.IntendedUse
    data_summary: sec.DataSummary
    outcome: sec.Outcome
    features: sec.Features
    explanation: sec.Explanation | None
    metrics: sec.Metrics
    calibration: sec.Calibration
    capacity: sec.Capacity
    lead_time: sec.LeadTime | None
    baselines: sec.Baselines | None
    fairness: sec.Fairness | None
    backtest: sec.Backtest | None
    limitations: tuple[str, ...]
    registry: sec.Registry | None = None
    outcomes_after_flags: sec.OutcomesAfterFlags | None = None
    schema: str = CARD_SCHEMA
    schema_version: int = SCHEMA_VERSION
    html_path: Path | None = field(default=None, compare=False)
    json_path: Path | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        self.checks = tuple(self.checks)
        self.manual_checklist = tuple(self.manual_checklist)
        self.limitations = tuple(self.limitations)

    @property
    def passed(self) -> bool:
        """True when every automatic check passed (the manual checklist is separate)."""
        return all(c.passed for c in self.checks)

    # ------------------------------------------------------------------ output
    def to_dict(self) -> dict:
        """The card as written to the JSON file (fresh dicts and lists)."""
        out = {}
        for key in _SECTIONS:
            value = self.passed if key == "passed" else getattr(self, key)
            out[key] = value.bins_list() if isinstance(value, sec.Calibration) else sec.plain(value)
        return out

    def to_json(self) -> str:
        """The JSON file's text (UTF-8, indented, no NaN)."""
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False, ensure_ascii=False)
        return text + "\n"

    def to_html(self) -> str:
        """The self-contained HTML page (inline CSS, PNG plots, no scripts or links)."""
        from ._render import render_html

        return render_html(self)

    def save(self, folder: str | os.PathLike) -> ModelCard:
        """Write ``<name>_card.json`` and ``<name>_card.html`` into ``folder`` (created if
        needed), each atomically: a reader sees the old file or the new one, never half.

        Returns the card, with ``json_path`` and ``html_path`` set.
        """
        out = Path(folder)
        stem = f"{_slug(self.model.name)}_card" if self.model.name else "model_card"
        text, html = self.to_json(), self.to_html()
        self.json_path = atomic_write(
            out / f"{stem}.json", lambda p: p.write_text(text, encoding="utf-8")
        )
        self.html_path = atomic_write(
            out / f"{stem}.html", lambda p: p.write_text(html, encoding="utf-8")
        )
        logger.info(
            "model card written to %s (%d checks, passed=%s)",
            self.html_path,
            len(self.checks),
            self.passed,
        )
        return self

    def with_registry(self, registry: Mapping) -> ModelCard:
        """This card with its registry section filled: ``name``, ``version``, ``run_id`` and
        ``approvals`` (as :attr:`send_early.registry.ReviewSummary.approvals` gives them;
        empty reads "not yet approved"). The checks are unchanged."""
        return replace(self, registry=registry_section(registry), html_path=None, json_path=None)

    def with_outcomes(self, summary) -> ModelCard:
        """This card with its "outcomes after flags" section from
        :func:`send_early.outcomes.outcome_summary` (None or no rows: the section says no
        outcome log was given)."""
        return replace(
            self, outcomes_after_flags=outcomes_section(summary), html_path=None, json_path=None
        )

    def summary(self) -> str:
        """Plain-text summary (see :func:`card_summary`)."""
        return card_summary(self)

    def __repr__(self) -> str:
        failed = [c.name for c in self.checks if not c.passed]
        return f"ModelCard(passed={self.passed}, failed={failed}, html_path='{self.html_path}')"

    # ------------------------------------------------------------------ input
    @classmethod
    def from_dict(cls, data: Mapping) -> ModelCard:
        """Read a card back from its JSON content.

        Raises
        ------
        ValueError
            When the card follows another ``schema_version``, or a section's keys do not
            match this version's (every problem is listed), or ``passed`` disagrees with
            the checks.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"A model card must be a JSON object; found {type(data).__name__}.")
        refuse_unknown_version(data)
        if "schema" not in data and "schema_version" not in data:
            raise ValueError(
                f"model card JSON must have schema_version {SCHEMA_VERSION}; found neither "
                "schema_version nor schema."
            )
        kw, problems = _read_sections(data)
        kw.update(schema=CARD_SCHEMA, schema_version=SCHEMA_VERSION)  # a version 1 card reads as 2
        if problems:
            raise ValueError(
                "The model card JSON does not match schema_version "
                f"{SCHEMA_VERSION}: " + "; ".join(problems) + "."
            )
        card = cls(**kw)
        if "passed" in data and data["passed"] is not card.passed:
            raise ValueError(
                f"The model card's passed must agree with its checks; found passed "
                f"{data['passed']!r} with {sum(not c.passed for c in card.checks)} failed checks."
            )
        return card

    @classmethod
    def read_json(cls, path: str | os.PathLike) -> ModelCard:
        """Read a card JSON file (see :meth:`from_dict`); ``json_path`` is set to it."""
        path = Path(path)
        card = cls.from_dict(_load_json(path))
        card.json_path = path
        return card


def _load_json(path: Path) -> dict:
    """A card JSON file's contents; a missing file is named in the error."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"A model card JSON file must exist; {path} was not found."
        ) from None


def _read_sections(data: Mapping) -> tuple[dict, list[str]]:
    """The ModelCard keyword arguments read from card JSON, and every problem found."""
    problems, kw = [], {}
    absent_ok = ("schema_version", "passed")
    if data.get("schema_version", 1) == 1:  # a version 1 card has none of version 2's keys
        absent_ok += _ADDED_IN_2
    missing = [k for k in _SECTIONS if k not in data and k not in absent_ok]
    unknown = [str(k) for k in data if k not in _SECTIONS]
    if missing or unknown:
        found = ["missing " + ", ".join(missing)] if missing else []
        found += ["unknown " + ", ".join(unknown)] if unknown else []
        problems.append(f"the card must have its schema's top-level keys; found {'; '.join(found)}")
    for key, section in _SECTIONS.items():
        if key not in data or key == "passed":
            continue
        value = data[key]
        if section is None or (value is None and key in _OPTIONAL):
            kw[key] = value
        elif section in (sec.Check, sec.ManualItem, sec.Calibration) and not isinstance(
            value, list
        ):
            problems.append(f"{key} must be a list; found {type(value).__name__}")
        elif section is sec.Calibration:
            kw[key] = sec.Calibration(bins=value)
        elif section in (sec.Check, sec.ManualItem):
            found = [section.problem(v, f"{key}[{i}]") for i, v in enumerate(value)]
            problems += [p for p in found if p]
            kw[key] = [section(**v) for v in value] if not any(found) else []
        elif p := section.problem(value, key):
            problems.append(p)
        else:
            kw[key] = section.from_dict(value, key)
    return kw, problems


def _slug(text: str) -> str:
    s = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(text)).strip("_")
    return s or "model"


def build_model_card(
    model,
    evaluation,
    audit,
    *,
    out_dir: str | os.PathLike | None = None,
    data_summary: Mapping | None = None,
    backtest=None,
    global_explanation=None,
    title: str | None = None,
    synthetic: bool | None = None,
    thresholds: Mapping[str, float] | None = None,
    by_phase=None,
    registry: Mapping | None = None,
    outcomes_after_flags=None,
    capacity_policies: Mapping | None = None,
) -> ModelCard:
    """Build a model card for registry reviewers, in memory; write it when ``out_dir`` is given.

    Every number shown is an aggregate, and none lets a reader recover a group of 1 to
    9 children (:mod:`send_early.privacy`: counts of 1 to 9 read ``"<10"``; rates,
    shares and statistics that would reveal one, and cells that would let a hidden one
    be worked out from a total, are ``None`` / "suppressed"). No child-level row or id
    is kept.

    Parameters
    ----------
    model : RiskModel or look-alike
        Read for ``spec``, ``pipeline``, ``feature_names_``, ``metadata_`` and
        ``calibration_`` (any may be missing).
    evaluation : Evaluation or dict
        ``Evaluation`` from :mod:`send_early.evaluation` or its ``to_dict()``.
    audit : GroupAudit or dict or None
        ``GroupAudit`` from :mod:`send_early.fairness` or its ``to_dict()``.
    out_dir : path, optional
        When given, the card is saved there (:meth:`ModelCard.save`:
        ``<name>_card.html`` and ``<name>_card.json``, written atomically). When None
        (default) nothing is written.
    data_summary : dict, optional
        Aggregates from :func:`summarise_data` (counts, dates, missingness).
    backtest : BacktestResult or dict, optional
        From :func:`send_early.evaluation.temporal_backtest`.
    global_explanation : DataFrame, optional
        From :func:`send_early.explain.explain_global`; computed from ``model``
        when omitted and the model is fitted.
    title : str, optional
        Page title; default ``"Model card: <name>"``.
    synthetic : bool, optional
        Whether the data are simulated; default ``data_summary["synthetic"]``.
    thresholds : dict, optional
        Overrides of :data:`DEFAULT_THRESHOLDS` (recorded in the card).
    by_phase : PhaseEvaluation or dict, optional
        From :class:`send_early.evaluation.PhaseEvaluation`: shown under the metrics.
    registry : dict, optional
        ``name``, ``version``, ``run_id`` and ``approvals`` of the registered version; a card
        built before registration leaves it empty (:meth:`ModelCard.with_registry`).
    outcomes_after_flags : DataFrame, optional
        From :func:`send_early.outcomes.outcome_summary` for this model: what followed its
        flags (rows already under the disclosure rule).
    capacity_policies : dict, optional
        ``k``, ``summary`` and ``by_setting``: the tables of
        :func:`send_early.evaluation.compare_capacity_policies` on the evaluation cohort.

    Returns
    -------
    ModelCard

    Examples
    --------
    >>> import tempfile
    >>> from types import SimpleNamespace
    >>> from send_early.report import build_model_card
    >>> model = SimpleNamespace(feature_names_=["age_months"], metadata_={"n_train": 500})
    >>> ev = {"headline": {"n": 800, "n_positive": 90, "ece": 0.012, "roc_auc": 0.74}}
    >>> card = build_model_card(model, ev, None)
    >>> card.passed, [c.name for c in card.checks if c.passed]
    (False, ['ece_below_threshold', 'protected_not_features'])
    >>> card.metrics.headline["roc_auc"], card.json_path is None
    (0.74, True)
    >>> card.save(tempfile.mkdtemp()).json_path.name
    'model_card.json'
    """
    if data_summary is not None and not isinstance(data_summary, Mapping):
        raise TypeError(
            f"data_summary must be a dict (see summarise_data); found {type(data_summary).__name__}."
        )
    ev = as_dict(evaluation, "evaluation") or {}
    bt = as_dict(backtest, "backtest")
    if bt is None and isinstance(ev.get("backtest"), Mapping):
        bt = ev["backtest"]
    aud = as_dict(audit, "audit")
    info, outcome, features = model_sections(model)
    sections = evaluation_sections(ev)
    if by_phase is not None:
        sections["metrics"] = replace(sections["metrics"], by_phase=phase_rows(by_phase))
    if capacity_policies is not None:
        policies = policies_part(capacity_policies)
        sections["capacity"] = replace(sections["capacity"], policies=policies)
    meta = dict(getattr(model, "metadata_", None) or {})
    if synthetic is None:
        synthetic = bool((data_summary or {}).get("synthetic") or meta.get("synthetic"))
    name = info.name or "model"
    card = ModelCard(
        title=title or f"Model card: {name}" + (" (synthetic data)" if synthetic else ""),
        generated=_dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
        synthetic=bool(synthetic),
        checks=(),
        thresholds={**DEFAULT_THRESHOLDS, **(thresholds or {})},
        min_cell=MIN_CELL,
        manual_checklist=[sec.ManualItem(id=i, item=text) for i, text in MANUAL_CHECKLIST],
        model=info,
        intended_use=sec.IntendedUse(intended=INTENDED_USE, out_of_scope=OUT_OF_SCOPE),
        data_summary=data_summary_section(data_summary, model, ev),
        outcome=outcome,
        features=features,
        explanation=explanation_section(global_explanation, model, meta.get("n_train")),
        **sections,
        fairness=fairness_section(aud),
        backtest=backtest_section(bt),
        limitations=LIMITATIONS + ((SYNTHETIC_CAVEAT,) if synthetic else ()),
        registry=registry_section(registry),
        outcomes_after_flags=outcomes_section(outcomes_after_flags),
    )
    # the checks read the card as JSON: what they judge is what a reviewer reads
    checks = run_checks(card.to_dict(), thresholds)
    card = replace(card, checks=tuple(sec.Check(**c) for c in checks))
    if out_dir is not None:
        card.save(out_dir)
    return card


# ----------------------------------------------------------------------------- summary
def _fmt(v, pct: bool = False) -> str:
    if v is None:
        return "suppressed"
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{100 * v:.1f}%" if pct else f"{v:.3f}"
    return str(v)


def card_summary(card) -> str:
    """A short plain-text summary of a model card: headline metrics, checks, checklist.

    Parameters
    ----------
    card : path, dict or ModelCard
        The card JSON file, its parsed content, or the result of
        :func:`build_model_card`.

    Raises
    ------
    ValueError
        When the card JSON says it follows another ``schema_version`` than this
        release reads.

    Examples
    --------
    >>> from send_early.report import card_summary
    >>> print(card_summary({"title": "Model card: demo", "passed": False,
    ...     "metrics": {"headline": {"n": 800, "roc_auc": 0.74, "ece": 0.031}},
    ...     "checks": [{"name": "ece_below_threshold", "passed": False, "value": 0.031,
    ...                 "threshold": 0.02, "detail": "..."}],
    ...     "manual_checklist": [{"id": "dpia", "item": "DPIA done."}]}))
    Model card: demo
    Headline: n 800 | roc_auc 0.740 | ece 0.031
    Automatic checks: 0 passed, 1 failed -> NOT READY for promotion
      [FAIL] ece_below_threshold: 0.031 (threshold 0.02)
    Reviewer checklist (confirm by hand):
      [ ] DPIA done.
    """
    if isinstance(card, ModelCard):
        data = card.to_dict()
    elif isinstance(card, Mapping):
        data = dict(card)
        refuse_unknown_version(data)
    else:
        path = Path(card)
        data = _load_json(path)
        refuse_unknown_version(data, f"model card JSON {path.name}")
    lines = [str(data.get("title") or "Model card")]
    if data.get("synthetic"):
        lines.append("Synthetic data: these numbers describe no real child.")
    head = (data.get("metrics") or {}).get("headline") or {}
    keys = [
        ("n", False),
        ("prevalence", True),
        ("roc_auc", False),
        ("average_precision", False),
        ("brier", False),
        ("ece", False),
        ("k", False),
        ("precision_at_k", True),
        ("recall_at_k", True),
    ]
    shown = [f"{k} {_fmt(head[k], pct)}" for k, pct in keys if k in head]
    if shown:
        lines.append("Headline: " + " | ".join(shown))
    base = data.get("baselines") or {}
    if base.get("summary"):
        lines.append("Baselines: " + " ".join(str(base["summary"]).split()))
    checks = data.get("checks") or []
    n_pass = sum(1 for c in checks if c.get("passed"))
    verdict = "ready for review" if data.get("passed") and checks else "NOT READY for promotion"
    lines.append(f"Automatic checks: {n_pass} passed, {len(checks) - n_pass} failed -> {verdict}")
    for c in checks:
        mark = "PASS" if c.get("passed") else "FAIL"
        value = c.get("value")
        v = ", ".join(map(str, value)) if isinstance(value, list) else _fmt(value)
        thr = c.get("threshold")
        lines.append(
            f"  [{mark}] {c.get('name')}: {v if value not in (None, []) else 'n/a'}"
            + (f" (threshold {thr})" if thr not in (None, [], True) else "")
        )
    items = data.get("manual_checklist") or []
    if items:
        lines.append("Reviewer checklist (confirm by hand):")
        lines += [f"  [ ] {it.get('item')}" for it in items]
    return "\n".join(lines)
