"""One reviewer checklist: the model card, ``send-early review`` and the registry's
version description show the same items (``send_early.report.MANUAL_CHECKLIST``)."""

from __future__ import annotations

import json
from types import SimpleNamespace

from send_early.cli import main
from send_early.registry import REVIEW_CHECKLIST, log_model, open_store, review_summary
from send_early.report import MANUAL_CHECKLIST, build_model_card, card_summary


def _card(folder):
    model = SimpleNamespace(feature_names_=["age_months"], metadata_={"n_train": 500})
    ev = {"headline": {"n": 800, "n_positive": 90, "ece": 0.012, "roc_auc": 0.74}}
    return build_model_card(model, ev, None, out_dir=folder)


def test_card_review_and_description_show_the_same_checklist(
    tmp_path, store_dir, fitted_fake, capsys
):
    card = _card(tmp_path / "card")
    data = json.loads(card.json_path.read_text(encoding="utf-8"))
    items = tuple(m["item"] for m in data["manual_checklist"])
    assert items == REVIEW_CHECKLIST == tuple(text for _, text in MANUAL_CHECKLIST)
    assert len(set(items)) == len(items) >= 6
    assert len({i for i, _ in MANUAL_CHECKLIST}) == len(MANUAL_CHECKLIST)  # ids are unique

    info = log_model(
        fitted_fake, card_paths=[card.json_path], registered_name="risk", tracking_uri=store_dir
    )
    summary = review_summary("risk", info.version, tracking_uri=store_dir, candidate=True)
    assert summary.checklist == items
    assert main(["review", "risk", info.version, "--tracking-uri", str(store_dir)]) == 0
    printed = capsys.readouterr().out
    client = open_store(store_dir).client()
    description = client.get_model_version(info.registered_as, info.version).description
    card_text = card_summary(card.json_path)
    for item in items:
        assert f"[ ] {item}" in card_text
        assert f"[ ] {item}" in str(summary) and f"[ ] {item}" in printed
        assert f"- [ ] {item}" in description
    assert "see the model card" not in description  # nothing cut to fit MLflow's limit
