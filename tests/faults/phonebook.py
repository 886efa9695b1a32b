"""A phone, a script of what a user does between cycles, and the end state to compare.

The phone is played with plain HTTP against the real server (never through the fault proxy):
it reads a card, changes it the way a contacts app would (a TEL, the user's note text, a
``last:`` typed as ``24-11-2026``), and PUTs it back with If-Match, re-reading on 412 as a phone
does. The end state is read the same way and parsed here without netsync's code, except for
the NOTE block grammar (``netsync.core.notes``), which both runs compared share.

A ``Script`` is a seeded list of steps, each a day and a few phone actions, made once and
played against two servers: one reached directly, one through the fault proxy.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import icalendar

from netsync.core import notes
from tests import davcheck, servers
from tests.vcards import escape, vcard

TODAY = dt.date(2026, 11, 26)
NOTE_LINE = re.compile(r"(?i)^(?:[A-Za-z0-9-]+\.)?NOTE[;:]")
CALENDAR = "Keep in touch"


# -- card text, read without netsync ------------------------------------------------------------


def logical_lines(text: str) -> list[str]:
    """Physical lines joined into logical ones (folding kept as it is), CRLF cards only."""
    out: list[str] = []
    for physical in text.split("\r\n"):
        if physical[:1] in (" ", "\t") and out:
            out[-1] += "\r\n" + physical
        else:
            out.append(physical)
    return out


def outside_note(text: str) -> list[str]:
    """Every logical line but NOTE, byte for byte, in order."""
    return [line for line in logical_lines(text) if not NOTE_LINE.match(line)]


def _unfold(line: str) -> str:
    return re.sub(r"\r\n[ \t]", "", line)


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] in "nN" else m[1], value)


def note_of(text: str) -> str:
    """The NOTE text of a card (one NOTE, as the phone and netsync write it here)."""
    for line in logical_lines(text):
        if NOTE_LINE.match(line):
            return _unescape(_unfold(line).split(":", 1)[1])
    return ""


def with_note(text: str, note: str) -> str:
    """The card with its NOTE replaced the way a phone writes it: one long unfolded line."""
    lines = logical_lines(text)
    new = f"NOTE:{escape(note)}"
    for i, line in enumerate(lines):
        if NOTE_LINE.match(line):
            lines[i] = new
            return "\r\n".join(lines)
    end = lines.index("END:VCARD")
    return "\r\n".join([*lines[:end], new, *lines[end:]])


def with_property(text: str, name: str, value: str) -> str:
    """The card with the first ``name`` property set to ``value`` (added when absent)."""
    lines = logical_lines(text)
    for i, line in enumerate(lines):
        if re.match(rf"(?i)^{name}[;:]", line):
            lines[i] = f"{line.split(':', 1)[0]}:{value}"
            return "\r\n".join(lines)
    end = lines.index("END:VCARD")
    return "\r\n".join([*lines[:end], f"{name}:{value}", *lines[end:]])


def split_block(note: str) -> tuple[str, str]:
    """(user text, block text from the ``[netsync]`` line on) of a note."""
    match = re.search(r"(?im)^[ \t]*\[netsync\][ \t]*$", note)
    if match is None:
        return note, ""
    return note[: match.start()].rstrip("\n"), note[match.start() :]


def with_last(note: str, typed: str) -> str:
    """The note with the block's ``last:`` line replaced by ``typed`` (a block made if none)."""
    user, block = split_block(note)
    if not block:
        return f"{user}\n\n[netsync]\n{typed}\n[/netsync]" if user else f"[netsync]\n{typed}"
    lines = block.split("\n")
    for i, line in enumerate(lines):
        if re.match(r"(?i)\s*(last|laatst|laatste contact)\s*:", line):
            lines[i] = typed
            break
    else:
        lines.insert(1, typed)
    return (f"{user}\n\n" if user else "") + "\n".join(lines)


def with_user_text(note: str, text: str) -> str:
    _, block = split_block(note)
    return f"{text}\n\n{block}" if block else text


# -- the phone ------------------------------------------------------------------------------


class Phone:
    """Another client of the address book and the calendar, on plain HTTP."""

    def __init__(self, server: servers.Server) -> None:
        self.server = server
        self.writes = 0

    def url(self, name: str) -> str:
        return self.server.addressbook + name

    def read(self, name: str) -> tuple[str, str] | None:
        status, headers, body = davcheck.request(self.server, "GET", self.url(name))
        if status == 404:
            return None
        assert status == 200, (status, name)
        return headers.get("ETag", headers.get("etag", "")), body.decode("utf-8", "surrogateescape")

    def edit(self, name: str, change: Any) -> str | None:
        """Apply ``change(text) -> text`` to the card as it is now; the text written."""
        for _ in range(20):
            found = self.read(name)
            if found is None:
                return None
            etag, text = found
            new = change(text)
            if self.put(name, new, etag=etag) == 412:
                continue  # changed meanwhile: read again and apply the edit to the new version
            return new
        raise AssertionError(f"phone could not write {name}")

    def put(self, name: str, text: str, *, etag: str | None) -> int:
        headers = {"Content-Type": "text/vcard; charset=utf-8"}
        headers["If-Match" if etag else "If-None-Match"] = etag or "*"
        for attempt in range(50):
            status, _, _ = davcheck.request(
                self.server, "PUT", self.url(name), body=text.encode(), headers=headers
            )
            # Xandikos answers 423 (or 500) when another write holds its git lock; a phone
            # tries again. The precondition makes that safe: a write that did land meets 412.
            if status not in (423, 500):
                break
            time.sleep(0.01 * (attempt + 1))
        assert status in (201, 204, 412), (status, name)
        if status != 412:
            self.writes += 1
        return status

    def delete(self, name: str) -> None:
        status, _, _ = davcheck.request(self.server, "DELETE", self.url(name))
        assert status in (200, 204, 404), status
        self.writes += 1

    def move_follow_up(self, uid: str, day: dt.date) -> bool:
        """Move a follow-up event to ``day`` as a calendar app would; False if not there."""
        cal = davcheck.calendars(self.server).get(CALENDAR)
        if cal is None:
            return False
        href = cal + uid + ".ics"
        status, headers, body = davcheck.request(self.server, "GET", href)
        if status != 200:
            return False
        event = icalendar.Calendar.from_ical(body)
        for comp in event.walk("VEVENT"):
            start, end = comp.decoded("DTSTART"), comp.decoded("DTEND")
            if isinstance(start, dt.datetime):  # a timed reminder: same time, another day
                shift = day - start.date()
                comp["DTSTART"] = icalendar.vDDDTypes(start + shift)
                comp["DTEND"] = icalendar.vDDDTypes(end + shift)
                continue
            comp["DTSTART"] = icalendar.vDate(day)
            comp["DTEND"] = icalendar.vDate(day + dt.timedelta(days=1))
        status, _, _ = davcheck.request(
            self.server,
            "PUT",
            href,
            body=event.to_ical(),
            headers={"If-Match": headers.get("ETag", ""), "Content-Type": "text/calendar"},
        )
        assert status in (201, 204), status
        self.writes += 1
        return True


def upload_people(server: servers.Server, count: int) -> None:
    """The first ``count`` of the demo's sample people, PUT as a phone would."""
    from netsync.app import demo

    for index, person in enumerate(demo.sample_people(TODAY)[:count]):
        assert servers.put_card(server, f"p{index:03d}.vcf", demo.vcard(person, index)) == 201


# -- the end state --------------------------------------------------------------------------


@dataclass
class EndState:
    cards: dict[str, str]  # name -> card text
    reminders: dict[str, tuple[Any, ...]]  # UID -> what it says
    duplicate_uids: int
    calendars: int  # calendars named "Keep in touch"
    card_uids: Counter[str] = field(default_factory=Counter)

    @property
    def doubled(self) -> int:
        extra_cards = sum(n - 1 for n in self.card_uids.values() if n > 1)
        return self.duplicate_uids + max(self.calendars - 1, 0) + extra_cards


def _says(comp: Any) -> tuple[Any, ...]:
    """What a reminder says, without DTSTAMP (the time it was written)."""

    def text(name: str) -> str:
        return str(comp.get(name, ""))

    alarms = sorted(
        (str(a.get("ACTION", "")), str(a.decoded("TRIGGER")), str(a.get("DESCRIPTION", "")))
        for a in comp.subcomponents
        if a.name == "VALARM"
    )
    categories = comp.get("CATEGORIES")
    cats = [str(c) for c in categories.cats] if categories is not None else []
    return (
        comp.name,
        davcheck.day_of(comp),  # the day, whether all-day or timed (see the last item)
        comp.decoded("DTEND") if "DTEND" in comp else comp.decoded("DUE", None),
        text("SUMMARY"),
        text("DESCRIPTION"),
        tuple(cats),
        text("X-NETSYNC-KIND"),
        text("X-NETSYNC-CONTACT"),
        text("X-NETSYNC-PLANNED"),
        tuple(alarms),
        comp.decoded("DTSTART"),  # the start itself: a date, or a time of that day
    )


def end_state(server: servers.Server) -> EndState:
    cards = {
        href.rsplit("/", 1)[1]: body.decode("utf-8", "surrogateescape")
        for href, (_, body) in davcheck.snapshot(server, server.addressbook).items()
    }
    card_uids: Counter[str] = Counter()
    for text in cards.values():
        for line in logical_lines(text):
            if line.upper().startswith("UID:"):
                card_uids[line[4:]] += 1
    named = [url for name, url in davcheck.calendars(server).items() if name == CALENDAR]
    reminders: dict[str, tuple[Any, ...]] = {}
    duplicates = 0
    for cal in named:
        for _, (_, body) in davcheck.snapshot(server, cal).items():
            for comp in icalendar.Calendar.from_ical(body).walk():
                if comp.name in ("VEVENT", "VTODO"):
                    uid = str(comp["UID"])
                    duplicates += uid in reminders
                    reminders[uid] = _says(comp)
    return EndState(cards, reminders, duplicates, len(named), card_uids)


def ledger_of(card: str) -> tuple[str, notes.Ledger]:
    return notes.parse_note(note_of(card), today=TODAY)


def iso_last(card: str) -> str | None:
    """The ``last:`` date as netsync writes it (ISO), read without netsync."""
    _, block = split_block(note_of(card))
    match = re.search(r"(?m)^last: (\d{4}-\d\d-\d\d)\b", block)
    return match[1] if match else None


# -- the script -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    kind: str  # note_last | tel | user_text | new | delete | bday | log | move
    name: str = ""  # card file name
    value: str = ""
    extra: str = ""


@dataclass(frozen=True)
class Step:
    today: dt.date
    actions: tuple[Action, ...]


NAMES = [
    'Zoë "Zo" O\'Brien; Jr.',
    "Łukasz Wiśniewski, PhD",
    "María-José Núñez: sales",
    "Ngozi Okafor 🎉",
    "Tomás \\ Backslash",
    "Ahmed Al-Farsi",
    "Ingeborg Ødegård",
    "Kwame Mensah",
    "Søren Kierkegaard",
    "Mei-Ling Chen",
    "Olu Adeyemi",
    "Hiroshi Tanaka",
    "Fatima Zahra",
    "Pierre-Luc Gagnon",
    "Annika Johansson",
]


def new_card(index: int, rng: random.Random, today: dt.date) -> str:
    fn = NAMES[index % len(NAMES)]
    bday = today + dt.timedelta(days=rng.randint(0, 40))
    year = rng.randint(1950, 2010)
    spelling = rng.choice(
        [
            f"{year}-{bday:%m-%d}",
            f"{year}{bday:%m%d}",
            f"--{bday:%m%d}",
            f"--{bday:%m-%d}",
            f"1604-{bday:%m-%d}",
        ]
    )
    param = ";X-APPLE-OMIT-YEAR=1604" if spelling.startswith("1604") else ""
    last = today - dt.timedelta(days=rng.randint(5, 120))
    occasion = today + dt.timedelta(days=rng.randint(1, 30))
    block = [f"last: {last.isoformat()} call"] if rng.random() < 0.6 else []
    if rng.random() < 0.4:
        block.append(f'occasion: {occasion.isoformat()} exam; "finals", wish luck')
    if rng.random() < 0.3:
        block.append(f"every: {rng.choice(['14d', '3w', '2m'])}")
    user = rng.choice(["", "Met at the fair, likes jazz; has two cats.", "Line one\nline two: ok"])
    note = user
    if block:
        note = (f"{user}\n\n" if user else "") + "[netsync]\n" + "\n".join(block) + "\n[/netsync]"
    given, family = fn.split(" ")[0], fn.split(" ")[-1]
    return vcard(
        f"script-{index:03d}",
        escape(fn),
        n=f"{escape(family)};{escape(given)};;;",
        email=[f"person{index}@example.com"],
        lines=[
            f"BDAY{param}:{spelling}",
            f"CATEGORIES:{rng.choice(['Family', 'Friends', 'Customers'])}",
            'X-UNKNOWN-THING;X-PARAM="a:b":kept as it is',
        ],
        note=escape(note) if note else None,
    )


def _organisations() -> frozenset[str]:
    from netsync.app import demo

    people = demo.sample_people(TODAY)
    return frozenset(f"p{index:03d}.vcf" for index, person in enumerate(people) if "org" in person)


ORGANISATIONS = _organisations()  # sample cards that are a company, not a person


def make_script(seed: int, *, steps: int, existing: list[str], per_day: int = 4) -> list[Step]:
    """``steps`` steps of phone actions; the date moves on one day every ``per_day`` steps."""
    rng = random.Random(seed)
    names = list(existing)
    added = 0
    out: list[Step] = []
    for number in range(steps):
        today = TODAY + dt.timedelta(days=number // per_day)
        actions: list[Action] = []
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            kind = rng.choices(
                ["note_last", "tel", "user_text", "new", "delete", "bday", "log", "move"],
                weights=[24, 14, 10, 12, 4, 8, 16, 12],
            )[0]
            people = list(names)
            name = rng.choice(people)
            if kind == "note_last":
                day = today - dt.timedelta(days=rng.randint(0, 12))
                typed = rng.choice([f"{day:%d-%m-%Y}", f"{day.day}-{day.month}-{day.year}"])
                how = rng.choice(["", " call", " visit", " coffee"])
                actions.append(Action(kind, name, f"last: {typed}{how}", day.isoformat()))
            elif kind == "tel":
                actions.append(Action(kind, name, f"+31 6 {rng.randint(10000000, 99999999)}"))
            elif kind == "user_text":
                text = rng.choice(
                    ["Moved to Leiden; new job, call after 6.", "Allergic to nuts!", "Ça va: 🎈"]
                )
                actions.append(Action(kind, name, f"{text} ({number})"))
            elif kind == "new":
                card_name = f"script-{added:03d}.vcf"
                actions.append(Action(kind, card_name, new_card(added, rng, today)))
                names.append(card_name)
                added += 1
            elif kind == "delete" and len(people) > 20:
                actions.append(Action(kind, name))
                names.remove(name)
            elif kind == "bday":
                day = today + dt.timedelta(days=rng.randint(0, 30))
                actions.append(Action(kind, name, f"{rng.randint(1940, 2015)}-{day:%m-%d}"))
            elif kind == "log":
                if name in ORGANISATIONS:  # `netsync log` is for people: the next card instead
                    name = people[(people.index(name) + 1) % len(people)]
                day = today - dt.timedelta(days=rng.randint(0, 3))
                how = rng.choice(["call", "visit", ""])
                actions.append(Action(kind, name, day.isoformat(), how))
            elif kind == "move":
                actions.append(Action(kind, "", str(rng.randint(1, 5))))
        out.append(Step(today, tuple(actions)))
    return out
