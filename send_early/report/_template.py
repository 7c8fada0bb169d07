"""HTML rendering of a model card dict: one self-contained page (inline CSS, base64
PNG plots, no scripts, fonts or links to fetch), readable on a phone."""

from __future__ import annotations

import html
import logging

from ._privacy import SMALL

logger = logging.getLogger(__name__)

__all__ = ["render_html"]

_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: #1f2328; line-height: 1.45; font-size: 16px;
       font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; -webkit-text-size-adjust: 100%; }
main { max-width: 72rem; margin: 0 auto; padding: 0.75rem; }
h1 { font-size: 1.35rem; margin: 0.4rem 0; }
h2 { font-size: 1.12rem; margin: 1.6rem 0 0.5rem; padding-bottom: 0.2rem;
     border-bottom: 2px solid #d0d7de; }
h3 { font-size: 1rem; margin: 1rem 0 0.3rem; }
p, li { overflow-wrap: anywhere; }
ul { padding-left: 1.2rem; }
nav ol { columns: 2; font-size: 0.85rem; padding-left: 1.4rem; margin: 0.3rem 0; }
nav a { color: #0b57d0; }
.table-wrap { overflow-x: auto; -webkit-overflow-scrolling: touch; margin: 0.5rem 0;
              max-width: 100%; border: 1px solid #eaeef2; }
table { border-collapse: collapse; font-size: 0.82rem; width: 100%; }
th, td { border-bottom: 1px solid #eaeef2; padding: 0.3rem 0.45rem; text-align: right;
         white-space: nowrap; vertical-align: top; }
th { background: #f6f8fa; white-space: normal; vertical-align: bottom; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
td.text { white-space: normal; min-width: 5rem; }
td.kv { white-space: normal; text-align: left; overflow-wrap: anywhere; }
td.wrap { white-space: normal; min-width: 14rem; text-align: left; }
figure { margin: 0.6rem 0; }
img { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 0.8rem; color: #57606a; }
.pass { color: #1a7f37; font-weight: 700; }
.fail { color: #b42318; font-weight: 700; }
.sup { color: #6e7781; font-style: italic; }
.banner { background: #fff8c5; border: 1px solid #d4a72c; padding: 0.5rem 0.7rem;
          border-radius: 6px; margin: 0.6rem 0; }
.verdict { padding: 0.6rem 0.8rem; border-radius: 6px; margin: 0.6rem 0; font-weight: 600; }
.verdict.ok { background: #dafbe1; border: 1px solid #4ac26b; }
.verdict.no { background: #ffebe9; border: 1px solid #ff8182; }
.lead { font-size: 1.02rem; }
.meta { font-size: 0.8rem; color: #57606a; overflow-wrap: anywhere; }
.box, .checks { list-style: none; padding-left: 0; }
.checks li { margin: 0.5rem 0; padding: 0.4rem 0.5rem; border: 1px solid #eaeef2;
             border-radius: 6px; }
.box li::before { content: "\\2610\\00a0"; font-size: 1.1rem; }
@media print { nav { display: none; } }
"""


_STACKED = """
  W { overflow-x: visible; border: 0; }
  W table, W tbody, W tr, W td, W th[scope=row], W caption { display: block; width: 100%; }
  W thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
            white-space: nowrap; }
  W tr { border: 1px solid #eaeef2; border-radius: 6px; margin: 0 0 0.45rem;
         padding: 0.15rem 0.4rem; }
  W td, W th[scope=row] { display: flex; justify-content: space-between; gap: 0.75rem;
      white-space: normal; min-width: 0; text-align: right; border-bottom: 0;
      padding: 0.15rem 0; overflow-wrap: anywhere; background: none; }
  W td[data-label]::before { content: attr(data-label); color: #57606a; text-align: left;
      flex: 0 1 45%; }
  W td.text, W td.wrap, W td.kv, W th[scope=row] { text-align: left; }
  W th[scope=row] { font-weight: 600; }
"""
# Below these widths a table's rows become blocks of "label  value" lines, so nothing is wider
# than the screen and no column has to be scrolled to (the header row stays for screen readers):
# every table on a phone, tables with many columns up to a laptop's width.
_CSS += "".join(
    f"@media (max-width: {width}) {{{_STACKED.replace('W ', selector + ' ')}}}\n"
    for selector, width in ((".table-wrap", "40rem"), (".table-wrap.wide", "72rem"))
)
_WIDE_COLUMNS = 8

_SECTIONS = (
    ("use", "Intended use"),
    ("data", "Data summary"),
    ("outcome", "Outcome and horizon"),
    ("features", "Features"),
    ("explanation", "Global explanation"),
    ("metrics", "Metrics and baselines"),
    ("calibration", "Calibration"),
    ("capacity", "Capacity"),
    ("lead-time", "Lead time"),
    ("fairness", "Fairness audit"),
    ("backtest", "Backtest stability"),
    ("limitations", "Limitations"),
    ("checklist", "Reviewer checklist"),
)


def _e(v) -> str:
    return html.escape(str(v), quote=True)


def fmt(v, kind: str = "num") -> str:
    """One value as HTML text: suppressed values read "suppressed", small counts "<10"."""
    if v is None:
        return '<span class="sup">suppressed</span>'
    if v == SMALL:
        return f'<span class="sup">{_e(SMALL)}</span>'
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int) and kind != "pct":
        return f"{v:,}"
    if isinstance(v, int | float):
        if kind == "pct":
            return f"{100 * float(v):.1f}%"
        if kind == "int":
            return f"{float(v):,.0f}"
        if kind == "signed":
            return f"{float(v):+.3f}"
        return f"{float(v):.3f}"
    if isinstance(v, list):
        return _e(", ".join(map(str, v)))
    return _e(v)


def _table(rows: list[dict], cols: list[tuple[str, str, str]], caption: str = "") -> str:
    if not rows:
        return '<p class="sup">No rows to show.</p>'
    head = "".join(f'<th scope="col">{_e(h)}</th>' for _, h, _ in cols)
    body = []
    for r in rows:
        cells = []
        for key, label, kind in cols:
            v = r.get(key)
            if kind in ("text", "wrap"):
                cls = "wrap" if kind == "wrap" else "text"
                txt = "" if v is None else _e(v)
                cells.append(f'<td class="{cls}" data-label="{_e(label)}">{txt}</td>')
            else:
                cells.append(f'<td data-label="{_e(label)}">{fmt(v, kind)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f'<caption class="meta">{_e(caption)}</caption>' if caption else ""
    wrap = "table-wrap wide" if len(cols) > _WIDE_COLUMNS else "table-wrap"
    return (
        f'<div class="{wrap}"><table>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _kv(pairs: list[tuple[str, object, str]]) -> str:
    rows = [{"item": k, "value": v} for k, v, _ in pairs]
    body = "".join(
        f'<tr><th scope="row" class="text">{_e(r["item"])}</th>'
        f'<td class="kv">{fmt(r["value"], kind)}</td></tr>'
        for r, (_, _, kind) in zip(rows, pairs, strict=True)
    )
    return f'<div class="table-wrap"><table><tbody>{body}</tbody></table></div>'


def _img(b64: str | None, alt: str, caption: str = "") -> str:
    if not b64:
        return f'<p class="sup">{_e(alt)}: nothing to plot.</p>'
    cap = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{_e(alt)}" src="data:image/png;base64,{b64}">{cap}</figure>'


def _ul(items, cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f"<ul{c}>" + "".join(f"<li>{_e(i)}</li>" for i in items) + "</ul>"


# ----------------------------------------------------------------------------- sections
def _header(card: dict) -> str:
    checks = card.get("checks") or []
    n_pass = sum(1 for c in checks if c.get("passed"))
    ok = bool(card.get("passed"))
    verdict = f"Automatic checks: {n_pass} of {len(checks)} passed. " + (
        "Ready for a reviewer to complete the manual checklist."
        if ok
        else "Not ready for promotion: see the reviewer checklist."
    )
    parts = [f"<h1>{_e(card.get('title'))}</h1>"]
    m = card.get("model") or {}
    meta = [f"model {m.get('name')}"]
    for key, label in (
        ("estimator", "estimator"),
        ("calibration", "calibration"),
        ("contract_version", "data contract"),
        ("model_spec_sha256", "spec sha256"),
    ):
        if m.get(key):
            val = str(m[key])
            meta.append(f"{label} {val[:12] if 'sha' in key else val}")
    meta.append(f"generated {card.get('generated')}")
    parts.append(f'<p class="meta">{_e(" | ".join(meta))}</p>')
    if m.get("description"):
        parts.append(f"<p>{_e(m['description'])}</p>")
    if card.get("synthetic"):
        parts.append(
            '<p class="banner"><strong>Synthetic data.</strong> Every number in this card '
            "comes from simulated children; it says nothing about real performance.</p>"
        )
    parts.append(f'<p class="verdict {"ok" if ok else "no"}">{_e(verdict)}</p>')
    parts.append(
        '<p class="banner">A score is decision support for a practitioner who reviews '
        "every flag. It is never an eligibility decision about a child.</p>"
    )
    nav = "".join(f'<li><a href="#{sid}">{_e(t)}</a></li>' for sid, t in _SECTIONS)
    parts.append(f"<nav><ol>{nav}</ol></nav>")
    return "\n".join(parts)


def _use(card: dict) -> str:
    u = card.get("intended_use") or {}
    return (
        "<h3>Intended use</h3>"
        + _ul(u.get("intended") or [])
        + "<h3>Out of scope</h3>"
        + _ul(u.get("out_of_scope") or [])
    )


def _data(card: dict) -> str:
    d = card.get("data_summary") or {}
    out = [
        f"<p>Aggregates only; counts under {card.get('min_cell', 10)} children read "
        f"&quot;{_e(SMALL)}&quot;. No child-level row is shown.</p>"
    ]
    tr = d.get("training") or {}
    if tr:
        out.append("<h3>Training and calibration data</h3>")
        out.append(_kv([(k.replace("_", " "), v, "num") for k, v in tr.items()]))
    ev = d.get("evaluation") or {}
    if ev:
        out.append("<h3>Evaluation cohort</h3>")
        out.append(
            _kv(
                [
                    ("children", ev.get("n"), "int"),
                    ("later identified", ev.get("n_positive"), "int"),
                    ("base rate", ev.get("prevalence"), "pct"),
                ]
            )
        )
    g = d.get("given") or {}
    simple = [
        (k.replace("_", " "), g[k], "pct" if k == "prevalence" else "num")
        for k in (
            "source",
            "extract_date",
            "n_children",
            "n_positive",
            "prevalence",
            "as_of_dates",
            "date_range",
            "notes",
        )
        if k in g
    ]
    if simple:
        out.append("<h3>Data used</h3>")
        out.append(
            _kv(
                [
                    (
                        k,
                        v if not isinstance(v, dict) else " to ".join(str(x) for x in v.values()),
                        kind,
                    )
                    for k, v, kind in simple
                ]
            )
        )
    if g.get("tables"):
        out.append("<h3>Tables</h3>")
        out.append(
            _table(
                g["tables"],
                [
                    ("table", "table", "text"),
                    ("rows", "rows", "int"),
                    ("children", "children", "int"),
                    ("from", "from", "text"),
                    ("to", "to", "text"),
                ],
            )
        )
    if g.get("missingness"):
        rows = sorted(
            ({"feature": k, "missing": v} for k, v in g["missingness"].items()),
            key=lambda r: -(r["missing"] or 0),
        )
        out.append("<h3>Missing values (share of children)</h3>")
        out.append(_table(rows, [("feature", "feature", "text"), ("missing", "missing", "pct")]))
    return "\n".join(out)


def _outcome(card: dict) -> str:
    o = card.get("outcome") or {}
    ages = o.get("population_age_months")
    pairs = [
        ("outcome", o.get("outcome"), "text"),
        ("horizon (months)", o.get("horizon_months"), "int"),
    ]
    if ages:
        pairs.append(("population age (months)", f"{ages[0]} to {ages[1]}", "text"))
    m = card.get("model") or {}
    if m.get("capacity_policy"):
        pairs.append(
            ("capacity policy", f"{m['capacity_policy']} {m.get('capacity_value')}", "text")
        )
    return f'<p class="lead">{_e(o.get("text", ""))}</p>' + _kv(
        [(k, "n/a" if v is None else v, kind) for k, v, kind in pairs]
    )


def _features(card: dict) -> str:
    f = card.get("features") or {}
    labels = f.get("labels") or {}
    used = [{"feature": c, "label": labels.get(c, c)} for c in f.get("used") or []]
    out = [
        f"<p>{len(used)} features used by the model.</p>",
        _table(used, [("feature", "feature", "text"), ("label", "plain-English label", "wrap")]),
    ]
    prot = f.get("protected") or []
    out.append(
        "<p><strong>Protected characteristics</strong> ("
        + _e(", ".join(prot) or "none")
        + ") are used only for the fairness audit"
        + (
            ", <strong>and the model spec also allows them as features</strong>."
            if f.get("use_protected")
            else ", never as model features."
        )
        + "</p>"
    )
    if f.get("excluded_by_spec"):
        out.append(
            "<p>Excluded by the model spec: " + _e(", ".join(f["excluded_by_spec"])) + ".</p>"
        )
    if f.get("not_used"):
        out.append("<p>Pipeline columns not used: " + _e(", ".join(f["not_used"])) + ".</p>")
    return "\n".join(out)


def _explanation(card: dict) -> str:
    from ._plots import shapes_png

    x = card.get("explanation")
    if not x:
        return '<p class="sup">No global explanation was given.</p>'
    if x.get("error"):
        return f'<p class="sup">{_e(x["error"])}</p>'
    unit = x.get("unit", "log-odds")
    out = [
        f"<p>How each feature moves the risk ({_e(unit)}; red raises risk, blue lowers it), "
        "for the most important features. Figures for bins that would reveal 1 to 9 children "
        "are not shown.</p>",
        _table(
            x.get("terms", [])[:15],
            [
                ("label", "feature", "wrap"),
                ("importance", "importance", "num"),
                ("protected", "protected", "num"),
            ],
        ),
    ]
    if any(t.get("pair") for t in x.get("terms", [])):
        out.append(
            '<p>Terms whose feature reads "A x B" are pairs: what two features add together, '
            "beyond their own shapes. Their 2-D tables are in the explanation logged with the "
            "model (<code>explain_global</code>); the charts below show single features.</p>"
        )
    labels = {t.get("term"): t.get("label") for t in x.get("terms", [])}
    panels = [(str(labels.get(term, term)), rows) for term, rows in (x.get("shapes") or {}).items()]
    out.append(_img(shapes_png(panels), "shape functions of the most important features"))
    return "\n".join(out)


def _metrics(card: dict) -> str:
    h = (card.get("metrics") or {}).get("headline") or {}
    if not h:
        return '<p class="sup">No evaluation was given.</p>'
    pairs = [
        ("children evaluated", h.get("n"), "int"),
        ("later identified", h.get("n_positive"), "int"),
        ("base rate", h.get("prevalence"), "pct"),
        ("mean predicted risk", h.get("mean_risk"), "pct"),
        ("ROC AUC", h.get("roc_auc"), "num"),
        ("average precision", h.get("average_precision"), "num"),
        ("Brier score", h.get("brier"), "num"),
        ("expected calibration error", h.get("ece"), "num"),
        ("capacity k (children flagged)", h.get("k"), "int"),
        ("later identified among flagged", h.get("true_positives"), "int"),
        ("precision at k", h.get("precision_at_k"), "pct"),
        ("recall at k", h.get("recall_at_k"), "pct"),
        ("lift at k", h.get("lift_at_k"), "num"),
    ]
    out = [_kv([p for p in pairs if p[0] and (p[1] is not None or p[0] in ("ROC AUC",))])]
    b = card.get("baselines")
    if b:
        beats = b.get("beats_best_rule")
        word = (
            ("beats" if beats else "does not beat")
            if beats is not None
            else "cannot be compared with"
        )
        out.append(
            f'<p class="lead"><strong>The model {word} the best simple rule'
            + (f" ({_e(b.get('best_rule'))})" if b.get("best_rule") else "")
            + " at the same capacity.</strong></p>"
        )
        if b.get("summary"):
            out.append(f"<p>{_e(b['summary'])}</p>")
        out.append(
            _table(
                b.get("table") or [],
                [
                    ("baseline", "baseline", "text"),
                    ("k", "k", "int"),
                    ("true_positives", "found", "int"),
                    ("precision", "precision", "pct"),
                    ("recall", "recall", "pct"),
                    ("lift", "lift", "num"),
                    ("description", "description", "wrap"),
                ],
            )
        )
    else:
        out.append('<p class="sup">No comparison with simple rules was given.</p>')
    return "\n".join(out)


def _calibration(card: dict) -> str:
    from ._plots import calibration_png

    rows = card.get("calibration") or []
    if not rows:
        return '<p class="sup">No calibration table was given.</p>'
    return _img(
        calibration_png(rows),
        "calibration plot",
        "Points on the dashed line mean predicted risk matches the observed rate.",
    ) + _table(
        rows,
        [
            ("bin", "bin", "int"),
            ("n", "children", "int"),
            ("n_events", "identified", "int"),
            ("mean_predicted", "mean predicted", "pct"),
            ("observed_rate", "observed", "pct"),
            ("ci_low", "95% low", "pct"),
            ("ci_high", "95% high", "pct"),
        ],
    )


_SHOW_SHARES = {1, 2, 5, 10, 15, 20, 25, 30}


def _capacity(card: dict) -> str:
    from ._plots import capacity_png

    c = card.get("capacity") or {}
    at = c.get("at_k") or {}
    out = []
    if at:
        out.append(
            f'<p class="lead">Flagging {fmt(at.get("k"), "int")} children '
            f"({fmt(at.get('share'), 'pct')} of the cohort) finds "
            f"{fmt(at.get('true_positives'), 'int')} of the "
            f"{fmt(at.get('n_positive'), 'int')} later identified (recall "
            f"{fmt(at.get('recall'), 'pct')}); {fmt(at.get('precision'), 'pct')} of "
            f"flagged children were later identified (lift {fmt(at.get('lift'))}).</p>"
        )
    curve = c.get("curve") or []
    out.append(_img(capacity_png(curve, at.get("share")), "capacity curve"))
    rows = [
        r
        for r in curve
        if isinstance(r.get("share"), int | float) and round(100 * r["share"]) in _SHOW_SHARES
    ]
    out.append(
        _table(
            rows or curve,
            [
                ("share", "flagged share", "pct"),
                ("k", "children flagged", "int"),
                ("true_positives", "found", "int"),
                ("precision", "precision", "pct"),
                ("recall", "recall", "pct"),
                ("lift", "lift", "num"),
            ],
            "Selected capacities; the JSON file has the full table.",
        )
    )
    return "\n".join(out)


def _lead_time(card: dict) -> str:
    lt = card.get("lead_time")
    if not lt:
        return '<p class="sup">No lead-time data (as-of and identification dates) was given.</p>'
    s = lt.get("summary") or {}
    out = [
        f'<p class="lead">Flagged children who were later identified were flagged a median '
        f"of {fmt(s.get('median'))} months before identification (quartiles "
        f"{fmt(s.get('q1'))} to {fmt(s.get('q3'))}; {fmt(s.get('n'), 'int')} children).</p>"
    ]
    out.append(
        _table(
            lt.get("table") or [],
            [
                ("interval", "months after as-of date", "text"),
                ("n", "children", "int"),
                ("share", "share", "pct"),
            ],
        )
    )
    return "\n".join(out)


_GROUP_COLS = [
    ("feature", "feature", "text"),
    ("group", "group", "text"),
    ("n", "children", "int"),
    ("prevalence", "identified", "pct"),
    ("flag_rate", "flagged", "pct"),
    ("fnr", "missed (FNR)", "pct"),
    ("recall", "recall", "pct"),
    ("precision", "precision", "pct"),
    ("fpr", "FPR", "pct"),
    ("mean_risk", "mean risk", "pct"),
    ("observed_rate", "observed", "pct"),
    ("calibration_gap", "risk minus observed", "signed"),
]


def _fairness(card: dict) -> str:
    from ._plots import fnr_png

    f = card.get("fairness")
    if not f:
        return '<p class="sup">No group audit was given.</p>'
    band = f.get("band") or [0.8, 1.25]
    out = [
        f'<p class="lead"><strong>Headline: who is missed.</strong> The false negative rate '
        f"(FNR) is the share of children later identified whom the model did not flag. Each "
        f"group's FNR is compared with its reference group; ratios outside {band[0]} to "
        f"{band[1]} need an explanation.</p>"
    ]
    if f.get("caveat"):
        out.append(f'<p class="banner">{_e(f["caveat"])}</p>')
    d = f.get("disparity") or []
    out.append(_img(fnr_png(d, tuple(band)), "false negative rate ratios"))
    out.append(
        _table(
            d,
            [
                ("feature", "feature", "text"),
                ("group", "group", "text"),
                ("reference", "reference", "text"),
                ("value", "FNR", "pct"),
                ("reference_value", "reference FNR", "pct"),
                ("ratio", "ratio", "num"),
                ("ratio_low", "95% low", "num"),
                ("ratio_high", "95% high", "num"),
                ("within_band", "within band", "num"),
            ],
        )
    )
    out.append(
        f"<h3>By group</h3><p>Values computed on fewer than {f.get('min_cell', 10)} "
        "children read &quot;suppressed&quot; (with a second cell hidden where needed so "
        "the first cannot be worked out).</p>"
    )
    out.append(_table(f.get("by_group") or [], _GROUP_COLS))
    return "\n".join(out)


def _backtest(card: dict) -> str:
    from ._plots import backtest_png

    bt = card.get("backtest")
    if not bt:
        return '<p class="sup">No temporal backtest was given.</p>'
    rows = bt.get("by_year") or []
    cols = [
        ("test_year", "test year", "text"),
        ("train_years", "trained on", "text"),
        ("n_test", "children", "int"),
        ("prevalence", "base rate", "pct"),
        ("roc_auc", "ROC AUC", "num"),
        ("average_precision", "AP", "num"),
        ("ece", "ECE", "num"),
        ("recall_at_k", "recall at k", "pct"),
    ]
    cols = [c for c in cols if any(c[0] in r for r in rows)]
    return (
        "<p>Trained on earlier as-of years and tested on the next, as the model is used.</p>"
        + _img(backtest_png(rows), "backtest by year")
        + _table(rows, cols)
        + _table(
            bt.get("spread") or [],
            [
                ("metric", "metric", "text"),
                ("mean", "mean", "num"),
                ("sd", "sd", "num"),
                ("min", "min", "num"),
                ("max", "max", "num"),
                ("n_years", "years", "int"),
            ],
            "Spread across test years.",
        )
    )


def _limitations(card: dict) -> str:
    return _ul(card.get("limitations") or [])


def _checklist(card: dict) -> str:
    blocks = []
    for c in card.get("checks") or []:
        ok = bool(c.get("passed"))
        v, t = c.get("value"), c.get("threshold")
        shown = c.get("value_text") or ("n/a" if v in (None, []) else fmt(v))
        nums = f"value {_e(shown)}"
        if c.get("rule"):
            nums += f"; passes when {_e(c['rule'])}"
        elif t not in (None, [], True):
            nums += f", threshold {fmt(t)}"
        blocks.append(
            f'<li><span class="{"pass" if ok else "fail"}">{"PASS" if ok else "FAIL"}'
            f'</span> <strong>{_e(c.get("name"))}</strong> <span class="meta">'
            f"({nums})</span><br>{_e(c.get('detail', ''))}</li>"
        )
    manual = [it.get("item") for it in card.get("manual_checklist") or []]
    return (
        "<h3>Automatic checks</h3><p>The registry refuses promotion while any automatic "
        "check fails.</p>"
        + '<ul class="checks">'
        + "".join(blocks)
        + "</ul>"
        + "<h3>To confirm by hand</h3>"
        + _ul(manual, "box")
    )


_RENDER = {
    "use": _use,
    "data": _data,
    "outcome": _outcome,
    "features": _features,
    "explanation": _explanation,
    "metrics": _metrics,
    "calibration": _calibration,
    "capacity": _capacity,
    "lead-time": _lead_time,
    "fairness": _fairness,
    "backtest": _backtest,
    "limitations": _limitations,
    "checklist": _checklist,
}


def render_html(card: dict) -> str:
    """The whole page as one string."""
    sections = [
        f'<section id="{sid}"><h2>{i}. {_e(title)}</h2>{_RENDER[sid](card)}</section>'
        for i, (sid, title) in enumerate(_SECTIONS, start=1)
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en-GB"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{_e(card.get('title'))}</title><style>{_CSS}</style></head>"
        f"<body><main>{_header(card)}\n" + "\n".join(sections) + "\n</main></body></html>\n"
    )
