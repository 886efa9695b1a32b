"""Every reminder dated today or later rings (SPEC 4): the form netsync writes, at any hour."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from netsync.core import rings
from netsync.core.model import DIGEST, FOLLOW_UP, OCCASION, Reminder, StoredReminder
from netsync.core.planner import FOLLOW_UP_ALARMS, OCCASION_ALARMS
from netsync.core.reconcile import diff

TODAY = dt.date(2026, 12, 6)  # a Sunday


def follow_up(day: dt.date = TODAY, summary: str = "Get in touch with Alice Jansen") -> Reminder:
    return Reminder("netsync-follow-up-a-1", FOLLOW_UP, "a", day, summary, "", FOLLOW_UP_ALARMS)


def at(hour: int, minute: int = 0, day: dt.date = TODAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute))


def stored(reminder: Reminder) -> StoredReminder:
    return StoredReminder(f"/cal/{reminder.uid}.ics", '"1"', reminder)


@pytest.mark.parametrize(
    ("day", "now", "expected"),
    [
        (TODAY + dt.timedelta(days=2), at(23, 30), None),  # 09:00 tomorrow is ahead: all-day
        (TODAY + dt.timedelta(days=1), at(8, 59), None),
        (TODAY + dt.timedelta(days=1), at(9, 0), dt.time(9)),  # the day before's alarm passed
        (TODAY + dt.timedelta(days=1), at(22, 10), dt.time(9)),
        (TODAY, at(0, 0), dt.time(9)),  # the first cycle of the day
        (TODAY, at(8, 45), dt.time(9)),
        (TODAY, at(8, 46), dt.time(9, 15)),  # at least a quarter of an hour ahead
        (TODAY, at(14, 3), dt.time(14, 30)),
        (TODAY, at(14, 15), dt.time(14, 30)),
        (TODAY, at(23, 40), dt.time(23, 59)),
    ],
)
def test_a_reminder_written_too_late_for_its_day_before_alarm_is_timed(
    day: dt.date, now: dt.datetime, expected: dt.time | None
) -> None:
    written = rings.settle(follow_up(day), now=now)
    assert written.at == expected
    if expected is not None:
        assert written.alarms == (dt.timedelta(0),)
        assert rings.alarm_times(written) == [dt.datetime.combine(day, expected)]
    assert rings.rings_after(written, now)


def test_an_occasion_with_its_day_before_alarm_ahead_keeps_both_alarms() -> None:
    birthday = dataclasses.replace(follow_up(TODAY + dt.timedelta(days=3)), kind=OCCASION)
    birthday = dataclasses.replace(birthday, alarms=OCCASION_ALARMS)
    assert rings.settle(birthday, now=at(20)) == birthday  # a week before has passed, not all


def test_a_reminder_of_a_past_day_is_left_as_planned() -> None:
    digest = Reminder("netsync-digest-20261130", DIGEST, "", dt.date(2026, 11, 30), "s", "",
                      FOLLOW_UP_ALARMS)  # fmt: skip
    assert rings.settle(digest, now=at(10)) == digest


@given(
    st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 1)),
    st.integers(0, 400),
    st.times(),
    st.sampled_from([FOLLOW_UP_ALARMS, OCCASION_ALARMS]),
)
@example(TODAY, 0, dt.time(23, 58, 59, 999999), FOLLOW_UP_ALARMS)
@example(TODAY, 1, dt.time(8, 59, 59), FOLLOW_UP_ALARMS)
def test_every_reminder_dated_today_or_later_rings_when_written(
    today: dt.date, ahead: int, clock: dt.time, alarms: tuple[dt.timedelta, ...]
) -> None:
    now = dt.datetime.combine(today, clock)
    if ahead == 0 and clock >= rings.LAST:
        return  # the last minute of a day: nothing on it can still ring (see rings.py)
    reminder = dataclasses.replace(follow_up(today + dt.timedelta(days=ahead)), alarms=alarms)
    written = rings.settle(reminder, now=now)
    assert rings.rings_after(written, now)
    assert written.day == reminder.day
    assert all(offset <= dt.timedelta(0) for offset in written.alarms)  # never after the start
    # what was written stays as it is at any later time: the clock never causes a write
    later = now + dt.timedelta(minutes=15 * ahead + 1)
    assert not diff([reminder], [stored(written)], today=later.date(), now=later)


def test_a_reminder_in_the_calendar_is_not_rewritten_because_the_clock_moved() -> None:
    tomorrow = follow_up(TODAY + dt.timedelta(days=1))
    written = diff([tomorrow], [], today=TODAY, now=at(8)).to_create[0]
    assert written == tomorrow  # all-day, its alarm at 09:00 today still ahead
    for clock in (at(9, 30), at(23, 59), at(10, day=TODAY + dt.timedelta(days=1))):
        assert not diff([tomorrow], [stored(written)], today=clock.date(), now=clock)


def test_a_timed_reminder_is_rewritten_when_what_it_says_changes_and_rings_again() -> None:
    first = diff([follow_up()], [], today=TODAY, now=at(10)).to_create[0]
    assert first.at == dt.time(10, 15)
    changed = follow_up(summary="Thank Alice Jansen: flowers")
    ((_, written),) = diff([changed], [stored(first)], today=TODAY, now=at(16, 20)).to_update
    assert (written.summary, written.at) == (changed.summary, dt.time(16, 45))
    # the user moved it to 19:00 on the phone: kept there
    moved = dataclasses.replace(written, at=dt.time(19))
    assert not diff([changed], [stored(moved)], today=TODAY, now=at(16, 30))


def test_a_timed_reminder_whose_alarm_a_phone_changed_is_put_right() -> None:
    first = diff([follow_up()], [], today=TODAY, now=at(10)).to_create[0]
    silenced = dataclasses.replace(first, alarms=())
    ((_, written),) = diff([follow_up()], [stored(silenced)], today=TODAY, now=at(11)).to_update
    assert rings.rings_after(written, at(11))
