"""`netsync sync`: one cycle, a line per change and a summary."""

from __future__ import annotations

import argparse

from netsync.app.session import now_for
from netsync.commands.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    load_config,
    parse_moment,
    print_report,
    run_once,
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "sync",
        help="one cycle: read, learn, plan, write",
        description="Read the address book and the calendar, plan, and write "
        "the reminders that changed. Prints one line per change.",
        epilog="examples:\n  netsync sync --dry-run\n  netsync sync --today 2026-12-01",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--dry-run", action="store_true", help="write nothing; say what would change")
    p.add_argument(
        "--today",
        type=parse_moment,
        metavar="DATE",
        help="plan as if today were DATE (YYYY-MM-DD, from its start; or YYYY-MM-DDTHH:MM)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    args.writes = not args.dry_run  # what an error then says (app.failures)
    settings = load_config(args)
    now = now_for(settings, args.today)
    report = run_once(settings, today=now.date(), now=now, dry_run=args.dry_run)
    print_report(report)
    return EXIT_PARTIAL if report.failed else EXIT_OK
