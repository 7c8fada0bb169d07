"""Batch scoring loses no child: scored + rejected == input, under any corruption."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import send_early
from send_early import SchemaError
from send_early.batch import drift_report, psi
from send_early.cli import main

AS_OF = "2023-09-01"


def _check_conserved(res, tables):
    ids = set(tables["children"]["child_id"].astype(str))
    scored = set(res.scores["child_id"])
    rejected = set(res.rejects["child_id"].dropna()) & ids
    assert scored.isdisjoint(rejected)
    assert scored | rejected == ids
    assert res.counts["scored"] + res.counts["rejected"] == res.counts["input_children"] == len(ids)


def test_clean_cohort_is_fully_accounted_for(fitted_model, small_cohort):
    res = send_early.score(fitted_model, small_cohort, AS_OF)
    scores, rejects = res
    _check_conserved(res, small_cohort)
    assert res.counts["rejected_contract"] == 0
    assert set(rejects["table"]) == {"population"}
    assert {"already_identified", "moved_out"} <= set(rejects["rule"])
    assert list(scores.columns) == [
        "child_id",
        "as_of",
        "risk",
        "rank",
        "flagged",
        "reason_1",
        "reason_2",
        "reason_3",
        "model_name",
        "model_version",
        "setting_type",
        "setting_id",
    ]
    # same scores as the model's own score for the same population
    own = fitted_model.score(small_cohort, AS_OF).set_index("child_id")["risk"]
    np.testing.assert_allclose(scores.set_index("child_id")["risk"].loc[own.index], own)


def test_chunking_does_not_change_results(fitted_model, small_cohort):
    a = send_early.score(fitted_model, small_cohort, AS_OF).scores
    calls = []
    b = send_early.score(
        fitted_model,
        small_cohort,
        AS_OF,
        chunk_size=700,
        progress=lambda d, t: calls.append((d, t)),
    ).scores
    pd.testing.assert_frame_equal(a, b)
    assert calls[-1][0] == calls[-1][1] > 1


def test_bad_records_reject_only_their_children(fitted_model, small_cohort):
    att = small_cohort["attendance"].copy()
    bad_child = att["child_id"].iloc[0]
    att["possible_sessions"] = att["possible_sessions"].astype("object")
    att.loc[att.index[0], "possible_sessions"] = "lots"
    res = send_early.score(fitted_model, small_cohort.replace(attendance=att), AS_OF)
    _check_conserved(res, small_cohort)
    r = res.rejects[res.rejects["child_id"] == bad_child]
    assert (
        r[["table", "column", "rule"]].iloc[0] == ["attendance", "possible_sessions", "type"]
    ).all()
    assert bad_child not in set(res.scores["child_id"])
    assert res.counts["rejected_contract"] == 1


def test_missing_required_column_fails_loudly(fitted_model, small_cohort):
    with pytest.raises(SchemaError, match="cannot score: children.sex is a required column"):
        send_early.score(
            fitted_model,
            small_cohort.replace(children=small_cohort["children"].drop(columns="sex")),
            AS_OF,
        )


KINDS = ["code", "range", "future", "orphan", "duplicate", "before_birth", "null_id"]


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=4), seed=st.integers(0, 10_000))
def test_rows_conserved_under_corruption(fitted_model, small_cohort, kinds, seed):
    rng = np.random.default_rng(seed)
    t = {k: v.copy() for k, v in small_cohort.items()}
    ch = t["children"]

    def pick(df):
        return df.index[rng.integers(len(df))]

    for kind in kinds:
        if kind == "code":
            df = t["census"]
            df["sen_provision"] = df["sen_provision"].astype("object")
            df.loc[pick(df), "sen_provision"] = "Q"
        elif kind == "range":
            ch["imd_decile"] = ch["imd_decile"].astype("object")
            ch.loc[pick(ch), "imd_decile"] = 42
        elif kind == "future":
            df = t["referrals"]
            df.loc[pick(df), "referral_date"] = pd.Timestamp("2030-01-01")
        elif kind == "orphan":
            df = t["exclusions"]
            df["child_id"] = df["child_id"].astype("object")
            df.loc[pick(df), "child_id"] = "nobody"
        elif kind == "duplicate":
            t["children"] = ch = pd.concat([ch, ch.loc[[pick(ch)]]], ignore_index=True)
        elif kind == "before_birth":
            df = t["assessments"]
            df.loc[pick(df), "assessment_date"] = pd.Timestamp("2000-01-01")
        elif kind == "null_id":
            df = t["health_reviews"]
            df["child_id"] = df["child_id"].astype("object")
            df.loc[pick(df), "child_id"] = None
    tables = send_early.Tables(t, small_cohort.extract_date)
    res = send_early.score(fitted_model, tables, AS_OF)
    _check_conserved(res, tables)
    # an orphan row (a record of a child who is not in `children`) rejects no child
    assert res.counts["rejected_contract"] >= 1 or set(kinds) == {"orphan"} or "null_id" in kinds


def test_psi_and_drift_report(fitted_model, small_cohort):
    assert psi([0.25] * 4, [0.25] * 4) == 0
    f = fitted_model.build_features(small_cohort, "2021-09-01")
    d = drift_report(
        fitted_model.reference_, f[fitted_model.feature_names_], fitted_model.predict_proba(f)
    )
    assert "(score)" in set(d["name"])
    assert d.loc[d["name"] == "(score)", "psi"].iloc[0] < 0.1  # the calibration cohort itself
    shifted = f.assign(age_months=f["age_months"] + 40)
    d2 = drift_report(
        fitted_model.reference_, shifted[fitted_model.feature_names_], fitted_model.predict_proba(f)
    )
    assert d2.set_index("name").loc["age_months", "status"] == "alert"


def test_cli_score_writes_atomically_and_counts(fitted_model, small_cohort, tmp_path, capsys):
    from send_early import write_tables

    write_tables(small_cohort, tmp_path / "cohort")
    model_dir = fitted_model.save(tmp_path / "model")
    out = tmp_path / "out" / "scores.parquet"
    out.parent.mkdir()  # an output folder must exist: a mistyped one is refused
    rc = main(
        [
            "score",
            str(tmp_path / "cohort"),
            "--model",
            str(model_dir),
            "--as-of",
            AS_OF,
            "--out",
            str(out),
            "--capacity",
            "30",
        ]
    )
    assert rc == 0
    text = capsys.readouterr().out
    scores = pd.read_parquet(out)
    rejects = pd.read_csv(tmp_path / "out" / "scores_rejects.csv")
    assert scores["flagged"].sum() == 30
    assert len(scores) + rejects["child_id"].nunique() == len(small_cohort["children"])
    assert f"of {len(small_cohort['children']):,} children" in text
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]


def test_as_of_is_iso_and_not_after_the_extract_before_the_model_is_loaded(small_cohort, tmp_path):
    # the model folder does not exist: the date is refused first
    missing = tmp_path / "no_model"
    with pytest.raises(ValueError, match=r"as_of must be an ISO date, YYYY-MM-DD .* '01/09/2023'"):
        send_early.score(missing, small_cohort, "01/09/2023")
    with pytest.raises(ValueError, match="as_of must be on or before the extract date 2025-08-31"):
        send_early.score(missing, small_cohort, "2026-01-15")
    with pytest.raises(FileNotFoundError, match="model must be a RiskModel"):
        send_early.score(missing, small_cohort, "2025-08-31")


def test_progress_starts_at_zero_when_the_work_starts(fitted_model, small_cohort):
    calls = []
    send_early.score(fitted_model, small_cohort, AS_OF, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(0, 1), (1, 1)]
