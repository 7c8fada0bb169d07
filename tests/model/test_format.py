"""The saved model format (version 2): data only, loaded bit for bit, every bad field refused."""

from __future__ import annotations

import json
import pickle
import zipfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator

from send_early import IntegrityError, RiskModel
from send_early.estimators import AdditiveRiskClassifier, ScorecardClassifier
from send_early.explain import explain_global

from ..conftest import TRAIN_DATES, fast_spec_text

AS_OF = "2023-09-01"
FILES = {"model.json", "arrays.npz", "model.toml", "pipeline.toml", "metadata.json"}
FILES |= {"reference.json"}
CASES = [
    (kind, method)
    for kind in ("additive", "scorecard")
    for method in ("sigmoid", "temperature", "isotonic", "none")
]


def spec_text(kind: str, method: str, seed: int) -> str:
    text = fast_spec_text(kind).replace('method = "sigmoid"', f'method = "{method}"')
    if kind == "additive":  # two pairs, one with a categorical feature (no screen: faster)
        pairs = 'interactions = [["age_months", "asq_communication"], ["eyfsp_gld_status", '
        pairs += '"imd_decile"]]'
        text = text.replace("n_interactions = 0", pairs)
        text = text.replace("random_state = 0", f"random_state = {seed}")
    else:
        text = text.replace("max_bins = 4", f"max_bins = 4\nrandom_state = {seed}")
    if method == "isotonic":
        text = text.replace('policy = "share"', 'policy = "threshold"')
    return text


@pytest.fixture(scope="module")
def cohort():
    from send_early.datasets import make_cohort

    return make_cohort(1500, random_state=11)


@pytest.fixture(scope="module")
def fitted(cohort, tmp_path_factory):
    """One model per estimator kind and calibration method, each with its own seed."""
    out = {}
    for seed, (kind, method) in enumerate(CASES):
        path = tmp_path_factory.mktemp("specs") / f"{kind}_{method}.toml"
        path.write_text(spec_text(kind, method, seed))
        out[kind, method] = RiskModel.from_spec(path).fit(cohort, TRAIN_DATES)
    return out


def assert_same_model(back: RiskModel, model: RiskModel, features: pd.DataFrame) -> None:
    """Risk, log-odds, contributions, reasons and shape tables equal to the last bit."""
    np.testing.assert_array_equal(back.predict_proba(features), model.predict_proba(features))
    np.testing.assert_array_equal(
        back.decision_function(features), model.decision_function(features)
    )
    pd.testing.assert_frame_equal(back.contributions(features), model.contributions(features))
    pd.testing.assert_frame_equal(back.score_features(features), model.score_features(features))
    pd.testing.assert_frame_equal(
        back.score_features(features, capacity=7), model.score_features(features, capacity=7)
    )
    est, est0 = back.estimator_, model.estimator_
    if hasattr(est0, "shape_tables"):
        pd.testing.assert_frame_equal(explain_global(back), explain_global(model))
        pd.testing.assert_frame_equal(est.shape_tables(), est0.shape_tables())
        pd.testing.assert_series_equal(est.term_importances(), est0.term_importances())
        X = features[model.feature_names_]
        pd.testing.assert_frame_equal(est.bin_labels(X), est0.bin_labels(X))
    else:
        pd.testing.assert_frame_equal(est.points_table_, est0.points_table_)
        pd.testing.assert_frame_equal(est.points_to_probability(), est0.points_to_probability())
    assert back.intercept_ == model.intercept_ and back.threshold_ == model.threshold_
    assert back.metadata_ == model.metadata_ and back.reference_ == model.reference_
    assert back.feature_dtypes_ == model.feature_dtypes_
    assert est.get_params() == est0.get_params()


@pytest.mark.parametrize(("kind", "method"), CASES)
def test_saved_model_loads_bit_for_bit(fitted, cohort, tmp_path, kind, method):
    model = fitted[kind, method]
    folder = model.save(tmp_path / "m")
    assert {p.name for p in folder.iterdir()} == FILES
    with np.load(folder / "arrays.npz", allow_pickle=False) as z:  # plain arrays only
        assert all(z[k].dtype.kind in "biuf" for k in z.files)
    back = RiskModel.load(folder)
    features = model.build_features(cohort, AS_OF)
    assert features.isna().any().any()  # missing values are scored through the file too
    assert_same_model(back, model, features)
    # a saved, loaded and saved again model is the same data (the .npz zip differs only
    # in its timestamps)
    again = back.save(tmp_path / "again")
    for name in FILES - {"arrays.npz"}:
        assert (again / name).read_bytes() == (folder / name).read_bytes(), name
    if kind == "additive":
        assert any(" x " in t for t in model.estimator_.term_names_)  # pairs were saved
        assert "eyfsp_gld_status" in model.feature_names_  # a categorical feature
        assert not hasattr(back.estimator_, "estimators_")  # the engines are not kept


def test_isotonic_calibration_from_its_thresholds_is_scikit_learns(fitted, cohort):
    model = fitted["additive", "isotonic"]
    f = model.build_features(cohort, "2021-09-01")
    X = f[model.feature_names_]
    y = (np.arange(len(X)) % 7 == 0).astype(int)
    cal = CalibratedClassifierCV(FrozenEstimator(model.estimator_), method="isotonic").fit(X, y)
    iso = cal.calibrated_classifiers_[0].calibrators[0]
    mine = type(model.calibrator_)(iso.X_thresholds_, iso.y_thresholds_)
    other = model.build_features(cohort, AS_OF)[model.feature_names_]
    expected = cal.predict_proba(other)[:, 1]
    np.testing.assert_array_equal(mine(model.estimator_.decision_function(other)), expected)


# ----------------------------------------------------------------------------- estimators
@st.composite
def tables(draw):
    n = draw(st.integers(80, 200))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.integers(0, draw(st.integers(2, 40)), n).astype(float),
            "c": pd.Categorical(rng.choice(["x", "y", "z"], n)),
        }
    )
    X.loc[rng.random(n) < draw(st.floats(0, 0.4)), "a"] = np.nan
    X.loc[rng.random(n) < 0.1, "c"] = np.nan
    z = np.nan_to_num(X["a"].to_numpy()) + 0.1 * X["b"] * (X["c"] == "x") + rng.normal(size=n)
    labels = draw(st.sampled_from([(0, 1), ("no", "yes"), (1.0, 2.0)]))
    y = np.where(z > np.median(z), labels[1], labels[0])
    return X, y, seed


@settings(max_examples=6, deadline=None)
@given(data=tables(), arrays=st.booleans())
def test_estimator_state_round_trips_through_json_and_npz(tmp_path_factory, data, arrays):
    X, y, seed = data
    if arrays:  # numpy input: no feature names, categorical codes given by index
        X = X.assign(c=X["c"].cat.codes.replace(-1, np.nan).astype(float)).to_numpy()
    cat = [2] if arrays else "from_dtype"
    for est in (
        AdditiveRiskClassifier(
            n_bags=1, max_iter=20, interactions=[(0, 1)], categorical_features=cat,
            random_state=seed,
        ),
        ScorecardClassifier(categorical_features=cat, random_state=seed),
        ScorecardClassifier(encoding="onehot", monotonic_cst=[1, 0, 0], random_state=seed),
    ):  # fmt: skip
        est.fit(X, y)
        fields, arrs = est._to_state()
        path = tmp_path_factory.mktemp("state") / "s.npz"
        np.savez(path, **arrs)
        with np.load(path, allow_pickle=False) as z:
            loaded = {k: z[k] for k in z.files}
        back = type(est)._from_state(json.loads(json.dumps(fields, allow_nan=False)), loaded)
        np.testing.assert_array_equal(back.contributions(X), est.contributions(X))
        np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
        np.testing.assert_array_equal(back.predict(X), est.predict(X))
        assert back.classes_.dtype == est.classes_.dtype


# ----------------------------------------------------------------------------- refusals
class Payload:
    """Unpickling this creates ``marker``: the file must never appear."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def saved(fitted, tmp_path):
    return fitted["additive", "isotonic"].save(tmp_path / "m")


def test_a_folder_of_the_old_format_is_refused_unread(saved, tmp_path):
    marker = tmp_path / "ran"
    (saved / "model.joblib").write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(IntegrityError, match=r"holds model.joblib.*Re-train the model") as err:
        RiskModel.load(saved)
    assert "log_model" in str(err.value) and not marker.exists()


def test_a_pickle_inside_the_arrays_is_refused(saved, tmp_path):
    marker = tmp_path / "ran"
    with np.load(saved / "arrays.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    evil = np.empty(1, dtype=object)
    evil[0] = Payload(marker)
    arrays["estimator.tables.0"] = evil
    np.savez(saved / "arrays.npz", **arrays)
    with pytest.raises(IntegrityError, match=r"arrays.npz must be a NumPy .npz archive of plain"):
        RiskModel.load(saved)
    (saved / "arrays.npz").write_bytes(pickle.dumps(Payload(marker)))  # a pickle, renamed
    with pytest.raises(IntegrityError, match=r"arrays.npz must be a NumPy .npz archive"):
        RiskModel.load(saved)
    assert not marker.exists()


def edit_json(folder, name, change):
    data = json.loads((folder / name).read_text())
    change(data)
    (folder / name).write_text(json.dumps(data))


def edit_arrays(folder, change):
    with np.load(folder / "arrays.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    np.savez(folder / "arrays.npz", **arrays)


def _nan_table(a):
    a["estimator.tables.0"] = a["estimator.tables.0"].copy()
    a["estimator.tables.0"][0] = np.nan


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda f: edit_json(f, "model.json", lambda d: d.update(extra=1)),
         r"model.json must have exactly the fields"),
        (lambda f: edit_json(f, "model.json", lambda d: d["estimator"].update({"class": "os.system"})),
         r"model.json field estimator must be \{class, state\} with class one of "
         "AdditiveRiskClassifier, ScorecardClassifier"),
        (lambda f: edit_json(f, "model.json", lambda d: d.update(format_version=1)),
         r"model.json field format_version must be 2; found 1"),
        (lambda f: edit_json(f, "model.json", lambda d: d["estimator"]["state"].update(intercept="1")),
         r"model.json estimator.state field 'intercept' must be a number; found str"),
        (lambda f: edit_json(f, "model.json", lambda d: d["estimator"]["state"].update(hidden=1)),
         r"model.json estimator.state field 'hidden' is not a known field"),
        (lambda f: edit_json(f, "model.json", lambda d: d["estimator"]["state"]["params"].update(
            evil="x")), r"'params' holds unknown parameters: evil"),
        (lambda f: edit_json(f, "model.json", lambda d: d["calibration"].update(method="none")),
         r"field calibration must be .* the model spec's method 'isotonic'"),
        (lambda f: (f / "model.json").write_text('{"format": NaN}'),
         r"model.json must be JSON text \(ValueError: NaN is not a number JSON allows\)"),
        (lambda f: edit_arrays(f, _nan_table),
         r"arrays.npz array 'estimator.tables.0' must hold finite numbers only"),
        (lambda f: edit_arrays(f, lambda a: a.update({"estimator.tables.1": np.zeros(3)})),
         r"arrays.npz array 'estimator.tables.1' must have shape \(\d+,\); found \(3,\)"),
        (lambda f: edit_arrays(f, lambda a: a.update({"estimator.spare": np.zeros(3)})),
         r"arrays.npz array 'estimator.spare' is not a known array"),
        (lambda f: edit_arrays(f, lambda a: a.update({"calibration.y_thresholds": -a[
            "calibration.y_thresholds"]})), r"'calibration.y_thresholds' must be non-decreasing"),
        (lambda f: edit_json(f, "metadata.json", lambda d: d.update(model_spec_sha256="0" * 64)),
         r"metadata.json field model_spec_sha256 must be the SHA-256 of the spec file"),
        (lambda f: edit_json(f, "reference.json", lambda d: d["score"].update(shares=[2.0])),
         r"reference.json entry score must have increasing finite edges"),
        (lambda f: (f / "notes.py").write_text("import os"),
         r"the folder must hold exactly .*; unexpected notes.py"),
        (lambda f: (f / "reference.json").unlink(), r"the folder must hold exactly .*; missing "
         "reference.json"),
    ],
)  # fmt: skip
def test_every_bad_field_is_refused_naming_file_and_field(saved, edit, match):
    edit(saved)
    with pytest.raises(IntegrityError, match=match) as err:
        RiskModel.load(saved)
    assert str(saved) in str(err.value)


def test_arrays_are_an_npz_written_by_numpy(saved):
    with zipfile.ZipFile(saved / "arrays.npz") as z:
        names = z.namelist()
    assert names and all(n.endswith(".npy") for n in names)
    assert "calibration.x_thresholds.npy" in names


def test_the_same_model_saves_to_the_same_bytes(fitted, tmp_path):
    """The registry's SHA-256 of a saved folder depends only on the model."""
    import time

    from send_early.registry import directory_sha256

    model = fitted["additive", "isotonic"]
    first = directory_sha256(model.save(tmp_path / "a"))
    time.sleep(2.1)  # zip timestamps have a resolution of 2 s
    assert directory_sha256(model.save(tmp_path / "b")) == first


def test_save_refuses_a_folder_holding_other_files(fitted, tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"must hold only the saved model's files; .* notes.txt"):
        fitted["scorecard", "none"].save(folder)
    assert (folder / "notes.txt").read_text() == "mine"


def test_a_missing_folder_is_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="must be a folder written by RiskModel.save"):
        RiskModel.load(tmp_path / "nowhere")
