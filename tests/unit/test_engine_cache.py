"""The reminders calendar is cached as what its objects say, not as iCalendar text."""

from __future__ import annotations

import datetime as dt

import pytest

from netsync.app import reminders
from netsync.core import ics
from netsync.core.model import Reminder

REMINDER = Reminder(
    "netsync-follow-up-abc-20261201",
    "follow-up",
    "weird;uid,\n",
    dt.date(2026, 12, 1),
    "Get in touch with Zoë",
    "Line 1\nLine 2",
    (dt.timedelta(hours=-15),),
    True,
    dt.date(2026, 11, 30),
)


def test_cache_entry_reads_back_as_the_reminder() -> None:
    done = dt.date(2026, 12, 2)
    assert reminders.from_cache(reminders.reminder_to_cache(REMINDER, done)) == (REMINDER, done)


def test_cache_of_a_calendar_object_equals_reading_it() -> None:
    data = ics.render(REMINDER, stamp=dt.datetime(2026, 11, 26, tzinfo=dt.UTC))
    assert reminders.from_cache(reminders.to_cache(data)) == ics.parse(data)
    foreign = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    assert reminders.to_cache(foreign) == b"null"
    assert reminders.from_cache(b"null") is None


def test_an_old_or_damaged_entry() -> None:
    data = ics.render(REMINDER, stamp=dt.datetime(2026, 11, 26, tzinfo=dt.UTC))
    assert reminders.from_cache(data) == ics.parse(data)  # iCalendar text from an older cache
    for damaged in (b"[1, 2]", b'{"uid": "x"}', b"42"):
        with pytest.raises(reminders.DamagedCache):
            reminders.from_cache(damaged)
