"""The model card as a typed object: built in memory, JSON out and back, versioned schema,
templates shipped with the package, every value escaped."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import tomllib
from importlib.resources import files
from pathlib import Path

import pytest

from send_early.report import (
    SCHEMA_VERSION,
    Calibration,
    Check,
    Explanation,
    Fairness,
    Metrics,
    ModelCard,
    build_model_card,
    card_json_schema,
    card_summary,
)
from send_early.report._example import example_inputs
from send_early.report._render import COLUMNS, SECTIONS

ROOT = Path(__file__).resolve().parents[2]


def later_inputs() -> dict:
    """The card's inputs from after the evaluation: registry entry, outcome log summary and
    the capacity policies by setting (small made-up tables of the right shape)."""
    import numpy as np
    import pandas as pd

    from send_early.evaluation import compare_capacity_policies

    rng = np.random.default_rng(0)
    risk = rng.random(2000)
    y = rng.random(2000) < risk / 3
    where = rng.choice([f"school_{i:02d}" for i in range(8)] + ["not on roll"], 2000)
    outcomes = pd.DataFrame(
        {
            "model_name": "m",
            "model_version": "1",
            "outcome": ["reviewed", "sen_support_started", "all"],
            "text": ["Reviewed", "SEN support started", "All flags"],
            "flags": [40, "<10", 52],
            "share": [0.77, None, 1.0],
            "median_days": [30.0, np.nan, 28.0],
            "suppressed": [False, True, False],
        }
    )
    return {
        "registry": {
            "name": "risk",
            "version": "3",
            "run_id": "0123456789abcdef0123456789abcdef",
            "approvals": [
                {
                    "alias": "champion",
                    "reviewer": "jsmith",
                    "timestamp": "2026-01-10T10:00:00",
                    "forced": "false",
                    "note": "agreed at panel",
                },
            ],
        },  # fmt: skip
        "outcomes_after_flags": outcomes,
        "capacity_policies": {
            "k": 100,
            "summary": compare_capacity_policies(risk, y, where, k=100),
            "by_setting": compare_capacity_policies(risk, y, where, k=100, by_setting=True),
        },
    }


@pytest.fixture(scope="module")
def example():
    kw = example_inputs(n=1500, seed=5)
    kw.pop("ids")
    return kw | later_inputs()


@pytest.fixture(scope="module")
def card(example):
    return build_model_card(**example)


def _sections_of(html: str) -> dict[str, str]:
    return dict(re.findall(r'<section id="([^"]+)">(.*?)</section>', html, re.S))


# --------------------------------------------------------------------------- in memory
def test_build_writes_nothing_until_saved(example, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    card = build_model_card(**example)
    assert card.html_path is None and card.json_path is None
    assert not list(tmp_path.iterdir())
    out = tmp_path / "cards"
    assert card.save(out) is card
    assert sorted(p.name for p in out.iterdir()) == ["default_card.html", "default_card.json"]
    assert card.json_path.read_text(encoding="utf-8") == card.to_json()
    assert card.html_path.read_text(encoding="utf-8") == card.to_html()


def test_sections_are_typed_and_read_only(card):
    assert isinstance(card.metrics, Metrics) and isinstance(card.fairness, Fairness)
    assert isinstance(card.calibration, Calibration) and isinstance(card.explanation, Explanation)
    assert all(isinstance(c, Check) for c in card.checks)
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.metrics.headline = {}
    with pytest.raises(AttributeError):
        card.fairness.nope  # noqa: B018  a misspelt section field fails, never reads as empty
    # the checks still read like the dicts they were
    c = card.checks[0]
    assert c["name"] == c.name and c.get("passed") is c.passed and dict(c) == c.to_dict()
    assert card.passed == all(c.passed for c in card.checks)


def test_json_round_trip_is_exact(card):
    data = json.loads(card.to_json())
    assert data == card.to_dict()
    assert data["schema_version"] == SCHEMA_VERSION and list(data)[:2] == [
        "schema",
        "schema_version",
    ]
    again = ModelCard.from_dict(data)
    assert again == card and again.to_dict() == data
    assert again.to_html() == card.to_html()


def test_card_without_optional_sections_round_trips():
    from types import SimpleNamespace

    model = SimpleNamespace(feature_names_=["age_months"], metadata_={"n_train": 500})
    card = build_model_card(model, {}, None)
    data = card.to_dict()
    assert data["metrics"] == {} and data["calibration"] == []
    assert data["fairness"] is None and data["backtest"] is None and data["explanation"] is None
    assert data["registry"] is None and data["outcomes_after_flags"] is None
    assert "policies" not in data["capacity"]
    assert "given" not in data["data_summary"] and "evaluation" not in data["data_summary"]
    assert ModelCard.from_dict(data) == card
    for text in (
        "No evaluation was given.",
        "No group audit was given.",
        "No temporal backtest",
        "Not yet registered",
        "No outcome log was given",
    ):
        assert text in card.to_html()


# --------------------------------------------------------------------------- reading back
@pytest.mark.parametrize("version", [3, 0, "2", True, 1.5, None])
def test_unknown_schema_version_is_refused(card, tmp_path, version):
    data = card.to_dict() | {"schema_version": version}
    if version is None:
        data |= {"schema": "send_early.model_card/3"}
    path = tmp_path / "card.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="must have schema_version 2"):
        ModelCard.from_dict(data)
    with pytest.raises(ValueError, match="must have schema_version 2"):
        ModelCard.read_json(path)
    with pytest.raises(ValueError, match="must have schema_version 2"):
        card_summary(path)
    with pytest.raises(ValueError, match="must have schema_version 2"):
        card_summary(data)


def test_card_written_before_schema_version_still_reads(card):
    data = card.to_dict()
    del data["schema_version"]  # cards written before the key existed carry only "schema"
    assert ModelCard.from_dict(data) == card
    assert card_summary(data) == card_summary(card)


def test_reader_names_every_problem(card):
    data = card.to_dict()
    data["leadtime"] = data.pop("lead_time")
    data["fairness"]["bygroup"] = data["fairness"].pop("by_group")
    with pytest.raises(ValueError) as err:
        ModelCard.from_dict(data)
    msg = str(err.value)
    assert "missing lead_time" in msg and "unknown leadtime" in msg
    assert "fairness must have the keys" in msg and "missing by_group" in msg
    bad = card.to_dict() | {"passed": not card.passed}
    with pytest.raises(ValueError, match="passed must agree with its checks"):
        ModelCard.from_dict(bad)


# --------------------------------------------------------------------------- JSON schema
_ANNOTATIONS = {"$schema", "$id", "$defs", "title", "description"}
_TYPES = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def validate(value, schema: dict, root: dict, where: str = "$") -> list[str]:
    """Errors of ``value`` against the subset of JSON Schema the card schema uses
    (jsonschema is not a dependency). A keyword outside the subset is an error, so the
    schema cannot say more than this check enforces."""
    unknown = (
        set(schema)
        - _ANNOTATIONS
        - {
            "$ref",
            "type",
            "const",
            "enum",
            "anyOf",
            "properties",
            "required",
            "additionalProperties",
            "items",
            "minItems",
            "maxItems",
            "minimum",
        }
    )
    errors = [f"{where}: schema keyword(s) {sorted(unknown)} not checked"] if unknown else []
    if "$ref" in schema:
        target = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        errors += validate(value, target, root, where)
    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        if not any(_TYPES[t](value) for t in types):
            return [*errors, f"{where}: {type(value).__name__} is not {'/'.join(types)}"]
    if "const" in schema and (value != schema["const"] or type(value) is not type(schema["const"])):
        errors.append(f"{where}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in {schema['enum']}")
    if "anyOf" in schema and not any(not validate(value, s, root, where) for s in schema["anyOf"]):
        errors.append(f"{where}: matches none of anyOf")
    if "minimum" in schema and _TYPES["number"](value) and value < schema["minimum"]:
        errors.append(f"{where}: {value} below {schema['minimum']}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        errors += [f"{where}: missing {k}" for k in schema.get("required", []) if k not in value]
        extra = schema.get("additionalProperties", True)
        for k, v in value.items():
            if k in props:
                errors += validate(v, props[k], root, f"{where}.{k}")
            elif extra is False:
                errors.append(f"{where}: unknown key {k}")
            elif isinstance(extra, dict):
                errors += validate(v, extra, root, f"{where}.{k}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", 1e9):
            errors.append(f"{where}: {len(value)} items")
        if "items" in schema:
            for i, v in enumerate(value):
                errors += validate(v, schema["items"], root, f"{where}[{i}]")
    return errors


def test_example_card_json_follows_the_shipped_schema(card):
    schema = card_json_schema()
    assert schema["properties"]["schema_version"]["const"] == SCHEMA_VERSION
    assert set(schema["required"]) == set(card.to_dict())
    assert validate(json.loads(card.to_json()), schema, schema) == []


def test_card_with_null_sections_follows_the_schema():
    from types import SimpleNamespace

    model = SimpleNamespace(feature_names_=["age_months"], metadata_={"n_train": 500})
    data = build_model_card(model, {"headline": {"n": 800, "ece": 0.01}}, None).to_dict()
    schema = card_json_schema()
    assert validate(data, schema, schema) == []


def test_schema_check_can_fail(card):
    schema = card_json_schema()
    data = card.to_dict()
    data["leadtime"] = data.pop("lead_time")
    data["fairness"]["by_group"][0]["n"] = "7"
    data["checks"][0]["passed"] = "yes"
    errors = validate(data, schema, schema)
    assert "$: missing lead_time" in errors and "$: unknown key leadtime" in errors
    assert any(e.startswith("$.fairness") for e in errors)
    assert "$.checks[0].passed: str is not boolean" in errors
    assert validate(1, {"maxProperties": 1}, {})[0].endswith("not checked")


# --------------------------------------------------------------------------- HTML
PAYLOAD = "<script>alert(1)</script>"


def _poison(value, key=None):
    """Every string of the card JSON with the payload appended."""
    if isinstance(value, dict):
        return {k: _poison(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_poison(v) for v in value]
    return value + PAYLOAD if isinstance(value, str) else value


def test_a_script_in_any_value_is_escaped_in_every_section(card):
    data = _poison(card.to_dict())
    data["schema"], data["generated"] = card.schema, card.generated
    # sections of numbers only: a string where a figure belongs
    data["calibration"][0]["n"] = PAYLOAD
    data["capacity"]["curve"][0]["k"] = PAYLOAD
    data["capacity"]["at_k"]["k"] = PAYLOAD
    data["features"]["labels"] = {c + PAYLOAD: v for c, v in data["features"]["labels"].items()}
    html = ModelCard.from_dict(data).to_html()
    assert "<script" not in html
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    sections = _sections_of(html)
    assert list(sections) == [sid for sid, _ in SECTIONS]
    for sid, body in sections.items():
        assert escaped in body, f"no escaped value in section {sid}"
    assert html.count(escaped) > 100
    head = html.split('<section id="use">')[0]
    assert f"<title>Model card: default (example, simulated numbers){escaped}</title>" in head


def test_every_table_column_reads_a_key_its_rows_have(card):
    # a renamed key would otherwise show as a column of "suppressed" or blanks
    d = card.to_dict()
    tables = {
        "tables": d["data_summary"]["given"]["tables"],
        "terms": d["explanation"]["terms"],
        "baselines": d["baselines"]["table"],
        "calibration": d["calibration"],
        "capacity": d["capacity"]["curve"],
        "lead_time": d["lead_time"]["table"],
        "disparity": d["fairness"]["disparity"],
        "by_group": d["fairness"]["by_group"],
        "backtest": d["backtest"]["by_year"],
        "spread": d["backtest"]["spread"],
        "calibration_by_year": d["backtest"]["by_year"],
        "approvals": d["registry"]["approvals"],
        "outcomes_after_flags": d["outcomes_after_flags"]["rows"],
        "capacity_policies": d["capacity"]["policies"]["summary"],
        "capacity_by_setting": d["capacity"]["policies"]["by_setting"],
    }
    built = {"missingness": ("feature", "missing"), "features": ("feature", "label")}
    # the example names no council; tests/report/test_card.py checks that table's keys
    elsewhere = {"calibration_by_council"}
    # the example's backtest has no recall_at_k column (fit_predict scores every child)
    optional = {("tables", "from"), ("tables", "to"), ("backtest", "recall_at_k")}
    assert set(tables) | set(built) | elsewhere == set(COLUMNS)
    for name, rows in tables.items():
        keys = set().union(*map(set, rows))
        missing = {c.key for c in COLUMNS[name]} - keys - {k for t, k in optional if t == name}
        assert not missing, f"table {name} reads keys its rows lack: {missing}"
    for name, keys in built.items():
        assert tuple(c.key for c in COLUMNS[name]) == keys


def test_templates_are_package_data_and_render_from_the_installed_package(tmp_path):
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = cfg["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["packages"] == ["send_early"] and "exclude" not in wheel
    deps = cfg["project"]["dependencies"]
    assert any(re.fullmatch(r"jinja2>=3\.1,<4", d) for d in deps)
    shipped = files("send_early.report")
    assert shipped.joinpath("card.schema.json").is_file()
    names = {p.name for p in shipped.joinpath("templates", "sections").iterdir()}
    sections = {f"{sid}.html.j2" for sid, _ in SECTIONS}
    assert sections <= names
    # every other template is a part that a section includes
    folder = shipped.joinpath("templates", "sections")
    included = " ".join(folder.joinpath(n).read_text(encoding="utf-8") for n in sections)
    assert all(f'"sections/{n}"' in included for n in names - sections), names - sections
    # a fresh interpreter outside the repository finds the templates through the package
    code = (
        "from types import SimpleNamespace\n"
        "import send_early.report as r\n"
        "m = SimpleNamespace(feature_names_=['a'], metadata_={})\n"
        "html = r.build_model_card(m, {}, None).to_html()\n"
        "assert '13. Limitations' in html and r.card_json_schema()['$id']\n"
        "print(r.__file__)"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().endswith("__init__.py")


def test_plot_labels_are_whole_and_years_plain(monkeypatch):
    """The backtest axis reads 2023, not '+2.02e3'; group names are wrapped, never cut."""
    from send_early.report import _plots

    figs = []
    monkeypatch.setattr(_plots, "_png", lambda fig: figs.append(fig) or "")
    _plots.backtest_png([{"test_year": 2023, "roc_auc": 0.71, "average_precision": 0.2}])
    ax = figs[-1].axes[0]
    figs[-1].canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2023"]
    assert ax.xaxis.get_offset_text().get_text() == ""
    row = {
        "feature": "imd_quintile",
        "group": "Q1 (most deprived)",
        "reference": "Q4",
        "ratio": 0.9,
    }
    _plots.fnr_png([row], (0.8, 1.25))
    label = figs[-1].axes[0].get_yticklabels()[0].get_text()
    assert label.replace("\n", " ") == "imd_quintile: Q1 (most deprived) vs Q4"


def test_lead_time_reads_to_the_tenth_of_a_month():
    from send_early.report._render import fmt

    assert str(fmt(8.854, "months")) == "8.9" and str(fmt(15.778, "months")) == "15.8"
