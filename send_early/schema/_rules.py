"""The contract's rules: required tables, each table's columns and values, cross-table checks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._coerce import _coerce_table, _kind_words, _values
from ._contract import ASQ_INTERVALS, EYFSP_MEASURES, TABLES, Table
from ._report import _Collector
from ._tables import Tables

ASQ_INTERVALS_TEXT = ", ".join(map(str, ASQ_INTERVALS))

#: Why each required table is required (shown when it is missing).
_NEEDED_FOR = {
    "children": "every other table refers to its child_id",
    "sen_events": "without it children already identified (SEN support, EHC needs assessment "
    "request or EHC plan) cannot be excluded from the population, so they would be scored and "
    "flagged, and labels cannot be built",
}


def _check_required(tables: Tables, col: _Collector) -> None:
    """Required tables must be given (or allowed missing); empty ones are named."""
    for name, table in TABLES.items():
        if not table.required:
            continue
        if name not in tables:
            why = _NEEDED_FOR.get(name, "the population rules need it")
            if name in tables.allow_missing:
                col.add_whole(
                    "warning",
                    name,
                    "",
                    "missing_table",
                    0,
                    f"{name} is required but was allowed to be missing (allow_missing): {why}.",
                )
            else:
                opt_out = (
                    ""
                    if name == "children"
                    else f" If the extract truly has no {name}, opt out explicitly with "
                    f"--allow-missing-table {name} (Python: allow_missing=({name!r},))."
                )
                col.add_whole(
                    "error",
                    name,
                    "",
                    "missing_table",
                    0,
                    f"{name} is required: {why}; no {name} table was given. Add {name}.csv or "
                    f"{name}.parquet.{opt_out}",
                )
        elif (
            name == "children" and isinstance(tables[name], pd.DataFrame) and not len(tables[name])
        ):
            col.add_whole(
                "warning",
                name,
                "",
                "empty_table",
                0,
                "children has no rows: the population is empty and nobody can be scored.",
            )


def _without_duplicate_columns(df: pd.DataFrame, table: Table, col: _Collector) -> pd.DataFrame:
    """Report each repeated column name once; keep the first copy so the rest can be checked."""
    dup = df.columns[df.columns.duplicated()].unique()
    for c in dup:
        n = int((df.columns == c).sum())
        col.add_whole(
            "error",
            table.name,
            str(c),
            "duplicate_column",
            len(df),
            f"{table.name}.{c} must be one column; found {n} columns with that name. Keep one.",
        )
    return df.loc[:, ~df.columns.duplicated()]


def _check_table(
    df: pd.DataFrame, table: Table, col: _Collector, extract: pd.Timestamp
) -> pd.DataFrame:
    t = table.name
    if len(df.columns) and not set(map(str, df.columns)) & set(table.column_names):
        col.add_whole(
            "error",
            t,
            "",
            "no_header",
            len(df),
            f"{t} has none of the contract's columns ({', '.join(table.column_names)}): "
            "the first row must be the header; was the header row dropped?",
        )
        return df
    absent = [c for c in table.columns if c.optional and c.name not in df.columns]
    for c in absent:
        col.notes.append(f"{t}.{c.name} is absent (an optional column): {c.if_absent}")
    missing = [c.name for c in table.columns if not c.optional and c.name not in df.columns]
    for c in missing:
        col.add_whole(
            "error",
            t,
            c,
            "missing_column",
            len(df),
            f"{t}.{c} is a required column and is missing (columns found: {', '.join(map(str, df.columns))}).",
        )
    for c in df.columns:
        if c not in table.column_names:
            col.add_whole(
                "warning",
                t,
                str(c),
                "unknown_column",
                len(df),
                f"{t}.{c} is not in the contract; it is kept but not used.",
            )
    typed, bad = _coerce_table(df, table)
    for c in table.columns:
        if c.name not in df.columns:
            continue
        raw = df[c.name]
        mask = bad[c.name]
        if c.kind == "code":
            col.add(
                "error",
                t,
                c.name,
                "code",
                df,
                mask,
                f"{t}.{c.name} must be one of {', '.join(c.codes or ())}; found {_values(raw, mask)}",
            )
        elif c.kind == "id":
            col.add("error", t, c.name, "type", df, mask, f"{t}.{c.name} must be {_kind_words(c)}")
        else:
            col.add(
                "error",
                t,
                c.name,
                "type",
                df,
                mask,
                f"{t}.{c.name} must be {_kind_words(c)}; found values that are not",
            )
        isna = raw.isna().to_numpy()
        if c.kind == "id":
            isna = isna | (raw.astype("str").str.strip() == "").fillna(True).to_numpy(bool)
        if not c.nullable and c.null_means is None:
            col.add(
                "error",
                t,
                c.name,
                "not_null",
                df,
                isna,
                f"{t}.{c.name} must not be empty; found empty values",
            )
        if mask.any() and c.kind not in ("int", "float"):
            continue
        s = typed[c.name]
        if mask.any():  # the range of the values that are numbers is still checked
            s = pd.to_numeric(raw, errors="coerce").astype("Float64").where(~mask)
        if c.min is not None or c.max is not None:
            v = s.astype("Float64")
            lo = -np.inf if c.min is None else c.min
            hi = np.inf if c.max is None else c.max
            out = ((v < lo) | (v > hi)).fillna(False).to_numpy(bool)
            rng = f"between {c.min:g} and {c.max:g}" if c.max is not None else f"at least {c.min:g}"
            col.add(
                "error",
                t,
                c.name,
                "range",
                df,
                out,
                f"{t}.{c.name} must be {rng}; found values outside",
            )
        if c.step is not None:
            off = (s.astype("Float64") % c.step != 0).fillna(False).to_numpy(bool)
            col.add(
                "error",
                t,
                c.name,
                "step",
                df,
                off,
                f"{t}.{c.name} must move in steps of {c.step}; found other values",
            )
    if "child_id" in df.columns and t == "children" and not bad.get("child_id", np.zeros(0)).any():
        dup = (
            typed["child_id"].duplicated(keep=False).to_numpy()
            & typed["child_id"].notna().to_numpy()
        )
        col.add(
            "error",
            t,
            "child_id",
            "unique",
            df,
            dup,
            f"{t}.child_id must be unique; found duplicates",
        )
    ok = {c: not bad.get(c, np.ones(1, bool)).any() and c in df.columns for c in table.column_names}
    if t == "attendance":
        if ok["term_start"] and ok["term_end"]:
            m = (typed["term_end"] < typed["term_start"]).fillna(False).to_numpy(bool)
            col.add(
                "error",
                t,
                "term_end",
                "order",
                df,
                m,
                "attendance.term_end must be on or after term_start; found earlier",
            )
        if ok["possible_sessions"] and ok["authorised_absence"] and ok["unauthorised_absence"]:
            s = typed["authorised_absence"] + typed["unauthorised_absence"]
            m = (s > typed["possible_sessions"]).fillna(False).to_numpy(bool)
            col.add(
                "error",
                t,
                "authorised_absence",
                "absence_sum",
                df,
                m,
                "attendance.authorised_absence + unauthorised_absence must not exceed possible_sessions; found more",
            )
    if t == "social_care" and ok["start_date"] and ok["end_date"]:
        m = (typed["end_date"] < typed["start_date"]).fillna(False).to_numpy(bool)
        col.add(
            "error",
            t,
            "end_date",
            "order",
            df,
            m,
            "social_care.end_date must be on or after start_date; found earlier",
        )
    if t == "exclusions" and ok["days"]:
        m = (typed["days"] <= 0).fillna(False).to_numpy(bool)
        col.add(
            "error",
            t,
            "days",
            "range",
            df,
            m,
            "exclusions.days must be greater than 0; found 0 or less",
        )
    if t == "assessments" and ok["measure"] and ok["value"]:
        v = typed["value"].astype("Float64")
        eyfsp = typed["measure"].isin(EYFSP_MEASURES).to_numpy()
        m1 = eyfsp & ~v.isin([0, 1]).fillna(False).to_numpy(bool)
        col.add(
            "error",
            t,
            "value",
            "measure_value",
            df,
            m1,
            "assessments.value must be 0 or 1 for EYFSP measures; found other values",
        )
        ph = (typed["measure"] == "phonics_mark").to_numpy(bool)
        m2 = ph & ((v < 0) | (v > 40) | (v % 1 != 0)).fillna(False).to_numpy(bool)
        col.add(
            "error",
            t,
            "value",
            "measure_value",
            df,
            m2,
            "assessments.value must be a whole number from 0 to 40 for phonics_mark; found other values",
        )
    if t == "health_reviews" and ok.get("asq_interval_months"):
        m = ~typed["asq_interval_months"].isin(ASQ_INTERVALS).to_numpy(bool)
        m = m & typed["asq_interval_months"].notna().to_numpy(bool)
        msg = f"health_reviews.asq_interval_months must be an ASQ-3 interval ({ASQ_INTERVALS_TEXT})"
        col.add(
            "error", t, "asq_interval_months", "asq_interval", df, m, msg + "; found other values"
        )
    return typed


def _date_ok(df: pd.DataFrame, c: str) -> bool:
    return c in df.columns and pd.api.types.is_datetime64_dtype(df[c])


def _child_codes(df: pd.DataFrame, ids: pd.Index) -> np.ndarray:
    """Position of each row's child_id in ``ids`` (unique), -1 where absent.

    One hash lookup per table: pandas' ``isin`` on Arrow-backed strings loops in
    Python, ``Index.get_indexer`` does not.
    """
    return ids.get_indexer(df["child_id"].astype("str"))


def _check_cross(typed: dict[str, pd.DataFrame], col: _Collector, extract: pd.Timestamp) -> None:
    children = typed.get("children")
    have_ids = (
        children is not None
        and "child_id" in children.columns
        and pd.api.types.is_string_dtype(children["child_id"])
    )
    ids = birth = None
    if have_ids:
        first = ~children["child_id"].duplicated().to_numpy()
        ids = pd.Index(children["child_id"].to_numpy()[first])
        if _date_ok(children, "birth_date"):
            birth = children["birth_date"].to_numpy()[first]
    for name, df in typed.items():
        table = TABLES[name]
        codes = None
        if have_ids and "child_id" in df.columns and pd.api.types.is_string_dtype(df["child_id"]):
            codes = _child_codes(df, ids)
        if name != "children" and codes is not None:
            orphan = (codes < 0) & df["child_id"].notna().to_numpy()
            col.add(
                "error",
                name,
                "child_id",
                "orphan",
                df,
                orphan,
                f"{name}.child_id must exist in children; found ids with no child",
            )
        for c in table.date_columns:
            if not _date_ok(df, c):
                continue
            d = df[c]
            future = (d > extract).fillna(False).to_numpy(bool)
            col.add(
                "error",
                name,
                c,
                "after_extract",
                df,
                future,
                f"{name}.{c} must not be after the extract date {extract.date()}; found later dates",
            )
            if (
                birth is not None
                and len(birth)  # no children: every record is an orphan, none can be dated
                and codes is not None
                and not (name == "children" and c == "birth_date")
            ):
                known = codes >= 0
                b = birth[np.where(known, codes, 0)]
                dv = d.to_numpy()
                before = known & ~pd.isna(b) & ~pd.isna(dv) & (dv < b)
                col.add(
                    "error",
                    name,
                    c,
                    "before_birth",
                    df,
                    before,
                    f"{name}.{c} must not be before the child's birth_date; found earlier dates",
                )
    _check_consistency(typed, col)


def _check_consistency(typed: dict[str, pd.DataFrame], col: _Collector) -> None:
    """Census K/E should follow a sen_events record (a warning: extracts lag)."""
    census, ev = typed.get("census"), typed.get("sen_events")
    if census is None or ev is None:
        return
    need = {"child_id", "census_date", "sen_provision"} <= set(census.columns) and {
        "child_id",
        "event_date",
        "event",
    } <= set(ev.columns)
    if not need or not (_date_ok(census, "census_date") and _date_ok(ev, "event_date")):
        return
    if not isinstance(census["sen_provision"].dtype, pd.CategoricalDtype) or not isinstance(
        ev["event"].dtype, pd.CategoricalDtype
    ):
        return
    ids = pd.Index(pd.unique(ev["child_id"].astype("str")))
    ev_code = _child_codes(ev, ids)
    cen_code = _child_codes(census, ids)
    never = np.datetime64("NaT")

    def first_date(mask: np.ndarray) -> np.ndarray:
        if not len(ids):
            return np.full(len(census), never, dtype="datetime64[s]")
        out = np.full(len(ids), np.datetime64("9999-12-31"), dtype="datetime64[s]")
        np.minimum.at(out, ev_code[mask], ev["event_date"].to_numpy(dtype="datetime64[s]")[mask])
        f = out[np.where(cen_code >= 0, cen_code, 0)]
        return np.where(cen_code >= 0, f, never)

    dates = census["census_date"].to_numpy(dtype="datetime64[s]")
    dated = ev["event_date"].notna().to_numpy()
    provision = census["sen_provision"]
    # each provision must follow a qualifying sen_events record dated on or before the census
    for held, events, text in (
        (provision != "N", dated, "K or E should follow a sen_events record"),
        (
            provision == "E",
            (ev["event"] == "ehcp").to_numpy(bool) & dated,
            "E should follow an ehcp event",
        ),
    ):
        f = first_date(events)
        m = held.to_numpy(bool) & (pd.isna(f) | (f > dates))
        col.add(
            "warning",
            "census",
            "sen_provision",
            "consistency",
            census,
            m,
            f"census.sen_provision {text} on or before census_date; found none",
        )
