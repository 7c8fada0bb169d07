"""What a reviewer sees before approving a registered version: :func:`review_summary`."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

from ..governance import MANUAL_CHECKLIST
from ._card import approvals, checks_from_tags
from ._identity import candidates_name, production_name, server_errors
from ._loading import _model_version
from ._store import import_mlflow, open_store
from ._tags import STATUS_TAG, TAG

#: What a reviewer confirms before promoting a version (shown by :func:`review_summary`):
#: the items of the model card's checklist, :data:`send_early.governance.MANUAL_CHECKLIST`.
REVIEW_CHECKLIST: tuple[str, ...] = tuple(item for _, item in MANUAL_CHECKLIST)


@dataclass(frozen=True)
class ReviewSummary:
    """What a reviewer needs to approve or reject a registered version.

    Returned by :func:`review_summary`; ``str(summary)`` is the text the CLI prints,
    ``summary.to_dict()`` a JSON-ready dict.
    """

    name: str
    version: str
    run_id: str | None
    aliases: tuple[str, ...]
    status: str
    tags: dict
    params: dict
    metrics: dict
    checks: tuple[dict, ...]
    champion_version: str | None
    champion_metrics: dict
    checklist: tuple[str, ...] = REVIEW_CHECKLIST

    @property
    def has_card(self) -> bool:
        return self.tags.get(TAG + "card") == "yes"

    def force_reason(self, alias: str = "champion") -> str | None:
        """The reason recorded when this version was promoted to ``alias`` with ``force``."""
        return self.tags.get(f"{TAG}review.{alias}.force_reason") or None

    @property
    def approvals(self) -> list[dict]:
        """The approval decisions recorded on this version (alias, reviewer, timestamp, note,
        forced, ...), newest first; empty when it was never approved."""
        return approvals(self.tags)

    @property
    def checks_failed(self) -> list[str]:
        """Names of the model card checks that failed."""
        return [c["name"] for c in self.checks if c.get("passed") is False]

    @property
    def checks_passed(self) -> list[str]:
        return [c["name"] for c in self.checks if c.get("passed") is True]

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(
            has_card=self.has_card,
            checks_failed=self.checks_failed,
            checks_passed=self.checks_passed,
        )
        return d

    def __str__(self) -> str:
        lines = [
            f"{self.name} version {self.version}  [{self.status}]"
            + (f"  aliases: {', '.join(self.aliases)}" if self.aliases else ""),
            f"run {self.run_id}",
        ]
        for key in ("model_name", "outcome", "horizon", "extract_date", "contract_version"):
            if key in self.params:
                lines.append(f"  {key}: {self.params[key]}")
        for key in ("pipeline_spec_sha256", "model_spec_sha256", "artifact_sha256"):
            if TAG + key in self.tags:
                lines.append(f"  {key}: {self.tags[TAG + key][:16]}...")
        champ = self.champion_version
        lines.append(
            "Metrics"
            + (f" (champion = version {champ})" if champ and self.champion_metrics else "")
        )
        for key in sorted(self.metrics):
            value = f"  {key}: {self.metrics[key]:.4g}"
            if key in self.champion_metrics:
                value += f"   (champion {self.champion_metrics[key]:.4g})"
            lines.append(value)
        if not self.has_card:
            lines.append("Model card: none logged; review the evaluation before promoting.")
        else:
            lines.append(
                f"Model card checks: {len(self.checks_passed)} passed, "
                f"{len(self.checks_failed)} failed"
            )
            for c in self.checks:
                mark = {True: "PASS", False: "FAIL", None: "WARN"}[c.get("passed")]
                lines.append(
                    f"  [{mark}] {c['name']}" + (f": {c['detail']}" if c.get("detail") else "")
                )
        lines.append("Reviewer checklist:")
        lines.extend(f"  [ ] {item}" for item in self.checklist)
        return "\n".join(lines)


# --------------------------------------------------------------------------- review
def review_summary(
    name: str,
    version: str | int,
    *,
    tracking_uri: str | os.PathLike | None = None,
    candidate: bool = False,
) -> ReviewSummary:
    """Summarise a registered version for its reviewer.

    Parameters
    ----------
    name : str
        Registered model name: a production model ``NAME`` or ``NAME-candidates``.
    version : str or int
        Version number.
    tracking_uri : str or path-like, optional
        MLflow tracking URI or store folder.
    candidate : bool, default False
        Review candidate ``NAME-candidates/VERSION`` of production model ``name`` (what
        ``send-early review NAME VERSION`` shows before ``promote NAME VERSION``); in a
        store from before candidates, ``NAME/VERSION``.

    Returns
    -------
    ReviewSummary
        Metrics (with the current champion's for comparison), the model card checks
        and the reviewer checklist; ``str()`` of it is a printable report.
    """
    store = open_store(tracking_uri, create=False)
    mlflow = import_mlflow()
    client = store.client()
    production = production_name(name)
    # the champion compared with: production's for a reviewer (candidate=True); for a
    # version named directly, its own model's (a candidate is never NAME@champion)
    champ_model = production if candidate else name
    with server_errors(store, "read", name):
        if candidate and name == production:
            try:
                client.get_registered_model(candidates_name(name))
                name = candidates_name(name)
            except mlflow.exceptions.MlflowException as exc:
                if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                    raise
        mv = _model_version(client, mlflow, name, str(version), None)
        run = client.get_run(mv.run_id) if mv.run_id else None
        try:
            champ = client.get_model_version_by_alias(champ_model, "champion")
        except mlflow.exceptions.MlflowException:
            champ = None
    champ_metrics = {}
    if champ is not None and champ.run_id and champ.run_id != mv.run_id:
        champ_metrics = dict(client.get_run(champ.run_id).data.metrics)
    checks = tuple(checks_from_tags(mv.tags))
    return ReviewSummary(
        name=name,
        version=str(mv.version),
        run_id=mv.run_id,
        aliases=tuple(getattr(mv, "aliases", ()) or ()),
        status=mv.tags.get(STATUS_TAG, "unknown"),
        tags=dict(mv.tags),
        params=dict(run.data.params) if run else {},
        metrics=dict(run.data.metrics) if run else {},
        checks=checks,
        champion_version=str(champ.version) if champ is not None else None,
        champion_metrics=champ_metrics,
    )
