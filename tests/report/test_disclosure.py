"""An auditor's scan of real model cards: no published figure recovers 1 to 9 children.

Written apart from :mod:`send_early.privacy` (it never calls it): it reads the card as a
reader would, turns every rate with a known denominator back into a count, and checks
counts, complements and what hidden cells must add up to against published totals.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

COUNTS = {
    "n",
    "n_positive",
    "n_events",
    "k",
    "true_positives",
    "false_positives",
    "count",
    "n_test",
    "n_train",
    "n_train_positive",
    "n_calibration",
    "n_calibration_positive",
    "n_children",
    "rows",
    "children",
    "own_flagged",
    "n_tied_at_cutoff",
}


def _num(v):
    return v if isinstance(v, int | float) and not isinstance(v, bool) else None


def _small(x) -> bool:
    return x is not None and 1 <= round(x) <= 9


def _check_rate(found, where, rate, den, what):
    """A rate over a known denominator: numerator and complement must not be 1 to 9."""
    rate, den = _num(rate), _num(den)
    if rate is None or den is None:
        return None
    num = rate * den
    if _small(num) or _small(den - num):
        found.append(f"{where}: {what}={rate:.4g} of {den:g} reveals {num:.1f}")
    return round(num)


def _check_remainder(found, where, total, shown, any_hidden):
    if any_hidden and _num(total) is not None and _small(total - sum(shown)):
        found.append(f"{where}: hidden cells add up to {total - sum(shown):.0f}")


def scan_card(card: dict) -> list[str]:
    """Every figure in the card's JSON that lets a reader recover 1 to 9 children."""
    found: list[str] = []

    def walk(obj, path):
        if isinstance(obj, dict):
            for k, v in obj.items():
                if k in COUNTS and _small(_num(v)):
                    found.append(f"{path}.{k}: count {v}")
                walk(v, f"{path}.{k}")
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                walk(v, f"{path}[{i}]")

    walk(card, "card")
    head = (card.get("metrics") or {}).get("headline") or {}
    n, pos = _num(head.get("n")), _num(head.get("n_positive"))
    _check_rate(found, "headline", head.get("prevalence"), n, "prevalence")
    for where, r in (("headline", head), ("at_k", (card.get("capacity") or {}).get("at_k") or {})):
        k = _num(r.get("k"))
        _check_rate(found, where, r.get("precision_at_k", r.get("precision")), k, "precision")
        _check_rate(found, where, r.get("recall_at_k", r.get("recall")), pos, "recall")
        lift = _num(r.get("lift_at_k", r.get("lift")))
        if lift is not None and n and pos:
            _check_rate(found, where, lift * pos / n, k, "lift")
        if n and pos:
            _check_rate(found, where, r.get("fpr"), n - pos, "fpr")
    # capacity curve: each row and each step from the previous shown row
    last: dict = {}
    for i, r in enumerate((card.get("capacity") or {}).get("curve") or []):
        k, tp = _num(r.get("k")), None
        for key, den in (("precision", k), ("recall", pos)):
            got = _check_rate(found, f"curve[{i}]", r.get(key), den, key)
            tp = tp if tp is not None else got
        tp = _num(r.get("true_positives")) if tp is None else tp
        for name, v in (("k", k), ("tp", tp), ("fp", None if k is None or tp is None else k - tp)):
            if v is not None:
                if name in last and _small(abs(v - last[name])):
                    found.append(f"curve[{i}]: {name} steps by {v - last[name]:.0f}")
                last[name] = v
    # calibration: each bin and the hidden bins against the cohort
    cal = card.get("calibration") or []
    n_shown, e_shown, hidden_n, hidden_e = [], [], False, False
    for i, r in enumerate(cal):
        e = _check_rate(found, f"calibration[{i}]", r.get("observed_rate"), r.get("n"), "rate")
        if r.get("observed_rate") is None:  # an interval inverts to its rate's count
            assert r.get("ci_low") is None and r.get("ci_high") is None, r
        e = _num(r.get("n_events")) if e is None else e
        if _num(r.get("n")) is None:
            hidden_n = True
        else:
            n_shown.append(r["n"])
        if e is None:
            hidden_e = True
        else:
            e_shown.append(e)
    if cal:
        _check_remainder(found, "calibration n", n, n_shown, hidden_n)
        _check_remainder(found, "calibration events", pos, e_shown, hidden_e)
    # lead time: intervals partition the summary's children
    lt = card.get("lead_time") or {}
    total = _num((lt.get("summary") or {}).get("n"))
    rows = lt.get("table") or []
    for i, r in enumerate(rows):
        _check_rate(found, f"lead_time[{i}]", r.get("share"), total, "share")
    shown = [r["n"] for r in rows if _num(r.get("n")) is not None]
    _check_remainder(found, "lead_time", total, shown, len(shown) < len(rows))
    # shapes: a bin's share and count give the term's total
    for term, rows in ((card.get("explanation") or {}).get("shapes") or {}).items():
        tot = None
        for i, r in enumerate(rows):
            _check_rate(found, f"shape {term}[{i}]", r.get("event_rate"), r.get("count"), "rate")
            if _num(r.get("count")) and _num(r.get("share")):
                tot = r["count"] / r["share"]
            if _num(r.get("share")) is not None and _num(r.get("count")) is None and tot:
                found.append(f"shape {term}[{i}]: share without count")
        shown = [r["count"] for r in rows if _num(r.get("count")) is not None]
        _check_remainder(found, f"shape {term}", tot, shown, len(shown) < len(rows))
    # fairness: each group, and each feature's hidden groups against the overall figures
    fair = card.get("fairness") or {}
    over = {r.get("metric"): r.get("value") for r in fair.get("overall") or []}
    o_pos = round(over["prevalence"] * n) if _num(over.get("prevalence")) and n else None
    feats: dict = {}
    for r in fair.get("by_group") or []:
        where = f"group {r.get('feature')}={r.get('group')}"
        gn = _num(r.get("n"))
        gp = _check_rate(found, where, r.get("prevalence", r.get("observed_rate")), gn, "rate")
        _check_rate(found, where, r.get("observed_rate"), gn, "observed")
        gf = _check_rate(found, where, r.get("flag_rate"), gn, "flag_rate")
        for m in ("recall", "fnr"):
            _check_rate(found, where, r.get(m), gp, m)
        _check_rate(found, where, r.get("precision"), gf, "precision")
        if gn is not None and gp is not None:
            _check_rate(found, where, r.get("fpr"), gn - gp, "fpr")
        f = feats.setdefault(r.get("feature"), {"n": [], "pos": [], "hn": False, "hp": False})
        f["n"].append(gn) if gn is not None else f.update(hn=True)
        f["pos"].append(gp) if gp is not None else f.update(hp=True)
    # ratios to the reference group (recall and flag rate gate, FNR reported): each shown
    # value and reference value is a group's rate, checked over the group's denominator
    rows = {(r.get("feature"), r.get("group")): r for r in fair.get("by_group") or []}
    for d in fair.get("disparity") or []:
        m = d.get("metric") or "fnr"
        for key, grp in (("value", d.get("group")), ("reference_value", d.get("reference"))):
            if _num(d.get(key)) is None:
                continue
            g = rows.get((d.get("feature"), grp)) or {}
            where = f"ratio {d.get('feature')}={grp} {m}"
            if _num(g.get(m)) is None:
                found.append(f"{where}: shows a rate the group table hides")
                continue
            gn = _num(g.get("n"))
            den = (
                gn if m == "flag_rate" else _check_rate(found, where, g.get("prevalence"), gn, "n")
            )
            _check_rate(found, where, d[key], den, m)
    for feat, f in feats.items():
        _check_remainder(found, f"groups {feat} n", n, f["n"], f["hn"])
        _check_remainder(found, f"groups {feat} identified", o_pos, f["pos"], f["hp"])
    # data summary: shares missing among the children evaluated
    given = (card.get("data_summary") or {}).get("given") or {}
    for feat, share in (given.get("missingness") or {}).items():
        _check_rate(found, f"missing {feat}", share, given.get("n_children", n), "share")
    for year in (card.get("backtest") or {}).get("by_year") or []:
        _check_rate(
            found,
            f"backtest {year.get('test_year')}",
            year.get("prevalence"),
            year.get("n_test"),
            "prevalence",
        )
    return found


class _Cells(HTMLParser):
    """Table cells under count headers in the HTML (what a person reads)."""

    HEADS = {"children", "identified", "found", "children flagged", "later identified"}

    def __init__(self):
        super().__init__()
        self.heads, self.row, self.cells, self.text, self.tag = [], [], [], "", None

    def handle_starttag(self, tag, attrs):
        if tag in ("th", "td"):
            self.tag, self.text = tag, ""
        if tag == "thead":
            self.heads = []
        if tag == "tr":
            self.row = []

    def handle_data(self, data):
        if self.tag:
            self.text += data

    def handle_endtag(self, tag):
        if tag == "th" and self.tag:
            self.heads.append(self.text.strip())
        if tag == "td" and self.tag:
            self.row.append(self.text.strip())
        if tag in ("th", "td"):
            self.tag = None
        if tag == "tr" and self.row and len(self.row) == len(self.heads):
            for h, v in zip(self.heads, self.row, strict=True):
                if h in self.HEADS and re.fullmatch(r"[1-9]", v):
                    self.cells.append(f"html column {h!r}: {v}")


def scan_html(html: str) -> list[str]:
    p = _Cells()
    p.feed(html)
    found = list(p.cells)
    # sentences such as "finds 7 of the 204 later identified"
    found += [f"html text: {m}" for m in re.findall(r"\b(?:finds|flags) [1-9] of\b", html)]
    return found


@pytest.fixture(scope="module", params=[1200, 6000])
def real_card(request, tmp_path_factory):
    from send_early.datasets import make_cohort
    from send_early.workflow import train_model

    tables, truth = make_cohort(request.param, random_state=0, return_truth=True)
    out = tmp_path_factory.mktemp(f"card{request.param}")
    res = train_model(tables, "default", out_dir=out, truth=truth, backtest=True)
    return res.run.card


@pytest.mark.slow
def test_no_published_figure_recovers_one_to_nine_children(real_card):
    data = json.loads(real_card.json_path.read_text(encoding="utf-8"))
    html = real_card.html_path.read_text(encoding="utf-8")
    found = scan_card(data) + scan_html(html)
    assert not found, "\n".join(found[:40])
    # the card still says something: groups, bins and the capacity are shown; a group's miss
    # rate only where the test cohort has enough later-identified children to show one (the
    # 1,200-child cohort's test year has about 30, so every group's count flagged is 1 to 9)
    assert any(isinstance(r.get("n"), int) for r in data["fairness"]["by_group"])
    if data["metrics"]["headline"]["n_positive"] >= 100:
        assert any(isinstance(r.get("fnr"), float) for r in data["fairness"]["by_group"])
    assert any(isinstance(r.get("n"), int) for r in data["calibration"])


def test_the_scan_finds_what_the_issue_found():
    # "Chinese: 83 children, identified 7.2%" (6 children), a bin of 2 of 12 identified
    card = {
        "metrics": {"headline": {"n": 1000, "n_positive": 80}},
        "fairness": {
            "by_group": [
                {"feature": "ethnicity", "group": "Chinese", "n": 83, "prevalence": 6 / 83}
            ]
        },
        "explanation": {"shapes": {"age": [{"count": 12, "share": 0.012, "event_rate": 2 / 12}]}},
        "calibration": [
            {"n": 500, "n_events": 40},
            {"n": None, "n_events": None},
            {"n": 495, "n_events": 40},
        ],
    }
    found = scan_card(card)
    assert any("Chinese" in f for f in found) and any("shape age" in f for f in found)
    assert any("calibration n" in f for f in found)  # the hidden bin is 5 children
    assert scan_html(
        "<table><thead><tr><th>children</th></tr></thead><tbody><tr><td>7</td></tr></tbody></table>"
    )
