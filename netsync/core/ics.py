"""Reminders as iCalendar objects (RFC 5545): render one, and read one back.

Owns the shape of what netsync writes into the reminders calendar (SPEC section 4) and how a
stored object, possibly changed by a server or a phone, is read back into a ``Reminder``.
Pure: standard library, icalendar and ``netsync.core.model``; the time stamp is an argument.

Shape (what phones show and keep, from the interop research in ../shared/notes/interop.md):

- An event is all-day: ``DTSTART;VALUE=DATE`` = the day, ``DTEND;VALUE=DATE`` = the next day
  (iCloud refuses an event without DTEND), ``TRANSP:TRANSPARENT`` (a reminder is not "busy").
- A task has ``DTSTART;VALUE=DATE`` *and* ``DUE;VALUE=DATE`` both on the day, plus
  ``STATUS:NEEDS-ACTION``. iOS Reminders, Tasks.org, OpenTasks and jtx show a date-only DUE as
  "due on that date", so DUE is the day itself, not the day after. DTSTART is there because a
  START-related alarm needs it (RFC 5545 section 3.8.6.3); Tasks.org reads it as "start on",
  so the task shows up on its day. DUE equal to DTSTART passes Sabre/Nextcloud's validator,
  which rejects only DUE < DTSTART (RFC 5545 section 3.8.2.3 says "later"; Sabre reads it
  as "not earlier").
- A reminder written too late for its all-day alarms (rings.py) is timed instead:
  ``DTSTART`` a floating local date-time (no TZID, no Z: like an all-day date it means the
  wall clock wherever the phone is), ``DTEND`` (``DUE`` for a task) 30 minutes later (a
  task: ``DUE`` equal to ``DTSTART``, as for the all-day task).
- One ``VALARM`` per alarm: ``ACTION:DISPLAY`` with a DESCRIPTION (Android never fires an
  alarm DAVx5 maps from another action) and a relative TRIGGER before the start (an all-day
  reminder) or at or before it (a timed one: ``TRIGGER:PT0S``, which DAVx5 keeps as 0
  minutes before the start). Absolute or positive triggers are never written and are
  ignored when read (a phone's own, not ours).
- ``X-NETSYNC-CONTACT`` holds the contact's UID percent-encoded (RFC 3986 style, UTF-8), so
  the value is a plain token whatever the UID contains (``;`` ``,`` ``\\`` newlines...):
  icalendar 7.3 writes and reads X- values verbatim, and no server has anything to re-escape.
  A reminder of no one contact (the weekly digest) has no such property: libical (GNOME
  Calendar, Evolution) reports an empty X- property as a parse error. Read back, a missing
  one and an empty one both mean no contact.

A task counts as done when any of the three signals phones send is present: ``STATUS:COMPLETED``
(2Do, DAVx5), a ``COMPLETED`` time (some Android syncs send only this) or
``PERCENT-COMPLETE`` >= 100 (iOS 5, Tasks.org). The day it was done is the date of
``COMPLETED`` in ``zone`` (UTC when none is given; a floating or date value is taken as it is);
without COMPLETED, the later of ``LAST-MODIFIED`` and ``DTSTAMP`` (the phone's write), and
failing both, the reminder's own day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import unicodedata
from urllib.parse import quote, unquote

from icalendar import Alarm, Calendar, Event, Todo, vDuration, vText
from icalendar.cal.component import Component

from netsync.core.model import KINDS, UID_PREFIX, Reminder

log = logging.getLogger(__name__)

# icalendar reads a VEVENT leniently (a value it cannot parse becomes a vBroken) but raises on
# one broken value in a VTODO or a VALARM, so a phone that wrote one bad line (a COMPLETED or
# a TRIGGER in a form of its own) made the whole of netsync's reminder unreadable: netsync no
# longer saw its own task, its create met 412 every cycle and the phone's tick was lost. Read
# them as leniently as events; every value netsync uses is checked for its type where it is
# read, and a broken one counts as absent.
Todo.ignore_exceptions = True
Alarm.ignore_exceptions = True

PRODID = "-//netsync//netsync//EN"
TIMED_LENGTH = dt.timedelta(minutes=30)  # of a timed reminder event
OWN_UID = re.compile(r"netsync-[A-Za-z0-9-]+\Z")  # what netsync generates; also safe in an href
_CONTACT_SAFE = "-._~:@/+=!$&'()*?#[]"  # unescaped in X-NETSYNC-CONTACT besides A-Za-z0-9
_NEWLINES = re.compile(r"\r\n|[\r\n\u2028\u2029]")
_DROPPED = "\ufeff"  # icalendar decodes values as utf-8-sig, so a leading BOM vanishes


def clean_text(text: str) -> str:
    """Text as it survives a trip through a server: one kind of newline, no control characters.

    TEXT values carry only ``\\n`` (RFC 5545 section 3.3.11), so CRLF and a lone CR come back as
    LF; other control characters are not allowed in a content line at all (section 3.1) and
    Radicale drops them; U+2028/U+2029 are line breaks to Python's splitlines; a byte order
    mark does not survive icalendar's decoding. Bytes of a card that were not UTF-8 (held as
    lone surrogates) cannot be written at all and become U+FFFD.
    """
    text = _NEWLINES.sub("\n", text)
    return "".join(
        "\ufffd" if "\ud800" <= c <= "\udfff" else c
        for c in text
        if c in "\n\t" or (unicodedata.category(c) != "Cc" and c not in _DROPPED)
    )


class _Text(vText):
    """A TEXT value escaped as RFC 5545 section 3.3.11 says. icalendar 7.3's own escaping
    first turns a literal backslash-N of the text into a line break (a contact named
    ``\\N`` would read back as a newline); this escapes the backslash like any other."""

    def to_ical(self) -> bytes:
        text = str(self).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
        return text.replace("\n", "\\n").encode("utf-8")


class _AtStart(vDuration):
    """A zero trigger as ``PT0S``, how Apple Calendar writes "at time of event" (icalendar
    7.3 writes ``P0D``, also valid, but seen from no calendar app)."""

    def __init__(self) -> None:
        super().__init__(dt.timedelta(0))

    def to_ical(self) -> bytes:
        return b"PT0S"


def canonical(reminder: Reminder) -> Reminder:
    """The reminder as it reads back after any server round trip (see ``clean_text``)."""
    return dataclasses.replace(
        reminder,
        summary=clean_text(reminder.summary),
        description=clean_text(reminder.description),
    )


def same_content(a: Reminder, b: Reminder) -> bool:
    """Whether two reminders say the same thing (alarm order does not matter: DAVx5 regenerates
    every VALARM from Android's list when a phone edits an event).

    Bookkeeping that only X- properties carry (the contact, the planned and placed days) is
    compared only when ``a``, the stored one, has it: a server that keeps no X- properties
    (Google keeps an event in its own model) would drop it again from every rewrite, so
    rewriting for it would write every reminder on every cycle that reads them afresh."""
    if a == b:
        return True  # the usual case, and at 10,000 reminders worth not canonicalising
    if not a.contact_uid and a.planned is None and a.placed is None:
        b = dataclasses.replace(b, contact_uid="", planned=None, placed=None)
    a, b = canonical(a), canonical(b)
    return dataclasses.replace(a, alarms=tuple(sorted(a.alarms))) == dataclasses.replace(
        b, alarms=tuple(sorted(b.alarms))
    )


def render(reminder: Reminder, *, stamp: dt.datetime) -> bytes:
    """One VCALENDAR with one VEVENT (or VTODO) for the reminder, CRLF-terminated.

    Raises ValueError for a UID netsync would not generate or an alarm that is not before the
    start of the day: both are bugs in the caller, and neither may reach a server.
    """
    if not OWN_UID.match(reminder.uid):
        raise ValueError(f"not a netsync UID: {reminder.uid!r}")
    timed = reminder.at is not None
    if any(offset > dt.timedelta(0) or not timed and not offset for offset in reminder.alarms):
        raise ValueError(f"alarms must be before the start: {reminder.alarms!r}")
    stamp = stamp.replace(tzinfo=dt.UTC) if stamp.tzinfo is None else stamp.astimezone(dt.UTC)
    summary = clean_text(reminder.summary)
    item: Component = Todo() if reminder.todo else Event()
    item.add("uid", reminder.uid)
    item.add("dtstamp", stamp)
    start: dt.date | dt.datetime = reminder.day
    if reminder.at is not None:
        start = dt.datetime.combine(reminder.day, reminder.at.replace(tzinfo=None))
    item.add("dtstart", start)  # a naive date-time is written floating
    if reminder.todo:
        item.add("due", start)
        item.add("status", "NEEDS-ACTION")
    else:
        item.add("dtend", start + (TIMED_LENGTH if timed else dt.timedelta(days=1)))
        item.add("transp", "TRANSPARENT")
    item.add("summary", _Text(summary))
    if reminder.description:
        item.add("description", _Text(clean_text(reminder.description)))
    item.add("categories", [reminder.kind])
    item.add("x-netsync-kind", reminder.kind)
    # surrogateescape: a UID holding bytes that are not UTF-8 still reads back as the same UID.
    if reminder.contact_uid:  # never an empty property (libical: a parse error)
        contact = quote(reminder.contact_uid, safe=_CONTACT_SAFE, errors="surrogateescape")
        item.add("x-netsync-contact", contact)
    if reminder.planned is not None:
        item.add("x-netsync-planned", reminder.planned.strftime("%Y%m%d"))
    if reminder.placed is not None:
        item.add("x-netsync-placed", reminder.placed.strftime("%Y%m%d"))
    for offset in reminder.alarms:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", _Text(summary or "Reminder"))
        alarm.add("trigger", offset if offset else _AtStart())
        item.add_component(alarm)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add_component(item)
    return bytes(cal.to_ical())


def parse(
    data: bytes | str, *, zone: dt.tzinfo | None = None
) -> tuple[Reminder, dt.date | None] | None:
    """The netsync reminder in a calendar object and the day its task was done (None if not).

    None when the object is not netsync's (no VEVENT/VTODO with a ``netsync-`` UID) or cannot
    be read at all; this never raises, whatever the server hands over.
    """
    try:
        text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
        cal = Calendar.from_ical(text)
        item = _own_component(cal)
        if item is None:
            return None
        reminder = _reminder(item)
        if reminder is None:
            return None
        done = _completed(item, reminder.day, zone) if reminder.todo else None
        return reminder, done
    except Exception as err:  # foreign data may be broken in any way; it is never ours to fix
        log.debug("not a readable calendar object: %s: %s", type(err).__name__, err)
        return None


def _own_component(cal: Component) -> Component | None:
    """The master VEVENT/VTODO with a netsync UID (an override with RECURRENCE-ID is not)."""
    for item in cal.walk():
        if item.name not in ("VEVENT", "VTODO") or "RECURRENCE-ID" in item:
            continue
        if _text(item, "UID").startswith(UID_PREFIX):
            return item
    return None


def _reminder(item: Component) -> Reminder | None:
    uid = _text(item, "UID")
    todo = item.name == "VTODO"
    start = _date(item, "DTSTART")
    day = start or (_date(item, "DUE") if todo else None) or _day_of(item, "X-NETSYNC-PLANNED")
    if day is None:
        log.debug("%s has no date", uid)
        return None
    at = _time(item, "DTSTART") if start is not None else None
    return Reminder(
        uid=uid,
        kind=_kind(item) or kind_of_uid(uid),
        contact_uid=unquote(_text(item, "X-NETSYNC-CONTACT").strip(), errors="surrogateescape"),
        day=day,
        summary=clean_text(_text(item, "SUMMARY")),
        description=clean_text(_text(item, "DESCRIPTION")),
        alarms=_alarms(item, timed=at is not None),
        todo=todo,
        planned=_day_of(item, "X-NETSYNC-PLANNED"),
        placed=_day_of(item, "X-NETSYNC-PLACED"),
        at=at,
    )


def _text(item: Component, name: str) -> str:
    """A property's value as text; the first one when a client wrote it twice."""
    value = item.get(name, "")
    return str(value[0] if isinstance(value, list) and value else value)


def _date(item: Component, name: str) -> dt.date | None:
    """The date of a DATE or DATE-TIME property (a timed value: its date where it is)."""
    if name not in item:
        return None
    value = item.decoded(name)
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


def _time(item: Component, name: str) -> dt.time | None:
    """The wall-clock time of a DATE-TIME property where it is (a phone that re-uploads a
    floating time may give it its own zone); None for a DATE."""
    value = item.decoded(name)
    return value.time() if isinstance(value, dt.datetime) else None


def _day_of(item: Component, name: str) -> dt.date | None:
    """One of netsync's own YYYYMMDD properties."""
    try:
        return dt.datetime.strptime(_text(item, name).strip(), "%Y%m%d").date()
    except ValueError:
        return None


def kind_of_uid(uid: str) -> str:
    """The kind a netsync UID was made for (``netsync-follow-up-...``): what is left when a
    server keeps neither X- properties nor CATEGORIES (Google keeps only its own fields)."""
    rest = uid.removeprefix(UID_PREFIX)
    return next(
        (kind for kind in sorted(KINDS, key=len, reverse=True) if rest.startswith(kind + "-")), ""
    )


def _kind(item: Component) -> str:
    """X-NETSYNC-KIND, else the first of CATEGORIES that is a kind (a client may drop X-)."""
    kind = _text(item, "X-NETSYNC-KIND").strip()
    if kind:
        return kind
    values = item.get("CATEGORIES", [])
    for prop in values if isinstance(values, list) else [values]:
        for category in getattr(prop, "cats", []):
            if str(category) in KINDS:
                return str(category)
    return ""


def _alarms(item: Component, *, timed: bool) -> tuple[dt.timedelta, ...]:
    """Triggers before the start (also at the start, for a timed item), as offsets from it.

    A trigger RELATED=END (RFC 5545 section 3.8.6.3) is moved to the start by the length of the
    item; absolute triggers, and later ones, are a client's own and are skipped.
    """
    length = _length(item)
    out = []
    for alarm in item.subcomponents:
        if alarm.name != "VALARM" or "TRIGGER" not in alarm:
            continue
        offset = alarm.decoded("TRIGGER")
        if not isinstance(offset, dt.timedelta):
            continue
        if str(alarm["TRIGGER"].params.get("RELATED", "START")).upper() == "END":
            if length is None:
                continue
            offset += length
        if offset < dt.timedelta(0) or timed and not offset:
            out.append(offset)
    return tuple(out)


def _length(item: Component) -> dt.timedelta | None:
    start = _moment(item, "DTSTART")
    end = _moment(item, "DUE" if item.name == "VTODO" else "DTEND")
    if start is not None and end is not None:
        return end - start
    if "DURATION" in item:
        duration = item.decoded("DURATION")
        return duration if isinstance(duration, dt.timedelta) else None
    # RFC 5545 section 3.6.1: an all-day event without DTEND or DURATION lasts one day
    if item.name == "VEVENT" and start is not None and _time(item, "DTSTART") is None:
        return dt.timedelta(days=1)
    return None


def _moment(item: Component, name: str) -> dt.datetime | None:
    """A DATE or DATE-TIME property as a wall-clock date-time (a date: its midnight)."""
    if name not in item:
        return None
    value = item.decoded(name)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return dt.datetime.combine(value, dt.time()) if isinstance(value, dt.date) else None


def _completed(item: Component, day: dt.date, zone: dt.tzinfo | None) -> dt.date | None:
    status = _text(item, "STATUS").strip().upper()
    try:
        percent = int(_text(item, "PERCENT-COMPLETE").strip() or 0)
    except ValueError:
        percent = 0
    if status != "COMPLETED" and "COMPLETED" not in item and percent < 100:
        return None
    when = _local_date(item, "COMPLETED", zone)
    if when is not None:
        return when
    stamps = [d for d in (_local_date(item, n, zone) for n in ("LAST-MODIFIED", "DTSTAMP")) if d]
    return max(stamps) if stamps else day


def _local_date(item: Component, name: str, zone: dt.tzinfo | None) -> dt.date | None:
    try:
        value = item.decoded(name) if name in item else None
    except Exception:  # a broken COMPLETED (vBroken) is no worse than none
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(zone or dt.UTC)
        return value.date()
    return value if isinstance(value, dt.date) else None


def own_uid(data: bytes | str) -> str | None:
    """The netsync UID of a calendar object (of its master VEVENT/VTODO), or None when the
    object is not netsync's or cannot be read at all: whether netsync made it, also when it
    no longer reads as a reminder (`netsync remove`). Never raises."""
    try:
        text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
        item = _own_component(Calendar.from_ical(text))
    except Exception as err:  # foreign data may be broken in any way
        log.debug("not a readable calendar object: %s: %s", type(err).__name__, err)
        return None
    return None if item is None else _text(item, "UID")
