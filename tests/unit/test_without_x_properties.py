"""A reminder read back from a server that keeps no X- properties and no CATEGORIES (Google
keeps an event in its own model): what the UID carries is enough, and a rewrite that would
only bring back the bookkeeping is not made (it would be dropped again)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from netsync.core import ics, planner
from netsync.core.model import Reminder

STAMP = dt.datetime(2026, 11, 26, 12, tzinfo=dt.UTC)


def follow_up() -> Reminder:
    day = dt.date(2026, 12, 1)
    return Reminder(
        uid=planner.reminder_uid("follow-up", "alice@example.com", day),
        kind="follow-up",
        contact_uid="alice@example.com",
        day=day,
        summary="Get in touch with Alice",
        alarms=(dt.timedelta(hours=-15),),
        planned=day,
        placed=dt.date(2026, 11, 26),
    )


def stripped(data: bytes) -> bytes:
    text = data.decode()
    text = re.sub(r"(?m)^(X-NETSYNC-[^\r\n]*|CATEGORIES:[^\r\n]*)\r\n", "", text)
    return text.encode()


def test_the_kind_comes_from_the_uid() -> None:
    reminder = follow_up()
    parsed = ics.parse(stripped(ics.render(reminder, stamp=STAMP)))
    assert parsed is not None
    back = parsed[0]
    assert back.kind == "follow-up" and back.contact_uid == "" and back.planned is None
    assert ics.kind_of_uid("netsync-digest-20261130") == "digest"
    assert ics.kind_of_uid("netsync-birthday-0123456789abcdef-20261201") == "birthday"
    assert planner.key_of_uid(reminder.uid) == planner.contact_key("alice@example.com")


def test_no_rewrite_for_bookkeeping_the_server_drops() -> None:
    reminder = follow_up()
    parsed = ics.parse(stripped(ics.render(reminder, stamp=STAMP)))
    assert parsed is not None
    assert ics.same_content(parsed[0], reminder)
    # ... but what the reminder says still counts
    assert not ics.same_content(parsed[0], dataclasses.replace(reminder, summary="Call Alice"))
    assert not ics.same_content(
        parsed[0], dataclasses.replace(reminder, day=reminder.day + dt.timedelta(1))
    )
    # and a server that keeps X- properties gets them compared
    kept = ics.parse(ics.render(reminder, stamp=STAMP))
    assert kept is not None
    assert not ics.same_content(kept[0], dataclasses.replace(reminder, planned=None))


def test_a_follow_up_deleted_on_the_phone_counts_without_its_contact_property() -> None:
    from netsync.core import cards, learn
    from netsync.core.model import PlanSettings

    today = dt.date(2026, 12, 1)
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:alice@example.com\r\nFN:Alice\r\nEND:VCARD\r\n"
    contact = cards.parse_card(card, today=today)
    settings = PlanSettings()
    due = planner.due_date(contact, settings, today=today, open_due=None)
    assert due is not None
    uid = planner.reminder_uid("follow-up", contact.uid, due)
    gone = Reminder(uid=uid, kind="follow-up", contact_uid="", day=today, summary="")
    seen = learn.from_deleted_follow_ups(
        [gone], {contact.uid: contact}, today=today, settings=settings
    )
    assert [(o.contact_uid, o.day) for o in seen] == [(contact.uid, today)]
