"""Scoring warns, and records in the run's metadata, what a person must know before acting."""

from __future__ import annotations

import json

import pytest

import send_early
from send_early import write_tables
from send_early.cli import main

AS_OF = "2025-08-31"


def _card(path, failed: bool):
    checks = [
        {"name": "protected_not_features", "passed": True},
        {"name": "ece_below_threshold", "passed": not failed, "detail": "ECE 0.03"},
    ]
    path.write_text(json.dumps({"checks": checks}))
    return path


@pytest.fixture(scope="module")
def store(fitted_model, tmp_path_factory):
    """warn_model: version 1 (a failed card check, challenger, forced), version 2 (champion),
    each promoted from its candidate; forced_model: version 1 promoted to champion with --force."""
    from send_early.registry import log_model, promote

    root = tmp_path_factory.mktemp("warn")
    uri = str(root / "store")
    bad, good = _card(root / "bad.json", True), _card(root / "good.json", False)
    for card in (bad, good):  # candidates 1 and 2 of warn_model-candidates
        log_model(fitted_model, card_paths=[card], registered_name="warn_model", tracking_uri=uri)
    promote(
        "warn_model",
        "1",
        alias="challenger",
        reviewer="r1",
        note="trial",
        force=True,
        force_reason="tiny test cohort",
        tracking_uri=uri,
    )
    promote("warn_model", "2", reviewer="r1", note="checked", tracking_uri=uri)
    log_model(fitted_model, card_paths=[bad], registered_name="forced_model", tracking_uri=uri)
    promote(
        "forced_model",
        "1",
        reviewer="r1",
        note="checked",
        force=True,
        force_reason="tiny test cohort",
        tracking_uri=uri,
    )
    return uri


def _kinds(res):
    return [w["kind"] for w in res.metadata["warnings"]]


def test_the_approved_champion_at_its_own_capacity_scores_without_warnings(store, small_cohort):
    for capacity in (None, "5%", 0.05):
        res = send_early.score(
            "models:/warn_model@champion",
            small_cohort,
            AS_OF,
            capacity=capacity,
            tracking_uri=store,
        )
        assert res.warnings == [] and res.metadata["warnings"] == []
    m = res.metadata["model"]
    assert (m["version"], m["alias"], m["champion_version"]) == ("2", "champion", "2")
    assert m["validation_status"] == "approved" and m["card_checks_failed"] == []
    cap = res.metadata["capacity"]
    assert cap["flagged"] == cap["card_flagged"] == res.counts["flagged"]
    assert (cap["card_policy"], cap["card_value"]) == ("share", 0.05)


def test_a_store_that_refuses_the_drift_record_warns_and_keeps_the_scores(
    store, small_cohort, monkeypatch
):
    import send_early.registry

    full = send_early.score("models:/warn_model@champion", small_cohort, AS_OF, tracking_uri=store)

    def read_only(*args, **kwargs):
        raise PermissionError("The model store at /srv/x is read-only.")

    monkeypatch.setattr(send_early.registry, "log_drift", read_only)
    res = send_early.score("models:/warn_model@champion", small_cohort, AS_OF, tracking_uri=store)
    assert _kinds(res) == ["drift_not_logged"] and "read-only" in res.warnings[0]
    assert res.scores.equals(full.scores) and res.counts == full.counts


@pytest.mark.parametrize("uri", ["models:/warn_model/1", "models:/warn_model@challenger"])
def test_a_version_that_is_not_the_champion_warns(store, small_cohort, uri):
    res = send_early.score(uri, small_cohort, AS_OF, tracking_uri=store)
    assert _kinds(res) == ["not_champion", "card_checks_failed"]
    assert "is not the approved champion (version 2 holds warn_model@champion)" in res.warnings[0]
    assert res.metadata["model"]["champion_version"] == "2"


def test_failed_card_checks_warn_even_for_a_forced_champion(store, small_cohort):
    res = send_early.score("models:/forced_model@champion", small_cohort, AS_OF, tracking_uri=store)
    assert _kinds(res) == ["card_checks_failed"]
    assert "failed 1 model card check(s): ece_below_threshold" in res.warnings[0]
    assert "promoted with --force: 'tiny test cohort'" in res.warnings[0]
    assert res.metadata["model"]["card_checks_failed"] == ["ece_below_threshold"]


def test_a_capacity_other_than_the_cards_warns(store, small_cohort):
    res = send_early.score(
        "models:/warn_model@champion", small_cohort, AS_OF, capacity=400, tracking_uri=store
    )
    assert _kinds(res) == ["capacity_differs"]
    n = res.counts["scored"]
    card_k = res.metadata["capacity"]["card_flagged"]
    assert card_k == int(n * 0.05) and res.counts["flagged"] == 400
    assert (
        f"capacity 400 flags 400 of {n:,} children scored ({400 / n:.1%}); the model card "
        f"evaluated the top 5%, which flags {card_k:,} of them"
    ) in res.warnings[0]


def test_a_model_that_is_not_registered_warns(fitted_model, small_cohort):
    res = send_early.score(fitted_model, small_cohort, AS_OF)
    assert _kinds(res) == ["not_registered"]
    assert res.metadata["model"]["registered"] is False


def test_cli_prints_warnings_on_stderr_and_records_them_in_the_run_file(
    store, small_cohort, tmp_path, capsys
):
    write_tables(small_cohort, tmp_path / "extract")
    out = tmp_path / "out" / "scores.csv"
    out.parent.mkdir()
    argv = ["score", str(tmp_path / "extract"), "--model", "models:/warn_model/1"]
    argv += ["--as-of", AS_OF, "--out", str(out), "--capacity", "400", "--tracking-uri", store]
    assert main(argv) == 0  # warnings inform; they do not stop the run
    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if "warning:" in line]
    assert len(warnings) == 3
    assert all(line.startswith("send-early: warning: ") for line in warnings)
    assert "is not the approved champion" in warnings[0]
    assert "ece_below_threshold" in warnings[1] and "capacity 400 flags 400" in warnings[2]
    assert "WARNING send_early" not in captured.err  # not twice through logging
    run = json.loads((tmp_path / "out" / "scores_run.json").read_text())
    assert [w["kind"] for w in run["warnings"]] == [
        "not_champion",
        "card_checks_failed",
        "capacity_differs",
    ]
    assert run["model"]["source"] == "models:/warn_model/1"
    assert run["as_of"] == AS_OF and run["extract_date"] == "2025-08-31"
    assert run["capacity"]["requested"] == "400" and run["outputs"]["scores"] == str(out)
    assert f"Run:     {tmp_path / 'out' / 'scores_run.json'}" in captured.out
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]
