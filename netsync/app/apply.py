"""Carry out a Decision: the contacts' notes first, then the calendar, then the mark.

As vdirsyncer's actions: every write is conditional (If-Match, If-None-Match), and one that
fails is undone in the cache (the calendar's token forgotten, so the next cycle lists it
afresh), logged, counted and left for the next cycle; a server that is down ends the cycle.
A dry run does everything but send.

The calendar is planned from each contact as its note will read once written. When a card
does not read so after the contact writes (a write failed, or met a phone's edit), the
calendar part is decided again from what the cards say (cycle.settle) before it is written:
the calendar never shows a contact that was not recorded.

The mark (State.keep_last_plan) lets the next cycle build on the plan in the calendar instead
of reading the whole address book. It is kept only after a real cycle in which every write
landed as decided: after a failed write, or a card that reads otherwise than decided once
written, the next cycle reads and plans everything again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from netsync.app import readings, reminders, remote, sync, writeback
from netsync.app.remote import Connections
from netsync.app.report import Progress, Report, quiet
from netsync.app.state import LastPlan, State
from netsync.core import cycle, reconcile
from netsync.core.cycle import Decision, Snapshot
from netsync.core.model import Contact, PlanSettings, Reminder

log = logging.getLogger(__name__)

T = TypeVar("T")

WRITERS = 4  # calendar writes in flight at once, each over its own keep-alive connection
WRITE_RETRIES = 5
TRANSIENT = (423, 500, 502, 503, 504)

# Up to this many writes of a cycle are left for the next cycle's sync to confirm (each comes
# back in its report as one short line); after more, the cycle moves the token past them at
# once, so the next cycle's report is as small as ever.
CARRIED_WRITES = 50


def apply(
    conn: Connections,
    state: State,
    snapshot: Snapshot,
    decision: Decision,
    *,
    key: str,
    today: dt.date,
    now: dt.datetime,
    settings: PlanSettings,
    dry_run: bool,
    stamp: dt.datetime,
    progress: Progress = quiet,
) -> Report:
    """Write what ``decision`` says; the report of what went through."""
    report = Report.of(snapshot, decision, today=today, dry_run=dry_run)
    written = record_contacts(
        conn, state, snapshot, decision, report, today=today, language=settings.language
    )
    exact = all(
        write.contact.uid in written and _person(written[write.contact.uid]) == _person(write.after)
        for write in decision.contact_writes
    )
    if not exact:  # roll the calendar back to what the cards say
        decision = cycle.settle(
            snapshot, decision, written, today=today, now=now, settings=settings
        )
        report.plan_of(decision)
    cal = snapshot.calendar_url
    if decision.plan is not None and cal is not None and not dry_run and not report.writes_failed:
        state.keep_lost(cal, {})  # learnt from, and recorded
    if cal is None:  # a dry run against an account that has no reminders calendar yet
        report.lines.extend(cycle.line("+", r) for r in decision.calendar.to_create)
        report.created = len(decision.calendar.to_create)
        return report
    write_calendar(conn, state, cal, decision.calendar, report, stamp=stamp, progress=progress)
    if dry_run:
        return report
    if len(decision.calendar) > CARRIED_WRITES:
        sync.catch_up(conn, state, cal)
    if exact and not report.writes_failed:
        state.keep_last_plan(LastPlan(key, decision.tally))
    return report


def record_contacts(
    conn: Connections,
    state: State,
    snapshot: Snapshot,
    decision: Decision,
    report: Report,
    *,
    today: dt.date,
    language: str,
) -> dict[str, Contact]:
    """Write the decision's notes into the contacts' cards; each written one as its card now
    reads, by contact UID."""
    written: dict[str, Contact] = {}
    readings_now: list[tuple[str, Contact]] = []
    for write in decision.contact_writes:
        book = snapshot.homes[write.contact.href]
        done = writeback.write_contact(
            conn, state, book, write, today=today, language=language, dry_run=report.dry_run
        )
        report.writes_failed += done.failed
        if done.after is None:
            continue
        written[write.contact.uid] = done.after
        report.contacts_written += 1
        report.lines.append(write.line(done.tidied))
        if done.after.etag and not report.dry_run:
            readings_now.append((book, done.after))
    # What the cards now say is what a later cycle compares an edited card with.
    readings.cache_readings(state, readings_now, today=today)
    return written


def _person(contact: Contact) -> Contact:
    return dataclasses.replace(contact, href="", etag="")


def write_calendar(
    conn: Connections,
    state: State,
    cal: str,
    changes: reconcile.Changes,
    report: Report,
    *,
    stamp: dt.datetime,
    writers: int = WRITERS,
    progress: Progress = quiet,
) -> None:
    """Write the diff to the calendar over a small pool of connections. A failed write is
    counted and left for the next cycle, which reads the calendar afresh (a 412 means a
    phone changed it, or a cycle that died after its PUT already created it); a server that
    is down ends the cycle (Unreachable) after the writes in flight."""
    jobs: list[tuple[str, Reminder, Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []
    for reminder in changes.to_create:
        jobs.append(("+", reminder, remote.create_reminder, (cal, reminder), {"stamp": stamp}))
    for stored, reminder in changes.to_update:
        kwargs = {"etag": stored.etag, "stamp": stamp}
        jobs.append(("~", reminder, remote.update_reminder, (stored.href, reminder), kwargs))
    for stored in changes.to_delete:
        kwargs = {"etag": stored.etag}
        jobs.append(("-", stored.reminder, remote.delete_reminder, (stored.href,), kwargs))
    counters = {"+": "created", "~": "updated", "-": "deleted"}
    actions = {"+": "create", "~": "update", "-": "delete"}
    if report.dry_run:
        for mark, reminder, *_ in jobs:
            report.lines.append(cycle.line(mark, reminder))
            setattr(report, counters[mark], getattr(report, counters[mark]) + 1)
        return
    stop = threading.Event()  # set by the first write that finds the server down
    with ThreadPoolExecutor(max_workers=max(1, writers)) as pool:
        futures = [
            pool.submit(
                _unless, stop, _write_one, conn, actions[mark], reminder.uid, fn, *args, **kwargs
            )
            for mark, reminder, fn, args, kwargs in jobs
        ]
        # Results are taken in order and the cache is written from this thread only.
        for done, ((mark, reminder, _, args, _), future) in enumerate(
            zip(jobs, futures, strict=True)
        ):
            progress("writing reminders", done, len(jobs))
            try:
                result = future.result()
            except BaseException:
                # The server is down or refuses us: the writes not yet started are not sent
                # (each would wait its whole timeout), those in flight end by theirs.
                for queued in futures:
                    queued.cancel()
                raise
            if isinstance(result, remote.DavError):
                state.forget_token(cal)
                report.writes_failed += 1
                continue
            report.lines.append(cycle.line(mark, reminder))
            setattr(report, counters[mark], getattr(report, counters[mark]) + 1)
            cached = reminders.reminder_to_cache(reminder, None)
            if mark == "+":
                state.put_written(cal, result[0], result[1], cached)
            elif mark == "~":
                state.put_written(cal, args[0], result, cached)
            else:
                state.drop_item(cal, args[0])


def _unless(stop: threading.Event, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a pool thread, unless an earlier write found the server down:
    then nothing is sent (it would wait its whole timeout too), and the cycle ends."""
    if stop.is_set():
        raise remote.Unreachable("the server", "not sent: an earlier write found the server down")
    try:
        return fn(*args, **kwargs)
    except BaseException:
        stop.set()
        raise


def _write_one(
    conn: Connections, action: str, uid: str, fn: Callable[..., T], *args: Any, **kwargs: Any
) -> T | remote.DavError:
    """One calendar write in a pool thread. A refusal or a 412 is returned, to be counted;
    a server that is down or refuses us raises and ends the cycle."""
    for attempt in range(WRITE_RETRIES + 1):
        try:
            return fn(conn, *args, **kwargs)
        except remote.AuthFailed:
            raise
        except remote.DavError as err:
            if err.status in TRANSIENT and attempt < WRITE_RETRIES:
                # Xandikos commits each write to git and answers 423 or 500 to a second
                # write that finds the lock taken; a proxy may answer 502/503 for a moment.
                # Every write carries a precondition, so trying again is safe: if the first
                # one did land, the retry gets a 412 and the next cycle re-reads.
                time.sleep(0.05 * 2**attempt)
                continue
            if isinstance(err, remote.Unreachable):
                raise
            log.warning("could not %s %s: %s", action, uid, err)
            return err
    raise AssertionError("unreachable")
