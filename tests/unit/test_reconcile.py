"""The diff touches only netsync's objects, updates only what changed, keeps history."""

from __future__ import annotations

import datetime as dt

from netsync.core.model import BIRTHDAY, FOLLOW_UP, Reminder, StoredReminder
from netsync.core.reconcile import diff

TODAY = dt.date(2026, 11, 26)


def rem(uid: str, day: dt.date = TODAY, kind: str = FOLLOW_UP, summary: str = "s") -> Reminder:
    return Reminder(uid, kind, "c", day, summary, alarms=(dt.timedelta(hours=-15),))


def stored(r: Reminder, completed: dt.date | None = None) -> StoredReminder:
    return StoredReminder(f"/cal/{r.uid}.ics", '"e"', r, completed)


def test_nothing_changed_means_no_change() -> None:
    wanted = [rem("netsync-a"), rem("netsync-b")]
    assert not diff(wanted, [stored(r) for r in wanted], today=TODAY)


def test_create_update_delete() -> None:
    changes = diff(
        [rem("netsync-new"), rem("netsync-same", summary="new text")],
        [stored(rem("netsync-same", summary="old text")), stored(rem("netsync-gone"))],
        today=TODAY,
    )
    assert [r.uid for r in changes.to_create] == ["netsync-new"]
    assert [(s.reminder.summary, r.summary) for s, r in changes.to_update] == [
        ("old text", "new text")
    ]
    assert [s.reminder.uid for s in changes.to_delete] == ["netsync-gone"]


def test_foreign_objects_are_never_in_a_diff() -> None:
    foreign = stored(rem("dentist-2026"))
    assert not diff([], [foreign], today=TODAY)


def test_past_occasions_and_ticked_tasks_stay_as_history() -> None:
    past_birthday = stored(rem("netsync-b", TODAY - dt.timedelta(days=1), BIRTHDAY))
    done_task = stored(rem("netsync-t", TODAY - dt.timedelta(days=3)), completed=TODAY)
    past_follow_up = stored(rem("netsync-f", TODAY - dt.timedelta(days=3)))
    changes = diff([], [past_birthday, done_task, past_follow_up], today=TODAY)
    assert [s.reminder.uid for s in changes.to_delete] == ["netsync-f"]


def test_a_second_copy_of_one_uid_is_deleted() -> None:
    r = rem("netsync-dup")
    copy = StoredReminder("/cal/zz-copy.ics", '"x"', r)
    changes = diff([r], [stored(r), copy], today=TODAY)
    assert [s.href for s in changes.to_delete] == ["/cal/zz-copy.ics"]


def test_a_new_last_contact_rewrites_only_the_occasions_whose_alarm_rang() -> None:
    """Mail to Alice moves her last contact; of her occasions only the one whose first
    alarm (a week before) has rung shows the new line at once. The rest keep theirs until
    their own alarm, but anything else they say changes at once."""
    import dataclasses

    from netsync.core import planner
    from netsync.core.model import ANNIVERSARY, Contact, DateFact, Ledger, PartialDate, PlanSettings

    def alice(last: dt.date, phones: tuple[str, ...] = ()) -> Contact:
        soon, later = TODAY + dt.timedelta(days=5), TODAY + dt.timedelta(days=40)
        return Contact(
            "u-alice",
            "Alice Jansen",
            phones=phones,
            dates=(
                DateFact(BIRTHDAY, PartialDate(soon.month, soon.day, 1980)),
                DateFact(ANNIVERSARY, PartialDate(later.month, later.day, 2004)),
            ),
            ledger=Ledger(last=last, how="call"),
        )

    settings = PlanSettings(digest=False)  # the digest's own changes are not this test's
    before = planner.plan([alice(dt.date(2026, 9, 1))], [], today=TODAY, settings=settings)
    calendar = [stored(r) for r in before]
    after = planner.plan(
        [
            alice(
                TODAY,
            )
        ],
        [r for r in before],
        today=TODAY,
        settings=settings,
    )
    changes = diff(after, calendar, today=TODAY)
    assert [(s.reminder.kind, r.description.split("\n")[0]) for s, r in changes.to_update] == [
        (BIRTHDAY, f"Last contact: {TODAY} (call)")
    ]
    # Forty days on, a week before the anniversary, its turn comes: one write then.
    later = TODAY + dt.timedelta(days=33)
    kept = [s for s in calendar if s.reminder.kind == ANNIVERSARY]
    again = planner.plan([alice(TODAY)], [], today=later, settings=settings)
    assert [s.reminder.kind for s, _ in diff(again, kept, today=later).to_update] == [ANNIVERSARY]
    # A new phone number is news at once, far occasion or not.
    phoned = planner.plan([alice(TODAY, ("+31 6 1234 5678",))], [], today=TODAY, settings=settings)
    kinds = {s.reminder.kind for s, _ in diff(phoned, calendar, today=TODAY).to_update}
    assert kinds >= {BIRTHDAY, ANNIVERSARY}
    # A follow-up always says the last contact it was planned from.
    follow_up = rem("netsync-f", TODAY + dt.timedelta(days=30))
    moved = dataclasses.replace(follow_up, description="Last contact: 2026-11-26 (mail)")
    assert diff([moved], [stored(follow_up)], today=TODAY).to_update
