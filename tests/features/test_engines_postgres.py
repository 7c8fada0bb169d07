"""The compiled pipeline run on PostgreSQL (an Ibis connection as the source) equals memory."""

from __future__ import annotations

import secrets

import pandas as pd
import pytest

from send_early.datasets import make_cohort
from send_early.features import build_features

from ..model.test_sql import pg  # noqa: F401 - the PostgreSQL fixture (skips, or fails in CI)
from .test_engines import all_kinds, assert_same  # noqa: F401 - all_kinds is a fixture

ibis = pytest.importorskip("ibis")


def as_arrow(df: pd.DataFrame):
    """A frame as Arrow, codes as text (Ibis reads Arrow without pandas' deprecated options)."""
    import pyarrow as pa

    df = df.copy()
    for col in df.columns:
        if isinstance(df[col].dtype, pd.CategoricalDtype):
            df[col] = df[col].astype("str")
    return pa.Table.from_pandas(df, preserve_index=False)


def load(con, tables) -> None:
    """Contract tables as PostgreSQL tables (codes as text, dates as dates)."""
    for name, df in tables.items():
        con.create_table(name, as_arrow(df))


@pytest.fixture(scope="module")
def warehouse(pg):  # noqa: F811
    """A small synthetic cohort in a temporary schema, and an Ibis connection to it."""
    tables = make_cohort(400, random_state=5)
    schema = f"se_test_{secrets.token_hex(4)}"
    pg.execute(f'CREATE SCHEMA "{schema}"')
    try:
        con = ibis.postgres.connect(
            host="127.0.0.1", user="postgres", database="test", schema=schema
        )
        load(con, tables)
        yield tables, con
        con.disconnect()
    finally:
        pg.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.mark.parametrize("as_of", ["2019-09-01", "2022-09-01"])
@pytest.mark.parametrize("pipeline", ["default", "all_kinds"])
def test_postgres_equals_memory(warehouse, all_kinds, as_of, pipeline):  # noqa: F811
    tables, con = warehouse
    spec = all_kinds if pipeline == "all_kinds" else pipeline
    mem = build_features(tables, as_of, spec)
    got = build_features(con, as_of, spec, engine="ibis")
    assert len(mem) > 100
    assert_same(mem, got)


def test_a_warehouse_connection_under_the_duckdb_name_still_works_with_a_warning(warehouse):
    tables, con = warehouse
    with pytest.warns(FutureWarning, match="computed by postgres, not DuckDB. Pass engine='ibis'"):
        got = build_features(con, "2022-09-01", engine="duckdb")
    assert_same(build_features(tables, "2022-09-01"), got)


def test_a_model_scores_in_postgres_from_features_built_there(warehouse, tmp_path):
    """Features built in the warehouse, written there, scored there by RiskModel.to_sql."""
    from send_early import RiskModel

    from ..model.test_sql import TRAIN, VARIANTS, spec_text
    from ..model.test_sql import assert_same as same_scores

    tables, con = warehouse
    spec = tmp_path / "scorecard.toml"
    spec.write_text(spec_text(*VARIANTS["scorecard"]))
    model = RiskModel.from_spec(spec).fit(make_cohort(2000, random_state=8), TRAIN)
    frame = build_features(con, "2022-09-01", model.pipeline, engine="ibis").reset_index()
    name = f"features_{secrets.token_hex(3)}"
    con.create_table(name, as_arrow(frame))
    try:
        cur = con.raw_sql(model.to_sql("postgres", features_table=name))
        got = pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])
        cur.close()
    finally:
        con.drop_table(name)
    same_scores(got, model.score(tables, "2022-09-01"))
