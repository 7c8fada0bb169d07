"""Nothing stored with a model runs (issue 16): planted pickles and Python files, rewritten
MLmodel files, class names in the store, and optional signing with a key kept outside it.

A real RiskModel is registered once; each test works on a copy of that store and plants
payloads that would create a marker file if anything ran them.
"""

from __future__ import annotations

import logging
import pickle
import re
import shutil
from pathlib import Path

import pytest
import yaml
from fake_risk_model import FakeRiskModel

from send_early import IntegrityError
from send_early.cli import main
from send_early.registry import directory_sha256, load_model, log_model, open_store
from send_early.registry._signing import KEY_ENV, KEY_FILE_ENV, signing_key
from send_early.registry._tags import CLASS_TAG, SHA_TAG, SIGNATURE_TAG

from .conftest import fresh_store

AS_OF = "2023-09-01"
KEY = "a council's signing key, kept off the store: 7f3c9e"
OTHER_KEY = "another key, of someone who is not the council: 0b2d"


class Payload:
    """Unpickling this creates ``marker``: the file must never appear."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def python_payload(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').close()\n"


@pytest.fixture(scope="module")
def registered(tmp_path_factory, template_db, fitted_model, small_cohort):
    """A store holding a real RiskModel as ``risk`` version 1 (challenger), and an extract."""
    from send_early.schema import write_tables

    root = tmp_path_factory.mktemp("trust")
    store = fresh_store(template_db, root / "store")
    info = log_model(fitted_model, registered_name="risk", tracking_uri=store)
    extract = write_tables(small_cohort, root / "extract", extract_date=small_cohort.extract_date)
    return store, info, Path(extract)


@pytest.fixture
def copy(registered, tmp_path):
    """A copy of the registered store to tamper with; (store, model folder, extract)."""
    source, info, extract = registered
    store = tmp_path / "store"
    shutil.copytree(source, store)
    model_id = info.model_uri.rsplit("/", 1)[-1]
    return store, store / "artifacts" / "models" / model_id / "artifacts", extract


def send_early_score(store, extract, tmp_path, capsys) -> tuple[int, str]:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    capsys.readouterr()
    rc = main(["score", str(extract), "--model", "models:/risk-candidates@challenger", "--store", str(store),
               "--as-of", AS_OF, "--out", str(out / "scores.csv")])  # fmt: skip
    return rc, capsys.readouterr().err


def pyfunc(model_dir: Path):
    import mlflow.pyfunc

    return mlflow.pyfunc.load_model(str(model_dir))


def refused_everywhere(store, model_dir, extract, tmp_path, capsys, match: str) -> None:
    """send_early.registry.load_model and send-early score refuse, naming ``match``."""
    with pytest.raises(IntegrityError, match=match):
        load_model("risk-candidates@challenger", tracking_uri=store)
    rc, err = send_early_score(store, extract, tmp_path, capsys)
    assert rc == 1 and re.search(match, err), err
    assert "Traceback" not in err


def loads_everywhere(store, model_dir, extract, tmp_path, capsys, features) -> None:
    model = load_model("risk-candidates@challenger", tracking_uri=store)
    rc, err = send_early_score(store, extract, tmp_path, capsys)
    assert rc == 0, err
    out = pyfunc(model_dir).predict(features.head(20))
    assert out["risk"].notna().all()
    assert model.registry_["version"] == "1"


# ----------------------------------------------------------------------------- planted pickles
def test_planted_pickles_never_run(copy, tmp_path, capsys, logged_real):
    store, model_dir, extract = copy
    features = logged_real[2]
    marker = tmp_path / "pickle_ran"
    payload = pickle.dumps(Payload(marker))
    data = model_dir / "data" / "risk_model"
    for where in (model_dir, model_dir / "data"):  # beside the model folder
        (where / "model.joblib").write_bytes(payload)
        (where / "python_model.pkl").write_bytes(payload)
    (data / "model.joblib").write_bytes(payload)  # inside it: the folder changed
    match = "must match the SHA-256 recorded"
    refused_everywhere(store, model_dir, extract, tmp_path, capsys, match)
    with pytest.raises(IntegrityError, match=match):
        pyfunc(model_dir)  # mlflow.pyfunc.load_model on the untampered MLmodel
    (data / "model.joblib").unlink()
    loads_everywhere(store, model_dir, extract, tmp_path, capsys, features)  # beside: ignored
    assert not marker.exists()


def test_a_replaced_model_file_with_a_rewritten_hash_runs_nothing(copy, tmp_path, capsys):
    """What write access to the store allows: replace a file and rewrite every hash."""
    store, model_dir, extract = copy
    marker = tmp_path / "pickle_ran"
    data = model_dir / "data" / "risk_model"
    (data / "arrays.npz").write_bytes(pickle.dumps(Payload(marker)))
    digest = directory_sha256(data)
    open_store(store).client().set_model_version_tag("risk-candidates", "1", SHA_TAG, digest)
    mlmodel = model_dir / "MLmodel"
    meta = yaml.safe_load(mlmodel.read_text())
    meta["metadata"]["send_early_artifact_sha256"] = digest
    mlmodel.write_text(yaml.safe_dump(meta))
    match = "arrays.npz must be a NumPy .npz archive of plain arrays"
    refused_everywhere(store, model_dir, extract, tmp_path, capsys, match)
    with pytest.raises(IntegrityError, match=match):
        pyfunc(model_dir)
    assert not marker.exists()


# ----------------------------------------------------------------------------- planted code
def test_planted_python_files_never_run(copy, tmp_path, capsys, logged_real):
    store, model_dir, extract = copy
    marker = tmp_path / "python_ran"
    code = python_payload(marker)
    (model_dir / "send_early_pyfunc.py").write_text(code)  # the file earlier releases stored
    (model_dir / "code" / "send_early").mkdir(parents=True)
    (model_dir / "code" / "send_early" / "__init__.py").write_text(code)
    (model_dir / "data" / "sitecustomize.py").write_text(code)
    loads_everywhere(store, model_dir, extract, tmp_path, capsys, logged_real[2])
    (model_dir / "data" / "risk_model" / "model.py").write_text(code)
    refused_everywhere(store, model_dir, extract, tmp_path, capsys, "must match the SHA-256")
    assert not marker.exists()


def _loader_module(conf, model_dir, marker):
    (model_dir / "code").mkdir()
    (model_dir / "code" / "evil_loader.py").write_text(python_payload(marker))
    conf.update(loader_module="evil_loader", code="code")


def _python_model(conf, model_dir, marker):
    (model_dir / "python_model.pkl").write_bytes(pickle.dumps(Payload(marker)))
    conf.pop("loader_module")
    conf.update(python_model="python_model.pkl")


def _code_paths(conf, model_dir, marker):
    (model_dir / "code" / "send_early").mkdir(parents=True)
    (model_dir / "code" / "send_early" / "__init__.py").write_text(python_payload(marker))
    conf.update(code="code")


def _sklearn(conf, model_dir, marker):
    (model_dir / "model.pkl").write_bytes(pickle.dumps(Payload(marker)))
    conf.clear()
    conf.update(loader_module="mlflow.sklearn", pickled_model="model.pkl", python_version="3.11")


@pytest.mark.parametrize(
    ("tamper", "match"),
    [
        (_loader_module, r"MLmodel file of .* must name loader_module send_early.registry."),
        (_python_model, r"was logged by an earlier send_early .* Re-train the model"),
        (_code_paths, r"MLmodel file of .* must store no code paths"),
        (_sklearn, r"MLmodel file of .* must name the python_function flavor only"),
    ],
    ids=["loader_module", "python_model", "code_paths", "mlflow.sklearn"],
)
def test_a_rewritten_mlmodel_is_refused(copy, tmp_path, capsys, tamper, match):
    store, model_dir, extract = copy
    marker = tmp_path / "code_ran"
    meta = yaml.safe_load((model_dir / "MLmodel").read_text())
    tamper(meta["flavors"]["python_function"], model_dir, marker)
    if tamper is _sklearn:
        meta["flavors"]["sklearn"] = {"pickled_model": "model.pkl", "serialization_format": "cloudpickle"}  # fmt: skip
    (model_dir / "MLmodel").write_text(yaml.safe_dump(meta))
    refused_everywhere(store, model_dir, extract, tmp_path, capsys, match)
    assert not marker.exists()


def test_a_version_of_the_old_format_is_refused_unread(copy, tmp_path, capsys):
    """Earlier releases stored a Python file, artifacts/risk_model and model.joblib."""
    store, model_dir, extract = copy
    marker = tmp_path / "old_ran"
    old = model_dir / "artifacts" / "risk_model"
    old.parent.mkdir()
    shutil.move(model_dir / "data" / "risk_model", old)
    (old / "model.joblib").write_bytes(pickle.dumps(Payload(marker)))
    (model_dir / "send_early_pyfunc.py").write_text(python_payload(marker))
    meta = yaml.safe_load((model_dir / "MLmodel").read_text())
    conf = meta["flavors"]["python_function"]
    conf.pop("loader_module"), conf.pop("data")
    conf.update(python_model="send_early_pyfunc.py", artifacts={"risk_model": {"path": "x"}})
    (model_dir / "MLmodel").write_text(yaml.safe_dump(meta))
    refused_everywhere(store, model_dir, extract, tmp_path, capsys, "earlier send_early")
    assert not marker.exists()


# ----------------------------------------------------------------------------- class names
def test_the_class_is_never_taken_from_the_store(fitted_fake, store_dir, tmp_path, monkeypatch):
    marker = tmp_path / "import_ran"
    (tmp_path / "evil_mod.py").write_text(python_payload(marker) + "class Evil:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    info = log_model(fitted_fake, registered_name="risk", tracking_uri=store_dir)
    client = open_store(store_dir).client()
    assert client.get_model_version("risk-candidates", info.version).tags[CLASS_TAG] == (
        "fake_risk_model.FakeRiskModel"
    )
    assert isinstance(
        load_model("risk-candidates@challenger", tracking_uri=store_dir), FakeRiskModel
    )
    client.set_model_version_tag("risk-candidates", info.version, CLASS_TAG, "evil_mod.Evil")
    with pytest.raises(IntegrityError, match="never imports a class named by the store"):
        load_model("risk-candidates@challenger", tracking_uri=store_dir)
    assert not marker.exists()
    with pytest.raises(TypeError, match="model_class must be a class passed in Python"):
        load_model(
            "risk-candidates@challenger", tracking_uri=store_dir, model_class="evil_mod.Evil"
        )
    assert isinstance(
        load_model("risk-candidates@challenger", tracking_uri=store_dir, model_class=FakeRiskModel),
        FakeRiskModel,
    )
    assert not marker.exists()


# ----------------------------------------------------------------------------- signing
def test_signed_versions_verify_and_a_rewritten_hash_needs_the_key(
    fitted_fake, store_dir, tmp_path, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(KEY_ENV, KEY)
    info = log_model(fitted_fake, registered_name="risk", tracking_uri=store_dir)
    client = open_store(store_dir).client()
    tags = client.get_model_version("risk-candidates", info.version).tags
    assert tags[SIGNATURE_TAG].startswith("hmac-sha256:") and len(tags[SIGNATURE_TAG]) == 76
    assert (
        load_model("risk-candidates@challenger", tracking_uri=store_dir).registry_["version"] == "1"
    )

    monkeypatch.setenv(KEY_ENV, OTHER_KEY)
    with pytest.raises(IntegrityError, match="signature of .* must match its model files"):
        load_model("risk-candidates@challenger", tracking_uri=store_dir)
    monkeypatch.delenv(KEY_ENV)
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    monkeypatch.setenv(KEY_FILE_ENV, str(key_file))
    assert signing_key() == KEY.encode()
    load_model("risk-candidates@challenger", tracking_uri=store_dir)  # the same key, from a file

    # write access: change the model and rewrite its hash; only the key can sign it
    folder = next(store_dir.rglob("data/risk_model"))
    state = folder / "fake_model.json"
    state.write_text(state.read_text().replace('"capacity": 3', '"capacity": 30'))
    digest = directory_sha256(folder)
    client.set_model_version_tag("risk-candidates", info.version, SHA_TAG, digest)
    mlmodel = folder.parent.parent / "MLmodel"
    meta = yaml.safe_load(mlmodel.read_text())
    meta["metadata"]["send_early_artifact_sha256"] = digest
    mlmodel.write_text(yaml.safe_dump(meta))
    with pytest.raises(IntegrityError, match="signature of .* must match") as err:
        load_model("risk-candidates@challenger", tracking_uri=store_dir)
    monkeypatch.delenv(KEY_FILE_ENV)
    assert (
        load_model("risk-candidates@challenger", tracking_uri=store_dir).capacity == 30
    )  # no key: loads

    # the key is never stored, logged or shown
    secret = KEY.encode()
    files = [p for p in store_dir.rglob("*") if p.is_file()]
    assert not [p for p in files if secret in p.read_bytes()]
    assert KEY not in str(err.value) and KEY not in caplog.text
    assert not [t for t in tags.values() if KEY in t]


def test_an_unsigned_version_is_refused_when_a_key_is_set(fitted_fake, store_dir, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    log_model(fitted_fake, registered_name="risk", tracking_uri=store_dir)
    monkeypatch.setenv(KEY_ENV, KEY)
    with pytest.raises(IntegrityError, match="must carry a signature; it has none"):
        load_model("risk-candidates@challenger", tracking_uri=store_dir)


def test_a_signed_pyfunc_checks_its_signature_before_reading_the_model(
    copy, tmp_path, monkeypatch, fitted_model, logged_real
):
    store, _, _ = copy
    monkeypatch.setenv(KEY_ENV, KEY)
    info = log_model(fitted_model, registered_name="signed", tracking_uri=store)
    model_dir = store / "artifacts" / "models" / info.model_uri.rsplit("/", 1)[-1] / "artifacts"
    assert "send_early_signature: hmac-sha256:" in (model_dir / "MLmodel").read_text()
    assert pyfunc(model_dir).predict(logged_real[2].head(5))["risk"].notna().all()
    # a replaced file and a rewritten hash: refused on the signature, before any parsing
    marker = tmp_path / "ran"
    data = model_dir / "data" / "risk_model"
    (data / "arrays.npz").write_bytes(pickle.dumps(Payload(marker)))
    meta = yaml.safe_load((model_dir / "MLmodel").read_text())
    meta["metadata"]["send_early_artifact_sha256"] = directory_sha256(data)
    (model_dir / "MLmodel").write_text(yaml.safe_dump(meta))
    with pytest.raises(IntegrityError, match="signature of .* must match"):
        pyfunc(model_dir)
    monkeypatch.setenv(KEY_ENV, OTHER_KEY)
    with pytest.raises(IntegrityError, match="signature of .* must match"):
        pyfunc(model_dir)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("env", "match"),
    [
        ({KEY_ENV: "short"}, "at least 32 bytes; the one in SEND_EARLY_SIGNING_KEY is shorter"),
        ({KEY_ENV: KEY, KEY_FILE_ENV: "k"}, "Set one of SEND_EARLY_SIGNING_KEY and"),
        ({KEY_FILE_ENV: "/no/such/key"}, "must name a readable key file; /no/such/key"),
    ],
    ids=["short", "both", "unreadable"],
)
def test_bad_key_settings_stop_logging_and_loading(fitted_fake, store_dir, monkeypatch, env, match):
    for name in (KEY_ENV, KEY_FILE_ENV):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=match) as err:
        log_model(fitted_fake, registered_name="risk", tracking_uri=store_dir)
    assert KEY not in str(err.value)
    assert open_store(store_dir).client().search_registered_models() == []  # nothing logged
    with pytest.raises(ValueError, match=match):
        load_model("risk", tracking_uri=store_dir)  # checked before the store is read
