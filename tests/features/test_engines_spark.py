"""The Spark engine (the spec compiled through Ibis, run on a local Spark) equals memory.

One Spark session serves the whole run (the ``spark`` fixture in tests/conftest.py); a build
takes seconds on Spark whatever the cohort's size (planning dominates), so the cohorts are
small and the examples few.
"""

from __future__ import annotations

import sys

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from send_early.datasets import make_cohort
from send_early.features import build_features, build_labels, load_pipeline, make_training_frame
from send_early.schema import write_tables

from .test_engines import ALL_KINDS, AS_OFS, assert_same


@pytest.fixture(scope="module")
def cohort():
    return make_cohort(300, random_state=3)


@pytest.fixture(scope="module")
def all_kinds(tmp_path_factory):
    """Every aggregation kind, window unit, op and missing rule of the spec language."""
    path = tmp_path_factory.mktemp("spec") / "all_kinds.toml"
    path.write_text(ALL_KINDS, encoding="utf-8")
    return load_pipeline(path)


def _views(spark) -> list[str]:
    return sorted(t.name for t in spark.catalog.listTables() if t.isTemporary)


def test_spark_equals_memory_for_every_aggregation_kind(spark, cohort, all_kinds):
    before = _views(spark)
    for spec in ("default", all_kinds):
        mem = build_features(cohort, "2021-09-01", spec)
        assert len(mem) > 100
        assert_same(mem, build_features(cohort, "2021-09-01", spec, engine="spark"))
    assert _views(spark) == before  # the tables registered for a build are dropped after it


def test_spark_equals_memory_on_hand_tables(spark, hand_tables_shared, all_kinds):
    # ties on one date, preferred reviews, open episodes, terms: worked out by hand
    mem = build_features(hand_tables_shared, "2021-12-01", all_kinds)
    assert_same(mem, build_features(hand_tables_shared, "2021-12-01", all_kinds, engine="spark"))


@settings(
    max_examples=3,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # shrinking a cohort takes minutes
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(40, 250),
    as_of=st.sampled_from(AS_OFS),
    pipeline=st.sampled_from(["default", "all_kinds"]),
)
def test_spark_equals_memory_on_random_cohorts(spark, all_kinds, seed, n, as_of, pipeline):
    tables = make_cohort(n, random_state=seed)
    spec = all_kinds if pipeline == "all_kinds" else "default"
    mem = build_features(tables, as_of, spec)
    assert_same(mem, build_features(tables, as_of, spec, engine="spark"))


def test_spark_reads_a_folder_in_place(spark, cohort, all_kinds, tmp_path):
    # CSV text cast to the contract's types: every column of every table in all_kinds
    csv, pq = tmp_path / "csv", tmp_path / "parquet"
    write_tables(cohort, csv, format="csv")
    mem = build_features(cohort, "2020-11-15", all_kinds)
    assert_same(mem, build_features(csv, "2020-11-15", all_kinds, engine="spark"))
    # Parquet keeps its types; labels (a small query) read its dates and codes
    write_tables(cohort, pq, format="parquet")
    assert_same_labels(
        build_labels(cohort, "2020-11-15", 24), build_labels(pq, "2020-11-15", 24, engine="spark")
    )


def assert_same_labels(mem: pd.DataFrame, got: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, mem, check_exact=False, rtol=0, atol=1e-9)
    assert got.attrs == mem.attrs and mem["label"].sum() > 0


def test_spark_reads_the_tables_of_a_session_or_an_ibis_connection(spark):
    """The contract tables as a session's views: engine="ibis" with an Ibis PySpark
    connection, engine="spark" with the session (the extract date is then unknown)."""
    import ibis

    from .test_engines_postgres import as_arrow

    tables = make_cohort(120, random_state=11)
    for name, df in tables.items():
        spark.createDataFrame(as_arrow(df)).createOrReplaceTempView(name)
    try:
        mem = build_features(tables, "2021-01-31")
        assert_same(mem, build_features(ibis.pyspark.connect(spark), "2021-01-31", engine="ibis"))
        labels = build_labels(spark, "2021-01-31", 12, engine="spark")
        assert_same_labels(build_labels(tables, "2021-01-31", 12), labels)
    finally:
        for name in tables:
            spark.catalog.dropTempView(name)


def test_spark_training_frame_equals_memory(spark, cohort):
    """Features and labels (a need outcome: the unrecorded-need count too) stacked."""
    outcome = "need_communication_interaction"
    mem = make_training_frame(cohort, ["2020-09-01"], 24, outcome=outcome)
    got = make_training_frame(cohort, ["2020-09-01"], 24, outcome=outcome, engine="spark")
    assert mem.index.equals(got.index) and mem.attrs == got.attrs
    assert mem["label"].sum() > 0
    labels = ["label", "event_date", "months_to_event"]
    pd.testing.assert_frame_equal(got[labels], mem[labels], check_exact=False, rtol=0, atol=1e-9)
    feats = [c for c in mem.columns if c not in labels]
    a, b = mem[feats].reset_index(level=0, drop=True), got[feats].reset_index(level=0, drop=True)
    a.attrs = b.attrs = {}
    assert_same(a, b)


def test_a_spark_source_needs_the_spark_engine(spark):
    with pytest.raises(TypeError, match="a SparkSession .* is a source for engine='spark'"):
        build_features(spark, "2021-01-31", engine="duckdb")


def test_the_ibis_engine_needs_a_connection():
    tables = make_cohort(20, random_state=0)
    with pytest.raises(TypeError, match="engine='ibis' runs on the backend of an Ibis connection"):
        build_features(tables, "2021-09-01", engine="ibis")


def test_a_missing_spark_extra_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # as if PySpark were not installed
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    tables = make_cohort(20, random_state=0)
    with pytest.raises(ImportError, match=r'pip install "send_early\[spark\]"'):
        build_features(tables, "2021-09-01", engine="spark")


def test_a_local_session_runs_python_workers_with_this_interpreter(monkeypatch):
    """With no session active, the engine's local session points Python workers (UDFs such
    as mlflow.pyfunc.spark_udf) at this interpreter unless PYSPARK_PYTHON says otherwise."""
    pytest.importorskip("pyspark")
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    from send_early.features import _spark

    seen: dict = {}

    class Builder:
        def config(self, key, value):
            seen[key] = value
            return self

        def getOrCreate(self):
            class Session:
                sparkContext = type("C", (), {"setLogLevel": lambda self, level: None})()

            return Session()

    monkeypatch.setattr(SparkSession, "getActiveSession", classmethod(lambda cls: None))
    monkeypatch.setattr(SparkContext, "_active_spark_context", None)
    monkeypatch.setattr(SparkSession, "builder", Builder())
    monkeypatch.setattr(_spark.shutil, "which", lambda name: "/usr/bin/java")
    monkeypatch.delenv("PYSPARK_PYTHON", raising=False)
    _spark.session()
    assert seen["spark.pyspark.python"] == sys.executable
    assert seen["spark.master"] == _spark.LOCAL_CONF["spark.master"]
    seen.clear()
    monkeypatch.setenv("PYSPARK_PYTHON", "/opt/python")
    _spark.session()
    assert "spark.pyspark.python" not in seen  # Spark reads the variable itself
