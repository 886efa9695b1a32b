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
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from netsync.app import readings, reminders, sync
from netsync.app.readings import EarlyParse, Reading
from netsync.app.remote import Connections
from netsync.app.report import Progress, quiet
from netsync.app.state import LastPlan, State
from netsync.core import cycle, learn
from netsync.core.cycle import Edited, Snapshot, Whole
from netsync.core.model import Contact, PlanSettings

Logged = Callable[[Sequence[Contact]], list[learn.Observation]]  # `netsync log`'s query


def read(
    conn: Connections,
    state: State,
    *,
    today: dt.date,
    settings: PlanSettings,
    key: str,
    whole: bool,
    create: bool,
    logged: Logged | None = None,
    progress: Progress = quiet,
) -> Snapshot:
    """What the servers hold. ``key``: the inputs of this cycle's decision (a last plan made
    under another key is not built on); ``whole``: read everything whatever changed (a dry
    run, `netsync log`); ``create``: make the reminders calendar if it is missing;
    ``logged``: `netsync log`'s observations, given the contacts."""
    last = state.take_last_plan()
    with EarlyParse(today) as early:
        synced = sync.sync_all(conn, state, create=create, on_cards=early)
        parsed = early.results()
    if not whole and last is not None and last.key == key:
        edited = _edited(conn, state, synced, last, today=today, early=parsed)
        if edited is not None and cycle.plans_alone(edited, today=today, settings=settings):
            return edited
    return _whole(conn, state, synced, today=today, early=parsed, logged=logged, progress=progress)


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
    # Nothing else changed, so only an edited contact can have something new to learn.
    events = tuple(sync.detect_events(conn, state)) if found else ()
    return Snapshot(
        Edited(tuple(found), tuple(own), last.tally),
        learn.Signals(events=events),
        calendar_url=synced.calendar,
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
    contacts, homes, tally = readings.read_book(
        state, synced.books, today=today, early=early, progress=progress
    )
    calendar = reminders.stored(state, synced.calendar) if synced.calendar else []
    return Snapshot(
        Whole(tuple(contacts), tuple(calendar), tally),
        _signals(conn, state, synced, contacts, logged),
        homes=homes,
        calendar_url=synced.calendar,
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
        logged=tuple(logged(contacts)) if logged is not None else (),
    )
