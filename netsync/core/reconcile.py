"""Diff the wanted reminders against what the calendar holds: Changes, a value to print or apply.

Only netsync's own objects (UID starting ``netsync-``) are ever in a diff. Reminders are
compared by what they say (the parsed Reminder), never by their text: Radicale re-serialises
what it stores, and phones add their own properties.

What is left alone on purpose: occasion reminders whose day has passed (they are the calendar's
history) and follow-up tasks the user ticked off. The digest of the current week is not
history while the week lasts: it is rewritten when its follow-ups change and deleted when
nothing is left in it (SPEC 4, issue 13).

What is left as it is for a while: an occasion reminder (birthday, anniversary, occasion) whose
only change is its "Last contact" line, until the day its first alarm rings (a week before).
Every recorded contact moves that line in each of the person's occasions in the next year,
and with mail as a sign of contact that would be several writes, each synced to every phone,
for each message sent; the line is seen when the alarm rings or the day comes, and by then it
is up to date. Anything else an occasion says (name, age, phone numbers, gift ideas, the note)
is rewritten at once.

What is written is in the form that still rings at ``now`` (rings.settle); a reminder in the
calendar in a form netsync chose earlier stays in it while it says the same (rings.kept).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from netsync.core import rings, texts
from netsync.core.ics import canonical, same_content
from netsync.core.model import (
    ANNIVERSARY,
    BIRTHDAY,
    DIGEST,
    FOLLOW_UP,
    OCCASION,
    UID_PREFIX,
    Reminder,
    StoredReminder,
)

OCCASIONS = (BIRTHDAY, ANNIVERSARY, OCCASION)
QUIET_UNTIL_ALARM = dt.timedelta(days=-7)  # an occasion without alarms: a week before


@dataclass(frozen=True)
class Changes:
    to_create: list[Reminder] = field(default_factory=list)
    to_update: list[tuple[StoredReminder, Reminder]] = field(default_factory=list)
    to_delete: list[StoredReminder] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.to_create or self.to_update or self.to_delete)

    def __len__(self) -> int:
        return len(self.to_create) + len(self.to_update) + len(self.to_delete)


def _kept_as_history(stored: StoredReminder, *, today: dt.date) -> bool:
    reminder = stored.reminder
    if stored.completed is not None:
        return True
    if reminder.kind == DIGEST:  # dated on its Monday, it speaks for the whole week
        return reminder.day + dt.timedelta(days=7) <= today
    return reminder.kind != FOLLOW_UP and reminder.day < today


def _only_last_contact_before_alarm(old: Reminder, new: Reminder, *, today: dt.date) -> bool:
    """An occasion whose first alarm has not rung yet, of which only the "Last contact" line
    changed (see the module docstring)."""
    if new.kind not in OCCASIONS or old.kind != new.kind:
        return False
    first_alarm = min(new.alarms, default=QUIET_UNTIL_ALARM)
    if today >= (dt.datetime.combine(new.day, dt.time()) + first_alarm).date():
        return False
    old, new = canonical(old), canonical(new)
    rest_old, rest_new = (texts.without_last_contact(r.description) for r in (old, new))
    if rest_old is None or rest_old != rest_new:
        return False
    return same_content(
        dataclasses.replace(old, description=rest_old),
        dataclasses.replace(new, description=rest_new),
    )


def diff(
    desired: Sequence[Reminder],
    stored: Sequence[StoredReminder],
    *,
    today: dt.date,
    now: dt.datetime,
) -> Changes:
    """What to create, update and delete so the calendar holds ``desired``. ``now`` is the
    local wall-clock time the writes happen at (rings.settle)."""
    changes = Changes()
    wanted = {r.uid: r for r in desired}
    seen: set[str] = set()
    for item in sorted(stored, key=lambda s: s.href):
        uid = item.reminder.uid
        if not uid.startswith(UID_PREFIX):
            continue  # never touch anyone else's object
        if uid in seen:
            changes.to_delete.append(item)  # a second copy of one of ours: no duplicate UIDs
            continue
        seen.add(uid)
        if uid in wanted:
            want = wanted[uid]
            if item.completed is not None or same_content(item.reminder, want):
                continue
            if rings.kept(item.reminder, want):
                continue
            if _only_last_contact_before_alarm(item.reminder, want, today=today):
                continue
            changes.to_update.append((item, rings.settle(want, now=now)))
        elif not _kept_as_history(item, today=today):
            changes.to_delete.append(item)
    changes.to_create.extend(
        rings.settle(r, now=now) for uid, r in wanted.items() if uid not in seen
    )
    changes.to_create.sort(key=lambda r: (r.day, r.uid))
    return changes
