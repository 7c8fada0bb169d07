"""Pipeline specs: the shipped default, finding specs, and every validation error."""

from __future__ import annotations

import textwrap

import pytest

from send_early import SpecError
from send_early._resources import list_specs, spec_path
from send_early.features import ROLES, feature_roles, load_pipeline, parse_window
from send_early.schema import ASQ_DOMAINS

AGREED = [
    "age_months", "month_in_school_year", "summer_born", "gestation_weeks", "preterm", "birth_weight_g",
    "low_birth_weight", *ASQ_DOMAINS, *(f"{d}_below" for d in ASQ_DOMAINS), "asq_any_below_cutoff",
    "asq_review_missing", "eyfsp_gld", "eyfsp_comm_lang", "eyfsp_psed", "eyfsp_physical", "eyfsp_literacy",
    "eyfsp_maths", "phonics_mark", "phonics_met", "attendance_rate_3t", "unauth_absence_rate_3t",
    "attendance_trend", "persistent_absence", "suspensions_365d", "exclusion_days_365d",
    "permanent_exclusion_ever", "fsm_current", "fsm_ever", "eal", "imd_decile", "school_moves", "cin_ever",
    "cpp_ever", "cla_ever", "social_care_current", "days_since_social_care", "sex", "ethnicity",
    "months_known", *(f"{m}_standing" for m in (
        "eyfsp_gld", "eyfsp_comm_lang", "eyfsp_psed", "eyfsp_physical", "eyfsp_literacy",
        "eyfsp_maths", "phonics_mark",
    )),
]  # fmt: skip

HEAD = """
name = "t"
version = "0"
description = "test spec"
[population]
min_age_months = 0
max_age_months = 200
"""


def write_spec(tmp_path, body: str, name: str = "t.toml"):
    p = tmp_path / name
    p.write_text(HEAD + textwrap.dedent(body))
    return p


def test_default_has_the_agreed_names():
    spec = load_pipeline("default")
    missing = [n for n in AGREED if n not in spec.feature_names]
    assert missing == []
    refs = [n for n in spec.feature_names if n.startswith("referrals_")]
    assert len(refs) == 6 and all(n.endswith("_365d") for n in refs)
    assert spec.protected == ["sex", "ethnicity"]
    assert (spec.min_age_months, spec.max_age_months) == (12, 132)
    below = spec.feature("asq_communication_below")
    assert (below.aggregation, below.cutoff_table) == ("below_cutoff", "asq3")
    assert below.interval_column == "asq_interval_months"
    assert spec.feature("phonics_met").cutoff == 32
    assert all(label.strip() for label in spec.labels().values())
    assert set(spec.labels()) == set(spec.columns)


def test_spec_files_are_found_by_name_and_path(tmp_path):
    assert "default" in list_specs("pipelines")
    p = spec_path("pipelines", "default")
    assert p.is_file() and load_pipeline(p).name == "default"
    assert load_pipeline(str(p)).name == "default"
    spec = load_pipeline("default")
    assert load_pipeline(spec) is spec
    with pytest.raises(ValueError, match="kind must be one of"):
        list_specs("nonsense")


def test_unknown_pipeline_lists_available():
    with pytest.raises(SpecError, match=r"'nope' is unknown; available: .*default"):
        load_pipeline("nope")
    with pytest.raises(SpecError, match="was not found"):
        load_pipeline("/no/such/file.toml")


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (
            'name = "x"\nlabel = "X"\ntable = "nosuch"\naggregation = "count"',
            r"table must be one of .*'nosuch'",
        ),
        (
            'name = "x"\nlabel = "X"\ntable = "census"\ncolumn = "nosuch"\naggregation = "latest"',
            r"column must be a column of census .*'nosuch'",
        ),
        (
            'name = "x"\nlabel = "X"\ntable = "census"\naggregation = "median"',
            r"aggregation must be one of .*'median'",
        ),
        (
            'name = "x"\nlabel = "X"\ntable = "census"\naggregation = "count"\nwindow = "3 fortnights"',
            r"a window must be 'all' or a positive number",
        ),
        (
            'name = "x"\nlabel = "X"\ntable = "exclusions"\naggregation = "count"\nfilter = { category = "detention" }',
            r"filter category must use codes suspension, permanent",
        ),
        (
            'name = "x"\nlabel = ""\ntable = "census"\naggregation = "count"',
            r"label must be a non-empty",
        ),
        (
            'name = "X-1"\nlabel = "X"\ntable = "census"\naggregation = "count"',
            r"name must be lower-case",
        ),
        (
            'name = "x"\nlabel = "X"\ntable = "census"\naggregation = "count"\ncolour = "red"',
            r"unknown key 'colour'",
        ),
        (
            'name = "x"\nlabel = "X"\naggregation = "threshold"\nsource = "y"\nop = "<"\ncutoff = 1',
            r"source must name a feature defined above it",
        ),
        (
            'name = "x"\nlabel = "X"\ntable = "census"\naggregation = "latest"\ncolumn = "eal"\ndtype = "category"',
            r"dtype 'category' needs aggregation 'latest' of one code column",
        ),
        (
            'name = "x"\nlabel = "X"\ntable = "children"\naggregation = "derive"\ntransform = "shoe_size"',
            r"transform must be one of age_months",
        ),
        (
            'name = "x"\nlabel = "X"\ntable = "assessments"\naggregation = "latest"\ncolumn = "value"\n'
            'missing = "not_assessed"',
            r"needs due_year_group",
        ),
    ],
)
def test_bad_feature_raises_spec_error_naming_file_feature_and_line(tmp_path, body, match):
    p = write_spec(tmp_path, "[[feature]]\n" + body + "\n")
    with pytest.raises(SpecError, match=match) as info:
        load_pipeline(p)
    msg = str(info.value)
    assert "t.toml" in msg
    assert "'x'" in msg or "'X-1'" in msg
    assert "t.toml:9 feature" in msg  # the feature's name line


def test_duplicate_names_and_every_problem_at_once(tmp_path):
    body = """
    [[feature]]
    name = "a"
    label = "A"
    role = "need"
    table = "census"
    aggregation = "count"

    [[feature]]
    name = "a"
    label = "A again"
    role = "need"
    table = "census"
    aggregation = "count"

    [[feature]]
    name = "b"
    label = "B"
    role = "need"
    table = "census"
    aggregation = "sum"
    """
    with pytest.raises(SpecError) as info:
        load_pipeline(write_spec(tmp_path, body))
    msg = str(info.value)
    assert "2 problem(s)" in msg
    assert "names must be unique; 'a' is defined twice" in msg
    assert "aggregation 'sum' needs a column" in msg


def test_bad_toml_and_bad_population(tmp_path):
    p = tmp_path / "broken.toml"
    p.write_text("name = \n")
    with pytest.raises(SpecError, match="must be valid TOML"):
        load_pipeline(p)
    p = tmp_path / "pop.toml"
    p.write_text(
        HEAD.replace("max_age_months = 200", "max_age_months = -1")
        + '[[feature]]\nname = "a"\nlabel = "A"\nrole = "need"\ntable = "census"\naggregation = "count"\n'
    )
    with pytest.raises(SpecError, match="0 <= min < max"):
        load_pipeline(p)


@pytest.mark.parametrize(
    ("text", "n", "unit"),
    [
        ("365d", 365, "days"),
        ("2w", 14, "days"),
        ("24m", 24, "months"),
        ("2 years", 24, "months"),
        ("3 terms", 3, "terms"),
        ("all", 0, "all"),
        ("ALL", 0, "all"),
    ],
)
def test_parse_window(text, n, unit):
    w = parse_window(text)
    assert (w.n, w.unit) == (n, unit)


@pytest.mark.parametrize("text", ["0d", "-3d", "3", "d", "3 fortnights", "", 5])
def test_parse_window_rejects(text):
    with pytest.raises(ValueError, match="window must"):
        parse_window(text)


def test_every_default_feature_has_a_role_and_process_ones_are_the_agreed():
    roles = feature_roles("default")
    assert roles == load_pipeline("default").roles() and set(roles.values()) == set(ROLES)
    assert sorted(n for n, r in roles.items() if r == "process") == [
        "exclusion_days_365d", "permanent_exclusion_ever", "referrals_early_help_365d",
        "referrals_ep_365d", "suspensions_365d",
    ]  # fmt: skip
    for n in ("imd_decile", "month_in_school_year", "summer_born", "age_months", "cin_ever"):
        assert roles[n] == "context", n
    for n in ("asq_communication_below", "eyfsp_gld_standing", "phonics_mark_standing"):
        assert roles[n] == "need", n
    assert load_pipeline("default").feature("school_moves").role == "context"


@pytest.mark.parametrize(
    ("role_line", "match"),
    [
        ("", r"t\.toml:\d+ feature 'x': role must be one of need, context, process.*found None"),
        ('role = "outcome"\n', r"role must be one of need, context, process.*found 'outcome'"),
    ],
)
def test_role_missing_or_unknown_is_a_spec_error(tmp_path, role_line, match):
    body = (
        '[[feature]]\nname = "x"\nlabel = "X"\n'
        + role_line
        + 'table = "census"\naggregation = "count"\n'
    )
    with pytest.raises(SpecError, match=match):
        load_pipeline(write_spec(tmp_path, body))


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (
            'table = "health_reviews"\ncolumn = "asq_communication"\naggregation = "below_cutoff"\n'
            'cutoff_table = "asq4"\ninterval_column = "asq_interval_months"',
            "cutoff_table must be one of asq3; found 'asq4'",
        ),
        (
            'table = "health_reviews"\ncolumn = "asq_communication"\naggregation = "below_cutoff"\n'
            'cutoff_table = "asq3"\ninterval_column = "review_type2"',
            "interval_column must be a column of health_reviews",
        ),
        (
            'table = "health_reviews"\ncolumn = "review_date"\naggregation = "below_cutoff"\n'
            'cutoff_table = "asq3"\ninterval_column = "asq_interval_months"',
            "column must be a domain of cut-off table 'asq3'",
        ),
        (
            'table = "census"\ncolumn = "school_id"\naggregation = "standing"',
            "standing reads the assessments table",
        ),
        (
            'table = "assessments"\ncolumn = "value"\naggregation = "standing"\nmin_group = 1',
            "min_group must be a whole number of at least 2; found 1",
        ),
        (
            'table = "census"\ncolumn = "school_id"\naggregation = "moves"\nnormal_year_groups = "3"',
            "normal_year_groups must be a list of year groups",
        ),
        ('table = "census"\naggregation = "months_known"', "takes no table"),
    ],
)
def test_new_kinds_check_their_keys(tmp_path, body, match):
    text = '[[feature]]\nname = "x"\nlabel = "X"\nrole = "need"\n' + body + "\n"
    with pytest.raises(SpecError, match=match):
        load_pipeline(write_spec(tmp_path, text))
