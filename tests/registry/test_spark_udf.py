"""Scoring a Spark DataFrame through mlflow.pyfunc.spark_udf scores as RiskModel.score does.

The frame is split into batches the UDF sees one at a time (one holds only children outside
the model's age range); every child's risk to 1e-12, the same reasons, and the same ranks and
flags, which Spark computes over the whole frame.
"""

from __future__ import annotations

import gc
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from conftest import REAL_AS_OF

from send_early.exceptions import SchemaError
from send_early.features import build_features
from send_early.registry import OUTPUT_COLUMNS, open_store, spark_scores


@pytest.fixture(scope="module")
def everyone(fitted_model, small_cohort) -> pd.DataFrame:
    """Every child's features, those outside the model's age range too."""
    return build_features(small_cohort, REAL_AS_OF, pipeline=fitted_model.pipeline)


@pytest.fixture(scope="module")
def frame(spark, everyone, fitted_model):
    """``everyone`` as a Spark DataFrame in four batches, one of children outside the range."""
    flat = everyone.reset_index()
    for c in flat.columns:
        if isinstance(flat[c].dtype, pd.CategoricalDtype):
            flat[c] = flat[c].astype("str")
    lo, hi = fitted_model.spec.population_age_months
    age = flat["age_months"].to_numpy(float)
    inside = (age >= lo) & (age <= hi)
    assert 0 < int((~inside).sum()) < len(flat) // 2
    parts = [
        spark.createDataFrame(pa.Table.from_pandas(flat[keep], preserve_index=False))
        for keep in (inside, ~inside)
    ]
    return parts[0].repartition(3).union(parts[1].coalesce(1))


def collect(df) -> pd.DataFrame:
    with warnings.catch_warnings():  # PySpark 4.0 leaves the result's socket unclosed
        warnings.simplefilter("ignore", ResourceWarning)
        out = df.toArrow().to_pandas()
        gc.collect()
    return out.set_index("child_id")


def assert_scores_as(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    exp = expected.set_index("child_id")
    assert set(exp.index) <= set(got.index)
    mine = got.loc[exp.index]
    diff = np.abs(mine["risk"].to_numpy(float) - exp["risk"].to_numpy(float))
    assert diff.max() <= 1e-12
    assert (mine["rank"].to_numpy(np.int64) == exp["rank"].to_numpy(np.int64)).all()
    assert (mine["flagged"].to_numpy(bool) == exp["flagged"].to_numpy(bool)).all()
    for c in ("reason_1", "reason_2", "reason_3"):
        assert mine[c].tolist() == exp[c].fillna("").astype(str).tolist(), c


def test_spark_udf_scores_as_risk_model_score(
    frame, everyone, logged_real, fitted_model, small_cohort
):
    store, info, _ = logged_real
    got = collect(spark_scores(frame, info.registered_uri, tracking_uri=store))
    assert ["child_id", *got.columns] == list(OUTPUT_COLUMNS)
    assert len(got) == len(everyone) and got.index.is_unique
    expected = fitted_model.score(small_cohort, REAL_AS_OF)  # the children in the age range
    assert_scores_as(got, expected)
    assert 0 < int(got["flagged"].sum()) == int(expected["flagged"].sum())
    assert expected["reason_1"].astype(str).ne("").any()  # reasons were compared, not all empty
    # the children outside the range, as the pyfunc leaves them
    import mlflow.pyfunc

    from send_early.registry._store import using_store

    with using_store(open_store(store)):
        pyfunc = mlflow.pyfunc.load_model(info.registered_uri)
    outside = got.loc[~got.index.isin(expected["child_id"])]
    assert len(outside) == len(everyone) - len(expected) > 0
    direct = pyfunc.predict(everyone.loc[outside.index]).set_index("child_id")
    assert outside["risk"].isna().all() and outside["rank"].isna().all()
    assert not outside["flagged"].any()
    for c in ("reason_1", "reason_2", "reason_3"):
        assert outside[c].tolist() == direct[c].tolist()
    assert outside["reason_1"].str.startswith("not scored").all()


def test_a_capacity_overrides_the_spec(frame, logged_real, fitted_model, small_cohort):
    store, info, _ = logged_real
    got = collect(spark_scores(frame, info.registered_uri, tracking_uri=store, capacity=25))
    assert int(got["flagged"].sum()) == 25
    assert_scores_as(got, fitted_model.score(small_cohort, REAL_AS_OF, capacity=25))


def test_inputs_are_checked(frame, logged_real, everyone):
    store, info, _ = logged_real
    with pytest.raises(SchemaError, match="1 missing: imd_decile"):
        spark_scores(frame.drop("imd_decile"), info.registered_uri, tracking_uri=store)
    with pytest.raises(TypeError, match="must be a Spark DataFrame"):
        spark_scores(everyone, info.registered_uri, tracking_uri=store)
    ids = [str(i) for i in everyone.index[:20]]
    some = frame.filter(frame["child_id"].isin(ids))
    with pytest.raises(Exception, match="one row per child_id") as err:  # in separate batches
        collect(spark_scores(some.union(some), info.registered_uri, tracking_uri=store))
    assert not any(i in str(err.value) for i in ids)  # no child's id in the message
