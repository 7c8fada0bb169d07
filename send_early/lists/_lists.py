"""Work lists: one per setting, holding only that setting's flagged children, and a cover."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ._reasons import reasons_for, reasons_from_model

#: The audiences a set of lists is written for (``school`` also routes each list of children
#: on no school roll to its locality team: :func:`reader_of`).
LIST_AUDIENCES = ("school", "send_team")

logger = logging.getLogger(__name__)

_SETTING_TEXT = {"school": "School", "early_years": "Early-years setting", "not_on_roll": ""}
_NOT_ON_ROLL = "Not on a school roll (health visiting team and the SEND team)"
_LOCALITY = "Not on a school roll: locality team "
_SAFE = re.compile(r"[^A-Za-z0-9_-]")


def _key(kind: pd.Series, sid: pd.Series) -> pd.Series:
    """File-safe key of each setting: ``school_<id>``, ``early_years_<id>``,
    ``not_on_roll_<locality>`` or, on no roll and with no locality, ``not_on_roll``."""
    safe = sid.astype(str).str.replace(_SAFE, "-", regex=True)
    alone = (kind == "not_on_roll") & (sid == "")
    return (kind + "_" + safe).where(~alone, "not_on_roll").astype("str")


def _as_run(run):
    from ..batch import ScoringResult, read_run

    if isinstance(run, ScoringResult):
        return run
    return read_run(run)


@dataclass(frozen=True)
class WorkLists:
    """The lists of one scoring run for one audience, in memory (see :func:`build_lists`).

    Attributes
    ----------
    audience : str
        ``"school"`` (education and development reasons only) or ``"send_team"`` (all).
    as_of : str
        ISO as-of date of the scores.
    model : str
        Model name and version the scores came from.
    settings : DataFrame
        One row per setting with scored children: key, setting_type, setting_id, title,
        scored, flagged (exact: for the setting's own list and for the SEND team's use in
        memory; the cover shows them under the disclosure rule).
    children : DataFrame
        One row per flagged child: key, priority (1 = highest risk in the setting),
        council_rank, child_id, reason_k, reason_k_date, prompt, context (the first context line
        the audience may read, shown apart: context is never a reason; empty without the model).
    """

    audience: str
    as_of: str
    model: str
    settings: pd.DataFrame
    children: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    def list_frame(self, key: str) -> pd.DataFrame:
        """The CSV table of one setting's list."""
        df = self.children[self.children["key"] == key]
        return df.drop(columns="key").reset_index(drop=True)

    def cover_rows(self) -> list[dict]:
        """Counts per setting for the cover, under the disclosure rule (1 to 9: "fewer than
        10"; a count that would give a hidden one away from the total is hidden too)."""
        from ..privacy import SMALL, count, protect

        recs = self.settings[["key", "title", "flagged"]].to_dict(orient="records")
        out = protect(recs, cells=["flagged"], figures={"flagged": count("flagged")}, totals=True)
        for r in out:
            r["shown"] = (
                "fewer than 10"
                if r["flagged"] == SMALL
                else ("hidden" if r["flagged"] is None else f"{int(r['flagged']):,}")
            )
        return out

    def html(self, key: str | None = None) -> str:
        """One setting's list (``key``) or, with no key, the cover page."""
        from ._render import render_cover, render_list

        return render_cover(self) if key is None else render_list(self, key)

    def write(self, out_dir) -> list[Path]:
        """Write ``index.html`` (the cover) and ``<key>.html`` and ``<key>.csv`` per setting with
        flagged children, each atomically; returns the paths."""
        from ..schema import atomic_write

        out = Path(out_dir)
        paths = []
        keys = self.settings.loc[self.settings["flagged"] > 0, "key"].tolist()
        for key in keys:  # one file per setting
            frame = self.list_frame(key)
            paths.append(
                atomic_write(out / f"{key}.csv", lambda p, f=frame: f.to_csv(p, index=False))
            )
            text = self.html(key)
            paths.append(
                atomic_write(out / f"{key}.html", lambda p, t=text: p.write_text(t, "utf-8"))
            )
        cover = self.html()
        paths.append(atomic_write(out / "index.html", lambda p: p.write_text(cover, "utf-8")))
        logger.info("wrote %d lists and a cover to %s", len(keys), out)
        return paths


def reader_of(key, audience: str) -> np.ndarray:
    """Who reads each list (by setting key): ``audience``, except that with ``"school"`` the
    lists of children on no school roll go to their locality team (``"locality_team"``)."""
    key = pd.Series(np.asarray(key, dtype=object)).astype(str)
    if audience != "school":
        return np.full(len(key), audience, dtype=object)
    off_roll = key.str.startswith("not_on_roll").to_numpy()
    return np.where(off_roll, "locality_team", "school").astype(object)


def _reasons_by_reader(f, audience, pipeline, tables, model, as_of) -> pd.DataFrame:
    """The flagged children's reasons, each list's as its reader may read them."""
    reader = reader_of(f["key"], audience)
    parts = []
    for who in pd.unique(reader):  # at most two readers, never a loop over children
        part = f[reader == who]
        if model is not None and tables is not None and len(part):
            part = reasons_from_model(model, tables, as_of, part, who)
        parts.append(reasons_for(part, audience=who, pipeline=pipeline, tables=tables, as_of=as_of))
    if not parts:
        return reasons_for(f, audience=audience, pipeline=pipeline, tables=tables, as_of=as_of)
    return pd.concat(parts).reindex(f.index)


def build_lists(
    run, *, audience: str = "school", pipeline=None, tables=None, model=None
) -> WorkLists:
    """Per-setting work lists of a scoring run's flagged children, for one audience.

    Parameters
    ----------
    run : ScoringResult or path
        :func:`send_early.batch.score`'s result, or a published run
        (:func:`send_early.batch.read_run` reads it); its scores need ``setting_type``
        and ``setting_id``.
    audience : {"school", "send_team"}
        A school list shows reasons from education and development records only, and the
        list of children on no school roll, read by their locality team (health visiting,
        early help), health records too (:func:`reader_of`); the SEND team's shows every
        reason.
    pipeline : PipelineSpec or str, optional
        The model's feature pipeline (default: the model's, else ``"default"``): maps each
        reason to the record source it comes from.
    tables : Tables, optional
        The tables scored: with them each reason gets the date of the latest record
        behind it on or before the as-of date.
    model : RiskModel, optional
        The model that scored the run. With ``tables`` too, each child's reasons are the
        top ones the audience may read (not only those among the scores' top reasons).

    Returns
    -------
    WorkLists
    """
    from ..features import load_pipeline

    if audience not in LIST_AUDIENCES:
        raise ValueError(
            f"audience must be one of {', '.join(LIST_AUDIENCES)}; found {audience!r}."
        )
    res = _as_run(run)
    scores = res.scores
    missing = [c for c in ("setting_type", "setting_id", "flagged") if c not in scores.columns]
    if missing:
        raise ValueError(
            f"scores must hold {', '.join(missing)} to build lists; found none: score again "
            "with this release (batch scoring adds the setting of every child)."
        )
    if pipeline is None and model is not None:
        pipeline = model.pipeline
    if pipeline is None or isinstance(pipeline, str):
        pipeline = load_pipeline(pipeline or "default")
    kind = scores["setting_type"].astype(str)
    sid = scores["setting_id"].fillna("").astype(str)
    key = _key(kind, sid)
    as_of = pd.Timestamp(scores["as_of"].iloc[0]) if len(scores) else None
    flagged = scores["flagged"].astype(bool).to_numpy()
    settings = (
        pd.DataFrame({"key": key, "setting_type": kind, "setting_id": sid, "flag": flagged})
        .groupby(["key", "setting_type", "setting_id"], as_index=False)
        .agg(scored=("flag", "size"), flagged=("flag", "sum"))
    )
    if settings["key"].duplicated().any():
        raise ValueError(
            "setting_id must give each setting a distinct file name (letters, digits, - and _); "
            "found ids that differ only in other characters. Recode the setting ids."
        )
    settings["flagged"] = settings["flagged"].astype(int)
    off_roll = settings["setting_type"] == "not_on_roll"
    settings["title"] = (
        (settings["setting_type"].map(_SETTING_TEXT) + " " + settings["setting_id"])
        .where(~off_roll, _LOCALITY + settings["setting_id"])
        .where(settings["key"] != "not_on_roll", _NOT_ON_ROLL)
    )
    f = scores.loc[flagged].assign(key=key[flagged].to_numpy())
    f = f.sort_values("rank", kind="stable").reset_index(drop=True)
    reasons = _reasons_by_reader(f, audience, pipeline, tables, model, as_of)
    children = pd.concat(
        [
            f[["key"]].assign(
                priority=f.groupby("key").cumcount() + 1,
                council_rank=f["rank"].astype(int),
                child_id=f["child_id"].astype(str),
            ),
            reasons,
        ],
        axis=1,
    )
    meta = getattr(res, "metadata", {}) or {}
    model = meta.get("model", {}) or {}
    name = model.get("name") or (str(scores["model_name"].iloc[0]) if len(scores) else "")
    version = model.get("version") or ""
    return WorkLists(
        audience=audience,
        as_of="" if as_of is None else as_of.date().isoformat(),
        model=f"{name} version {version}" if version else name,
        settings=settings,
        children=children,
        warnings=list(getattr(res, "warnings", []) or []),
    )


def write_lists(run, out_dir, *, audience: str = "school", pipeline=None, tables=None, model=None):
    """Build the lists (:func:`build_lists`) and write them to ``out_dir``.

    Writes ``index.html`` (the cover for the council's SEND team: flagged children per
    setting, 1 to 9 shown as "fewer than 10") and, per setting with flagged children,
    ``<key>.html`` (readable on a phone, printable) and ``<key>.csv``; every file atomically.

    Returns
    -------
    WorkLists
        What was written (``.write`` returned the paths; they are logged).
    """
    lists = build_lists(run, audience=audience, pipeline=pipeline, tables=tables, model=model)
    lists.write(out_dir)
    return lists
