"""When a reminder rings: every reminder dated today or later has, when it is written, an
alarm that is still ahead (SPEC 4).

The planner makes all-day reminders with alarms before their day (09:00 the day before, and
09:00 a week before for occasions): the form iOS, Android through DAVx5 and Thunderbird all
honour (../shared/notes/interop.md section 3.1). Written after the last of those alarms,
such a reminder would never ring: a follow-up put on today (everyone overdue at the first
cycle, a missed follow-up moved on), a follow-up for tomorrow written after 09:00, this
week's digest written on a Sunday evening. ``settle`` writes those as a timed event
instead, with one alarm at its start (``TRIGGER:PT0S``):

- on its own day at 09:00 when that is still ahead, else at the first quarter hour at least
  ``LEAD`` from now (a phone that syncs every 15 minutes has it before it rings); a reminder
  for today written in the last quarter hour of the day starts at 23:59;
- at a floating local time (no zone), like the all-day dates: 09:00 is 09:00 wherever the
  phone is. iOS (EventKit: a nil timeZone is a floating event), DAVx5 (synctools
  AndroidTimeUtils: a floating time is taken in the device's zone) and Thunderbird (ical.js:
  floating is local) all read it so, and all three keep an alarm at the start (DAVx5 maps
  it to 0 minutes before; a trigger after the start is what it drops).

A reminder dated before today is left all-day: nothing asks it to ring again.

The form is chosen only when a reminder is written. A reminder in the calendar that says
what the plan wants keeps its form whatever the time (``kept``): a cycle at 09:30 does not
rewrite the all-day reminder a cycle at 08:00 wrote, nor a timed one written yesterday, so
the clock moving on never causes a write (SPEC 4: a reminder is rewritten only when what it
says changed).

``now`` is the local wall-clock time (naive, in ``[locale] timezone``); it is an argument,
the core never reads the clock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from netsync.core.ics import same_content
from netsync.core.model import Reminder

RING_AT = dt.time(9)  # when a timed reminder of a later day rings
LEAD = dt.timedelta(minutes=15)  # at least this long between writing and ringing today
STEP = 15  # minutes: a timed reminder of today starts on a quarter hour
LAST = dt.time(23, 59)  # the latest start on its own day
AT_START = dt.timedelta(0)
AT_START_ONLY = (AT_START,)


def alarm_times(reminder: Reminder) -> list[dt.datetime]:
    """When each of the reminder's alarms fires, in local wall-clock time (an all-day
    reminder's alarms count from the midnight that starts its day)."""
    start = dt.datetime.combine(reminder.day, reminder.at or dt.time())
    return [start + offset for offset in reminder.alarms]


def rings_after(reminder: Reminder, now: dt.datetime) -> bool:
    """Whether one of its alarms is still ahead at ``now``."""
    return any(when > now for when in alarm_times(reminder))


def settle(reminder: Reminder, *, now: dt.datetime) -> Reminder:
    """The reminder in the form it is written in at ``now``: as planned when one of its
    alarms is still ahead (or its day has passed, or it has no alarms), else timed, with one
    alarm at its start."""
    if not reminder.alarms or reminder.day < now.date() or rings_after(reminder, now):
        return reminder
    return dataclasses.replace(reminder, at=ring_time(reminder.day, now=now), alarms=AT_START_ONLY)


def ring_time(day: dt.date, *, now: dt.datetime) -> dt.time:
    """The start of a timed reminder on ``day`` (today or later) written at ``now``."""
    nine = dt.datetime.combine(day, RING_AT)
    if nine - LEAD >= now:
        return RING_AT
    soon = now + LEAD
    midnight = dt.datetime.combine(soon.date(), dt.time())
    quarters = -(-(soon - midnight) // dt.timedelta(minutes=STEP))  # rounded up
    start = midnight + quarters * dt.timedelta(minutes=STEP)
    return start.time() if start.date() == day else LAST


def kept(stored: Reminder, wanted: Reminder) -> bool:
    """Whether ``stored``, a timed reminder netsync wrote (one alarm at its start) for the
    all-day ``wanted``, says what ``wanted`` says: then it stays as it is, at its time (the
    user may have moved it on the phone)."""
    if stored.at is None or wanted.at is not None or stored.alarms != AT_START_ONLY:
        return False
    as_planned = dataclasses.replace(stored, at=None, alarms=wanted.alarms)
    return same_content(as_planned, wanted)
