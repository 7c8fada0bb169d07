"""Per-setting work lists: exactly the flagged children, each on its own setting's list only,
with reasons the audience may read, and counts under the disclosure rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from send_early.batch import ScoringResult, write_run
from send_early.cli import main
from send_early.features import load_pipeline
from send_early.lists import build_lists, feature_domains, write_lists
from send_early.schema import write_tables

from .conftest import AS_OF

PIPE = load_pipeline("default")
LABELS = feature_domains(PIPE)
#: The record a reason names: "(recorded on DATE)" or "(27-month review on DATE; cut-off ...)".
_RECORD = r" \((?:recorded on|\d+-month review on|review on|1 record, on|\d+ records, the latest on|at birth,) [^)]*\)"


def _domains_of(reason: str) -> set[str]:
    parts = reason.split("; together with ")
    out = set()
    for p in parts:
        hit = LABELS[[p.startswith(lab + ": ") for lab in LABELS["label"]]]
        out |= set(hit["domain"]) if len(hit) else {"unknown"}
    return out


def _read_lists(folder) -> pd.DataFrame:
    frames = [
        pd.read_csv(p, dtype=str, keep_default_na=False).assign(file=p.stem)
        for p in sorted(folder.glob("*.csv"))
    ]
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("audience", ["school", "send_team"])
def test_lists_hold_exactly_the_flagged_children_each_in_its_setting(
    scored, small_cohort, tmp_path, audience
):
    write_lists(scored, tmp_path, audience=audience, tables=small_cohort)
    got = _read_lists(tmp_path)
    s = scored.scores
    flagged = s[s["flagged"]]
    assert sorted(got["child_id"]) == sorted(flagged["child_id"])  # each once, none missing
    sid = flagged["setting_id"].fillna("")
    off_roll = np.where(sid == "", "not_on_roll", "not_on_roll_" + sid)  # its locality team
    want = np.where(flagged["setting_type"] == "not_on_roll", off_roll, "school_" + sid)
    assert (sid[flagged["setting_type"] == "not_on_roll"] != "").any()  # teams are routed to
    where = dict(zip(flagged["child_id"], want, strict=True))
    assert (got["file"] == got["child_id"].map(where)).all()  # no child on another's list
    assert (tmp_path / "index.html").exists()
    assert not list(tmp_path.glob(".*"))  # atomic writes leave no temporary file
    for f in got["file"].unique():
        html = (tmp_path / f"{f}.html").read_text()
        ids = set(got.loc[got["file"] == f, "child_id"])
        assert all(c in html for c in ids)
        others = set(flagged["child_id"]) - ids
        assert not any(f"Child {c}<" in html for c in others)


def test_school_lists_show_education_and_development_reasons_only(scored, small_cohort, tmp_path):
    school = _read_lists(
        write_lists(scored, tmp_path / "s", tables=small_cohort) and tmp_path / "s"
    )
    team = _read_lists(
        write_lists(scored, tmp_path / "t", audience="send_team", tables=small_cohort)
        and tmp_path / "t"
    )
    cols = ["reason_1", "reason_2", "reason_3"]

    def domains(df):
        texts = pd.unique(df[cols].to_numpy().ravel())
        return set().union(*(_domains_of(t) for t in texts if t))

    on_roll = school[~school["file"].str.startswith("not_on_roll")]
    locality = school[school["file"].str.startswith("not_on_roll")]
    assert len(on_roll) and len(locality)
    assert domains(on_roll) <= {"education", "development"}
    assert "health" in domains(team)  # the filter has something to remove
    assert domains(on_roll)  # and leaves something
    # a locality team (health visiting) reads the health visiting records, still no social care
    assert domains(locality) <= {"education", "development", "health"}
    assert "health" in domains(locality)
    assert "social_care" not in domains(team)  # context, never a reason
    pages = {p.stem: p.read_text() for p in (tmp_path / "s").glob("*.html")}
    html = " ".join(t for k, t in pages.items() if not k.startswith("not_on_roll"))
    for word in ("ASQ", "social care", "gestation", "CAMHS", "looked after"):
        assert word not in html
    for k, t in pages.items():  # each list says who reads it
        if k.startswith("not_on_roll"):
            assert "for the locality team" in t and "looked after" not in t
        elif k != "index":
            assert "for the school" in t


def test_reason_dates_are_records_on_or_before_the_as_of_date(scored, small_cohort):
    lists = build_lists(scored, audience="send_team", tables=small_cohort)
    dates = pd.concat([lists.children[f"reason_{k}_date"] for k in (1, 2, 3)])
    dates = pd.to_datetime(dates[dates != ""])
    assert len(dates) and (dates <= pd.Timestamp(AS_OF)).all()
    phonics = lists.children["reason_1"].str.startswith("Year 1 phonics")
    if phonics.any():
        assert (lists.children.loc[phonics, "reason_1_date"] != "").all()
    assert lists.children["prompt"].str.startswith("Assess: look again at ").all()


def _toy(counts: dict[str, int], n_each: int = 40) -> ScoringResult:
    """Scores of a made-up run: ``counts`` flagged children in each school."""
    rows = []
    for school, k in counts.items():
        for i in range(n_each):
            rows.append({"school": school, "flagged": i < k})
    df = pd.DataFrame(rows)
    n = len(df)
    scores = pd.DataFrame(
        {
            "child_id": [f"c{i:04d}" for i in range(n)],
            "as_of": pd.Timestamp(AS_OF),
            "risk": np.linspace(0.9, 0.1, n),
            "rank": np.arange(1, n + 1),
            "flagged": df["flagged"].to_numpy(),
            "reason_1": "Year 1 phonics screening check mark: 20",
            "reason_2": "Ever a child in need: yes",
            "reason_3": "",
            "model_name": "m",
            "model_version": "3",
            "setting_type": "school",
            "setting_id": df["school"].to_numpy(),
        }
    )
    return ScoringResult(scores=scores, rejects=pd.DataFrame())


def test_cover_shows_small_counts_as_fewer_than_10_and_a_list_its_own_count():
    lists = build_lists(_toy({"A": 25, "B": 3, "C": 12, "D": 0}))
    cover = lists.html()
    assert "fewer than 10" in cover and ">3<" not in cover
    assert ">25<" not in cover or "hidden" in cover  # 25 would give B away from the total
    rows = {r["key"]: r["shown"] for r in lists.cover_rows()}
    assert rows["school_B"] == "fewer than 10" and rows["school_D"] == "0"
    assert "hidden" in rows.values()
    own = lists.html("school_B")
    assert own.count("<article>") == 3 and "3 flagged" in own
    assert "child in need" not in own  # school audience


def test_html_is_escaped_and_file_names_safe(tmp_path):
    run = _toy({"<b>x</b>": 12})
    lists = write_lists(run, tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["index.html", "school_-b-x--b-.csv", "school_-b-x--b-.html"]
    assert "<b>x</b>" not in lists.html("school_-b-x--b-")
    assert "&lt;b&gt;x&lt;/b&gt;" in lists.html()


def test_bad_audience_and_scores_without_setting_are_refused():
    run = _toy({"A": 12})
    with pytest.raises(ValueError, match="audience must be one of school, send_team"):
        build_lists(run, audience="parents")
    old = ScoringResult(scores=run.scores.drop(columns=["setting_type"]), rejects=pd.DataFrame())
    with pytest.raises(ValueError, match="scores must hold setting_type"):
        build_lists(old)


def test_lists_from_a_published_run(scored, tmp_path):
    manifest = write_run(scored, tmp_path / "scores.csv", tmp_path / "rejects.csv")
    lists = write_lists(manifest, tmp_path / "lists")
    assert len(lists.children) == int(scored.scores["flagged"].sum())
    assert set(lists.children["child_id"]) == set(
        scored.scores.loc[scored.scores["flagged"], "child_id"]
    )


def test_cli_lists(fitted_model, small_cohort, tmp_path, capsys):
    write_tables(small_cohort, tmp_path / "data")
    fitted_model.save(tmp_path / "model")
    rc = main(
        [
            "lists",
            str(tmp_path / "data"),
            "--model",
            str(tmp_path / "model"),
            "--as-of",
            AS_OF,
            "--out",
            str(tmp_path / "out"),
            "--audience",
            "send_team",
        ]
    )
    assert rc == 0
    assert "flagged children, send_team audience" in capsys.readouterr().out
    assert (tmp_path / "out" / "index.html").exists()
    assert len(list((tmp_path / "out").glob("*.csv"))) >= 2


def test_with_the_model_each_audience_gets_its_own_top_reasons(fitted_model, scored, small_cohort):
    flagged = scored.scores[scored.scores["flagged"]].set_index("child_id")
    team = build_lists(scored, audience="send_team", tables=small_cohort, model=fitted_model)
    got = team.children.set_index("child_id")
    for k in (1, 2, 3):  # every reason allowed: the scores' own top reasons, in order,
        # each now naming the record behind it
        named = got[f"reason_{k}"].str.replace(_RECORD, "", regex=True)
        assert (named == flagged.loc[got.index, f"reason_{k}"]).all()
        has = got[f"reason_{k}"] != ""
        assert got.loc[has, f"reason_{k}"].str.contains(_RECORD).all()
        dated = (
            got.loc[has, f"reason_{k}"]
            .str.findall(r"(?:on|at birth,) (\d{4}-\d{2}-\d{2})")
            .map(max)
        )
        assert (pd.to_datetime(dated) <= pd.Timestamp(AS_OF)).all()
        assert (dated == got.loc[has, f"reason_{k}_date"]).all()  # the list's date column
    # the HTML names each record once: the sentence holds its date, so no second "record of"
    key = team.children.loc[team.children["reason_1"] != "", "key"].iloc[0]
    assert "(record of " not in team.html(key)
    assert pd.Series([team.html(key)]).str.contains(r"on \d{4}-\d{2}-\d{2}").all()
    plain = build_lists(scored, audience="school", tables=small_cohort)
    ranked = build_lists(scored, audience="school", tables=small_cohort, model=fitted_model)
    on_roll = ~ranked.children["key"].str.startswith("not_on_roll")
    with_reason = (ranked.children.loc[on_roll, "reason_1"] != "").mean()
    assert with_reason >= (plain.children.loc[on_roll, "reason_1"] != "").mean()
    # attendance is context, not a reason: a school still sees something for nearly every child
    seen = (ranked.children["reason_1"] != "") | (ranked.children["context"] != "")
    assert seen[on_roll].mean() > 0.8
    cols = ["reason_1", "reason_2", "reason_3"]
    texts = pd.unique(ranked.children.loc[on_roll, cols].to_numpy().ravel())
    assert set().union(*(_domains_of(t) for t in texts if t)) <= {"education", "development"}
    # the locality teams' lists of children on no roll: their own top reasons, health included
    off = ranked.children.loc[~on_roll]
    texts = pd.unique(off[cols].to_numpy().ravel())
    assert set().union(*(_domains_of(t) for t in texts if t)) <= {
        "education",
        "development",
        "health",
    }
    assert (off["reason_1"] != "").mean() > 0.5

    # context (here social care, deprivation) is shown apart, as the audience may read it
    def context_domains(lists):
        return set().union(*(_domains_of(t) for t in pd.unique(lists.children["context"]) if t))

    assert "social_care" in context_domains(team)
    assert context_domains(ranked) <= {"education", "development"}
    assert (plain.children["context"] == "").all()  # without the model: no context line
    key = team.children.loc[team.children["context"] != "", "key"].iloc[0]
    assert "Context (not a reason): " in team.html(key)


def test_every_default_feature_has_one_known_domain():
    d = LABELS.set_index("feature")["domain"]
    assert set(d) <= {"education", "development", "health", "social_care", "home_area", "protected"}
    assert d[["sex", "ethnicity"]].tolist() == ["protected", "protected"]
    assert d[["preterm", "referrals_ep_365d", "school_moves"]].tolist() == [
        "health",
        "health",
        "education",
    ]


def test_no_child_with_a_reason_at_a_position_gives_empty_texts_without_a_warning():
    from send_early.lists._reasons import _texts

    ids = pd.Series(["a", "b"], dtype="str")
    empty = pd.Series([], dtype="float64")  # no child has a reason here
    assert _texts(ids, empty).tolist() == ["", ""]
    some = pd.Series(["Reason"], index=["b"])
    assert _texts(ids, some).tolist() == ["", "Reason"]


def test_the_audience_rule_holds_for_reasons_and_context_lines():
    run = _toy({"s1": 12})
    run.scores["context"] = "Deprivation decile of home area (1 = most deprived): 2"
    school = build_lists(run, audience="school").children
    team = build_lists(run, audience="send_team").children
    # social care and home-area records never reach a school, as a reason or as context
    assert (school["context"] == "").all()
    assert (
        not school[["reason_1", "reason_2", "reason_3"]]
        .isin(["Ever a child in need: yes"])
        .any(axis=None)
    )
    assert (school["reason_1"] == "Year 1 phonics screening check mark: 20").all()
    assert (team["context"] == run.scores["context"].iloc[0]).all()
    assert (team["reason_2"] == "Ever a child in need: yes").all()
    # a reason whose record source is unknown reaches the SEND team only
    run.scores["reason_3"] = "A custom pipeline's feature: 3"
    assert (build_lists(run, audience="school").children["reason_2"] == "").all()
    assert (build_lists(run, audience="send_team").children["reason_3"] != "").all()
