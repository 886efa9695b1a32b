"""One cycle's decision, as a value: ``decide(snapshot, today=, settings=) -> Decision``.

The shell reads what the servers hold into a Snapshot (app/read.py), this module decides what
to write, and the shell writes it (app/apply.py): vdirsyncer's ``sync()`` (prepare, a pure
``_get_actions``, then the actions) in netsync's terms. A Decision is a value to print:
``netsync sync --dry-run`` prints it and writes nothing. Nothing to do is a Decision with
nothing in it.

A Snapshot holds the address book in one of two forms, and the decision is the same either
way (tests/unit/test_cycle.py, and planner.replan_edited's property test):

- ``Whole``: every card and the whole reminders calendar. Learn from every signal
  (learn.observations), decide which notes to write (learn.ledgers_to_write), plan every
  reminder from the contacts as they will read once written (planner.plan), and diff that
  against the calendar (reconcile.diff).
- ``Edited``: the cards edited since the last complete cycle, which left the plan of today in
  the calendar, with those contacts' objects in it. Plan them alone over that plan
  (planner.replan_edited). No card edited is the no-change cycle: planning nothing over a
  plan the calendar holds changes nothing. ``plans_alone`` says whether the edits allow it;
  the reader asks it before it settles for reading the edits only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from netsync.core import learn, planner, reconcile
from netsync.core.model import (
    DIGEST,
    FOLLOW_UP,
    Contact,
    PlanSettings,
    Reminder,
    StoredReminder,
)


@dataclass(frozen=True)
class Tally:
    """Counts over the whole address book and its plan: what a report and the service's
    status line say, also after a cycle that planned only a few contacts or none."""

    cards_read: int = 0
    cards_skipped: int = 0  # unreadable, or carrying a UID an earlier card has
    planned: int = 0  # reminders the plan wants
    due_today: int = 0  # of those, on or before today (digests aside)
    shared_uids: tuple[str, ...] = ()  # UIDs more than one card uses


@dataclass(frozen=True)
class Whole:
    """The whole address book and the whole reminders calendar."""

    contacts: tuple[Contact, ...]  # every readable card, one per UID
    calendar: tuple[StoredReminder, ...]  # netsync's own objects in the reminders calendar
    read: Tally = Tally()  # cards_read, cards_skipped and shared_uids of this reading


@dataclass(frozen=True)
class Edit:
    """A card edited since the last complete cycle: as that cycle read it, and now."""

    old: Contact
    new: Contact


@dataclass(frozen=True)
class Edited:
    """The cards edited since the last complete cycle, over the plan it left in the calendar."""

    edits: tuple[Edit, ...]
    calendar: tuple[StoredReminder, ...]  # the edited contacts' objects in the calendar
    last: Tally  # the last complete cycle's


@dataclass(frozen=True)
class Snapshot:
    """What the servers hold, as far as a decision needs it."""

    book: Whole | Edited
    signals: learn.Signals = learn.Signals()
    homes: Mapping[str, str] = field(default_factory=dict)  # card href -> its address book
    calendar_url: str | None = None  # None: a dry run on an account without the calendar
    mail_read: int = 0  # messages whose header fields this cycle read ([mail])
    mail_error: str = ""  # why the mail could not be read this cycle (the rest went on)
    # The contacts whose card this cycle read in a version no cycle read before: what they
    # hold that netsync cannot use is said once per change of a card (SPEC 2).
    new_cards: tuple[Contact, ...] = ()


@dataclass(frozen=True)
class ContactWrite:
    """Record ``observations`` in one contact's note (none: only tidy its block)."""

    contact: Contact  # as read
    observations: tuple[learn.Observation, ...]
    after: Contact  # as the plan has it once recorded

    def line(self, tidied: Sequence[str] = ()) -> str:
        """The write as the dry run and the report say it; ``tidied``: what rewriting the
        block changes besides (learn.record says, once it has the card)."""
        tidy = bool(tidied) or self.contact.ledger.needs_rewrite
        return f"* {self.contact.name}: {describe(self.observations, tidied, tidy=tidy)}"


@dataclass(frozen=True)
class Decision:
    """What a cycle writes: contacts' notes first, then the calendar."""

    contact_writes: tuple[ContactWrite, ...] = ()
    calendar: reconcile.Changes = reconcile.Changes()
    tally: Tally = Tally()
    # The whole plan and the contacts it was made from, when decided from the whole book
    # (a dry run, `netsync log`, any cycle that cannot build on the last one); None when a
    # few edited contacts (or none) were planned alone over the plan in the calendar.
    plan: tuple[Reminder, ...] | None = None
    contacts: tuple[Contact, ...] | None = None
    edited: int = 0  # contacts planned alone over the last plan

    def __bool__(self) -> bool:
        return bool(self.contact_writes or self.calendar)

    def lines(self) -> list[str]:
        """The decision as `netsync sync --dry-run` prints it, one line per write."""
        changes = self.calendar
        return (
            [write.line() for write in self.contact_writes]
            + [line("+", r) for r in changes.to_create]
            + [line("~", r) for _, r in changes.to_update]
            + [line("-", s.reminder) for s in changes.to_delete]
        )


def line(mark: str, reminder: Reminder) -> str:
    line = f"{mark} {reminder.day.isoformat()}  {reminder.kind:<11} {reminder.summary}"
    return line + (f"  (rings at {reminder.at:%H:%M})" if reminder.at is not None else "")


def describe(
    observations: Sequence[learn.Observation], tidied: Sequence[str] = (), *, tidy: bool = False
) -> str:
    """What a write of one card does, and only that: the contact or the gift recorded, and
    what the rewrite of the block changes (a date normalised, a Dutch key, merged blocks)."""
    parts = []
    contacts = [o for o in observations if not o.received]
    if contacts:
        newest = max(contacts, key=lambda o: o.day)
        how = f" ({newest.how})" if newest.how else ""
        parts.append(f"last contact {newest.day.isoformat()}{how}, from {newest.source}")
    parts += [
        f"received {o.day.isoformat()}: {o.received}, from {o.source}"
        for o in observations
        if o.received
    ]
    if tidied or tidy:
        parts.append("note block tidied" + (" (" + ", ".join(tidied) + ")" if tidied else ""))
    return "; ".join(parts) or "note block rewritten"


def inputs(today: dt.date, settings: PlanSettings) -> str:
    """What, besides the address book and the calendar, a decision depends on, as a key: a
    cycle builds on the last plan only when it was made under the same key."""
    return repr((today.isoformat(), settings))


def decide(
    snapshot: Snapshot, *, today: dt.date, now: dt.datetime, settings: PlanSettings
) -> Decision:
    """What to write, from what the servers hold. ``now``: the local wall-clock time of the
    writes, which decides how a reminder for today still rings (rings.py)."""
    book = snapshot.book
    if isinstance(book, Whole):
        return _decide_whole(book, snapshot.signals, today=today, now=now, settings=settings)
    planned = _replan(book, snapshot.signals, today=today, now=now, settings=settings)
    if planned is None:
        raise ValueError("these edits cannot be planned alone (plans_alone): read the whole book")
    before, after = planned
    last = book.last
    tally = dataclasses.replace(
        last,
        planned=last.planned + len(after) - len(before),
        due_today=last.due_today + due_today(after, today) - due_today(before, today),
    )
    changes = reconcile.diff(after, book.calendar, today=today, now=now)
    return Decision(calendar=changes, tally=tally, edited=len(book.edits))


def plans_alone(
    snapshot: Snapshot, *, today: dt.date, now: dt.datetime, settings: PlanSettings
) -> bool:
    """Whether the snapshot's edits can be planned alone: the decision then equals the one a
    whole reading would give."""
    book = snapshot.book
    return isinstance(book, Whole) or (
        _replan(book, snapshot.signals, today=today, now=now, settings=settings) is not None
    )


def settle(
    snapshot: Snapshot,
    decision: Decision,
    written: Mapping[str, Contact],
    *,
    today: dt.date,
    now: dt.datetime,
    settings: PlanSettings,
) -> Decision:
    """The decision once its notes are written, when a card does not read as decided (a
    write failed, or met a phone's edit): the calendar planned again from the contacts as
    their cards read now (``written``: contact UID -> as read back, for each note written;
    every other contact as read), so it never shows a contact that was not recorded."""
    book = snapshot.book
    if not isinstance(book, Whole):
        return decision  # a decision over the last plan writes no note
    contacts = tuple(written.get(c.uid, c) for c in book.contacts)
    return _plan_whole(
        book, contacts, decision.contact_writes, today=today, now=now, settings=settings
    )


def _decide_whole(
    book: Whole,
    signals: learn.Signals,
    *,
    today: dt.date,
    now: dt.datetime,
    settings: PlanSettings,
) -> Decision:
    observations = learn.observations(
        signals, book.contacts, book.calendar, today=today, settings=settings
    )
    by_uid = {contact.uid: contact for contact in book.contacts}
    writes = tuple(
        ContactWrite(by_uid[uid], tuple(mine), learn.recorded(by_uid[uid], mine))
        for uid, mine in learn.ledgers_to_write(book.contacts, observations).items()
    )
    after = {write.contact.uid: write.after for write in writes}
    contacts = tuple(after.get(c.uid, c) for c in book.contacts)
    return _plan_whole(book, contacts, writes, today=today, now=now, settings=settings)


def _plan_whole(
    book: Whole,
    contacts: tuple[Contact, ...],
    writes: tuple[ContactWrite, ...],
    *,
    today: dt.date,
    now: dt.datetime,
    settings: PlanSettings,
) -> Decision:
    """Every reminder planned from ``contacts`` (the book as it reads once ``writes`` are
    done), and the diff against the calendar."""
    wanted = planner.plan(
        contacts, [s.reminder for s in book.calendar], today=today, settings=settings
    )
    tally = dataclasses.replace(book.read, planned=len(wanted), due_today=due_today(wanted, today))
    return Decision(
        contact_writes=writes,
        calendar=reconcile.diff(wanted, book.calendar, today=today, now=now),
        tally=tally,
        plan=tuple(wanted),
        contacts=contacts,
    )


def _replan(
    book: Edited,
    signals: learn.Signals,
    *,
    today: dt.date,
    now: dt.datetime,
    settings: PlanSettings,
) -> tuple[list[Reminder], list[Reminder]] | None:
    """The edited contacts' reminders in the plan of today before and after their edits, when
    planning them alone equals a full plan; None when it does not:
    - something new to learn from (a deleted follow-up, `netsync log`): that is learnt with
      every contact;
    - an edit of the note block, or something to record for an edited contact: the block is
      what netsync writes, so an edit of it is learnt from with every contact;
    - an edited UID that another card also uses (which of them counts is decided in full);
    - two open follow-ups for one edited contact in the calendar;
    - an edit that moves a follow-up, or changes what the digests say (replan_edited);
    - the calendar does not hold what the contacts read as before would be planned."""
    if signals.deleted or signals.logged:
        return None
    pairs = [(edit.old, edit.new) for edit in book.edits]
    if any(old.ledger != new.ledger or new.ledger.needs_rewrite for old, new in pairs):
        return None
    news = [new for _, new in pairs]
    found = learn.observations(signals, news, book.calendar, today=today, settings=settings)
    if learn.ledgers_to_write(news, found):
        return None
    if {old.uid for old, _ in pairs} & set(book.last.shared_uids):
        return None
    open_follow_ups = [
        s.reminder for s in book.calendar if s.reminder.kind == FOLLOW_UP and s.completed is None
    ]
    follow_ups = {r.contact_uid: r for r in open_follow_ups}
    if len(follow_ups) != len(open_follow_ups):
        return None
    planned = planner.replan_edited(pairs, follow_ups, today=today, settings=settings)
    if planned is None or reconcile.diff(planned[0], book.calendar, today=today, now=now):
        return None
    return planned


def due_today(reminders: Sequence[Reminder], today: dt.date) -> int:
    return sum(1 for r in reminders if r.day <= today and r.kind != DIGEST)
