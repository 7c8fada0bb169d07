"""Features a model leaves out (issue 19): process features by role, others by name, with
the reason, and the card's "Features left out" block."""

from __future__ import annotations

import json
import textwrap

import pytest

from send_early import SpecError
from send_early.features import feature_roles
from send_early.model import load_model_spec
from send_early.report import build_model_card
from send_early.report._example import example_inputs

BASE = (
    '[model]\nname = "m"\noutcome = "any_support"\nhorizon_months = 24\n'
    "population_age_months = [24, 120]\n"
)


def write(tmp_path, features: str):
    p = tmp_path / "m.toml"
    p.write_text(BASE + "[features]\n" + textwrap.dedent(features))
    return p


def test_default_model_leaves_out_every_process_feature_and_raw_attainment():
    spec = load_model_spec("default")
    process = {n for n, r in feature_roles("default").items() if r == "process"}
    assert spec.exclude_roles == ("process",) and process
    assert process <= set(spec.exclude) == set(spec.left_out)
    assert all(spec.left_out[n].startswith("role 'process': ") for n in process)
    assert "eyfsp_gld_standing is used instead" in spec.left_out["eyfsp_gld"]
    assert "phonics_mark" in spec.exclude and "phonics_mark_standing" not in spec.exclude


def test_every_model_spec_leaves_out_process_features_unless_it_says_so(tmp_path):
    process = {n for n, r in feature_roles("default").items() if r == "process"}
    assert process <= set(load_model_spec("scorecard").exclude)
    spec = load_model_spec(write(tmp_path, 'exclude = ["imd_decile"]\n'))
    assert set(spec.exclude) == process | {"imd_decile"}
    assert spec.left_out["imd_decile"] == "left out by the model spec"
    spec = load_model_spec(write(tmp_path, "exclude_roles = []\n"))
    assert spec.exclude == () and spec.left_out == {}


@pytest.mark.parametrize(
    ("features", "match"),
    [
        ('exclude_roles = ["noise"]\n', r"\[features\] exclude_roles must list roles of need"),
        (
            'exclude = ["no_such"]\n',
            r"\[features\] exclude names features .* does not have: no_such",
        ),
        ("exclude = 3\n", r"\[features\] exclude must be a list of names or a table"),
    ],
)
def test_bad_exclusions_are_spec_errors(tmp_path, features, match):
    with pytest.raises(SpecError, match=match):
        load_model_spec(write(tmp_path, features))


def test_card_lists_the_features_left_out_with_why(tmp_path):
    kw = example_inputs(n=1200, seed=2)
    kw.pop("ids")
    spec = load_model_spec("default")
    model = kw["model"]
    model.spec.left_out = dict(spec.left_out)  # the example's spec is a SimpleNamespace
    card = build_model_card(out_dir=tmp_path, **kw)
    data = json.loads(card.json_path.read_text())
    assert data["features"]["left_out"] == spec.left_out
    html = card.to_html()
    block = html[html.index("<h3>Features left out</h3>") :]
    assert ">referrals_ep_365d</td>" in block
    assert "a record of the identification process itself" in block
    # a spec without reasons writes no key (old cards read back unchanged)
    del model.spec.left_out
    data = build_model_card(out_dir=tmp_path / "b", **kw).to_dict()
    assert "left_out" not in data["features"]
