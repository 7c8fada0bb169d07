"""Shared fixtures: a tiny hand-made valid cohort (every contract table)."""

from __future__ import annotations

import pandas as pd
import pytest

from send_early import Tables

EXTRACT = "2025-08-31"


def make_tiny_tables() -> Tables:
    """Four children, every table, all valid. Plain object/str columns, as a user would build."""
    children = pd.DataFrame(
        {
            "child_id": ["c1", "c2", "c3", "c4"],
            "birth_date": ["2017-10-02", "2018-07-20", "2019-01-15", "2016-12-01"],
            "sex": ["F", "M", "M", "F"],
            "ethnicity": ["White", None, "Asian", "Black"],
            "imd_decile": [3, 7, None, 1],
            "gestation_weeks": [39, 31, 40, None],
            "birth_weight_g": [3400, 1600, None, 2900],
            "moved_out_date": [None, None, None, "2024-03-01"],
        }
    )
    health = pd.DataFrame(
        {
            "child_id": ["c1", "c2", "c3"],
            "review_date": ["2019-11-01", "2020-09-10", "2021-03-01"],
            "review_type": ["2y", "2y", "2y"],
            "asq_communication": [50, 15, 60],
            "asq_gross_motor": [55, 40, None],
            "asq_fine_motor": [45, 30, 60],
            "asq_problem_solving": [50, 25, 55],
            "asq_personal_social": [45, 30, 50],
        }
    )
    census = pd.DataFrame(
        {
            "child_id": ["c1", "c1", "c2", "c4"],
            "census_date": ["2022-01-20", "2023-01-19", "2023-01-19", "2023-01-19"],
            "school_id": ["s1", "s1", "s2", "s1"],
            "fsm_eligible": [True, True, False, True],
            "eal": [False, False, True, False],
            "sen_provision": ["N", "K", "N", "N"],
        }
    )
    attendance = pd.DataFrame(
        {
            "child_id": ["c1", "c2"],
            "term_start": ["2022-09-05", "2022-09-05"],
            "term_end": ["2022-12-20", "2022-12-20"],
            "possible_sessions": [140, 140],
            "authorised_absence": [6, 2],
            "unauthorised_absence": [2, 0],
        }
    )
    exclusions = pd.DataFrame(
        {
            "child_id": ["c1"],
            "start_date": ["2023-03-01"],
            "category": ["suspension"],
            "days": [1.5],
        }
    )
    assessments = pd.DataFrame(
        {
            "child_id": ["c1", "c1"],
            "assessment_date": ["2022-06-30", "2023-06-15"],
            "measure": ["eyfsp_gld", "phonics_mark"],
            "value": [0, 28],
        }
    )
    social_care = pd.DataFrame(
        {
            "child_id": ["c2"],
            "start_date": ["2021-05-01"],
            "end_date": [None],
            "episode": ["CIN"],
        }
    )
    referrals = pd.DataFrame(
        {"child_id": ["c2"], "referral_date": ["2020-10-01"], "service": ["SALT"]}
    )
    sen_events = pd.DataFrame(
        {
            "child_id": ["c1"],
            "event_date": ["2022-11-10"],
            "event": ["sen_support"],
            "primary_need": ["SLCN"],
        }
    )
    return Tables(
        {
            "children": children,
            "health_reviews": health,
            "census": census,
            "attendance": attendance,
            "exclusions": exclusions,
            "assessments": assessments,
            "social_care": social_care,
            "referrals": referrals,
            "sen_events": sen_events,
        },
        extract_date=EXTRACT,
    )


@pytest.fixture
def tiny_tables() -> Tables:
    return make_tiny_tables()


# -- a small synthetic cohort and a quickly fitted model, shared by the integration tests ------

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
FAST_PARAMS = """n_bags = 1
n_interactions = 0
learning_rate = 0.3
max_iter = 150
random_state = 0"""
TRAIN_DATES = ["2018-09-01", "2019-09-01", "2020-09-01", "2021-09-01"]


def fast_spec_text(kind: str = "additive") -> str:
    """The shipped default spec with parameters that fit in seconds (tests only)."""
    text = (ROOT / "models" / "default.toml").read_text()
    head, rest = text.split("[estimator.params]", 1)
    rest = rest.split("\n\n", 1)[1]
    if kind == "scorecard":
        head = head.replace('kind = "additive"', 'kind = "scorecard"')
        return head + "[estimator.params]\nmax_features = 8\nmax_bins = 4\n\n" + rest
    return head + "[estimator.params]\n" + FAST_PARAMS + "\n\n" + rest


@pytest.fixture(scope="session")
def small_cohort():
    from send_early.datasets import make_cohort

    return make_cohort(4000, random_state=7)


@pytest.fixture(scope="session")
def fast_spec_path(tmp_path_factory):
    p = tmp_path_factory.mktemp("specs") / "fast.toml"
    p.write_text(fast_spec_text())
    return p


@pytest.fixture(scope="session")
def fitted_model(small_cohort, fast_spec_path):
    from send_early import RiskModel

    return RiskModel.from_spec(fast_spec_path).fit(small_cohort, TRAIN_DATES)


# -- one local Spark session for the whole run (tests/features/test_engines_spark.py) ---------

REQUIRE_SPARK = "SEND_EARLY_REQUIRE_SPARK"
#: Small-data settings: no whole-stage code generation and the JVM's quick compiler only (a
#: session mostly compiles plans here), few shuffle partitions, no web UI, no progress bars.
SPARK_TEST_CONF = {
    "spark.master": "local[2]",
    "spark.app.name": "send_early tests",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
}


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """A local SparkSession shared by every test that asks for it, or a skip with the reason;
    with ``$CI`` or ``$SEND_EARLY_REQUIRE_SPARK`` set a missing PySpark or Java fails instead
    (``.ci/run`` installs a Java runtime)."""
    import os
    import shutil
    import sys

    why = None
    try:
        import ibis  # noqa: F401
        from pyspark.sql import SparkSession
    except ImportError:
        why = "PySpark or Ibis is not installed (pip install -e '.[dev]')"
    else:
        if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
            why = "no Java runtime (java on the PATH or JAVA_HOME); Spark needs Java 17+"
    if why:
        if os.environ.get(REQUIRE_SPARK) or os.environ.get("CI"):
            pytest.fail(f"{why}: {REQUIRE_SPARK} or CI is set; the Spark tests may not skip")
        pytest.skip(why)
    # Python UDFs (mlflow.pyfunc.spark_udf) run in workers started as $PYSPARK_PYTHON, else
    # `python3` on the PATH, which need not be this environment's interpreter
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.config(
        "spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse"))
    )
    for key, value in SPARK_TEST_CONF.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
