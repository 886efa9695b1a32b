"""The command line: one module per command, each with ``register(sub)`` and ``run(args)``;
what they share is in ``common`` (exit codes, the one map from errors to exit codes).

Heavy libraries (caldav, icalendar) are imported inside the commands, so ``netsync --help``
starts fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from netsync.commands import (
    check,
    demo,
    due,
    init,
    log,
    remove,
    run,
    set_password,
    sync,
)
from netsync.commands.common import handle, setup_logging

COMMANDS = (sync, due, check, log, run, set_password, demo, init, remove)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netsync",
        description="Keep in touch: follow-up and occasion reminders from your CardDAV "
        "address book into your CalDAV calendar.",
        epilog="example: netsync sync --dry-run",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="config file (default: $NETSYNC_CONFIG, else ~/.config/netsync/config.toml)",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    setup_logging(args.verbose, args.quiet)
    return handle(args.func, args)


def entry() -> None:
    sys.exit(main())
