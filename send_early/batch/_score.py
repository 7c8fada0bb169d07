"""Batch scoring that loses no child: every input child is scored or rejected with a reason."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import IntegrityError, SchemaError
from ..schema import Tables, check_tables, parse_iso_date, row_problems
from ._setting import current_setting

logger = logging.getLogger(__name__)

REJECT_COLUMNS = ["child_id", "table", "column", "rule", "reason"]
#: Where :func:`score` builds the features (see ``docs/scoring.md``, "Engines").
ENGINES = ("memory", "duckdb", "spark")

_RULE_TEXT = {
    "code": "a value outside the allowed codes",
    "type": "a value of the wrong type",
    "range": "a value out of range",
    "step": "a score not in steps of 5",
    "not_null": "an empty required value",
    "unique": "a child_id that appears more than once",
    "orphan": "a record whose child_id is not in children",
    "before_birth": "a record dated before birth",
    "after_extract": "a record dated after the extract date",
    "order": "an end date before its start date",
    "absence_sum": "more absence than possible sessions",
    "measure_value": "an assessment value outside its measure's range",
}
_STATUS_TEXT = {
    "already_identified": "already identified with SEN on or before the as-of date (not scored)",
    "not_born": "born after the as-of date",
    "too_young": "younger than the pipeline's age range",
    "too_old": "older than the pipeline's age range",
    "moved_out": "moved out of the area on or before the as-of date",
    "out_of_model_age": "outside the model's population age range",
    "not_on_sen_support": "not on SEN support at the as-of date (an escalation model's population)",
    "ehc_requested": "EHC needs assessment already requested on or before the as-of date",
}


@dataclass
class ScoringResult:
    """Scores, rejects and counts of one batch run. Unpacks as ``scores, rejects``.

    Attributes
    ----------
    scores : DataFrame
        child_id, as_of, risk, rank, flagged, reason_1..reason_3, model_name, model_version,
        setting_type (school, early_years or not_on_roll at ``as_of``) and setting_id.
    rejects : DataFrame
        child_id, table, column, rule, reason: children not scored and why
        (records that break the contract, or not in the population at as_of).
    counts : dict
        input children, scored, rejected (by kind); ``input == scored + rejected``.
    drift : DataFrame
        Population stability index per feature and for the score.
    warnings : list of str
        What a person should know before acting on the scores: a model that is
        not the approved champion (or not registered at all), failed model card
        checks, a capacity other than the one the card evaluated. Also logged.
    metadata : dict
        The run's record (JSON-ready): as-of and extract dates, the model (name,
        version, URI, source) and its approval, the capacity asked for and the
        card's, counts, drift statuses and the warnings with their kinds (a run
        that scores nobody has the warning ``nothing_to_score``).
        :func:`send_early.batch.write_run` publishes it, with the scores and
        rejects, as the run manifest ``<out>_run.json``.
    """

    scores: pd.DataFrame
    rejects: pd.DataFrame
    counts: dict = field(default_factory=dict)
    drift: pd.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)

    def __iter__(self):
        yield self.scores
        yield self.rejects


def _published_counts(counts: dict) -> dict:
    """The batch counts that may be logged: none lets a reader recover 1 to 9 children."""
    from ..privacy import count, protect

    c = dict(counts)
    cells = {
        "scored_flagged": c["flagged"],
        "scored_unflagged": c["scored"] - c["flagged"],
        "contract": c["rejected_contract"],
        "population": c["rejected_not_in_population"],
        "orphan": c["orphan_records"],
    }
    figures = {
        "input_children": count("scored_flagged", "scored_unflagged", "contract", "population"),
        "scored": count("scored_flagged", "scored_unflagged"),
        "rejected": count("contract", "population"),
        "rejected_contract": count("contract"),
        "rejected_not_in_population": count("population"),
        "flagged": count("scored_flagged"),
        "orphan_records": count("orphan"),
    }
    row = protect([c | cells], cells=list(cells), figures=figures, flag=None)[0]
    return {k: row[k] for k in figures if isinstance(row.get(k), int)}


def load_any_model(model_or_uri, *, tracking_uri: str | None = None):
    """A RiskModel from an object, a saved folder, or an MLflow ``models:/`` URI (checksum verified)."""
    from ..model import RiskModel

    if isinstance(model_or_uri, RiskModel) or hasattr(model_or_uri, "score_features"):
        return model_or_uri
    s = os.fspath(model_or_uri)
    if Path(s).is_dir():
        return RiskModel.load(s)
    if s.startswith("models:/") or s.startswith("runs:/"):
        from ..registry import load_model

        return load_model(s, tracking_uri=tracking_uri)
    raise FileNotFoundError(
        f"model must be a RiskModel, a folder written by RiskModel.save, or a models:/NAME@ALIAS URI; found {s!r}."
    )


def _approval(model) -> tuple[list[tuple[str, str]], dict]:
    """Warnings about the model's approval and card checks, read from the registry."""
    reg = getattr(model, "registry_", None) or {}
    if not reg.get("name"):
        return [
            (
                "not_registered",
                f"model {model.name!r} is not a registered version (a saved folder or a model "
                "in memory): no reviewer's approval or model card checks are recorded for it. "
                "For a council's run, score with models:/NAME@champion.",
            )
        ], {"registered": False}
    from ..registry import review_summary

    name, version, alias = reg["name"], str(reg["version"]), reg.get("alias")
    where = f"models:/{name}@{alias} (version {version})" if alias else f"{name} version {version}"
    info = {"registered": True, "name": name, "version": version, "alias": alias}
    try:
        summary = review_summary(name, version, tracking_uri=reg.get("tracking_uri"))
    except (ValueError, ImportError, OSError) as exc:
        return [("approval_unknown", f"could not read the approval of {where}: {exc}")], info
    champion = summary.champion_version
    info |= {
        "champion_version": champion,
        "validation_status": summary.status,
        "card_checks_failed": summary.checks_failed,
    }
    out = []
    if champion != summary.version:
        held = f"version {champion} holds" if champion else "no version holds"
        out.append(
            (
                "not_champion",
                f"{where} is not the approved champion ({held} {name}@champion): no reviewer "
                f"approved these scores for use. Score with models:/{name}@champion, or have "
                f"this version reviewed and promoted (send-early review {name} {version}).",
            )
        )
    elif summary.status != "approved":
        out.append(
            (
                "not_approved",
                f"{where} holds the alias champion but no approval is recorded (status "
                f"{summary.status!r}): promote it with send-early promote so the reviewer's "
                "decision is on record.",
            )
        )
    if summary.checks_failed:
        reason = summary.force_reason("champion")
        forced = f"; promoted with --force: {reason!r}" if reason and champion == version else ""
        out.append(
            (
                "card_checks_failed",
                f"{where} failed {len(summary.checks_failed)} model card check(s): "
                f"{', '.join(summary.checks_failed)}{forced}. Read its card "
                f"(send-early review {name} {version}) before acting on these scores.",
            )
        )
    return out, info


def _share_text(value: float) -> str:
    return f"{value * 100:.4g}%"


def _capacity(model, risk, ids, capacity, flagged: int) -> tuple[list[tuple[str, str]], dict]:
    """A warning when ``capacity`` flags other children than the card's capacity would."""
    spec = model.spec
    card_flagged = int(model.apply_capacity(risk, ids).flagged.sum())  # the card's capacity
    card = {
        "share": f"the top {_share_text(spec.capacity_value)}",
        "count": f"{int(spec.capacity_value):,} children",
        "threshold": f"a risk threshold (the top {_share_text(spec.capacity_value)} "
        "of its calibration cohort)",
    }.get(spec.capacity_policy, f"{spec.capacity_policy} {spec.capacity_value}")
    info = {
        "requested": None if capacity is None else str(capacity),
        "flagged": flagged,
        "card_policy": spec.capacity_policy,
        "card_value": spec.capacity_value,
        "card_flagged": card_flagged,
    }
    if capacity is None or flagged == card_flagged:
        return [], info
    n = len(risk)
    return [
        (
            "capacity_differs",
            f"capacity {capacity} flags {flagged:,} of {n:,} children scored "
            f"({flagged / max(n, 1):.1%}); the model card evaluated {card}, which flags "
            f"{card_flagged:,} of them. The card's precision, recall and group audit hold at "
            "its capacity only: score without --capacity, or have the model evaluated and "
            "reviewed at this capacity.",
        )
    ], info


def _id_codes(columns) -> tuple[list[np.ndarray], pd.Index]:
    """Integer codes for child ids across columns (-1 for a missing id), and the ids coded.

    Each column is factorized on its own (a fast Arrow pass), then only the distinct ids are
    factorized together: string ids are hashed once, never looked up with ``isin``.
    """
    parts = [pd.factorize(pd.Series(c).astype("str")) for c in columns]
    codes, uniques = pd.factorize(pd.concat([pd.Series(u) for _, u in parts], ignore_index=True))
    out, start = [], 0
    for c, u in parts:
        remap = np.append(codes[start : start + len(u)], -1)  # code -1 (missing) stays -1
        out.append(remap[c])
        start += len(u)
    return out, pd.Index(uniques)


def _contract_rejects(tables: Tables) -> tuple[Tables, pd.DataFrame]:
    report, rows = row_problems(tables)
    fatal = report.problems.query(
        "severity == 'error' and rule in ('missing_table', 'missing_column')"
    )
    if len(fatal):
        raise SchemaError("cannot score: " + " ".join(fatal["message"]), report=report)
    if rows.empty:
        return tables, pd.DataFrame(columns=REJECT_COLUMNS)
    rows = rows.assign(reason=rows["rule"].map(_RULE_TEXT).fillna(rows["rule"]))
    rows["reason"] = "record in " + rows["table"] + "." + rows["column"] + " with " + rows["reason"]
    with_ids = [name for name, df in tables.items() if "child_id" in df.columns]
    codes, uniques = _id_codes([rows["child_id"], *(tables[n]["child_id"] for n in with_ids)])
    bad = np.zeros(len(uniques) + 1, bool)  # the last slot stands for a missing id
    bad[codes[0][codes[0] >= 0]] = True
    bad_child = dict(zip(with_ids, (bad[c] for c in codes[1:]), strict=True))
    clean = {}
    for name, df in tables.items():
        keep = np.ones(len(df), bool)
        bad_rows = rows.loc[rows["table"] == name, "row"].to_numpy(dtype=np.int64)
        keep[bad_rows] = False
        if name in bad_child:
            keep &= ~bad_child[name]
        clean[name] = df[keep]
    rejects = rows.drop_duplicates(["child_id", "table", "column", "rule"])[REJECT_COLUMNS]
    return tables.replace(**clean), rejects.reset_index(drop=True)  # keeps allow_missing


def _nothing_to_score(model, as_of, counts: dict, rejects: pd.DataFrame) -> str:
    """The sentence for a run that scores nobody: the date, the ages, why each child is out."""
    lo, hi = model.spec.population_age_months
    why = []
    if counts["rejected_contract"]:
        why.append(f"{counts['rejected_contract']:,} with records that break the data contract")
    pop = rejects[rejects["table"] == "population"].drop_duplicates("child_id")["rule"]
    for rule, n in pop.value_counts().items():
        why.append(f"{n:,} {_STATUS_TEXT.get(rule, rule).removesuffix(' (not scored)')}")
    read = f"{counts['input_children']:,} children read"
    if why:
        read += f", all rejected ({', '.join(why)})"
    return (
        f"No child is in the model's population at {as_of.date()} (ages {lo}-{hi} months): "
        f"{read}; nothing to score. Check the as-of date and the extract; the rejects give "
        "each child's reason."
    )


def _account(children_ids, scores, all_rejects, contract_rejects) -> dict:
    """Counts of children read, scored and rejected; IntegrityError unless every child is in
    exactly one of the scores and the rejects (set logic on integer codes of the ids)."""
    codes, uniques = _id_codes(
        [children_ids, scores["child_id"], all_rejects["child_id"], contract_rejects["child_id"]]
    )
    is_input, is_scored, is_rejected, is_contract = (
        np.bincount(c[c >= 0], minlength=len(uniques)) > 0 for c in codes
    )
    is_rejected &= is_input
    is_contract &= is_input
    n_input, n_scored = int(is_input.sum()), len(scores)
    lost = int((is_input & ~is_scored & ~is_rejected).sum())
    both = int((is_scored & is_rejected).sum())
    counts = {
        "input_children": n_input,
        "scored": n_scored,
        "rejected": int(is_rejected.sum()),
        "rejected_contract": int(is_contract.sum()),
        "rejected_not_in_population": int((is_rejected & ~is_contract).sum()),
    }
    if lost or both or n_scored + counts["rejected"] != n_input:
        raise IntegrityError(
            f"batch scoring must account for every child: {n_input:,} input, {n_scored:,} "
            f"scored, {counts['rejected']:,} rejected, {lost:,} lost, {both:,} both scored "
            "and rejected."
        )
    return counts


def _chunk_of_rows(in_ids: pd.Index, tables: Tables, chunk_size: int) -> dict[str, np.ndarray]:
    """Each table's rows numbered by the chunk of their child; -1 for children not scored."""
    names = list(tables)
    codes, uniques = _id_codes([in_ids, *(tables[n]["child_id"] for n in names)])
    chunk_of = np.full(len(uniques) + 1, -1, dtype=np.int64)  # the last slot: a missing id
    scored = codes[0] >= 0
    chunk_of[codes[0][scored]] = np.arange(len(in_ids))[scored] // chunk_size
    return {n: chunk_of[c] for n, c in zip(names, codes[1:], strict=True)}


def score(
    model_or_uri,
    tables,
    as_of,
    *,
    capacity=None,
    tracking_uri: str | None = None,
    chunk_size: int = 250_000,
    progress: Callable[[int, int], None] | None = None,
    model_version: str | None = None,
    engine: str = "memory",
) -> ScoringResult:
    """Score the population at ``as_of``; every input child is scored or rejected with a reason.

    Children whose records break the data contract are rejected (one row per
    problem: table, column, rule, reason) and their records are set aside, so
    one bad record never stops a council's whole run. Children not in the
    population at ``as_of`` (already identified, moved out, outside the age
    range) are listed in the rejects too, with the reason. The function checks
    ``input children == scored + rejected`` and raises
    :class:`~send_early.IntegrityError` otherwise.

    Parameters
    ----------
    model_or_uri : RiskModel, folder, or ``models:/NAME@ALIAS``
    tables : Tables or mapping
    as_of : str or date-like
        ISO ``YYYY-MM-DD`` when given as text; on or before ``tables.extract_date``.
    capacity : int, float or str, optional
        Number of children to flag (a whole number, 1 or more) or a share of the
        children scored (a decimal in (0, 1] or ``"5%"``, rounded down to whole
        children); default the model spec's capacity policy. Checked before any
        work; see :func:`send_early.evaluation.parse_capacity`.
    tracking_uri : str, optional
        MLflow tracking URI for ``models:/`` URIs and drift logging.
    chunk_size : int
        Children per chunk when building features and scoring.
    progress : callable(done, total), optional
        Called with ``(0, total)`` when the chunks start and after each chunk
        (the CLI draws a progress bar with it).
    engine : {"memory", "duckdb", "spark"}, default "memory"
        Where the features are built (see
        :func:`send_early.features.build_features`). The contract checks and the
        population run in memory first on every engine, so the rejects are the
        same; the engine then builds the features of the checked tables, once
        for the whole extract, and the scores equal ``engine="memory"``'s.

    Returns
    -------
    ScoringResult
        ``scores, rejects = score(...)`` works.
    """
    from ..evaluation import parse_capacity
    from ..features import build_features, population

    if capacity is not None:
        parse_capacity(capacity)  # refuse a bad capacity before loading or reading anything
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}; found {engine!r}.")
    as_of = parse_iso_date(as_of, what="as_of")
    tables = Tables.coerce(tables)
    if as_of > tables.extract_date:
        raise ValueError(
            f"as_of must be on or before the extract date {tables.extract_date.date()}; found "
            f"{as_of.date()}. Records after the extract are unknown: pick an earlier as-of date."
        )
    model = load_any_model(model_or_uri, tracking_uri=tracking_uri)
    if "children" not in tables:
        raise SchemaError("cannot score: children is required; no children table was given.")
    clean, rejects = _contract_rejects(tables)
    typed = check_tables(clean)
    status = population(typed, as_of, model.pipeline, check=False)  # typed just above
    st = status["status"] if "status" in status.columns else status.iloc[:, 0]
    out_pop = st[st != "in_population"]
    pop_rejects = pd.DataFrame(
        {
            "child_id": pd.array(out_pop.index.astype(str), dtype="str"),
            "table": "population",
            "column": "",
            "rule": out_pop.astype(str).to_numpy(),
            "reason": out_pop.astype(str).map(_STATUS_TEXT).fillna(out_pop.astype(str)).to_numpy(),
        }
    )
    in_ids = st.index[st == "in_population"].astype(str)

    n_chunks = max(1, -(-len(in_ids) // chunk_size))
    chunk_of_row = _chunk_of_rows(in_ids, typed, chunk_size)
    feats_parts, risk_parts, reason_parts, age_rejects = [], [], [], []
    if progress is not None:
        progress(0, n_chunks)  # the contract checks are done; the chunks start
    # a standing among children born in the same month is measured against every child's
    # records in the extract (as in training), never against one chunk's children: such a
    # pipeline's features are built once, on the whole extract, and scored in chunks. Another
    # engine builds them once too, from the checked tables (what the contract set aside stays out)
    whole = None
    if engine != "memory" or any(f.aggregation == "standing" for f in model.pipeline.features):
        whole = build_features(typed, as_of, pipeline=model.pipeline, check=False, engine=engine)
    for i in range(n_chunks):
        if whole is not None:
            f = whole[whole.index.isin(in_ids[i * chunk_size : (i + 1) * chunk_size])]
        else:
            sub = {name: df[chunk_of_row[name] == i] for name, df in typed.items()}
            f = build_features(
                Tables(sub, typed.extract_date), as_of, pipeline=model.pipeline, check=False
            )
        in_age = model._in_age_range(f)
        if (~in_age).any():
            age_rejects.append(f.index[~in_age].astype(str))
        f = f[in_age]
        if len(f):
            feats_parts.append(f)
            part = model.score_features(f, capacity=len(f))  # ranks are global below
            risk_parts.append(part["risk"].to_numpy())
            reason_parts.append(part.filter(like="reason_").set_index(f.index))
        if progress is not None:
            progress(i + 1, n_chunks)
    feats = pd.concat(feats_parts) if feats_parts else pd.DataFrame()
    risk = np.concatenate(risk_parts) if risk_parts else np.zeros(0)
    reasons = (
        pd.concat(reason_parts)
        if reason_parts
        else pd.DataFrame(
            {f"reason_{k}": pd.Series([], dtype="str") for k in range(1, model.spec.top + 1)}
        )
    )

    ids = feats.index.to_numpy(dtype=str)
    rank, flagged, _ = model.apply_capacity(risk, ids, capacity=capacity)  # the one capacity rule
    version = model_version or (getattr(model, "registry_", None) or {}).get("version")
    scores = pd.DataFrame(
        {
            "child_id": pd.array(ids, dtype="str"),
            "as_of": as_of,
            "risk": risk,
            "rank": rank,
            "flagged": flagged,
        }
    )
    for c in reasons.columns:
        scores[c] = reasons[c].to_numpy()
    scores["model_name"] = model.name
    scores["model_version"] = "" if version is None else str(version)
    scores["setting_type"], scores["setting_id"] = current_setting(typed, as_of, ids)
    scores = scores.sort_values("rank", kind="stable").reset_index(drop=True)

    if age_rejects:
        a = np.concatenate([x.to_numpy() for x in age_rejects])
        pop_rejects = pd.concat(
            [
                pop_rejects,
                pd.DataFrame(
                    {
                        "child_id": pd.array(a, dtype="str"),
                        "table": "population",
                        "column": "age_months",
                        "rule": "out_of_model_age",
                        "reason": _STATUS_TEXT["out_of_model_age"],
                    }
                ),
            ],
            ignore_index=True,
        )
    all_rejects = pd.concat([rejects, pop_rejects], ignore_index=True)[REJECT_COLUMNS]
    all_rejects["child_id"] = all_rejects["child_id"].astype("str")

    counts = _account(tables["children"]["child_id"], scores, all_rejects, rejects)
    counts |= {
        "orphan_records": int((rejects["rule"] == "orphan").sum()),
        "flagged": int(flagged.sum()),
    }
    from .. import __version__

    warned, model_info = _approval(model)
    cap_warned, cap_info = _capacity(model, risk, ids, capacity, counts["flagged"])
    warned += cap_warned
    if counts["scored"] == 0:
        warned.append(("nothing_to_score", _nothing_to_score(model, as_of, counts, all_rejects)))
    for name in sorted(set(tables.allow_missing) - set(tables)):
        warned.append(
            (
                "missing_table",
                f"{name} was not given (allowed missing): children it would show as already "
                "identified with SEN cannot be left out, so flags may go to children who "
                "already have support. Check each flag against the SEN register.",
            )
        )
    for _, text in warned:
        logger.warning("%s", text)
    from ._drift import drift_report

    drift = (
        drift_report(getattr(model, "reference_", {}) or {}, feats, risk) if len(feats) else None
    )
    if drift is not None:
        for _, r in drift[drift["status"].isin(["warn", "alert"])].iterrows():
            logger.warning("drift %s: PSI %.3f (%s)", r["name"], r["psi"], r["status"])
        if tracking_uri:
            try:
                from ..registry import log_drift

                reg = getattr(model, "registry_", None) or {}
                psi_values = {
                    ("score" if n == "(score)" else n): float(v)
                    for n, v in zip(drift["name"], drift["psi"], strict=True)
                    if np.isfinite(v)
                }
                log_drift(
                    psi_values,
                    tracking_uri=tracking_uri,
                    model=reg.get("model_uri", model.name),
                    metrics={**_published_counts(counts), "warnings": len(warned)},
                    params={
                        "as_of": as_of.date().isoformat(),
                        "warnings": ",".join(kind for kind, _ in warned) or "none",
                    },
                )
            except ImportError:  # pragma: no cover
                logger.warning("drift not logged: registry unavailable")
            except PermissionError as exc:  # a read-only store: the scores still stand
                text = f"Drift was not logged to the model store: {exc}"
                logger.warning("%s", text)
                warned.append(("drift_not_logged", text))
    metadata = {
        "as_of": as_of.date().isoformat(),
        "extract_date": tables.extract_date.date().isoformat(),
        "model": {
            "name": model.name,
            "version": version,
            "uri": (getattr(model, "registry_", None) or {}).get("model_uri"),
            "source": None if hasattr(model_or_uri, "score_features") else str(model_or_uri),
            **model_info,
        },
        "capacity": cap_info,
        "engine": engine,
        "counts": counts,
        "drift": []
        if drift is None
        else [
            {"name": r["name"], "psi": float(r["psi"]), "status": r["status"]}
            for _, r in drift[drift["status"].isin(["warn", "alert"])].iterrows()
        ],
        "warnings": [{"kind": kind, "message": text} for kind, text in warned],
        "send_early_version": __version__,
    }
    logger.info("scored %d children, rejected %d", counts["scored"], counts["rejected"])
    return ScoringResult(
        scores=scores,
        rejects=all_rejects,
        counts=counts,
        drift=drift,
        warnings=[text for _, text in warned],
        metadata=metadata,
    )
