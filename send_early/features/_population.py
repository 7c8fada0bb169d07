"""Who is in the population at an as-of date, and why the others are not."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import SchemaError
from ..schema import TABLES, Tables, check_tables
from ._columnar import (
    _age_months,
    _as_of,
    _day,
    _run_ends,
    _Store,
)
from ._spec import PipelineSpec, load_pipeline

__all__ = ["POPULATIONS", "STATUSES", "population"]

#: Population statuses, in the order they are decided (the first that applies wins); the
#: last two are used only by the ``sen_support`` population.
STATUSES = (
    "in_population", "already_identified", "not_born", "moved_out", "too_young", "too_old",
    "not_on_sen_support", "ehc_requested",
)  # fmt: skip
#: Who is scored: children not yet identified (the default), or children on SEN support at
#: the as-of date with no EHC needs assessment request yet (the ``escalation`` outcome).
POPULATIONS = ("not_identified", "sen_support")
_IDENTIFYING = ("sen_support", "ehc_request", "ehcp")
_REQUESTED = ("ehc_request", "ehcp")
_STATUS_DTYPE = pd.CategoricalDtype(["assessed", "not_yet_due", "missing"])


def _coded_rows(store: _Store, table: str, column: str, day: int):
    """A dated table's rows in date order: (child position, day, code of ``column``, the
    column's code list, rows of a known child on or before ``day``)."""
    _, pos, days = store.sorted(table)
    codes = TABLES[table].column(column).codes
    return pos, days, store.column(table, column), codes, (days <= day) & (pos >= 0)


def _on_sen_support(store: _Store, day: int) -> tuple[np.ndarray, np.ndarray]:
    """(on SEN support at ``day``, EHC request or plan on or before ``day``) for every child.

    On SEN support: the latest record on or before ``day`` that says anything is a
    ``sen_support`` event or a census ``K`` (a later census ``N`` ends it). A request or plan
    is any ``ehc_request`` or ``ehcp`` event, or a census ``E``, on or before ``day``.
    """
    never = np.iinfo(np.int64).min
    support, no_sen = np.full(store.n, never), np.full(store.n, never)
    requested = np.zeros(store.n, bool)
    if store.has("sen_events"):
        pos, days, ev, codes, ok = _coded_rows(store, "sen_events", "event", day)
        m = ok & (ev == codes.index("sen_support"))
        np.maximum.at(support, pos[m], days[m])
        requested[pos[ok & np.isin(ev, [codes.index(c) for c in _REQUESTED])]] = True
    if store.has("census"):
        pos, days, prov, codes, ok = _coded_rows(store, "census", "sen_provision", day)
        m = ok & (prov == codes.index("K"))
        np.maximum.at(support, pos[m], days[m])
        m = ok & (prov == codes.index("N"))
        np.maximum.at(no_sen, pos[m], days[m])
        requested[pos[ok & (prov == codes.index("E"))]] = True
    return (support != never) & (support >= no_sen), requested


def _status(
    store: _Store, as_of: pd.Timestamp, spec: PipelineSpec, population: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Status code (index into STATUSES) and age in months for every child.

    ``population`` (one of POPULATIONS) defaults to the pipeline spec's.
    """
    population = population or getattr(spec, "population", "not_identified")
    if population not in POPULATIONS:
        raise ValueError(
            f"population must be one of {', '.join(POPULATIONS)}; found {population!r}."
        )
    day = _day(as_of)
    age = _age_months(store.birth, as_of)
    status = np.zeros(store.n, np.int8)
    if population == "sen_support":
        on_support, requested = _on_sen_support(store, day)
        status[~on_support] = STATUSES.index("not_on_sen_support")
        status[requested] = STATUSES.index("ehc_requested")
        return _common_status(status, store, day, age, spec), age
    identified = np.zeros(store.n, bool)
    if store.has("sen_events"):
        _, pos, days = store.sorted("sen_events")
        ev = store.column("sen_events", "event")
        codes = [TABLES["sen_events"].column("event").codes.index(c) for c in _IDENTIFYING]
        hit = (days <= day) & np.isin(ev, codes) & (pos >= 0)
        identified[pos[hit]] = True
    if store.has("census"):
        _, pos, days = store.sorted("census")
        m = (days <= day) & (pos >= 0)
        idx = np.flatnonzero(m)
        last = idx[_run_ends(pos[idx])]
        prov = store.column("census", "sen_provision")[last]
        n_code = TABLES["census"].column("sen_provision").codes.index("N")
        sen = ~np.isnan(prov) & (prov != n_code)
        identified[pos[last[sen]]] = True
    status[identified] = 1
    return _common_status(status, store, day, age, spec), age


def _common_status(status, store: _Store, day: int, age: np.ndarray, spec) -> np.ndarray:
    """Age range, moves and births, which win over the population's own rule."""
    status[age >= spec.max_age_months] = 5
    status[age < spec.min_age_months] = 4
    status[store.moved_out <= day] = 3
    status[store.birth > day] = 2
    return status


def _kind_ok(s: pd.Series, kind: str, codes) -> bool:
    t = s.dtype
    if kind in ("id", "str"):
        return pd.api.types.is_string_dtype(t) and not pd.api.types.is_object_dtype(t)
    if kind == "date":
        return pd.api.types.is_datetime64_dtype(t)
    if kind == "code":
        return isinstance(t, pd.CategoricalDtype) and list(t.categories) == list(codes)
    if kind == "bool":
        return pd.api.types.is_bool_dtype(t)
    return pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)


def _typed(tables, check: bool = True) -> Tables:
    """Validated, typed tables; with ``check=False`` only the dtypes are checked (fast)."""
    tables = Tables.coerce(tables)
    if check or "children" not in tables:
        return check_tables(tables)
    wrong, absent = [], {}
    for name, df in tables.items():
        if name not in TABLES:
            continue
        for c in TABLES[name].columns:
            if c.optional and c.name not in df.columns:  # read as empty, as check_tables does
                absent.setdefault(name, {})[c.name] = pd.Series(pd.NA, df.index, c.dtype)
            elif c.name not in df.columns:
                wrong.append(f"{name}.{c.name} (missing)")
            elif not _kind_ok(df[c.name], c.kind, c.codes):
                wrong.append(f"{name}.{c.name} ({df[c.name].dtype})")
    if wrong:
        raise SchemaError(
            "with check=False every contract column must already hold its contract dtype; found "
            + ", ".join(wrong[:10])
            + (", ..." if len(wrong) > 10 else "")
            + ". Pass tables returned by send_early.schema.check_tables(...) or use check=True."
        )
    if absent:
        tables = tables.replace(**{n: tables[n].assign(**cols) for n, cols in absent.items()})
    return tables


def population(tables, as_of, pipeline="default", *, check: bool = True) -> pd.DataFrame:
    """Where every child stands at ``as_of``: in the population or why not.

    Parameters
    ----------
    tables : Tables or mapping of str to DataFrame
        Contract tables; they are validated first.
    as_of : date-like
        The as-of date.
    pipeline : str, path-like or PipelineSpec, default "default"
        Gives the population age range.
    check : bool, default True
        Validate the tables with :func:`send_early.schema.check_tables`. Pass
        False only for tables that came out of it (then only dtypes are
        checked), e.g. when building many snapshots of one extract.

    Returns
    -------
    DataFrame
        Indexed by ``child_id`` with ``status`` (categorical: ``in_population``,
        ``already_identified``, ``not_born``, ``moved_out``, ``too_young``,
        ``too_old``; the first that applies wins, in the order
        not_born, moved_out, too_young/too_old, already_identified) and
        ``age_months``. ``.attrs["counts"]`` holds the count per status; the
        counts add up to the number of children.

    Examples
    --------
    >>> import pandas as pd
    >>> from send_early import Tables
    >>> from send_early.features import population
    >>> children = pd.DataFrame({"child_id": ["a", "b", "c"],
    ...     "birth_date": ["2018-01-10", "2023-06-01", "2010-03-01"], "sex": ["F", "M", "F"],
    ...     "ethnicity": [None] * 3, "imd_decile": [3, 5, None], "gestation_weeks": [39, 40, None],
    ...     "birth_weight_g": [3300, None, None], "moved_out_date": [None] * 3})
    >>> tables = Tables({"children": children}, extract_date="2025-08-31",
    ...     allow_missing=["sen_events"])  # no one identified: an explicit opt-out
    >>> pop = population(tables, "2022-09-01")
    >>> pop["status"].tolist()
    ['in_population', 'not_born', 'too_old']
    >>> sum(pop.attrs["counts"].values()) == len(children)
    True
    """
    spec = load_pipeline(pipeline)
    tables = _typed(tables, check)
    as_of = _as_of(as_of, tables)
    store = _Store(tables)
    return _population_frame(store, as_of, spec)


def _population_frame(store: _Store, as_of: pd.Timestamp, spec: PipelineSpec) -> pd.DataFrame:
    status, age = _status(store, as_of, spec)
    out = pd.DataFrame(
        {
            "status": pd.Categorical.from_codes(status, dtype=pd.CategoricalDtype(list(STATUSES))),
            "age_months": np.where(status == 2, np.nan, age),
        },
        index=pd.Index(store.ids, name="child_id"),
    )
    counts = np.bincount(status, minlength=len(STATUSES))
    out.attrs = {
        "as_of": as_of.date().isoformat(),
        "counts": dict(zip(STATUSES, map(int, counts), strict=True)),
    }
    return out


# --------------------------------------------------------------------------- aggregations
