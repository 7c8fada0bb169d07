"""Disclosure control: the one rule for every count, rate and share send_early publishes.

The rule (house rule 4): no published figure lets a reader recover a group of 1 to 9
children. Every table to publish is described by its *cells* (the counts of children
behind one row, e.g. true positives, false negatives, false positives, true negatives)
and its *figures* (each published column, declaring which sums of cells it reveals and
which groups it is computed on). :func:`protect` then

1. keeps a figure only when every sum of cells a reader can work out from the figures kept
   so far in the row (any linear combination, so ``1 - rate`` and ``n - count`` too) is 0
   or at least :data:`MIN_CELL`, and every group it is computed on has at least
   :data:`MIN_CELL` children (figures are tried in the order given: the first win);
2. where rows partition a published total (``totals``), hides more cells until what is
   hidden in each block adds up to 0 or at least :data:`MIN_CELL` children, so no hidden
   cell follows from the total and the other rows (complementary suppression);
3. for a cumulative table (``cumulative=True``, e.g. a capacity curve), also requires the
   difference between a row and the previous shown row to be 0 or at least
   :data:`MIN_CELL` children.

A zero may be shown: it recovers no group of 1 to 9 children (and its complement, the
rest of the group, is itself checked). A hidden count reads ``"<10"`` when it is 1 to 9
and ``None`` when it was hidden to protect another cell; any other hidden figure is
``None``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Fewest children a published count may describe (0 is allowed; 1 to 9 never).
MIN_CELL = 10
#: How a hidden count of 1 to 9 children reads.
SMALL = f"<{MIN_CELL}"

_Cells = frozenset[str]


def is_safe(n, min_cell: int = MIN_CELL) -> bool:
    """True when a count of children may be published: 0 or at least ``min_cell``
    (default :data:`MIN_CELL`).

    Examples
    --------
    >>> from send_early.privacy import is_safe
    >>> [is_safe(n) for n in (0, 1, 9, 10)]
    [True, False, False, True]
    """
    return n is not None and (round(float(n)) == 0 or round(float(n)) >= min_cell)


def show_count(n):
    """A stand-alone count as published: ``"<10"`` for 1 to 9, else the count.

    Examples
    --------
    >>> from send_early.privacy import show_count
    >>> show_count(0), show_count(7), show_count(12), show_count(None)
    (0, '<10', 12, None)
    """
    if n is None or isinstance(n, str | bool):
        return n if isinstance(n, str) else None
    f = float(n)
    if not math.isfinite(f):
        return None
    if not is_safe(f):
        return SMALL
    return int(f) if f.is_integer() else f


@dataclass(frozen=True)
class Figure:
    """What one published column reveals about the cells of its row.

    Parameters
    ----------
    reveals : tuple of frozenset of str
        Sums of cells a reader can work out from the figure (with the row's other
        published figures): a count reveals itself, a rate its numerator and denominator.
    over : tuple of frozenset of str
        Groups the figure is computed on; each needs at least :data:`MIN_CELL` children
        (a mean, an AUC: both the identified and the not identified).
    is_count : bool
        A count of children: hidden as ``"<10"`` when 1 to 9.
    """

    reveals: tuple[_Cells, ...] = ()
    over: tuple[_Cells, ...] = ()
    is_count: bool = False


def _cells(c) -> _Cells:
    return frozenset([c] if isinstance(c, str) else c)


def count(*cells: str) -> Figure:
    """A count of the children in ``cells`` (their sum).

    Examples
    --------
    >>> from send_early.privacy import count
    >>> count("tp", "fp").reveals == (frozenset({"tp", "fp"}),)
    True
    """
    return Figure(reveals=(frozenset(cells),), is_count=True)


def rate(num, den, *also) -> Figure:
    """A rate, share or percentage ``sum(num) / sum(den)``; ``also`` lists further
    sums it reveals (a lift reveals the base rate's numerator and denominator too).
    Each of ``num``, ``den`` and ``also`` is a cell name or a collection of them."""
    parts = (_cells(num), _cells(den), *(_cells(a) for a in also))
    return Figure(reveals=parts, over=(_cells(den),))


def statistic(*over) -> Figure:
    """A mean, AUC or other statistic computed on the children in each of ``over``
    (each a cell name or a collection); it reveals no count."""
    return Figure(over=tuple(_cells(o) for o in over))


# ----------------------------------------------------------------------------- engine
class _Space:
    """Sums of cells (every non-empty subset) and which of them a set of figures reveals."""

    def __init__(self, cells: Sequence[str]):
        self.cells = list(cells)
        self.index = {c: i for i, c in enumerate(self.cells)}
        m = len(self.cells)
        subsets = [s for r in range(1, m + 1) for s in itertools.combinations(range(m), r)]
        self.M = np.zeros((len(subsets), m))
        for i, s in enumerate(subsets):
            self.M[i, list(s)] = 1.0
        self.names = [frozenset(self.cells[j] for j in s) for s in subsets]
        self.pos = {name: i for i, name in enumerate(self.names)}

    def vec(self, cells: _Cells) -> np.ndarray:
        v = np.zeros(len(self.cells))
        for c in cells:
            v[self.index[c]] = 1.0
        return v

    def derivable(self, rows: list[np.ndarray]) -> np.ndarray:
        """Which subsets' sums lie in the span of ``rows``."""
        if not rows:
            return np.zeros(len(self.M), dtype=bool)
        A = np.vstack(rows)
        _, s, vt = np.linalg.svd(A, full_matrices=False)
        Q = vt[s > 1e-9 * max(1.0, s.max())]
        resid = self.M - (self.M @ Q.T) @ Q
        return np.abs(resid).max(axis=1) < 1e-7


def as_number(v) -> float:
    """A published figure as a float: NaN when it is absent, hidden (``"<10"``, None) or
    not a finite number.

    Examples
    --------
    >>> from send_early.privacy import as_number
    >>> as_number(12), as_number("<10"), as_number(None), as_number(True)
    (12.0, nan, nan, nan)
    """
    if v is None or isinstance(v, str | bool):
        return math.nan
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f if math.isfinite(f) else math.nan


def _unsafe(x: np.ndarray, min_cell: int) -> np.ndarray:
    r = np.round(x)
    return (r >= 1) & (r < min_cell)


class _Row:
    def __init__(self, space: _Space, rec: Mapping, figures: Mapping[str, Figure], min_cell: int):
        self.space = space
        self.min_cell = min_cell
        self.rec = rec
        self.figures = figures
        self.values = np.array([as_number(rec.get(c)) for c in space.cells])
        self.sums = space.M @ np.nan_to_num(self.values, nan=0.0)
        self.known = (space.M @ np.isnan(self.values)) == 0
        self.forbidden = np.zeros(len(space.M), dtype=bool)
        self.choose()

    def _over_ok(self, fig: Figure) -> bool:
        for grp in fig.over:
            i = self.space.pos.get(grp)
            if i is None or not self.known[i] or round(self.sums[i]) < self.min_cell:
                return False
        return True

    def choose(self) -> None:
        """Keep figures in order while nothing unsafe or forbidden becomes derivable."""
        kept, rows = [], []
        self.revealed = np.zeros(len(self.space.M), dtype=bool)
        for name, fig in self.figures.items():
            if as_number(self.rec.get(name)) != as_number(self.rec.get(name)):  # absent or NaN
                continue
            if not self._over_ok(fig):
                continue
            new = [self.space.vec(c) for c in fig.reveals]
            if any(not self.known[self.space.pos[c]] for c in fig.reveals):
                continue
            d = self.space.derivable(rows + new) if new else self.revealed
            if (d & (_unsafe(self.sums, self.min_cell) | self.forbidden | ~self.known)).any():
                continue
            kept.append(name)
            rows += new
            self.revealed = d
        self.kept = set(kept)


def _blocks(records, by) -> list[list[int]]:
    if by is None:
        return [list(range(len(records)))]
    key = by if callable(by) else (lambda r: tuple(r.get(c) for c in by))
    out: dict[Hashable, list[int]] = {}
    for i, r in enumerate(records):
        out.setdefault(key(r), []).append(i)
    return list(out.values())


def _complement(rows: list[_Row], idx: list[int], totals: np.ndarray | None) -> bool:
    """Hide one more cell where a block's hidden remainder is 1 to 9; True if changed."""
    rev = np.array([rows[i].revealed for i in idx])
    sums = np.array([rows[i].sums for i in idx])
    known = np.array([rows[i].known for i in idx])
    if totals is None:  # the total is the sum of the rows, published when every row is known
        total, total_known = sums.sum(axis=0), known.all(axis=0)
    else:
        total, total_known = totals, ~np.isnan(totals)
    hidden_any = (~rev).any(axis=0)
    remainder = np.where(total_known, total - (sums * rev).sum(axis=0), np.nan)
    rest = _unsafe(np.nan_to_num(remainder, nan=0.0), rows[idx[0]].min_cell)
    bad = np.flatnonzero(hidden_any & total_known & rest)
    for s in bad:
        cand = [(sums[j, s], j) for j in range(len(idx)) if rev[j, s] and sums[j, s] > 0]
        if not cand:
            continue
        _, j = min(cand)
        row = rows[idx[j]]
        row.forbidden[s] = True
        row.choose()
        return True
    return False


def _cumulative(rows: list[_Row]) -> None:
    """Each shown row differs from the previous shown row by 0 or >= MIN_CELL children."""
    last: dict[int, float] = {}
    for row in rows:
        while True:
            diff = np.array([row.sums[s] - last.get(s, row.sums[s]) for s in range(len(row.sums))])
            bad = row.revealed & _unsafe(np.abs(diff), row.min_cell)
            if not bad.any():
                break
            row.forbidden |= bad
            row.choose()
        for s in np.flatnonzero(row.revealed):
            last[int(s)] = row.sums[s]


def protect(
    records: Iterable[Mapping],
    *,
    cells: Sequence[str],
    figures: Mapping[str, Figure],
    by: Sequence[str] | Callable[[Mapping], Hashable] | None = None,
    totals: bool | Mapping[Hashable, Mapping[str, float]] = False,
    cumulative: bool = False,
    flag: str | None = "suppressed",
    min_cell: int = MIN_CELL,
) -> list[dict]:
    """Apply the disclosure rule to a table given as records (a list of dicts).

    Parameters
    ----------
    records : iterable of dict
        One dict per row with the published columns and, under the names in ``cells``,
        the counts behind the row (None where unknown: figures that need an unknown
        cell are hidden). Cell columns that are not figures are dropped from the output.
    cells : sequence of str
        Names of the counts behind each row (the row's children split so that every
        figure is a sum of them, or a ratio of two such sums).
    figures : dict of column name to :class:`Figure`
        The published columns that are numbers about children, in order of priority.
        Any other column (labels, bin edges) is passed through unchanged.
    by : sequence of str or callable, optional
        Columns (or a key function) splitting the rows into blocks for ``totals``.
    totals : bool or dict, default False
        True when each block's rows partition a published total (the sum of the rows,
        cell by cell); or a dict of block key to ``{cell: total}`` where the total is
        known from elsewhere. Hidden cells are then complemented.
    cumulative : bool, default False
        Rows are cumulative (each contains the previous); see the module docstring.
    flag : str or None, default "suppressed"
        Column set to True on rows where any figure is hidden.
    min_cell : int, default MIN_CELL
        Fewest children a count may describe. Only private analysis may lower it;
        everything published (model card, registry) uses :data:`MIN_CELL`.

    Returns
    -------
    list of dict

    Examples
    --------
    >>> from send_early.privacy import count, protect, rate, statistic
    >>> rows = [{"bin": b, "events": e, "others": o} for b, e, o in
    ...         [(1, 2, 40), (2, 15, 60), (3, 30, 90)]]
    >>> for r in rows:
    ...     r.update(n=r["events"] + r["others"], rate=r["events"] / (r["events"] + r["others"]))
    >>> figs = {"n": count("events", "others"), "rate": rate("events", ["events", "others"])}
    >>> out = protect(rows, cells=["events", "others"], figures=figs, totals=True)
    >>> [(r["bin"], r["n"], r["rate"], r["suppressed"]) for r in out]
    [(1, 42, None, True), (2, 75, None, True), (3, 120, 0.25, False)]
    """
    records = [dict(r) for r in records]
    if not records:
        return []
    space = _Space(cells)
    unknown = [c for f in figures.values() for g in (*f.reveals, *f.over) for c in g]
    bad = sorted(set(unknown) - set(space.cells))
    if bad:
        raise ValueError(f"figures must be built from the cells {list(cells)}; found {bad}.")
    rows = [_Row(space, r, figures, min_cell) for r in records]
    if totals is not False:
        blocks = _blocks(records, by)
        keys = [None] * len(blocks)
        if isinstance(totals, Mapping):
            key = by if callable(by) else (lambda r: tuple(r.get(c) for c in by or ()))
            keys = [key(records[b[0]]) for b in blocks]
        changed = True
        while changed:
            changed = False
            for b, k in zip(blocks, keys, strict=True):
                tot = None
                if isinstance(totals, Mapping):
                    given = totals.get(k, totals.get(None, {})) or {}
                    vals = np.array([as_number(given.get(c)) for c in space.cells])
                    tot = space.M @ vals
                while _complement(rows, b, tot):
                    changed = True
    if cumulative:
        _cumulative(rows)
    out = []
    for rec, row in zip(records, rows, strict=True):
        new = {}
        hidden = False
        for key, v in rec.items():
            if key in space.index and key not in figures:
                continue
            if key not in figures or key in row.kept:
                new[key] = v
                continue
            present = as_number(v) == as_number(v)
            hidden = hidden or present or v == SMALL
            small = figures[key].is_count and present and not is_safe(v, min_cell)
            new[key] = SMALL if small or v == SMALL else None
        if flag:
            new[flag] = hidden or bool(rec.get(flag))
        out.append(new)
    return out


def protect_frame(
    frame: pd.DataFrame,
    *,
    cells: Mapping[str, Sequence[float]],
    figures: Mapping[str, Figure],
    by: Sequence[str] | None = None,
    totals: bool = False,
    cumulative: bool = False,
    min_cell: int = MIN_CELL,
) -> pd.DataFrame:
    """:func:`protect` on a DataFrame: hidden figures become missing (nullable dtypes) and
    a ``suppressed`` column marks the rows where a figure is hidden.

    ``cells`` maps each cell name to its counts, one per row (they are not added to the
    result); ``figures`` not among the columns are ignored.

    Examples
    --------
    >>> import pandas as pd
    >>> from send_early.privacy import count, protect_frame, rate
    >>> t = pd.DataFrame({"n": [40, 60, 80], "rate": [0.1, 0.5, 0.5]})
    >>> ev = (t["n"] * t["rate"]).to_numpy()
    >>> protect_frame(t, cells={"ev": ev, "other": t["n"] - ev}, totals=True,
    ...               figures={"n": count("ev", "other"), "rate": rate("ev", ["ev", "other"])})
        n  rate  suppressed
    0  40  <NA>        True
    1  60  <NA>        True
    2  80   0.5       False
    """
    figs = {c: f for c, f in figures.items() if c in frame.columns}
    keys = list(by or ())
    recs = frame[keys + [c for c in figs if c not in keys]].to_dict(orient="records")
    arrays = {k: np.asarray(v, dtype=float) for k, v in cells.items()}
    for i, r in enumerate(recs):
        r.update({k: a[i] for k, a in arrays.items()})
    out = protect(
        recs,
        cells=list(arrays),
        figures=figs,
        by=by,
        totals=totals,
        cumulative=cumulative,
        flag="_hidden",
        min_cell=min_cell,
    )
    res = frame.drop(columns="suppressed", errors="ignore").copy()
    for c in figs:
        shown = np.array([o[c] is not None and o[c] != SMALL for o in out], dtype=bool)
        whole = pd.api.types.is_integer_dtype(res[c]) or isinstance(res[c].dtype, pd.Int64Dtype)
        res[c] = res[c].astype("Int64" if whole else "Float64").where(shown)
    res["suppressed"] = [bool(o["_hidden"]) for o in out]
    return res
