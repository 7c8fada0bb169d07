"""Reasons for an audience: which record source each reason comes from, its date, the prompt.

A reason sentence (``send_early.explain.explain_local``) starts with the pipeline label of its
feature(s); the label finds the feature, the feature its contract table (through ``source``
and ``sources`` for derived features), the table a domain. A reason whose source is unknown is
shown to the SEND team only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Who reads a list, and the reason domains each may see. With ``audience="school"`` the
#: lists of children on no school roll go to their locality team (health visiting, early
#: help), who hold the health visiting records and so may read health reasons too.
AUDIENCES = {
    "school": ("education", "development"),
    "locality_team": ("education", "development", "health"),
    # a reason whose record source is unknown (a custom pipeline) is the SEND team's only
    "send_team": ("education", "development", "health", "social_care", "home_area", "unknown"),
}
#: The domain of each contract table's records.
DOMAINS = {
    "census": "education",
    "attendance": "education",
    "exclusions": "education",
    "assessments": "education",
    "health_reviews": "health",
    "referrals": "health",
    "social_care": "social_care",
}
# children: derived age features are development; birth records are health; home area apart
_CHILD_COLUMNS = {
    "gestation_weeks": "health",
    "birth_weight_g": "health",
    "imd_decile": "home_area",
    "sex": "protected",  # never a reason (explain_local blocks them); never shown here either
    "ethnicity": "protected",
}
#: Features over every table's records (no one source): their domain.
_HISTORY = {"months_known": "development"}
_PROMPTS = {
    "assessments": "learning and progress (EYFSP and phonics results)",
    "attendance": "attendance and what lies behind the absences",
    "exclusions": "behaviour and what lies behind the suspensions",
    "census": "language and circumstances recorded at the school census",
    "development": "progress for the child's age and place in the school year",
    "health_reviews": "development at the health visitor reviews (ASQ-3)",
    "referrals": "what came of referrals to health and therapy services",
    "social_care": "the support around the child, with the social worker",
    "health": "health at birth and since",
    "home_area": "the family's circumstances",
}
_JOIN = "; together with "
#: A record's date as a reason sentence names it ("... on 2024-03-02").
_ISO = r"(?:on|at birth,) (\d{4}-\d{2}-\d{2})"


def _origin(spec, name: str, seen=()) -> list[tuple[str, str, dict]]:
    """(domain, table, filter) of each record source behind a feature."""
    f = spec.feature(name) if name in spec.feature_names else None
    if f is None or name in seen:
        return [("unknown", "", {})]
    if f.table == "children":
        dom = _CHILD_COLUMNS.get(f.column[0] if f.column else "", "development")
        return [(dom, "children" if dom != "development" else "", {})]
    if f.table:
        return [(DOMAINS.get(f.table, "unknown"), f.table, dict(f.filter or {}))]
    parents = [f.source] if f.source else list(f.sources)
    if not parents and f.aggregation in _HISTORY:  # how long the council has known the child
        return [(_HISTORY[f.aggregation], "", {})]
    if not parents:
        return [("unknown", "", {})]
    return [o for p in parents for o in _origin(spec, p, (*seen, name))]


def feature_domains(pipeline) -> pd.DataFrame:
    """Each feature's label, record domain (education, development, health, social_care,
    home_area; protected for sex and ethnicity) and its record sources, from the pipeline spec.

    Examples
    --------
    >>> from send_early.features import load_pipeline
    >>> from send_early.lists import feature_domains
    >>> d = feature_domains(load_pipeline("default")).set_index("feature")
    >>> d.loc[["eyfsp_gld", "asq_any_below_cutoff", "cin_ever", "summer_born"], "domain"].tolist()
    ['education', 'health', 'social_care', 'development']
    """
    rows = []
    for f in pipeline.features:  # loop over features, never over children
        origins = _origin(pipeline, f.name)
        doms = {d for d, _, _ in origins}
        rows.append(
            {
                "feature": f.name,
                "label": f.label,
                "domain": doms.pop() if len(doms) == 1 else "mixed",
                "origins": origins,
            }
        )
    return pd.DataFrame(rows)


def _parse(texts: np.ndarray, pipeline) -> pd.DataFrame:
    """One row per distinct reason sentence: its features' domains and origins."""
    dom = feature_domains(pipeline)
    by_label = sorted(zip(dom["label"], range(len(dom)), strict=True), key=lambda x: -len(x[0]))
    rows = []
    for text in texts:  # distinct sentences, never children
        found = []
        for part in str(text).split(_JOIN):
            hit = next((i for lab, i in by_label if part.startswith(lab + ": ")), None)
            found.append(hit)
        known = [i for i in found if i is not None]
        domains = {dom.at[i, "domain"] for i in known} | ({"unknown"} if None in found else set())
        origins = [o for i in known for o in dom.at[i, "origins"]]
        rows.append({"reason": text, "domains": frozenset(domains), "origins": origins})
    return pd.DataFrame(rows, columns=["reason", "domains", "origins"])


def _prompt_keys(origins) -> list[str]:
    return list(dict.fromkeys(t if t and t != "children" else d for d, t, _ in origins))


def _source_key(table: str, filt: dict) -> tuple:
    return (table, tuple(sorted((k, tuple(v)) for k, v in filt.items())))


def _latest_dates(tables, as_of, child_ids: pd.Index, origins) -> dict:
    """Per record source (table, filter): each child's latest record date on or before as_of."""
    from ..schema import TABLES

    out = {}
    for _, table, filt in origins:  # loop over sources, never over children
        key = _source_key(table, filt)
        if key in out or not table or table == "children" or table not in tables:
            continue
        df = tables[table]
        col = TABLES[table].date_column
        keep = (df[col] <= as_of) & df["child_id"].astype(str).isin(child_ids)
        for c, vals in filt.items():
            keep &= df[c].astype(str).isin([str(v) for v in vals])
        d = df.loc[keep, ["child_id", col]]
        out[key] = d.groupby(d["child_id"].astype(str))[col].max()
    return out


def reasons_for(
    flagged: pd.DataFrame, *, audience: str, pipeline, tables=None, as_of=None
) -> pd.DataFrame:
    """Reasons of the flagged children as ``audience`` may read them.

    Returns one row per child (``flagged``'s index, unique) with ``reason_k``,
    ``reason_k_date`` (ISO date of the latest record behind the reason on or before
    ``as_of``, "" where not available) and ``prompt`` (the graduated approach's
    "Assess: look again at ...").
    """
    allowed = set(AUDIENCES[audience])
    cols = [c for c in flagged.columns if c.startswith("reason_") and c[7:].isdigit()]
    long = flagged[cols].melt(ignore_index=False, var_name="position", value_name="reason")
    long = long.rename_axis("row").reset_index()
    long["reason"] = long["reason"].astype(str)
    long = long[long["reason"] != ""]
    parsed = _parse(pd.unique(long["reason"]), pipeline).set_index("reason")
    shown = parsed.index[parsed["domains"].map(lambda d: d <= allowed).astype(bool)]
    long = long[long["reason"].isin(shown)].sort_values(["row", "position"], kind="stable")
    long = long.reset_index(drop=True)
    # a sentence naming its records (explain_local with records) gives the latest of their dates
    named = parsed.index.to_series().str.findall(_ISO).map(lambda d: max(d) if d else "")
    long["date"] = long["reason"].map(named).fillna("").astype(object)
    if tables is not None and as_of is not None and len(long):
        child = flagged["child_id"].astype(str)
        latest = _latest_dates(
            tables, as_of, pd.Index(child), [o for os_ in parsed["origins"] for o in os_]
        )
        keys = parsed["origins"].map(lambda os_: {_source_key(t, f) for _, t, f in os_})
        ids = child.loc[long["row"]].to_numpy()
        for key, dates in latest.items():  # loop over sources, never over children
            sel = long["reason"].isin(keys.index[keys.map(lambda k, key=key: key in k)])
            sel = sel.to_numpy()
            got = pd.Series(ids[sel]).map(dates)
            iso = got.dt.strftime("%Y-%m-%d").fillna("").to_numpy(dtype=object)
            cur = long["date"].to_numpy(dtype=object)[sel]
            keep = long["reason"].map(named).fillna("").to_numpy(dtype=object)[sel] != ""
            # the latest source, unless the sentence names its own record
            long.loc[sel, "date"] = np.where(keep | (cur > iso), cur, iso)
    long["order"] = long.groupby("row").cumcount() + 1
    out = pd.DataFrame(index=flagged.index)
    for k in range(1, len(cols) + 1):
        at = long[long["order"] == k].set_index("row")
        out[f"reason_{k}"] = at["reason"].reindex(out.index).fillna("").astype("str")
        out[f"reason_{k}_date"] = at["date"].reindex(out.index).fillna("").astype("str")
    areas = long["reason"].map(parsed["origins"].map(_prompt_keys)).explode()
    words = pd.Series(areas.map(_PROMPTS).to_numpy(), index=long["row"].loc[areas.index])
    joined = words.dropna().groupby(level=0).agg(lambda w: ", ".join(dict.fromkeys(w)))
    whole = "the child's learning and development as a whole"
    out["prompt"] = "Assess: look again at " + joined.reindex(out.index).fillna(whole) + "."
    out["context"] = ""
    if "context" in flagged.columns:  # the audience rule holds for context lines too
        ctx = flagged["context"].astype("str")
        seen = _parse(pd.unique(ctx[ctx != ""]), pipeline).set_index("reason")["domains"]
        ok = ctx.map(seen.map(lambda d: d <= allowed)).fillna(False).astype(bool)
        out["context"] = ctx.where(ok, "")
    return out


def _texts(ids: pd.Series, by_child: pd.Series) -> np.ndarray:
    """Each id's text in ``by_child`` ("" where it has none; also when no child has one)."""
    got = ids.map(by_child.astype("object")).astype("object")
    return got.where(got.notna(), "").astype("str").to_numpy()


def reasons_from_model(model, tables, as_of, flagged: pd.DataFrame, audience: str) -> pd.DataFrame:
    """The flagged children's top reasons among those ``audience`` may read, from the model.

    The scores keep each child's top reasons over every source; a school list built from them
    alone would often show none (an under-five's top reasons are mostly health visiting
    records). With the model and the tables, the features of the flagged children are built
    again at ``as_of`` and every reason the model offers is ranked (``explain_local``); the
    first ones the audience may read are kept, as many as the scores hold.
    """
    from ..explain import explain_context, explain_local
    from ..features import build_features, feature_records
    from ..schema import Tables

    cols = [c for c in flagged.columns if c.startswith("reason_") and c[7:].isdigit()]
    ids = flagged["child_id"].astype(str)
    t = Tables.coerce(tables)
    keep = set(ids)
    # every child's features, as scored: a standing among children born in the same month
    # depends on the whole cohort, so building them for the flagged children alone would
    # give other values (and other reasons) than the scores'
    feats = build_features(t, as_of, pipeline=model.pipeline, check=False)
    feats = feats[feats.index.astype(str).isin(keep)]
    contrib = model.contributions(feats)
    # each reason names the record behind it (its date; an ASQ-3 review's interval, cut-off)
    records = feature_records(t, as_of, model.pipeline, check=False)
    most = int((contrib.to_numpy(dtype=float) >= model.spec.min_contribution).sum(axis=1).max())
    long = explain_local(model, feats, top=max(most, 1), contributions=contrib, records=records)
    long["reason"] = long["reason"].astype(str)
    allowed = set(AUDIENCES[audience])
    parsed = _parse(pd.unique(long["reason"]), model.pipeline).set_index("reason")
    shown = parsed.index[parsed["domains"].map(lambda d: d <= allowed).astype(bool)]
    long = long[long["reason"].isin(shown)].sort_values(["child_id", "position"], kind="stable")
    long["order"] = long.groupby("child_id").cumcount() + 1
    out = flagged.copy()
    for k, c in enumerate(cols, start=1):
        at = long[long["order"] == k].set_index(long["child_id"].astype(str)[long["order"] == k])
        out[c] = _texts(ids, at["reason"])
    # context (deprivation, social care, attendance, relative age) is never a reason; the
    # first context line the audience may read is shown apart
    ctx = explain_context(model, feats, top=max(most, 1), contributions=contrib, records=records)
    ctx["reason"] = ctx["reason"].astype(str)
    parsed = _parse(pd.unique(ctx["reason"]), model.pipeline).set_index("reason")
    shown = parsed.index[parsed["domains"].map(lambda d: d <= allowed).astype(bool)]
    ctx = ctx[ctx["reason"].isin(shown)].sort_values(["child_id", "position"], kind="stable")
    first = ctx.drop_duplicates("child_id")
    first.index = first["child_id"].astype(str)
    out["context"] = _texts(ids, first["reason"])
    return out
