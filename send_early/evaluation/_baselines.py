"""Simple baselines evaluated at the same capacity as the model."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._validation import check_binary, check_same_length, check_scores, check_tiebreak
from ._capacity import _curve, capacity_metrics, flag_top_k, resolve_k

logger = logging.getLogger(__name__)

__all__ = [
    "BaselineRule",
    "DEFAULT_RULES",
    "BaselineComparison",
    "baseline_table",
    "compare_to_baselines",
]


@dataclass(frozen=True)
class BaselineRule:
    """A simple rule that flags the children meeting it.

    Parameters
    ----------
    name : str
        Short name used in tables.
    description : str
        The rule in words.
    columns : tuple of str
        Feature columns the rule reads.
    flags : callable
        ``flags(X) -> boolean array-like``; missing values count as "rule not met".
    """

    name: str
    description: str
    columns: tuple[str, ...]
    flags: Callable[[pd.DataFrame], object]


def _eq(column: str, value) -> Callable[[pd.DataFrame], np.ndarray]:
    def rule(X: pd.DataFrame) -> np.ndarray:
        s = pd.Series(X[column]).astype("Float64")
        return s.eq(value).fillna(False).to_numpy(dtype=bool)

    return rule


#: The default rules, in the words a practitioner would use.
DEFAULT_RULES: tuple[BaselineRule, ...] = (
    BaselineRule(
        "eyfsp_gld_not_reached",
        "EYFSP good level of development not reached (eyfsp_gld == 0)",
        ("eyfsp_gld",),
        _eq("eyfsp_gld", 0),
    ),
    BaselineRule(
        "asq_any_below_cutoff",
        "ASQ-3 below cut-off in any domain (asq_any_below_cutoff)",
        ("asq_any_below_cutoff",),
        _eq("asq_any_below_cutoff", 1),
    ),
    BaselineRule(
        "persistent_absence",
        "Persistent absence (persistent_absence)",
        ("persistent_absence",),
        _eq("persistent_absence", 1),
    ),
)

_COLUMNS = [
    "baseline",
    "kind",
    "description",
    "own_flagged",
    "own_precision",
    "own_recall",
    "own_lift",
    "k",
    "true_positives",
    "precision",
    "recall",
    "lift",
    "n_tied_at_cutoff",
]


def _row(name, kind, description, y, own_flags, at_k: dict) -> dict:
    n_pos = int(y.sum())
    prevalence = n_pos / len(y)
    if own_flags is None:
        own = {
            "own_flagged": np.nan,
            "own_precision": np.nan,
            "own_recall": np.nan,
            "own_lift": np.nan,
        }
    else:
        nf = int(own_flags.sum())
        tp = int((own_flags & (y == 1)).sum())
        prec = tp / nf if nf else np.nan
        own = {
            "own_flagged": nf,
            "own_precision": prec,
            "own_recall": tp / n_pos if n_pos else np.nan,
            "own_lift": prec / prevalence if n_pos else np.nan,
        }
    return {
        "baseline": name,
        "kind": kind,
        "description": description,
        **own,
        "k": at_k["k"],
        "true_positives": at_k["true_positives"],
        "precision": at_k["precision"],
        "recall": at_k["recall"],
        "lift": at_k["lift"],
        "n_tied_at_cutoff": at_k["n_tied_at_cutoff"],
    }


def _resolve_rules(X: pd.DataFrame, rules) -> list[BaselineRule]:
    if rules is None:
        usable = []
        for rule in DEFAULT_RULES:
            missing = [c for c in rule.columns if c not in X.columns]
            if missing:
                logger.info("Baseline %s skipped: column(s) %s not in X.", rule.name, missing)
            else:
                usable.append(rule)
        return usable
    rules = list(rules.values()) if isinstance(rules, Mapping) else list(rules)
    problems = [f"{r.name} needs {c}" for r in rules for c in r.columns if c not in X.columns]
    if problems:
        raise ValueError(
            "Every baseline rule's columns must be in X; missing: "
            + "; ".join(problems)
            + ". Build them with the feature pipeline or drop the rule."
        )
    return rules


def baseline_table(
    y_true,
    X: pd.DataFrame,
    *,
    k: int | None = None,
    share: float | None = None,
    tiebreak=None,
    rules=None,
    X_train: pd.DataFrame | None = None,
    y_train=None,
    random_state: int | None = 0,
) -> pd.DataFrame:
    """Evaluate simple baselines at the same capacity ``k`` as the model.

    Baselines:

    * each rule in ``rules`` (default :data:`DEFAULT_RULES`: EYFSP good level of
      development not reached, ASQ-3 below cut-off in any domain, persistent
      absence). A rule flags the children meeting it (missing values count as not
      met); its own operating point is reported in the ``own_*`` columns. At
      capacity ``k`` the rule-positive children are ranked first and the ``k``
      flagged are taken in ``tiebreak`` order (ascending, e.g. ``child_id``), then
      input order, both among rule-positive children (when the rule flags more than
      ``k``) and among the others (when it flags fewer).
    * ``random``: ``k`` children drawn at random with ``random_state``, and
      ``random_expected``: its expectation (precision = prevalence, lift = 1).
    * ``age_only``: a logistic regression on ``age_months`` fitted on ``X_train``,
      ``y_train``; skipped if those are not given.

    Default rules whose column is missing from ``X`` are skipped (logged).

    Returns
    -------
    DataFrame
        One row per baseline: ``baseline``, ``kind`` (rule, random, age_only),
        ``description``, ``own_flagged``, ``own_precision``, ``own_recall``,
        ``own_lift``, then at capacity: ``k``, ``true_positives``, ``precision``,
        ``recall``, ``lift``, ``n_tied_at_cutoff``.

    Examples
    --------
    >>> import pandas as pd
    >>> from send_early.evaluation import baseline_table
    >>> X = pd.DataFrame({"persistent_absence": [1, 1, 0, 0, 1, 0]})
    >>> t = baseline_table([1, 0, 1, 0, 1, 0], X, k=2)
    >>> t[["baseline", "own_flagged", "own_recall", "recall"]]
                  baseline  own_flagged  own_recall    recall
    0   persistent_absence          3.0    0.666667  0.333333
    1               random          NaN         NaN  0.333333
    2      random_expected          NaN         NaN  0.333333
    """
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"X must be a pandas DataFrame of features; found {type(X).__name__}.")
    check_same_length(y_true=y_true, X=X)
    y = check_binary(y_true, "y_true")
    n = len(y)
    kk = resolve_k(n, k, share)
    tb = check_tiebreak(tiebreak, n)
    rows = []
    for rule in _resolve_rules(X, rules):
        flags = np.asarray(rule.flags(X), dtype=bool)
        if flags.shape != (n,):
            raise ValueError(f"Rule {rule.name} must return one flag per child; got {flags.shape}.")
        at_k = _curve(y, flags.astype(np.float64), tb, np.array([kk])).iloc[0].to_dict()
        rows.append(_row(rule.name, "rule", rule.description, y, flags, at_k))
    # random flagging at the same k
    rng = np.random.default_rng(random_state)
    chosen = np.zeros(n, dtype=bool)
    chosen[rng.permutation(n)[:kk]] = True
    at_k = _curve(y, chosen.astype(np.float64), None, np.array([kk])).iloc[0].to_dict()
    at_k["n_tied_at_cutoff"] = 0
    rows.append(
        _row(
            "random",
            "random",
            f"{kk} children drawn at random (random_state={random_state})",
            y,
            None,
            at_k,
        )
    )
    n_pos = int(y.sum())
    prevalence = n_pos / n if n else np.nan
    expected = {
        "k": kk,
        "true_positives": kk * prevalence,
        "precision": prevalence if kk else np.nan,
        "recall": kk / n if n_pos else np.nan,
        "lift": 1.0 if n_pos and kk else np.nan,
        "n_tied_at_cutoff": 0,
    }
    rows.append(
        _row("random_expected", "random", "Expected result of random flagging", y, None, expected)
    )
    if X_train is not None and y_train is not None:
        rows.append(_age_only(y, X, X_train, y_train, kk, tiebreak))
    elif X_train is not None or y_train is not None:
        raise ValueError("Give both X_train and y_train for the age-only baseline, or neither.")
    else:
        logger.info("Age-only baseline skipped: X_train and y_train not given.")
    table = pd.DataFrame(rows, columns=_COLUMNS)
    table["k"] = table["k"].astype(np.int64)
    return table


def _age_only(y, X, X_train, y_train, k, tiebreak) -> dict:
    from sklearn.linear_model import LogisticRegression

    for name, frame in (("X", X), ("X_train", X_train)):
        if "age_months" not in frame.columns:
            raise ValueError(f"The age-only baseline needs column age_months in {name}; not found.")
    check_same_length(X_train=X_train, y_train=y_train)
    yt = check_binary(y_train, "y_train")
    a_train = check_scores(X_train["age_months"], "X_train.age_months", probability=False)
    a_test = check_scores(X["age_months"], "X.age_months", probability=False)
    model = LogisticRegression().fit(a_train.reshape(-1, 1), yt)
    risk = model.predict_proba(a_test.reshape(-1, 1))[:, 1]
    at_k = capacity_metrics(y, risk, k=k, tiebreak=tiebreak)
    coef = float(model.coef_[0, 0])
    return _row(
        "age_only",
        "age_only",
        f"Logistic regression on age_months (coefficient {coef:+.3f} per month)",
        y,
        None,
        at_k,
    )


@dataclass(frozen=True, repr=False)
class BaselineComparison:
    """The model against simple baselines at the same capacity.

    Attributes
    ----------
    table : DataFrame
        The model row first, then :func:`baseline_table`; ``model_better`` is True
        where the model flags more of the children later identified at the same k.
    best_rule : str or None
        The simple rule with most true positives at k (None if no rule could run).
    beats_best_rule : bool or None
        True if the model finds more of the children later identified than the best
        simple rule at the same k.
    recall_difference : float
        Model recall minus best-rule recall at k.
    recall_difference_ci : tuple of float
        Bootstrap percentile interval for that difference (flags held fixed).
    summary : str
        The comparison in one or two plain sentences.
    """

    table: pd.DataFrame
    best_rule: str | None
    beats_best_rule: bool | None
    recall_difference: float
    recall_difference_ci: tuple[float, float]
    summary: str

    def __repr__(self) -> str:
        return f"BaselineComparison(beats_best_rule={self.beats_best_rule}, best_rule={self.best_rule!r})"

    def to_dict(self) -> dict:
        """JSON-ready dict (aggregates only; NaN becomes None)."""
        from .._json import jsonable

        return jsonable(
            {
                "best_rule": self.best_rule,
                "beats_best_rule": self.beats_best_rule,
                "recall_difference": self.recall_difference,
                "recall_difference_ci": list(self.recall_difference_ci),
                "summary": self.summary,
                "table": self.table.to_dict(orient="records"),
            }
        )


def _paired_ci(y, f_model, f_rule, n_bootstrap, confidence, random_state):
    """Bootstrap interval of recall(model) - recall(rule), by a multinomial over
    the four kinds of child (positive and model-only / rule-only / both-or-neither;
    negative). Exactly equivalent to resampling children, without touching them."""
    pos = y == 1
    d = f_model.astype(np.int8) - f_rule.astype(np.int8)
    counts = np.array(
        [np.sum(pos & (d == 1)), np.sum(pos & (d == -1)), np.sum(pos & (d == 0)), np.sum(~pos)],
        dtype=np.int64,
    )
    n = int(counts.sum())
    if n_bootstrap <= 0 or counts[:3].sum() == 0:
        return (np.nan, np.nan)
    rng = np.random.default_rng(random_state)
    draws = rng.multinomial(n, counts / n, size=n_bootstrap)
    n_pos = draws[:, :3].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = (draws[:, 0] - draws[:, 1]) / n_pos
    diff = diff[np.isfinite(diff)]
    alpha = (1 - confidence) / 2
    low, high = np.quantile(diff, [alpha, 1 - alpha])
    return (float(low), float(high))


def compare_to_baselines(
    y_true,
    risk,
    X: pd.DataFrame,
    *,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    **options,
) -> BaselineComparison:
    """Does the model beat the simple baselines at the same capacity?

    All flagging uses the same ``k`` and tie rule (see :func:`baseline_table`). At a
    fixed ``k`` precision and recall both rise with the number of true positives, so
    "better" means: more of the children later identified are among the ``k`` flagged.

    Parameters
    ----------
    y_true, risk : array-like
        Outcomes (0/1) and the model's risk for the same children.
    X : DataFrame
        Features of the same children (used only by the rules and age-only baseline).
    n_bootstrap : int, default 200
        Replicates for the interval of the recall difference against the best rule.
    confidence : float, default 0.95
    **options
        ``k``, ``share``, ``tiebreak``, ``rules``, ``X_train``, ``y_train``,
        ``random_state``: the keywords of :func:`baseline_table`, with its defaults. The
        model is flagged at the same ``k`` and ``tiebreak``; ``random_state`` also seeds
        the interval.

    Returns
    -------
    BaselineComparison

    Examples
    --------
    >>> import pandas as pd
    >>> from send_early.evaluation import compare_to_baselines
    >>> X = pd.DataFrame({"persistent_absence": [1, 1, 0, 0, 1, 0]})
    >>> c = compare_to_baselines([1, 0, 1, 0, 1, 0], [0.9, 0.1, 0.8, 0.2, 0.7, 0.3], X, k=3)
    >>> c.beats_best_rule, c.best_rule
    (True, 'persistent_absence')
    >>> print(c.summary)
    At capacity k=3, the model flags 3 of the 3 children later identified (recall 100.0%);
    the best simple rule (persistent_absence) flags 2 (66.7%). The model beats the best
    simple rule. The 95% interval of the recall difference (+0.000 to +1.000) includes 0,
    so the difference may be chance.
    """
    check_same_length(y_true=y_true, risk=risk, X=X)
    y = check_binary(y_true, "y_true")
    p = check_scores(risk, "risk", probability=False)
    # baseline_table's signature holds the keywords and their defaults, once
    used = inspect.signature(baseline_table).bind(y, X, **options)
    used.apply_defaults()
    tiebreak, rules, random_state = (
        used.arguments[name] for name in ("tiebreak", "rules", "random_state")
    )
    base = baseline_table(y, X, **options)
    kk = int(base["k"].iloc[0])
    model = capacity_metrics(y, p, k=kk, tiebreak=tiebreak)
    model_row = _row("model", "model", "The risk model", y, None, model)
    table = pd.concat([pd.DataFrame([model_row]), base], ignore_index=True)
    table["model_better"] = model["true_positives"] > table["true_positives"]
    table.loc[0, "model_better"] = False
    rule_rows = table[table["kind"] == "rule"]
    n_pos = int(y.sum())
    head = (
        f"At capacity k={kk}, the model flags {model['true_positives']} of the {n_pos} "
        f"children later identified (recall {_pct(model['recall'])})"
    )
    if rule_rows.empty:
        return BaselineComparison(
            table,
            None,
            None,
            np.nan,
            (np.nan, np.nan),
            head + "; no simple rule could be evaluated (columns missing).",
        )
    best = rule_rows.loc[rule_rows["true_positives"].idxmax()]
    beats = bool(model["true_positives"] > best["true_positives"])
    rule = next(r for r in _resolve_rules(X, rules) if r.name == best["baseline"])
    f_rule = flag_top_k(np.asarray(rule.flags(X), dtype=np.float64), kk, tiebreak=tiebreak)
    f_model = flag_top_k(p, kk, tiebreak=tiebreak)
    ci = _paired_ci(
        y, np.asarray(f_model), np.asarray(f_rule), n_bootstrap, confidence, random_state
    )
    diff = float(model["recall"] - best["recall"]) if n_pos else np.nan
    verdict = "beats" if beats else "does not beat"
    text = (
        f"{head}; the best simple rule ({best['baseline']}) flags "
        f"{int(best['true_positives'])} ({_pct(best['recall'])}). "
        f"The model {verdict} the best simple rule."
    )
    if np.isfinite(ci[0]) and (ci[0] <= 0 <= ci[1]):
        text += (
            f" The {confidence:.0%} interval of the recall difference "
            f"({ci[0]:+.3f} to {ci[1]:+.3f}) includes 0, so the difference may be chance."
        )
    return BaselineComparison(table, str(best["baseline"]), beats, diff, ci, text)


def _pct(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{100 * x:.1f}%"
