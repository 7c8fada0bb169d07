"""RiskModel: a feature pipeline spec, a model spec, a fitted estimator and a calibrator."""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator

from ..evaluation import CapacityFlags, flag_capacity, parse_capacity
from ..exceptions import NotFittedError
from ..schema import CONTRACT_VERSION
from ._format import FORMAT_VERSION, IsotonicCalibration, check_folder, read_folder, write_folder
from ._reference import drift_reference
from ._spec import ModelSpec, load_model_spec

logger = logging.getLogger(__name__)

__all__ = ["RiskModel", "rank_and_flag"]

_LABEL_COLUMNS = ("label", "event_date", "months_to_event")


def rank_and_flag(
    risk: np.ndarray,
    child_id: np.ndarray,
    *,
    policy: str,
    value: float,
    threshold: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rank children by risk (1 = highest) and flag those inside the capacity.

    A model spec's capacity policy put to :func:`send_early.evaluation.flag_capacity`,
    the one capacity rule: ties are broken by ``child_id`` ascending, so the same
    input always gives the same list, and the evaluation flags the same children.

    Parameters
    ----------
    risk : array of float
    child_id : array of str
    policy : {"count", "share", "threshold"}
        Flag the top ``value`` children (all of them when there are fewer), the
        top ``value`` share rounded down to whole children (so the capacity is
        never exceeded; 5% of 19,990 children is 999, 5% of 19 is none), or every
        child with ``risk >= threshold``.
    value : float
    threshold : float, optional
        Required for ``policy="threshold"``.

    Examples
    --------
    >>> import numpy as np
    >>> rank, flagged = rank_and_flag(np.array([0.2, 0.5, 0.5, 0.1]), np.array(["d", "c", "a", "b"]),
    ...                               policy="count", value=2)
    >>> rank.tolist(), flagged.tolist()
    ([3, 2, 1, 4], [False, True, True, False])
    >>> int(rank_and_flag(np.linspace(0, 1, 30), np.arange(30), policy="share", value=0.05)[1].sum())
    1
    """
    ids = np.asarray(child_id).astype(str)
    if policy == "count":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        cap = {"k": value}
    elif policy == "share":
        cap = {"share": value}
    elif policy == "threshold":
        if threshold is None:
            raise ValueError(
                "policy 'threshold' needs a threshold chosen on validation data; found none."
            )
        cap = {"threshold": threshold}
    else:
        raise ValueError(
            f"capacity policy must be 'count', 'share' or 'threshold'; found {policy!r}."
        )
    flags = flag_capacity(risk, tiebreak=ids, **cap)
    return flags.rank, flags.flagged


def _make_estimator(spec: ModelSpec, feature_names: list[str]):
    from ..estimators import AdditiveRiskClassifier, ScorecardClassifier

    mono = {f: v for f, v in spec.monotone.items() if f in feature_names}
    params = dict(spec.params)
    if spec.estimator == "additive":
        return AdditiveRiskClassifier(monotonic_cst=mono or None, **params)
    return ScorecardClassifier(monotonic_cst=mono or None, **params)


class RiskModel:
    """The object a council uses: specs, a fitted glass-box estimator and a calibrator.

    Parameters
    ----------
    model_spec : str, path or ModelSpec, default="default"
        A shipped model spec name (``models/<name>.toml``) or a path.
    pipeline : str or path, optional
        Overrides the model spec's feature pipeline.

    Attributes
    ----------
    estimator_ : fitted AdditiveRiskClassifier or ScorecardClassifier
    calibration_ : dict
        ``{"method", "slope", "intercept"}``: calibrated log-odds =
        ``slope * model log-odds + intercept`` for sigmoid and temperature
        scaling, which keeps the per-child reasons exact.
    calibrator_ : IsotonicCalibration or None
        For isotonic calibration, its thresholds (probability = a piecewise-linear
        function of the model log-odds, exactly what scikit-learn's fitted
        ``CalibratedClassifierCV`` computes); None otherwise.
    feature_names_ : list of str
        The features the estimator uses (protected characteristics excluded
        unless the spec allows them).
    threshold_ : float or None
        Probability threshold chosen on the calibration cohort (policy "threshold").
    reference_ : dict
        Reference distributions of features and scores on the calibration cohort, for
        drift checks (:func:`drift_reference`): every share stands for 0 or at least
        ``MIN_CELL`` children.
    metadata_ : dict
        As-of dates, counts, spec hashes, contract version. Aggregates only.

    Examples
    --------
    >>> from send_early import RiskModel
    >>> RiskModel.from_spec("default").spec.horizon_months
    24
    """

    def __init__(self, model_spec="default", pipeline=None):
        self.spec = model_spec if isinstance(model_spec, ModelSpec) else load_model_spec(model_spec)
        from ..features import load_pipeline, outcome_definition

        # the outcome decides who is scored (escalation: children on SEN support)
        self.pipeline = replace(
            load_pipeline(pipeline or self.spec.pipeline),
            population=outcome_definition(self.spec.outcome).population,
        )
        self.pipeline_text = Path(self.pipeline.path).read_text()

    @property
    def pipeline_sha256(self) -> str:
        import hashlib

        return hashlib.sha256(self.pipeline_text.encode()).hexdigest()

    @classmethod
    def from_spec(cls, model_spec="default", pipeline=None) -> RiskModel:
        """Build an unfitted model from a model spec (name or path)."""
        return cls(model_spec, pipeline)

    @property
    def name(self) -> str:
        return self.spec.name

    # -- features -----------------------------------------------------------------------------

    def _usable_features(self, columns) -> list[str]:
        protected = set(self.pipeline.protected)
        keep = []
        for c in columns:
            if c in self.spec.exclude or c == "as_of":
                continue
            if c in protected and not self.spec.use_protected:
                continue
            keep.append(c)
        return keep

    def _in_age_range(self, features: pd.DataFrame) -> np.ndarray:
        lo, hi = self.spec.population_age_months
        age = features["age_months"].to_numpy(float)
        return (age >= lo) & (age <= hi)

    def build_features(self, tables, as_of) -> pd.DataFrame:
        """Features for the model's population at ``as_of`` (pipeline + model age range)."""
        from ..features import build_features

        f = build_features(tables, as_of, pipeline=self.pipeline)
        return f[self._in_age_range(f)]

    # -- fitting ------------------------------------------------------------------------------

    def fit(self, tables, as_of_dates=None, *, calibration_as_of=None) -> RiskModel:
        """Fit on stacked as-of snapshots and calibrate on the latest one.

        Parameters
        ----------
        tables : Tables or mapping
            Contract tables including ``sen_events``.
        as_of_dates : list of date-like, optional
            Snapshot dates; default: the spec's ``[training] as_of_dates``.
            The latest date is held out to calibrate (a later cohort), the
            others train the estimator.
        calibration_as_of : date-like, optional
            Which date to hold out (default: the latest).
        """
        from ..features import make_training_frame

        dates = sorted(pd.Timestamp(d) for d in (as_of_dates or self.spec.as_of_dates))
        if len(dates) < 2:
            raise ValueError(
                f"fit needs at least two as-of dates (train on earlier ones, calibrate on a later one); found {len(dates)}."
            )
        cal_date = pd.Timestamp(calibration_as_of) if calibration_as_of is not None else dates[-1]
        frame = make_training_frame(
            tables,
            dates,
            horizon_months=self.spec.horizon_months,
            pipeline=self.pipeline,
            outcome=self.spec.outcome,
        )
        frame = frame[self._in_age_range(frame)]
        is_cal = frame.index.get_level_values("as_of") == cal_date
        train, cal = frame[~is_cal], frame[is_cal]
        if train["label"].nunique() < 2 or cal["label"].nunique() < 2:
            raise ValueError(
                "fit needs children with and without the outcome in both the training and "
                "calibration snapshots; check the as-of dates and the horizon."
            )
        feats = self._usable_features([c for c in frame.columns if c not in _LABEL_COLUMNS])
        self.feature_names_ = feats
        self.feature_dtypes_ = {c: str(frame[c].dtype) for c in feats}
        est = _make_estimator(self.spec, feats)
        logger.info(
            "fitting %s on %d rows, %d features", type(est).__name__, len(train), len(feats)
        )
        est.fit(train[feats], train["label"].to_numpy(int))
        self.estimator_ = est
        self._calibrate(cal[feats], cal["label"].to_numpy(int))
        risk_cal = self.predict_proba(cal[feats])
        self.threshold_ = None
        if self.spec.capacity_policy == "threshold":
            self.threshold_ = float(np.quantile(risk_cal, 1 - self.spec.capacity_value))
        self.reference_ = drift_reference(cal[feats], risk_cal)
        self.metadata_ = {
            "format_version": FORMAT_VERSION,
            "contract_version": CONTRACT_VERSION,
            "model_name": self.spec.name,
            "outcome": self.spec.outcome,
            "horizon_months": self.spec.horizon_months,
            "train_as_of_dates": [d.date().isoformat() for d in dates if d != cal_date],
            "calibration_as_of": cal_date.date().isoformat(),
            "extract_date": pd.Timestamp(getattr(tables, "extract_date", pd.Timestamp.today()))
            .date()
            .isoformat(),
            "n_train": int(len(train)),
            "n_train_positive": int(train["label"].sum()),
            "n_calibration": int(len(cal)),
            "n_calibration_positive": int(cal["label"].sum()),
            "model_spec_sha256": self.spec.sha256,
            "pipeline_spec_sha256": self.pipeline_sha256,
            "estimator": type(est).__name__,
        }
        self.model_spec_text_ = self.spec.text
        self.pipeline_spec_text_ = self.pipeline_text
        return self

    def _calibrate(self, X: pd.DataFrame, y: np.ndarray) -> None:
        method = self.spec.calibration
        f = self.estimator_.decision_function(X)
        if method == "none":
            self.calibration_ = {"method": "none", "slope": 1.0, "intercept": 0.0}
            self.calibrator_ = None
            return
        cal = CalibratedClassifierCV(FrozenEstimator(self.estimator_), method=method).fit(X, y)
        self.calibrator_ = None
        if method == "isotonic":
            # kept as its thresholds (data, saved without pickle), checked against scikit-learn
            (pair,) = cal.calibrated_classifiers_
            iso = pair.calibrators[0]
            self.calibrator_ = IsotonicCalibration(
                iso.X_thresholds_.copy(), iso.y_thresholds_.copy()
            )
            if not np.array_equal(self.calibrator_(f), cal.predict_proba(X)[:, 1]):
                raise RuntimeError(  # pragma: no cover - guards a change in scikit-learn
                    "isotonic calibration from its thresholds differs from scikit-learn's."
                )
            self.calibration_ = {"method": method, "slope": 1.0, "intercept": 0.0}
            return
        if method in ("sigmoid", "temperature"):
            p = np.clip(cal.predict_proba(X)[:, 1], 1e-15, 1 - 1e-15)
            slope, intercept = np.polyfit(f, logit(p), 1)
            resid = np.abs(slope * f + intercept - logit(p)).max()
            if resid > 1e-6:  # pragma: no cover - guards a change in scikit-learn
                raise RuntimeError(
                    f"{method} calibration is not linear in log-odds (residual {resid:g})."
                )
            self.calibration_ = {
                "method": method,
                "slope": float(slope),
                "intercept": float(intercept),
            }
        else:  # pragma: no cover - the spec allows no other method
            raise ValueError(f"calibration method {method!r} is not supported.")

    # -- prediction ---------------------------------------------------------------------------

    def _check(self):
        if not hasattr(self, "estimator_"):
            raise NotFittedError(
                "This RiskModel is not fitted yet; call fit(tables) or RiskModel.load(path)."
            )

    def _X(self, features: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.feature_names_ if c not in features.columns]
        if missing:
            raise ValueError(
                f"features must include the model's columns; missing {', '.join(missing)}. "
                f"Build them with the model's pipeline {self.pipeline.name!r}."
            )
        return features[self.feature_names_]

    def decision_function(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated log-odds (for sigmoid/temperature calibration)."""
        self._check()
        f = self.estimator_.decision_function(self._X(features))
        return self.calibration_["slope"] * f + self.calibration_["intercept"]

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of the outcome within the horizon, one per row."""
        self._check()
        if self.calibrator_ is not None:
            return self.calibrator_(self.estimator_.decision_function(self._X(features)))
        return expit(self.decision_function(features))

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per-term contributions in calibrated log-odds, measured from the population average.

        ``intercept + contributions.sum(axis=1)`` equals :meth:`decision_function`
        (exactly, up to floating point) for sigmoid and temperature calibration.
        """
        self._check()
        c = self.estimator_.contributions(self._X(features)) * self.calibration_["slope"]
        return pd.DataFrame(
            c, index=features.index, columns=list(self.estimator_.term_names_), copy=False
        )

    @property
    def intercept_(self) -> float:
        self._check()
        return float(
            self.calibration_["slope"] * self.estimator_.intercept_ + self.calibration_["intercept"]
        )

    def apply_capacity(self, risk, child_id, *, capacity=None) -> CapacityFlags:
        """Rank children and flag those within the capacity (the spec's, or ``capacity``).

        Scoring, batch scoring and the evaluation workflow all flag through this
        method, which puts the capacity to
        :func:`send_early.evaluation.flag_capacity`, the one capacity rule: a share
        is rounded down to whole children, ties go by ``child_id`` ascending.

        Parameters
        ----------
        risk : array of float
        child_id : array of str
        capacity : int, float or str, optional
            Overrides the spec: a whole number is a number of children (1 or
            more), a decimal in (0, 1] or a percentage (``"5%"``) a share of the
            children scored. See :func:`send_early.evaluation.parse_capacity`.

        Returns
        -------
        CapacityFlags
            ``(rank, flagged, k)``.
        """
        ids = np.asarray(child_id).astype(str)
        if capacity is not None:
            return flag_capacity(risk, tiebreak=ids, **parse_capacity(capacity))
        rank, flagged = rank_and_flag(
            risk,
            ids,
            policy=self.spec.capacity_policy,
            value=self.spec.capacity_value,
            threshold=getattr(self, "threshold_", None),
        )
        return CapacityFlags(rank, flagged, int(flagged.sum()))

    def capacity_rule(self, capacity=None) -> dict:
        """The capacity this model flags by, as :func:`send_early.evaluation.flag_capacity`
        takes it: ``{"k": n}``, ``{"share": s}`` or ``{"threshold": t}``.

        ``capacity`` overrides the spec as in :meth:`score_features`. The model's SQL and
        Spark scoring read the rule from here, so they flag as :meth:`flag` does.
        """
        if capacity is not None:
            return parse_capacity(capacity)
        self._check()
        policy, value = self.spec.capacity_policy, self.spec.capacity_value
        if policy == "count":
            return {"k": int(value)}
        if policy == "share":
            return {"share": float(value)}
        return {"threshold": float(self.threshold_)}

    def score_features(self, features: pd.DataFrame, *, capacity=None) -> pd.DataFrame:
        """Risk, rank, flag and the top reasons for prepared features.

        Parameters
        ----------
        features : DataFrame indexed by child_id
            As returned by :meth:`build_features`.
        capacity : int, float or str, optional
            Overrides the spec: a whole number is a number of children, a decimal
            in (0, 1] or a percentage (``"5%"``) a share of the population,
            rounded down to whole children (see :meth:`apply_capacity`).

        Returns
        -------
        DataFrame
            child_id, risk, rank (1 = highest), flagged, reason_1..reason_k.
        """
        from ..explain import explain_local

        self._check()
        if capacity is not None:
            parse_capacity(capacity)  # refuse a bad capacity before any work
        contrib = self.contributions(features)  # computed once: risk and reasons both use it
        if self.calibrator_ is None:
            risk = expit(self.intercept_ + contrib.to_numpy().sum(axis=1))
        else:
            risk = self.predict_proba(features)
        ids = features.index.to_numpy(dtype=str)
        rank, flagged, _ = self.apply_capacity(risk, ids, capacity=capacity)
        out = pd.DataFrame(
            {"child_id": pd.array(ids, dtype="str"), "risk": risk, "rank": rank, "flagged": flagged}
        )
        reasons = explain_local(self, features, top=self.spec.top, wide=True, contributions=contrib)
        for c in reasons.columns:
            out[c] = reasons[c].to_numpy()
        return out

    def score(self, tables, as_of, *, capacity=None) -> pd.DataFrame:
        """Build features at ``as_of`` and score the population.

        Returns
        -------
        DataFrame
            child_id, risk, rank, flagged, reason_1..reason_3.
        """
        if capacity is not None:
            parse_capacity(capacity)  # refuse a bad capacity before building features
        return self.score_features(self.build_features(tables, as_of), capacity=capacity)

    def to_sql(
        self, dialect: str = "duckdb", *, features_table: str = "features", capacity=None
    ) -> str:
        """One SQL query scoring a feature table: what :meth:`score` returns, in the database.

        Parameters
        ----------
        dialect : {"duckdb", "postgres", "mssql", "pyspark"}
            ``"tsql"`` and ``"spark"`` are read as ``"mssql"`` and ``"pyspark"``.
        features_table : str
            The table (or ``schema.table``) of features, one row per child: ``child_id``,
            ``age_months`` and the model's features as :func:`send_early.features.build_features`
            names them, missing values as NULL. Children outside the model's age range are
            left out, as :meth:`score` leaves them out.
        capacity : int, float or str, optional
            Overrides the spec's capacity, as in :meth:`score_features`.

        Returns
        -------
        str
            A query giving child_id, risk, rank, flagged and reason_1..reason_k, ordered by
            rank; the same values as :meth:`score` (to the last bit in the tests). docs/engines.md.
        """
        from ._sql import model_sql

        self._check()
        return model_sql(self, dialect, features_table=features_table, capacity=capacity)

    def feature_schema(self) -> pd.DataFrame:
        """A zero-row frame with the input feature columns and dtypes (for signatures)."""
        self._check()
        return pd.DataFrame({c: pd.Series([], dtype=self._dtype(c)) for c in self.feature_names_})

    def _dtype(self, c):
        d = self.feature_dtypes_[c]
        if d == "category":
            f = self.pipeline.feature(c) if c in self.pipeline.feature_names else None
            cats = getattr(f, "categories", None)
            return pd.CategoricalDtype(list(cats)) if cats else "category"
        return d

    # -- persistence --------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted model to a folder as data: JSON, TOML and NumPy arrays, no pickle.

        The folder holds ``model.json``, ``arrays.npz``, ``model.toml``,
        ``pipeline.toml``, ``metadata.json`` and ``reference.json`` (format version 2,
        described in docs/registry.md, "Model format"); it must be new or hold only
        these files (a ``model.joblib`` of an earlier save is removed).
        """
        self._check()
        return write_folder(self, Path(path))

    @classmethod
    def load(cls, path: str | os.PathLike) -> RiskModel:
        """Load a model written by :meth:`save`, with the installed package's classes only.

        Nothing in the folder is executed: it is read as JSON, TOML and plain NumPy
        arrays (``allow_pickle=False``), and every field is checked.

        Raises
        ------
        FileNotFoundError
            If the folder does not exist.
        IntegrityError
            If the folder is not a valid saved model, naming the file and the field; a
            folder of an earlier format (``model.joblib``, a pickle) is refused unread,
            with how to re-train and log it again.
        SpecError
            If a spec file is not a valid spec.
        """
        folder = check_folder(path)
        self = cls(folder / "model.toml", pipeline=folder / "pipeline.toml")
        self.__dict__.update(read_folder(folder, self.spec, self.pipeline_text))
        self.model_spec_text_ = self.spec.text
        self.pipeline_spec_text_ = self.pipeline_text
        return self

    def __repr__(self) -> str:
        fitted = hasattr(self, "estimator_")
        return f"RiskModel(name={self.spec.name!r}, estimator={self.spec.estimator!r}, fitted={fitted})"
