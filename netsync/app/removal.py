"""Leaving netsync (`netsync remove`, SPEC 8): find what netsync put on the servers, and take
it away again, touching nothing else.

``find`` reads: the reminders calendar's objects whose UID starts with ``netsync-`` (every
other object there is only counted, never touched) and, with ``notes``, the cards whose NOTE
holds a ``[netsync]`` block. What it returns is the whole decision, printed as it is by a dry
run. ``apply`` acts: each object is deleted with If-Match (a 412, the phone moved it, is
read again and deleted), each card's NOTE loses its block through
``writeback.rewrite_card``, the same byte-exact, If-Match patch with its 412 re-read and
retry as every other card write. Whatever fails is said, never hidden; the rest is done.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from netsync import dav
from netsync.app import writeback
from netsync.core import cards, ics, notepatch, notes
from netsync.dav import addressbook, calendar

log = logging.getLogger(__name__)

WRITERS = 4  # deletes in flight at once, each over its own connection (as the engine's)


@dataclass(frozen=True)
class OwnObject:
    """One object netsync made in the reminders calendar."""

    href: str
    etag: str
    uid: str
    shown: str  # "2026-12-01  birthday    Alice Jansen turns 47", or the UID


@dataclass(frozen=True)
class NoteBlock:
    """A card whose NOTE holds a ``[netsync]`` block."""

    book: str
    href: str
    etag: str
    text: str
    name: str


@dataclass
class Removal:
    """What ``find`` found. ``calendar`` is "" when there is no reminders calendar."""

    calendar: str
    objects: list[OwnObject] = field(default_factory=list)
    others: int = 0  # objects in the calendar that are not netsync's: they stay
    notes: list[NoteBlock] = field(default_factory=list)
    cards_read: int = 0

    @property
    def empty(self) -> bool:
        return not self.objects and not self.notes


@dataclass
class Removed:
    """What ``apply`` did: a line per change, and a line per failure (said, then skipped)."""

    deleted: int = 0
    notes: int = 0
    lines: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


Progress = Callable[[str, int, int], None]


def find(conn: Any, *, with_notes: bool, today: dt.date) -> Removal:
    """Read what netsync made: its reminders, and (``with_notes``) the notes with a block."""
    removal = Removal(_calendar(conn))
    if removal.calendar:
        listing = conn.call(
            "reminders", calendar.fetch_reminders, removal.calendar, token=None, known={}
        )
        for obj in listing.changed:
            uid = ics.own_uid(obj.data)
            if uid is None:
                removal.others += 1
            else:
                removal.objects.append(OwnObject(obj.href, obj.etag, uid, _shown(obj.data, uid)))
        removal.objects.sort(key=lambda o: o.shown)
    if with_notes:
        books = conn.call("contacts", addressbook.find_address_books, conn.contacts.url)
        for book in books:
            changes = conn.call("contacts", addressbook.fetch_changes, book, token=None, known={})
            removal.cards_read += len(changes.changed)
            for card in changes.changed:
                if notes.has_block(notepatch.read_note(card.text)):
                    name = _name(card, today)
                    removal.notes.append(NoteBlock(book, card.href, card.etag, card.text, name))
        removal.notes.sort(key=lambda n: (n.name.casefold(), n.href))
    return removal


def apply(conn: Any, removal: Removal, *, progress: Progress | None = None) -> Removed:
    """Delete the objects and take the blocks out of the notes (see the module docstring)."""
    done = Removed()
    _delete_all(conn, removal, done, progress)
    for index, note in enumerate(removal.notes):
        if progress:
            progress("taking blocks out of notes", index, len(removal.notes))
        _take_out(conn, note, done)
    return done


# -- the calendar ---------------------------------------------------------------------------


def _calendar(conn: Any) -> str:
    """The reminders calendar's URL; "" when there is none (nothing to delete there)."""
    try:
        url: str = conn.call(
            "reminders",
            calendar.find_calendar,
            conn.reminders.url,
            conn.calendar_name,
            create=False,
        )
    except (dav.Unreachable, dav.AuthFailed, dav.WrongCollection):
        raise
    except dav.DavError as err:
        if "no calendar named" not in str(err):
            raise
        return ""
    return url


def _shown(data: bytes, uid: str) -> str:
    parsed = ics.parse(data)
    if parsed is None:
        return uid
    reminder = parsed[0]
    return f"{reminder.day.isoformat()}  {reminder.kind:<11} {reminder.summary}"


def _delete_all(conn: Any, removal: Removal, done: Removed, progress: Progress | None) -> None:
    """Delete every object; the ones a phone changed meanwhile (412) are read again and
    deleted with their new ETag, up to writeback.MAX_TRIES rounds."""
    todo = list(removal.objects)
    for _round in range(writeback.MAX_TRIES):
        conflicts: list[OwnObject] = []
        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            futures = [pool.submit(_delete, conn, obj) for obj in todo]
            for index, (obj, future) in enumerate(zip(todo, futures, strict=True)):
                if progress:
                    progress("deleting reminders", index, len(todo))
                error = future.result()
                if error is None:
                    done.deleted += 1
                    done.lines.append(f"- {obj.shown}")
                elif isinstance(error, calendar.Conflict):
                    conflicts.append(obj)
                else:
                    done.failed.append(f"could not delete {obj.href}: {error}")
        if not conflicts:
            return
        todo = _read_again(conn, removal.calendar, conflicts)
    done.failed += [f"{o.href} kept changing on the server; run remove again" for o in todo]


def _delete(conn: Any, obj: OwnObject) -> Exception | None:
    """None when deleted (or gone already); the refusal otherwise. A server that is down or
    refuses the login raises: the run ends there, and a second remove finishes it."""
    try:
        conn.call("reminders", calendar.delete, obj.href, etag=obj.etag)
    except (dav.Unreachable, dav.AuthFailed):
        raise
    except dav.DavError as err:
        return err
    return None


def _read_again(conn: Any, cal: str, objects: list[OwnObject]) -> list[OwnObject]:
    """The objects with the ETag they have now; those gone or no longer netsync's are left
    out."""
    listing = conn.call("reminders", calendar.fetch_reminders, cal, token=None, known={})
    now = {obj.href: obj for obj in listing.changed}
    fresh = []
    for old in objects:
        obj = now.get(old.href)
        if obj is not None and ics.own_uid(obj.data) == old.uid:
            fresh.append(dataclasses.replace(old, etag=obj.etag))
    return fresh


# -- the notes ------------------------------------------------------------------------------


def _name(card: addressbook.Card, today: dt.date) -> str:
    try:
        return cards.parse_card(card.text, href=card.href, today=today).name or card.href
    except cards.CardError:
        return card.href


def _without_block(text: str) -> str | None:
    """The card with its NOTE's blocks taken out; None when it has none (any more)."""
    note = notepatch.read_note(text)
    if not notes.has_block(note):
        return None
    return notepatch.patch_note(text, notes.without_blocks(note))


def _take_out(conn: Any, note: NoteBlock, done: Removed) -> None:
    try:
        written = writeback.rewrite_card(
            conn, note.book, note.href, etag=note.etag, text=note.text, change=_without_block
        )
    except notepatch.PatchError as err:
        done.failed.append(
            f"{note.name} ({note.href}): the note cannot be changed safely: "
            f"{err.reason}; take the block out by hand"
        )
    except (dav.Unreachable, dav.AuthFailed):
        raise
    except dav.DavError as err:
        done.failed.append(f"{note.name} ({note.href}): {err}")
    except writeback.TooManyConflicts:
        done.failed.append(
            f"{note.name} ({note.href}) kept changing on the server; run remove again"
        )
    else:
        if written is not None:
            done.notes += 1
            done.lines.append(f"~ {note.name}: the [netsync] block is out of the note")
