"""Decide which reminders should exist: plan(contacts, existing, today, settings) (SPEC 5).

The plan is a function of the address book, the reminders already in the calendar and the date,
never of local state: a lost state directory or a day offline changes no reminder.

Follow-ups. A contact's due date is its last contact plus its cadence; a contact with no
recorded contact gets a slot inside one cadence period chosen by a hash of its UID, so
never-contacted people are spread evenly and land on the same day whichever day netsync first
saw them. The follow-up's UID carries the due date, so it stays the same object while the due
date stays the same. A follow-up already in the calendar on today or later keeps its day (that is
what makes a daily run move nothing, and what keeps a follow-up the user moved where the user put
it); one whose day passed without contact moves to the first day with room. New and overdue
follow-ups fill days in order of due date, at most ``max_per_day`` a day, within the horizon.

Thank-yous. A ``received:`` line dated within ``thank_within`` of the day, with no ``last:``
on or after it, makes the contact's follow-up a thank-you ("Thank Alice Jansen: flowers"):
due on the earliest such line's date, so it is placed like any overdue follow-up, but
before the plain ones of that step, on the first day with room (it is the follow-up that
cannot wait). Any recorded contact (a ``last:`` on or after it) closes it, as it closes any
follow-up. A contact without follow-ups (``every: never``, an organisation) still gets its
thank-you; a pause holds it like any follow-up.

That is one day's step. The calendar is the planner's memory, so the step is replayed for every
day since the earliest follow-up in it: days without a cycle end in the plan a cycle every day
would have made. The one gap it cannot see is one longer than the horizon after a plan that had
no follow-up at all; it is planned from today.

Occasions. One event per occurrence in the next 365 days (not a recurring series), so the
summary can give the age and the years; 29 February falls on 28 February in common years.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from netsync.core import texts
from netsync.core.model import (
    ANNIVERSARY,
    BIRTHDAY,
    DIGEST,
    FOLLOW_UP,
    OCCASION,
    UID_PREFIX,
    Cadence,
    Contact,
    PlanSettings,
    Received,
    Reminder,
)
from netsync.core.occasions import occurrences

DAY_BEFORE = dt.timedelta(hours=-15)  # 09:00 the day before an all-day event
WEEK_BEFORE = dt.timedelta(days=-6, hours=-15)  # 09:00 a week before
FOLLOW_UP_ALARMS = (DAY_BEFORE,)
OCCASION_ALARMS = (WEEK_BEFORE, DAY_BEFORE)


def contact_key(contact_uid: str) -> str:
    """A short, URL-safe stand-in for a contact UID (which may hold any character)."""
    return hashlib.sha256(contact_uid.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def reminder_uid(kind: str, contact_uid: str, day: dt.date, label: str = "") -> str:
    """Deterministic UID: the same contact, kind and date always give the same object."""
    uid = _uid(kind, contact_key(contact_uid), day)
    if label:
        uid += "-" + hashlib.sha256(label.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    return uid


def _uid(kind: str, key: str, day: dt.date) -> str:
    # isoformat without its dashes is %Y%m%d, at a quarter of strftime's cost (10,000 a plan)
    return f"{UID_PREFIX}{kind}-{key}-{day.isoformat().replace('-', '')}"


def key_of_uid(uid: str) -> str:
    """The contact key a reminder UID was made from ("" for a digest's)."""
    parts = uid.removeprefix(UID_PREFIX).rsplit("-", 2)
    return parts[1] if len(parts) == 3 and len(parts[1]) == 16 else ""


def due_of_uid(uid: str) -> dt.date | None:
    """The due date a follow-up UID was made from."""
    try:
        return dt.datetime.strptime(uid.rsplit("-", 1)[1], "%Y%m%d").date()
    except (IndexError, ValueError):
        return None


def cadence_for(contact: Contact, settings: PlanSettings) -> Cadence | None:
    """``every:`` in the note, else the first of the contact's categories that has a cadence
    in the settings, else the default. None means no follow-ups."""
    ledger = contact.ledger
    if ledger.never:
        return None
    if ledger.every is not None:
        return ledger.every
    wanted = {name.casefold(): cadence for name, cadence in settings.categories}
    for category in contact.categories:
        if category.casefold() in wanted:
            return wanted[category.casefold()]
    return settings.every


def due_date(
    contact: Contact, settings: PlanSettings, *, today: dt.date, open_due: dt.date | None
) -> dt.date | None:
    """When the contact's next follow-up is due, or None for no follow-ups.

    ``open_due`` is the due date of the contact's follow-up in the calendar, if it has one:
    a never-contacted person keeps it until it is done, or it would hop a whole period ahead
    the day after it was missed.
    """
    person = _Person.of(contact, settings)
    return None if person is None else person.due(today=today, open_due=open_due)


@dataclass(frozen=True)
class _Person:
    """A contact that gets follow-ups (or a thank-you), with what its due date needs worked
    out once."""

    contact: Contact
    key: str
    slot: int  # the day, within one cadence period, a never-contacted person is spread to
    period: int
    fixed: dt.date | None  # last contact + cadence; None when there is no last contact
    pause: dt.date | None
    routine: bool  # follow-ups by cadence; False: thank-yous only
    thanks: tuple[Received, ...]  # received: lines after the last contact, oldest first
    thank_within: Cadence | None

    @classmethod
    def of(cls, contact: Contact, settings: PlanSettings) -> _Person | None:
        cadence = cadence_for(contact, settings)
        ledger = contact.ledger
        if ledger.pause_forever:
            return None
        routine = not contact.is_org and cadence is not None
        thanks: tuple[Received, ...] = ()
        if settings.thank_within is not None:
            last = ledger.last
            after = [r for r in ledger.received if last is None or r.day > last]
            thanks = tuple(sorted(after, key=lambda r: r.day))
        if not routine and not thanks:
            return None
        fixed = cadence.after(ledger.last) if cadence and ledger.last is not None else None
        key, period = contact_key(contact.uid), (cadence or settings.every).approx_days
        return cls(
            contact,
            key,
            int(key, 16) % period,
            period,
            fixed,
            ledger.pause,
            routine,
            thanks,
            settings.thank_within,
        )

    def thanking(self, today: dt.date) -> tuple[Received, ...]:
        """The received: lines a follow-up on ``today`` thanks for (none: a plain one)."""
        within = self.thank_within
        if within is None:
            return ()
        return tuple(r for r in self.thanks if r.day <= today and within.after(r.day) >= today)

    def due(self, *, today: dt.date, open_due: dt.date | None) -> dt.date | None:
        """The next day on or after today in the contact's slot, unless a last contact or
        the open follow-up says when; the date of the thanks a thank-you is for; None for a
        contact with nothing to follow up."""
        thanking = self.thanking(today)
        if thanking:
            due = thanking[0].day
        elif not self.routine:
            return None
        else:
            if open_due is not None and any(r.day == open_due for r in self.thanks):
                open_due = None  # that was a thank-you: it does not fix the slot
            due = (
                self.fixed
                or open_due
                or today + dt.timedelta(days=(self.slot - today.toordinal()) % self.period)
            )
        if self.pause is not None and due < self.pause:
            due = self.pause
        return due


@dataclass(frozen=True)
class _Placed:
    """A follow-up in a plan: whose, due when, on which day, the day netsync chose and the
    date of the cycle that chose it."""

    person: _Person | None  # None for a follow-up in the calendar that no contact wants
    contact_uid: str
    due: dt.date | None
    day: dt.date
    planned: dt.date | None
    placed: dt.date | None

    def kept_on(self, today: dt.date) -> bool:
        """Whether one day's step on ``today`` leaves it where it is: on today or later, and
        not placed by a cycle of today (or of a later ``--today``). Those a cycle of today
        placed are placed again, with all the others, so a cycle that failed halfway leaves
        nothing behind that decides where the rest go. A follow-up the user moved stays."""
        if self.day < today:
            return False
        moved = self.planned is not None and self.day != self.planned
        return moved or self.placed is None or self.placed < today


# A gap longer than this between cycles is replayed as if the cycles had stopped this long ago.
CATCH_UP_DAYS = 62


def plan_follow_ups(
    contacts: Iterable[Contact],
    existing: Sequence[Reminder],
    *,
    today: dt.date,
    settings: PlanSettings,
) -> list[Reminder]:
    """The follow-ups on ``today``, as if a cycle had run on every day since the plan in the
    calendar was made.

    One day's step keeps a placed follow-up on its day, then places the missed and the newly
    due ones, most overdue first, on the first days with room. The calendar is the planner's
    only memory: the step is replayed for every day since the plan in it was made (from the
    day after the latest ``placed``, and from its earliest follow-up at the latest: every
    follow-up a plan writes lies on or after the day it was made, and before that day only
    new ones came in, which one step places the same way). A step re-places what a cycle of
    the same day placed, so a cycle that wrote half of its plan leaves no trace once another
    cycle of that day got through. So a day or a week without a cycle, or a failed cycle and
    its retry, end in the plan a clean cycle every day would have made. Not seen: a day whose
    last cycle wrote half of its plan (tests/faults/test_known_gaps.py).
    """
    people = [p for c in contacts if (p := _Person.of(c, settings)) is not None]
    plan = {
        r.uid: _Placed(None, r.contact_uid, due_of_uid(r.uid), r.day, r.planned, r.placed)
        for r in existing
        if r.kind == FOLLOW_UP
    }
    start = min((p.day for p in plan.values()), default=today)
    made = max((p.placed for p in plan.values() if p.placed is not None), default=None)
    if made is not None and made >= start:
        start = made + dt.timedelta(days=1)
    day = min(today, max(start, today - dt.timedelta(days=CATCH_UP_DAYS)))
    while day <= today:
        plan = _step(people, plan, today=day, settings=settings)
        day += dt.timedelta(days=1)
    return [
        _follow_up(p.person, uid, p, settings, today=today)
        for uid, p in plan.items()
        if p.person is not None
    ]


def _step(
    people: Sequence[_Person],
    plan: dict[str, _Placed],
    *,
    today: dt.date,
    settings: PlanSettings,
) -> dict[str, _Placed]:
    """One day of planning: from the plan in the calendar to the plan for ``today``."""
    # By contact key, which the UID carries even when a server dropped X-NETSYNC-CONTACT.
    open_due: dict[str, dt.date] = {}
    for uid, placed in plan.items():  # the earliest, should the calendar hold two
        key = key_of_uid(uid) or contact_key(placed.contact_uid)
        if placed.due is not None and placed.due < open_due.get(key, dt.date.max):
            open_due[key] = placed.due
    horizon = today + dt.timedelta(days=settings.horizon_days)
    per_day: Counter[dt.date] = Counter()
    out: dict[str, _Placed] = {}
    to_place: list[tuple[bool, dt.date, str, str, _Person]] = []
    for person in people:
        uid_ = person.contact.uid
        due = person.due(today=today, open_due=open_due.get(person.key))
        if due is None:
            continue
        uid = _uid(FOLLOW_UP, person.key, due)
        current = plan.get(uid)
        if current is not None and current.kept_on(today):
            per_day[current.day] += 1
            out[uid] = _Placed(person, uid_, due, current.day, current.planned, current.placed)
        elif due <= horizon or current is not None:
            to_place.append((not person.thanking(today), due, uid_, uid, person))
    # Thank-yous first, then the most overdue; the UID breaks ties so the order never depends
    # on input order.
    to_place.sort(key=lambda item: item[:3])
    for _, due, uid_, uid, person in to_place:
        day = max(due, today)
        while per_day[day] >= settings.max_per_day:
            day += dt.timedelta(days=1)
        if day > horizon:
            continue
        per_day[day] += 1
        out[uid] = _Placed(person, uid_, due, day, day, today)
    return out


def _follow_up(
    person: _Person, uid: str, placed: _Placed, settings: PlanSettings, *, today: dt.date
) -> Reminder:
    contact, language = person.contact, settings.language
    hint = "done_todo" if settings.as_todo else "done_event"
    thanking = person.thanking(today)
    if thanking:
        summary = texts.thank_summary(contact, thanking, language=language)
    else:
        summary = texts.follow_up_summary(contact, language=language)
    return Reminder(
        uid=uid,
        kind=FOLLOW_UP,
        contact_uid=contact.uid,
        day=placed.day,
        summary=summary,
        description=texts.description(contact, language=language, gifts=False, done_hint=hint),
        alarms=FOLLOW_UP_ALARMS,
        todo=settings.as_todo,
        planned=placed.planned,
        placed=placed.placed,
    )


def _occasion_days(
    contact: Contact, *, today: dt.date, days: int, language: str
) -> Iterator[tuple[str, dt.date, str, str]]:
    """(kind, day, summary, label) of every occasion of one contact in [today, today+days)."""
    for fact in contact.dates:
        for day in occurrences(fact.date.month, fact.date.day, start=today, days=days):
            years = texts.years_between(fact.date.year, day)
            if fact.kind == BIRTHDAY:
                summary = texts.birthday_summary(contact, age=years, language=language)
            elif fact.kind == ANNIVERSARY:
                summary = texts.anniversary_summary(contact, years=years, language=language)
            else:
                summary = texts.occasion_summary(
                    contact, label=fact.label, years=years, language=language
                )
            yield fact.kind, day, summary, fact.label
    end = today + dt.timedelta(days=days)
    for occasion in contact.ledger.occasions:
        date = occasion.date
        if date.year is None:
            found = occurrences(date.month, date.day, start=today, days=days)
        else:
            try:
                one_off = dt.date(date.year, date.month, date.day)
            except ValueError:
                continue
            found = [one_off] if today <= one_off < end else []
        summary = texts.occasion_summary(
            contact, label=occasion.text, years=None, language=language
        )
        for day in found:
            yield OCCASION, day, summary, occasion.text


def plan_occasions(
    contacts: Iterable[Contact], *, today: dt.date, settings: PlanSettings
) -> list[Reminder]:
    out: dict[str, Reminder] = {}
    for contact in contacts:
        describe = ""
        for kind, day, summary, label in _occasion_days(
            contact,
            today=today,
            days=settings.occasion_horizon_days,
            language=settings.language,
        ):
            describe = describe or texts.description(
                contact, language=settings.language, gifts=True
            )
            uid = reminder_uid(kind, contact.uid, day, label if kind == OCCASION else "")
            out.setdefault(
                uid, Reminder(uid, kind, contact.uid, day, summary, describe, OCCASION_ALARMS)
            )
    return list(out.values())


def plan_digests(
    wanted: Sequence[Reminder],
    contacts: Sequence[Contact],
    *,
    today: dt.date,
    settings: PlanSettings,
) -> list[Reminder]:
    """The week at a glance: one all-day event on the Monday of this week and of next week,
    listing that week's follow-ups and occasions, with an alarm on the Sunday before. It is
    rewritten as the week changes (a follow-up done, a birthday passed)."""
    names = {c.uid: c.name for c in contacts}
    by_uid = {c.uid: c for c in contacts}
    monday = today - dt.timedelta(days=today.weekday())
    out = []
    for start in (monday, monday + dt.timedelta(days=7)):
        week = sorted(
            (r for r in wanted if start <= r.day < start + dt.timedelta(days=7)),
            key=lambda r: (r.day, r.kind, r.summary),
        )
        if not week:
            continue
        calls = [names.get(r.contact_uid, "") for r in week if r.kind == FOLLOW_UP]
        occasions = [
            (r.kind, names.get(r.contact_uid, ""), _label(r), r.day)
            for r in week
            if r.kind != FOLLOW_UP
        ]
        language = settings.language
        summary = texts.digest_summary(calls, occasions, language=language)
        description = "\n".join(
            f"{texts.weekday(r.day, language=language)} {r.day.isoformat()}: {r.summary}"
            + _received_tail(r, by_uid.get(r.contact_uid), today=today, settings=settings)
            for r in week
        )
        out.append(
            Reminder(
                f"{UID_PREFIX}{DIGEST}-{start:%Y%m%d}",
                DIGEST,
                "",
                start,
                summary,
                description,
                FOLLOW_UP_ALARMS,
            )
        )
    return out


def _received_tail(
    reminder: Reminder, contact: Contact | None, *, today: dt.date, settings: PlanSettings
) -> str:
    """What a digest line adds about what the person gave lately ("", and nothing for a
    thank-you, whose summary says it already)."""
    if contact is None or not contact.ledger.received:
        return ""
    if reminder.kind == FOLLOW_UP:
        person = _Person.of(contact, settings)
        if person is not None and person.thanking(today):
            return ""
    return " (" + texts.received_line(contact, language=settings.language, brief=True) + ")"


def _label(reminder: Reminder) -> str:
    """The occasion's own words: what follows "Name: " in its summary."""
    if reminder.kind != OCCASION:
        return ""
    return reminder.summary.split(": ", 1)[-1]


def _placed_by(contact: Contact, settings: PlanSettings) -> tuple[object, ...] | None:
    """What a contact's follow-up is placed by; None for a contact without follow-ups."""
    person = _Person.of(contact, settings)
    if person is None:
        return None
    return (contact.uid, person.period, person.fixed, person.pause, person.routine, person.thanks)


def replan_edited(
    edits: Sequence[tuple[Contact, Contact]],
    follow_ups: Mapping[str, Reminder],
    *,
    today: dt.date,
    settings: PlanSettings,
) -> tuple[list[Reminder], list[Reminder]] | None:
    """What ``plan`` wants for a few edited contacts, before and after their edits
    (``(old, new)`` pairs), when the edits cannot change any other reminder: each keeps the
    UID and all a follow-up is placed by (cadence, last contact, pause), so every follow-up
    stays where the plan of today in the calendar has it (``follow_ups``: contact UID -> its
    open follow-up), and only the edited contacts' texts and occasions change.

    For a plan P made today from contacts C, and C' = C with the edits: plan(C', P) is P with
    the first list replaced by the second. None when an edit moves a follow-up, or changes
    what the digests say (a reminder of theirs in the digests' two weeks that changes day,
    kind, summary or name)."""
    before: list[Reminder] = []
    after: list[Reminder] = []
    monday = today - dt.timedelta(days=today.weekday())
    for old, new in edits:
        placed_by = _placed_by(old, settings)
        if old.uid != new.uid or placed_by != _placed_by(new, settings):
            return None
        follow_up = follow_ups.get(old.uid) if placed_by else None
        was, now = (_own(c, follow_up, today=today, settings=settings) for c in (old, new))
        if settings.digest and _in_digests(was, old, monday, settings) != _in_digests(
            now, new, monday, settings
        ):
            return None
        before += was
        after += now
    return before, after


def _own(
    contact: Contact, follow_up: Reminder | None, *, today: dt.date, settings: PlanSettings
) -> list[Reminder]:
    """One contact's reminders in a plan that has its follow-up (if any) as ``follow_up``."""
    out = []
    person = _Person.of(contact, settings)
    if follow_up is not None and person is not None:
        day, planned, made = follow_up.day, follow_up.planned, follow_up.placed
        placed = _Placed(None, contact.uid, None, day, planned, made)
        out.append(_follow_up(person, follow_up.uid, placed, settings, today=today))
    return out + plan_occasions([contact], today=today, settings=settings)


def _in_digests(
    reminders: Sequence[Reminder], contact: Contact, monday: dt.date, settings: PlanSettings
) -> list[tuple[dt.date, str, str, str, str]]:
    """What the digests of the weeks from ``monday`` take from one contact's reminders."""
    end = monday + dt.timedelta(days=14)
    gave = texts.received_line(contact, language=settings.language, brief=True)
    return sorted(
        (r.day, r.kind, r.summary, contact.name, gave) for r in reminders if monday <= r.day < end
    )


def plan(
    contacts: Sequence[Contact],
    existing: Sequence[Reminder],
    *,
    today: dt.date,
    settings: PlanSettings,
) -> list[Reminder]:
    """Every reminder that should exist in the calendar on ``today``."""
    follow_ups = plan_follow_ups(contacts, existing, today=today, settings=settings)
    wanted = follow_ups + plan_occasions(contacts, today=today, settings=settings)
    if settings.digest:
        wanted += plan_digests(wanted, contacts, today=today, settings=settings)
    return wanted
