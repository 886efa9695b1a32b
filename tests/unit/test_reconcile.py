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
