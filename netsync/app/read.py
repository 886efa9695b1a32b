"""Read what the servers hold into a Snapshot, as cheaply as the decision allows.

Every cycle syncs every collection into the cache (app/sync.py: a sync-collection REPORT
each, and the objects that changed). Then it reads from the cache either

- only the cards edited since the last complete cycle (``Edited``), when that cycle left the
  plan of today in the calendar and nothing but cards changed since: a no-change cycle reads
  nothing more, and a cycle in which a phone edited one card reads that card and the
  contact's own reminders. The core says whether the edits can be planned alone
  (cycle.plans_alone); if not,
- the whole address book and the whole reminders calendar (``Whole``), with every signal of
  contact (``_signals``).

Mail (``[mail]``) is read every cycle too (``read_mail``): one STATUS when nothing is new; mail
that moves anyone's newest day of contact makes the cycle read the whole address book.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from netsync.app import imap, readings, reminders, sync
from netsync.app.readings import EarlyParse, Reading
from netsync.app.remote import Connections
from netsync.app.report import Progress, quiet
from netsync.app.state import LastPlan, State
from netsync.core import cycle, learn
from netsync.core.cycle import Edited, Snapshot, Whole
from netsync.core.model import Contact, PlanSettings

log = logging.getLogger(__name__)

Logged = Callable[[Sequence[Contact]], list[learn.Observation]]  # `netsync log`'s query


def read(
    conn: Connections,
    state: State,
    *,
    today: dt.date,
    now: dt.datetime,
    zone: dt.tzinfo | None,
    settings: PlanSettings,
    key: str,
    whole: bool,
    create: bool,
    logged: Logged | None = None,
    progress: Progress = quiet,
) -> Snapshot:
    """What the servers hold. ``now``: the local time of the writes (for cycle.plans_alone);
    ``zone``: ``[locale] timezone`` (None: the system's), for the days of mail; ``key``: the
    inputs of this cycle's decision (a last plan made under another key is not built on);
    ``whole``: read everything whatever changed (a dry run, `netsync log`); ``create``: make
    the reminders calendar if it is missing; ``logged``: `netsync log`'s observations, given
    the contacts."""
    last = state.take_last_plan()
    with EarlyParse(today) as early:
        synced = sync.sync_all(conn, state, create=create, on_cards=early)
        parsed = early.results()
    mailed = read_mail(conn, state, today=today, zone=zone)
    snapshot: Snapshot | None = None
    new_cards: tuple[Contact, ...] = ()
    if not whole and not mailed.learnt and last is not None and last.key == key:
        snapshot = _edited(conn, state, synced, last, today=today, early=parsed)
        if snapshot is not None:
            new_cards = snapshot.new_cards  # read now: as cached, the whole reading has them
            if not cycle.plans_alone(snapshot, today=today, now=now, settings=settings):
                snapshot = None
    if snapshot is None:
        snapshot = _whole(
            conn, state, synced, today=today, early=parsed, logged=logged, progress=progress
        )
    seen = {c.uid for c in snapshot.new_cards}
    return dataclasses.replace(
        snapshot,
        mail_read=mailed.fetched,
        mail_error=mailed.error,
        new_cards=snapshot.new_cards + tuple(c for c in new_cards if c.uid not in seen),
    )


@dataclass(frozen=True)
class MailRead:
    """What reading the mail folders did: messages read, whether anyone's newest day of
    contact moved, and why they could not be read."""

    fetched: int = 0
    learnt: bool = False
    error: str = ""


def read_mail(
    conn: Connections, state: State, *, today: dt.date, zone: dt.tzinfo | None
) -> MailRead:
    """Read what is new in the mail folders into the state (app/imap.py). A mail server that
    is down or refuses is reported (the cycle ends with 1), never the end of the cycle: the
    address book and the calendar are done all the same."""
    if conn.mail is None:
        return MailRead()
    try:
        scan = conn.mail.scan(state, today=today, zone=zone)
    except imap.MailError as err:
        log.warning("mail not read this cycle: %s", err)
        return MailRead(error=str(err))
    return MailRead(scan.fetched, scan.changed)


def _edited(
    conn: Connections,
    state: State,
    synced: sync.Synced,
    last: LastPlan,
    *,
    today: dt.date,
    early: dict[str, tuple[str, Reading]],
) -> Snapshot | None:
    """The cards edited since the last complete cycle, over the plan it left; None when
    something besides edits of cards changed since (a card deleted, the calendar or a
    detect calendar changed, a reminder went), or the edits cannot be compared one by one."""
    if synced.others or synced.calendar is None:
        return None
    found = readings.edits(state, synced.cards, today=today, early=early)
    if found is None:
        return None
    own = reminders.of_contacts(state, synced.calendar, {edit.old.uid for edit in found})
    if own is None:
        return None
    # Nothing else changed, so only an edited contact can have something new to learn, from
    # what the signals held before (an address added on the phone that mail went to).
    signals = _signals(conn, state, synced, [], None) if found else learn.Signals()
    return Snapshot(
        Edited(tuple(found), tuple(own), last.tally),
        signals,
        calendar_url=synced.calendar,
        new_cards=tuple(edit.new for edit in found),
    )


def _whole(
    conn: Connections,
    state: State,
    synced: sync.Synced,
    *,
    today: dt.date,
    early: dict[str, tuple[str, Reading]],
    logged: Logged | None,
    progress: Progress,
) -> Snapshot:
    book = readings.read_book(state, synced.books, today=today, early=early, progress=progress)
    calendar = reminders.stored(state, synced.calendar) if synced.calendar else []
    return Snapshot(
        Whole(tuple(book.contacts), tuple(calendar), book.tally),
        _signals(conn, state, synced, book.contacts, logged),
        homes=book.homes,
        calendar_url=synced.calendar,
        new_cards=tuple(book.new_cards),
    )


def _signals(
    conn: Connections,
    state: State,
    synced: sync.Synced,
    contacts: Sequence[Contact],
    logged: Logged | None,
) -> learn.Signals:
    """Every signal of contact besides the calendar's own tasks, one reader each."""
    return learn.Signals(
        deleted=tuple(reminders.gone(synced.lost)),
        events=tuple(sync.detect_events(conn, state)),
        mail=state.mail_days() if conn.mail is not None else {},
        logged=tuple(logged(contacts)) if logged is not None else (),
    )
