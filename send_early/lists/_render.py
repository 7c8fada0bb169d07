"""HTML for the lists and the cover: Jinja2 templates (autoescaped) in ``templates/``."""

from __future__ import annotations

from .._templates import render as _render
from ._lists import reader_of

__all__ = ["render_cover", "render_list"]

_AUDIENCE_TEXT = {
    "school": "for the school: reasons from education and development records only",
    "locality_team": (
        "for the locality team (health visiting, early help): reasons from education, "
        "development and health records"
    ),
    "send_team": "for the council's SEND team: every reason",
}
_COVER_TEXT = {
    "school": (
        "for schools (education and development reasons) and, for children on no school "
        "roll, locality teams (health reasons too)"
    ),
}


def _common(lists, key: str | None = None) -> dict:
    if key is None:
        text = _COVER_TEXT.get(lists.audience, _AUDIENCE_TEXT[lists.audience])
    else:
        text = _AUDIENCE_TEXT[reader_of([key], lists.audience)[0]]
    return {"lists": lists, "audience_text": text}


def render_list(lists, key: str) -> str:
    """One setting's list; a ValueError for a setting with no flagged children."""
    row = lists.settings[lists.settings["key"] == key]
    if row.empty or int(row["flagged"].iloc[0]) == 0:
        raise ValueError(f"no list for setting {key!r}: it has no flagged children in this run.")
    frame = lists.list_frame(key)
    top = max((int(c[7:]) for c in frame.columns if c[7:].isdigit()), default=0)
    children = [
        {
            "priority": r["priority"],
            "council_rank": r["council_rank"],
            "child_id": r["child_id"],
            "reasons": [
                (r[f"reason_{j}"], r[f"reason_{j}_date"])
                for j in range(1, top + 1)
                if r[f"reason_{j}"]
            ],
            "prompt": r["prompt"],
            "context": r.get("context", ""),
        }
        for r in frame.to_dict(orient="records")
    ]
    return _render(
        "send_early.lists",
        "list.html.j2",
        setting=row.iloc[0].to_dict(),
        children=children,
        **_common(lists, key),
    )


def render_cover(lists) -> str:
    """The cover page for the council's SEND team: flagged children per setting."""
    rows = lists.cover_rows()
    total = int(lists.settings["flagged"].sum())
    return _render("send_early.lists", "cover.html.j2", rows=rows, total=total, **_common(lists))
