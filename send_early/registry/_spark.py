"""Score a Spark DataFrame of features with a registered model through ``mlflow.pyfunc.spark_udf``.

The UDF runs the model's pyfunc (:func:`send_early.registry._pyfunc.predict_frame`) on each
batch of rows Spark hands it: a child's risk and reasons depend on that child's features
only, so they are exact; rank and flag depend on the whole frame, so the batch's own are
dropped and Spark ranks the frame here with the capacity rule of
:func:`send_early.evaluation.flag_capacity`. PySpark and MLflow are imported inside the
function.
"""

from __future__ import annotations

import contextlib
import logging

from ..evaluation import SHARE_TOLERANCE, parse_capacity
from ..exceptions import SchemaError
from ._loading import load_model
from ._pyfunc import OUTPUT_COLUMNS, input_types
from ._store import import_mlflow, open_store, using_store

logger = logging.getLogger(__name__)

__all__ = ["spark_scores"]

_HINT = (
    'spark_scores needs PySpark: pip install "send_early[spark]" (and a Java runtime, 17 or newer)'
)
_REASONS = tuple(c for c in OUTPUT_COLUMNS if c.startswith("reason_"))
#: What the UDF returns per child (a Spark DDL struct): the columns a batch gives exactly.
_PER_CHILD = "risk double, " + ", ".join(f"{c} string" for c in _REASONS)


def spark_scores(features, model: str, *, capacity=None, tracking_uri=None):
    """Score a Spark DataFrame of features with a registered model, ranked across the frame.

    The model is loaded and checked as :func:`load_model` does (registry tags, SHA-256,
    signature, approval); the version it resolves to is put to
    ``mlflow.pyfunc.spark_udf(..., env_manager="local")``, which runs the model's
    pyfunc on each batch of rows in the Spark workers and gives each child's risk and
    reasons (children outside the model's age range: no risk, the reason in
    ``reason_1``). Rank and flag come from Spark over the whole frame: rank by risk
    (highest first), ties by ``child_id`` in code point order, and the capacity (the
    model spec's count, share rounded down, or threshold; or ``capacity``), as
    :meth:`send_early.RiskModel.score` does. docs/engines.md.

    Parameters
    ----------
    features : pyspark.sql.DataFrame
        One row per child: ``child_id`` (unique) and the model's feature columns as
        :func:`send_early.build_features` names them (codes as text, missing as null),
        e.g. ``spark.read.parquet`` of ``send-early features ... --out FILE``.
    model : str
        ``models:/NAME@ALIAS``, ``models:/NAME/VERSION``, ``NAME@ALIAS``, ``NAME/VERSION``
        or ``NAME`` (its ``champion``), as for :func:`load_model`.
    capacity : int, float or str, optional
        Overrides the spec's capacity: a number of children, or a share (``0.05``,
        ``"5%"``) rounded down to whole children. See
        :func:`send_early.evaluation.parse_capacity`.
    tracking_uri : str or path-like, optional
        MLflow tracking URI or store folder.

    Returns
    -------
    pyspark.sql.DataFrame
        Lazy and unordered: ``child_id`` (string), ``risk`` (double, null outside the
        age range), ``rank`` (long, null outside), ``flagged`` (boolean), ``reason_1``
        .. ``reason_3`` (strings, empty when none). Ranking needs the whole frame in one
        Spark partition (Spark warns that no partition is defined for the window).

    Raises
    ------
    SchemaError
        If ``features`` lacks a column the model needs (named, never a value). A
        repeated or null ``child_id`` fails the Spark job when it runs.
    """
    try:
        from pyspark.sql import DataFrame, Window
        from pyspark.sql import functions as F
    except ImportError as exc:
        raise ImportError(_HINT) from exc
    if not isinstance(features, DataFrame):
        raise TypeError(
            "features must be a Spark DataFrame (for example spark.read.parquet of the "
            f"features); found {type(features).__name__}. For pandas use RiskModel.score_features."
        )
    cap = parse_capacity(capacity) if capacity is not None else None
    risk_model = load_model(model, tracking_uri=tracking_uri)
    cap = cap or risk_model.capacity_rule()
    inputs = list(input_types(risk_model))  # child_id and the feature columns
    missing = [c for c in inputs if c not in features.columns]
    if missing:
        raise SchemaError(
            f"features must have every column the model reads; {len(missing)} missing: "
            f"{', '.join(missing[:20])}{' ...' if len(missing) > 20 else ''}. Build them with "
            "send_early.build_features and the model's pipeline."
        )
    udf = _per_child_udf(features.sparkSession, risk_model.registry_["model_uri"], tracking_uri)

    per_child = udf(F.struct(*(features[c] for c in inputs)))
    scored = features.select(
        features["child_id"].cast("string").alias("child_id"), per_child.alias("_se")
    ).select("child_id", *(F.col(f"_se.{c}").alias(c) for c in ("risk", *_REASONS)))
    risk, child = F.col("risk"), F.col("child_id")
    in_range = risk.isNotNull()
    by_risk = Window.orderBy(risk.desc_nulls_last(), child.asc())
    rank = F.when(in_range, F.row_number().over(by_risk).cast("long"))
    n = F.count(risk).over(Window.partitionBy())  # children scored (in the age range)
    repeats = F.count(F.lit(1)).over(Window.partitionBy(child))
    if "k" in cap:
        flag = rank <= F.lit(cap["k"])
    elif "share" in cap:
        flag = rank <= F.floor(F.lit(cap["share"]) * n + F.lit(SHARE_TOLERANCE))
    else:
        flag = risk >= F.lit(cap["threshold"])
    checked = F.when(
        repeats > 1,
        F.raise_error(F.lit("features must have one row per child_id; some child_id repeat.")),
    ).otherwise(child)
    return scored.select(
        checked.alias("child_id"),
        risk,
        rank.alias("rank"),
        F.coalesce(flag & in_range, F.lit(False)).alias("flagged"),
        *(F.coalesce(F.col(c), F.lit("")).alias(c) for c in _REASONS),
    )


def _per_child_udf(spark, model_uri: str, tracking_uri):
    """``mlflow.pyfunc.spark_udf`` giving risk and reasons per child (a struct).

    A batch's own ranking uses a capacity of one child (dropped anyway), so a share of a
    small batch logs no "rounds down to 0" warning in the workers.
    """
    mlflow = import_mlflow()
    with using_store(open_store(tracking_uri, create=False)), _no_local_env_warning():
        return mlflow.pyfunc.spark_udf(
            spark,
            model_uri,
            result_type=_PER_CHILD,
            env_manager="local",
            params={"capacity": 1.0},
        )


class _LocalEnvFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return 'env_manager="local"' not in record.getMessage()


@contextlib.contextmanager
def _no_local_env_warning():
    """Drop MLflow's advice against ``env_manager="local"``: a send_early model is data read
    by the installed package, so the local environment is the one that must score it."""
    target = logging.getLogger("mlflow.pyfunc")
    only = _LocalEnvFilter()
    target.addFilter(only)
    try:
        yield
    finally:
        target.removeFilter(only)
