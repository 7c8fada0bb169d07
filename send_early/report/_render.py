"""HTML rendering of a :class:`ModelCard` with Jinja2 templates (autoescaped).

One self-contained page: inline CSS, base64 PNG plots, no scripts, fonts or links to
fetch, readable on a phone. The templates live in ``templates/`` and each table's columns
in ``columns.toml`` (package data), so every key a table reads is named once; this module
draws the plots and picks the rows.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from .._templates import environment
from ..governance import BAND, DEFAULT_THRESHOLDS, GATING, gap_gate, ratio_gate
from ._privacy import SMALL

if TYPE_CHECKING:
    from ._card import ModelCard

__all__ = ["COLUMNS", "SECTIONS", "fmt", "render_html"]

#: Section ids (anchors, template names) and headings, in page order.
SECTIONS = (
    ("use", "Intended use"),
    ("data", "Data summary"),
    ("outcome", "Outcome and horizon"),
    ("features", "Features"),
    ("explanation", "Global explanation"),
    ("metrics", "Metrics and baselines"),
    ("calibration", "Calibration"),
    ("capacity", "Capacity"),
    ("lead-time", "Lead time"),
    ("fairness", "Fairness audit"),
    ("backtest", "Backtest stability"),
    ("outcomes", "Outcomes after flags"),
    ("limitations", "Limitations"),
    ("checklist", "Reviewer checklist"),
    ("registry", "Registry and approval"),
)


class Column(NamedTuple):
    """A table column: the row key it reads, its heading, and how values are shown
    (``text``, ``wrap``: words; ``num``, ``int``, ``pct``, ``signed``: figures)."""

    key: str
    label: str
    kind: str


def _load_columns() -> tuple[dict[str, tuple[Column, ...]], tuple[tuple[str, str, str], ...]]:
    """The card's table columns and headline figures, from ``columns.toml`` (package data)."""
    import tomllib
    from importlib.resources import files

    data = tomllib.loads(files(__package__).joinpath("columns.toml").read_text(encoding="utf-8"))

    def cols(specs) -> tuple[Column, ...]:
        out = []
        for s in specs:
            out += data["shared"][s[1:]] if isinstance(s, str) else [s]
        return tuple(Column(*c) for c in out)

    return {k: cols(v) for k, v in data["columns"].items()}, tuple(map(tuple, data["headline"]))


#: The columns of every table in the card, by table (declared in ``columns.toml``).
COLUMNS: dict[str, tuple[Column, ...]]
COLUMNS, _HEADLINE = _load_columns()  # headline: label, headline key, kind

_GIVEN = (
    "source",
    "extract_date",
    "n_children",
    "n_positive",
    "prevalence",
    "as_of_dates",
    "date_range",
    "notes",
)
# capacity curve rows shown in the page (the JSON keeps every row)
_SHOW_SHARES = {1, 2, 5, 10, 15, 20, 25, 30}
_WIDE_COLUMNS = 8  # tables with more columns stack up to a laptop's width


def fmt(v, kind: str = "num"):
    """One value as safe HTML: hidden values read "suppressed", small counts "<10"."""
    from markupsafe import Markup, escape

    if v is None:
        return Markup('<span class="sup">suppressed</span>')
    if v == SMALL:
        return Markup('<span class="sup">{}</span>').format(SMALL)
    if isinstance(v, bool):
        return Markup("yes" if v else "no")
    if isinstance(v, int) and kind != "pct":
        return Markup(f"{v:,}")
    if isinstance(v, int | float):
        if kind == "pct":
            return Markup(f"{100 * float(v):.1f}%")
        if kind == "int":
            return Markup(f"{float(v):,.0f}")
        if kind == "signed":
            return Markup(f"{float(v):+.3f}")
        if kind == "months":  # a lead time: to the tenth of a month (about 3 days)
            return Markup(f"{float(v):.1f}")
        return Markup(f"{float(v):.3f}")
    if isinstance(v, list | tuple):
        return escape(", ".join(map(str, v)))
    return escape(v)


# ----------------------------------------------------------------------------- views
def _header_meta(card: ModelCard) -> str:
    m = card.model
    meta = [f"model {m.name}"]
    for key, label in (
        ("estimator", "estimator"),
        ("calibration", "calibration"),
        ("contract_version", "data contract"),
        ("model_spec_sha256", "spec sha256"),
    ):
        if getattr(m, key):
            val = str(getattr(m, key))
            meta.append(f"{label} {val[:12] if 'sha' in key else val}")
    r = card.registry
    meta.append(f"registry {r.name} version {r.version}" if r else "not yet registered")
    meta.append(f"generated {card.generated}")
    return " | ".join(meta)


def _given_pairs(given: Mapping) -> list[tuple]:
    pairs = []
    for k in _GIVEN:
        if k in given:
            v = given[k]
            if isinstance(v, Mapping):
                v = " to ".join(str(x) for x in v.values())
            pairs.append((k.replace("_", " "), v, "pct" if k == "prevalence" else "num"))
    return pairs


def _views(card: ModelCard) -> dict:
    """What the templates show beyond the card's own fields: plots, picked rows, labels."""
    from ._plots import backtest_png, calibration_png, capacity_png, fnr_png, shapes_png

    v: dict = {"meta": _header_meta(card)}
    ds = card.data_summary
    v["training"] = [(k.replace("_", " "), x, "num") for k, x in ds.training.items()]
    given = ds.given or {}
    v["given"] = _given_pairs(given)
    if ds.evaluation:  # the evaluation cohort's counts are shown once, under its heading
        v["given"] = [
            g for g in v["given"] if g[0] not in ("n children", "n positive", "prevalence")
        ]
    v["missingness"] = sorted(
        ({"feature": k, "missing": x} for k, x in (given.get("missingness") or {}).items()),
        key=lambda r: -(r["missing"] or 0),
    )
    v["features"] = [
        {"feature": c, "label": card.features.labels.get(c, c)} for c in card.features.used
    ]
    x = card.explanation
    if x is not None and x.error is None:
        labels = {t.get("term"): t.get("label") for t in x.terms}
        panels = [(str(labels.get(term, term)), rows) for term, rows in x.shapes.items()]
        v["shapes_png"] = shapes_png(panels)
        v["has_pairs"] = any(t.get("pair") for t in x.terms)
    head = card.metrics.headline or {}
    v["headline"] = [
        (label, head.get(key), kind)
        for label, key, kind in _HEADLINE
        if head.get(key) is not None or label == "ROC AUC"
    ]
    if card.calibration.bins:
        v["calibration_png"] = calibration_png(list(card.calibration.bins))
    at = card.capacity.at_k or {}
    curve = list(card.capacity.curve)
    v["capacity_png"] = capacity_png(curve, at.get("share"))
    v["capacity_rows"] = [
        r
        for r in curve
        if isinstance(r.get("share"), int | float) and round(100 * r["share"]) in _SHOW_SHARES
    ] or curve
    if card.fairness is not None:
        band = card.fairness.band or BAND
        v["band"] = band
        fnr_rows = [r for r in card.fairness.disparity if r.get("metric", "fnr") == "fnr"]
        v["fnr_png"] = fnr_png(fnr_rows, tuple(band))
        v["gates"] = _gates(card)
        t = {**DEFAULT_THRESHOLDS, **card.thresholds}
        v["min_expected"], v["family_error"] = t["ratio_min_expected"], t["family_error"]
    if card.backtest is not None:
        rows = list(card.backtest.by_year)
        v["backtest_png"] = backtest_png(rows)
        v["backtest_cols"] = [c for c in COLUMNS["backtest"] if any(c.key in r for r in rows)]
        # backtests from before calibration by year have no such column: no empty table
        v["calibration_years"] = [r for r in rows if "calibration_in_the_large" in r]
        t = {**DEFAULT_THRESHOLDS, **card.thresholds}
        v["year_tolerance"] = t["calibration_year_gap_max"]
    return v


def _gates(card: ModelCard) -> list[dict]:
    """How many groups each fairness check tested at once, and how many it failed."""
    fairness, t = card.fairness.to_dict(), card.thresholds
    labels = {"recall": "recall ratio", "flag_rate": "flag-rate ratio"}
    gates = [(labels.get(m, m), ratio_gate(m, fairness, t)) for m in GATING]
    gates.append(("calibration gap", gap_gate(fairness, t)))
    return [
        {
            "measure": label,
            "tested": g.n_tested,
            "failed": len(g.rejected),
            "hidden": g.hidden,
            "correction": g.correction_text(),
        }
        for label, g in gates
    ]


@functools.cache
def _environment():
    env = environment("send_early.report")
    env.filters["fmt"] = fmt
    env.globals.update(COLUMNS=COLUMNS, SECTIONS=SECTIONS, SMALL=SMALL, WIDE_COLUMNS=_WIDE_COLUMNS)
    return env


def render_html(card: ModelCard) -> str:
    """The whole page as one string."""
    return _environment().get_template("card.html.j2").render(card=card, view=_views(card))
