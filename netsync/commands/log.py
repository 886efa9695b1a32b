"""`netsync log QUERY`: record contact with a person, or with ``--received`` what they gave or
did for you (SPEC 2, 6, 8).

The query ignores case and accents: names and query are compared as anyascii makes them
(``Zoë`` -> ``Zoe``, ``Søren`` -> ``Soren``, ``Straße`` -> ``Strasse``), since ø, æ, ß and ł
have no decomposition in Unicode that stripping accents could use. ``--date`` is read as a
``last:`` line in the note is (core.notes.read_date). Organisations get no follow-ups, so
they are not offered as a person to log.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Sequence
from typing import Any

from netsync.app.session import now_for
from netsync.commands.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    UsageError,
    load_config,
    parse_moment,
    print_report,
    run_once,
)

DATES = "YYYY-MM-DD, D-M-YYYY, today or yesterday (vandaag, gisteren)"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "log",
        help="record contact with a person",
        description="Record that you were in touch with someone: writes `last:` into the "
        "contact's NOTE (only if newer than what is there) and re-plans their follow-up. "
        "The query ignores case and accents (zoe finds Zoë, soren finds Søren). With "
        "--received, records what they gave or did for you instead: a `received:` line (no "
        "`last:`), so a thank-you follow-up comes.",
        epilog='examples:\n  netsync log "Alice Jansen" --via call\n'
        "  netsync log alice@example.org --date 2026-11-20 --via visit\n"
        "  netsync log soren --date gisteren\n"
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
    p.add_argument("--date", metavar="DATE", help=f"when (default: today): {DATES}")
    p.add_argument("--today", type=parse_moment, metavar="DATE", help=argparse.SUPPRESS)
    p.set_defaults(func=run, writes=False)  # until it has found the person (observe)


def folded(text: str) -> str:
    """``text`` as the query compares it: ASCII, case-folded, single spaces."""
    from anyascii import anyascii

    return " ".join(anyascii(text).casefold().split())


def find_contacts(contacts: Sequence[Any], query: str) -> list[Any]:
    """People matching part of the name, an e-mail address or the UID, ignoring case and
    accents. An exact match of the whole name, an address or the UID wins over partial name
    matches. Organisations are never among them (see ``organisations``)."""
    people = [c for c in contacts if not c.is_org]
    uid, q = query.strip(), folded(query)
    exact = [
        c
        for c in people
        if c.uid == uid or folded(c.name) == q or q in (folded(e) for e in c.emails)
    ]
    if exact:
        return exact
    return [c for c in people if q and q in folded(c.name)]


def organisations(contacts: Sequence[Any], query: str) -> list[Any]:
    """The organisations the query would have found, to say why they are not offered."""
    orgs = [c for c in contacts if c.is_org]
    q = folded(query)
    return [c for c in orgs if q and (c.uid == query.strip() or q in folded(c.name))]


def run(args: argparse.Namespace) -> int:
    from netsync.core.learn import Observation
    from netsync.core.notes import read_date

    settings = load_config(args)
    now = now_for(settings, args.today)
    today = now.date()
    day = today
    if args.date is not None:
        found = read_date(args.date, today=today)
        if found is None:
            raise UsageError(f"--date: not a date: {args.date!r}; write {DATES}")
        day = found
    if day > today:
        raise UsageError(f"--date {day} is in the future")
    received = None if args.received is None else " ".join(args.received.split())
    if received is not None and (not received or args.via):
        raise UsageError("--received takes what they gave or did (and no --via)")
    chosen: list[Any] = []

    def observe(contacts: Sequence[Any]) -> list[Observation]:
        matches = find_contacts(contacts, args.query)
        if len(matches) != 1:
            raise AmbiguousQuery(args.query, matches, organisations(contacts, args.query))
        chosen.append(matches[0])
        args.writes = True  # the contact's card is written next; no `sync` would redo it
        what = ["--received", received] if received is not None else []
        args.redo = shlex.join(
            ["netsync", "log", args.query, "--date", day.isoformat(), *what]
            + (["--via", args.via] if args.via.strip() else [])
        )
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
    def __init__(self, query: str, matches: Sequence[Any], orgs: Sequence[Any] = ()) -> None:
        if not matches and orgs:
            names = ", ".join(c.name for c in orgs)
            text = (
                f"{query!r} matches only an organisation ({names}); netsync keeps follow-ups "
                "for people, so log the person you were in touch with"
            )
        elif not matches:
            text = f"no contact matches {query!r}"
        else:
            names = "\n".join(
                f"  {c.name}" + (f" <{c.emails[0]}>" if c.emails else "") + f" (UID {c.uid})"
                for c in matches
            )
            text = f"{len(matches)} contacts match {query!r}; be more precise:\n{names}"
        super().__init__(text)
