"""One cycle: read what the servers hold, decide what to write, write it -> a Report.

    snapshot = read.read(...)            app/read.py    the servers, into the cache, into values
    decision = cycle.decide(snapshot)    core/cycle.py  pure: learn, plan, diff
    report   = apply.apply(decision)     app/apply.py   the writes, the cache, the mark

docs/design.md walks one card through the three. A card that cannot be read is logged by href
and skipped; a write that fails is logged and left for the next cycle; the run goes on and the
report counts both (exit 1 at the end).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from netsync.app import apply, read
from netsync.app.read import Logged
from netsync.app.remote import Connections
from netsync.app.report import Progress, Report
from netsync.app.report import quiet as _quiet
from netsync.app.state import State
from netsync.core import cycle

if TYPE_CHECKING:
    from netsync.app.config import Settings

__all__ = ["Connections", "Progress", "Report", "_quiet", "key_of", "run_cycle"]


def run_cycle(
    conn: Connections,
    state: State,
    *,
    today: dt.date,
    settings: Settings,
    dry_run: bool = False,
    stamp: dt.datetime | None = None,
    now: dt.datetime | None = None,
    extra: Logged | None = None,
    progress: Progress = _quiet,
) -> Report:
    """One cycle. ``today`` comes from the caller's clock; ``now`` is the local wall-clock
    time of the writes, which decides how a reminder for today still rings (rings.py; None:
    the start of ``today``, what ``--today DATE`` means); ``extra`` adds observations
    (`netsync log`); a dry run reads and decides, and writes nothing (it prints the
    decision)."""
    now = now or dt.datetime.combine(today, dt.time())
    key = key_of(today, settings, conn)
    zone = ZoneInfo(settings.locale.timezone) if settings.locale.timezone else None
    snapshot = read.read(
        conn,
        state,
        today=today,
        now=now,
        zone=zone,
        settings=settings.plan,
        key=key,
        whole=dry_run or extra is not None,
        create=not dry_run,
        logged=extra,
        progress=progress,
    )
    decision = cycle.decide(snapshot, today=today, now=now, settings=settings.plan)
    return apply.apply(
        conn,
        state,
        snapshot,
        decision,
        key=key,
        today=today,
        now=now,
        settings=settings.plan,
        dry_run=dry_run,
        stamp=stamp or dt.datetime.now(dt.UTC).replace(microsecond=0),
        progress=progress,
    )


def key_of(today: dt.date, settings: Settings, conn: Connections) -> str:
    """The inputs a cycle's decision depends on besides what the servers hold: the
    decision's own (cycle.inputs), and where it read and wrote."""
    where = (
        conn.contacts.url,
        conn.reminders.url,
        conn.calendar_name,
        conn.detect_calendars,
        conn.mail is not None,
    )
    return cycle.inputs(today, settings.plan) + repr(where)
