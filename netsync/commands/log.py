"""`netsync log QUERY`: record contact with a person, or with ``--received`` what they gave or
did for you (SPEC 2, 6, 8)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from netsync.app.session import now_for
from netsync.commands.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    UsageError,
    load_config,
    parse_date,
    parse_moment,
    print_report,
    run_once,
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "log",
        help="record contact with a person",
        description="Record that you were in touch with someone: writes `last:` into the "
        "contact's NOTE (only if newer than what is there) and re-plans their follow-up. With "
        "--received, records what they gave or did for you instead: a `received:` line (no "
        "`last:`), so a thank-you follow-up comes.",
        epilog='examples:\n  netsync log "Alice Jansen" --via call\n'
        "  netsync log alice@example.org --date 2026-11-20 --via visit\n"
        '  netsync log Alice --received "flowers when I was ill"',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("query", help="part of the name, an e-mail address, or the contact's UID")
    p.add_argument("--via", default="", metavar="HOW", help="how: call, visit, coffee, ...")
    p.add_argument(
        "--received",
        metavar="WHAT",
        help="record what they gave or did for you instead (a `received:` line, not "
        "`last:`): a thank-you follow-up comes next",
    )
    p.add_argument("--date", type=parse_date, metavar="DATE", help="when (default: today)")
    p.add_argument("--today", type=parse_moment, metavar="DATE", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def find_contacts(contacts: Sequence[Any], query: str) -> list[Any]:
    """Contacts matching part of the name, an e-mail address or the UID. An exact match of
    the whole name, an address or the UID wins over partial name matches."""
    q = query.strip().casefold()
    exact = [
        c
        for c in contacts
        if c.uid == query.strip() or c.name.casefold() == q or q in (e.casefold() for e in c.emails)
    ]
    if exact:
        return exact
    return [c for c in contacts if q and q in c.name.casefold()]


def run(args: argparse.Namespace) -> int:
    from netsync.core.learn import Observation

    settings = load_config(args)
    now = now_for(settings, args.today)
    today = now.date()
    day = args.date or today
    if day > today:
        raise UsageError(f"--date {day} is in the future")
    received = None if args.received is None else " ".join(args.received.split())
    if received is not None and (not received or args.via):
        raise UsageError("--received takes what they gave or did (and no --via)")
    chosen: list[Any] = []

    def observe(contacts: Sequence[Any]) -> list[Observation]:
        matches = find_contacts(contacts, args.query)
        if len(matches) != 1:
            raise AmbiguousQuery(args.query, matches)
        chosen.append(matches[0])
        return [Observation(matches[0].uid, day, args.via.strip(), "netsync log", received)]

    report = run_once(settings, today=today, now=now, dry_run=False, extra=observe)
    after = {c.uid: c for c in report.contacts}.get(chosen[0].uid, chosen[0])
    later = after.ledger.last is not None and after.ledger.last > day
    if received is None and later:  # (a gift is recorded whatever the note says of contact)
        print(
            f"{after.name}: a later contact is already recorded "
            f"({after.ledger.last.isoformat()}); the note is unchanged"
        )
    print_report(report)
    return EXIT_PARTIAL if report.failed else EXIT_OK


class AmbiguousQuery(UsageError):
    def __init__(self, query: str, matches: Sequence[Any]) -> None:
        if not matches:
            text = f"no contact matches {query!r}"
        else:
            names = "\n".join(
                f"  {c.name}" + (f" <{c.emails[0]}>" if c.emails else "") + f" (UID {c.uid})"
                for c in matches
            )
            text = f"{len(matches)} contacts match {query!r}; be more precise:\n{names}"
        super().__init__(text)
