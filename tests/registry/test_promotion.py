"""Candidates, promotion by copy, four eyes and the decision log, on the embedded store."""

from __future__ import annotations

import getpass

import pytest
from conftest import as_registered_before_candidates, write_card
from hypothesis import given, settings
from hypothesis import strategies as st

from send_early.cli import main
from send_early.registry import (
    demote,
    list_decisions,
    list_versions,
    load_model,
    log_model,
    promote,
    review_summary,
    rollback,
    setup_registry,
)
from send_early.registry._decisions import approved_versions
from send_early.registry._store import import_mlflow, open_store


@pytest.fixture
def two_candidates(fitted_fake, tmp_path, store_dir):
    cards = write_card(tmp_path / "card", [{"name": "calibration", "passed": True}])
    for _ in range(2):
        log_model(fitted_fake, card_paths=cards, registered_name="risk", tracking_uri=store_dir)
    return store_dir


def test_promote_copies_the_candidate_with_its_lineage_and_logs_the_decision(two_candidates):
    store = two_candidates
    client = open_store(store).client()
    assert client.search_model_versions("name = 'risk'") == []  # nothing scores yet
    done = promote("risk", 2, reviewer="rev-1", note="checked", tracking_uri=store)
    assert (done.version, done.candidate_version, done.entry) == ("1", "2", 1)
    mv = client.get_model_version("risk", "1")
    cand = client.get_model_version("risk-candidates", "2")
    assert mv.source == "models:/risk-candidates/2"
    lineage = {k.split(".")[-1]: v for k, v in mv.tags.items() if ".lineage." in k}
    assert lineage == {
        "candidate_version": "2",
        "candidate_model": "risk-candidates",
        "run_id": cand.run_id,
        "card_sha256": cand.tags["send_early.card_sha256"],
        "checks_passed": "calibration",
        "checks_failed": "",
    }
    assert mv.tags["validation_status"] == "approved"
    log = list_decisions("risk", tracking_uri=store)
    assert log[
        ["action", "version", "candidate_version", "reviewer", "completed"]
    ].values.tolist() == [["promote", "1", "2", "rev-1", True]]
    cands = list_versions("risk", tracking_uri=store, candidates=True)
    assert cands["status"].tolist() == ["pending_review", "promoted"]
    assert cands["candidate_version"].tolist() == ["", "1"]
    # scoring reads the version it loaded: a candidate is never the champion, even when
    # its number matches the production champion's
    assert review_summary("risk-candidates", 1, tracking_uri=store).champion_version is None
    production = review_summary("risk", 1, tracking_uri=store)
    assert production.champion_version == "1" and production.status == "approved"
    reviewed = review_summary("risk", 1, tracking_uri=store, candidate=True)
    assert reviewed.name == "risk-candidates" and reviewed.champion_version == "1"


def test_the_author_may_not_approve_even_with_force(two_candidates):
    me = getpass.getuser()  # who registered the candidates on the embedded store
    for force in (False, True):
        with pytest.raises(PermissionError, match=f"registered by '{me}', so '{me}' may not"):
            promote("risk", 1, note="n", force=force, force_reason="r" if force else None,
                    tracking_uri=two_candidates)  # fmt: skip
        with pytest.raises(PermissionError, match="may not approve"):
            promote("risk", 1, reviewer=me, note="n", tracking_uri=two_candidates)
    assert list_decisions("risk", tracking_uri=two_candidates).empty


def test_rollback_and_demote_are_logged_and_only_approved_versions_come_back(two_candidates):
    store = two_candidates
    promote("risk", 1, reviewer="a", note="first", tracking_uri=store)
    promote("risk", 2, reviewer="b", note="second", tracking_uri=store)
    back = rollback("risk", 1, reviewer="c", note="recall dropped", tracking_uri=store)
    assert (back.version, back.previous_version) == ("1", "2")
    assert load_model("risk", tracking_uri=store).registry_["version"] == "1"
    gone = demote("risk", reviewer="d", note="pause scoring", tracking_uri=store)
    assert gone.previous_version == "1" and "Nothing scores" in str(gone)
    with pytest.raises(ValueError, match="risk@champion must exist"):
        load_model("risk", tracking_uri=store)
    log = list_decisions("risk", tracking_uri=store)
    assert log["action"].tolist() == ["promote", "promote", "rollback", "demote"]
    assert log["reviewer"].tolist() == ["a", "b", "c", "d"] and log["entry"].tolist() == [
        1,
        2,
        3,
        4,
    ]
    tags = open_store(store).client().get_registered_model("risk").tags
    assert sorted(k for k in tags if k.startswith("send_early.decision.")) == [
        f"send_early.decision.000{i}" for i in range(1, 5)
    ]


def test_a_failure_before_the_alias_moves_leaves_a_copy_that_never_scores(
    two_candidates, monkeypatch
):
    store = two_candidates
    mlflow = import_mlflow()
    promote("risk", 1, reviewer="a", note="first", tracking_uri=store)

    def stopped(self, *args, **kwargs):
        raise mlflow.exceptions.MlflowException("the store went away")

    with monkeypatch.context() as m:
        m.setattr(mlflow.MlflowClient, "set_registered_model_alias", stopped)
        with pytest.raises(mlflow.exceptions.MlflowException, match="went away"):
            promote("risk", 2, reviewer="b", note="second", tracking_uri=store)
    table = list_versions("risk", tracking_uri=store)
    assert table[["version", "aliases", "status"]].values.tolist() == [
        [1, "champion", "approved"],
        [2, "", "not approved"],
    ]
    assert load_model("risk", tracking_uri=store).registry_["version"] == "1"
    with pytest.raises(ValueError, match="is not approved"):
        load_model("risk/2", tracking_uri=store)
    with pytest.raises(ValueError, match="never completed an approval"):
        rollback("risk", 2, reviewer="c", note="n", tracking_uri=store)
    assert list_decisions("risk", tracking_uri=store)["completed"].tolist() == [True, False]
    again = promote("risk", 2, reviewer="b", note="second, again", tracking_uri=store)
    assert (
        again.version == "3" and load_model("risk", tracking_uri=store).registry_["version"] == "3"
    )


def test_the_cli_promotes_as_the_os_user_and_shows_the_log(two_candidates, capsys, monkeypatch):
    store = str(two_candidates)
    import send_early.registry._identity as identity

    monkeypatch.setattr(identity.getpass, "getuser", lambda: "os-reviewer")
    assert main(["promote", "risk", "1", "--note", "ok", "--store", store]) == 0
    assert "approved by os-reviewer" in capsys.readouterr().out
    assert main(["versions", "risk", "--store", store]) == 0
    out = capsys.readouterr().out
    assert "production versions (only these score)" in out and "risk-candidates: candidates" in out
    assert "Decision log" in out and "os-reviewer" in out
    assert main(["rollback", "risk", "1", "--note", "n", "--store", store]) == 1
    assert "already holds 'champion'" in capsys.readouterr().err
    assert main(["demote", "risk", "--note", "n", "--store", store]) == 0
    assert main(["registry", "setup", "risk", "--store", store]) == 1
    assert "need an MLflow server with basic-auth" in capsys.readouterr().err


def test_a_store_from_before_candidates_keeps_scoring_and_promotes_in_place(fitted_fake, store_dir):
    """Versions registered under NAME itself (before this release) stay production versions."""
    cards = write_card(store_dir.parent / "card", [{"name": "calibration", "passed": True}])
    log_model(fitted_fake, card_paths=cards, registered_name="old", tracking_uri=store_dir)
    log_model(fitted_fake, card_paths=cards, registered_name="old", tracking_uri=store_dir)
    client = open_store(store_dir).client()
    as_registered_before_candidates(client, "old", store_dir)
    promote("old", 1, reviewer="r", note="in place", tracking_uri=store_dir)  # no candidates model
    assert [str(v.version) for v in client.search_model_versions("name = 'old'")] == ["1", "2"]
    assert load_model("old", tracking_uri=store_dir).registry_["version"] == "1"
    # the first new candidate: promote now means candidates; old approved versions roll back
    log_model(fitted_fake, card_paths=cards, registered_name="old", tracking_uri=store_dir)
    done = promote("old", 1, reviewer="r", note="first candidate", tracking_uri=store_dir)
    assert (done.version, done.candidate_version) == ("3", "1")
    assert rollback("old", 1, reviewer="r", note="back", tracking_uri=store_dir).version == "1"
    with pytest.raises(ValueError, match="never completed an approval"):
        rollback("old", 2, reviewer="r", note="never approved", tracking_uri=store_dir)


@settings(max_examples=50, deadline=None)
@given(
    aliases=st.dictionaries(st.sampled_from(["champion", "challenger"]), st.integers(1, 6)),
    previous=st.lists(st.integers(1, 6), max_size=6),
    promoted=st.lists(st.integers(1, 6), max_size=6),
)
def test_a_version_is_approved_only_if_it_holds_or_held_an_alias(aliases, previous, promoted):
    decisions = [{"action": "promote", "version": str(v), "previous_version": ""} for v in promoted]
    decisions += [{"action": "promote", "previous_version": str(v)} for v in previous]
    done = approved_versions(decisions, {a: str(v) for a, v in aliases.items()})
    assert done == {str(v) for v in aliases.values()} | {str(v) for v in previous}


def test_setup_needs_a_server(store_dir):
    with pytest.raises(ValueError, match="need an MLflow server with basic-auth"):
        setup_registry("risk", tracking_uri=store_dir)


def test_on_a_server_the_user_comes_from_mlflow_credentials_not_a_flag(tmp_path, monkeypatch):
    from send_early.registry import Store
    from send_early.registry._identity import acting_user

    server = Store("https://mlflow.council.example")
    for key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ValueError, match="needs to know who you are"):
        acting_user(server)
    (tmp_path / ".mlflow").mkdir()
    (tmp_path / ".mlflow" / "credentials").write_text(
        "[mlflow]\nmlflow_tracking_username = jsmith\nmlflow_tracking_password = s3cret-pw\n"
    )
    assert acting_user(server) == "jsmith"
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "asmith")  # the environment wins
    assert acting_user(server) == "asmith"
    with pytest.raises(ValueError, match="must be the user the server authenticates") as err:
        acting_user(server, "jsmith")
    assert "s3cret-pw" not in str(err.value)
    assert acting_user(Store("sqlite:////tmp/x.db"), "typed") == "typed"  # embedded: the flag


def test_a_failure_right_after_the_copy_is_recognised_by_its_source(two_candidates, monkeypatch):
    """No lineage tag was written: the copy's source still names its candidate."""
    store = two_candidates
    mlflow = import_mlflow()

    def stopped(self, *args, **kwargs):
        raise mlflow.exceptions.MlflowException("the store went away")

    with monkeypatch.context() as m:
        m.setattr(mlflow.MlflowClient, "set_model_version_tag", stopped)
        with pytest.raises(mlflow.exceptions.MlflowException, match="went away"):
            promote("risk", 2, reviewer="b", note="n", tracking_uri=store)
    mv = open_store(store).client().get_model_version("risk", "1")
    assert not any(".lineage." in k for k in mv.tags)  # only the candidate's copied tags
    table = list_versions("risk", tracking_uri=store)
    assert table[["version", "status", "candidate_version"]].values.tolist() == [
        [1, "not approved", "2"]
    ]
    with pytest.raises(ValueError, match="is not approved"):
        load_model("risk/1", tracking_uri=store)
    assert list_decisions("risk", tracking_uri=store).empty  # nothing was decided
