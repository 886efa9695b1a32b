"""Reminders as iCalendar text: what netsync writes, and what it reads back after servers and
phones had their way with it (netsync/ics.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from icalendar import Calendar

from netsync.core import ics
from netsync.core.model import BIRTHDAY, FOLLOW_UP, KINDS, OCCASION, Reminder

STAMP = dt.datetime(2026, 11, 26, 8, 30, tzinfo=dt.UTC)
DAY = dt.date(2026, 12, 3)
WEEK_BEFORE, DAY_BEFORE = -dt.timedelta(days=6, hours=15), -dt.timedelta(hours=15)

GIFT = Reminder(
    uid="netsync-occasion-3f2a9c",
    kind=OCCASION,
    contact_uid="urn:uuid:0b5c6d1e-7f80-4a1b-9c2d-3e4f5a6b7c8d",
    day=DAY,
    summary="Gerrit Smit: wedding of daughter Lotte",
    description="Last contact: 2026-10-02 (call)\nPhone: +31 6 1234 5678\nGift ideas: good gin",
    alarms=(WEEK_BEFORE, DAY_BEFORE),
)
TASK = dataclasses.replace(
    GIFT,
    uid="netsync-follow-up-77aa01",
    kind=FOLLOW_UP,
    todo=True,
    alarms=(DAY_BEFORE,),
    summary="Get in touch with Alice Jansen",
    planned=DAY,
    placed=DAY - dt.timedelta(days=3),
)

WRITTEN = """BEGIN END VERSION PRODID UID DTSTAMP DTSTART DTEND SUMMARY DESCRIPTION CATEGORIES
TRANSP X-NETSYNC-KIND X-NETSYNC-CONTACT X-NETSYNC-PLANNED X-NETSYNC-PLACED ACTION
TRIGGER"""  # every property an event may have
HOSTILE = [
    "a;b,c:d \"quoted\" 'single' \\ back\\slash \\n \\, \\;",
    "line one\r\nline two\rthree\nfour",
    "x\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:netsync-evil\r\nSUMMARY:injected",
    "x\nEND:VCALENDAR\nBEGIN:VCALENDAR\nBEGIN:VTODO",
    "\r\n BEGIN:VALARM\r\nTRIGGER:PT9H",  # a folded-continuation look-alike
    "emoji 🎂🎉 👨‍👩‍👧 ünïcødé ñ\u0301",
    "ctrl \x00\x07\x0b\x1b\x7f\x85 sep \u2028\u2029 bom \ufeff",
    "é" * 80 + "🎂" * 30,  # folding must not split a character
    "  leading and trailing  ",
    "",
]


def own_components(data: bytes) -> list[str]:
    return [c.name for c in Calendar.from_ical(data).walk() if c.name in ("VEVENT", "VTODO")]


def unfolded(data: bytes) -> list[str]:
    return re.sub(r"\r\n[ \t]", "", data.decode()).split("\r\n")


def with_lines(data: bytes, *lines: str, before: str = "END:VTODO") -> bytes:
    text = data.decode()
    return text.replace(
        f"{before}\r\n", "".join(f"{line}\r\n" for line in lines) + f"{before}\r\n"
    ).encode()


def reparsed(data: bytes | str) -> Reminder:
    got = ics.parse(data)
    assert got is not None
    return got[0]


# -- what is written ---------------------------------------------------------------------------


def test_an_event_is_all_day_with_an_end_and_display_alarms_before_it() -> None:
    lines = unfolded(ics.render(GIFT, stamp=STAMP))
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2:] == ["END:VCALENDAR", ""]
    for line in [
        "VERSION:2.0",
        "PRODID:-//netsync//netsync//EN",
        "DTSTART;VALUE=DATE:20261203",
        "DTEND;VALUE=DATE:20261204",  # iCloud needs a DTEND
        "TRANSP:TRANSPARENT",
        f"UID:{GIFT.uid}",
        "CATEGORIES:occasion",
        "X-NETSYNC-KIND:occasion",
        f"X-NETSYNC-CONTACT:{GIFT.contact_uid}",  # a plain UID stays readable
        "DTSTAMP:20261126T083000Z",
        "TRIGGER:-P6DT15H",
        "TRIGGER:-PT15H",
    ]:
        assert line in lines
    assert lines.count("ACTION:DISPLAY") == 2
    assert lines.count(f"DESCRIPTION:{GIFT.summary}") == 2  # each alarm says what it is about
    assert not any(line.startswith(("DUE", "STATUS", "X-NETSYNC-PLANNED")) for line in lines)
    assert not any("VALUE=DATE-TIME" in line for line in lines if line.startswith("TRIGGER"))


def test_a_task_is_due_on_its_day_and_starts_then_so_its_alarms_have_an_anchor() -> None:
    lines = unfolded(ics.render(TASK, stamp=STAMP))
    assert "BEGIN:VTODO" in lines and "BEGIN:VEVENT" not in lines
    assert "DTSTART;VALUE=DATE:20261203" in lines
    assert "DUE;VALUE=DATE:20261203" in lines  # iOS Reminders / Tasks.org: due on the day itself
    assert "STATUS:NEEDS-ACTION" in lines
    assert "X-NETSYNC-PLANNED:20261203" in lines
    assert not any(line.startswith(("DTEND", "TRANSP")) for line in lines)
    assert "TRIGGER:-PT15H" in lines


def test_render_writes_crlf_lines_of_at_most_75_octets() -> None:
    data = ics.render(dataclasses.replace(GIFT, description="é" * 300), stamp=STAMP)
    assert data.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 75


@pytest.mark.parametrize("offset", [dt.timedelta(hours=9), dt.timedelta(0)])
def test_render_refuses_an_alarm_that_is_not_before_the_day(offset: dt.timedelta) -> None:
    with pytest.raises(ValueError, match="alarms"):
        ics.render(dataclasses.replace(GIFT, alarms=(DAY_BEFORE, offset)), stamp=STAMP)
    timed = dataclasses.replace(GIFT, at=dt.time(14, 30), alarms=(offset,))
    if offset:  # a timed reminder may ring at its start, never after it
        with pytest.raises(ValueError, match="alarms"):
            ics.render(timed, stamp=STAMP)
    else:
        assert reparsed(ics.render(timed, stamp=STAMP)).alarms == (offset,)


@pytest.mark.parametrize("todo", [False, True])
def test_a_timed_reminder_starts_at_a_floating_local_time_and_rings_then(todo: bool) -> None:
    reminder = dataclasses.replace(GIFT, todo=todo, at=dt.time(14, 30), alarms=(dt.timedelta(0),))
    data = ics.render(reminder, stamp=STAMP)
    lines = unfolded(data)
    assert "DTSTART:20261203T143000" in lines  # no TZID, no Z: the wall clock where one is
    assert ("DUE:20261203T143000" if todo else "DTEND:20261203T150000") in lines
    assert "TRIGGER:PT0S" in lines
    assert reparsed(data) == ics.canonical(reminder)


def test_a_timed_reminder_a_phone_gave_a_zone_keeps_its_wall_clock_day_and_time() -> None:
    data = ics.render(
        dataclasses.replace(GIFT, at=dt.time(9), alarms=(dt.timedelta(0),)), stamp=STAMP
    )
    text = data.decode().replace(
        "DTSTART:20261203T090000", "DTSTART;TZID=Europe/Amsterdam:20261203T090000"
    )
    text = text.replace("DTEND:20261203T093000", "DTEND;TZID=Europe/Amsterdam:20261203T093000")
    text = text.replace("TRIGGER:PT0S", "TRIGGER;RELATED=END:-PT30M")  # DAVx5 may relate it
    got = reparsed(text)
    assert (got.day, got.at, got.alarms) == (DAY, dt.time(9), (dt.timedelta(0),))


def test_a_reminder_of_no_one_contact_carries_no_contact_property() -> None:
    digest = dataclasses.replace(GIFT, kind="digest", contact_uid="")
    data = ics.render(digest, stamp=STAMP)
    assert not any(line.startswith("X-NETSYNC-CONTACT") for line in unfolded(data))
    assert reparsed(data).contact_uid == ""
    # what netsync wrote before (an empty property) reads as the same
    old = data.decode().replace("X-NETSYNC-KIND:", "X-NETSYNC-CONTACT:\r\nX-NETSYNC-KIND:")
    assert "X-NETSYNC-CONTACT:\r\n" in old
    assert reparsed(old) == reparsed(data)


@pytest.mark.parametrize("uid", ["someone-else", "netsync-a/b", "netsync-a b", "netsync-", ""])
def test_render_refuses_uids_netsync_does_not_make(uid: str) -> None:
    with pytest.raises(ValueError, match="UID"):
        ics.render(dataclasses.replace(GIFT, uid=uid), stamp=STAMP)


# -- round trips -------------------------------------------------------------------------------

texts = st.text(max_size=200)
reminders = st.builds(
    Reminder,
    uid=st.from_regex(r"netsync-[A-Za-z0-9-]{1,40}", fullmatch=True),
    kind=st.sampled_from(KINDS),
    contact_uid=texts,
    day=st.dates(dt.date(1900, 1, 1), dt.date(2999, 12, 30)),
    summary=texts,
    description=texts,
    alarms=st.lists(
        st.integers(1, 40 * 86400).map(lambda s: -dt.timedelta(seconds=s)), max_size=4
    ).map(tuple),
    todo=st.booleans(),
    planned=st.none() | st.dates(dt.date(1900, 1, 1), dt.date(2999, 12, 31)),
    placed=st.none() | st.dates(dt.date(1900, 1, 1), dt.date(2999, 12, 31)),
)
timed_reminders = st.builds(
    dataclasses.replace,
    reminders,
    at=st.times().map(lambda t: t.replace(microsecond=0)),
    alarms=st.lists(
        st.integers(0, 40 * 86400).map(lambda s: -dt.timedelta(seconds=s)), max_size=4
    ).map(tuple),
)


@given(reminders | timed_reminders)
@example(
    dataclasses.replace(GIFT, summary=HOSTILE[2], description=HOSTILE[3], contact_uid=HOSTILE[2])
)
@example(
    dataclasses.replace(TASK, summary=HOSTILE[4], description=HOSTILE[0], contact_uid=HOSTILE[0])
)
@example(
    dataclasses.replace(GIFT, summary=HOSTILE[6], description=HOSTILE[7], contact_uid=HOSTILE[6])
)
@example(dataclasses.replace(GIFT, summary="", description="", contact_uid="", alarms=()))
def test_what_is_rendered_parses_back_to_the_same_reminder(reminder: Reminder) -> None:
    data = ics.render(reminder, stamp=STAMP)
    got = ics.parse(data)
    assert got is not None
    assert got[0] == ics.canonical(reminder)
    assert got[0].contact_uid == reminder.contact_uid  # exactly, whatever it contains
    assert got[1] is None
    # text can never open a component or a property of its own
    assert own_components(data) == ["VTODO" if reminder.todo else "VEVENT"]
    begins = [line for line in unfolded(data) if line.startswith("BEGIN:")]
    assert len(begins) == 2 + len(reminder.alarms)
    assert sum(line.startswith("UID:") for line in unfolded(data)) == 1


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_stays_inside_its_property(text: str) -> None:
    reminder = dataclasses.replace(GIFT, summary=text, description=text, contact_uid=text)
    data = ics.render(reminder, stamp=STAMP)
    got = reparsed(data)
    assert got.summary == ics.clean_text(text)
    assert got.description == ics.clean_text(text)
    assert got.contact_uid == text
    assert own_components(data) == ["VEVENT"]
    names = {line.split(":")[0].split(";")[0] for line in unfolded(data) if line}
    assert names <= set(WRITTEN.split())


def test_clean_text_is_what_a_server_round_trip_leaves() -> None:
    assert ics.clean_text("a\r\nb\rc\u2028d") == "a\nb\nc\nd"
    assert ics.clean_text("tab\tkept, \x00\x1b\x7f gone, \ufeff too") == "tab\tkept,  gone,  too"
    assert ics.clean_text("🎂 ñ\u0301") == "🎂 ñ\u0301"


# -- reading what servers and phones made of it -------------------------------------------------


def test_extra_properties_new_stamps_lf_endings_and_another_order_change_nothing() -> None:
    lines = unfolded(ics.render(GIFT, stamp=STAMP))
    event = lines[lines.index("BEGIN:VEVENT") + 1 : lines.index("BEGIN:VALARM")]
    rest = lines[lines.index("BEGIN:VALARM") :]
    event = [line for line in event if not line.startswith("DTSTAMP")][::-1] + [
        "DTSTAMP:20270101T000000Z",
        "X-MOZ-GENERATION:3",
        "X-MOZ-LASTACK:20261202T090000Z",
        "LAST-MODIFIED:20261202T090000Z",
        "SEQUENCE:2",
        "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC",
    ]
    changed = "\n".join(lines[: lines.index("BEGIN:VEVENT") + 1] + event + rest)
    assert reparsed(changed) == GIFT
    assert reparsed(changed.encode()) == GIFT


def test_a_phone_that_rewrites_the_alarms_changes_nothing_netsync_compares() -> None:
    # DAVx5 regenerates every VALARM from Android's minutes, in its own order and spelling.
    data = ics.render(GIFT, stamp=STAMP).decode()
    data = (
        data.replace("TRIGGER:-P6DT15H", "TRIGGER:-PT9540M")
        .replace("TRIGGER:-PT15H", "TRIGGER:-P6DT15H")
        .replace("TRIGGER:-PT9540M", "TRIGGER:-PT900M")
    )
    got = reparsed(data)
    assert got.alarms == (DAY_BEFORE, WEEK_BEFORE)
    assert ics.same_content(got, GIFT)
    assert not ics.same_content(got, dataclasses.replace(GIFT, alarms=(DAY_BEFORE,)))


def test_alarms_related_to_the_end_count_from_the_start_and_others_are_ignored() -> None:
    data = ics.render(dataclasses.replace(GIFT, alarms=(DAY_BEFORE,)), stamp=STAMP).decode()
    extra = (
        "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:x\r\nTRIGGER;RELATED=END:-PT15H\r\n"
        "END:VALARM\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:x\r\n"
        "TRIGGER;VALUE=DATE-TIME:20261202T090000Z\r\nEND:VALARM\r\n"
        "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:x\r\nTRIGGER:PT9H\r\nEND:VALARM\r\n"
    )
    got = reparsed(data.replace("END:VEVENT", extra + "END:VEVENT"))
    # the event lasts a day, so 15 hours before its end is 9:00 on the day itself: not before it
    assert got.alarms == (DAY_BEFORE,)
    todo = ics.render(dataclasses.replace(TASK, alarms=()), stamp=STAMP).decode()
    got = reparsed(todo.replace("END:VTODO", extra + "END:VTODO"))
    assert got.alarms == (DAY_BEFORE,)  # a task ends (is due) at the start of its day


def test_a_reminder_the_user_moved_reads_as_moved() -> None:
    data = ics.render(TASK, stamp=STAMP).decode()
    moved = data.replace("DTSTART;VALUE=DATE:20261203", "DTSTART;VALUE=DATE:20261205").replace(
        "DUE;VALUE=DATE:20261203", "DUE;VALUE=DATE:20261205"
    )
    got = reparsed(moved)
    assert got.day == dt.date(2026, 12, 5) and got.planned == DAY
    timed = (
        ics.render(GIFT, stamp=STAMP)
        .decode()
        .replace("DTSTART;VALUE=DATE:20261203", "DTSTART;TZID=Europe/Amsterdam:20261207T100000")
        .replace("DTEND;VALUE=DATE:20261204", "DTEND;TZID=Europe/Amsterdam:20261207T110000")
    )
    assert reparsed(timed).day == dt.date(2026, 12, 7)


def test_the_kind_comes_from_categories_when_a_client_dropped_the_x_property() -> None:
    data = ics.render(dataclasses.replace(GIFT, kind=BIRTHDAY), stamp=STAMP).decode()
    data = data.replace("X-NETSYNC-KIND:birthday\r\n", "").replace(
        "CATEGORIES:birthday", "CATEGORIES:Personal,birthday"
    )
    assert reparsed(data).kind == BIRTHDAY


def test_same_content_sees_what_a_reminder_says_not_how_it_is_spelled() -> None:
    assert ics.same_content(GIFT, dataclasses.replace(GIFT, alarms=GIFT.alarms[::-1]))
    crlf = dataclasses.replace(GIFT, description=GIFT.description.replace("\n", "\r\n"))
    assert ics.same_content(GIFT, crlf)
    assert not ics.same_content(GIFT, dataclasses.replace(GIFT, summary="Other"))
    assert not ics.same_content(GIFT, dataclasses.replace(GIFT, day=DAY + dt.timedelta(days=1)))
    assert not ics.same_content(GIFT, dataclasses.replace(GIFT, contact_uid="x"))


# -- tasks ticked off on a phone -----------------------------------------------------------------


def test_an_open_task_is_not_done() -> None:
    data = ics.render(TASK, stamp=STAMP)
    assert ics.parse(data) == (TASK, None)
    half = with_lines(data, "PERCENT-COMPLETE:50")
    assert ics.parse(half) == (TASK, None)
    started = data.replace(b"STATUS:NEEDS-ACTION", b"STATUS:IN-PROCESS")
    assert ics.parse(started) == (TASK, None)


def test_completed_time_gives_the_day_in_utc_or_in_the_zone_asked_for() -> None:
    # Tasks.org / DAVx5 write STATUS and a UTC COMPLETED; 23:30Z is already the next day in Europe
    data = with_lines(ics.render(TASK, stamp=STAMP), "COMPLETED:20261204T233000Z")
    data = data.replace(b"STATUS:NEEDS-ACTION", b"STATUS:COMPLETED")
    assert ics.parse(data) == (TASK, dt.date(2026, 12, 4))
    assert ics.parse(data, zone=ZoneInfo("Europe/Amsterdam")) == (TASK, dt.date(2026, 12, 5))


def test_completed_alone_means_done() -> None:
    # an Android sync that sends COMPLETED but leaves STATUS alone (borg_calendar #83)
    data = with_lines(ics.render(TASK, stamp=STAMP), "COMPLETED:20261203T150000Z")
    assert ics.parse(data) == (TASK, dt.date(2026, 12, 3))


def test_status_completed_alone_takes_the_day_of_the_phone_write() -> None:
    data = ics.render(TASK, stamp=STAMP).replace(b"STATUS:NEEDS-ACTION", b"STATUS:COMPLETED")
    assert ics.parse(data) == (TASK, STAMP.date())  # nothing newer than netsync's own DTSTAMP
    edited = with_lines(data, "LAST-MODIFIED:20261206T101500Z")
    assert ics.parse(edited) == (TASK, dt.date(2026, 12, 6))


def test_percent_complete_100_alone_means_done() -> None:
    # iOS 5 and Tasks.org have sent PERCENT-COMPLETE:100 without STATUS:COMPLETED
    data = with_lines(
        ics.render(TASK, stamp=STAMP), "PERCENT-COMPLETE:100", "LAST-MODIFIED:20261207T080000Z"
    )
    assert ics.parse(data) == (TASK, dt.date(2026, 12, 7))


def test_an_event_is_never_done() -> None:
    data = with_lines(ics.render(GIFT, stamp=STAMP), "STATUS:COMPLETED", before="END:VEVENT")
    assert ics.parse(data) == (GIFT, None)


def netsync_version(fixture: Path, uid: str) -> bytes:
    text = fixture.read_text()
    old = re.search(r"^UID:.*$", text, re.M)
    assert old is not None
    return text.replace(old.group(0), f"UID:{uid}\nX-NETSYNC-CONTACT:c-1").encode()


def test_a_task_with_only_a_due_date_is_due_then(fixtures_dir: Path) -> None:
    # py-vobject's RFC 4791-style VTODO: DUE;VALUE=DATE, no DTSTART, CATEGORIES:FAMILY,FINANCE
    data = netsync_version(fixtures_dir / "py-vobject" / "vtodo.ics", "netsync-t1")
    got = ics.parse(data)
    assert got is not None
    reminder, done = got
    assert (reminder.day, reminder.todo, reminder.kind, done) == (
        dt.date(2007, 5, 1),
        True,
        "",
        None,
    )
    assert reminder.contact_uid == "c-1"
    done_now = data.replace(b"STATUS:NEEDS-ACTION", b"STATUS:COMPLETED")
    assert ics.parse(done_now) == (reminder, dt.date(2007, 3, 13))  # its DTSTAMP


def test_a_davdroid_task_ticked_by_percentage_is_done_on_its_last_modified_day(
    fixtures_dir: Path,
) -> None:
    data = netsync_version(fixtures_dir / "Radicale" / "todo9.ics", "netsync-t9")
    untouched = ics.parse(data)
    assert untouched is not None and untouched[0].todo and untouched[1] is None
    ticked = data.replace(b"STATUS:NEEDS-ACTION", b"PERCENT-COMPLETE:100")
    ticked = ticked.replace(b"LAST-MODIFIED:20180102T122042Z", b"LAST-MODIFIED:20180105T090000Z")
    got = ics.parse(ticked)
    assert got is not None and got[1] == dt.date(2018, 1, 5)


# -- not netsync's -------------------------------------------------------------------------------

FOREIGN = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apple Inc.//iOS 17//EN\r\nBEGIN:VEVENT\r\n"
    "UID:8F1D2C3B-netsync-lookalike\r\nDTSTAMP:20261126T000000Z\r\n"
    "DTSTART;VALUE=DATE:20261203\r\nSUMMARY:Dentist\r\nCATEGORIES:follow-up\r\n"
    "X-NETSYNC-KIND:follow-up\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


@pytest.mark.parametrize(
    "data",
    [
        FOREIGN,
        FOREIGN.encode(),
        FOREIGN.replace("VEVENT", "VJOURNAL").replace("8F1D2C3B-", "netsync-"),
        b"",
        b"\x00\xff\xfe garbage \x80",
        "not a calendar at all",
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:netsync-x\r\n",  # cut off
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:netsync-x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:netsync-x\r\nDTSTART:garbage\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n",
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:netsync-x\r\nFN:x\r\nEND:VCARD\r\n",
    ],
)
def test_foreign_or_broken_data_is_not_a_reminder(data: bytes | str) -> None:
    assert ics.parse(data) is None


@given(st.binary(max_size=300) | st.text(max_size=300))
def test_parse_never_raises(data: bytes | str) -> None:
    assert ics.parse(data) is None  # never raises, and noise is never a reminder


@given(st.text(max_size=80))
def test_parse_never_raises_on_broken_values_inside_an_owned_event(value: str) -> None:
    owned = FOREIGN.replace("8F1D2C3B-netsync-lookalike", "netsync-x")
    for name in ("DTSTART", "DTSTAMP", "X-NETSYNC-PLANNED", "X-NETSYNC-CONTACT", "CATEGORIES"):
        parsed = ics.parse(owned.replace("END:VEVENT", f"{name}:{value}\r\nEND:VEVENT"))
        if name == "DTSTART":  # a second start: no day to put it on, so not read as a reminder
            assert parsed is None
            continue
        # Any other added line leaves the reminder on its day, with its kind and summary.
        assert parsed is not None, name
        reminder, done = parsed
        assert (reminder.uid, reminder.day, reminder.kind, reminder.summary, done) == (
            "netsync-x",
            DAY,
            FOLLOW_UP,
            "Dentist",
            None,
        ), name
    task = ics.render(TASK, stamp=STAMP).decode()
    for prop in ("COMPLETED", "PERCENT-COMPLETE", "STATUS", "TRIGGER"):
        parsed = ics.parse(task.replace("END:VTODO", f"{prop}:{value}\r\nEND:VTODO"))
        if any(c in value for c in "\r\n"):  # lines of their own: anything may follow
            assert parsed is None or parsed[0] == TASK, prop
            continue
        # Still the very task netsync wrote: a phone's one bad line does not hide it (it would
        # be created again every cycle and meet 412); a broken value counts as absent.
        assert parsed is not None, (prop, value)
        assert parsed[0] == TASK, prop


def test_real_world_calendar_files_are_none_of_netsyncs(fixtures_dir: Path) -> None:
    files = sorted(fixtures_dir.rglob("*.ics"))
    assert files, f"no .ics files under {fixtures_dir}"
    for path in files:
        assert ics.parse(path.read_bytes()) is None, path
