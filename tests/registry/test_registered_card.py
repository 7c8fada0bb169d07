"""The registered version's card: the file logged with it, checked, with the registry section
filled from the registry as it stands (version, run, approval)."""

from __future__ import annotations

import pytest

from send_early import IntegrityError
from send_early.registry import registered_card

from .fake_risk_model import force_promote, log_with_real_card


def test_registered_card_shows_version_run_and_approval(store_dir, fitted_fake, tmp_path):
    card, info = log_with_real_card(fitted_fake, store_dir, tmp_path / "card")
    assert "Not yet registered" in card.to_html()
    before = registered_card("risk-candidates", info.version, tracking_uri=store_dir)
    assert before.registry.name == "risk-candidates" and before.registry.run_id == info.run_id
    assert before.registry.approvals == ()
    assert "Not yet approved" in before.to_html()
    assert before.checks == card.checks  # the card's own content is the logged file's

    p = force_promote(info.version, store_dir)
    import pandas as pd

    log = pd.DataFrame(
        {"model_version": ["1"], "outcome": ["all"], "text": ["All flags"], "flags": [12],
         "share": [1.0], "median_days": [30.0]}
    )  # fmt: skip
    after = registered_card("risk", p.version, tracking_uri=store_dir, outcomes_after_flags=log)
    assert after.outcomes_after_flags.rows[0]["flags"] == 12
    (a,) = after.registry.approvals
    assert (a["alias"], a["reviewer"], a["forced"]) == ("champion", "rev-1", True)
    html = after.to_html()
    assert f"Registered as <strong>risk</strong> version <strong>{p.version}</strong>" in html
    assert "Approved as champion by rev-1" in html

    # the logged file is checked against the SHA-256 registered with the version
    from send_early.registry import open_store

    client = open_store(store_dir).client()
    client.set_model_version_tag("risk", p.version, "send_early.card_sha256", "0" * 64)
    with pytest.raises(IntegrityError, match="must match the SHA-256 registered with it"):
        registered_card("risk", p.version, tracking_uri=store_dir)
