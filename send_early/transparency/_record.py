"""The Algorithmic Transparency Recording Standard record of a registered model version.

Filled from three places: the registry (version, approval, checks, training counts), the
model card JSON (intended use, performance, fairness, limitations; its SHA-256 must match
the one registered) and the specs (the features' source tables, the data contract). Fields
only a person can fill (who owns the tool, contacts, the DPIA's date) are marked
``needs_person`` with a prompt, never guessed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..privacy import show_count

#: The ATRS version whose sections and field names the record follows.
ATRS_VERSION = "3.0"

#: Contract tables: the category of personal data, and why a table is special category
#: (UK GDPR Article 9) or otherwise sensitive.
DATA_CATEGORIES = {
    "children": (
        "identity and birth details (date of birth, sex, ethnicity, area "
        "deprivation decile, gestation, birth weight)",
        "special category: ethnicity (racial or ethnic origin) and birth health",
    ),
    "health_reviews": (
        "health visitor reviews (ASQ-3 developmental scores)",
        "special category: health data",
    ),
    "census": (
        "school census (school, free school meals, English as an additional "
        "language, SEN provision)",
        "SEN provision is health-related",
    ),
    "attendance": ("school attendance by term", ""),
    "exclusions": ("suspensions and permanent exclusions", ""),
    "assessments": ("early years and phonics assessments", ""),
    "social_care": (
        "social care episodes (child in need, child protection, looked after)",
        "highly sensitive (not Article 9, but needs the same care)",
    ),
    "referrals": (
        "referrals to health, therapy and early-help services",
        "special category: health data",
    ),
    "sen_events": (
        "SEN identification events (support, EHC requests and plans, primary need)",
        "special category: health data (primary need)",
    ),
}


@dataclass(frozen=True)
class Field:
    """One field of the record: its value and where it came from, or a prompt for a person."""

    name: str
    label: str
    value: object = None
    source: str = ""
    prompt: str = ""

    @property
    def needs_person(self) -> bool:
        return self.value in (None, "", [], {})

    def to_dict(self) -> dict:
        d = {"label": self.label, "value": self.value, "needs_person": self.needs_person}
        if self.source:
            d["source"] = self.source
        if self.prompt or self.needs_person:
            d["prompt"] = self.prompt or (
                f"Filled from the {self.source} when it holds this (send-early transparency "
                "--card FILE); otherwise a person completes it."
            )
        return d


def _person(name: str, label: str, prompt: str) -> Field:
    return Field(name, label, None, "", prompt)


@dataclass(frozen=True)
class TransparencyRecord:
    """An ATRS record and the DPIA input sheet, in memory; see :func:`transparency_record`.

    ``sections`` maps a section key to ``(title, [Field, ...])``; ``dpia`` likewise.
    """

    name: str
    version: str
    generated: str
    sections: dict
    dpia: dict

    @staticmethod
    def _plain(sections: dict) -> dict:
        return {
            key: {"title": title, "fields": {f.name: f.to_dict() for f in fields}}
            for key, (title, fields) in sections.items()
        }

    def to_dict(self) -> dict:
        """The record as JSON-ready data: metadata, tier 1 and tier 2 sections."""
        return {
            "standard": "Algorithmic Transparency Recording Standard",
            "standard_version": ATRS_VERSION,
            "model": {"name": self.name, "version": self.version},
            "generated": self.generated,
            "sections": self._plain(self.sections),
            "to_fill": self.to_fill(),
        }

    def dpia_dict(self) -> dict:
        """The DPIA input sheet as JSON-ready data."""
        return {
            "title": f"DPIA input sheet: {self.name} version {self.version}",
            "generated": self.generated,
            "sections": self._plain(self.dpia),
        }

    def to_fill(self) -> list[str]:
        """``section.field`` names a person must fill before publication."""
        return [
            f"{key}.{f.name}"
            for key, (_, fields) in self.sections.items()
            for f in fields
            if f.needs_person
        ]

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str) + "\n"

    def html(self) -> str:
        from ._render import render

        return render("record.html.j2", self, self.to_dict())

    def dpia_html(self) -> str:
        from ._render import render

        return render("dpia.html.j2", self, self.dpia_dict())

    def write(self, out) -> list[Path]:
        """Write ``transparency.json``, ``transparency.html``, ``dpia.json`` and ``dpia.html``
        into the folder ``out`` (each atomically); return the paths."""
        from ..schema import atomic_write

        out = Path(out)
        files = {
            "transparency.json": self.to_json(),
            "transparency.html": self.html(),
            "dpia.json": json.dumps(self.dpia_dict(), indent=2, default=str) + "\n",
            "dpia.html": self.dpia_html(),
        }
        return [
            atomic_write(out / name, lambda p, t=text: p.write_text(t, encoding="utf-8"))
            for name, text in files.items()
        ]


def _read_card(card) -> tuple[dict, str | None]:
    if card is None:
        return {}, None
    if isinstance(card, dict):
        return card, None
    path = Path(card)
    data = path.read_bytes()
    try:
        parsed = json.loads(data)
    except ValueError:
        raise ValueError(
            f"the model card must be the card's JSON file; {path} is not JSON."
        ) from None
    return parsed, hashlib.sha256(data).hexdigest()


def _pct(x) -> str | None:
    return None if x is None else f"{100 * float(x):.1f}%"


def _n(x):
    try:
        return show_count(int(float(x)))
    except (TypeError, ValueError):
        return None


def transparency_record(
    name: str, version, *, tracking_uri=None, card=None, today=None
) -> TransparencyRecord:
    """The ATRS record (tier 1 and tier 2) and DPIA input sheet of a registered version.

    Parameters
    ----------
    name : str
        The registered model (production name).
    version : str or int
        Its version.
    tracking_uri : str or path-like, optional
        The model store.
    card : path-like or dict, optional
        The version's model card JSON (written by ``send-early train``/``evaluate``). Its
        SHA-256 must equal the one registered with the version. Without it, the fields
        the card would fill are left for a person.
    today : date-like, optional
        The record's date (default: today).

    Raises
    ------
    ValueError
        If the card is not the one registered with the version.
    """
    from ..registry import review_summary

    summary = review_summary(name, str(version), tracking_uri=tracking_uri)
    card_data, sha = _read_card(card)
    registered = summary.tags.get("send_early.card_sha256")
    if sha is not None and registered and sha != registered:
        raise ValueError(
            f"the model card must be the one registered with {name} version {version} "
            f"(SHA-256 {registered[:16]}...); the file given has {sha[:16]}.... Pass the "
            "card written when this version was trained."
        )
    from ._dpia import dpia_sections
    from ._sections import record_sections

    generated = (
        dt.date.today() if today is None else dt.date.fromisoformat(str(today))
    ).isoformat()
    return TransparencyRecord(
        name=name,
        version=str(summary.version),
        generated=generated,
        sections=record_sections(summary, card_data),
        dpia=dpia_sections(summary, card_data),
    )
