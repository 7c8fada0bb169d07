"""Model specs: TOML files in ``models/`` that declare a risk model."""

from __future__ import annotations

import hashlib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .._resources import spec_path
from ..exceptions import SpecError
from ..features import outcome_definition

__all__ = ["ModelSpec", "load_model_spec"]

_KINDS = ("additive", "scorecard")
_CALIBRATION = ("sigmoid", "temperature", "isotonic", "none")
_POLICIES = ("count", "share", "threshold")
_SECTIONS = {"model", "training", "features", "estimator", "calibration", "capacity", "explain"}


@dataclass(frozen=True)
class ModelSpec:
    """A parsed, checked model spec.

    Attributes mirror the TOML sections; ``text`` is the file's exact text and
    ``sha256`` its hash (logged with every registered model version). ``exclude``
    holds every feature left out of the model: those of the roles in
    ``exclude_roles`` (default ``process``) and those the spec names; ``left_out``
    maps each to the reason (shown on the model card).
    """

    name: str
    description: str
    outcome: str
    horizon_months: int
    pipeline: str
    population_age_months: tuple[int, int]
    as_of_dates: tuple[str, ...]
    exclude: tuple[str, ...]
    use_protected: bool
    estimator: str
    params: dict = field(default_factory=dict)
    monotone: dict = field(default_factory=dict)
    calibration: str = "sigmoid"
    capacity_policy: str = "share"
    capacity_value: float = 0.05
    top: int = 3
    min_contribution: float = 0.05
    text: str = ""
    source: str = ""
    exclude_roles: tuple[str, ...] = ("process",)
    left_out: dict = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def _fail(src: str, key: str, what: str) -> SpecError:
    return SpecError(f"model spec {src}: [{key}] {what}")


def load_model_spec(name_or_path: str | os.PathLike = "default") -> ModelSpec:
    """Read and check a model spec by shipped name or path.

    Raises
    ------
    SpecError
        Naming the file, the entry and what must hold.

    Examples
    --------
    >>> from send_early.model import load_model_spec
    >>> spec = load_model_spec("default")
    >>> spec.outcome, spec.horizon_months, spec.estimator, spec.use_protected
    ('any_support', 24, 'additive', False)
    """
    path = spec_path("models", name_or_path)
    text = Path(path).read_text()
    src = str(path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"model spec {src} is not valid TOML: {exc}") from None
    unknown = set(raw) - _SECTIONS
    if unknown:
        raise _fail(
            src, sorted(unknown)[0], f"is not a known section; use {', '.join(sorted(_SECTIONS))}."
        )
    m = raw.get("model", {})
    for key in ("name", "outcome", "horizon_months"):
        if key not in m:
            raise _fail(src, "model", f"must set {key!r}.")
    try:  # "ehcp" is a deprecated name of "ehc_request": a FutureWarning, then the new name
        outcome = outcome_definition(m["outcome"]).name
    except ValueError as exc:
        raise _fail(src, "model", str(exc)) from None
    h = m["horizon_months"]
    if not isinstance(h, int) or not 1 <= h <= 120:
        raise _fail(
            src,
            "model",
            f"horizon_months must be a whole number of months from 1 to 120; found {h!r}.",
        )
    ages = tuple(m.get("population_age_months", (0, 240)))
    if len(ages) != 2 or not all(isinstance(a, int) for a in ages) or ages[0] > ages[1]:
        raise _fail(
            src, "model", f"population_age_months must be [low, high] whole months; found {ages!r}."
        )
    est = raw.get("estimator", {})
    kind = est.get("kind", "additive")
    if kind not in _KINDS:
        raise _fail(src, "estimator", f"kind must be one of {', '.join(_KINDS)}; found {kind!r}.")
    mono = dict(est.get("monotone", {}))
    bad = {k: v for k, v in mono.items() if v not in (-1, 0, 1)}
    if bad:
        raise _fail(src, "estimator.monotone", f"values must be -1, 0 or 1; found {bad}.")
    cal = raw.get("calibration", {}).get("method", "sigmoid")
    if cal not in _CALIBRATION:
        raise _fail(
            src, "calibration", f"method must be one of {', '.join(_CALIBRATION)}; found {cal!r}."
        )
    cap = raw.get("capacity", {})
    policy = cap.get("policy", "share")
    value = cap.get("value", 0.05)
    if policy not in _POLICIES:
        raise _fail(
            src, "capacity", f"policy must be one of {', '.join(_POLICIES)}; found {policy!r}."
        )
    if policy == "count" and (not isinstance(value, int) or value < 1):
        raise _fail(
            src,
            "capacity",
            f"value must be a whole number of children >= 1 for policy 'count'; found {value!r}.",
        )
    if policy in ("share", "threshold") and not (isinstance(value, (int, float)) and 0 < value < 1):
        raise _fail(
            src,
            "capacity",
            f"value must be between 0 and 1 for policy {policy!r}; found {value!r}.",
        )
    feats = raw.get("features", {})
    exclude_roles, left_out = _left_out(src, feats, str(m.get("pipeline", "default")))
    ex = raw.get("explain", {})
    return ModelSpec(
        name=str(m["name"]),
        description=str(m.get("description", "")),
        outcome=outcome,
        horizon_months=h,
        pipeline=str(m.get("pipeline", "default")),
        population_age_months=(int(ages[0]), int(ages[1])),
        as_of_dates=tuple(str(d) for d in raw.get("training", {}).get("as_of_dates", ())),
        exclude=tuple(left_out),
        exclude_roles=exclude_roles,
        left_out=left_out,
        use_protected=bool(feats.get("use_protected", False)),
        estimator=kind,
        params=dict(est.get("params", {})),
        monotone=mono,
        calibration=cal,
        capacity_policy=policy,
        capacity_value=value,
        top=int(ex.get("top", 3)),
        min_contribution=float(ex.get("min_contribution", 0.05)),
        text=text,
        source=src,
    )


def _left_out(src: str, feats: dict, pipeline: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """(roles left out, feature -> reason) from ``[features]`` and the pipeline's roles.

    ``exclude`` is a list of feature names or a table of name = reason;
    ``exclude_roles`` (default ``["process"]``) leaves out every feature of those roles.
    """
    from ..features import ROLES, load_pipeline

    roles = feats.get("exclude_roles", ["process"])
    if not isinstance(roles, list) or any(r not in ROLES for r in roles):
        raise _fail(
            src,
            "features",
            f"exclude_roles must list roles of {', '.join(ROLES)}; found {roles!r}.",
        )
    named = feats.get("exclude", [])
    if isinstance(named, list):
        named = {n: "left out by the model spec" for n in named}
    if not isinstance(named, dict) or not all(isinstance(v, str) for v in named.values()):
        raise _fail(
            src,
            "features",
            f"exclude must be a list of names or a table of name = reason; found {named!r}.",
        )
    spec = load_pipeline(pipeline)
    unknown = sorted(set(named) - set(spec.columns))
    if unknown:
        raise _fail(
            src,
            "features",
            f"exclude names features the pipeline {spec.name!r} does not have: {', '.join(unknown)}.",
        )
    out = {f.name: f"role {f.role!r}: {ROLES[f.role]}" for f in spec.features if f.role in roles}
    out.update({n: r for n, r in named.items() if n not in out})
    return tuple(roles), out
