"""The ``card`` command: write a registered version's model card with its registry section."""

from __future__ import annotations

import argparse

from ._common import (
    EXIT_OK,
    _check_out_folder,
    _command,
    _out_folder_option,
    _say,
    _store_option,
    _version_args,
)
from ._outcomes import _log_option

__all__ = ["add_card_command"]


def add_card_command(sub) -> None:
    """Add ``card NAME VERSION --out DIR`` to the ``send-early`` subcommands."""
    s = _command(
        sub,
        "card",
        cmd_card,
        "write a registered version's model card (HTML and JSON) with the registry "
        "version, run and approval filled in",
    )
    _version_args(s, "the registered model (NAME or NAME-candidates)", "its version")
    _out_folder_option(s, "folder for the card's two files")
    _log_option(s)  # the outcome log: this version's flags fill "Outcomes after flags"
    _store_option(s)


def cmd_card(args: argparse.Namespace) -> int:
    from ..registry import registered_card

    _check_out_folder(args.out)
    card = registered_card(args.name, args.version, tracking_uri=args.tracking_uri)
    outcomes = _outcomes_of(args, card)
    card = (card if outcomes is None else card.with_outcomes(outcomes)).save(args.out)
    reg = card.registry
    approvals = ", ".join(f"{a['alias']} by {a['reviewer']}" for a in reg.approvals)
    _say(
        f"Wrote the model card of {reg.name} version {reg.version} (run {reg.run_id}; "
        f"{'approved as ' + approvals if approvals else 'not yet approved'}):"
    )
    _say(f"  {card.html_path}")
    _say(f"  {card.json_path}")
    return EXIT_OK


def _outcomes_of(args: argparse.Namespace, card):
    """The outcome log's summary of this version's flags (``--log``, or the store's log when
    it has one, as ``monitor`` reads it); None without a log (a tracking server has no
    default log). A flag is the version's when its model_name is NAME, NAME without
    ``-candidates`` or the card's model name."""
    from ..outcomes import outcome_log_path, outcome_summary, read_outcomes

    if args.log is None:
        try:
            if not outcome_log_path(args.tracking_uri).exists():
                return None
        except ValueError:  # a tracking server: only --log names a log
            return None
    log = read_outcomes(store=args.tracking_uri, log=args.log)
    names = {args.name, args.name.removesuffix("-candidates"), card.model.name}
    return outcome_summary(log[log["model_name"].isin(names)], model_version=args.version)
