"""The reminders calendar in the cache: what each object says, not its iCalendar text.

Reading iCalendar costs about 3 ms an object, which at 10,000 reminders is most of a cycle, so
an object is parsed once, when a sync brings it (``to_cache``), and the cache holds netsync's
reminder as JSON (``null`` for anyone else's object). This module reads that back: every
reminder (``stored``), those of a few contacts (``of_contacts``), and what a sync saw go
(``gone``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping

from netsync.app.state import State
from netsync.core import ics
from netsync.core.model import Reminder, StoredReminder


class DamagedCache(Exception):
    """A cached entry that does not read back: drop it and read the object again."""


def to_cache(data: bytes) -> bytes:
    """What the cache keeps of a calendar object the sync brought: parsed once, here."""
    parsed = ics.parse(data)
    return b"null" if parsed is None else reminder_to_cache(*parsed)


def reminder_to_cache(reminder: Reminder, completed: dt.date | None) -> bytes:
    r = reminder
    return json.dumps(
        {
            "uid": r.uid,
            "kind": r.kind,
            "contact": r.contact_uid,
            "day": r.day.isoformat(),
            "summary": r.summary,
            "description": r.description,
            "alarms": [a.total_seconds() for a in r.alarms],
            "todo": r.todo,
            "planned": r.planned.isoformat() if r.planned else None,
            "placed": r.placed.isoformat() if r.placed else None,
            "at": r.at.isoformat() if r.at is not None else None,
            "completed": completed.isoformat() if completed else None,
        }
    ).encode()


def from_cache(data: bytes) -> tuple[Reminder, dt.date | None] | None:
    """What a cached calendar object says: netsync's own reminder (and when it was ticked
    off), or None for anyone else's object. DamagedCache when it does not read back."""
    try:
        d = json.loads(data)
    except ValueError:
        return ics.parse(data)  # a cache written before this form
    if d is None:
        return None
    if not isinstance(d, dict):
        raise DamagedCache
    day = dt.date.fromisoformat
    try:
        reminder = Reminder(
            d["uid"],
            d["kind"],
            d["contact"],
            day(d["day"]),
            d["summary"],
            d["description"],
            tuple(dt.timedelta(seconds=a) for a in d["alarms"]),
            d["todo"],
            day(d["planned"]) if d["planned"] else None,
            day(d["placed"]) if d.get("placed") else None,  # absent in caches before it
            dt.time.fromisoformat(d["at"]) if d.get("at") else None,  # the same
        )
        return reminder, day(d["completed"]) if d["completed"] else None
    except (KeyError, TypeError, ValueError):
        raise DamagedCache from None


def stored(state: State, url: str) -> list[StoredReminder]:
    """netsync's own objects in the cached calendar at ``url``. A damaged entry is dropped
    and the calendar's token forgotten, so the next cycle lists it and reads it again."""
    out = []
    for href, (etag, data) in sorted(state.items(url).items()):
        try:
            parsed = from_cache(data)
        except DamagedCache:
            state.drop_item(url, href)
            state.forget_token(url)
            continue
        if parsed is not None:
            out.append(StoredReminder(href, etag, *parsed))
    return out


def of_contacts(state: State, url: str, uids: Iterable[str]) -> list[StoredReminder] | None:
    """The cached reminders of the contacts with these UIDs (their history too), or None
    when the cache holds a form this cannot search."""
    uids = set(uids)
    if not uids:
        return []
    marks = [b'"contact": ' + json.dumps(uid).encode() for uid in uids]
    out = []
    for href, (etag, data) in sorted(state.items(url).items()):
        if data == b"null":
            continue  # someone else's object
        if not data.startswith(b"{"):
            return None  # an older cache form
        if not any(mark in data for mark in marks):
            continue
        try:
            parsed = from_cache(data)
        except DamagedCache:
            return None
        if parsed is not None and parsed[0].contact_uid in uids:
            out.append(StoredReminder(href, etag, *parsed))
    return out


def gone(lost: Mapping[str, bytes]) -> list[Reminder]:
    """The reminders among cached objects that disappeared (``href -> cached data``); what a
    damaged entry was cannot be known any more, so nothing is learnt from it."""
    out = []
    for data in lost.values():
        try:
            parsed = from_cache(data)
        except DamagedCache:
            continue
        if parsed is not None:
            out.append(parsed[0])
    return out
