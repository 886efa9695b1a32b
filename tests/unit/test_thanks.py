"""Receive without forgetting (issue 18): what people gave is shown in their reminders, and a
recent gift asks for a thank-you within the plan's rules (SPEC 2, 5, 7)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from netsync.core import learn, planner
from netsync.core.model import (
    BIRTHDAY,
    DIGEST,
    FOLLOW_UP,
    Cadence,
    Contact,
    DateFact,
    Ledger,
    PartialDate,
    PlanSettings,
    Received,
    Reminder,
)

TODAY = dt.date(2026, 11, 26)  # a Thursday
YESTERDAY = TODAY - dt.timedelta(days=1)
S = PlanSettings(digest=False, max_per_day=3)
FLOWERS = Received(YESTERDAY, "flowers when I was ill")


def person(uid: str, name: str = "", **ledger: object) -> Contact:
    return Contact(uid=uid, name=name or f"Person {uid}", ledger=Ledger(**ledger))  # type: ignore[arg-type]


def alice(**ledger: object) -> Contact:
    ledger.setdefault("last", dt.date(2026, 8, 1))  # a plain follow-up is due 2026-10-30
    ledger.setdefault("received", (FLOWERS,))
    return person("alice", "Alice Jansen", **ledger)


def follow_up_of(plan: list[Reminder], uid: str) -> Reminder:
    [found] = [r for r in plan if r.kind == FOLLOW_UP and r.contact_uid == uid]
    return found


def test_a_recent_gift_asks_for_a_thank_you_today() -> None:
    plan = planner.plan([alice()], [], today=TODAY, settings=S)
    thanks = follow_up_of(plan, "alice")
    assert thanks.summary == "Thank Alice Jansen: flowers when I was ill"
    assert thanks.day == TODAY
    assert thanks.uid.endswith(YESTERDAY.strftime("%Y%m%d"))  # due the day of the gift
    assert "Received: 2026-11-25 flowers when I was ill" in thanks.description


def test_the_thank_you_takes_the_first_day_with_room_before_plain_follow_ups() -> None:
    overdue = [person(f"o{i}", last=dt.date(2026, 1, 1) + dt.timedelta(days=i)) for i in range(3)]
    plan = planner.plan([*overdue, alice()], [], today=TODAY, settings=S)
    days = {r.contact_uid: r.day for r in plan if r.kind == FOLLOW_UP}
    assert days["alice"] == TODAY
    assert Counter(days.values()) == {TODAY: 3, TODAY + dt.timedelta(days=1): 1}
    assert days["o2"] == TODAY + dt.timedelta(days=1)  # the least overdue waits a day
    # the day after, with nothing changed, what was ahead stays (the plan's stability rules)
    tomorrow = TODAY + dt.timedelta(days=1)
    again = planner.plan([*overdue, alice()], plan, today=tomorrow, settings=S)
    assert follow_up_of(again, "o2").day == tomorrow


def test_a_thank_you_already_placed_keeps_its_day_and_others_keep_theirs() -> None:
    full = [person(f"f{i}", last=dt.date(2026, 1, 1)) for i in range(6)]
    plan = planner.plan(full, [], today=TODAY, settings=S)
    gift = person("f0", last=dt.date(2026, 1, 1), received=(Received(TODAY, "a bottle"),))
    after = planner.plan([gift, *full[1:]], plan, today=TODAY, settings=S)
    old = {r.contact_uid: r.day for r in plan if r.kind == FOLLOW_UP}
    new = {r.contact_uid: r.day for r in after if r.kind == FOLLOW_UP}
    assert follow_up_of(after, "f0").summary == "Thank Person f0: a bottle"
    assert max(Counter(new.values()).values()) <= S.max_per_day
    assert {u: d for u, d in new.items() if u != "f0"} == {
        u: d for u, d in old.items() if u != "f0"
    }


def test_contact_recorded_on_or_after_the_gift_closes_the_thank_you() -> None:
    for last in (YESTERDAY, TODAY):
        contact = alice(last=last)
        assert not planner.plan([contact], [], today=TODAY, settings=S)  # next one in 90 days
        assert planner.due_date(contact, S, today=TODAY, open_due=None) == last + dt.timedelta(90)


def test_a_gift_older_than_thank_within_is_only_remembered() -> None:
    old = Received(TODAY - dt.timedelta(days=15), "a book")
    birthday = DateFact(BIRTHDAY, PartialDate(12, 1, 1979))
    contact = dataclasses.replace(alice(received=(old,)), dates=(birthday,))
    plan = planner.plan([contact], [], today=TODAY, settings=S)
    assert not [r for r in plan if r.summary.startswith("Thank")]
    [party] = [r for r in plan if r.kind == BIRTHDAY]
    assert "Received: 2026-11-11 a book" in party.description
    # within 14 days, the last day included
    just = alice(received=(Received(TODAY - dt.timedelta(days=14), "a book"),))
    assert follow_up_of(planner.plan([just], [], today=TODAY, settings=S), "alice").summary == (
        "Thank Alice Jansen: a book"
    )


def test_the_thank_you_goes_when_thank_within_has_passed() -> None:
    plan = planner.plan([alice()], [], today=TODAY, settings=S)
    later = TODAY + dt.timedelta(days=14)
    day_before = planner.plan([alice()], plan, today=later - dt.timedelta(days=1), settings=S)
    assert follow_up_of(day_before, "alice").summary.startswith("Thank")
    moved = planner.plan([alice()], day_before, today=later, settings=S)
    plain = follow_up_of(moved, "alice")
    assert (plain.summary, plain.day) == ("Get in touch with Alice Jansen", later)
    assert plain.uid.endswith("20261030")


def test_thank_yous_off_with_an_empty_thank_within() -> None:
    off = dataclasses.replace(S, thank_within=None)
    assert follow_up_of(
        planner.plan([alice()], [], today=TODAY, settings=off), "alice"
    ).summary == ("Get in touch with Alice Jansen")
    assert not planner.plan([alice(never=True)], [], today=TODAY, settings=off)


def test_a_thank_you_also_for_people_without_follow_ups_but_not_while_paused() -> None:
    org = dataclasses.replace(alice(never=True), is_org=True)
    assert follow_up_of(
        planner.plan([org], [], today=TODAY, settings=S), "alice"
    ).summary.startswith("Thank ")
    assert not planner.plan([alice(pause_forever=True)], [], today=TODAY, settings=S)
    paused = alice(pause=TODAY + dt.timedelta(days=30))
    assert not planner.plan([paused], [], today=TODAY, settings=S)


def test_several_gifts_are_thanked_for_together_in_dutch() -> None:
    soup = Received(TODAY - dt.timedelta(days=3), "soep")
    contact = alice(received=(Received(YESTERDAY, "bloemen"), soup))
    nl = dataclasses.replace(S, language="nl")
    thanks = follow_up_of(planner.plan([contact], [], today=TODAY, settings=nl), "alice")
    assert thanks.summary == "Bedank Alice Jansen: soep; bloemen"
    assert "Ontvangen: 2026-11-25 bloemen; 2026-11-23 soep" in thanks.description


def test_the_latest_three_gifts_are_shown() -> None:
    gifts = tuple(Received(dt.date(2026, m, 1), f"gift {m}") for m in (3, 9, 1, 5))
    plan = planner.plan([alice(received=gifts)], [], today=TODAY, settings=S)
    assert "Received: 2026-09-01 gift 9; 2026-05-01 gift 5; 2026-03-01 gift 3" in (
        follow_up_of(plan, "alice").description
    )


def test_the_digest_line_shows_what_the_person_gave() -> None:
    bram = person(
        "bram", "Bram", last=dt.date(2026, 8, 20), received=(Received(dt.date(2026, 9, 1), "wine"),)
    )
    plan = planner.plan([alice(), bram], [], today=TODAY, settings=PlanSettings())
    [digest] = [r for r in plan if r.kind == DIGEST and r.day == dt.date(2026, 11, 23)]
    lines = digest.description.split("\n")
    assert "Thursday 2026-11-26: Thank Alice Jansen: flowers when I was ill" in lines
    assert "Thursday 2026-11-26: Get in touch with Bram (received: wine (2026-09-01))" in lines


def test_deleting_the_thank_you_on_its_day_is_contact_and_closes_it() -> None:
    plan = planner.plan([alice()], [], today=TODAY, settings=S)
    thanks = follow_up_of(plan, "alice")
    seen = learn.from_deleted_follow_ups([thanks], {"alice": alice()}, today=TODAY, settings=S)
    assert seen == [learn.Observation("alice", TODAY, "", "deleted event")]
    ledger = learn.apply(alice().ledger, seen)
    assert ledger.last == TODAY
    assert not planner.plan([alice(last=TODAY)], plan, today=TODAY, settings=S)  # closed


def test_a_received_observation_writes_no_last() -> None:
    seen = [learn.Observation("alice", TODAY, "", "netsync log", received="a cake")]
    ledger = learn.apply(alice().ledger, seen)
    assert ledger.last == dt.date(2026, 8, 1)
    assert ledger.received == (FLOWERS, Received(TODAY, "a cake"))
    assert learn.ledgers_to_write([alice()], seen) == {"alice": seen}
    assert learn.apply(ledger, seen) == ledger  # logged twice: one line


@settings(max_examples=150, deadline=None)
@given(
    lasts=st.lists(st.one_of(st.none(), st.integers(-200, 0)), min_size=1, max_size=25),
    gifts=st.lists(st.one_of(st.none(), st.integers(-20, 0)), min_size=1, max_size=25),
    budget=st.integers(1, 4),
)
def test_the_budget_holds_with_thank_yous_and_follow_ups_together(
    lasts: list[int | None], gifts: list[int | None], budget: int
) -> None:
    contacts = [
        person(
            f"p{i}",
            last=None if d is None else TODAY + dt.timedelta(days=d),
            received=() if g is None else (Received(TODAY + dt.timedelta(days=g), "x"),),
        )
        for i, (d, g) in enumerate(zip(lasts, gifts * len(lasts), strict=False))
    ]
    s = dataclasses.replace(S, max_per_day=budget, every=Cadence(30))
    calendar: list[Reminder] = []
    for n in range(20):
        today = TODAY + dt.timedelta(days=n)
        plan = planner.plan(contacts, calendar, today=today, settings=s)
        mine = [r for r in plan if r.kind == FOLLOW_UP]
        assert max(Counter(r.day for r in mine).values(), default=0) <= budget
        assert len({r.contact_uid for r in mine}) == len(mine)  # at most one open each
        before = {r.uid: r.day for r in calendar if r.kind == FOLLOW_UP and r.day >= today}
        after = {r.uid: r.day for r in mine}
        assert all(after[uid] == day for uid, day in before.items() if uid in after)
        calendar = plan
