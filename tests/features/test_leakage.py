"""Invariants on generated tables: nothing dated after as_of changes the features; counts add up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from send_early.features import build_features, build_labels, load_pipeline, population
from send_early.schema import ASQ_DOMAINS, TABLES, Tables, check_tables

EYFSP_MEASURES = TABLES["assessments"].column("measure").codes[:-1]

EXTRACT = pd.Timestamp("2025-08-31")
SPEC = load_pipeline("default")  # parsed once for speed
DATE_COL = {name: t.date_column for name, t in TABLES.items()}


def _dates(rng, lo: np.ndarray, n: int) -> np.ndarray:
    """n dates, each between lo[i] and the extract date."""
    lo = lo.astype("datetime64[D]").astype(np.int64)
    hi = np.datetime64(EXTRACT.date(), "D").astype(np.int64)
    return (lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64)).astype("datetime64[D]")


def random_tables(seed: int, n_children: int) -> Tables:
    """Small valid tables with every contract table, drawn from a seeded generator."""
    rng = np.random.default_rng(seed)
    n = n_children
    ids = np.array([f"k{i:03d}" for i in range(n)])
    birth = _dates(rng, np.full(n, np.datetime64("2011-01-01")), n)
    birth = np.minimum(birth, np.datetime64("2022-12-31"))
    moved = np.where(rng.random(n) < 0.2, _dates(rng, birth + 1, n), np.datetime64("NaT"))

    def rows(k: int):
        owner = rng.integers(0, n, k)
        return ids[owner], _dates(rng, birth[owner], k)

    def maybe(v, p=0.1):
        return pd.array(np.where(rng.random(len(v)) < p, None, v).tolist())

    children = pd.DataFrame(
        {
            "child_id": ids,
            "birth_date": birth,
            "sex": rng.choice(["F", "M"], n),
            "ethnicity": rng.choice(["White", "Asian", "Black", None], n),
            "imd_decile": maybe(rng.integers(1, 11, n)),
            "gestation_weeks": maybe(rng.integers(25, 43, n)),
            "birth_weight_g": maybe(rng.integers(700, 4500, n)),
            "moved_out_date": moved,
        }
    )
    k = 3 * n
    cid, d = rows(k)
    health = pd.DataFrame(
        {
            "child_id": cid,
            "review_date": d,
            "review_type": rng.choice(["1y", "2y"], k),
            **{c: maybe(rng.integers(0, 13, k) * 5) for c in ASQ_DOMAINS},
        }
    )
    cid, d = rows(k)
    census = pd.DataFrame(
        {
            "child_id": cid,
            "census_date": d,
            "school_id": rng.choice(["s1", "s2", "s3"], k),
            "fsm_eligible": rng.random(k) < 0.3,
            "eal": rng.random(k) < 0.2,
            "sen_provision": rng.choice(["N", "N", "N", "K", "E"], k),
        }
    )
    k = 4 * n
    cid, d = rows(k)
    poss = rng.integers(0, 150, k)
    auth = (rng.random(k) * poss * 0.3).astype(int)
    unauth = (rng.random(k) * (poss - auth) * 0.3).astype(int)
    attendance = pd.DataFrame(
        {
            "child_id": cid,
            "term_start": d - rng.integers(0, 100, k),
            "term_end": d,
            "possible_sessions": poss,
            "authorised_absence": auth,
            "unauthorised_absence": unauth,
        }
    )
    # term_start may not precede birth
    b = pd.Series(birth, index=ids).reindex(cid).to_numpy()
    attendance["term_start"] = np.maximum(attendance["term_start"].to_numpy(), b)
    k = n
    cid, d = rows(k)
    exclusions = pd.DataFrame(
        {
            "child_id": cid,
            "start_date": d,
            "category": rng.choice(["suspension", "suspension", "permanent"], k),
            "days": maybe(rng.integers(1, 10, k) / 2),
        }
    )
    cid, d = rows(2 * n)
    assessments = pd.DataFrame(
        {
            "child_id": cid,
            "assessment_date": d,
            "measure": rng.choice([*EYFSP_MEASURES, "phonics_mark"], 2 * n),
        }
    )
    ph = (assessments["measure"] == "phonics_mark").to_numpy()
    assessments["value"] = np.where(
        ph, rng.integers(0, 41, 2 * n), rng.integers(0, 2, 2 * n)
    ).astype(float)
    cid, d = rows(3 * n)
    end = np.where(rng.random(3 * n) < 0.8, d + rng.integers(0, 300, 3 * n), np.datetime64("NaT"))
    end = np.where(end > np.datetime64(EXTRACT.date()), np.datetime64("NaT"), end)
    social = pd.DataFrame(
        {
            "child_id": cid,
            "start_date": d,
            "end_date": end,
            "episode": rng.choice(["CIN", "CPP", "CLA"], 3 * n),
        }
    )
    cid, d = rows(2 * n)
    referrals = pd.DataFrame(
        {
            "child_id": cid,
            "referral_date": d,
            "service": rng.choice(["SALT", "CAMHS", "OT", "early_help"], 2 * n),
        }
    )
    cid, d = rows(n)
    events = pd.DataFrame(
        {
            "child_id": cid,
            "event_date": d,
            "event": rng.choice(["sen_support", "ehc_request", "ehcp"], n),
            "primary_need": None,
        }
    )
    return Tables(
        {
            "children": children,
            "health_reviews": health,
            "census": census,
            "attendance": attendance,
            "exclusions": exclusions,
            "assessments": assessments,
            "social_care": social,
            "referrals": referrals,
            "sen_events": events,
        },
        EXTRACT,
    )


def as_contract(tables: Tables) -> Tables:
    """Cast generated tables to the contract dtypes (what check_tables returns, without the checks)."""
    out = {}
    for name, df in tables.items():
        cols = {}
        for c in TABLES[name].columns:
            if c.optional and c.name not in df:
                continue
            v = df[c.name]
            if c.null_means is not None:
                v = v.astype(object).where(v.notna(), c.null_means)
            if c.kind == "code":
                v = pd.Series(pd.Categorical(v.astype(object), dtype=c.dtype), index=df.index)
            elif c.kind == "int":
                v = v.astype("Float64").astype("Int64")
            else:
                v = v.astype(c.dtype)
            cols[c.name] = v
        out[name] = pd.DataFrame(cols)
    return Tables(out, tables.extract_date)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generated_tables_are_valid_and_cast_like_check_tables(seed):
    raw = random_tables(seed, 30)
    typed = check_tables(raw)  # raises if the generator broke the contract
    cast = as_contract(raw)
    for name in typed:
        pd.testing.assert_frame_equal(
            cast[name], typed[name][cast[name].columns], check_index_type=False
        )


def redate(df, name, as_of, rng, tables, only_after=False):
    """Move records dated after as_of to other random dates after as_of (keeping them valid)."""
    col = DATE_COL[name]
    d = pd.to_datetime(df[col]).to_numpy()
    mask = d > np.datetime64(as_of) if only_after else np.ones(len(df), bool)
    if not mask.any():
        return df.copy()
    lo = np.datetime64(as_of.date(), "D") + 1
    birth = pd.Series(
        tables["children"]["birth_date"].to_numpy(), index=tables["children"]["child_id"].to_numpy()
    )
    b = birth.reindex(df["child_id"].to_numpy()).to_numpy().astype("datetime64[D]")
    new = np.maximum(_dates(rng, np.full(len(df), lo), len(df)), b).astype("datetime64[s]")
    d = np.where(mask, new, d.astype("datetime64[s]"))
    df = df.assign(**{col: d})
    if name == "attendance":
        df["term_start"] = np.minimum(df["term_start"].to_numpy(), d)
    if name == "social_care":
        end = df["end_date"].to_numpy()
        df["end_date"] = np.where(pd.isna(end), end, np.maximum(end, d))
    return df


def change_after(tables: Tables, as_of: pd.Timestamp, seed: int, how: str) -> Tables:
    """Add, remove or change records dated after ``as_of`` (and children born after it)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, df in tables.items():
        col = DATE_COL[name]
        after = pd.to_datetime(df[col]) > as_of
        if name == "children":
            if (
                how == "change"
            ):  # a future move-out date, possibly none, for children moving after as_of
                mo = pd.to_datetime(df["moved_out_date"])
                later = (mo > as_of).to_numpy()
                df = df.assign(moved_out_date=mo.where(~later, pd.NaT))
            out[name] = df
            continue
        if how == "remove":
            out[name] = df[~after.to_numpy()]
        elif how == "add":
            extra = df[after.to_numpy()]
            moved = redate(extra, name, as_of, rng, tables)
            out[name] = pd.concat(
                [df, extra, moved], ignore_index=True
            )  # copies, same and other future dates
        else:
            df = redate(df, name, as_of, rng, tables, only_after=True)
            mask = after.to_numpy()
            if name == "social_care":  # an end date after as_of is future news: move it or erase it
                end = pd.to_datetime(df["end_date"]).to_numpy()
                late = ~pd.isna(end) & (end > np.datetime64(as_of))
                lo = (
                    np.maximum(
                        pd.to_datetime(df["start_date"]).to_numpy(), np.datetime64(as_of)
                    ).astype("datetime64[D]")
                    + 1
                )
                new = np.where(
                    rng.random(len(df)) < 0.5,
                    np.datetime64("NaT"),
                    _dates(rng, np.minimum(lo, np.datetime64(EXTRACT.date())), len(df)),
                )
                df["end_date"] = np.where(
                    late, new.astype("datetime64[s]"), end.astype("datetime64[s]")
                )
            for c in df.columns:
                if c in ("child_id", col) or not mask.any():
                    continue
                vals = df[c].to_numpy()
                if TABLES[name].column(c).kind in ("code", "str") and c != "school_id":
                    codes = TABLES[name].column(c).codes
                    if codes:
                        new = rng.choice(list(codes), mask.sum())
                        ok = pd.Series(new)
                        if name == "assessments" and c == "measure":
                            continue
                        vals = vals.astype(object)
                        vals[mask] = ok.to_numpy()
                        df[c] = pd.Categorical(vals, dtype=df[c].dtype)
                elif c == "school_id":
                    vals = vals.astype(object)
                    vals[mask] = "s_new"
                    df[c] = pd.array(vals, dtype=df[c].dtype)
            out[name] = df
    if how == "add":  # a child born after as_of with a referral
        born = min(as_of + pd.Timedelta(days=1), EXTRACT)
        if born > as_of:
            ch = tables["children"]
            kid = ch.iloc[[0]].assign(
                child_id=pd.array(["new"], dtype=ch["child_id"].dtype),
                birth_date=np.datetime64(born.date(), "s"),
                moved_out_date=np.datetime64("NaT", "s"),
            )
            out["children"] = pd.concat([out["children"], kid], ignore_index=True)
            ref = (
                tables["referrals"]
                .iloc[[0]]
                .assign(
                    child_id=pd.array(["new"], dtype=ch["child_id"].dtype),
                    referral_date=np.datetime64(born.date(), "s"),
                )
            )
            out["referrals"] = pd.concat([out["referrals"], ref], ignore_index=True)
    return Tables(out, tables.extract_date)


def as_of_within(tables: Tables, frac: float) -> pd.Timestamp:
    """The day ``frac`` of the way from the first birth to the extract date."""
    lo = pd.to_datetime(tables["children"]["birth_date"]).min()
    return (lo + (EXTRACT - lo) * frac).normalize()


#: What the tests of records dated after the as-of date draw (see :func:`changed_after`).
AFTER_AS_OF = {
    "seed": st.integers(0, 2**32 - 1),
    "n": st.integers(3, 25),
    "frac": st.floats(0.0, 1.0),
    "how": st.sampled_from(["add", "remove", "change"]),
}


def changed_after(seed: int, n: int, frac: float, how: str):
    """Seeded tables of ``n`` children, an as-of date within them (:func:`as_of_within`), and
    the same tables with the records dated after it added, removed or changed (``how``)."""
    tables = as_contract(random_tables(seed, n))
    as_of = as_of_within(tables, frac)
    return tables, as_of, change_after(tables, as_of, seed, how)


def features_unchanged(tables: Tables, changed: Tables, as_of, pipeline):
    """Assert the features of ``tables`` and ``changed`` are equal; return both frames."""
    before = build_features(tables, as_of, pipeline=pipeline, check=False)
    after = build_features(changed, as_of, pipeline=pipeline, check=False)
    pd.testing.assert_frame_equal(before, after)
    return before, after


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**AFTER_AS_OF)
def test_records_after_as_of_do_not_change_features(seed, n, frac, how):
    tables, as_of, changed = changed_after(seed, n, frac, how)
    before, after = features_unchanged(tables, changed, as_of, SPEC)
    y0 = build_labels(tables, as_of, horizon_months=12, pipeline=SPEC, check=False)
    # labels may look past as_of, but never change the population they are built for
    assert set(
        build_labels(changed, as_of, horizon_months=12, pipeline=SPEC, check=False).index
    ) | set(y0.index) <= set(before.index)
    assert before.attrs["population"] == after.attrs["population"] or how == "add"


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30), frac=st.floats(0.0, 1.0))
def test_counts_are_conserved(seed, n, frac):
    tables = as_contract(random_tables(seed, n))
    as_of = as_of_within(tables, frac)
    pop = population(tables, as_of, pipeline=SPEC, check=False)
    counts = pop.attrs["counts"]
    assert sum(counts.values()) == n == len(pop)
    X = build_features(tables, as_of, pipeline=SPEC, check=False)
    assert len(X) == counts["in_population"]
    assert set(X.index) == set(pop.index[pop["status"] == "in_population"])
    y = build_labels(tables, as_of, horizon_months=12, pipeline=SPEC, check=False)
    s = y.attrs["summary"]
    assert s["n_population"] == len(X)
    assert (
        s["n_labelled"] + s["n_censored_moved_out"] + s["n_censored_extract"] == s["n_population"]
    )
    assert set(y.index) <= set(X.index)
    # a positive label's event falls inside the window
    pos = y[y["label"] == 1]
    assert (
        (pos["event_date"] > as_of) & (pos["event_date"] <= as_of + pd.DateOffset(months=12))
    ).all()
