"""What followed flags, per model version, under the disclosure rule."""

from __future__ import annotations

import pandas as pd

from send_early.outcomes import OUTCOME_CODES, latest_outcomes, outcome_section, outcome_summary
from send_early.privacy import SMALL


def log(counts: dict, version="3", start=0):
    ids, outs = [], []
    for code, n in counts.items():
        outs += [code] * n
    ids = [f"c{start + i}" for i in range(len(outs))]
    return pd.DataFrame(
        {
            "child_id": ids,
            "model_name": "risk",
            "model_version": version,
            "as_of": pd.Timestamp("2025-01-15"),
            "outcome": outs,
            "outcome_date": pd.Timestamp("2025-02-14"),
        }
    )


def test_counts_and_shares_when_every_cell_is_large():
    t = outcome_summary(log({"reviewed": 40, "no_action": 20, "sen_support_started": 20}))
    by = t.set_index("outcome")
    assert by.loc["reviewed", "flags"] == 40
    assert by.loc["reviewed", "share"] == 0.5
    assert by.loc["all", "flags"] == 80
    assert by.loc["reviewed", "median_days"] == 30
    assert by.loc["referred", "flags"] == 0  # every outcome is a row
    assert list(t["outcome"]) == [*OUTCOME_CODES, "all"]


def test_small_counts_hidden_with_their_complement():
    t = outcome_summary(log({"reviewed": 40, "no_action": 20, "declined": 3}))
    by = t.set_index("outcome")
    assert by.loc["declined", "flags"] == SMALL
    assert pd.isna(by.loc["declined", "share"])
    # 63 in all: with declined hidden, one more count must be hidden too
    hidden = [v for v in by.loc[list(OUTCOME_CODES), "flags"] if not isinstance(v, int)]
    assert len(hidden) >= 2
    assert pd.isna(by.loc["declined", "median_days"])


def test_versions_are_separate_blocks():
    both = pd.concat([log({"reviewed": 30}), log({"reviewed": 12}, version="4", start=100)])
    t = outcome_summary(both)
    assert set(t["model_version"]) == {"3", "4"}
    assert t[(t["model_version"] == "4") & (t["outcome"] == "all")]["flags"].item() == 12
    only = outcome_summary(both, model_version=4)
    assert set(only["model_version"]) == {"4"}


def test_latest_outcome_per_flag_counts_once():
    a = log({"reviewed": 15})
    b = a.assign(outcome="sen_support_started", outcome_date=pd.Timestamp("2025-04-01"))
    last = latest_outcomes(pd.concat([a, b]))
    assert len(last) == 15 and set(last["outcome"]) == {"sen_support_started"}
    t = outcome_summary(pd.concat([a, b])).set_index("outcome")
    assert t.loc["all", "flags"] == 15


def test_section_is_json_ready():
    import json

    sec = outcome_section(log({"reviewed": 12, "unknown": 2}), model_name="risk", model_version=3)
    text = json.dumps(sec)
    assert "NaN" not in text
    assert sec["title"] == "What followed flags"
    assert any(r["flags"] == SMALL for r in sec["rows"])
