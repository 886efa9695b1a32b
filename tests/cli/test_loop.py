"""Closing the loop end to end (issue 3, SPEC 6): each way a user records contact is picked up
by the next `netsync sync` and written into the contact's NOTE, and nothing else changes.

Another client (a phone) is played with plain HTTP requests against the real servers.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import icalendar
import pytest

from netsync.commands import main
from netsync.core import notepatch, notes
from netsync.dav import addressbook
from tests import davcheck, servers
from tests.scenario import TODAY, upload_sample, write_config

CHEN = "p002.vcf"  # Chen Wei, chen@example.net, Friends (60d), last contact 100 days ago
ALICE = "p000.vcf"  # Alice Jansen, every 60d, last contact 75 days ago


def run(config: Path, *args: str, today: dt.date = TODAY) -> int:
    return main(["--config", str(config), *args, "--today", today.isoformat()])


def ledger(server: servers.Server, name: str) -> tuple[str, notes.Ledger]:
    card = davcheck.get(server, server.addressbook + name).decode()
    return notes.parse_note(notepatch.read_note(card), today=TODAY)


def etag(server: servers.Server, name: str) -> str:
    return davcheck.children(server, server.addressbook)[server.addressbook + name]


def reminders(server: servers.Server) -> dict[str, tuple[str, str, icalendar.Component]]:
    """summary -> (href, etag, component) of everything in the reminders calendar."""
    cal = davcheck.calendars(server)["Keep in touch"]
    out = {}
    for href, (tag, body) in davcheck.snapshot(server, cal).items():
        for comp in icalendar.Calendar.from_ical(body).walk():
            if comp.name in ("VEVENT", "VTODO"):
                out[str(comp["SUMMARY"])] = (href, tag, comp)
    return out


def phone_rewrites(server: servers.Server, href: str, tag: str, body: str) -> None:
    """The phone PUTs its edited copy of a reminder, with If-Match."""
    status, _, _ = davcheck.request(
        server,
        "PUT",
        href,
        body=body.encode(),
        headers={"If-Match": tag, "Content-Type": "text/calendar"},
    )
    assert status in (201, 204)


def tick_off(server: servers.Server, summary: str) -> str:
    """The phone ticks off the follow-up task ``summary`` on TODAY; returns its href."""
    href, tag, todo = reminders(server)[summary]
    assert todo.name == "VTODO"
    body = davcheck.get(server, href).decode()
    done = body.replace("STATUS:NEEDS-ACTION", "STATUS:COMPLETED\r\nCOMPLETED:20261126T150000Z")
    assert done != body
    phone_rewrites(server, href, tag, done)
    return href


@pytest.fixture
def synced(server: servers.Server, tmp_path: Path) -> tuple[servers.Server, Path]:
    upload_sample(server)
    config = write_config(server, tmp_path)
    assert run(config, "sync") == 0
    return server, config


def test_log_records_contact_and_replans(
    synced: tuple[servers.Server, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    server, config = synced
    capsys.readouterr()
    assert run(config, "log", "alice jansen", "--via", "call") == 0
    out = capsys.readouterr().out
    assert "* Alice Jansen: last contact 2026-11-26 (call), from netsync log" in out
    user, found = ledger(server, ALICE)
    assert user == "Likes sailing, daughter Emma studies in Delft."
    assert (found.last, found.how) == (TODAY, "call")
    assert found.gifts == ("sailing book, good gin",)
    now = reminders(server)
    assert "Get in touch with Alice Jansen" not in now  # next one is due in 60 days
    assert "Last contact: 2026-11-26 (call)" in str(now["Alice Jansen turns 47"][2]["DESCRIPTION"])

    # The same again, or an older date: the card is not written.
    before = etag(server, ALICE)
    assert run(config, "log", "alice@example.org", "--via", "call") == 0
    assert run(config, "log", "netsync-demo-000", "--date", "2026-11-01") == 0
    assert "a later contact is already recorded (2026-11-26)" in capsys.readouterr().out
    assert etag(server, ALICE) == before


def test_log_with_several_or_no_matches_writes_nothing(
    synced: tuple[servers.Server, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    server, config = synced
    before = davcheck.children(server, server.addressbook)
    capsys.readouterr()
    assert run(config, "log", "de") == 2
    err = capsys.readouterr().err
    assert "contacts match 'de'" in err and "Bram de Vries" in err and "Marieke de Boer" in err
    assert run(config, "log", "nobody at all") == 2
    assert "no contact matches" in capsys.readouterr().err
    assert davcheck.children(server, server.addressbook) == before


PEOPLE = {
    "zoe.vcf": {"fn": "Zoë Müller", "email": "zoe@example.org"},
    "soren.vcf": {"fn": "Søren Kierkegård"},
    "lukasz.vcf": {"fn": "Łukasz Wróbel"},
    "jurgen.vcf": {"fn": "Jürgen Weiß"},
    "org.vcf": {"fn": "Müller & Zoë GmbH", "org": "Müller & Zoë GmbH"},
}


def last_of(server: servers.Server, name: str) -> dt.date | None:
    return ledger(server, name)[1].last


def test_log_ignores_case_and_accents_and_reads_dates_as_the_note_does(
    server: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 13, point 6. ø, ł and ß do not decompose in Unicode: a transliteration finds
    them. --date takes what a `last:` line takes. The organisation is never offered."""
    from netsync.app import demo

    for index, (name, person) in enumerate(PEOPLE.items()):
        assert servers.put_card(server, name, demo.vcard(person, 300 + index)) == 201
    config = write_config(server, tmp_path)
    assert run(config, "sync") == 0
    org_before = davcheck.get(server, server.addressbook + "org.vcf")

    assert run(config, "log", "zoe", "--date", "gisteren") == 0  # not the GmbH
    assert last_of(server, "zoe.vcf") == TODAY - dt.timedelta(days=1)
    assert run(config, "log", "MULLER", "--date", "Vandaag", "--via", "call") == 0
    assert last_of(server, "zoe.vcf") == TODAY
    assert run(config, "log", "soren kierkegard", "--date", "24-11-2026") == 0
    assert last_of(server, "soren.vcf") == dt.date(2026, 11, 24)
    assert run(config, "log", "lukasz", "--date", "yesterday") == 0
    assert last_of(server, "lukasz.vcf") == TODAY - dt.timedelta(days=1)
    assert run(config, "log", "weiss", "--date", "2026-11-20") == 0
    assert last_of(server, "jurgen.vcf") == dt.date(2026, 11, 20)
    capsys.readouterr()

    assert run(config, "log", "gmbh") == 2
    err = capsys.readouterr().err
    assert "'gmbh' matches only an organisation (Müller & Zoë GmbH)" in err
    assert run(config, "log", "soren", "--date", "05/12/2026") == 2
    assert "--date: not a date: '05/12/2026'; write YYYY-MM-DD, D-M-YYYY" in capsys.readouterr().err
    assert run(config, "log", "soren", "--date", "1-1-2027") == 2
    assert "--date 2027-01-01 is in the future" in capsys.readouterr().err
    assert last_of(server, "soren.vcf") == dt.date(2026, 11, 24)
    assert davcheck.get(server, server.addressbook + "org.vcf") == org_before


@pytest.mark.parametrize(
    ("typed", "day"),
    [("today", TODAY), ("gisteren", TODAY - dt.timedelta(days=1)), ("24-11-2026", None)],
)
def test_phone_typed_dates_are_understood_and_rewritten(
    xandikos: servers.Server, tmp_path: Path, typed: str, day: dt.date | None
) -> None:
    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:typed\r\nFN:Typed On Phone\r\n"
        "TEL:+31 6 1111 2222\r\nNOTE:Met at the fair.\\n\\n[netsync]\\nlast: "
        + typed
        + " call\\n[/netsync]\r\nEND:VCARD\r\n"
    )
    assert servers.put_card(xandikos, "typed.vcf", card) == 201
    config = write_config(xandikos, tmp_path)
    assert run(config, "sync") == 0
    user, found = ledger(xandikos, "typed.vcf")
    assert user == "Met at the fair." and found.last == (day or dt.date(2026, 11, 24))
    assert found.how == "call" and not found.needs_rewrite
    after = davcheck.get(xandikos, xandikos.addressbook + "typed.vcf").decode()
    assert after.replace(after.split("NOTE:")[1].split("\r\nEND")[0], "") == card.replace(
        card.split("NOTE:")[1].split("\r\nEND")[0], ""
    )
    tag = etag(xandikos, "typed.vcf")
    assert run(config, "sync") == 0
    assert etag(xandikos, "typed.vcf") == tag  # rewritten once, then left alone


def test_a_task_ticked_off_on_the_phone_records_contact(
    server: servers.Server, tmp_path: Path
) -> None:
    upload_sample(server)
    config = write_config(server, tmp_path, extra='[follow_up]\nas = "todo"')
    assert run(config, "sync") == 0
    href = tick_off(server, "Get in touch with Chen Wei")

    assert run(config, "sync", today=TODAY + dt.timedelta(days=1)) == 0
    assert ledger(server, CHEN)[1].last == TODAY
    after = reminders(server)
    assert "Get in touch with Chen Wei" in after  # the ticked task stays, as history
    assert after["Get in touch with Chen Wei"][0] == href


def test_a_deleted_follow_up_event_records_contact_that_day(
    synced: tuple[servers.Server, Path],
) -> None:
    server, config = synced
    href, tag, event = reminders(server)["Get in touch with Chen Wei"]
    assert davcheck.day_of(event) == TODAY
    status, _, _ = davcheck.request(server, "DELETE", href, headers={"If-Match": tag})
    assert status in (200, 204)
    assert run(config, "sync") == 0
    assert ledger(server, CHEN)[1].last == TODAY
    assert "Get in touch with Chen Wei" not in reminders(server)


def test_a_future_follow_up_deleted_early_is_not_contact(
    synced: tuple[servers.Server, Path],
) -> None:
    server, config = synced
    future = {
        s: v
        for s, v in reminders(server).items()
        if s.startswith("Get in touch") and davcheck.day_of(v[2]) > TODAY
    }
    summary, (href, tag, _) = sorted(future.items())[0]
    contacts_before = davcheck.children(server, server.addressbook)
    assert davcheck.request(server, "DELETE", href, headers={"If-Match": tag})[0] in (200, 204)
    assert run(config, "sync") == 0
    assert davcheck.children(server, server.addressbook) == contacts_before
    assert summary in reminders(server)  # still wanted, so it is back


def test_a_moved_follow_up_stays_on_the_users_day(synced: tuple[servers.Server, Path]) -> None:
    server, config = synced
    href, tag, event = reminders(server)["Get in touch with Chen Wei"]
    body = davcheck.get(server, href).decode()
    new_day = TODAY + dt.timedelta(days=3)
    moved = davcheck.moved_to(body, TODAY, new_day)
    assert moved != body
    phone_rewrites(server, href, tag, moved)
    contacts_before = davcheck.children(server, server.addressbook)
    calendar_before = davcheck.snapshot(server, davcheck.calendars(server)["Keep in touch"])
    for day in (TODAY, TODAY + dt.timedelta(days=1)):
        assert run(config, "sync", today=day) == 0
    assert davcheck.day_of(reminders(server)["Get in touch with Chen Wei"][2]) == new_day
    assert davcheck.children(server, server.addressbook) == contacts_before
    after = davcheck.snapshot(server, davcheck.calendars(server)["Keep in touch"])
    assert after[href] == calendar_before[href]  # not even rewritten


MKCALENDAR = b"""<?xml version="1.0" encoding="utf-8"?>
<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop>
<d:displayname>Work</d:displayname></d:prop></d:set></c:mkcalendar>"""


def _event(uid: str, day: dt.date, summary: str, attendee: str = "") -> bytes:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//phone//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20261101T000000Z",
        f"DTSTART:{day:%Y%m%d}T100000Z",
        f"DTEND:{day:%Y%m%d}T110000Z",
        f"SUMMARY:{summary}",
    ]
    if attendee:
        lines.append(f"ATTENDEE;CN=Someone:mailto:{attendee}")
    lines += ["END:VEVENT", "END:VCALENDAR", ""]
    return "\r\n".join(lines).encode()


def test_past_events_in_detect_calendars_record_contact(
    server: servers.Server, tmp_path: Path
) -> None:
    upload_sample(server)
    work = server.calendar_home + "work/"
    assert (
        davcheck.request(
            server, "MKCALENDAR", work, body=MKCALENDAR, headers={"Content-Type": "application/xml"}
        )[0]
        == 201
    )
    for name, body in (
        (
            "a.ics",
            _event("a", TODAY - dt.timedelta(days=2), "Quarterly review", "Chen@Example.net"),
        ),
        ("b.ics", _event("b", TODAY - dt.timedelta(days=6), "Lunch with Hanna Kowalska")),
        ("c.ics", _event("c", TODAY + dt.timedelta(days=2), "Dinner with Alice Jansen")),
    ):
        assert (
            davcheck.request(
                server, "PUT", work + name, body=body, headers={"Content-Type": "text/calendar"}
            )[0]
            == 201
        )
    config = write_config(server, tmp_path, extra='[detect]\ncalendars = ["Work"]')
    alice_before = etag(server, ALICE)
    assert run(config, "sync") == 0
    chen = ledger(server, CHEN)[1]
    assert (chen.last, chen.how) == (TODAY - dt.timedelta(days=2), "meeting")
    assert ledger(server, "p004.vcf")[1].last == TODAY - dt.timedelta(days=6)  # Hanna
    assert etag(server, ALICE) == alice_before  # her dinner has not happened yet

    # The next day nothing new is read, and nothing is written.
    before = davcheck.children(server, server.addressbook)
    assert run(config, "sync", today=TODAY + dt.timedelta(days=1)) == 0
    assert davcheck.children(server, server.addressbook) == before
    # Three days on, the dinner with Alice is in the past and counts.
    assert run(config, "sync", today=TODAY + dt.timedelta(days=3)) == 0
    assert ledger(server, ALICE)[1].last == TODAY + dt.timedelta(days=2)


def test_a_phone_edit_between_read_and_write_survives(
    synced: tuple[servers.Server, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, config = synced
    real_put = addressbook.put_card
    edits = []

    def phone_edits_first(client: object, href: str, text: str, *, etag: str) -> str | None:
        if not edits:  # the phone saves the card just before netsync's PUT arrives
            name = href.rsplit("/", 1)[1]
            card = davcheck.get(server, server.addressbook + name).decode()
            edited = card.replace("END:VCARD", "TEL;TYPE=WORK:+31 20 999 0000\r\nEND:VCARD")
            assert servers.put_card(server, name, edited, etag=etag) in (201, 204)
            edits.append(href)
        return real_put(client, href, text, etag=etag)

    monkeypatch.setattr(addressbook, "put_card", phone_edits_first)
    assert run(config, "log", "Chen Wei", "--via", "coffee") == 0
    assert edits
    card = davcheck.get(server, server.addressbook + CHEN).decode()
    assert "+31 20 999 0000" in card  # the phone's edit
    found = notes.parse_note(notepatch.read_note(card), today=TODAY)[1]
    assert (found.last, found.how) == (TODAY, "coffee")  # and netsync's


def test_the_weekly_digest_follows_the_week(synced: tuple[servers.Server, Path]) -> None:
    server, config = synced
    digest = "netsync-digest-20261123"  # Monday of the week of 2026-11-26
    summary = next(s for s, v in reminders(server).items() if v[0].endswith(digest + ".ics"))
    assert summary.startswith("This week: call ") and "Chen Wei" in summary
    assert run(config, "log", "Chen Wei", "--via", "call") == 0
    after = next(s for s, v in reminders(server).items() if v[0].endswith(digest + ".ics"))
    assert after.startswith("This week: call ") and "Chen Wei" not in after


def test_a_recorded_contact_the_phone_writes_over_is_recorded_again(
    server: servers.Server, tmp_path: Path
) -> None:
    """A phone with a stale copy of the card writes it back over the NOTE netsync just wrote.
    The ticked task still says when contact happened, so the next cycle records it again;
    the card must not pass for one that nothing netsync reads changed in."""
    upload_sample(server)
    config = write_config(server, tmp_path, extra='[follow_up]\nas = "todo"')
    assert run(config, "sync") == 0
    stale = davcheck.get(server, server.addressbook + CHEN).decode()
    tick_off(server, "Get in touch with Chen Wei")
    assert run(config, "sync") == 0
    assert ledger(server, CHEN)[1].last == TODAY
    assert run(config, "sync") == 0  # a cycle with nothing new: the last plan stands

    assert servers.put_card(server, CHEN, stale, etag=etag(server, CHEN)) in (201, 204)
    assert ledger(server, CHEN)[1].last != TODAY
    assert run(config, "sync") == 0
    assert ledger(server, CHEN)[1].last == TODAY
