"""Results by phase (under 5, primary, secondary) for one scored cohort."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._json import jsonable
from .._validation import check_binary, check_same_length, check_scores
from ..privacy import MIN_CELL, count, protect_frame, rate, statistic
from ._metrics import average_precision, roc_auc

__all__ = ["PHASES", "PhaseEvaluation", "phase_of"]

#: Phase -> age in completed months at the as-of date, ``[low, high)`` (None: no upper end).
#: By age, not year group: "under 5" is the early years, before compulsory school age.
PHASES = {"under 5": (0, 60), "primary": (60, 132), "secondary": (132, None)}

# each phase's children split four ways: flagged (f) or not, later identified (y) or not
_CELLS = ("tp", "fp", "fn", "tn")
_FIGURES = {
    "n": count(*_CELLS),
    "n_positive": count("tp", "fn"),
    "prevalence": rate(["tp", "fn"], _CELLS),
    "n_flagged": count("tp", "fp"),
    "flag_rate": rate(["tp", "fp"], _CELLS),
    "recall": rate("tp", ["tp", "fn"]),
    "precision": rate("tp", ["tp", "fp"]),
    "roc_auc": statistic(["tp", "fn"], ["fp", "tn"]),
    "average_precision": statistic(["tp", "fn"], ["fp", "tn"]),
}


def phase_of(age_months) -> np.ndarray:
    """The phase (a key of :data:`PHASES`) of each age in months; ``""`` where unknown.

    Examples
    --------
    >>> from send_early.evaluation import phase_of
    >>> phase_of([30, 59, 60, 131, 132, float("nan")]).tolist()
    ['under 5', 'under 5', 'primary', 'primary', 'secondary', '']
    """
    age = np.asarray(age_months, dtype=float)
    out = np.full(age.shape, "", dtype=object)
    for name, (lo, hi) in PHASES.items():
        out[(age >= lo) & (age < (np.inf if hi is None else hi))] = name
    return out


class PhaseEvaluation:
    """Discrimination and results at capacity for each phase of one scored cohort.

    A result object: keyword-only arguments, computed when created, read-only
    properties. Every figure follows the disclosure rule of :mod:`send_early.privacy`
    (the phases partition the cohort, so a hidden figure is also protected from being
    worked out from the cohort's totals); no child-level row is kept.

    Parameters
    ----------
    y_true : array-like of 0/1
        1 for children later identified (the model's outcome).
    risk : array-like of float in [0, 1]
    flagged : array-like of bool
        The children flagged at the model's capacity, over the whole cohort (the
        same flags as the headline figures): each phase's recall is the share of its
        later-identified children the cohort's list reached.
    age_months : array-like of float
        Age in completed months at the as-of date (see :data:`PHASES`).
    min_cell : int, default MIN_CELL

    Examples
    --------
    >>> import numpy as np
    >>> from send_early.evaluation import PhaseEvaluation
    >>> rng = np.random.default_rng(0)
    >>> age = rng.integers(24, 121, 3000)
    >>> risk = rng.uniform(0, 0.3, 3000)
    >>> y = (rng.random(3000) < risk).astype(int)
    >>> ph = PhaseEvaluation(y_true=y, risk=risk, flagged=risk > 0.27, age_months=age)
    >>> ph.table["phase"].tolist(), int(ph.table["n"].sum())
    (['under 5', 'primary'], 3000)
    """

    def __init__(self, *, y_true, risk, flagged, age_months, min_cell: int = MIN_CELL):
        check_same_length(y_true=y_true, risk=risk, flagged=flagged, age_months=age_months)
        y = check_binary(y_true, "y_true").astype(bool)
        p = check_scores(risk, "risk")
        f = check_binary(np.asarray(flagged, dtype=int), "flagged").astype(bool)
        phase = phase_of(age_months)
        if (phase == "").any():
            raise ValueError(
                "age_months must be known for every child to report results by phase; found "
                f"{int((phase == '').sum())} missing or negative."
            )
        rows, cells = [], {c: [] for c in _CELLS}
        for name in PHASES:  # a handful of phases, never a loop over children
            m = phase == name
            if not m.any():
                continue
            ym, pm, fm = y[m], p[m], f[m]
            tp, fp = int((fm & ym).sum()), int((fm & ~ym).sum())
            fn, tn = int((~fm & ym).sum()), int((~fm & ~ym).sum())
            both = 0 < ym.sum() < len(ym)
            rows.append(
                {
                    "phase": name,
                    "n": int(m.sum()),
                    "n_positive": tp + fn,
                    "prevalence": (tp + fn) / m.sum(),
                    "n_flagged": tp + fp,
                    "flag_rate": (tp + fp) / m.sum(),
                    "recall": tp / (tp + fn) if tp + fn else np.nan,
                    "precision": tp / (tp + fp) if tp + fp else np.nan,
                    "roc_auc": roc_auc(ym, pm) if both else np.nan,
                    "average_precision": average_precision(ym, pm) if both else np.nan,
                }
            )
            for c, v in zip(_CELLS, (tp, fp, fn, tn), strict=True):
                cells[c].append(v)
        table = pd.DataFrame(rows, columns=["phase", *_FIGURES])
        self._table = protect_frame(
            table, cells=cells, figures=_FIGURES, totals=True, min_cell=min_cell
        )
        self._min_cell = min_cell

    @property
    def table(self) -> pd.DataFrame:
        """One row per phase with children: counts, rates, ROC AUC, average precision and
        ``suppressed``; hidden figures are missing."""
        return self._table.copy()

    def __repr__(self) -> str:
        return f"PhaseEvaluation(phases={self._table['phase'].tolist()})"

    def to_dict(self) -> dict:
        """The table as JSON-ready records, with the phase definitions."""
        return jsonable(
            {
                "phases": {k: list(v) for k, v in PHASES.items()},
                "min_cell": self._min_cell,
                "table": self._table.to_dict(orient="records"),
            }
        )
