"""Tables: the contract tables of one extract, with its extract date."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pandas as pd

from ._contract import TABLES
from ._dates import parse_iso_date

__all__ = ["Tables"]


class Tables(Mapping):
    """A set of contract tables and the date they were extracted.

    Behaves as a read-only mapping from table name to DataFrame. Returned by
    :func:`send_early.read_tables` and :func:`send_early.datasets.make_cohort`;
    every function that takes ``tables`` also accepts a plain ``dict``.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The tables, keyed by contract table name.
    extract_date : str or date-like
        The day the data were extracted (ISO ``YYYY-MM-DD`` as text); no record
        may be dated after it. Required: today's date is never assumed.
    allow_missing : iterable of str, optional
        Required tables that may be absent (``"sen_events"``): validation then
        warns instead of failing. Without ``sen_events`` children already
        identified cannot be excluded from the population, so they are scored
        and can be flagged. ``children`` can never be missing.

    Examples
    --------
    >>> import pandas as pd
    >>> from send_early import Tables
    >>> t = Tables({"children": pd.DataFrame({"child_id": ["a"]})}, extract_date="2025-08-31")
    >>> list(t), t.extract_date.date().isoformat()
    (['children'], '2025-08-31')
    """

    def __init__(self, tables: Mapping[str, pd.DataFrame], extract_date=None, *, allow_missing=()):
        self._tables = dict(tables)
        if extract_date is None:
            raise ValueError(
                "extract_date is required: the day the extract was taken (YYYY-MM-DD), which "
                "every as-of rule is checked against; today's date is never assumed. Give "
                "Tables(tables, extract_date=...) or read a folder with read_tables(DIR)."
            )
        self.extract_date = parse_iso_date(extract_date, what="extract_date")
        self.allow_missing = _allowed_missing(allow_missing)

    @classmethod
    def coerce(cls, tables, extract_date=None, *, allow_missing=None) -> Tables:
        """Wrap a plain mapping; a :class:`Tables` keeps its own extract date and
        ``allow_missing`` unless others are given."""
        if isinstance(tables, Tables):
            new_date = extract_date is not None and (
                parse_iso_date(extract_date, what="extract_date") != tables.extract_date
            )
            new_allow = allow_missing is not None and (
                _allowed_missing(allow_missing) != tables.allow_missing
            )
            if new_date or new_allow:
                return cls(
                    tables._tables,
                    tables.extract_date if extract_date is None else extract_date,
                    allow_missing=tables.allow_missing if allow_missing is None else allow_missing,
                )
            return tables
        if not isinstance(tables, Mapping):
            raise TypeError(
                f"tables must be a mapping of table name to DataFrame (or a Tables); found {type(tables).__name__}."
            )
        return cls(tables, extract_date, allow_missing=allow_missing or ())

    def __getitem__(self, key: str) -> pd.DataFrame:
        return self._tables[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v):,}" for k, v in self._tables.items())
        allow = f"; allow_missing={self.allow_missing}" if self.allow_missing else ""
        return f"Tables({sizes}; extract_date={self.extract_date.date()}{allow})"

    def replace(self, **tables: pd.DataFrame) -> Tables:
        """A copy with some tables replaced (or added)."""
        return Tables(
            {**self._tables, **tables}, self.extract_date, allow_missing=self.allow_missing
        )


def _allowed_missing(names) -> tuple[str, ...]:
    """Check ``allow_missing``: contract table names, never ``children``."""
    if isinstance(names, str):
        names = (names,)
    names = tuple(dict.fromkeys(names))
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        raise ValueError(
            f"allow_missing must name contract tables ({', '.join(TABLES)}); found "
            f"{', '.join(map(repr, unknown))}."
        )
    if "children" in names:
        raise ValueError(
            "allow_missing cannot include children: every other table refers to its child_id."
        )
    return names
