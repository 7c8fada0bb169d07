"""Fill the figures of docs/lists.md and make its screenshot, from code, on a synthetic cohort.

Fits the default model on ``make_cohort(20000, random_state=0)`` (the demo's cohort), scores the
children at 2023-08-31 (the latest as-of date whose 24-month label window ends by the extract),
compares the capacity policies by setting against the labels, writes the school lists and
photographs one in headless Chromium (``docs/img/lists_school_phone.png``). Aggregates only
reach the page; the disclosure rule (send_early.privacy) applies to every count.

Run from the repository root: ``python docs/scripts/make_lists_page.py``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from _pages import DOCS, demo_model, fill, screenshot

from send_early import score
from send_early.batch import recorded_locality, setting_key
from send_early.features import build_labels
from send_early.lists import (
    build_lists,
    capacity_by_setting,
    compare_capacity_policies,
    write_lists,
)
from send_early.privacy import show_count

AS_OF = "2023-08-31"


def md_table(df: pd.DataFrame) -> str:
    out = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    out += ["| " + " | ".join(map(str, r)) + " |" for r in df.itertuples(index=False)]
    return "\n".join(out)


def pct(v) -> str:
    return "suppressed" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.1%}"


def main() -> None:
    tables, model = demo_model()
    res = score(model, tables, AS_OF)
    s = res.scores
    labels = build_labels(tables, AS_OF, model.spec.horizon_months, model.spec.outcome)
    y = labels["label"] if "label" in labels.columns else labels.iloc[:, 0]
    s = s[s["child_id"].isin(y.index.astype(str))]
    y = y.reindex(s["child_id"]).to_numpy(dtype=bool)
    setting = setting_key(s["setting_type"], s["setting_id"])  # one per locality team off roll
    team = recorded_locality(tables, s["child_id"])
    off_roll = (s["setting_type"] == "not_on_roll").to_numpy()
    k = int(res.scores["flagged"].sum())
    args = {"k": k, "minimum": 1, "tiebreak": s["child_id"], "locality": team}
    table = compare_capacity_policies(s["risk"], y, setting, **args)
    not_on_roll = [
        int(capacity_by_setting(s["risk"], setting, policy=p, **args).flagged[off_roll].sum())
        for p in table["policy"]
    ]
    n_teams = len(set(team[off_roll]) - {""})
    kinds = s["setting_type"].value_counts()
    flagged = res.scores.loc[res.scores["flagged"], "setting_type"].value_counts()
    n_schools = s.loc[s["setting_type"] == "school", "setting_id"].nunique()
    lines = [
        f"Children scored at {AS_OF} with a label (24-month window ends by the extract): "
        f"{len(s):,}; {int(y.sum()):,} later identified. Capacity k = {k:,} (what the card's "
        "top 5% of all children scored flags at this date; every policy flags as many). On a "
        f"school roll at the as-of date: {kinds.get('school', 0):,} children in "
        f"{n_schools} schools; not on roll: {kinds.get('not_on_roll', 0):,}, in {n_teams} "
        f"locality teams' settings ({show_count(int((off_roll & (team == '')).sum()))} with no "
        f"locality recorded, one more setting). Of the {k:,} flagged by the council-wide rule, "
        f"{show_count(int(flagged.get('not_on_roll', 0)))} are not on a school roll.",
        "",
        md_table(
            pd.DataFrame(
                {
                    "policy": table["policy"],
                    "flagged": table["flagged"],
                    "precision": table["precision"].map(pct),
                    "recall": table["recall"].map(pct),
                    "settings with a flag": table["settings_flagged"].astype(str)
                    + " of "
                    + table["settings"].astype(str),
                    "settings with 1-9 / 10+ flags": table["settings_1_9"].astype(str)
                    + " / "
                    + table["settings_10_plus"].astype(str),
                    "flagged not on roll": [str(show_count(v)) for v in not_on_roll],
                }
            )
        ),
    ]
    schools = build_lists(res, tables=tables, model=model).children
    off = schools["key"].str.startswith("not_on_roll").to_numpy()
    reason = (schools["reason_1"] != "").to_numpy()
    seen = reason | (schools["context"] != "").to_numpy()
    lines += [
        "",
        f"On the school lists, {reason[~off].mean():.0%} of the children on a school roll have "
        "at least one reason a school may read (their own top ones, with the model), and "
        f"{seen[~off].mean():.0%} a reason or a context line; on the not-on-roll lists (one per "
        f"locality team, who may read health visiting records too), {reason[off].mean():.0%} "
        f"and {seen[off].mean():.0%} (the SEND team's lists show every reason).",
    ]
    page = DOCS / "lists.md"
    page.write_text(fill(page.read_text(), "figures", "\n".join(lines)))
    with tempfile.TemporaryDirectory() as tmp:
        lists = write_lists(res, tmp, audience="school", tables=tables, model=model)
        st = lists.settings[lists.settings["setting_type"] == "school"]
        key = st.sort_values(["flagged", "key"]).iloc[-1]["key"]
        screenshot(Path(tmp) / f"{key}.html", DOCS / "img" / "lists_school_phone.png")


if __name__ == "__main__":
    main()
