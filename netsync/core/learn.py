"""Closing the loop: from what happened in the calendars, when did contact happen (SPEC 6)?

Pure functions from values to Observations ("contact with X on day D, by how"), and from
observations to the new ledgers worth writing. The engine gathers the inputs and writes the
result; nothing here talks to a server or reads the clock.

The sources:
- a follow-up task ticked off on the phone: contact on its completion day;
- a follow-up event the user deleted on or after its day: contact on the day netsync saw it
  gone (today). Only a follow-up that is still the one the plan wants counts, so netsync's
  own deletions (the contact was logged some other way) are never mistaken for the user's,
  even after a crash between the DELETE and the cache update;
- past events in the ``[detect] calendars`` with the contact's e-mail as an attendee or the
  contact's full name in the summary: contact on the event's day;
- mail (``[mail]``): the newest day each address was written to (or, with
  ``count_received``, heard from), as the mail reader keeps it; see core/mail.py;
- ``netsync log``.

Adding a signal: its reader goes into app/read.py (``_signals``) and fills one field of
``Signals``; one pure function here turns it into Observations, called from
``observations``. Recording is pure too (``record``): the shell only sends what it returns.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from netsync.core import cards, mail, notepatch, notes, planner
from netsync.core.model import (
    FOLLOW_UP,
    UID_PREFIX,
    Contact,
    Ledger,
    PlanSettings,
    Reminder,
    StoredReminder,
)

MIN_NAME = 4  # shorter names ("Al", "Jo") would match too many event titles


@dataclass(frozen=True)
class Observation:
    """Contact with a person on ``day``; with ``received`` set, instead something they gave
    or did for the user that day (a ``received:`` line, not a ``last:`` one)."""

    contact_uid: str
    day: dt.date
    how: str  # "" when unknown
    source: str  # for the report: "task", "deleted event", "calendar Work", "log"
    received: str | None = None


@dataclass(frozen=True)
class SeenEvent:
    """What the detector keeps of one event in a detect calendar."""

    day: dt.date
    attendees: tuple[str, ...]  # e-mail addresses, lower-case
    summary: str


@dataclass(frozen=True)
class Signals:
    """What happened besides the calendar's own tasks, one field per kind of signal; each is
    read by one reader in app/read.py and learnt from by one function below."""

    deleted: tuple[Reminder, ...] = ()  # gone from the reminders calendar since the last look
    events: tuple[tuple[str, SeenEvent], ...] = ()  # (calendar name, event) of [detect]
    mail: Mapping[str, dt.date] = field(default_factory=dict)  # [mail]: address -> newest day
    logged: tuple[Observation, ...] = ()  # `netsync log`


def observations(
    signals: Signals,
    contacts: Sequence[Contact],
    calendar: Iterable[StoredReminder],
    *,
    today: dt.date,
    settings: PlanSettings,
) -> list[Observation]:
    """Every sign of contact with ``contacts``: tasks ticked off in the reminders calendar
    (``calendar``: netsync's objects in it) and the signals."""
    by_uid = {c.uid: c for c in contacts}
    found = from_completed_tasks(s for s in calendar if s.reminder.contact_uid in by_uid)
    found += from_deleted_follow_ups(signals.deleted, by_uid, today=today, settings=settings)
    found += from_events(signals.events, contacts, today=today)
    found += from_mail(signals.mail, contacts)
    found += [o for o in signals.logged if o.contact_uid in by_uid]
    return found


def seen_events(data: bytes) -> list[SeenEvent]:
    """The events of one calendar object, as the detector needs them; [] for anything that
    does not parse. netsync's own reminders ("Get in touch with Alice") never count."""
    import icalendar

    try:
        cal = icalendar.Calendar.from_ical(data)
    except Exception:  # a broken object in someone's calendar is not our problem
        return []
    out = []
    for event in cal.walk("VEVENT"):
        if str(event.get("UID", "")).startswith(UID_PREFIX):
            continue
        try:
            start = event.decoded("DTSTART")
        except (KeyError, ValueError):
            continue
        day = start.date() if isinstance(start, dt.datetime) else start
        raw = event.get("ATTENDEE", [])
        attendees = tuple(
            str(a).removeprefix("mailto:").removeprefix("MAILTO:").strip().lower()
            for a in (raw if isinstance(raw, list) else [raw])
        )
        out.append(SeenEvent(day, attendees, str(event.get("SUMMARY", ""))))
    return out


def from_completed_tasks(stored: Iterable[StoredReminder]) -> list[Observation]:
    return [
        Observation(s.reminder.contact_uid, s.completed, "", "task")
        for s in stored
        if s.completed is not None and s.reminder.kind == FOLLOW_UP
    ]


def from_deleted_follow_ups(
    deleted: Iterable[Reminder],
    contacts: Mapping[str, Contact],
    *,
    today: dt.date,
    settings: PlanSettings,
) -> list[Observation]:
    out = []
    by_key: dict[str, Contact] | None = None
    for reminder in deleted:
        if reminder.kind != FOLLOW_UP or reminder.todo or reminder.day > today:
            continue
        contact = contacts.get(reminder.contact_uid)
        if contact is None and not reminder.contact_uid:
            # Read from a server that keeps no X- properties (Google): the UID names the
            # contact by its key.
            if by_key is None:
                by_key = {planner.contact_key(uid): c for uid, c in contacts.items()}
            contact = by_key.get(planner.key_of_uid(reminder.uid))
        if contact is None:
            continue
        due = planner.due_of_uid(reminder.uid)
        wanted = planner.due_date(contact, settings, today=today, open_due=due)
        if wanted is not None and wanted == due:
            out.append(Observation(contact.uid, today, "", "deleted event"))
    return out


def _name_pattern(name: str) -> re.Pattern[str] | None:
    name = " ".join(name.split())
    if len(name) < MIN_NAME:
        return None
    return re.compile(r"(?<!\w)" + re.escape(name).replace(r"\ ", r"\s+") + r"(?!\w)", re.I)


def from_events(
    events: Iterable[tuple[str, SeenEvent]], contacts: Sequence[Contact], *, today: dt.date
) -> list[Observation]:
    """``events`` as (calendar name, event). Only events before today count: an event
    later today has not happened yet."""
    by_email: dict[str, list[Contact]] = {}
    for contact in contacts:
        for email in contact.emails:
            by_email.setdefault(email.strip().lower(), []).append(contact)
    patterns = [(c, p) for c in contacts if not c.is_org and (p := _name_pattern(c.name))]
    out: list[Observation] = []
    for calendar, event in events:
        if event.day >= today:
            continue
        matched = {c.uid for email in event.attendees for c in by_email.get(email, [])}
        matched |= {c.uid for c, p in patterns if p.search(event.summary)}
        out.extend(
            Observation(uid, event.day, "meeting", f"calendar {calendar}")
            for uid in sorted(matched)
        )
    return out


def from_mail(days: Mapping[str, dt.date], contacts: Sequence[Contact]) -> list[Observation]:
    """Contact by mail: for each person, the newest day on which mail went to (or came from)
    any of their addresses. ``days``: address (``mail.normalise``d) -> newest day. An address
    two contacts share counts for both. Organisations are left out: they get no follow-ups,
    so recording mail to ``info@`` would be a write nobody sees."""
    out = []
    for contact in contacts:
        if contact.is_org:
            continue
        found = [day for e in contact.emails if (day := days.get(mail.normalise(e)))]
        if found:
            out.append(Observation(contact.uid, max(found), "mail", "mail"))
    return out


def apply(ledger: Ledger, observations: Iterable[Observation]) -> Ledger:
    """The ledger with the newest observed contact, if it is newer than what it says, and
    every observed ``received`` it does not hold yet."""
    for obs in sorted(observations, key=lambda o: (o.day, o.how, o.received or "")):
        if obs.received is not None:
            ledger = notes.with_received(ledger, obs.day, obs.received)
        else:
            ledger = notes.with_last(ledger, obs.day, obs.how)
    return ledger


def ledgers_to_write(
    contacts: Sequence[Contact], observations: Iterable[Observation]
) -> dict[str, list[Observation]]:
    """Contacts whose NOTE should be written: a newer contact observed, or a block to
    normalise (``last: today``, ``24-11-2026``). Maps contact UID -> its observations, in
    the order of ``contacts``."""
    by_uid: dict[str, list[Observation]] = {}
    for obs in observations:
        by_uid.setdefault(obs.contact_uid, []).append(obs)
    out = {}
    for contact in contacts:
        mine = by_uid.get(contact.uid, [])
        if contact.ledger.needs_rewrite or apply(contact.ledger, mine) != contact.ledger:
            out[contact.uid] = mine
    return out


def recorded(contact: Contact, observations: Iterable[Observation]) -> Contact:
    """The contact as it reads once ``observations`` are recorded in its note (``record``)."""
    ledger = dataclasses.replace(apply(contact.ledger, observations), needs_rewrite=False)
    return dataclasses.replace(contact, ledger=ledger)


class CannotRecord(Exception):
    """The card's note cannot take the observations: it cannot be patched, or the card would
    not read back as the same contact. ``reason`` is for the log (no note text in it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Recorded:
    """A card with observations recorded: its text, the contact it then reads as, and what
    rewriting the block changed besides (notes.rewrite_reasons: a date normalised...)."""

    text: str
    contact: Contact
    tidied: tuple[str, ...] = ()


def record(
    card: str,
    observations: Sequence[Observation],
    *,
    uid: str,
    href: str,
    today: dt.date,
    language: str,
) -> Recorded | None:
    """``card`` (vCard text) with ``observations`` recorded in its block; None when the card
    already says as much (a phone wrote a newer date)."""
    try:
        note = notepatch.read_note(card)
        _, ledger = notes.parse_note(note, today=today)
        new = apply(ledger, observations)
        if new == ledger and not ledger.needs_rewrite:
            return None
        tidied = notes.rewrite_reasons(note, today=today, language=language)
        text = notepatch.patch_note(card, notes.replace_block(note, new, language=language))
    except notepatch.PatchError as err:
        raise CannotRecord(err.reason) from None
    try:  # never write a card that does not read back as the same contact
        after = cards.parse_card(text, href=href, today=today)
    except cards.CardError as err:
        raise CannotRecord(f"the new card would not read back ({err})") from None
    if after.uid != uid:
        raise CannotRecord("the new card would not read back (its UID would change)")
    return Recorded(text, after, tuple(tidied))
