"""The cycle's decision (core/cycle.py): a value, the same from the whole book as from edits.

No server and no clock: a Snapshot is built by hand, as app/read.py would build it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsync.core import cycle, learn, planner, reconcile
from netsync.core.cycle import Decision, Edit, Edited, Snapshot, Tally, Whole
from netsync.core.model import (
    BIRTHDAY,
    FOLLOW_UP,
    Cadence,
    Contact,
    DateFact,
    Ledger,
    PartialDate,
    PlanSettings,
    Reminder,
    StoredReminder,
)

TODAY = dt.date(2026, 11, 26)
NOW = dt.datetime.combine(TODAY, dt.time())
SETTINGS = PlanSettings(every=Cadence(30), max_per_day=2)


def people(lasts: list[int | None], born: list[int]) -> list[Contact]:
    out = []
    for i, ago in enumerate(lasts):
        last = None if ago is None else TODAY - dt.timedelta(days=ago)
        day = dt.date(2025, 12, 1) + dt.timedelta(days=born[i]) if i < len(born) else None
        dates = (DateFact(BIRTHDAY, PartialDate(day.month, day.day, 1980 + i)),) if day else ()
        out.append(Contact(f"c{i}", f"Person {i}", href=f"/book/{i}.vcf", etag=f'"{i}"',
                           dates=dates, ledger=Ledger(last=last)))  # fmt: skip
    return out


def in_calendar(reminders: list[Reminder]) -> tuple[StoredReminder, ...]:
    return tuple(StoredReminder(f"/cal/{r.uid}.ics", f'"{r.uid}"', r) for r in reminders)


def edited(contact: Contact, how: str) -> Contact:
    if how == "name":
        return dataclasses.replace(contact, name=contact.name + " Jr.")
    if how == "phone":
        return dataclasses.replace(contact, phones=(*contact.phones, "+31 6 1234 5678"))
    if how == "birthday":
        return dataclasses.replace(contact, dates=(DateFact(BIRTHDAY, PartialDate(12, 1)),))
    if how == "no birthday":
        return dataclasses.replace(contact, dates=())
    if how == "address":  # nowhere in a reminder
        return dataclasses.replace(contact, etag=contact.etag + "-2")
    if how == "last":  # the phone recorded a contact: its follow-up moves
        ledger = dataclasses.replace(contact.ledger, last=TODAY - dt.timedelta(days=1))
        return dataclasses.replace(contact, ledger=ledger)
    if how == "gift":  # an edit of the block netsync writes
        return dataclasses.replace(
            contact, ledger=dataclasses.replace(contact.ledger, gifts=("a book",))
        )
    return dataclasses.replace(contact, note="Met at the fair.")


def by_uid(changes: reconcile.Changes) -> tuple[object, ...]:
    return (
        sorted(r.uid for r in changes.to_create),
        sorted((s.href, r) for s, r in changes.to_update),
        sorted(s.href for s in changes.to_delete),
    )


def test_nothing_edited_is_a_decision_with_nothing_in_it() -> None:
    contacts = people([3, 40, None, 100], [5, 200])
    calendar = in_calendar(planner.plan(contacts, [], today=TODAY, settings=SETTINGS))
    last = Tally(cards_read=4, planned=len(calendar), due_today=1, shared_uids=("x",))
    snapshot = Snapshot(Edited((), (), last))
    assert cycle.plans_alone(snapshot, today=TODAY, now=NOW, settings=SETTINGS)
    decision = cycle.decide(snapshot, today=TODAY, now=NOW, settings=SETTINGS)
    assert decision == Decision(tally=last)
    assert not decision and decision.lines() == []
    # The whole book read again decides the same: nothing.
    whole = Snapshot(Whole(tuple(contacts), calendar, Tally(cards_read=4)))
    again = cycle.decide(whole, today=TODAY, now=NOW, settings=SETTINGS)
    assert not again and again.plan is not None and len(again.plan) == len(calendar)


@settings(max_examples=150, deadline=None)
@given(
    lasts=st.lists(st.one_of(st.none(), st.integers(0, 120)), min_size=1, max_size=10),
    born=st.lists(st.integers(0, 400), max_size=10),
    edits=st.dictionaries(
        st.integers(0, 9),
        st.sampled_from(
            ["name", "phone", "birthday", "no birthday", "address", "last", "gift", "note"]
        ),
        max_size=4,
    ),
    digest=st.booleans(),
)
def test_edits_planned_alone_decide_what_the_whole_book_decides(
    lasts: list[int | None], born: list[int], edits: dict[int, str], digest: bool
) -> None:
    s = dataclasses.replace(SETTINGS, digest=digest)
    contacts = people(lasts, born)
    plan = planner.plan(contacts, [], today=TODAY - dt.timedelta(days=1), settings=s)
    plan = planner.plan(contacts, plan, today=TODAY, settings=s)
    calendar = in_calendar(plan)
    pairs = [
        Edit(contacts[i], edited(contacts[i], how)) for i, how in edits.items() if i < len(contacts)
    ]
    now = [dict((e.old, e.new) for e in pairs).get(c, c) for c in contacts]
    uids = {e.old.uid for e in pairs}
    last = Tally(len(contacts), 0, len(plan), cycle.due_today(plan, TODAY))
    own = tuple(c for c in calendar if c.reminder.contact_uid in uids)
    alone = Snapshot(Edited(tuple(pairs), own, last))
    whole = cycle.decide(
        Snapshot(Whole(tuple(now), calendar, Tally(len(contacts)))),
        today=TODAY,
        now=NOW,
        settings=s,
    )
    if not cycle.plans_alone(alone, today=TODAY, now=NOW, settings=s):
        with pytest.raises(ValueError):
            cycle.decide(alone, today=TODAY, now=NOW, settings=s)
        # Declined only for an edit of the block, or one that moves a follow-up or a digest.
        assert {how for i, how in edits.items() if i < len(contacts)} & {"last", "gift"} or digest
        return
    decision = cycle.decide(alone, today=TODAY, now=NOW, settings=s)
    assert by_uid(decision.calendar) == by_uid(whole.calendar)
    assert (decision.tally.planned, decision.tally.due_today) == (
        whole.tally.planned,
        whole.tally.due_today,
    )
    assert decision.edited == len(pairs) and decision.plan is None
    assert bool(decision) == bool(whole)


def test_a_deleted_follow_up_is_learnt_recorded_and_planned_from_in_one_decision() -> None:
    ann = Contact("ann", "Ann Smith", href="/book/ann.vcf", ledger=Ledger(last=dt.date(2026, 8, 1)))
    plan = planner.plan([ann], [], today=TODAY - dt.timedelta(days=10), settings=SETTINGS)
    [follow_up] = [r for r in plan if r.kind == FOLLOW_UP]
    assert follow_up.day == TODAY - dt.timedelta(days=10)  # overdue when planned: that day
    calendar = in_calendar([r for r in plan if r is not follow_up])
    snapshot = Snapshot(
        Whole((ann,), calendar, Tally(cards_read=1)),
        learn.Signals(deleted=(follow_up,)),
        homes={"/book/ann.vcf": "/book/"},
    )
    decision = cycle.decide(snapshot, today=TODAY, now=NOW, settings=SETTINGS)
    [write] = decision.contact_writes
    assert write.after.ledger.last == TODAY and write.contact == ann
    assert decision.contacts == (write.after,)
    # The plan is made from the contact just recorded: the next follow-up is a cadence from
    # today, past the horizon; without the signal the overdue one is placed again.
    assert decision.plan is not None and FOLLOW_UP not in {r.kind for r in decision.plan}
    unlearnt = cycle.decide(dataclasses.replace(snapshot, signals=learn.Signals()),
                            today=TODAY, now=NOW, settings=SETTINGS)  # fmt: skip
    assert unlearnt.plan is not None and FOLLOW_UP in {r.kind for r in unlearnt.plan}
    assert decision.lines()[0] == "* Ann Smith: last contact 2026-11-26, from deleted event"
    # Should the write fail, the calendar is planned from the card as it still reads.
    settled = cycle.settle(snapshot, decision, {}, today=TODAY, now=NOW, settings=SETTINGS)
    assert settled.contacts == (ann,) and settled.contact_writes == decision.contact_writes
    assert by_uid(settled.calendar) == by_uid(unlearnt.calendar)
    assert settled.tally == unlearnt.tally
    # Something new to learn from is never planned alone.
    edited_snapshot = Snapshot(Edited((), (), Tally()), learn.Signals(deleted=(follow_up,)))
    assert not cycle.plans_alone(edited_snapshot, today=TODAY, now=NOW, settings=SETTINGS)


def test_the_decision_prints_as_the_dry_run_does() -> None:
    ann = Contact("ann", "Ann Smith", ledger=Ledger(last=dt.date(2026, 11, 20)))
    reminder = Reminder("netsync-birthday-x", BIRTHDAY, "ann", dt.date(2026, 12, 1), "Ann turns 40")
    old = StoredReminder("/cal/old.ics", '"1"', dataclasses.replace(reminder, uid="netsync-b"))
    decision = Decision(
        contact_writes=(
            cycle.ContactWrite(
                ann, (learn.Observation("ann", dt.date(2026, 11, 25), "call", "log"),), ann
            ),
        ),
        calendar=reconcile.Changes([reminder], [(old, reminder)], [old]),
    )
    assert decision.lines() == [
        "* Ann Smith: last contact 2026-11-25 (call), from log",
        "+ 2026-12-01  birthday    Ann turns 40",
        "~ 2026-12-01  birthday    Ann turns 40",
        "- 2026-12-01  birthday    Ann turns 40",
    ]


def test_edits_over_a_calendar_that_lacks_their_plan_are_not_planned_alone() -> None:
    [ann] = people([10], [20])
    plan = planner.plan([ann], [], today=TODAY, settings=SETTINGS)
    last = Tally(1, 0, len(plan), cycle.due_today(plan, TODAY))
    edit = Edit(ann, edited(ann, "phone"))
    full = Snapshot(Edited((edit,), in_calendar(plan), last))
    assert cycle.plans_alone(full, today=TODAY, now=NOW, settings=SETTINGS)
    lacking = Snapshot(Edited((edit,), in_calendar(plan[1:]), last))
    assert not cycle.plans_alone(lacking, today=TODAY, now=NOW, settings=SETTINGS)
