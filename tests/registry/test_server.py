"""A shared registry on a real MLflow server (basic-auth, PostgreSQL): who may do what.

The session fixture ``registry_server`` (conftest.py) starts the server on fresh
PostgreSQL databases and sets up ``risk`` with an analyst and a reviewer. Without
PostgreSQL these tests skip, except in CI (``$CI`` set), where they fail.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from conftest import REAL_AS_OF, server_user, stop_server, write_card

from send_early.cli import main
from send_early.registry import (
    grant_role,
    list_decisions,
    list_versions,
    load_model,
    log_model,
    promote,
    revoke_user,
    setup_registry,
)
from send_early.registry._store import import_mlflow


def client(server):
    return import_mlflow().MlflowClient(server["url"])


@pytest.fixture(scope="module")
def candidate(registry_server, fitted_model, tmp_path_factory):
    """Candidate 1 of ``risk``, registered by the analyst (card checks all pass)."""
    cards = write_card(
        tmp_path_factory.mktemp("server_card"), [{"name": "calibration", "passed": True}]
    )
    with server_user(registry_server, "analyst"):
        return log_model(
            fitted_model,
            card_paths=cards,
            registered_name="risk",
            tracking_uri=registry_server["url"],
        )


def test_the_analyst_registers_a_candidate_not_a_production_version(registry_server, candidate):
    assert candidate.registered_as == "risk-candidates" and candidate.version == "1"
    c = client(registry_server)
    with server_user(registry_server, "analyst"):
        mv = c.get_model_version("risk-candidates", candidate.version)
        assert mv.tags["send_early.registered_by"] == "analyst"
        assert c.search_model_versions("name = 'risk'") == []


def test_the_analyst_cannot_promote_nor_change_production_by_hand(
    registry_server, candidate, capsys
):
    url = registry_server["url"]
    mlflow = import_mlflow()
    c = client(registry_server)
    with server_user(registry_server, "admin"):  # a second analyst, who did not train it
        from mlflow.server import get_app_client

        get_app_client("basic-auth", tracking_uri=url).create_user("analyst2", "pw-" + "x" * 12)
        grant_role("analyst2", "analyst", tracking_uri=url)
    with server_user(registry_server, "analyst2", password="pw-" + "x" * 12):
        with pytest.raises(
            PermissionError,
            match=r"^user 'analyst2' may not change 'risk': ask a registry admin to make you a "
            "reviewer",
        ):
            promote("risk", candidate.version, note="looks good", tracking_uri=url)
    assert "Traceback" not in capsys.readouterr().err
    with server_user(registry_server, "analyst"):
        with pytest.raises(PermissionError, match="registered by 'analyst', so 'analyst' may not"):
            promote("risk", candidate.version, note="mine is good", tracking_uri=url)
        rc = main(["promote", "risk", candidate.version, "--note", "x", "--tracking-uri", url])
        err = capsys.readouterr().err
        assert rc == 1 and err.count("\n") == 1 and "may not approve it" in err
        assert "Traceback" not in err and "Response body" not in err
        for attempt in (
            lambda: c.copy_model_version(f"models:/risk-candidates/{candidate.version}", "risk"),
            lambda: c.set_registered_model_tag("risk", "send_early.decision.0001", "{}"),
        ):
            with pytest.raises(mlflow.exceptions.MlflowException):
                attempt()
        assert c.search_model_versions("name = 'risk'") == []
        assert "champion" not in (c.get_registered_model("risk").aliases or {})
        assert list_decisions("risk", tracking_uri=url).empty


def test_a_reviewer_on_a_server_cannot_type_another_name(registry_server, candidate):
    with (
        server_user(registry_server, "reviewer"),
        pytest.raises(ValueError, match="must be the user the server authenticates"),
    ):
        promote(
            "risk", candidate.version, reviewer="someone-else", note="n",
            tracking_uri=registry_server["url"],
        )  # fmt: skip
        args = ["promote", "risk", candidate.version, "--note", "n", "--reviewer", "jsmith"]
        assert main([*args, "--tracking-uri", registry_server["url"]]) == 1


def test_self_approval_is_refused_even_with_force(registry_server, fitted_fake, tmp_path):
    url = registry_server["url"]
    with server_user(registry_server, "admin"):  # the admin may do anything but approve itself
        setup_registry("solo", tracking_uri=url)
        own = log_model(fitted_fake, registered_name="solo", tracking_uri=url)
        for force in (False, True):
            with pytest.raises(PermissionError, match="registered by 'admin', so 'admin' may not"):
                promote("solo", own.version, note="n", force=force, force_reason="r" if force else None,
                        tracking_uri=url)  # fmt: skip
        assert client(registry_server).search_model_versions("name = 'solo'") == []
        assert list_decisions("solo", tracking_uri=url).empty


def test_the_reviewer_promotes_and_the_server_scores_like_local(
    registry_server, candidate, fitted_model, small_cohort
):
    url = registry_server["url"]
    with server_user(registry_server, "reviewer"):
        done = promote("risk", candidate.version, note="card checked", tracking_uri=url)
    assert done.reviewer == "reviewer" and done.version == "1" and done.candidate_version == "1"
    with server_user(registry_server, "analyst"):  # analysts read and score production
        model = load_model("models:/risk@champion", tracking_uri=url)
        versions = list_versions("risk", tracking_uri=url)
        log = list_decisions("risk", tracking_uri=url)
        tags = client(registry_server).get_registered_model("risk").tags
    assert model.registry_["version"] == "1"
    features = fitted_model.build_features(small_cohort, REAL_AS_OF)
    pd.testing.assert_frame_equal(
        model.score_features(features), fitted_model.score_features(features)
    )
    assert versions[["version", "aliases", "status", "reviewer"]].values.tolist() == [
        [1, "champion", "approved", "reviewer"]
    ]
    assert log[
        ["action", "version", "candidate_version", "reviewer", "completed"]
    ].values.tolist() == [["promote", "1", "1", "reviewer", True]]
    assert '"reviewer": "reviewer"' in tags["send_early.decision.0001"]  # readable in the UI


def test_the_analyst_cannot_move_the_alias_with_mlflowclient(registry_server, candidate):
    # runs after the reviewer's promotion (tests run in file order): risk has version 1
    mlflow = import_mlflow()
    c = client(registry_server)
    with server_user(registry_server, "analyst"):
        for attempt in (
            lambda: c.set_registered_model_alias("risk", "challenger", "1"),
            lambda: c.delete_registered_model_alias("risk", "champion"),
            lambda: c.create_model_version(
                "risk", f"models:/risk-candidates/{candidate.version}", run_id=candidate.run_id
            ),
        ):
            with pytest.raises(mlflow.exceptions.MlflowException, match="403|PERMISSION_DENIED"):
                attempt()
        model = c.get_registered_model("risk")
        versions = [str(v.version) for v in c.search_model_versions("name = 'risk'")]
    assert model.aliases == {"champion": "1"} and versions == ["1"]


def test_a_wrong_password_is_one_clear_line(registry_server, capsys):
    url = registry_server["url"]
    with server_user(registry_server, "analyst", password="not-the-password"):
        with pytest.raises(
            PermissionError, match=r"did not accept the credentials of user 'analyst' \(401\)"
        ):
            list_versions("risk", tracking_uri=url)
        assert main(["versions", "risk", "--tracking-uri", url]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "401" in err and "not-the-password" not in err


def test_one_person_is_never_analyst_and_reviewer(registry_server):
    url = registry_server["url"]
    with server_user(registry_server, "admin"):
        with pytest.raises(ValueError, match="'reviewer' is already reviewer of risk"):
            grant_role("reviewer", "analyst", tracking_uri=url)
        revoke_user("reviewer", tracking_uri=url, models=["solo"])
    with (
        server_user(registry_server, "analyst"),
        pytest.raises(PermissionError, match="administer"),
    ):
        grant_role("analyst", "reviewer", tracking_uri=url)


def test_setup_refuses_the_default_admin_password(registry_server):
    with server_user(registry_server, "admin", password="password1234"):
        with pytest.raises(PermissionError, match="default admin password"):
            setup_registry("risk", tracking_uri=registry_server["url"])


def test_no_credential_in_output_logs_tags_or_the_process_list(
    registry_server, candidate, capfd, caplog
):
    url = registry_server["url"]
    secrets = list(registry_server["passwords"].values())
    with caplog.at_level("DEBUG"), server_user(registry_server, "analyst"):
        main(["-v", "versions", "risk", "--tracking-uri", url])
        main(["promote", "risk", candidate.version, "--note", "x", "--tracking-uri", url])
    out, err = capfd.readouterr()
    text = out + err + "\n".join(r.getMessage() for r in caplog.records)
    c = client(registry_server)
    with server_user(registry_server, "admin"):
        for model in c.search_registered_models():
            text += repr(model.tags) + (model.description or "")
            for mv in c.search_model_versions(f"name = '{model.name}'"):
                text += repr(mv.tags) + (mv.description or "")
                if mv.run_id:
                    run = c.get_run(mv.run_id)
                    text += repr(run.data.tags) + repr(run.data.params)
    cmdline = Path(f"/proc/{registry_server['proc'].pid}/cmdline").read_bytes().decode()
    assert "MLFLOW_TRACKING_PASSWORD" not in os.environ
    for secret in secrets:
        assert secret not in text and secret not in cmdline


def test_a_server_killed_between_copy_and_alias_leaves_nothing_that_scores(
    registry_server, candidate, fitted_fake, monkeypatch
):
    """Last in the module: it kills the server (SIGKILL) right after the copy, then restarts it."""
    url = registry_server["url"]
    mlflow = import_mlflow()
    with server_user(registry_server, "analyst"):
        second = log_model(fitted_fake, registered_name="risk", tracking_uri=url)
    move = mlflow.MlflowClient.set_registered_model_alias

    def killed_first(self, *args, **kwargs):
        stop_server(registry_server)  # SIGKILL to the server and its workers
        return move(self, *args, **kwargs)

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # fail now, not after backoff
    with server_user(registry_server, "reviewer"):
        before = load_model("risk", tracking_uri=url).registry_["version"]
        with monkeypatch.context() as m:
            m.setattr(mlflow.MlflowClient, "set_registered_model_alias", killed_first)
            with pytest.raises(Exception, match="Connection|connect|refused|Max retries"):
                promote("risk", second.version, note="n", force=True, force_reason="no card",
                        tracking_uri=url)  # fmt: skip
        registry_server["restart"]()
        versions = list_versions("risk", tracking_uri=url).set_index("version")
        orphan = int(versions.index.max())
        assert str(orphan) != before and versions.loc[orphan, "candidate_version"] == second.version
        assert versions.loc[orphan, "status"] == "not approved"
        assert versions.loc[orphan, "aliases"] == "" and versions.loc[orphan, "reviewer"] == ""
        assert load_model("risk", tracking_uri=url).registry_["version"] == before
        with pytest.raises(ValueError, match="is not approved"):
            load_model(f"risk/{orphan}", tracking_uri=url)
        assert not list_decisions("risk", tracking_uri=url)["completed"].iloc[-1]
