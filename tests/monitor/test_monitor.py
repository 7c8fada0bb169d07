"""Monitoring across terms: stability, delayed labels, calibration, drift verdicts, HTML."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from send_early.batch import REJECT_COLUMNS, ScoringResult, write_run
from send_early.monitor import monitor_report
from send_early.privacy import SMALL


def run(as_of, ids, flagged, risk=None, *, name="risk", version="1", drift=()):
    ids = np.asarray(ids)
    risk = np.linspace(0.3, 0.01, len(ids)) if risk is None else np.asarray(risk, float)
    scores = pd.DataFrame(
        {
            "child_id": pd.array(ids, dtype="str"),
            "as_of": pd.Timestamp(as_of),
            "risk": risk,
            "rank": np.arange(1, len(ids) + 1),
            "flagged": np.isin(ids, list(flagged)),
            "model_name": name,
            "model_version": version,
        }
    )
    rejects = pd.DataFrame({c: pd.Series([], dtype="str") for c in REJECT_COLUMNS})
    counts = {
        "input_children": len(ids),
        "scored": len(ids),
        "rejected": 0,
        "flagged": int(scores["flagged"].sum()),
    }
    meta = {
        "as_of": as_of,
        "model": {
            "name": "send_early_any_support_24m",
            "version": version,
            "uri": f"models:/{name}/{version}",
        },
        "counts": counts,
        "drift": [
            {"name": n, "psi": p, "status": "alert" if p > 0.25 else "warn"} for n, p in drift
        ],
        "warnings": [],
    }
    return ScoringResult(scores=scores, rejects=rejects, counts=counts, metadata=meta)


IDS = [f"c{i:03d}" for i in range(200)]


def test_flag_stability_counts_and_share():
    a = run("2024-01-15", IDS, IDS[:40])
    # 30 kept, 10 dropped; 15 of a's flags left the population; 20 new flags
    b_ids = IDS[15:] + [f"n{i}" for i in range(20)]
    b = run("2024-09-01", b_ids, IDS[15:45] + [f"n{i}" for i in range(20)])
    rep = monitor_report([b, a])  # any order: sorted by as-of
    (s,) = rep.stability
    assert (s["from"], s["to"]) == ("2024-01-15 (v1)", "2024-09-01 (v1)")
    assert (s["kept"], s["dropped"], s["gone"], s["new"]) == (25, 0, 15, 25)
    assert s["kept_share"] == 1.0


def test_small_stability_counts_are_hidden():
    a = run("2024-01-15", IDS, IDS[:40])
    b = run("2024-09-01", IDS[3:], IDS[3:40])  # 3 gone
    (s,) = monitor_report([a, b]).stability
    assert s["gone"] == SMALL and s["suppressed"] is True


class _Later:  # what monitor_report reads of a later extract
    def __init__(self, ev, extract):
        self._ev, self.extract_date = ev, pd.Timestamp(extract)

    def __getitem__(self, name):
        assert name == "sen_events"
        return self._ev


def test_precision_and_recall_as_labels_arrive():
    a = run("2024-01-15", IDS, IDS[:40])
    # 20 flagged children identified after the run, 15 not flagged; 5 before it (not counted)
    events = {c: "2025-01-10" for c in IDS[:20] + IDS[100:115]}
    events |= {c: "2023-12-01" for c in IDS[120:125]}
    rep = monitor_report(
        [a],
        tables=_Later(
            pd.DataFrame(
                {
                    "child_id": list(events),
                    "event_date": list(events.values()),
                    "event": "sen_support",
                }
            ),
            "2025-06-30",
        ),
        forecast=False,
    )
    (lab,) = rep.labels
    assert lab["flagged_identified"] == 20
    assert lab["precision"] == pytest.approx(0.5)
    assert lab["identified"] == 35 and lab["recall"] == pytest.approx(20 / 35)
    assert lab["complete"] is False and lab["months_elapsed"] == pytest.approx(17.5, abs=0.1)
    assert {"tp", "fp", "fn", "tn"}.isdisjoint(lab)  # the cells are not published


def test_outcome_log_alone_gives_precision_not_recall():
    a = run("2024-01-15", IDS, IDS[:40])
    log = pd.DataFrame(
        {
            "child_id": IDS[:12],
            "model_name": "risk",
            "model_version": "1",
            "as_of": pd.Timestamp("2024-01-15"),
            "outcome": "sen_support_started",
            "outcome_date": pd.Timestamp("2024-05-01"),
        }
    )
    rep = monitor_report([a], outcomes=log)
    (lab,) = rep.labels
    assert lab["flagged_identified"] == 12 and lab["precision"] == pytest.approx(0.3)
    assert "recall" not in lab and "identified" not in lab
    assert rep.outcomes and any("recall is not shown" in n for n in rep.notes)


def test_calibration_bands_hide_small_cells():
    a = run("2024-01-15", IDS, IDS[:40])
    events = {c: "2025-01-10" for c in IDS[:25] + IDS[40:55] + IDS[80:83]}
    ev = pd.DataFrame(
        {"child_id": list(events), "event_date": list(events.values()), "event": "sen_support"}
    )
    rep = monitor_report([a], tables=_Later(ev, "2026-06-30"), forecast=False)
    bands = rep.calibration
    assert len(bands) == 5 and all(b["children"] == 40 for b in bands)
    assert all(b["complete"] for b in bands)
    truth = {0: 25 / 40, 1: 15 / 40, 2: 3 / 40, 3: 0.0, 4: 0.0}  # risk falls with the index
    shown = {i: b["observed_so_far"] for i, b in enumerate(reversed(bands))}
    assert shown[2] is None  # 3 events: hidden
    assert sum(v is None for v in shown.values()) >= 2  # and one more, so it cannot be worked out
    for i, v in shown.items():
        assert v is None or v == pytest.approx(truth[i])


def test_drift_alerts_only_material_and_unexpected():
    runs = [
        run("2024-01-15", IDS, IDS[:40], drift=[("attendance_rate_3t", 0.4), ("eal", 0.15)]),
        run(
            "2024-09-01",
            IDS,
            IDS[:40],
            drift=[("age_months", 0.6), ("eyfsp_gld", 0.5), ("(score)", 0.3)],
        ),
        run("2025-01-15", IDS, IDS[:40], drift=[("imd_decile", 0.3)]),
    ]
    rep = monitor_report(runs, expected={"eyfsp_gld", "attendance_rate_3t"})
    verdict = {(r["run"][:10], r["name"]): r["verdict"] for r in rep.drift}
    assert verdict[("2024-01-15", "attendance_rate_3t")] == "alert"  # age did not move
    assert verdict[("2024-01-15", "eal")] == "watch"  # not material
    assert verdict[("2024-09-01", "age_months")].startswith("expected")
    assert verdict[("2024-09-01", "eyfsp_gld")].startswith("expected")
    assert verdict[("2024-09-01", "(score)")].startswith("expected")
    assert verdict[("2025-01-15", "imd_decile")] == "alert"
    assert len(rep.alerts) == 2


def test_known_shifts_are_shown_not_alerted():
    a = run("2024-01-15", IDS, IDS[:40], drift=[("eyfsp_gld", 0.5), ("imd_decile", 0.3)])
    rep = monitor_report([a], expected=set(), known={"eyfsp_gld"})
    verdict = {r["name"]: r["verdict"] for r in rep.drift}
    assert verdict["eyfsp_gld"].startswith("known")
    assert [r["name"] for r in rep.alerts] == ["imd_decile"]


def test_a_pass_fail_results_standing_is_expected_to_move_not_its_status():
    # age did not move: only the standing's own rule can make its shift expected
    drift = [
        ("eyfsp_gld_standing", 0.7),
        ("eyfsp_maths_standing", 0.5),
        ("phonics_mark_standing", 0.4),  # a mark (0-40), not a pass/fail result
        ("eyfsp_gld_status", 0.4),  # whether results are recorded at all
    ]
    rep = monitor_report([run("2025-08-31", IDS, IDS[:40], drift=drift)])
    verdict = {r["name"]: r["verdict"] for r in rep.drift}
    assert verdict["eyfsp_gld_standing"].startswith("expected")
    assert verdict["eyfsp_maths_standing"].startswith("expected")
    assert sorted(r["name"] for r in rep.alerts) == ["eyfsp_gld_status", "phonics_mark_standing"]


def test_age_linked_features_from_the_pipeline():
    rep = monitor_report(
        [
            run(
                "2024-09-01",
                IDS,
                IDS[:40],
                drift=[("age_months", 0.6), ("eyfsp_gld", 0.5), ("imd_decile", 0.4)],
            )
        ]
    )
    verdict = {r["name"]: r["verdict"] for r in rep.drift}
    assert verdict["eyfsp_gld"].startswith("expected")  # assessments: age-linked
    assert verdict["imd_decile"] == "alert"  # children: not age-linked


def test_runs_of_other_models_are_skipped_and_none_left_is_an_error():
    a = run("2024-01-15", IDS, IDS[:40])
    b = run("2024-09-01", IDS, IDS[:40], name="other")
    assert len(monitor_report([a, b], name="risk").runs) == 1
    with pytest.raises(ValueError, match="at least one published scoring run of model 'x'"):
        monitor_report([a, b], name="x")


def test_published_runs_and_html(tmp_path):
    paths = []
    for as_of, flags in (("2024-01-15", IDS[:40]), ("2024-09-01", IDS[10:50])):
        paths.append(write_run(run(as_of, IDS, flags), tmp_path / f"scores_{as_of}.csv"))
    rep = monitor_report(paths, name="risk")
    page = rep.html()
    assert "Flag stability" in page and "75.0%" in page  # 30 of 40 flagged again
    for cid in IDS:
        assert cid not in page and cid not in rep.to_json()  # aggregates only
    written = rep.write(tmp_path / "mon")
    assert json.loads(written[1].read_text())["stability"][0]["kept"] == 30


def test_html_escapes_names():
    a = run("2024-01-15", IDS, IDS[:40], drift=[("<b>x</b>", 0.5)])
    page = monitor_report([a], expected=set()).html()
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
