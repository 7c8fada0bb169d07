"""Group audit of a risk score and its flags, with small-cell suppression."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .._json import jsonable
from .._validation import check_binary, check_same_length, check_scores
from ..governance import BAND, GATING
from ._cells import _hidden, _metrics, _quantiles, _wide
from ._groups import _group_labels, _unrecorded

logger = logging.getLogger(__name__)

__all__ = [
    "GroupAudit",
    "CAVEAT",
    "METRICS",
]

#: What the labels are, stated wherever the audit is shown.
CAVEAT = (
    "Labels are identified SEN (children recorded with SEN support or an EHC plan), not need. "
    "Groups that are under-identified today have fewer positive labels, so their recall and "
    "false negative rate describe who was identified, not who needed help; an equal recall can "
    "hide unequal need. Scores are decision support for a person, never a decision."
)

#: Metrics in the audit and the population each is computed on (its denominator).
METRICS: dict[str, str] = {
    "prevalence": "n",
    "flag_rate": "n",
    "recall": "positives",
    "fnr": "positives",
    "precision": "flagged",
    "fpr": "negatives",
    "mean_risk": "n",
    "observed_rate": "n",
    "calibration_gap": "n",
}
_NEED_METRICS = {"recall_vs_need": "need", "identified_among_need": "need"}
_SUPPRESSED = "suppressed"


class GroupAudit:
    """How a risk score and its flags work out for groups of children.

    A result object in the style of fairlearn's ``MetricFrame``: keyword-only
    arguments, computed once at creation, read-only properties. The sensitive
    features are passed separately and are never model inputs.

    For each feature (e.g. sex, ethnicity, FSM) and each of its groups it reports,
    with bootstrap confidence intervals:

    - ``n``: children in the group;
    - ``prevalence`` (= ``observed_rate``): share later identified;
    - ``flag_rate``: share flagged;
    - ``recall`` (true positive rate): share of the children later identified who
      were flagged, and ``fnr`` = 1 - recall, the share missed. **Recall and flag
      rate ratios to the reference group gate the model card** (:attr:`gating`);
      the FNR ratio (:attr:`disparity`) is reported but sits near 1 at a low
      capacity whatever happens;
    - ``precision``: share of flagged children later identified;
    - ``fpr``: share of children not identified who were flagged;
    - ``mean_risk`` against ``observed_rate`` and their difference
      ``calibration_gap`` (calibration in the large: positive means the score
      over-states risk for the group).

    Small cells: any value computed on fewer than ``min_cell`` children (the group
    for group-level values, the positives for recall/FNR, the flagged for
    precision, the negatives for FPR, the children in need for need metrics) is
    suppressed: NaN with a ``suppressed`` flag in frames, None in :meth:`to_dict`,
    "suppressed" in text. When one cell of a feature is suppressed the next
    smallest is suppressed too, so the hidden value cannot be worked out from the
    overall figure. Ratios using a suppressed value are suppressed.

    Parameters
    ----------
    y_true : array-like of 0/1
        Later identified SEN (the label), one per child.
    risk : array-like of float in [0, 1]
    flagged : array-like of bool
        Which children were flagged (e.g. from
        :func:`send_early.evaluation.flag_top_k`).
    sensitive_features : DataFrame or dict of columns
        One column per feature, one row per child, e.g. from :func:`standard_groups`.
        Missing values form the group ``"(missing)"``.
    reference : "largest" or dict, default "largest"
        Reference group per feature for ratios: the largest group (never
        ``"(missing)"``) whose recall and flag rate are shown (when the largest
        group's are hidden by the disclosure rule, every ratio to it would be), or
        ``{feature: group}``; features left out use the largest shown.
    n_bootstrap : int, default 200
        Bootstrap replicates for the intervals (0 for none). Resampling children is
        done exactly as a multinomial draw over cells (group x label x flag x need),
        with the sum of risk in a cell drawn from its normal approximation.
    random_state : int or None
    min_cell : int, default 10
    y_need : array-like of 0/1, optional
        True need (only known in synthetic cohorts); adds :attr:`recall_vs_need`.
    confidence : float, default 0.95

    Examples
    --------
    >>> import numpy as np
    >>> from send_early.fairness import GroupAudit
    >>> rng = np.random.default_rng(0)
    >>> n = 400
    >>> group = np.where(rng.random(n) < 0.6, "A", "B")
    >>> risk = rng.uniform(0, 0.4, n)
    >>> y = (rng.random(n) < risk).astype(int)
    >>> flagged = risk > np.quantile(risk, 0.8)
    >>> audit = GroupAudit(y_true=y, risk=risk, flagged=flagged,
    ...                    sensitive_features={"group": group}, random_state=0)
    >>> audit.by_group[["feature", "group", "n"]]
      feature group    n
    0   group     A  225
    1   group     B  175
    >>> audit.disparity[["group", "reference", "metric", "suppressed"]]
      group reference metric  suppressed
    0     B         A    fnr       False
    """

    def __init__(
        self,
        *,
        y_true,
        risk,
        flagged,
        sensitive_features,
        reference: str | Mapping[str, str] = "largest",
        n_bootstrap: int = 200,
        random_state: int | None = None,
        min_cell: int = 10,
        y_need=None,
        confidence: float = 0.95,
    ):
        check_same_length(y_true=y_true, risk=risk, flagged=flagged, y_need=y_need)
        y = check_binary(y_true, "y_true")
        p = check_scores(risk, "risk")
        f = check_binary(flagged, "flagged")
        need = None if y_need is None else check_binary(y_need, "y_need")
        if isinstance(sensitive_features, pd.DataFrame | pd.Series):
            for name, other in (("y_true", y_true), ("risk", risk), ("flagged", flagged)):
                if isinstance(other, pd.Series):
                    check_same_length(sensitive_features=sensitive_features, **{name: other})
        groups = _group_labels(sensitive_features, len(y))
        if not isinstance(min_cell, int | np.integer) or min_cell < 1:
            raise ValueError(f"min_cell must be a whole number of at least 1; found {min_cell!r}.")
        if not isinstance(n_bootstrap, int | np.integer) or n_bootstrap < 0:
            raise ValueError(f"n_bootstrap must be a whole number >= 0; found {n_bootstrap!r}.")
        if not 0 < confidence < 1:
            raise ValueError(f"confidence must be between 0 and 1; found {confidence}.")
        self._min_cell = int(min_cell)
        self._n_bootstrap = int(n_bootstrap)
        self._confidence = float(confidence)
        self._has_need = need is not None
        rng = np.random.default_rng(random_state)
        cell = (0 if need is None else need.astype(np.int64) * 4) + y * 2 + f
        cell = np.asarray(cell, dtype=np.int64)

        features = {"overall": (np.zeros(len(y), dtype=np.int64), np.array(["all"]))}
        for col in groups.columns:
            codes, uniques = pd.factorize(groups[col], sort=True)
            features[col] = (codes.astype(np.int64), np.asarray(uniques, dtype=object))
        self._reference = self._resolve_reference(reference, groups, features)

        tables, boots = [], {}
        for feat, (codes, labels) in features.items():
            G = len(labels)
            idx = codes * 8 + cell
            C = np.bincount(idx, minlength=G * 8).reshape(G, 2, 2, 2)
            S = np.bincount(idx, weights=p, minlength=G * 8).reshape(G, 2, 2, 2)
            point = _metrics(C.astype(np.float64), S)
            boot = (
                self._bootstrap(
                    C, S, np.bincount(idx, weights=p * p, minlength=G * 8).reshape(G, 2, 2, 2), rng
                )
                if self._n_bootstrap
                else None
            )
            boots[feat] = boot
            sizes = C.sum(axis=(1, 2, 3))
            hidden = _hidden(C, point, self._has_need, self._min_cell, feat != "overall")
            for metric, (value, den) in point.items():
                sup = hidden.get(metric, np.ones(G, dtype=bool))
                lo, hi = (
                    _quantiles(boot[metric], self._confidence)
                    if boot is not None
                    else (np.full(G, np.nan), np.full(G, np.nan))
                )
                tables.append(
                    pd.DataFrame(
                        {
                            "feature": feat,
                            "group": labels,
                            "metric": metric,
                            "value": value,
                            "ci_low": lo,
                            "ci_high": hi,
                            "denominator": den.astype(np.int64),
                            "group_n": sizes,
                            "suppressed": sup,
                            "n_hidden": hidden["n"],
                        }
                    )
                )
        long = pd.concat(tables, ignore_index=True)
        if not self._has_need:
            long = long[~long["metric"].isin(list(_NEED_METRICS))].reset_index(drop=True)
        self._long = long  # unsuppressed values; never returned as is
        self._boots = boots
        self._features = {k: v[1] for k, v in features.items()}
        given = reference if isinstance(reference, Mapping) else {}
        for feat in groups.columns:
            if feat not in given:
                self._reference[feat] = self._shown_reference(feat, self._reference[feat])
        n_sup = int(long["suppressed"].sum())
        logger.info(
            "GroupAudit: %d features, %d groups, %d of %d cells suppressed (min_cell=%d).",
            len(features) - 1,
            sum(len(v[1]) for k, v in features.items() if k != "overall"),
            n_sup,
            len(long),
            self._min_cell,
        )

    # ----------------------------------------------------------------- internals
    @staticmethod
    def _resolve_reference(reference, groups: pd.DataFrame, features) -> dict[str, str]:
        out: dict[str, str] = {}
        given: Mapping[str, str] = {}
        if isinstance(reference, Mapping):
            given = reference
            unknown = [k for k in given if k not in groups.columns]
            bad = [
                f"{k}={v!r} (groups: {list(features[k][1])})"
                for k, v in given.items()
                if k in groups.columns and v not in set(features[k][1])
            ]
            if unknown or bad:
                raise ValueError(
                    "reference must name a group of each feature it lists; "
                    f"unknown features: {unknown}; unknown groups: {bad}."
                )
        elif reference != "largest":
            raise ValueError(
                f"reference must be 'largest' or a dict feature -> group; found {reference!r}."
            )
        for col in groups.columns:
            if col in given:
                out[col] = str(given[col])
                continue
            counts = groups[col].value_counts(sort=False).sort_index()
            non_missing = counts[~_unrecorded(counts.index)]
            pick = non_missing if len(non_missing) else counts
            out[col] = str(pick.idxmax())
        return out

    def _shown_reference(self, feat: str, largest: str) -> str:
        """The largest group whose gating metrics are shown (when the largest group's
        are hidden, e.g. fewer than 10 flagged, every ratio to it would be hidden)."""
        t = self._long
        t = t[(t["feature"] == feat) & t["metric"].isin(GATING)]
        hidden = t.groupby("group", sort=False)["suppressed"].any()
        sizes = t.groupby("group", sort=False)["group_n"].first()
        ok = sizes[~hidden.reindex(sizes.index).to_numpy()]
        ok = ok[~_unrecorded(ok.index)]
        if not hidden.get(largest, False) or ok.empty:
            return largest
        return str(ok.idxmax())

    def _bootstrap(self, C, S, S2, rng) -> dict[str, np.ndarray]:
        flat = C.ravel()
        n = int(flat.sum())
        draws = rng.multinomial(n, flat / n, size=self._n_bootstrap).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            mu = np.where(flat > 0, S.ravel() / flat, 0.0)
            var = np.where(flat > 0, np.maximum(S2.ravel() / flat - mu**2, 0.0), 0.0)
        z = rng.standard_normal(draws.shape)
        sums = draws * mu + np.sqrt(draws * var) * z
        shape = (self._n_bootstrap, *C.shape)
        return {k: v for k, (v, _) in _metrics(draws.reshape(shape), sums.reshape(shape)).items()}

    def _visible(self) -> pd.DataFrame:
        """The long table with every suppressed value blanked."""
        t = self._long.copy()
        s = t["suppressed"].to_numpy()
        for c in ("value", "ci_low", "ci_high"):
            t[c] = t[c].mask(s)
        t["denominator"] = t["denominator"].astype("Int64").mask(s)
        t["group_n"] = t["group_n"].astype("Int64").mask(t["n_hidden"].to_numpy(dtype=bool))
        return t.drop(columns="n_hidden")

    # ---------------------------------------------------------------- properties
    @property
    def caveat(self) -> str:
        """What the labels mean; shown with every output of the audit."""
        extra = (
            " recall_vs_need uses true need, which is known only in synthetic cohorts."
            if self._has_need
            else ""
        )
        return CAVEAT + extra

    @property
    def min_cell(self) -> int:
        """Smallest number of children a shown value may be computed on."""
        return self._min_cell

    @property
    def reference(self) -> dict[str, str]:
        """Reference group of each feature."""
        return dict(self._reference)

    def to_frame(self) -> pd.DataFrame:
        """Tidy (long) table: one row per feature, group and metric.

        Columns ``feature``, ``group``, ``metric``, ``value``, ``ci_low``,
        ``ci_high``, ``denominator`` (children the value is computed on), ``group_n``
        and ``suppressed``; the first row block is ``feature="overall"``.
        """
        return self._visible()

    @property
    def overall(self) -> pd.DataFrame:
        """Whole-cohort values: index metric; ``value``, ``ci_low``, ``ci_high``,
        ``suppressed``."""
        t = self._visible()
        t = t[t["feature"] == "overall"].set_index("metric")
        return t[["value", "ci_low", "ci_high", "suppressed"]]

    @property
    def by_group(self) -> pd.DataFrame:
        """Wide table: one row per feature and group.

        Columns ``feature``, ``group``, ``n``, then for each metric the value and its
        interval (``<metric>``, ``<metric>_low``, ``<metric>_high``), then
        ``suppressed`` (True if any value in the row is suppressed) and
        ``suppressed_metrics`` (their names, comma-separated).
        """
        t = self._visible()
        return _wide(
            t[t["feature"] != "overall"],
            [m for m in METRICS if m in set(t["metric"])]
            + [m for m in _NEED_METRICS if m in set(t["metric"])],
        )

    def ratios(
        self, method: str = "to_reference", metrics: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Ratios of group values, with the band (:data:`send_early.governance.BAND`) marked.

        Parameters
        ----------
        method : {"to_reference", "to_overall", "between_groups"}
            ``"to_reference"``: each group's value over its feature's reference group;
            ``"to_overall"``: over the whole cohort; ``"between_groups"``: per feature,
            the smallest shown value over the largest (1 = no difference).
        metrics : sequence of str, optional
            Default: ``fnr``, ``recall``, ``flag_rate``, ``precision``, ``fpr``.

        Returns
        -------
        DataFrame
            ``feature``, ``group``, ``reference``, ``metric``, ``value``,
            ``reference_value``, ``ratio``, ``ratio_low``, ``ratio_high`` (bootstrap),
            ``within_band`` and ``suppressed``. A ratio is NaN (not suppressed) when
            the reference value is 0.
        """
        metrics = list(metrics or ["fnr", "recall", "flag_rate", "precision", "fpr"])
        known = [m for m in self._long["metric"].unique()]
        bad = [m for m in metrics if m not in known]
        if bad:
            raise ValueError(f"metrics must be among {known}; found {bad}.")
        if method not in ("to_reference", "to_overall", "between_groups"):
            raise ValueError(
                "method must be 'to_reference', 'to_overall' or 'between_groups'; "
                f"found {method!r}."
            )
        rows = []
        L = self._long.set_index(["feature", "group", "metric"])
        for feat, labels in self._features.items():
            if feat == "overall":
                continue
            for m in metrics:
                vals = L.loc[(feat, slice(None), m), "value"].to_numpy()
                sup = L.loc[(feat, slice(None), m), "suppressed"].to_numpy()
                boot = self._boots[feat][m] if self._boots[feat] is not None else None
                if method == "between_groups":
                    shown = ~sup & np.isfinite(vals)
                    if shown.sum() < 2:
                        rows.append(
                            self._ratio_row(
                                feat, "(all)", "(all)", m, np.nan, np.nan, None, None, True
                            )
                        )
                        continue
                    lo_i = np.flatnonzero(shown)[np.argmin(vals[shown])]
                    hi_i = np.flatnonzero(shown)[np.argmax(vals[shown])]
                    rows.append(
                        self._ratio_row(
                            feat,
                            str(labels[lo_i]),
                            str(labels[hi_i]),
                            m,
                            vals[lo_i],
                            vals[hi_i],
                            None if boot is None else boot[:, lo_i],
                            None if boot is None else boot[:, hi_i],
                            False,
                        )
                    )
                    continue
                if method == "to_reference":
                    ref_label = self._reference[feat]
                    r = int(np.flatnonzero(labels == ref_label)[0])
                    ref_val, ref_sup = vals[r], bool(sup[r])
                    ref_boot = None if boot is None else boot[:, r]
                else:
                    ref_label = "overall"
                    ref_val = L.loc[("overall", "all", m), "value"]
                    ref_sup = bool(L.loc[("overall", "all", m), "suppressed"])
                    ob = self._boots["overall"]
                    ref_boot = None if ob is None else ob[m][:, 0]
                for i, g in enumerate(labels):
                    if method == "to_reference" and g == ref_label:
                        continue
                    rows.append(
                        self._ratio_row(
                            feat,
                            str(g),
                            ref_label,
                            m,
                            vals[i],
                            ref_val,
                            None if boot is None else boot[:, i],
                            ref_boot,
                            bool(sup[i]) or ref_sup,
                        )
                    )
        return pd.DataFrame(
            rows,
            columns=[
                "feature",
                "group",
                "reference",
                "metric",
                "value",
                "reference_value",
                "ratio",
                "ratio_low",
                "ratio_high",
                "within_band",
                "suppressed",
            ],
        )

    def _ratio_row(self, feat, group, ref, metric, v, rv, bv, brv, suppressed) -> dict:
        nan = np.nan
        if suppressed:
            return {
                "feature": feat,
                "group": group,
                "reference": ref,
                "metric": metric,
                "value": nan,
                "reference_value": nan,
                "ratio": nan,
                "ratio_low": nan,
                "ratio_high": nan,
                "within_band": pd.NA,
                "suppressed": True,
            }
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = v / rv if rv != 0 else nan
            lo = hi = nan
            if bv is not None and brv is not None:
                rb = np.where(brv != 0, bv / brv, nan)
                lo, hi = _quantiles(rb[:, None], self._confidence)
                lo, hi = float(lo[0]), float(hi[0])
        within = (BAND[0] <= ratio <= BAND[1]) if np.isfinite(ratio) else pd.NA
        return {
            "feature": feat,
            "group": group,
            "reference": ref,
            "metric": metric,
            "value": float(v),
            "reference_value": float(rv),
            "ratio": float(ratio),
            "ratio_low": lo,
            "ratio_high": hi,
            "within_band": within,
            "suppressed": False,
        }

    @property
    def disparity(self) -> pd.DataFrame:
        """False negative rate of each group over its reference group (reported, not
        gating: see :attr:`gating`).

        A ratio above the band means the group's children who went on to be identified
        were missed more often than the reference group's.
        """
        return self.ratios("to_reference", metrics=["fnr"])

    @property
    def gating(self) -> pd.DataFrame:
        """Recall and flag-rate ratios of each group to its reference group, with
        bootstrap intervals: the ratios the model card's fairness checks gate on.

        At a low capacity (say 5%) the false negative rate is 0.8-0.95 in every group,
        so the FNR ratio stays near 1 whatever happens; recall and flag rate are small
        shares whose ratios move with real differences (``docs/fairness.md``).
        """
        return self.ratios("to_reference", metrics=list(GATING))

    @property
    def recall_vs_need(self) -> pd.DataFrame | None:
        """Per group, among children with true need: share flagged
        (``recall_vs_need``) and share identified (``identified_among_need``).
        None unless ``y_need`` was given."""
        if not self._has_need:
            return None
        t = self._visible()
        out = _wide(t, list(_NEED_METRICS), n_from="recall_vs_need")
        return out.rename(columns={"n": "n_need"})

    # ------------------------------------------------------------------- output
    def to_dict(self) -> dict:
        """JSON-ready dict: caveat, parameters, overall, by_group, disparity, ratios
        and (with ``y_need``) recall_vs_need. Suppressed values are None and listed
        under ``suppressed``.

        ``disparity`` holds the ratios to the reference group of the gating metrics
        (:attr:`gating`: recall, flag rate) and of the false negative rate (reported,
        not gating); the ``metric`` key of each row says which."""
        by_group = self.by_group
        by_group["suppressed_metrics"] = [
            [m for m in s.split(", ") if m] for s in by_group["suppressed_metrics"]
        ]
        need = self.recall_vs_need
        return jsonable(
            {
                "caveat": self.caveat,
                "min_cell": self._min_cell,
                "n_bootstrap": self._n_bootstrap,
                "confidence": self._confidence,
                "band": list(BAND),
                "reference": self.reference,
                "overall": self.overall.reset_index().to_dict(orient="records"),
                "by_group": by_group.to_dict(orient="records"),
                "disparity": pd.concat([self.gating, self.disparity], ignore_index=True).to_dict(
                    orient="records"
                ),
                "ratios": self.ratios().to_dict(orient="records"),
                "recall_vs_need": None if need is None else need.to_dict(orient="records"),
            }
        )

    def to_text(self) -> str:
        """Plain-text report; suppressed values read "suppressed"."""
        from ._text import audit_text

        return audit_text(self)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        feats = [f for f in self._features if f != "overall"]
        return f"GroupAudit(features={feats}, min_cell={self._min_cell})"
