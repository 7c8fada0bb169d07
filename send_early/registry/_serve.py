"""``send-early serve``: MLflow's scoring server in front of a verified RiskModel.

``mlflow models serve`` works with a registered send_early model, but MLflow checks
request parameters itself and, when one fails its type check (``"capacity": "lots"``),
answers 400 with ``Failed to predict data '<the request rows>'``: the rows, child ids
included, go back in the response body and into the server's log. MLflow also loads
the model by following the MLmodel file, so it trusts whatever the store holds.

:func:`make_app` keeps MLflow's HTTP protocol (``/ping``, ``/health``, ``/version``,
``/invocations`` with ``dataframe_split``, ``dataframe_records`` or CSV bodies and a
``params`` object) but puts send_early in front of it: the model is loaded by
:func:`send_early.registry.load_model` (digest, and signature where a key is set,
checked before use), parameters are checked by send_early with messages naming the
parameter and the rule, and the rows are scored by
:func:`send_early.registry._pyfunc.predict_frame`, the function the pyfunc, batch
scoring and the CLI share. Any error raised while predicting is replaced by a
message that quotes no value.
"""

from __future__ import annotations

import logging
import os

from ..exceptions import SchemaError
from ._pyfunc import predict_frame, signature_for
from ._store import import_mlflow

logger = logging.getLogger(__name__)

#: Parameters a request may carry.
PARAMS = ("capacity",)


def check_params(params) -> dict:
    """Request parameters, checked by send_early: only ``capacity`` (count or share).

    Returns
    -------
    dict
        ``{"capacity": value}`` ready for :func:`predict_frame`, or ``{}``.

    Raises
    ------
    SchemaError
        Naming the parameter and the rule; never quoting the request's rows.

    Examples
    --------
    >>> check_params({"capacity": "5%"}), check_params({"capacity": 400}), check_params(None)
    ({'capacity': 0.05}, {'capacity': 400}, {})
    >>> check_params({"capcity": 4})
    Traceback (most recent call last):
    ...
    send_early.exceptions.SchemaError: params may hold only capacity; found an unknown parameter: capcity.
    """
    from ..evaluation import parse_capacity

    if params is None:
        return {}
    if not isinstance(params, dict):
        raise SchemaError(
            f"params must be a JSON object such as {{'capacity': 400}}; found a "
            f"{type(params).__name__}."
        )
    unknown = sorted(str(k) for k in params if k not in PARAMS)
    if unknown:
        raise SchemaError(
            f"params may hold only {', '.join(PARAMS)}; found an unknown parameter: "
            f"{', '.join(unknown)[:200]}."
        )
    value = params.get("capacity")
    if value is None or (not isinstance(value, bool) and value == 0):
        return {}  # the model spec's own capacity policy
    try:
        parsed = parse_capacity(value)
    except (TypeError, ValueError) as exc:
        raise SchemaError(str(exc)) from None
    if "k" in parsed:
        return {"capacity": parsed["k"]}
    return {"capacity": parsed["share"]}


class _Guarded:
    """What MLflow's scoring server calls: ``metadata`` and ``predict(data, params)``."""

    def __init__(self, model, metadata):
        self.model = model
        self.metadata = metadata

    def predict(self, data, params=None):
        capacity = check_params(params).get("capacity")
        if capacity is not None and not isinstance(capacity, int) and capacity == 1.0:
            params = {"capacity": max(1, len(data))}  # 100%: every child (1.0 reads as 1 child)
        else:
            params = {"capacity": capacity} if capacity is not None else None
        try:
            return predict_frame(self.model, data, params)
        except (SchemaError, ValueError) as exc:
            raise SchemaError(str(exc)) from None
        except Exception as exc:  # MLflow's own exceptions may quote the rows
            logger.debug("Scoring failed", exc_info=True)
            raise SchemaError(
                f"The model could not score this request ({type(exc).__name__}; details are "
                "not shown because they may quote a child's values)."
            ) from None


def make_app(model_uri: str, *, tracking_uri: str | os.PathLike | None = None):
    """MLflow's scoring app (FastAPI) serving a registered model through send_early.

    Parameters
    ----------
    model_uri : str
        ``models:/NAME@ALIAS``, ``models:/NAME/VERSION``, ``NAME@ALIAS`` or ``NAME``.
    tracking_uri : str or path-like, optional
        MLflow tracking URI or store folder (default: ``$MLFLOW_TRACKING_URI``, then
        ``$SEND_EARLY_STORE``, then ``./send_early_store``). Never created.

    Returns
    -------
    fastapi.FastAPI
        With MLflow's routes; ``/invocations`` scores with :func:`predict_frame`.
    """
    from ._loading import load_model

    import_mlflow()  # telemetry off before MLflow's server modules load
    from mlflow.models import Model
    from mlflow.pyfunc import scoring_server

    model = load_model(model_uri, tracking_uri=tracking_uri)
    metadata = Model(signature=signature_for(model.feature_schema()))
    logger.info("Serving %s", model.registry_.get("model_uri", model_uri))
    return scoring_server.init(_Guarded(model, metadata))


def serve(
    model_uri: str,
    *,
    host: str = "127.0.0.1",
    port: int = 5000,
    tracking_uri: str | os.PathLike | None = None,
) -> None:
    """Serve a registered model over HTTP until interrupted (see :func:`make_app`).

    Binds to ``127.0.0.1`` unless ``host`` says otherwise: scores are about children,
    so exposing the server on a network is a decision for whoever runs it.
    """
    import uvicorn

    app = make_app(model_uri, tracking_uri=tracking_uri)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
