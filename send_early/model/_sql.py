"""A fitted RiskModel as one SQL query: bins, term look-ups, sum, calibration, rank, reasons.

The query reads a feature table (one row per child, the columns of
:func:`send_early.features.build_features`, missing values as NULL) and returns what
:meth:`RiskModel.score_features` returns: ``child_id``, ``risk``, ``rank``,
``flagged`` and ``reason_1 .. reason_k``. It is written once in DuckDB's dialect and
rendered for the others by sqlglot. Every number of the model is written as
``CAST('<repr>' AS DOUBLE)`` (the shortest text that reads back to the same float), and
every operation follows the order numpy uses, so the SQL and Python agree to the last bit
wherever the database's ``EXP`` does (to 1e-15 elsewhere) and ties rank the same way.

Stages (common table expressions):

``src``      the model's features, cast (numbers to DOUBLE, codes to text), the
             population's age range applied;
``seg``      per feature, the index of its *segment*: a run of consecutive bins over
             which every table of the feature is constant (the missing bin, NULL or an
             unknown category, is the last segment), so a feature with 255 bins whose
             tables change at 12 edges is one CASE of 12 comparisons;
``terms``    per term a CASE on segments (a pair: a CASE on the first feature's
             segments, each a CASE on the second's), in calibrated log-odds;
``scored``   the sum in term order, the calibration map (sigmoid, or the isotonic
             thresholds interpolated as scikit-learn does), the risk;
``ranked``   rank by risk (descending), ties by child id (binary order);
``cand`` .. ``reasons``  the eligible terms per child (unpivoted), the top ``k``, and
             their sentences, formatted as :func:`send_early.explain.format_value` does.
"""

from __future__ import annotations

import numpy as np

from ..evaluation import SHARE_TOLERANCE

__all__ = ["DIALECTS", "model_sql"]

#: Dialect names accepted by ``RiskModel.to_sql`` -> sqlglot's name. Ibis's names
#: (``"mssql"``, ``"pyspark"``) and sqlglot's (``"tsql"``, ``"spark"``) both work.
DIALECTS = {
    "duckdb": "duckdb",
    "postgres": "postgres",
    "mssql": "tsql",
    "tsql": "tsql",
    "pyspark": "spark",
    "spark": "spark",
}

#: How the child id is compared when ranks tie, per sqlglot dialect: by code point, as
#: Python sorts strings (DuckDB and Spark compare bytes by default).
_BINARY_COLLATION = {"postgres": '"C"', "tsql": "Latin1_General_BIN2"}

#: Per sqlglot dialect, whether the reasons' candidates join ``terms`` once to the list of
#: terms (databases that ignore MATERIALIZED and plan a common table at every reference:
#: Spark's analyzer ran out of memory planning one SELECT per term) rather than union one
#: SELECT per term (a MATERIALIZED ``terms`` is computed once: DuckDB, PostgreSQL).
_UNPIVOT_BY_JOIN = {"duckdb": False, "postgres": False, "tsql": True, "spark": True}

# kinds of value in a reason sentence (explain.format_value)
_TEXT, _FLAG, _SHARE, _NUMBER = 0, 1, 2, 3


def _num(v) -> str:
    """A float as SQL that reads back to the same float in every dialect."""
    v = float(v)
    if not np.isfinite(v):
        raise ValueError(f"the model holds a value SQL cannot carry ({v!r}).")
    return f"CAST('{v!r}' AS DOUBLE)"


def _str(s) -> str:
    return "'" + str(s).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


# ----------------------------------------------------------------------------- the model
class _Term:
    """One term: its features (indices) and its table in calibrated log-odds."""

    def __init__(self, name, features, table, points=None):
        self.name = name
        self.features = tuple(features)
        self.table = np.asarray(table, dtype=np.float64)
        self.points = points  # scorecard points per bin (int), for isotonic calibration


def _terms(model) -> list[_Term]:
    """The estimator's terms as tables over bins, times the calibration slope (what
    ``RiskModel.contributions`` computes, element by element)."""
    est = model.estimator_
    slope = model.calibration_["slope"]
    out = []
    if hasattr(est, "tables_"):  # AdditiveRiskClassifier
        for name, t, tab in zip(est.term_names_, est.term_features_, est.tables_, strict=True):
            out.append(_Term(name, t, tab * slope))
    else:  # ScorecardClassifier: (points - mean points) / points per logit
        for k, ((f,), pts) in enumerate(zip(est.term_features_, est.bin_points_, strict=True)):
            contrib = (pts - np.asarray(est.mean_points_)[k]) / est.points_per_logit_
            out.append(_Term(est.term_names_[k], (f,), contrib * slope, points=pts))
    return out


def _segments(j: int, terms: list[_Term], n_value_bins: int) -> np.ndarray:
    """Segment of every value bin of feature ``j`` (runs where all its tables are constant)."""
    change = np.zeros(n_value_bins, dtype=bool)
    if n_value_bins < 2:
        return np.cumsum(change)
    for t in terms:
        for axis, f in enumerate(t.features):
            if f != j:
                continue
            tab = np.moveaxis(t.table, axis, 0)[:n_value_bins]
            diff = (tab[1:] != tab[:-1]).reshape(n_value_bins - 1, -1).any(axis=1)
            change[1:] |= diff
            if t.points is not None:
                change[1:] |= t.points[1:n_value_bins] != t.points[: n_value_bins - 1]
    return np.cumsum(change)


def _segment_case(col: str, est, j: int, seg: np.ndarray) -> str:
    """CASE giving the segment of feature ``j`` (value bins, then missing = last)."""
    n_seg = int(seg[-1]) + 1 if seg.size else 0
    t = est.binner_.thresholds[j]
    if t is None:  # categorical: one WHEN per segment, its categories listed
        cats = est.categories_[j]
        by_seg: dict[int, list[str]] = {}
        for c, s in zip(cats, seg, strict=True):
            lit = _str(c) if isinstance(c, str) else _num(c)
            by_seg.setdefault(int(s), []).append(lit)
        whens = " ".join(
            f"WHEN {col} IN ({', '.join(lits)}) THEN {s}" for s, lits in by_seg.items()
        )
        return f"CASE {whens} ELSE {n_seg} END" if whens else f"{n_seg}"
    # numeric: bin b holds t[b-1] < x <= t[b]; a segment ends at its last bin's upper edge
    whens = [f"WHEN {col} IS NULL THEN {n_seg}"]
    ends = np.flatnonzero(np.diff(seg)) if seg.size > 1 else np.zeros(0, dtype=int)
    for s, b in enumerate(ends):
        whens.append(f"WHEN {col} <= {_num(t[b])} THEN {s}")
    return f"CASE {' '.join(whens)} ELSE {n_seg - 1} END"


def _runs(values, keys) -> list[tuple[int, object]]:
    """(last key, value) of each run of equal consecutive values."""
    out = []
    for k, v in zip(keys, values, strict=True):
        if out and out[-1][1] == v:
            out[-1] = (k, v)
        else:
            out.append((k, v))
    return out


def _lookup(var: str, values, keys, render) -> str:
    """CASE over a segment index ``var`` (keys ascending) returning ``render(value)``."""
    runs = _runs(list(values), list(keys))
    if len(runs) == 1:
        return render(runs[0][1])
    whens = " ".join(f"WHEN {var} <= {k} THEN {render(v)}" for k, v in runs[:-1])
    return f"CASE {whens} ELSE {render(runs[-1][1])} END"


def _first_bins(seg: np.ndarray) -> np.ndarray:
    """The first value bin of each segment, then the missing bin."""
    first = np.flatnonzero(np.r_[True, np.diff(seg) != 0])
    return np.append(first, seg.size)


def _term_case(term: _Term, segs: dict[int, np.ndarray], table=None, render=_num) -> str:
    tab = term.table if table is None else table
    if len(term.features) == 1:
        (j,) = term.features
        bins = _first_bins(segs[j])
        return _lookup(f"s_{j}", tab[bins], range(len(bins)), render)
    i, j = term.features
    bi, bj = _first_bins(segs[i]), _first_bins(segs[j])
    sub = tab[np.ix_(bi, bj)]
    rows = [_lookup(f"s_{j}", sub[r], range(len(bj)), render) for r in range(len(bi))]
    return _lookup(f"s_{i}", rows, range(len(bi)), lambda x: x)


# ----------------------------------------------------------------------------- reasons
def _kind(model, name: str) -> int:
    dtype = model.feature_dtypes_.get(name, "")
    if dtype == "category" or "str" in dtype or dtype == "object":
        return _TEXT
    spec = {f.name: f for f in model.pipeline.features}.get(name)
    if spec is not None and spec.dtype == "flag":
        return _FLAG
    if spec is not None and spec.unit.startswith("share"):
        return _SHARE
    return _NUMBER


_POWERS = " ".join(f"WHEN a_# >= {_num(10.0**e)} THEN {2 - e}" for e in range(2, -10, -1))
_TEN = "POWER(CAST(10 AS DOUBLE), dec_#)"
#: Stages turning value ``#`` of a reason (``kind#``, ``num#``, ``txt#``) into ``v#``, the text
#: explain.format_value gives: numbers rounded to three significant digits (at most 12
#: decimals) and written as Python's str writes them (no trailing zeros; below 1e-04 in
#: scientific notation), shares as a percentage with one decimal, flags as yes/no. Each
#: stage reads the one before (``{prev}``) and each column a few times at most, so a database
#: that inlines the stages does not grow the expressions much.
_FORMAT = [
    f"SELECT *, ABS(num#) AS a_#, CASE WHEN kind# = {_SHARE} THEN 1 WHEN ABS(num#) = 0 THEN 2 "
    f"{_POWERS.replace('a_#', 'ABS(num#)')} ELSE 12 END AS dec_# FROM {{prev}}",
    f"SELECT *, CASE WHEN kind# = {_SHARE} THEN ABS(num# * 100) * 10 ELSE a_# * {_TEN} END "
    "AS y_# FROM {prev}",
    # numpy's rint: to the nearest integer, halves to even
    "SELECT *, CASE WHEN y_# - FLOOR(y_#) > 0.5 THEN FLOOR(y_#) + 1 "
    "WHEN y_# - FLOOR(y_#) < 0.5 THEN FLOOR(y_#) "
    "WHEN FLOOR(y_#) - 2 * FLOOR(FLOOR(y_#) / 2) = 0 THEN FLOOR(y_#) "
    "ELSE FLOOR(y_#) + 1 END AS k_# FROM {prev}",
    f"SELECT *, FLOOR(k_# / {_TEN}) AS ip_# FROM {{prev}}",
    # the decimals, zero-padded: digits of 10**dec + fraction, without the leading 1
    f"SELECT *, SUBSTRING(CAST(CAST(k_# - ip_# * {_TEN} + {_TEN} AS BIGINT) AS VARCHAR), 2, "
    "dec_#) AS frac_# FROM {prev}",
    f"SELECT *, CASE WHEN kind# = {_SHARE} THEN frac_# ELSE TRIM(TRAILING '0' FROM frac_#) END "
    "AS fr_# FROM {prev}",
    "SELECT *, TRIM(LEADING '0' FROM fr_#) AS sig_#, CAST(CAST(ip_# AS BIGINT) AS VARCHAR) "
    "AS int_# FROM {prev}",
    "SELECT *, LENGTH(fr_#) - LENGTH(sig_#) + 1 AS e_# FROM {prev}",
    f"SELECT *, CASE WHEN kind# = {_TEXT} THEN txt# "
    f"WHEN kind# = {_FLAG} THEN CASE WHEN num# = 1 THEN 'yes' ELSE 'no' END "
    "ELSE CASE WHEN num# < 0 THEN '-' ELSE '' END || CASE "
    f"WHEN kind# = {_NUMBER} AND int_# = '0' AND sig_# <> '' AND e_# > 4 THEN "
    "SUBSTRING(sig_#, 1, 1) || CASE WHEN LENGTH(sig_#) > 1 THEN '.' || "
    "SUBSTRING(sig_#, 2, LENGTH(sig_#) - 1) ELSE '' END || 'e-' || "
    "CASE WHEN e_# < 10 THEN '0' ELSE '' END || CAST(e_# AS VARCHAR) "
    "ELSE int_# || CASE WHEN fr_# = '' THEN '' ELSE '.' || fr_# END END || "
    f"CASE WHEN kind# = {_SHARE} THEN '%' ELSE '' END END AS v# FROM {{prev}}",
]


def _format_stages(n: int, prev: str) -> tuple[list[str], str]:
    """CTEs formatting values 1 .. ``n`` of the reasons in ``prev``; the last CTE's name."""
    ctes = []
    for i in range(1, n + 1):
        for s, stage in enumerate(_FORMAT):
            name = f"fmt{i}_{s}"
            body = stage.replace("#", str(i)).format(prev=prev)
            ctes.append(f"{name} AS MATERIALIZED ({body})")
            prev = name
    return ctes, prev


# ----------------------------------------------------------------------------- the query
def _pairwise_sum(cols: list[str]) -> str:
    """numpy's pairwise summation of a contiguous row (``np.add.reduce``): up to 7 terms
    left to right, then 8 running sums combined as a tree, the rest added; halves beyond 128."""
    n = len(cols)
    if n < 8:
        return _seq_sum(cols)
    if n > 128:
        half = n // 2
        half -= half % 8
        return f"({_pairwise_sum(cols[:half])} + {_pairwise_sum(cols[half:])})"
    body = n - n % 8
    r = [_seq_sum(cols[j:body:8]) for j in range(8)]
    tree = f"((({r[0]} + {r[1]}) + ({r[2]} + {r[3]})) + (({r[4]} + {r[5]}) + ({r[6]} + {r[7]})))"
    return _seq_sum([tree, *cols[body:]])


def _seq_sum(cols: list[str]) -> str:
    """``(a + b + c ...)``, added left to right as SQL does: numpy's order when it sums a
    row of terms."""
    return "(" + " + ".join(cols) + ")"


def _calibration(model, n_terms: int) -> tuple[str, str]:
    """``(logit, risk)``: the model's log-odds from the term columns of ``terms`` (``c_k``,
    or the scorecard's points ``p_k``), and the risk from ``logit``."""
    est = model.estimator_
    cal = model.calibrator_
    contrib = [f"c_{k}" for k in range(n_terms)] or ["CAST(0 AS DOUBLE)"]
    if cal is None:
        # RiskModel.contributions is column-major for the additive model (numpy adds each
        # row left to right) and row-major for the scorecard (numpy adds pairwise)
        total = _seq_sum(contrib) if hasattr(est, "tables_") else _pairwise_sum(contrib)
        logit = f"{_num(model.intercept_)} + {total}"
        return logit, "CAST(1 AS DOUBLE) / (CAST(1 AS DOUBLE) + EXP(-logit))"
    if hasattr(est, "tables_"):
        logit = f"{_num(est.intercept_)} + {_seq_sum(contrib)}"
    else:
        pts = _seq_sum([str(int(est.base_points_)), *[f"p_{k}" for k in range(n_terms)]])
        logit = f"CAST({pts} AS DOUBLE) / {_num(est.points_per_logit_)}"
    # isotonic: clipped to the thresholds, interpolated as numpy's interp does (scipy's interp1d
    # calls it): slope * (t - x_lo) + y_lo on [x_lo, x_hi), the last y at the last x; values up
    # to 1 + 1e-5 set to 1
    x, y = cal.x, cal.y
    if y.size == 1:
        return logit, _num(y[0])
    t = (
        f"(CASE WHEN logit < {_num(x[0])} THEN {_num(x[0])} "
        f"WHEN logit > {_num(x[-1])} THEN {_num(x[-1])} ELSE logit END)"
    )
    slope = (y[1:] - y[:-1]) / (x[1:] - x[:-1])
    pieces = [f"{_num(slope[m])} * ({t} - {_num(x[m])}) + {_num(y[m])}" for m in range(x.size - 1)]
    whens = " ".join(f"WHEN {t} < {_num(x[m + 1])} THEN {pieces[m]}" for m in range(x.size - 1))
    p = f"(CASE {whens} ELSE {_num(y[-1])} END)"
    risk = f"CASE WHEN {p} > 1 AND {p} <= {_num(1.0 + 1e-5)} THEN CAST(1 AS DOUBLE) ELSE {p} END"
    return logit, risk


def _reason_terms(model, terms: list[_Term], n_vals: int) -> list[tuple[int, str, list]]:
    """Per term that may be a reason (as explain.explain_local decides): its index, the
    condition under which it is offered, and per value 1 .. ``n_vals`` its
    ``(label, kind, num, txt)`` as SQL (a term with fewer features pads with ``''``/NULL)."""
    from ..explain import offers_reason

    names = list(model.feature_names_)
    labels = model.pipeline.labels()
    pad = ("''", str(_TEXT), "CAST(NULL AS DOUBLE)", "CAST(NULL AS VARCHAR)")
    out = []
    for k, t in enumerate(terms):
        fs = [names[j] for j in t.features]
        if not offers_reason(model.pipeline, fs):
            continue
        cond = [f"c_{k} >= {_num(model.spec.min_contribution)}"]
        vals = []
        for j, name in zip(t.features, fs, strict=True):
            kind = _kind(model, name)
            # a reason is about something recorded; a status only when a due record is missing
            cond.append(f"f_{j} = 'missing'" if name.endswith("_status") else f"f_{j} IS NOT NULL")
            num = "CAST(NULL AS DOUBLE)" if kind == _TEXT else f"CAST(f_{j} AS DOUBLE)"
            txt = f"CAST(f_{j} AS VARCHAR)" if kind == _TEXT else "CAST(NULL AS VARCHAR)"
            vals.append((_str(labels.get(name, name)), str(kind), num, txt))
        vals += [pad] * (n_vals - len(vals))
        out.append((k, " AND ".join(cond), vals))
    return out


_VALUE_COLUMNS = ("label", "kind", "num", "txt")


def _cand_union(offered, n_vals: int) -> str:
    """``cand`` as one SELECT per offered term, unioned: each reads ``terms`` once (for
    databases that compute a MATERIALIZED common table once)."""
    selects = []
    for k, cond, vals in offered:
        cols = ", ".join(
            f"{v} AS {c}{i}"
            for i, val in enumerate(vals, 1)
            for c, v in zip(_VALUE_COLUMNS, val, strict=True)
        )
        selects.append(
            f"SELECT child_id, {k} AS term, c_{k} AS contribution, {cols} FROM terms WHERE {cond}"
        )
    return " UNION ALL ".join(selects)


def _cand_join(offered, n_vals: int) -> str:
    """``cand`` as ``terms`` joined once to a list of the offered terms, the term's columns
    picked by CASE: for databases that inline a common table at every reference (Spark,
    SQL Server), where one SELECT per term would plan ``terms`` once per term."""
    keys = ", ".join(f"({k})" for k, _, _ in offered)

    def pick(expr_of) -> str:
        whens = " ".join(f"WHEN {k} THEN {expr_of(k, vals)}" for k, _, vals in offered)
        return f"CASE k.term {whens} END"

    cols = [f"{pick(lambda k, vals: f'c_{k}')} AS contribution"]
    for i in range(n_vals):
        for c_i, c in enumerate(_VALUE_COLUMNS):
            cols.append(f"{pick(lambda k, vals, i=i, c_i=c_i: vals[i][c_i])} AS {c}{i + 1}")
    where = " OR ".join(f"(k.term = {k} AND {cond})" for k, cond, _ in offered)
    return (
        f"SELECT t.child_id, k.term, {', '.join(cols)} FROM terms AS t "
        f"CROSS JOIN (VALUES {keys}) AS k(term) WHERE {where}"
    )


def _cand(model, terms: list[_Term], n_vals: int, join: bool) -> str:
    """The ``cand`` stage: one row per child and offered term where it is offered."""
    offered = _reason_terms(model, terms, n_vals)
    if offered:
        return (_cand_join if join else _cand_union)(offered, n_vals)
    # no term may be offered: no rows, typed
    vals = ", ".join(
        f"'' AS label{i}, {_TEXT} AS kind{i}, CAST(NULL AS DOUBLE) AS num{i}, "
        f"CAST(NULL AS VARCHAR) AS txt{i}"
        for i in range(1, n_vals + 1)
    )
    return (
        f"SELECT child_id, 0 AS term, CAST(0 AS DOUBLE) AS contribution, {vals} "
        "FROM terms WHERE 1 = 0"
    )


def model_sql(
    model,
    dialect: str = "duckdb",
    *,
    features_table: str = "features",
    id_column: str = "child_id",
    capacity=None,
    population: bool = True,
    pretty: bool = False,
    unpivot: str | None = None,
) -> str:
    """One query scoring ``features_table`` with a fitted ``model`` (see ``RiskModel.to_sql``).

    ``unpivot`` (``"union"`` or ``"join"``) chooses how the reasons' candidates are formed;
    by default the dialect's (``_UNPIVOT_BY_JOIN``). Both give the same rows (tested).
    """
    if unpivot not in (None, "union", "join"):
        raise ValueError(f"unpivot must be 'union' or 'join'; found {unpivot!r}.")
    try:
        # Ibis registers its own sqlglot dialects under sqlglot's names; if sqlglot looked
        # "postgres" up first, Ibis's PostgreSQL backend would later compile with sqlglot's
        # class and emit functions PostgreSQL lacks (DATE_FROM_PARTS)
        import ibis.backends.sql.dialects  # noqa: F401
    except ImportError:  # pragma: no cover - Ibis comes with the duckdb extra
        pass
    try:
        import sqlglot
    except ImportError:  # pragma: no cover - installed with the duckdb extra
        raise ImportError(
            "RiskModel.to_sql needs sqlglot: pip install 'send_early[duckdb]'."
        ) from None
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}; found {dialect!r}.")
    cap = model.capacity_rule(capacity)

    est = model.estimator_
    names = list(model.feature_names_)
    terms = _terms(model)
    used = sorted({j for t in terms for j in t.features})
    n_bins = est.binner_.n_value_bins
    segs = {j: _segments(j, terms, int(n_bins[j])) for j in used}

    # src: the model's features, cast; the population's age range
    cols = [f"CAST({_ident(id_column)} AS VARCHAR) AS child_id"]
    for j in used:
        cast = (
            "VARCHAR"
            if est.binner_.thresholds[j] is None
            and all(isinstance(c, str) for c in est.categories_[j])
            else "DOUBLE"
        )
        cols.append(f"CAST({_ident(names[j])} AS {cast}) AS f_{j}")
    where = ""
    if population:
        lo, hi = model.spec.population_age_months
        age = f"CAST({_ident('age_months')} AS DOUBLE)"
        where = f" WHERE {age} >= {_num(lo)} AND {age} <= {_num(hi)}"
    src = f"src AS (SELECT {', '.join(cols)} FROM {features_table}{where})"
    seg = (
        "seg AS (SELECT *, "
        + ", ".join(f"{_segment_case(f'f_{j}', est, j, segs[j])} AS s_{j}" for j in used)
        + " FROM src)"
    )
    term_cols = [f"{_term_case(t, segs)} AS c_{k}" for k, t in enumerate(terms)]
    if model.calibrator_ is not None and not hasattr(est, "tables_"):
        term_cols += [
            f"{_term_case(t, segs, t.points, lambda v: str(int(v)))} AS p_{k}"
            for k, t in enumerate(terms)
        ]
    # read by the score and by every reason's branch: computed once where the dialect can
    terms_cte = f"terms AS MATERIALIZED (SELECT *, {', '.join(term_cols)} FROM seg)"
    logit, risk = _calibration(model, len(terms))
    scored = (
        f"scored AS (SELECT child_id, {risk} AS risk FROM (SELECT child_id, {logit} AS logit "
        "FROM terms) AS q)"
    )
    ranked = (
        "ranked AS (SELECT child_id, risk, ROW_NUMBER() OVER (ORDER BY risk DESC, child_id)"
        " AS rank_, COUNT(*) OVER () AS n_ FROM scored)"
    )
    if "k" in cap:
        flag = f"r.rank_ <= {int(cap['k'])}"
    elif "share" in cap:  # floor(share * n), read to within a tolerance (resolve_k)
        flag = f"r.rank_ <= FLOOR({_num(cap['share'])} * r.n_ + {_num(SHARE_TOLERANCE)})"
    else:
        flag = f"r.risk >= {_num(cap['threshold'])}"

    # reasons: eligible terms unpivoted, the top k by contribution (ties: lower term), formatted
    top_k = model.spec.top
    n_vals = max((len(t.features) for t in terms), default=1)
    target = DIALECTS[dialect]
    join = _UNPIVOT_BY_JOIN[target] if unpivot is None else unpivot == "join"
    cand = f"cand AS ({_cand(model, terms, n_vals, join)})"
    top = (
        "top AS (SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY child_id "
        f"ORDER BY contribution DESC, term) AS pos FROM cand) AS q WHERE pos <= {top_k})"
    )
    fmt, last = _format_stages(n_vals, "top")
    sentence = "label1 || ': ' || v1"
    if n_vals == 2:
        sentence += (
            " || CASE WHEN label2 = '' THEN '' ELSE '; together with ' || label2 || ': ' || v2 END"
        )
    reasons = (
        "reasons AS (SELECT child_id, "
        + ", ".join(
            f"MAX(CASE WHEN pos = {p} THEN {sentence} END) AS reason_{p}"
            for p in range(1, top_k + 1)
        )
        + f" FROM {last} GROUP BY child_id)"
    )
    yes, no = ("1", "0") if target == "tsql" else ("TRUE", "FALSE")  # T-SQL has no booleans
    out_cols = ", ".join(f"COALESCE(x.reason_{p}, '') AS reason_{p}" for p in range(1, top_k + 1))
    final = (
        f"SELECT r.child_id, r.risk, r.rank_ AS {_ident('rank')}, "
        f"CASE WHEN {flag} THEN {yes} ELSE {no} END AS flagged{', ' if out_cols else ''}"
        f"{out_cols} FROM ranked AS r LEFT JOIN reasons AS x ON r.child_id = x.child_id "
        "ORDER BY r.rank_"
    )
    ctes = [src, seg, terms_cte, scored, ranked, cand, top, *fmt, reasons]
    text = "WITH " + ", ".join(ctes) + " " + final
    tree = sqlglot.parse_one(text, read="duckdb")
    if target not in ("duckdb", "postgres"):
        for cte in tree.find_all(sqlglot.exp.CTE):
            cte.set("materialized", None)
    collation = _BINARY_COLLATION.get(target)
    if collation:
        for order in tree.find_all(sqlglot.exp.Ordered):
            col = order.this
            if isinstance(col, sqlglot.exp.Column) and col.name == "child_id":
                order.set(
                    "this",
                    sqlglot.exp.Collate(
                        this=col.copy(), expression=sqlglot.exp.Var(this=collation)
                    ),
                )
    return tree.sql(dialect=target, pretty=pretty)
