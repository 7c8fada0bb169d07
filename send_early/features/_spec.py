"""Feature pipeline specs: TOML files read with :mod:`tomllib`, validated on load.

A spec is declarative (no Python code): each ``[[feature]]`` names a table, a
column, an aggregation, a look-back window, a filter and a missing rule, so that
another backend (SQL, Spark) could execute the same file. What a spec may say (the
vocabulary and the objects it is read into) is in :mod:`send_early.features._pipeline`.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

from .._resources import spec_path
from ..exceptions import SpecError
from ..schema import ASQ_CUTOFFS, PHONICS_THRESHOLD, TABLES
from ._pipeline import (
    _OPS,
    AGGREGATIONS,
    CONSTANTS,
    ROLES,
    TRANSFORMS,
    FeatureSpec,
    PipelineSpec,
    parse_window,
)

__all__ = ["feature_roles", "load_pipeline"]


_MISSING = ("zero", "missing", "not_assessed")
_DTYPES = ("float", "flag", "category")
_NEEDS_COLUMN = {
    "latest", "sum", "rate", "min", "max", "mean", "distinct", "trend", "below_cutoff",
    "standing", "moves",
}  # fmt: skip
_NEEDS_TABLE = set(AGGREGATIONS) - {"threshold", "any_of", "months_known"}
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_KEYS = {
    "name", "label", "table", "column", "aggregation", "window", "filter", "prefer", "denominator",
    "complement", "transform", "source", "sources", "op", "cutoff", "end_column", "offset",
    "missing", "indicator", "due_year_group", "dtype", "protected", "unit", "role",
    "cutoff_table", "interval_column", "min_group", "normal_year_groups",
}  # fmt: skip
_TOP_KEYS = {"name", "version", "description", "population", "feature"}


def _line_of(raw: str, name: object) -> int | None:
    if not isinstance(name, str):
        return None
    m = re.search(r'^\s*name\s*=\s*["\']' + re.escape(name) + r'["\']', raw, flags=re.MULTILINE)
    return raw.count("\n", 0, m.start()) + 1 if m else None


def _as_tuple(v) -> tuple:
    return tuple(v) if isinstance(v, list) else (v,)


def load_pipeline(pipeline: str | os.PathLike | PipelineSpec = "default") -> PipelineSpec:
    """Read and validate a feature pipeline spec.

    Parameters
    ----------
    pipeline : str, path-like or PipelineSpec
        A shipped name (``"default"``), a path to a ``.toml`` file, or an
        already loaded spec (returned as is).

    Returns
    -------
    PipelineSpec

    Raises
    ------
    SpecError
        If the name is unknown (lists the available ones) or the file breaks a
        rule: every problem is listed with the file, the feature, its line and
        what must hold.

    Examples
    --------
    >>> from send_early.features import load_pipeline
    >>> spec = load_pipeline("default")
    >>> spec.name, spec.min_age_months, spec.max_age_months
    ('default', 12, 132)
    >>> spec.feature("persistent_absence").label
    'Persistent absence (attendance below 90% over the last 3 terms)'
    """
    if isinstance(pipeline, PipelineSpec):
        return pipeline
    path = spec_path("pipelines", pipeline)
    raw = path.read_text(encoding="utf-8")
    try:
        doc = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(
            f"{path}: must be valid TOML; {exc}. Fix the syntax at that line."
        ) from None
    return _parse(doc, raw, path)


def _parse(doc: dict, raw: str, path: Path) -> PipelineSpec:
    problems: list[str] = []

    def bad(where: str, line: int | None, msg: str) -> None:
        problems.append(f"{path.name}{f':{line}' if line else ''} {where}: {msg}")

    for k in sorted(set(doc) - _TOP_KEYS):
        bad("top level", None, f"unknown key {k!r}; allowed: {', '.join(sorted(_TOP_KEYS))}")
    for k in ("name", "version", "description"):
        if not isinstance(doc.get(k), str) or not doc.get(k):
            bad("top level", None, f"{k!r} must be a non-empty string; found {doc.get(k)!r}")
    pop = doc.get("population", {})
    lo, hi = pop.get("min_age_months"), pop.get("max_age_months")
    if not (isinstance(lo, int) and isinstance(hi, int) and 0 <= lo < hi):
        bad(
            "[population]",
            None,
            f"min_age_months and max_age_months must be whole numbers with "
            f"0 <= min < max; found {lo!r} and {hi!r}",
        )
    for k in sorted(set(pop) - {"min_age_months", "max_age_months"}):
        bad("[population]", None, f"unknown key {k!r}; allowed: min_age_months, max_age_months")
    raw_feats = doc.get("feature", [])
    if not isinstance(raw_feats, list) or not raw_feats:
        bad("top level", None, "at least one [[feature]] table is required")
        raw_feats = []
    seen: dict[str, int | None] = {}
    feats: list[FeatureSpec] = []
    for i, f in enumerate(raw_feats):
        name = f.get("name")
        line = _line_of(raw, name)
        where = f"feature {name!r}" if isinstance(name, str) else f"feature #{i + 1}"
        n0 = len(problems)
        spec = _parse_feature(f, where, line, bad, seen, feats)
        if isinstance(name, str):
            if name in seen:
                bad(where, line, f"names must be unique; {name!r} is defined twice")
            seen[name] = line
        if spec is not None and len(problems) == n0:
            feats.append(spec)
    outs = [c for f in feats for c in f.output_columns]
    dups = sorted({c for c in outs if outs.count(c) > 1} - set(seen) if outs else set())
    for c in dups:
        bad(
            "top level",
            None,
            f"output column {c!r} is produced twice (an indicator clashes with a feature name)",
        )
    if problems:
        raise SpecError(
            f"feature pipeline spec {path} is invalid ({len(problems)} problem(s)):\n  "
            + "\n  ".join(problems)
        )
    return PipelineSpec(
        doc["name"], doc["version"], doc["description"].strip(), lo, hi, tuple(feats), path
    )


def _parse_feature(f, where, line, bad, seen, feats) -> FeatureSpec | None:
    if not isinstance(f, dict):
        bad(where, line, "each [[feature]] must be a table")
        return None
    for k in sorted(set(f) - _KEYS):
        bad(where, line, f"unknown key {k!r}; allowed: {', '.join(sorted(_KEYS))}")
    name, label, agg = f.get("name"), f.get("label"), f.get("aggregation")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        bad(where, line, f"name must be lower-case letters, digits and underscores; found {name!r}")
    if not isinstance(label, str) or not label.strip():
        bad(where, line, "label must be a non-empty plain-English string (it is shown in reasons)")
    if agg not in AGGREGATIONS:
        bad(where, line, f"aggregation must be one of {', '.join(AGGREGATIONS)}; found {agg!r}")
        return None
    kw: dict = {"name": name, "label": label, "aggregation": agg, "line": line}
    role = f.get("role")
    if role not in ROLES:
        bad(
            where,
            line,
            f"role must be one of {', '.join(ROLES)} (what the feature measures; see "
            f"docs/features.md); found {role!r}",
        )
    kw["role"] = role
    table = f.get("table")
    tdef = None
    if agg in _NEEDS_TABLE:
        if table not in TABLES:
            bad(where, line, f"table must be one of {', '.join(TABLES)}; found {table!r}")
            return None
        tdef = TABLES[table]
        kw["table"] = table
    elif table is not None:
        bad(
            where,
            line,
            f"aggregation {agg!r} takes no table (it reads other features); found table {table!r}",
        )

    def check_col(c, key="column"):
        if tdef is None:
            return
        if not isinstance(c, str) or c not in tdef.column_names:
            bad(
                where,
                line,
                f"{key} must be a column of {tdef.name} ({', '.join(tdef.column_names)}); found {c!r}",
            )

    cols = f.get("column")
    if cols is not None:
        cols = _as_tuple(cols)
        for c in cols:
            check_col(c)
        kw["column"] = cols
        if len(cols) > 1 and agg not in ("rate", "trend", "sum"):
            bad(
                where,
                line,
                f"column may list several columns only for rate, trend or sum; found {len(cols)}",
            )
    elif agg in _NEEDS_COLUMN:
        bad(where, line, f"aggregation {agg!r} needs a column")
    if "window" in f:
        try:
            kw["window"] = parse_window(f["window"])
        except ValueError as exc:
            bad(where, line, str(exc))
        if table == "children" and f["window"] != "all":
            bad(where, line, "children has one row per child: its window must be 'all'")
    for key in ("filter", "prefer"):
        if key in f:
            d = f[key]
            if not isinstance(d, dict) or not d:
                bad(
                    where,
                    line,
                    f"{key} must be a table of column = value (or list of values); found {d!r}",
                )
                continue
            out = {}
            for c, v in d.items():
                check_col(c, key)
                vals = _as_tuple(v)
                if tdef is not None and c in tdef.column_names and tdef.column(c).codes:
                    wrong = [x for x in vals if x not in tdef.column(c).codes]
                    if wrong:
                        bad(
                            where,
                            line,
                            f"{key} {c} must use codes {', '.join(tdef.column(c).codes)}; found {wrong!r}",
                        )
                out[c] = vals
            kw[key] = out
    if "prefer" in f and agg not in ("latest", "below_cutoff"):
        bad(where, line, "prefer is only for aggregations 'latest' and 'below_cutoff'")
    if agg in ("rate", "trend"):
        check_col(f.get("denominator"), "denominator")
        kw["denominator"] = f.get("denominator")
    kw["complement"] = bool(f.get("complement", False))
    if agg == "derive":
        t = f.get("transform")
        if t not in TRANSFORMS:
            bad(where, line, f"transform must be one of {', '.join(TRANSFORMS)}; found {t!r}")
        if table != "children":
            bad(where, line, f"derive reads the children table; found table {table!r}")
        kw["transform"] = t
    if agg == "open_at":
        check_col(f.get("end_column"), "end_column")
        kw["end_column"] = f.get("end_column")
    if agg == "distinct":
        off = f.get("offset", 0)
        if not isinstance(off, int):
            bad(where, line, f"offset must be a whole number; found {off!r}")
        kw["offset"] = off
    if agg == "threshold":
        src, op, cut = f.get("source"), f.get("op"), f.get("cutoff")
        if src not in seen:
            bad(where, line, f"source must name a feature defined above it; found {src!r}")
        if op not in _OPS:
            bad(where, line, f"op must be one of {', '.join(_OPS)}; found {op!r}")
        kw.update(source=src, op=op)
        if isinstance(cut, bool) or not isinstance(cut, int | float | str):
            bad(
                where,
                line,
                f"cutoff must be a number or a constant name ({', '.join(CONSTANTS)}); found {cut!r}",
            )
        elif isinstance(cut, str):
            value = _resolve_constant(cut, src, feats)
            if value is None:
                bad(
                    where,
                    line,
                    f"cutoff {cut!r} must be one of {', '.join(CONSTANTS)} "
                    f"(ASQ_CUTOFFS is looked up by the source's column); it does not resolve",
                )
            kw.update(cutoff=value, cutoff_text=cut)
        else:
            kw.update(cutoff=float(cut), cutoff_text=f"{cut:g}")
    if agg in ("below_cutoff", "standing", "moves"):
        _parse_new(f, agg, kw, where, line, bad, check_col)
    if agg == "any_of":
        srcs = f.get("sources")
        if not isinstance(srcs, list) or not srcs or any(s not in seen for s in srcs):
            bad(where, line, f"sources must list features defined above it; found {srcs!r}")
        kw["sources"] = tuple(srcs or ())
    missing = f.get("missing", "missing")
    if missing not in _MISSING:
        bad(where, line, f"missing must be one of {', '.join(_MISSING)}; found {missing!r}")
    kw["missing"] = missing
    kw["indicator"] = bool(f.get("indicator", False))
    if kw["indicator"] and missing == "zero":
        bad(
            where,
            line,
            "indicator = true needs missing = 'missing' or 'not_assessed' (zero fills the gaps)",
        )
    if missing == "not_assessed":
        yg = f.get("due_year_group")
        if not isinstance(yg, int) or not -1 <= yg <= 6:
            bad(
                where,
                line,
                "missing = 'not_assessed' needs due_year_group (0 = Reception, 1 = Year 1, ...)",
            )
        kw["due_year_group"] = yg
    elif "due_year_group" in f:
        bad(where, line, "due_year_group is only used with missing = 'not_assessed'")
    dtype = f.get("dtype", "float")
    if dtype not in _DTYPES:
        bad(where, line, f"dtype must be one of {', '.join(_DTYPES)}; found {dtype!r}")
    if dtype == "category":
        ok = (
            agg == "latest"
            and tdef is not None
            and len(cols or ()) == 1
            and cols[0] in tdef.column_names
            and tdef.column(cols[0]).kind == "code"
        )
        if not ok:
            bad(where, line, "dtype 'category' needs aggregation 'latest' of one code column")
        if missing == "zero":
            bad(where, line, "a category feature cannot use missing = 'zero'")
    kw["dtype"] = dtype
    kw["protected"] = bool(f.get("protected", False))
    kw["unit"] = str(f.get("unit", ""))
    try:
        return FeatureSpec(**kw)
    except TypeError:  # pragma: no cover - guarded by the checks above
        return None


def _resolve_constant(name: str, source: str | None, feats: list[FeatureSpec]) -> float | None:
    if name == "PHONICS_THRESHOLD":
        return float(PHONICS_THRESHOLD)
    if name == "ASQ_CUTOFFS":
        src = next((f for f in feats if f.name == source), None)
        if src is not None and len(src.column) == 1 and src.column[0] in ASQ_CUTOFFS:
            return float(ASQ_CUTOFFS[src.column[0]])
    return None


def _parse_new(f, agg, kw, where, line, bad, check_col) -> None:
    """The keys of ``below_cutoff``, ``standing`` and ``moves``."""
    if agg == "below_cutoff":
        from ._cutoffs import CUTOFF_TABLES

        name = f.get("cutoff_table")
        if name not in CUTOFF_TABLES:
            bad(
                where,
                line,
                f"cutoff_table must be one of {', '.join(CUTOFF_TABLES)}; found {name!r}",
            )
        check_col(f.get("interval_column"), "interval_column")
        kw.update(cutoff_table=name, interval_column=f.get("interval_column"))
        col = (kw.get("column") or ("",))[0]
        if name in CUTOFF_TABLES and col not in CUTOFF_TABLES[name].domains:
            bad(
                where,
                line,
                f"column must be a domain of cut-off table {name!r} "
                f"({', '.join(CUTOFF_TABLES[name].domains)}); found {col!r}",
            )
    elif agg == "standing":
        n = f.get("min_group", 10)
        if isinstance(n, bool) or not isinstance(n, int) or n < 2:
            bad(where, line, f"min_group must be a whole number of at least 2; found {n!r}")
        kw["min_group"] = n
        if kw.get("table") != "assessments":
            bad(where, line, "standing reads the assessments table (dated by assessment_date)")
    elif agg == "moves":
        yg = f.get("normal_year_groups", [])
        if not isinstance(yg, list) or not all(
            isinstance(y, int) and not isinstance(y, bool) for y in yg
        ):
            bad(where, line, f"normal_year_groups must be a list of year groups; found {yg!r}")
            yg = []
        kw["normal_year_groups"] = tuple(yg)


def feature_roles(pipeline: str | os.PathLike | PipelineSpec = "default") -> dict[str, str]:
    """Feature name -> role (``"need"``, ``"context"`` or ``"process"``) of a pipeline.

    Examples
    --------
    >>> from send_early.features import feature_roles
    >>> roles = feature_roles("default")
    >>> roles["asq_communication"], roles["imd_decile"], roles["referrals_ep_365d"]
    ('need', 'context', 'process')
    """
    return load_pipeline(pipeline).roles()
