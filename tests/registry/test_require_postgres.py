"""The registry server tests may skip without PostgreSQL only outside CI (.ci/run sets the flag)."""

from __future__ import annotations

import conftest
import pytest


@pytest.fixture
def no_server(monkeypatch):
    monkeypatch.setattr(conftest, "PG_DSN", "host=127.0.0.1 port=1 dbname=test connect_timeout=1")
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv(conftest.REQUIRE_ENV, raising=False)


def test_a_missing_server_skips_outside_ci(no_server):
    with pytest.raises(pytest.skip.Exception, match="no PostgreSQL at 127.0.0.1"):
        conftest.require_postgres()


@pytest.mark.parametrize("variable", ["SEND_EARLY_REQUIRE_POSTGRES", "CI"])
def test_a_missing_server_fails_when_ci_requires_it(no_server, monkeypatch, variable):
    monkeypatch.setenv(variable, "1")
    with pytest.raises(pytest.fail.Exception, match="may not skip there"):
        conftest.require_postgres()


def test_ci_run_sets_the_flag():
    from pathlib import Path

    run = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text()
    assert f"export {conftest.REQUIRE_ENV}=1" in run
