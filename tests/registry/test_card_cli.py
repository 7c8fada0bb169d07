"""``send-early card NAME VERSION --out DIR``: the registered card, registry section filled."""

from __future__ import annotations

import json

from send_early.cli import main
from send_early.registry import log_model

from .fake_risk_model import force_promote, log_with_real_card


def test_card_command_writes_the_registered_card(store_dir, fitted_fake, tmp_path, capsys):
    card, info = log_with_real_card(fitted_fake, store_dir, tmp_path / "card")
    p = force_promote(info.version, store_dir)
    out = tmp_path / "registered"
    rc = main(["card", "risk", str(p.version), "--out", str(out), "--store", str(store_dir)])
    said = capsys.readouterr().out
    assert rc == 0
    assert f"risk version {p.version}" in said and "approved as champion by rev-1" in said
    (html,) = out.glob("*.html")
    (js,) = out.glob("*.json")
    assert str(html) in said and str(js) in said
    page = html.read_text(encoding="utf-8")
    assert f"Registered as <strong>risk</strong> version <strong>{p.version}</strong>" in page
    assert "Approved as champion by rev-1" in page and "Not yet registered" not in page
    reg = json.loads(js.read_text(encoding="utf-8"))["registry"]
    assert (reg["name"], str(reg["version"]), reg["run_id"]) == (
        "risk",
        str(p.version),
        info.run_id,
    )
    # the registered file itself is untouched: the card logged with the version
    assert "Not yet registered" in card.html_path.read_text(encoding="utf-8")


def test_card_command_refuses_a_version_without_a_card(store_dir, fitted_fake, tmp_path, capsys):
    info = log_model(fitted_fake, registered_name="bare", tracking_uri=store_dir)
    out = tmp_path / "out"
    rc = main(["card", "bare-candidates", str(info.version), "--out", str(out), "--store",
               str(store_dir)])  # fmt: skip
    assert rc == 1
    assert "has no model_card/*.json" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_card_command_refuses_a_file_as_out(store_dir, tmp_path, capsys):
    f = tmp_path / "a_file"
    f.write_text("x")
    rc = main(["card", "risk", "1", "--out", str(f), "--store", str(store_dir)])
    assert rc == 2
    assert "--out must be a folder" in capsys.readouterr().err


def test_card_command_shows_what_followed_this_versions_flags(
    store_dir, fitted_fake, tmp_path, capsys
):
    import pandas as pd

    from send_early.outcomes import record_outcomes

    card, info = log_with_real_card(fitted_fake, store_dir, tmp_path / "card")
    p = force_promote(info.version, store_dir)
    n = 15  # 12 flags of this version, 3 of another version: only the 12 count
    rows = pd.DataFrame(
        {
            "child_id": [f"c{i:03d}" for i in range(n)],
            "model_name": "risk",
            "model_version": [str(p.version)] * 12 + [str(int(p.version) + 1)] * 3,
            "as_of": "2025-01-15",
            "outcome": "reviewed",
            "outcome_date": "2025-02-03",
        }
    )
    record_outcomes(rows, store=store_dir)  # the store's own log: read without --log
    out = tmp_path / "with_log"
    args = ["card", "risk", str(p.version), "--out", str(out), "--store", str(store_dir)]
    assert main(args) == 0
    (js,) = out.glob("*.json")
    got = json.loads(js.read_text(encoding="utf-8"))["outcomes_after_flags"]["rows"]
    flags = {r["outcome"]: r["flags"] for r in got if r["flags"]}
    assert flags == {"reviewed": 12, "all": 12}
    # --log names another log; one with no flag of this version leaves the section empty
    other = tmp_path / "other.sqlite"
    record_outcomes(rows.iloc[12:], log=other)
    out2 = tmp_path / "other_log"
    assert main([*args[:4], str(out2), "--log", str(other), *args[5:]]) == 0
    (js2,) = out2.glob("*.json")
    assert json.loads(js2.read_text(encoding="utf-8"))["outcomes_after_flags"] is None
