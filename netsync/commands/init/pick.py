"""Step 4 of `netsync init`, pick: the address book to read, the calendar for the reminders
(an existing one you may write to, or a new "Keep in touch"), the language and the cadence."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from urllib.parse import urljoin, urlsplit

from netsync.commands.common import EXIT_CONFIG, EXIT_NOPERM, Failed, UsageError
from netsync.commands.init.answers import DEFAULT_CALENDAR, CalendarChoice, Login, Where
from netsync.commands.init.login import call, client_for
from netsync.commands.init.prompter import Prompter
from netsync.commands.init.reachable import unreachable_advice
from netsync.dav import discovery


def pick_book(args: argparse.Namespace, ui: Prompter, login: Login) -> str:
    """The [contacts] url: one address book's URL, or the URL that found them all."""
    books = call(login, login.contacts_url, discovery.address_books, login.book_urls)
    wanted = (args.address_book or "").strip()
    if wanted.casefold() == "all":
        return login.contacts_url
    if wanted:
        match = matching(books, wanted)
        if match is None:
            names = ", ".join(repr(b.name) for b in books)
            raise UsageError(f"init: --address-book: no {wanted!r} here; there are: {names}")
        return match.url
    if len(books) == 1:
        ui.say(f'Address book: "{books[0].name}" ({books[0].url})')
        return login.contacts_url
    ui.say("Address books:")
    options = [f'"{b.name}"  {b.url}' for b in books] + ["all of them"]
    index = ui.choose(
        "Which address book should netsync read?",
        options,
        default=len(books),
        flag="--address-book",
    )
    return login.contacts_url if index == len(books) else str(books[index].url)


def matching(
    collections: Sequence[discovery.Collection], wanted: str
) -> discovery.Collection | None:
    """The collection ``wanted`` names: by URL, by path, else by display name."""
    key = wanted.strip().rstrip("/")
    for c in collections:
        if c.url.rstrip("/") == key or urlsplit(c.url).path.rstrip("/") == key:
            return c
    return next((c for c in collections if c.name.casefold() == key.casefold()), None)


def pick_calendar(
    args: argparse.Namespace, ui: Prompter, login: Login, where: Where
) -> CalendarChoice:
    home, found = calendars(args, login, where)
    usable = [c for c in found if c.writable is not False and _holds_events(c)]
    readonly = [c for c in found if c.writable is False]
    if args.calendar:
        match = matching(found, args.calendar)
        if match is None and "://" in args.calendar:
            home, listed = list_calendars(args, login, args.calendar)
            match = matching(listed, args.calendar)
        if match is None:
            names = ", ".join(repr(c.name) for c in usable) or "none"
            raise UsageError(
                f"init: --calendar: no calendar {args.calendar!r} (calendars you can write "
                f"to: {names}); --create-calendar {args.calendar!r} makes it"
            )
        if match.writable is False:
            raise UsageError(f"init: --calendar: {match.name!r} is read-only for you")
        return CalendarChoice(match.name, match.url, home)
    name = args.create_calendar or DEFAULT_CALENDAR
    existing = matching(usable, name) if "://" not in name else None
    if where.provider is not None and not where.provider.makes_calendars:
        return _made_elsewhere(args, ui, login, where, name)
    if args.create_calendar:
        if existing is not None:
            ui.say(f'Calendar: "{existing.name}" exists already; the reminders go there.')
            return CalendarChoice(existing.name, existing.url, home)
        return CalendarChoice(name, "", home)
    if not ui.interactive:
        return CalendarChoice(name, existing.url if existing else "", home)
    ui.say("Calendars you can write to:" if usable else "You have no calendar to write to yet.")
    options = [f'"{c.name}"' for c in usable]
    if existing is None:
        options.append(f'a new calendar "{name}" (netsync makes it)')
    default = usable.index(existing) if existing is not None else len(usable)
    names = ", ".join(f'"{c.name}"' for c in readonly)
    index = ui.choose(
        "Which calendar should the reminders go to? One of their own is easy to hide or share",
        options,
        default=default,
        flag="--calendar or --create-calendar",
        note=f"  (read-only, so not offered: {names})" if readonly else "",
    )
    if index == len(usable):
        return CalendarChoice(name, "", home)
    return CalendarChoice(usable[index].name, usable[index].url, home)


def _made_elsewhere(
    args: argparse.Namespace, ui: Prompter, login: Login, where: Where, name: str
) -> CalendarChoice:
    """A provider where apps cannot make calendars (Google: no MKCALENDAR): an existing one,
    or the user makes "Keep in touch" in the provider's own calendar and init looks again."""
    provider = where.provider
    assert provider is not None
    while True:
        home, found = calendars(args, login, where)
        usable = [c for c in found if c.writable is not False and _holds_events(c)]
        existing = matching(usable, name)
        if existing is not None and (args.create_calendar or not ui.interactive):
            ui.say(f'Calendar: "{existing.name}" ({existing.url})')
            return CalendarChoice(existing.name, existing.url, home)
        if existing is None:
            ui.say(
                f'{provider.name} does not let apps make calendars. Make one called "{name}" '
                "at https://calendar.google.com/calendar/r/settings/createcalendar (Settings > "
                "Add calendar > Create new calendar); then it is listed here."
            )
            if not ui.interactive:
                raise Failed(
                    f'init: no calendar "{name}" at {provider.name}, and apps cannot make one '
                    f"there: make it in {provider.name} Calendar, then run init again (or pass "
                    "--calendar with one of yours)",
                    EXIT_CONFIG,
                )
        ui.say("Calendars you can write to:" if usable else "You have no calendar to write to.")
        options = [f'"{c.name}"' for c in usable] + [f'look again (after making "{name}")']
        default = usable.index(existing) if existing is not None else len(usable)
        index = ui.choose(
            "Which calendar should the reminders go to? One of their own is easy to hide or share",
            options,
            default=default,
            flag="--calendar",
        )
        if index < len(usable):
            return CalendarChoice(usable[index].name, usable[index].url, home)


def _holds_events(c: discovery.Collection) -> bool:
    return not c.components or "VEVENT" in c.components


def calendars(
    args: argparse.Namespace, login: Login, where: Where
) -> tuple[str, list[discovery.Collection]]:
    """The calendar home and its calendars, from the first place that lists them."""
    from netsync import dav

    problems = []
    starts = [c.url for c in where.calendars]
    if login.contacts_url not in starts:
        starts.append(login.contacts_url)  # the server that worked for contacts
    # An address book's URL given: the calendars may live beside it (Radicale keeps both in
    # /USER/, and without a login it tells nobody where the calendar home is).
    beside = urljoin(login.contacts_url.rstrip("/") + "/", "..")
    if login.contacts_url in login.book_urls and beside not in starts:
        starts.append(beside)
    for start in starts:
        try:
            return list_calendars(args, login, start)
        except dav.AuthFailed:
            raise Failed(
                f"init: {start} refused the login that the contacts server took", EXIT_NOPERM
            ) from None
        except dav.Unreachable as err:
            problems.append(unreachable_advice(start, err))
        except dav.DavError as err:
            problems.append(f"{start}: {err}")
    raise Failed(
        "init: found the address book, but no calendars: "
        + "; ".join(problems)
        + ". Pass --calendar with your calendar's URL",
        EXIT_CONFIG,
    )


def list_calendars(
    args: argparse.Namespace, login: Login, start: str
) -> tuple[str, list[discovery.Collection]]:
    from netsync import dav

    client = client_for(args, login, start)

    def find() -> tuple[str, list[discovery.Collection]]:
        resolved = discovery.well_known(client, start, "caldav")
        return discovery.calendars(client, resolved)

    result: tuple[str, list[discovery.Collection]] = dav.call(start, login.username, find)
    return result


def ask_language(ui: Prompter) -> str:
    while True:
        answer = ui.ask(
            "Language of the reminders: en (English) or nl (Nederlands)",
            flag="--language",
            default="en",
        ).casefold()
        if answer in ("en", "nl"):
            return answer
        ui.say("  (en or nl)")


def ask_every(ui: Prompter) -> str:
    from netsync.core.durations import parse_cadence

    while True:
        answer = ui.ask(
            "How often to be in touch with someone, unless their note or group says "
            "otherwise (30d, 6w, 3m, 1y)",
            flag="--every",
            default="90d",
        )
        try:
            if parse_cadence(answer) is not None:
                return answer
        except ValueError as err:
            ui.say(f"  ({err})")
