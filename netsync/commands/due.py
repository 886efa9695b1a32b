"""`netsync due`: who is overdue and what is coming, as a table or JSON (SPEC 8)."""

from __future__ import annotations

import argparse
import json
import sys

from netsync.app.session import today_for
from netsync.commands.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    UsageError,
    agenda,
    load_config,
    parse_date,
    print_agenda,
    run_once,
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "due",
        help="who is overdue and what is coming",
        description="Who is overdue and what is coming up, as a table or JSON.",
        epilog="examples:\n  netsync due\n  netsync due --days 30 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--days", type=int, default=14, metavar="N", help="look N days ahead (14)")
    p.add_argument("--today", type=parse_date, metavar="DATE", help="as if today were DATE")
    p.add_argument("--json", action="store_true", help="a JSON list instead of a table")
    p.set_defaults(func=run, writes=False)  # a dry run: an error says nothing of writes


def run(args: argparse.Namespace) -> int:
    if args.days < 0:
        raise UsageError("--days must be 0 or more")
    settings = load_config(args)
    report = run_once(settings, today=today_for(settings, args.today), dry_run=True)
    rows = agenda(report, days=args.days)
    if args.json:
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print_agenda(rows, today=report.today, days=args.days)
    return EXIT_PARTIAL if report.cards_skipped else EXIT_OK
