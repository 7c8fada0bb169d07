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
    _store_option(s)


def cmd_card(args: argparse.Namespace) -> int:
    from ..registry import registered_card

    _check_out_folder(args.out)
    card = registered_card(args.name, args.version, tracking_uri=args.tracking_uri).save(args.out)
    reg = card.registry
    approvals = ", ".join(f"{a['alias']} by {a['reviewer']}" for a in reg.approvals)
    _say(
        f"Wrote the model card of {reg.name} version {reg.version} (run {reg.run_id}; "
        f"{'approved as ' + approvals if approvals else 'not yet approved'}):"
    )
    _say(f"  {card.html_path}")
    _say(f"  {card.json_path}")
    return EXIT_OK
