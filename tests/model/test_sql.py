"""RiskModel.to_sql run in DuckDB, PostgreSQL and Spark scores as RiskModel.score does.

Every child's risk to 1e-9 (in practice to the last bit), and the same ranks, flags and
reason sentences, for additive models (with pairs) and scorecards, sigmoid and isotonic
calibration, each capacity policy, on a cohort and on random feature frames with missing
values, unseen categories and ties (Spark: the cohort). T-SQL is rendered and parsed.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from send_early import RiskModel
from send_early.datasets import make_cohort
from send_early.features import build_features

duckdb = pytest.importorskip("duckdb")
sqlglot = pytest.importorskip("sqlglot")

AS_OF = "2022-09-01"
TRAIN = ["2018-09-01", "2019-09-01", "2020-09-01", "2021-09-01"]
ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
FAST = "n_bags = 1\nlearning_rate = 0.3\nmax_iter = 150\nrandom_state = 0"
PAIRS = 'interactions = [["age_months", "asq_communication"], ["imd_decile", "eyfsp_gld_status"]]'

#: name -> (estimator kind, parameters, calibration, capacity policy and value)
VARIANTS = {
    "additive_pairs": ("additive", f"{FAST}\n{PAIRS}", "sigmoid", ("share", "0.05")),
    "additive_isotonic": ("additive", f"{FAST}\nn_interactions = 0", "isotonic", ("count", "40")),
    "scorecard": ("scorecard", "max_features = 8\nmax_bins = 4", "sigmoid", ("share", "0.1")),
    "scorecard_isotonic": ("scorecard", "max_bins = 5", "isotonic", ("threshold", "0.1")),
}


def spec_text(kind, params, calibration, capacity) -> str:
    text = (ROOT / "models" / "default.toml").read_text()
    head, rest = text.split("[estimator.params]", 1)
    rest = rest.split("\n\n", 1)[1]
    head = head.replace('kind = "additive"', f'kind = "{kind}"')
    text = head + "[estimator.params]\n" + params + "\n\n" + rest
    text = text.replace('method = "sigmoid"', f'method = "{calibration}"')
    text = text.replace('policy = "share"', f'policy = "{capacity[0]}"')
    return text.replace("value = 0.05 ", f"value = {capacity[1]} ")


@pytest.fixture(scope="module")
def cohort():
    return make_cohort(3000, random_state=11)


@pytest.fixture(scope="module", params=list(VARIANTS))
def model(request, cohort, tmp_path_factory):
    path = tmp_path_factory.mktemp("sql") / f"{request.param}.toml"
    path.write_text(spec_text(*VARIANTS[request.param]))
    return RiskModel.from_spec(path).fit(cohort, TRAIN)


@pytest.fixture(scope="module")
def features(model, cohort):
    """Every child's features at AS_OF (the SQL applies the model's age range itself)."""
    return build_features(cohort, AS_OF, pipeline=model.pipeline)


@pytest.fixture(scope="module")
def queries(model):
    """The model's query per dialect (the same for every frame; rendering takes a second)."""
    return {d: model.to_sql(d) for d in ("duckdb", "postgres")}


# ----------------------------------------------------------------------------- engines
def run_duckdb(sql: str, features: pd.DataFrame) -> pd.DataFrame:
    con = duckdb.connect()
    con.register("features", features.reset_index())
    return con.sql(sql).df()


PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"
REQUIRE_ENV = "SEND_EARLY_REQUIRE_POSTGRES"


@pytest.fixture(scope="module")
def pg():
    """A psycopg connection to the machine's PostgreSQL, or a skip; a failure in CI
    (``$SEND_EARLY_REQUIRE_POSTGRES`` or ``$CI``), as tests/registry/conftest.py does."""
    try:
        import psycopg

        con = psycopg.connect(PG_DSN, autocommit=True)
    except ImportError:
        why = "psycopg is not installed (pip install -e '.[dev]')"
    except Exception as exc:
        why = f"no PostgreSQL at 127.0.0.1:5432 ({type(exc).__name__})"
    else:
        yield con
        con.close()
        return
    if os.environ.get(REQUIRE_ENV) or os.environ.get("CI"):
        pytest.fail(f"{why}: {REQUIRE_ENV} is set (CI runs PostgreSQL); these tests may not skip")
    pytest.skip(why)


def load_postgres(con, features: pd.DataFrame, table: str = "features") -> None:
    """``features`` as a temporary table: numbers as double precision, codes as text, NULLs."""
    frame = features.reset_index()
    types = []
    for c, d in frame.dtypes.items():
        text = isinstance(d, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(d)
        types.append(f'"{c}" {"text" if text else "double precision"}')
    con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute(f"CREATE TEMPORARY TABLE {table} ({', '.join(types)})")
    rows = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
    with con.cursor().copy(f"COPY {table} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def run_postgres(con, sql: str, features: pd.DataFrame) -> pd.DataFrame:
    load_postgres(con, features)
    cur = con.execute(sql)
    return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


def run_spark(spark, sql: str, features: pd.DataFrame) -> pd.DataFrame:
    """``features`` as a Spark view (numbers as doubles, codes as text, NULLs), then ``sql``."""
    import gc
    import warnings

    import pyarrow as pa

    frame = features.reset_index()
    for c in frame.columns:
        if isinstance(frame[c].dtype, pd.CategoricalDtype):
            frame[c] = frame[c].astype("str")
    spark.createDataFrame(
        pa.Table.from_pandas(frame, preserve_index=False)
    ).createOrReplaceTempView("features")
    try:
        with warnings.catch_warnings():  # PySpark 4.0 leaves the result's socket unclosed
            warnings.simplefilter("ignore", ResourceWarning)
            out = spark.sql(sql).toArrow().to_pandas()
            gc.collect()
        return out
    finally:
        spark.catalog.dropTempView("features")


def in_population(model, features: pd.DataFrame) -> pd.DataFrame:
    lo, hi = model.spec.population_age_months
    age = features["age_months"].to_numpy(float)
    return features[(age >= lo) & (age <= hi)]


def assert_same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same children, risk to 1e-9, same ranks, flags and reason sentences."""
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    got = got.set_index("child_id")
    exp = expected.set_index("child_id")
    assert got.index.is_unique and set(got.index) == set(exp.index)
    got = got.loc[exp.index]
    diff = np.abs(got["risk"].to_numpy(float) - exp["risk"].to_numpy(float))
    assert diff.max(initial=0.0) <= 1e-9
    assert (got["rank"].to_numpy(np.int64) == exp["rank"].to_numpy(np.int64)).all()
    assert (got["flagged"].astype(bool).to_numpy() == exp["flagged"].to_numpy()).all()
    for c in [c for c in exp.columns if c.startswith("reason_")]:
        a, b = got[c].astype(str).to_numpy(), exp[c].astype(str).to_numpy()
        bad = np.flatnonzero(a != b)
        assert not bad.size, f"{c}: {len(bad)} differ, e.g. {a[bad[0]]!r} != {b[bad[0]]!r}"


# ----------------------------------------------------------------------------- a cohort
def test_duckdb_scores_as_python(model, cohort, features, queries):
    expected = model.score(cohort, AS_OF)
    got = run_duckdb(queries["duckdb"], features)
    assert_same(got, expected)
    assert got["rank"].tolist() == list(range(1, len(got) + 1))  # ordered by rank
    assert expected["reason_1"].astype(str).ne("").any()  # reasons were compared, not all empty


def test_postgres_scores_as_python(model, cohort, features, queries, pg):
    expected = model.score(cohort, AS_OF)
    assert_same(run_postgres(pg, queries["postgres"], features), expected)


def test_spark_scores_as_python(model, cohort, features, spark):
    expected = model.score(cohort, AS_OF)
    got = run_spark(spark, model.to_sql("spark"), features)
    assert_same(got, expected)
    assert len(got) > 100 and got["flagged"].any()


@pytest.mark.parametrize("capacity", [25, "3%", 0.5])
def test_a_capacity_overrides_the_spec(model, features, capacity):
    pop = in_population(model, features)
    expected = model.score_features(pop, capacity=capacity)
    got = run_duckdb(model.to_sql("duckdb", capacity=capacity), features)
    assert_same(got, expected)


# ----------------------------------------------------------------------------- random frames
@st.composite
def frames(draw, base: pd.DataFrame):
    """Rows of ``base`` drawn with repeats (ties), values blanked, unseen categories, and
    child ids whose text order differs from their number order."""
    n = draw(st.integers(1, 120))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rows = base.iloc[rng.integers(0, len(base), n)].copy()
    blank = rng.random(rows.shape) < draw(st.sampled_from([0.0, 0.1, 0.4]))
    blank[:, list(rows.columns).index("age_months")] = False
    for j, c in enumerate(rows.columns):
        col = rows[c]
        if isinstance(col.dtype, pd.CategoricalDtype):
            if draw(st.booleans()):
                col = col.cat.add_categories(["never seen"])
                col[rng.random(n) < 0.3] = "never seen"
            rows[c] = col.mask(blank[:, j])
        else:
            rows[c] = col.mask(blank[:, j])
    ids = rng.permutation(np.arange(1, n + 1)) * draw(st.sampled_from([1, 7, 1000]))
    rows.index = pd.Index([f"c{i}" for i in ids], dtype="str", name="child_id")
    return rows


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_duckdb_equals_python_on_random_frames(model, features, queries, data):
    frame = data.draw(frames(in_population(model, features)))
    expected = model.score_features(in_population(model, frame))
    assert_same(run_duckdb(queries["duckdb"], frame), expected)


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_the_joined_reason_candidates_equal_the_unioned_ones(model, features, data):
    """Spark and T-SQL form the reasons' candidates by one join (``unpivot="join"``), DuckDB
    and PostgreSQL by a union per term: run in DuckDB, both score as Python does."""
    from send_early.model._sql import model_sql

    frame = data.draw(frames(in_population(model, features)))
    expected = model.score_features(in_population(model, frame))
    for unpivot in ("union", "join"):
        sql = model_sql(model, "duckdb", unpivot=unpivot)
        assert sql.count("FROM terms") == (
            2 if unpivot == "join" else 1 + sql.count("UNION ALL") + 1
        )
        assert_same(run_duckdb(sql, frame), expected)


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_postgres_equals_python_on_random_frames(model, features, queries, pg, data):
    frame = data.draw(frames(in_population(model, features)))
    expected = model.score_features(in_population(model, frame))
    assert_same(run_postgres(pg, queries["postgres"], frame), expected)


def test_reason_values_are_written_as_python_writes_them(model, features):
    """Numbers of every magnitude, negative, tiny (scientific notation) and halves."""
    pop = in_population(model, features)
    values = [0.0, 1.0, -3.0, 0.5, 2.5, 0.125, 123.456, -0.0296, 0.00012345, 3e-05, 1.5e-07,
              99.95, 1234567.0, 0.9125, 0.00049]  # fmt: skip
    frame = pop.iloc[np.resize(np.arange(min(len(pop), 40)), len(values) * 4)].copy()
    frame.index = pd.Index([f"v{i:03d}" for i in range(len(frame))], dtype="str", name="child_id")
    for c in frame.columns:
        if c != "age_months" and pd.api.types.is_float_dtype(frame[c]):
            # -0.0 is left out: Python writes "-0", the SQL "0" (no SQL comparison sees the sign)
            frame[c] = np.resize(values, len(frame)) * np.where(np.arange(len(frame)) % 2, 1, -1)
            frame[c] = frame[c].mask(frame[c] == 0, 0.0)
    expected = model.score_features(frame, capacity=3)
    assert_same(run_duckdb(model.to_sql("duckdb", capacity=3), frame), expected)


# ----------------------------------------------------------------------------- dialects
def test_tsql_and_spark_render_and_parse(model, queries):
    tsql = model.to_sql("mssql", features_table="dbo.features")
    tree = sqlglot.parse_one(tsql, read="tsql")
    assert tree.find(sqlglot.exp.Select) is not None
    assert "Latin1_General_BIN2" in tsql  # ids in code point order, as Python sorts them
    assert "MATERIALIZED" not in tsql and "TRUE" not in tsql and "||" not in tsql
    assert "FROM dbo.features" in tsql
    spark = model.to_sql("pyspark")
    sqlglot.parse_one(spark, read="spark")
    assert "MATERIALIZED" not in spark and "`rank`" in spark
    # neither inlines one copy of the terms per reason term (Spark planned each copy)
    assert tsql.count("FROM terms") == 2 and spark.count("FROM terms") == 2
    assert "UNION ALL" not in spark and "CROSS JOIN VALUES" in spark
    assert 'COLLATE "C"' in queries["postgres"]


def test_an_unknown_dialect_is_refused(model):
    from send_early.model._sql import model_sql

    with pytest.raises(ValueError, match="dialect must be one of duckdb, postgres, mssql"):
        model.to_sql("oracle")
    with pytest.raises(ValueError, match="unpivot must be 'union' or 'join'"):
        model_sql(model, "duckdb", unpivot="pivot")


def test_an_unfitted_model_says_so():
    from send_early.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="not fitted"):
        RiskModel.from_spec("default").to_sql()


def test_the_capacity_rule_flags_as_score_does(model, features):
    """``capacity_rule`` (read by the SQL and by Spark scoring) flags the children
    ``score_features`` flags, for the spec's policy and for an override."""
    from send_early.evaluation import flag_capacity

    pop = in_population(model, features)
    rule = model.capacity_rule()
    key = {"count": "k", "share": "share", "threshold": "threshold"}[model.spec.capacity_policy]
    assert list(rule) == [key]
    assert model.capacity_rule("3%") == {"share": 0.03}
    for capacity in (None, 25):
        scored = model.score_features(pop, capacity=capacity).set_index("child_id")
        risk = scored["risk"].to_numpy(float)
        ids = scored.index.to_numpy(dtype=str)
        got = flag_capacity(risk, tiebreak=ids, **model.capacity_rule(capacity))
        assert (got.flagged == scored["flagged"].to_numpy(bool)).all()
        assert got.flagged.any()
