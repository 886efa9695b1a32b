"""`netsync remove [--notes] [--dry-run] [--yes]`: stop using netsync (SPEC 8).

Deletes every object netsync made in the reminders calendar (UID ``netsync-...``, with
If-Match); with ``--notes`` it also takes the ``[netsync]`` blocks out of the notes, changing
nothing else in any card (app.removal). It first says what it found; on a terminal it asks
before it changes anything, and without one it changes nothing unless given ``--yes``.
The calendar itself, the config and the state directory stay: the message says how to be
rid of them.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from netsync.app import session
from netsync.commands.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    TerminalProgress,
    is_terminal,
    load_config,
)

if TYPE_CHECKING:  # caldav and icalendar are loaded when the command runs, not for --help
    from netsync.app import removal


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "remove",
        help="stop using netsync: delete its reminders (and with --notes its note blocks)",
        description="Stop using netsync: delete every reminder netsync made in the reminders "
        "calendar, and with --notes take the [netsync] blocks out of the contacts' notes "
        "(nothing else in a card changes). Says what it found and asks first; without a "
        "terminal it changes nothing unless given --yes.",
        epilog="examples:\n  netsync remove --dry-run --notes\n  netsync remove --notes",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--notes", action="store_true", help="also take the [netsync] blocks out of the notes"
    )
    p.add_argument("--dry-run", action="store_true", help="say what would go; change nothing")
    p.add_argument("--yes", action="store_true", help="do not ask (for scripts)")
    p.set_defaults(func=run, writes=False)


def run(args: argparse.Namespace) -> int:
    from netsync.app import removal

    settings = load_config(args)
    conn = session.connections(settings)
    try:
        found = removal.find(conn, with_notes=args.notes, today=session.today_for(settings, None))
        _say_found(found, settings, with_notes=args.notes)
        if found.empty:
            print("Nothing to remove.")
            return EXIT_OK
        if args.dry_run:
            for line in _plan_lines(found):
                print(line)
            print("dry run: nothing was changed")
            return EXIT_OK
        if not args.yes and not _go_ahead(found):
            return EXIT_USAGE if not is_terminal(sys.stdin) else EXIT_OK
        args.writes, args.redo = True, " ".join(["netsync", "remove", *_flags(args)])
        progress = TerminalProgress.for_stderr()
        try:
            done = removal.apply(conn, found, progress=progress)
        finally:
            if isinstance(progress, TerminalProgress):
                progress.clear()
    finally:
        conn.close()
    for line in done.lines:
        print(line)
    for problem in done.failed:
        print(f"netsync: {problem}", file=sys.stderr)
    _say_done(done, found, settings)
    return EXIT_PARTIAL if done.failed else EXIT_OK


def _flags(args: argparse.Namespace) -> list[str]:
    return ["--notes"] * args.notes + ["--yes"] * args.yes


def _say_found(found: removal.Removal, settings: Any, *, with_notes: bool) -> None:
    name = settings.reminders.calendar
    if not found.calendar:
        print(f'No calendar "{name}" at {settings.reminders.url}: no reminders to delete.')
    else:
        others = f"; {found.others} other entries there stay" if found.others else ""
        print(
            f'The calendar "{name}" ({found.calendar}) holds {_count(found.objects, "reminder")}'
            f" netsync made{others}."
        )
    if with_notes:
        print(
            f"{_count(found.notes, 'contact')} of {found.cards_read} have a [netsync] block in "
            "their note; it comes out, and every other line of each card stays as it is."
        )
    else:
        print("The [netsync] blocks in the notes stay (--notes takes them out too).")


def _plan_lines(found: removal.Removal) -> list[str]:
    return [f"- {o.shown}" for o in found.objects] + [
        f"~ {n.name}: the [netsync] block out of the note" for n in found.notes
    ]


def _go_ahead(found: removal.Removal) -> bool:
    what = []
    if found.objects:
        what.append(f"delete {_count(found.objects, 'reminder')}")
    if found.notes:
        what.append(f"take the block out of {_count(found.notes, 'note')}")
    plan = " and ".join(what)
    if not is_terminal(sys.stdin):
        print(
            f"netsync: remove would {plan}; pass --yes to do it without a terminal "
            "(nothing was changed)",
            file=sys.stderr,
        )
        return False
    try:
        answer = input(f"{plan.capitalize()}? [y/N]: ").strip().lower()
    except (EOFError, KeyboardInterrupt):
        answer = ""
        print()
    if answer in ("y", "yes", "j", "ja"):
        return True
    print("Nothing was changed.")
    return False


def _say_done(done: removal.Removed, found: removal.Removal, settings: Any) -> None:
    said = f"Deleted {_count(range(done.deleted), 'reminder')}"
    if found.notes:
        said += f"; took the block out of {_count(range(done.notes), 'note')}"
    print(said + ".")
    if found.calendar:
        print(
            f'The calendar "{settings.reminders.calendar}" itself stays; delete it in your '
            "calendar app if you no longer want it."
        )
    print(
        "Stop `netsync run` (`systemctl --user disable --now netsync`, or the system unit or "
        "timer), or its next cycle writes the reminders again. The config and the state "
        f"directory ({settings.state_dir}, a cache) can be deleted."
    )


def _count(items: Any, noun: str) -> str:
    n = len(items)
    return f"1 {noun}" if n == 1 else f"{n} {noun}s"
