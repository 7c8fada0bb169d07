"""Log send_early risk models and batch drift to MLflow.

:func:`log_model` logs a fitted RiskModel in one run and registers it as a candidate;
:func:`log_drift` logs population stability indices. Only aggregates are ever written
to MLflow: spec names and hashes, dates, counts and metrics; never a child's row.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import json
import logging
import math
import os
import re
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from ._card import card_figures, check_tags, describe_version, parse_checks, with_approval
from ._identity import acting_user, candidates_name, production_name, server_errors
from ._loading import _class_path
from ._pyfunc import directory_sha256, input_types, signature_for
from ._pyfunc_loader import FORMAT_KEY, LOADER_MODULE, SHA_KEY, SIGNATURE_KEY
from ._signing import sign, signing_key
from ._store import (
    DEFAULT_EXPERIMENT,
    _get_or_create_experiment,
    import_mlflow,
    open_store,
    using_store,
)
from ._tags import (
    CARD_SHA_TAG,
    CLASS_TAG,
    REGISTERED_BY_TAG,
    SHA_TAG,
    SIGNATURE_TAG,
    STATUS_TAG,
    TAG,
)
from ._versions import check_alias

logger = logging.getLogger(__name__)

_MODEL_ARTIFACT = "model"  # name of the logged pyfunc model


@dataclass(frozen=True)
class LoggedModel:
    """What :func:`log_model` logged and registered.

    Attributes
    ----------
    run_id, model_uri : str
        The MLflow run and the logged model (``models:/m-...``).
    name : str or None
        The production model the candidate is for (None if not registered); the
        candidate itself is registered as ``registered_as`` (``NAME-candidates``).
    version : str or None
        Candidate version number (what ``promote NAME VERSION`` takes).
    artifact_sha256 : str
        SHA-256 of the saved RiskModel directory, also stored as the version tag
        ``send_early.artifact_sha256``.
    tracking_uri : str
        Where it was logged.
    """

    run_id: str
    model_uri: str
    name: str | None
    version: str | None
    artifact_sha256: str
    tracking_uri: str
    registered_as: str | None = None

    @property
    def registered_uri(self) -> str | None:
        """``models:/NAME-candidates/VERSION``, or None if not registered."""
        return f"models:/{self.registered_as}/{self.version}" if self.registered_as else None

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        if not self.registered_as:
            return f"Logged {self.model_uri} (run {self.run_id}) to {self.tracking_uri}"
        return (
            f"Registered candidate {self.registered_as} version {self.version} (run "
            f"{self.run_id}) in {self.tracking_uri}\nartifact sha256 {self.artifact_sha256}\n"
            f"It scores only after another person approves it: send-early review {self.name} "
            f"{self.version}, then send-early promote {self.name} {self.version} --note TEXT"
        )


# --------------------------------------------------------------------------- helpers
def _sha(text: str | None) -> str | None:
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text else None


def _to_dict(obj) -> dict:
    if obj is None:
        return {}
    if hasattr(obj, "to_dict") and not isinstance(obj, Mapping | pd.DataFrame | pd.Series):
        obj = obj.to_dict()
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TypeError(
        f"Metrics must be a mapping or an object with .to_dict() returning one; found "
        f"{type(obj).__name__}."
    )


_BAD_KEY = re.compile(r"[^0-9A-Za-z_\-. /:]")


def _flatten_numbers(d: Mapping, prefix: str = "", depth: int = 0) -> dict[str, float]:
    """Finite scalar numbers of a nested mapping, with dotted keys. Lists are skipped."""
    out: dict[str, float] = {}
    for key, value in d.items():
        name = _BAD_KEY.sub("_", f"{prefix}{key}")
        if isinstance(value, Mapping) and depth < 3:
            out.update(_flatten_numbers(value, name + ".", depth + 1))
        elif isinstance(value, bool):
            out[name] = float(value)
        elif isinstance(value, int | float) or (
            hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0
        ):
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue
            if math.isfinite(number):
                out[name] = number
    return out


def _scalar_params(d: Mapping) -> dict[str, str]:
    """Short scalar metadata as params (spec text and long values are artifacts)."""
    out: dict[str, str] = {}
    for key, value in d.items():
        if str(key).endswith("_text"):
            continue
        if isinstance(value, list | tuple):
            if not all(isinstance(v, str | int | float | _dt.date) for v in value):
                continue
            value = ",".join(
                str(pd.Timestamp(v).date()) if isinstance(v, _dt.date) else str(v) for v in value
            )
        elif isinstance(value, _dt.date):
            value = str(pd.Timestamp(value).date())
        elif not isinstance(value, str | int | float | bool):
            continue
        value = str(value)
        if len(value) <= 500:
            out[_BAD_KEY.sub("_", str(key))] = value
    return out


_SETTINGS = {"min_cell", "n_bootstrap", "confidence", "random_state", "n_bins"}


def _split_settings(numbers: dict[str, float]) -> tuple[dict[str, float], dict[str, str]]:
    """Metrics and params from flattened results: settings (``params.*``, ``n_bins``,
    ``min_cell``, ...) are params, the rest metrics."""
    metrics, params = {}, {}
    for key, value in numbers.items():
        parts = key.split(".")
        if "params" in parts[:-1] or parts[-1] in _SETTINGS:
            params[key.replace("params.", "evaluation.", 1)] = f"{value:g}"
        else:
            metrics[key] = value
    return metrics, params


def _pip_requirements() -> list[str]:
    reqs = []
    for dist in ("mlflow", "scikit-learn", "scipy", "pandas", "numpy", "send-early"):
        try:
            reqs.append(f"{dist}=={importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            reqs.append(dist)
    return reqs


def _global_explanation(model) -> pd.DataFrame | None:
    value = getattr(model, "global_explanation_", None)
    if value is None and callable(getattr(model, "global_explanation", None)):
        value = model.global_explanation()
    return value if isinstance(value, pd.DataFrame) else None


# --------------------------------------------------------------------------- log
def log_model(
    model,
    *,
    evaluation=None,
    audit=None,
    card_paths: Sequence[str | os.PathLike] | None = None,
    registered_name: str | None = None,
    tracking_uri: str | os.PathLike | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
    extra_params: Mapping | None = None,
    extra_metrics: Mapping | None = None,
    alias: str | None = "challenger",
) -> LoggedModel:
    """Log a fitted RiskModel to MLflow in one run and register it as a candidate.

    The version is registered under ``NAME-candidates``, never under ``NAME``: only
    :func:`~send_early.registry.promote`, run by someone else, copies it into the
    production model ``NAME``. The version records who registered it (tag
    ``send_early.registered_by``: the authenticated user on a server, else the OS user)
    and the SHA-256 of the JSON model card (``send_early.card_sha256``).

    The run gets params (spec names and hashes, outcome, horizon, as-of dates, data
    counts, evaluation settings such as ``k`` and ``n_bins``), metrics (the model
    card's headline, capacity, lead-time, fairness-ratio and backtest-spread figures,
    which the card has already put through the disclosure rule), artifacts (model
    card, global explanation, specs, data contract version) and the model as an MLflow
    pyfunc whose ``predict`` takes :func:`send_early.build_features` output (or plain
    JSON rows) and returns ``child_id, risk, rank, flagged, reason_1..3``, the same as
    batch scoring. The pyfunc stores the saved model folder as data (JSON, TOML, NumPy
    arrays; no pickle, no Python file) and names the installed
    ``send_early.registry._pyfunc_loader`` as its loader. It carries a signature built
    from a zero-row frame and no input example, so no child's row is stored. With a
    signing key set (``$SEND_EARLY_SIGNING_KEY`` or ``$SEND_EARLY_SIGNING_KEY_FILE``)
    the folder's digest is signed (HMAC-SHA256), and the signature is stored with the
    version and in the MLmodel metadata. The new version gets the alias
    ``challenger``, short readable tags (spec hashes, extract date, card checks, the
    SHA-256 of the saved model, checked by :func:`load_model`) and a Markdown
    description for the MLflow UI: headline, capacity, fairness and backtest figures
    from the card, each check with its result, the approval (see :func:`promote`) and
    where the card is.

    Parameters
    ----------
    model : RiskModel
        A fitted model (``save``, ``load``, ``score_features``, ``feature_schema``,
        ``metadata_``, ``pipeline_spec_text_``, ``model_spec_text_``).
    evaluation, audit : mapping or object with ``.to_dict()``, optional
        Evaluation and fairness results, used only when no JSON card is given: their
        finite numbers become metrics (audit metrics prefixed ``fairness.``), settings
        (``params.*``, ``n_bins``, ``min_cell``, ...) become params. Lists are ignored.
    card_paths : sequence of path-like, optional
        Model card files (HTML, JSON). The JSON card's ``checks`` decide whether
        :func:`promote` may proceed.
    registered_name : str, optional
        The production model's name (``NAME``); the candidate goes to
        ``NAME-candidates``. Defaults to ``model.name``.
    tracking_uri : str or path-like, optional
        MLflow tracking URI or store folder (see :func:`open_store`).
    experiment : str
        Experiment name.
    extra_params, extra_metrics : mapping, optional
        More params and metrics to log.
    alias : str or None
        Alias given to the new version (``None`` for none); one of
        :func:`~send_early.registry.allowed_aliases`.

    Returns
    -------
    LoggedModel

    Raises
    ------
    ValueError
        Also when a signing key is set but unusable (both variables set, file
        unreadable, shorter than 32 bytes), before anything is logged.
    """
    key, card_files, cards = _checked_inputs(alias, card_paths)
    card = cards[0] if cards else None
    store = open_store(tracking_uri, experiment=experiment)
    mlflow = import_mlflow()
    client = store.client()
    exp_id = _get_or_create_experiment(store, experiment)
    registered_name = registered_name or getattr(model, "name", None) or "send_early_risk"
    production = production_name(registered_name)
    registered_name = candidates_name(registered_name)
    author = acting_user(store)
    meta = dict(getattr(model, "metadata_", None) or {})
    specs = _spec_texts(model, meta)
    params = _run_params(model, meta, specs, registered_name)
    metrics, card_params = _run_metrics(card, evaluation, audit)
    params.update(card_params)
    params.update(_scalar_params(dict(extra_params or {})))
    metrics.update(_flatten_numbers(dict(extra_metrics or {})))

    with tempfile.TemporaryDirectory(prefix="send_early_log_") as tmp:
        saved = _write_artifacts(Path(tmp), model, meta, specs, key)
        with (
            using_store(store),
            mlflow.start_run(experiment_id=exp_id, run_name=registered_name) as run,
        ):
            run_id = run.info.run_id
            info = _log_run(mlflow, params, metrics, saved, card_files, model)

    tags = _version_tags(params, specs, saved, card_files, author, cards)
    description = describe_version(
        card,
        model_name=params["model_name"],
        run_id=run_id,
        card_files=[p.name for p in card_files],
        artifact_sha256=saved.sha256,
    )
    version = _register(store, client, registered_name, info, run_id, tags, description, alias)
    logger.info("Logged %s version %s (run %s).", registered_name, version, run_id)
    return LoggedModel(
        run_id=run_id,
        model_uri=info.model_uri,
        name=production,
        version=version,
        artifact_sha256=saved.sha256,
        tracking_uri=store.tracking_uri,
        registered_as=registered_name,
    )


def _checked_inputs(alias, card_paths) -> tuple[bytes | None, list[Path], list[dict]]:
    """The signing key, card files and JSON cards, each checked before anything is logged."""
    if alias is not None:
        check_alias(alias)
    key = signing_key()
    card_files = [Path(p) for p in (card_paths or [])]
    missing = [str(p) for p in card_files if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"Model card file must exist; {', '.join(missing)} not found.")
    from ..report import refuse_unknown_version

    paths = _json_cards(card_files)
    cards = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    for path, one in zip(paths, cards, strict=True):
        refuse_unknown_version(one, where=f"The model card {path}")
    return key, card_files, cards


def _json_cards(card_files: list[Path]) -> list[Path]:
    return [p for p in card_files if p.suffix.lower() == ".json"]


@dataclass(frozen=True)
class _Specs:
    """The model's spec texts (TOML) and their SHA-256 (from the texts or the metadata)."""

    pipeline_text: str | None
    model_text: str | None
    pipeline_sha: str | None
    model_sha: str | None


def _spec_texts(model, meta: Mapping) -> _Specs:
    pipeline_text = getattr(model, "pipeline_spec_text_", None)
    model_text = getattr(model, "model_spec_text_", None)
    return _Specs(
        pipeline_text,
        model_text,
        _sha(pipeline_text) or meta.get("pipeline_spec_sha256"),
        _sha(model_text) or meta.get("model_spec_sha256"),
    )


def _run_params(model, meta: Mapping, specs: _Specs, registered_name: str) -> dict[str, str]:
    """The run's params from the model's metadata: names, class, dates, counts, spec hashes."""
    params = _scalar_params(meta)
    params["model_name"] = str(getattr(model, "name", registered_name))
    params["model_class"] = _class_path(type(model))
    if specs.pipeline_sha:
        params["pipeline_spec_sha256"] = specs.pipeline_sha
    if specs.model_sha:
        params["model_spec_sha256"] = specs.model_sha
    return params


def _run_metrics(card, evaluation, audit) -> tuple[dict[str, float], dict[str, str]]:
    """Metrics and settings params: the card's figures, else the evaluation's and audit's."""
    if card is not None and any(k in card for k in ("metrics", "capacity", "fairness")):
        # the card's figures are disclosure-controlled; the evaluation's raw counts are not
        return card_figures(card)
    return _split_settings(
        {
            **_flatten_numbers(_to_dict(evaluation)),
            **_flatten_numbers(_to_dict(audit), "fairness."),
        }
    )


@dataclass(frozen=True)
class _Saved:
    """What :func:`_write_artifacts` wrote: the model folder, its digest and signature,
    the MLmodel metadata, the specs folder and the global explanation."""

    folder: Path
    sha256: str
    signature: str | None
    mlmodel_meta: dict
    specs: Path
    explanation: Path | None


def _write_artifacts(tmp: Path, model, meta: Mapping, specs: _Specs, key) -> _Saved:
    """Save the model, its specs and global explanation under ``tmp``; digest and sign."""
    saved = Path(model.save(tmp / "risk_model"))
    artifact_sha = directory_sha256(saved)
    signature = sign(artifact_sha, key) if key is not None else None
    mlmodel_meta = {"send_early_input_types": input_types(model), SHA_KEY: artifact_sha}
    if meta.get("format_version") is not None:
        mlmodel_meta[FORMAT_KEY] = meta["format_version"]
    if signature is not None:
        mlmodel_meta[SIGNATURE_KEY] = signature
    folder = tmp / "specs"
    folder.mkdir()
    if specs.pipeline_text:
        (folder / "pipeline.toml").write_text(specs.pipeline_text, encoding="utf-8")
    if specs.model_text:
        (folder / "model.toml").write_text(specs.model_text, encoding="utf-8")
    (folder / "data_contract.json").write_text(
        json.dumps({"contract_version": meta.get("contract_version")}), encoding="utf-8"
    )
    explanation = _global_explanation(model)
    path = None
    if explanation is not None:
        path = tmp / "global_explanation.csv"
        explanation.to_csv(path, index=True)
    return _Saved(saved, artifact_sha, signature, mlmodel_meta, folder, path)


def _log_run(mlflow, params, metrics, saved: _Saved, card_files: list[Path], model):
    """Params, metrics, artifacts and the pyfunc model into the active run."""
    mlflow.log_params(params)
    if metrics:
        mlflow.log_metrics(metrics)
    mlflow.log_artifacts(str(saved.specs), artifact_path="specs")
    for p in card_files:
        mlflow.log_artifact(str(p), artifact_path="model_card")
    if saved.explanation is not None:
        mlflow.log_artifact(str(saved.explanation), artifact_path="explain")
    with warnings.catch_warnings():
        # no input example on purpose: it would store children's rows
        warnings.filterwarnings("ignore", message=".*input example was not provided")
        # the installed package is the loader; the saved folder is data
        info = mlflow.pyfunc.log_model(
            name=_MODEL_ARTIFACT,
            loader_module=LOADER_MODULE,
            data_path=str(saved.folder),
            signature=signature_for(model.feature_schema()),
            pip_requirements=_pip_requirements(),
            metadata=saved.mlmodel_meta,
        )
    mlflow.set_tag(SHA_TAG, saved.sha256)
    return info


def _version_tags(
    params: Mapping, specs: _Specs, saved: _Saved, card_files: list[Path], author: str, cards
) -> dict[str, str]:
    """The candidate version's short readable tags (the cards' checks among them)."""
    checks = [c for one in cards for c in parse_checks(one)]
    tags = {
        SHA_TAG: saved.sha256,
        CLASS_TAG: params["model_class"],
        TAG + "model_name": params["model_name"],
        TAG + "extract_date": params.get("extract_date", ""),
        TAG + "contract_version": params.get("contract_version", ""),
        TAG + "card": "yes" if card_files else "no",
        REGISTERED_BY_TAG: author,
        **check_tags(checks),
        STATUS_TAG: "pending_review",
    }
    if specs.pipeline_sha:
        tags[TAG + "pipeline_spec_sha256"] = specs.pipeline_sha
    if specs.model_sha:
        tags[TAG + "model_spec_sha256"] = specs.model_sha
    if saved.signature is not None:
        tags[SIGNATURE_TAG] = saved.signature
    json_cards = _json_cards(card_files)
    if json_cards:
        tags[CARD_SHA_TAG] = hashlib.sha256(json_cards[0].read_bytes()).hexdigest()
    return tags


def _register(store, client, name: str, info, run_id: str, tags, description, alias) -> str:
    """Register the logged model as a new version of ``name`` (created if missing) with
    its tags, description and alias; returns the version number."""
    mlflow = import_mlflow()
    with server_errors(store, "register candidates in", name):
        try:
            client.create_registered_model(name)
        except mlflow.exceptions.MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
    with (
        server_errors(store, "register candidates in", name),
        using_store(store),  # the SQLite registry resolves models:/m-... via the global URI
    ):
        mv = client.create_model_version(
            name,
            info.model_uri,
            run_id=run_id,
            tags=tags,
            description=with_approval(description, {}),
            model_id=info.model_id,
        )
    version = str(mv.version)
    if alias:
        with server_errors(store, "register candidates in", name):
            client.set_registered_model_alias(name, alias, version)
    return version


# --------------------------------------------------------------------------- drift
def log_drift(
    psi,
    *,
    tracking_uri: str | os.PathLike | None = None,
    run_id: str | None = None,
    experiment: str = "send_early_batch",
    run_name: str = "drift",
    model: str | None = None,
    metrics: Mapping | None = None,
    params: Mapping | None = None,
) -> str:
    """Log population stability indices (and other batch aggregates) to an MLflow run.

    Parameters
    ----------
    psi : mapping, Series or DataFrame
        PSI per feature: ``{feature: psi}``, a Series indexed by feature, or a frame
        with columns ``feature`` and ``psi``. Logged as metrics ``psi.<feature>``.
    tracking_uri : str or path-like, optional
        MLflow tracking URI or store folder.
    run_id : str, optional
        Log into this run; by default a new run is created (and ended).
    experiment, run_name : str
        Experiment and run name of a new run.
    model : str, optional
        The scored model (e.g. ``"models:/risk/3"``), recorded as a tag.
    metrics, params : mapping, optional
        More aggregate metrics (counts of scored and rejected rows, ...) and params.

    Returns
    -------
    str
        The run id.
    """
    if isinstance(psi, pd.DataFrame):
        if not {"feature", "psi"} <= set(psi.columns):
            raise ValueError(
                f"A PSI frame must have columns 'feature' and 'psi'; found {list(psi.columns)}."
            )
        psi = dict(zip(psi["feature"].astype(str), psi["psi"], strict=True))
    elif isinstance(psi, pd.Series):
        psi = psi.to_dict()
    values = _flatten_numbers({str(k): v for k, v in dict(psi).items()}, "psi.")
    values.update(_flatten_numbers(dict(metrics or {})))
    store = open_store(tracking_uri)  # logging may create the store
    import_mlflow()
    from mlflow.entities import Metric, Param, RunTag

    client = store.client()
    created = run_id is None
    if created:
        exp_id = _get_or_create_experiment(store, experiment)
        tags = {"send_early.kind": "drift"}
        if model:
            tags[TAG + "model"] = str(model)
        run_id = client.create_run(exp_id, run_name=run_name, tags=tags).info.run_id
    stamp = int(_dt.datetime.now(_dt.UTC).timestamp() * 1000)
    items = list(values.items())
    try:
        for start in range(0, max(len(items), 1), 500):
            client.log_batch(
                run_id,
                metrics=[Metric(k, v, stamp, 0) for k, v in items[start : start + 500]],
                params=[Param(k, v) for k, v in _scalar_params(dict(params or {})).items()]
                if start == 0
                else [],
                tags=[RunTag(TAG + "model", str(model))]
                if (model and not created and start == 0)
                else [],
            )
    finally:
        if created:
            client.set_terminated(run_id)
    return run_id
