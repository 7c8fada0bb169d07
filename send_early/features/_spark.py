"""The Spark engine's sources: contract tables as temporary views of a Spark session.

The compiled pipeline (:mod:`._ibis`) then runs on Spark through Ibis's PySpark backend.
Each table gets a row order (``_se_row``): the order of a DataFrame's rows, or of a file's
rows (``monotonically_increasing_id`` grows along a file's splits, in file order).
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import sys
import uuid
import warnings
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ..schema import TABLES, read_manifest
from ._population import _typed

logger = logging.getLogger(__name__)

_HINT = (
    'the Spark engine needs PySpark and Ibis: pip install "send_early[spark]" '
    "(and a Java runtime, 17 or newer)"
)
_ROW = "_se_row"  # as in ._ibis
#: A local session when none is active: two cores, no web UI, quiet logs, few shuffle parts.
LOCAL_CONF = {
    "spark.master": "local[2]",
    "spark.app.name": "send_early",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
_SPARK_TYPES = {
    "int": "bigint",
    "float": "double",
    "bool": "boolean",
    "date": "date",
    "str": "string",
}


def _pyspark():
    try:
        import ibis  # noqa: F401
        import pyspark.sql
    except ImportError as exc:
        raise ImportError(_HINT) from exc
    return pyspark.sql


def session():
    """The active SparkSession, else a new local one (:data:`LOCAL_CONF`)."""
    sql = _pyspark()
    from pyspark import SparkContext

    active = sql.SparkSession.getActiveSession()
    if active is not None:
        return active
    if SparkContext._active_spark_context is not None:  # started, active in another thread
        return sql.SparkSession.builder.getOrCreate()
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        raise RuntimeError(
            "the Spark engine needs a Java runtime (17 or newer) and found no `java` on the "
            "PATH and no JAVA_HOME; install one (Debian: apt-get install "
            "openjdk-17-jre-headless) or pass a SparkSession."
        )
    builder = sql.SparkSession.builder
    for key, value in LOCAL_CONF.items():
        builder = builder.config(key, value)
    if not os.environ.get("PYSPARK_PYTHON"):
        # Python workers (a UDF such as mlflow.pyfunc.spark_udf) run this interpreter, which
        # has send_early and pandas, not whichever python3 is first on the PATH
        builder = builder.config("spark.pyspark.python", sys.executable)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    logger.info("started a local Spark session (%s)", LOCAL_CONF["spark.master"])
    return spark


def collect(df):
    """``df.toArrow()``. PySpark 4.0 leaves the socket it read the batches from unclosed, in a
    reference cycle: collected here, with its ResourceWarning (not the caller's to fix)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        out = df.toArrow()
        gc.collect()
    return out


def _with_row(df):
    from pyspark.sql import functions as F

    return df.withColumn(_ROW, F.monotonically_increasing_id())


def _read_folder(spark, folder: Path) -> dict:
    """Spark DataFrames of the contract files in ``folder`` (CSV columns cast to the contract)."""
    from pyspark.sql import functions as F

    out = {}
    for name in TABLES:
        pq, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
        if pq.exists():
            out[name] = _with_row(spark.read.parquet(str(pq)))
        elif csv.exists():
            df = spark.read.option("header", "true").option("encoding", "UTF-8").csv(str(csv))
            casts = {}
            for c in TABLES[name].columns:
                if c.name in df.columns and c.kind in _SPARK_TYPES:
                    x = F.col(c.name)
                    x = x.cast("double") if c.kind == "int" else x  # "3.0" as well as "3"
                    casts[c.name] = x.cast(_SPARK_TYPES[c.kind])
            out[name] = _with_row(df.withColumns(casts))
    if "children" not in out:
        raise FileNotFoundError(f"{folder} has no children.parquet or children.csv.")
    return out


def _read_catalog(spark) -> dict:
    """The contract tables (or views) a session's catalog holds, by their names."""
    out = {n: _with_row(spark.table(n)) for n in TABLES if spark.catalog.tableExists(n)}
    if "children" not in out:
        raise ValueError("the Spark session must hold a 'children' table of the data contract.")
    return out


def open_spark(source, check: bool):
    """(Ibis PySpark connection, raw tables by name, extract date, close) for a folder, a
    mapping of DataFrames, a SparkSession or an Ibis PySpark connection; ``close()`` drops
    the temporary views registered here."""
    import ibis

    from ._ibis import _arrow_tables

    if getattr(source, "name", None) == "pyspark" and hasattr(source, "_session"):
        spark = source._session
    elif type(source).__module__.startswith("pyspark"):
        spark = source
    else:
        spark = None
    if isinstance(source, str | os.PathLike):
        folder = Path(source)
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} is not a folder of contract tables.")
        spark = session()
        frames = _read_folder(spark, folder)
        extract = read_manifest(folder)["extract_date"]
    elif isinstance(source, Mapping):
        tables = _typed(source, check)
        spark = session()
        frames = {}
        for name, table in _arrow_tables(tables):
            frames[name] = spark.createDataFrame(_dates_as_dates(table, name))
        extract = tables.extract_date
    elif spark is not None:
        frames = _read_catalog(spark)
        extract = pd.Timestamp.max.normalize()
    else:
        raise TypeError(
            "source must be a folder of contract tables, a mapping of table name to DataFrame, "
            f"a SparkSession or an Ibis PySpark connection; found {type(source).__name__}."
        )
    con = ibis.pyspark.connect(spark)
    token = uuid.uuid4().hex[:12]
    views = {}
    for name, df in frames.items():
        views[name] = f"se_{name}_{token}"
        df.createOrReplaceTempView(views[name])

    def close():
        for view in views.values():
            spark.catalog.dropTempView(view)

    return con, {n: con.table(v) for n, v in views.items()}, extract, close


def _dates_as_dates(table, name: str):
    """Date columns as Arrow dates: Spark would read a timestamp in the session's time zone."""
    import pyarrow as pa

    for c in TABLES[name].columns:
        if c.kind == "date":
            i = table.schema.get_field_index(c.name)
            table = table.set_column(i, c.name, table.column(i).cast(pa.date32()))
    return table
