"""The diff touches only netsync's objects, updates only what changed, keeps history."""

from __future__ import annotations

import dataclasses
import datetime as dt

from netsync.core.model import BIRTHDAY, DIGEST, FOLLOW_UP, Reminder, StoredReminder
from netsync.core.reconcile import diff

TODAY = dt.date(2026, 11, 26)
NOW = dt.datetime(2026, 11, 25, 8)  # the day before, so the all-day alarms are still ahead


def rem(uid: str, day: dt.date = TODAY, kind: str = FOLLOW_UP, summary: str = "s") -> Reminder:
    return Reminder(uid, kind, "c", day, summary, alarms=(dt.timedelta(hours=-15),))


def stored(r: Reminder, completed: dt.date | None = None) -> StoredReminder:
    return StoredReminder(f"/cal/{r.uid}.ics", '"e"', r, completed)


def test_nothing_changed_means_no_change() -> None:
    wanted = [rem("netsync-a"), rem("netsync-b")]
    assert not diff(wanted, [stored(r) for r in wanted], today=TODAY, now=NOW)


def test_create_update_delete() -> None:
    changes = diff(
        [rem("netsync-new"), rem("netsync-same", summary="new text")],
        [stored(rem("netsync-same", summary="old text")), stored(rem("netsync-gone"))],
        today=TODAY,
        now=NOW,
    )
    assert [r.uid for r in changes.to_create] == ["netsync-new"]
    assert [(s.reminder.summary, r.summary) for s, r in changes.to_update] == [
        ("old text", "new text")
    ]
    assert [s.reminder.uid for s in changes.to_delete] == ["netsync-gone"]


def test_foreign_objects_are_never_in_a_diff() -> None:
    foreign = stored(rem("dentist-2026"))
    assert not diff([], [foreign], today=TODAY, now=NOW)


def test_past_occasions_and_ticked_tasks_stay_as_history() -> None:
    past_birthday = stored(rem("netsync-b", TODAY - dt.timedelta(days=1), BIRTHDAY))
    done_task = stored(rem("netsync-t", TODAY - dt.timedelta(days=3)), completed=TODAY)
    past_follow_up = stored(rem("netsync-f", TODAY - dt.timedelta(days=3)))
    changes = diff([], [past_birthday, done_task, past_follow_up], today=TODAY, now=NOW)
    assert [s.reminder.uid for s in changes.to_delete] == ["netsync-f"]


def test_a_second_copy_of_one_uid_is_deleted() -> None:
    r = rem("netsync-dup")
    copy = StoredReminder("/cal/zz-copy.ics", '"x"', r)
    changes = diff([r], [stored(r), copy], today=TODAY, now=NOW)
    assert [s.href for s in changes.to_delete] == ["/cal/zz-copy.ics"]


def test_the_digest_of_this_week_is_true_while_the_week_lasts() -> None:
    monday = TODAY - dt.timedelta(days=TODAY.weekday())  # TODAY is a Thursday
    this_week = rem(f"netsync-digest-{monday:%Y%m%d}", monday, DIGEST, "This week: call Alice")
    last_week = rem("netsync-digest-x", monday - dt.timedelta(days=7), DIGEST, "call Bram")
    # Alice's follow-up moved to next week: this week has nothing left, so its digest goes;
    # last week's stays as history, like a past birthday.
    changes = diff([], [stored(this_week), stored(last_week)], today=TODAY, now=NOW)
    assert [s.reminder.uid for s in changes.to_delete] == [this_week.uid]
    # something is left in it: rewritten with what is left
    left = dataclasses.replace(this_week, summary="This week: call Chen")
    changes = diff([left], [stored(this_week), stored(last_week)], today=TODAY, now=NOW)
    assert [r.summary for _, r in changes.to_update] == ["This week: call Chen"]
    assert not changes.to_delete


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
    changes = diff(after, calendar, today=TODAY, now=NOW)
    assert [(s.reminder.kind, r.description.split("\n")[0]) for s, r in changes.to_update] == [
        (BIRTHDAY, f"Last contact: {TODAY} (call)")
    ]
    # Forty days on, a week before the anniversary, its turn comes: one write then.
    later = TODAY + dt.timedelta(days=33)
    kept = [s for s in calendar if s.reminder.kind == ANNIVERSARY]
    again = planner.plan([alice(TODAY)], [], today=later, settings=settings)
    at_later = dt.datetime.combine(later, dt.time())
    changes = diff(again, kept, today=later, now=at_later)
    assert [s.reminder.kind for s, _ in changes.to_update] == [ANNIVERSARY]
    # A new phone number is news at once, far occasion or not.
    phoned = planner.plan([alice(TODAY, ("+31 6 1234 5678",))], [], today=TODAY, settings=settings)
    kinds = {s.reminder.kind for s, _ in diff(phoned, calendar, today=TODAY, now=NOW).to_update}
    assert kinds >= {BIRTHDAY, ANNIVERSARY}
    # A follow-up always says the last contact it was planned from.
    follow_up = rem("netsync-f", TODAY + dt.timedelta(days=30))
    moved = dataclasses.replace(follow_up, description="Last contact: 2026-11-26 (mail)")
    assert diff([moved], [stored(follow_up)], today=TODAY, now=NOW).to_update
