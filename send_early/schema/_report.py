"""ValidationReport: every problem found, with table, column, rule and example ids."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..exceptions import SchemaError
from ._coerce import _examples
from ._contract import CONTRACT_VERSION

__all__ = ["ValidationReport"]

_PROBLEM_COLUMNS = ["severity", "table", "column", "rule", "n_rows", "example_ids", "message"]


@dataclass(frozen=True)
class _Problem:
    severity: str
    table: str
    column: str
    rule: str
    n_rows: int
    example_ids: tuple[str, ...]
    message: str


class ValidationReport:
    """Every problem found in a set of contract tables.

    Attributes
    ----------
    ok : bool
        True when no problem has severity ``"error"`` (warnings are allowed).
    problems : DataFrame
        One row per problem: severity, table, column, rule, n_rows, example_ids
        (a comma-separated string of at most five ids) and a message.
    n_rows : dict
        Rows read per table.
    extract_date : Timestamp
        The extract date the dates were checked against.
    notes : tuple of str
        What is missing because an optional column is absent (not problems).
    """

    def __init__(
        self,
        problems: list[_Problem],
        n_rows: Mapping[str, int],
        extract_date: pd.Timestamp,
        notes: tuple[str, ...] = (),
    ):
        self._problems = list(problems)
        self.notes = tuple(notes)
        self.n_rows = dict(n_rows)
        self.extract_date = extract_date

    @property
    def problems(self) -> pd.DataFrame:
        rows = [{**p.__dict__, "example_ids": ", ".join(p.example_ids)} for p in self._problems]
        return pd.DataFrame(rows, columns=_PROBLEM_COLUMNS).astype({"n_rows": "int64"})

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self._problems)

    @property
    def n_errors(self) -> int:
        return sum(p.severity == "error" for p in self._problems)

    @property
    def n_warnings(self) -> int:
        return sum(p.severity == "warning" for p in self._problems)

    def to_dict(self) -> dict:
        """A JSON-ready dict of the report."""
        return {
            "ok": self.ok,
            "contract_version": CONTRACT_VERSION,
            "extract_date": self.extract_date.date().isoformat(),
            "n_rows": self.n_rows,
            "notes": list(self.notes),
            "problems": [
                {**p.__dict__, "example_ids": list(p.example_ids)} for p in self._problems
            ],
        }

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **({"indent": 2} | kwargs))

    def to_text(self) -> str:
        lines = [
            f"Data contract v{CONTRACT_VERSION}, extract date {self.extract_date.date()}: "
            + ", ".join(f"{t} {n:,} rows" for t, n in self.n_rows.items())
        ]
        if not self._problems:
            lines.append("OK: no problems found.")
        for p in self._problems:
            lines.append(f"{p.severity.upper():8s}{p.message}")
        lines += [f"NOTE    {n}" for n in self.notes]
        verdict = "VALID" if self.ok else "INVALID"
        lines.append(f"{verdict}: {self.n_errors} error(s), {self.n_warnings} warning(s).")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"ValidationReport(ok={self.ok}, errors={self.n_errors}, warnings={self.n_warnings})"

    def raise_for_errors(self) -> None:
        """Raise :class:`~send_early.SchemaError` listing every error, if there is one."""
        if not self.ok:
            errs = [p.message for p in self._problems if p.severity == "error"]
            raise SchemaError(
                f"{len(errs)} data contract error(s):\n  " + "\n  ".join(errs), report=self
            )


class _Collector:
    def __init__(self, keep_rows: bool = False):
        self.problems: list[_Problem] = []
        self.notes: list[str] = []  # absent optional columns: valid, but something is missing
        self.keep_rows = keep_rows
        self.rows: list[pd.DataFrame] = []

    def add(self, severity, table, column, rule, df, mask, message):
        mask = np.asarray(mask, bool)
        n = int(mask.sum())
        if n == 0:
            return
        if self.keep_rows and severity == "error":
            ids = df["child_id"].to_numpy()[mask] if "child_id" in df.columns else np.full(n, None)
            self.rows.append(
                pd.DataFrame(
                    {
                        "child_id": pd.array(ids, dtype="str"),
                        "table": table,
                        "column": column,
                        "rule": rule,
                        "row": np.flatnonzero(mask),
                    }
                )
            )
        ex = tuple(_examples(df, mask))
        ids = ", ".join(ex) + (", ..." if n > len(ex) else "")
        where = f" ({'child_id ' if 'child_id' in df.columns else ''}{ids})" if ex else ""
        self.problems.append(
            _Problem(
                severity,
                table,
                column,
                rule,
                n,
                ex,
                f"{message} in {n:,} row{'s' if n != 1 else ''}{where}.",
            )
        )

    def add_whole(self, severity, table, column, rule, n_rows, message):
        self.problems.append(_Problem(severity, table, column, rule, int(n_rows), (), message))
