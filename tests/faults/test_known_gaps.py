"""Gaps the fault tests found: those fixed, kept as tests, and one known, pinned by a strict
xfail test (it fails the suite on the day the gap is closed; docs/reliability.md lists it).

- Fixed: a phone's sign of contact survives a cycle that fails after reading it. A follow-up
  event deleted on the phone on its day means "done" (SPEC 6); the calendar sync that sees it
  gone drops it from the cache, so the engine keeps it as pending until a cycle has learnt
  from it and written the contact.
- Fixed: "A day offline changes no reminder" (SPEC 5). The planner kept a placed follow-up on
  its day and spread new ones over the free days, so which days got a cycle decided where
  follow-ups landed. It now replays one day's step for every day since the earliest follow-up
  in the calendar; test_planner.py checks it over random address books and cycle days, and
  that a failed cycle followed by one of the same day leaves no trace.
- Known: a day whose last cycle wrote half of its plan. The calendar is the planner's only
  memory, and it cannot tell half a plan from a whole one: the follow-ups that half placed
  keep their days the next day, so another may stand a day later than after a clean run.
  Nothing is lost or doubled. test_wire_faults.py allows exactly this and counts it. It is
  not a bug to be fixed in the planner: the half calendar is also the whole plan of a clean
  day with a contact fewer, and the next day the two cannot be told apart (the last test).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import icalendar
import pytest

from netsync.app import demo
from netsync.core import cards, planner
from netsync.core.model import FOLLOW_UP, Cadence, Contact, Ledger, PlanSettings, Reminder
from tests import davcheck, servers
from tests.faults.faultproxy import FaultProxy
from tests.faults.phonebook import CALENDAR, TODAY, Phone, iso_last
from tests.faults.twosides import configure
from tests.scenario import upload_sample

CHEN = "p002.vcf"  # Chen Wei: a follow-up due today


def test_a_follow_up_deleted_on_the_phone_survives_a_failed_cycle(
    xandikos: servers.Server, tmp_path: Path
) -> None:
    upload_sample(xandikos)
    phone = Phone(xandikos)
    with FaultProxy(xandikos.root) as proxy:
        config = configure(xandikos, tmp_path, proxy)
        argv = ["--config", str(config), "sync", "--today", TODAY.isoformat()]
        from netsync.commands import main

        assert main(argv) == 0
        cal = davcheck.calendars(xandikos)[CALENDAR]
        follow_up = next(
            (href, tag)
            for href, (tag, body) in davcheck.snapshot(xandikos, cal).items()
            for comp in icalendar.Calendar.from_ical(body).walk("VEVENT")
            if str(comp["SUMMARY"]) == "Get in touch with Chen Wei"
        )
        status, _, _ = davcheck.request(
            xandikos, "DELETE", follow_up[0], headers={"If-Match": follow_up[1]}
        )
        assert status in (200, 204)

        def reset_the_card_write(n: int, method: str, path: str, when: str) -> str | None:
            return "drop" if method == "PUT" and path.endswith(CHEN) else None

        proxy.on_request = reset_the_card_write
        assert main(argv) == 75
        proxy.on_request = None
        assert main(argv) == 0
    found = phone.read(CHEN)
    assert found is not None
    assert iso_last(found[1]) == TODAY.isoformat()


def test_a_day_without_a_cycle_changes_no_follow_up() -> None:
    contacts = [
        cards.parse_card(demo.vcard(person, index), today=TODAY)
        for index, person in enumerate(demo.sample_people(TODAY))
    ]
    settings = PlanSettings()
    daily = every_other = planner.plan(contacts, [], today=TODAY, settings=settings)
    for offset in range(1, 15):
        day = TODAY + dt.timedelta(days=offset)
        daily = planner.plan(contacts, daily, today=day, settings=settings)
        if offset % 2 == 0:
            every_other = planner.plan(contacts, every_other, today=day, settings=settings)

    def days(plan: list[Reminder]) -> dict[str, dt.date]:
        return {r.contact_uid: r.day for r in plan if r.kind == FOLLOW_UP}

    assert days(every_other) == days(daily)


DAY = dt.date(2026, 11, 26)  # the failed day; its last cycle wrote one of its changes
GAP = PlanSettings(every=Cadence(30), max_per_day=1, horizon_days=1, digest=False)
P0 = Contact(uid="p0", name="P p0", ledger=Ledger(last=DAY - dt.timedelta(days=31)))
P1 = Contact(uid="p1", name="P p1")


def _half_a_plan() -> tuple[list[Reminder], list[Reminder]]:
    """The calendar after DAY's whole plan, and after its last cycle wrote one change."""
    calendar = planner.plan([P0, P1], [], today=DAY - dt.timedelta(days=1), settings=GAP)
    whole = planner.plan([P0, P1], calendar, today=DAY, settings=GAP)
    old, new = {r.uid: r for r in calendar}, {r.uid: r for r in whole}
    first = min(uid for uid in old.keys() | new.keys() if old.get(uid) != new.get(uid))
    half = dict(old)  # that one change went through, the rest did not
    if first in new:
        half[first] = new[first]
    else:
        del half[first]
    return whole, list(half.values())


@pytest.mark.xfail(
    strict=True,
    reason="a day whose last cycle wrote half of its plan: the follow-ups it placed keep their "
    "days the next day, so another may land a day later than after a clean run (nothing is "
    "lost or doubled). Not to be closed from the reminders alone: a clean day that had a "
    "contact fewer leaves the very same calendar "
    "(test_half_a_plan_is_also_the_whole_plan_of_a_day_with_a_contact_fewer)",
)
def test_a_day_that_ended_on_half_a_plan_leaves_no_trace() -> None:
    whole, half = _half_a_plan()
    tomorrow = DAY + dt.timedelta(days=1)
    clean = planner.plan([P0, P1], whole, today=tomorrow, settings=GAP)
    after = planner.plan([P0, P1], half, today=tomorrow, settings=GAP)
    assert {r.uid: r.day for r in after} == {r.uid: r.day for r in clean}


def test_half_a_plan_is_also_the_whole_plan_of_a_day_with_a_contact_fewer() -> None:
    """Why the gap above stays. The plan is a function of the address book, the calendar and
    the date (SPEC 5: a lost state directory changes no reminder). The half-written calendar
    of the test above is, reminder for reminder, the whole plan of a clean day on which P1
    was not yet in the address book (added on the phone after that day's last cycle). The
    next day both histories have the same address book and the same calendar, so any such
    planner plans the same for both; yet their clean runs differ. Closing the gap would take
    a memory the reminders do not hold: the local state, which SPEC 5 rules out, or a record
    of each day's whole plan written into the calendar ahead of its reminders, an object of
    no use to the user that SPEC 4 does not provide for."""
    whole, half = _half_a_plan()
    before = planner.plan([P0], [], today=DAY - dt.timedelta(days=1), settings=GAP)
    fewer = planner.plan([P0], before, today=DAY, settings=GAP)
    assert {r.uid: r for r in fewer} == {r.uid: r for r in half}
    tomorrow = DAY + dt.timedelta(days=1)
    after_fault = planner.plan([P0, P1], whole, today=tomorrow, settings=GAP)
    after_fewer = planner.plan([P0, P1], fewer, today=tomorrow, settings=GAP)
    assert {r.uid: r.day for r in after_fault} != {r.uid: r.day for r in after_fewer}
