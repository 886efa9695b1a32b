"""`netsync sync`, `due` and `check` end to end against real Radicale and Xandikos.

What a user would look at: what lands in the calendar (read back with plain HTTP and parsed
with icalendar, not with netsync's own code), that contacts are not written, that a second
run changes nothing, that other people's events are left alone, and the exit codes.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from collections import Counter
from pathlib import Path

import icalendar
import pytest

from netsync.app.engine import Report
from netsync.commands import main
from tests import davcheck, servers
from tests.scenario import TODAY, upload_sample, write_config


def sync(config: Path, *args: str) -> int:
    return main(["--config", str(config), "sync", "--today", TODAY.isoformat(), *args])


def calendar_url(server: servers.Server) -> str:
    return davcheck.calendars(server)["Keep in touch"]


def events(server: servers.Server) -> dict[str, icalendar.Component]:
    """UID -> the VEVENT/VTODO of every object in the reminders calendar."""
    out = {}
    for _, (_, body) in davcheck.snapshot(server, calendar_url(server)).items():
        cal = icalendar.Calendar.from_ical(body)
        for comp in cal.walk():
            if comp.name in ("VEVENT", "VTODO"):
                assert str(comp["UID"]) not in out, "duplicate UID"
                out[str(comp["UID"])] = comp
    return out


FOREIGN = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//someone else//EN\r\nBEGIN:VEVENT\r\n"
    "UID:dentist-2026\r\nDTSTAMP:20261101T100000Z\r\nDTSTART;VALUE=DATE:20261201\r\n"
    "DTEND;VALUE=DATE:20261202\r\nSUMMARY:Dentist\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def test_sample_book_in_expected_reminders_out(
    server: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upload_sample(server)
    config = write_config(server, tmp_path)
    contacts_before = davcheck.children(server, server.addressbook)

    assert sync(config) == 0
    out = capsys.readouterr().out
    assert "+ 2026-12-01  birthday    Alice Jansen turns 47" in out
    assert out.strip().splitlines()[-1].startswith("25 contacts read, ")

    found = events(server)
    summaries = {str(c["SUMMARY"]): c for c in found.values()}
    alice = summaries["Alice Jansen turns 47"]
    assert alice.decoded("DTSTART") == TODAY + dt.timedelta(days=5)
    assert alice.decoded("DTEND") == TODAY + dt.timedelta(days=6)
    assert [str(c) for c in alice["CATEGORIES"].cats] == ["birthday"]
    assert str(alice["X-NETSYNC-CONTACT"]) == "netsync-demo-000"
    assert "Gift ideas: sailing book" in str(alice["DESCRIPTION"])
    assert "Phone: +31 6 1234 5678" in str(alice["DESCRIPTION"])
    assert "Ingrid Bakker: 22 years married" in summaries
    assert "Karin Visser: Wedding (25 years)" in summaries
    assert "Gerrit Smit: wedding of daughter Lotte" in summaries
    assert "Marieke de Boer turns 39" in summaries  # 29 Feb 1988 -> 28 Feb 2027
    assert summaries["Marieke de Boer turns 39"].decoded("DTSTART") == dt.date(2027, 2, 28)
    follow = [c for c in found.values() if "follow-up" in str(c["UID"])]
    names = {str(c["SUMMARY"]) for c in follow}
    assert "Get in touch with Chen Wei" in names
    for nobody in ("Garage Hendriks B.V.", "Umar Farouk", "Tineke Dijkstra", "Vera Smits"):
        assert f"Get in touch with {nobody}" not in names  # org, never, paused, just seen
    assert max(Counter(davcheck.day_of(c) for c in follow).values()) <= 3
    for comp in found.values():
        assert str(comp["UID"]).startswith("netsync-")
        assert "DTEND" in comp
        alarms = [a for a in comp.subcomponents if a.name == "VALARM"]
        # before an all-day reminder's day; at the start of one written too late for that
        timed = isinstance(comp.decoded("DTSTART"), dt.datetime)
        assert alarms and all(a.decoded("TRIGGER") < dt.timedelta(0) or timed for a in alarms)
        assert all(a.decoded("TRIGGER") <= dt.timedelta(0) for a in alarms)
        assert all(str(a["ACTION"]) == "DISPLAY" and "DESCRIPTION" in a for a in alarms)

    # A sync writes no contact.
    assert davcheck.children(server, server.addressbook) == contacts_before


def test_second_sync_changes_nothing_and_foreign_objects_stay(
    server: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upload_sample(server)
    config = write_config(server, tmp_path)
    assert sync(config) == 0
    cal = calendar_url(server)
    foreign_href = cal + "dentist.ics"
    status, _, _ = davcheck.request(
        server,
        "PUT",
        foreign_href,
        body=FOREIGN.encode(),
        headers={"Content-Type": "text/calendar"},
    )
    assert status == 201
    calendar_before = davcheck.snapshot(server, cal)
    contacts_before = davcheck.children(server, server.addressbook)
    capsys.readouterr()

    assert sync(config) == 0
    assert (
        capsys.readouterr()
        .out.strip()
        .endswith("25 contacts read, 0 reminders created, 0 updated, 0 deleted")
    )
    assert davcheck.snapshot(server, cal) == calendar_before
    assert davcheck.children(server, server.addressbook) == contacts_before

    # A new day, a lost state directory: still no duplicate, and the dentist is untouched.
    for child in (tmp_path / "state").iterdir():
        child.unlink()
    assert main(["--config", str(config), "sync", "--today", "2026-11-27"]) == 0
    after = davcheck.snapshot(server, cal)
    assert after[foreign_href] == calendar_before[foreign_href]
    events(server)  # asserts no duplicate UID


def test_dry_run_writes_nothing(
    server: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upload_sample(server)
    config = write_config(server, tmp_path)
    assert sync(config, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "+ 2026-12-01  birthday    Alice Jansen turns 47" in out
    assert "dry run, nothing written" in out
    assert "Keep in touch" not in davcheck.calendars(server)


def test_due_json_and_table(
    server: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upload_sample(server)
    config = write_config(server, tmp_path)
    argv = ["--config", str(config), "due", "--today", TODAY.isoformat(), "--days", "7"]
    assert main([*argv, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"date", "kind", "contact", "uid", "summary"} <= set(rows[0])
    alice = [r for r in rows if r["summary"] == "Alice Jansen turns 47"]
    assert alice == [
        {
            **alice[0],
            "date": "2026-12-01",
            "kind": "birthday",
            "contact": "Alice Jansen",
            "uid": "netsync-demo-000",
        }
    ]
    assert all(r["date"] <= "2026-12-03" for r in rows)
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert table.index("Overdue") < table.index("This week")
    assert "\033[" not in table  # no colour when not on a terminal
    assert "Get in touch with Chen Wei" in table


def sections(table: str) -> dict[str, list[str]]:
    """`due`'s table: section title -> its lines."""
    found: dict[str, list[str]] = {}
    for line in table.splitlines():
        if line and not line.startswith(" "):
            found[line] = []
        else:
            found[list(found)[-1]].append(line)
    return found


def test_due_has_a_today_section_and_tomorrow_is_not_overdue(
    server: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 13, point 9. The calendar was written yesterday; today three late follow-ups
    are on today's list (overdue), Vera's birthday is today, and the late follow-ups that
    max_per_day put on later days are listed there, saying how late they are."""
    upload_sample(server)
    config = write_config(server, tmp_path)
    assert sync(config) == 0
    capsys.readouterr()
    tomorrow = TODAY + dt.timedelta(days=1)
    argv = ["--config", str(config), "due", "--today", tomorrow.isoformat(), "--days", "14"]
    assert main(argv) == 0
    table = capsys.readouterr().out
    found = sections(table)
    assert list(found)[:3] == ["Overdue", "Today", "This week"]
    assert found["Overdue"] and all(
        line.startswith("  Fri 27 Nov  follow-up") for line in found["Overdue"]
    )
    assert all("days ago)" in line or "day ago)" in line for line in found["Overdue"])
    assert found["Today"] == ["  Fri 27 Nov  birthday    Vera Smits turns 29"]
    later = [line for line in found["This week"] if "Sat 28 Nov  follow-up" in line]
    assert any("(due 2026-11-26, 1 day ago)" in line for line in later)  # late, but tomorrow's
    # An occasion shows the person's gift ideas, on one line below it.
    week = found["This week"]
    alice = week.index("  Tue 01 Dec  birthday    Alice Jansen turns 47")
    assert week[alice + 1] == " " * 26 + "gift ideas: sailing book, good gin"
    assert main([*argv, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["gifts"] for r in rows if r["summary"] == "Alice Jansen turns 47"] == [
        ["sailing book, good gin"]
    ]
    assert all(r["gifts"] == [] for r in rows if r["kind"] == "follow-up")


def test_bad_cards_are_skipped_and_counted(
    xandikos: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upload_sample(xandikos)
    # Xandikos stores what vobject can read, which is more than netsync can use: a card
    # without UID, two cards in one resource. A text birthday and a garbage one only lose
    # the date.
    no_uid = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:No Uid\r\nN:Uid;No;;;\r\nEND:VCARD\r\n"
    two = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:a\r\nFN:A\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:b\r\nFN:B\r\nEND:VCARD\r\n"
    )
    text_bday = (
        "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:text-bday\r\nFN:Text Bday\r\n"
        "BDAY;VALUE=text:circa 1800\r\nEND:VCARD\r\n"
    )
    garbage = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:garbage-bday\r\nFN:Garbage Bday\r\n"
        "BDAY:not a date\r\nEND:VCARD\r\n"
    )
    for name, card in (
        ("no-uid.vcf", no_uid),
        ("two.vcf", two),
        ("text.vcf", text_bday),
        ("garbage.vcf", garbage),
    ):
        assert servers.put_card(xandikos, name, card) == 201
    config = write_config(xandikos, tmp_path)
    assert sync(config) == 1
    captured = capsys.readouterr()
    assert "29 contacts read" in captured.out and "2 cards skipped" in captured.out
    assert "no-uid.vcf" in captured.err and "two.vcf" in captured.err
    assert "Alice Jansen turns 47" in {str(c["SUMMARY"]) for c in events(xandikos).values()}


def test_unreachable_server_exits_75(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = servers.free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[contacts]\nurl = "http://127.0.0.1:{port}/dav/"\n[state]\ndir = "{tmp_path / "state"}"\n'
    )
    assert main(["--config", str(config), "sync"]) == 75
    err = capsys.readouterr().err
    assert f"http://127.0.0.1:{port}" in err and "refused" in err


@pytest.mark.parametrize(
    ("command", "writes"),
    [
        (["sync"], True),
        (["sync", "--dry-run"], False),
        (["due"], False),
        (["log", "Alice"], False),  # it had not found Alice yet, so it wrote nothing
        (["check"], False),
    ],
)
def test_only_a_command_that_writes_says_its_writes_are_safe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str], writes: bool
) -> None:
    """Issue 13, point 11: "what this run wrote is safe" from a command that only reads
    makes a user wonder what it wrote."""
    port = servers.free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[contacts]\nurl = "http://127.0.0.1:{port}/dav/"\n[state]\ndir = "{tmp_path / "state"}"\n'
    )
    assert main(["--config", str(config), *command]) == 75
    said = capsys.readouterr()
    assert f"127.0.0.1:{port}" in said.err + said.out
    assert ("what this run wrote is safe" in said.err) is writes
    assert "wrote" not in said.out + said.err or writes


def test_wrong_password_exits_77(
    radicale: servers.Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("NETSYNC_PASSWORD", "wrong")
    config = write_config(radicale, tmp_path)
    assert sync(config) == 77
    err = capsys.readouterr().err
    assert "alice" in err and radicale.root.rstrip("/") in err
    assert "wrong" not in err


def test_address_book_given_as_calendar_is_refused(
    server: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upload_sample(server)
    config = write_config(server, tmp_path, reminders_url=server.addressbook)
    contacts_before = davcheck.children(server, server.addressbook)
    assert sync(config) == 78
    assert "address book" in capsys.readouterr().err
    assert davcheck.children(server, server.addressbook) == contacts_before


def test_bad_config_lists_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[contacts]\nurl = "not a url"\n[follow_up]\nmax_per_day = "x"\nevery = "often"\n'
    )
    assert main(["--config", str(config), "sync"]) == 78
    err = capsys.readouterr().err
    assert "url" in err and "max_per_day" in err and "every" in err


def test_check_reports_each_verdict(
    server: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(server, tmp_path)
    assert main(["--config", str(config), "check"]) == 0
    out = capsys.readouterr().out
    for what in ("config", "password", "address books", "calendar", "write permission"):
        assert f"[ok  ] {what}" in out
    assert not [u for u in events(server) if u.startswith("netsync-check")]


def phone_edits(server: servers.Server, name: str, old: str, new: str) -> None:
    """A phone changes the first ``old`` in card ``name`` to ``new`` and PUTs it (If-Match)."""
    href = server.addressbook + name
    card = davcheck.get(server, href).decode()
    tag = davcheck.children(server, server.addressbook)[href]
    assert old in card
    assert servers.put_card(server, name, card.replace(old, new, 1), etag=tag) in (201, 204)


def phone_adds(server: servers.Server, name: str, line: str) -> None:
    """A phone adds ``line`` at the end of card ``name``."""
    phone_edits(server, name, "END:VCARD", f"{line}\r\nEND:VCARD")


def test_a_cycle_with_nothing_new_reads_no_cached_etags(
    server: servers.Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sync reports that list nothing need no lookup of what is cached: a no-change cycle
    reads no row per contact or reminder, whatever the size of the address book."""
    from netsync.app.config import load_settings
    from netsync.app.state import State
    from netsync.commands.common import run_once

    upload_sample(server)
    config = write_config(server, tmp_path)
    assert sync(config) == 0
    assert sync(config) == 0  # confirms the first cycle's own writes
    settings = load_settings(config)
    if server.kind == "sogo":
        # SOGo's sync token is the time in seconds, and a report lists again everything
        # changed in the token's own second: only once that second is over does a cycle with
        # nothing new get an empty report.
        time.sleep(1.1)
        assert run_once(settings, today=TODAY, dry_run=False).unchanged
    read: list[str] = []
    etags = State.etags

    def counted(self: State, url: str) -> dict[str, str]:
        read.append(url)
        return etags(self, url)

    monkeypatch.setattr(State, "etags", counted)
    assert run_once(settings, today=TODAY, dry_run=False).unchanged
    if not server.has_sync_collection:
        # No report says "nothing changed" (sabre/dav 1.8): each cycle lists both collections
        # by PROPFIND and compares every ETag with the cached one. (The getctag it offers
        # could tell an unchanged collection; netsync does not read it.)
        assert sorted(read) == sorted([server.addressbook, calendar_url(server)])
        return
    assert read == []
    phone_adds(server, "p011.vcf", "NICKNAME:Olli")
    assert run_once(settings, today=TODAY, dry_run=False).unchanged
    assert read == [server.addressbook]  # the book's report listed a card; the calendar's none


def test_a_card_edited_where_netsync_does_not_look_is_not_planned_again(
    server: servers.Server, tmp_path: Path
) -> None:
    from netsync.app.config import load_settings
    from netsync.commands.common import run_once

    upload_sample(server)
    config = write_config(server, tmp_path)
    assert sync(config) == 0
    settings = load_settings(config)
    before = davcheck.snapshot(server, calendar_url(server))

    # An address is nowhere in a reminder: the last plan stands, nothing is planned or sent.
    phone_adds(server, "p002.vcf", "ADR;TYPE=HOME:;;Dorpsstraat 1;Ede;;6711 AA;Netherlands")
    report = run_once(settings, today=TODAY, dry_run=False)
    assert report.unchanged and not report.failed and report.cards_read == 25
    assert davcheck.snapshot(server, calendar_url(server)) == before
    assert run_once(settings, today=TODAY, dry_run=False).unchanged

    # A phone number is in the descriptions: that edit is planned from, and written.
    phone_adds(server, "p002.vcf", "TEL;TYPE=WORK:+31 20 999 0000")
    report = run_once(settings, today=TODAY, dry_run=False)
    assert not report.unchanged and report.updated >= 1
    described = [str(e.get("DESCRIPTION", "")) for e in events(server).values()]
    assert any("+31 20 999 0000" in text for text in described)


def test_a_contact_edited_on_the_phone_is_planned_alone_and_as_a_full_plan_would(
    server: servers.Server, tmp_path: Path
) -> None:
    """A new number or a new birthday moves no follow-up: the cycle plans that contact alone
    over the plan in the calendar (core/cycle.py), and the calendar ends as a full plan
    from an empty state directory wants it, to the reminder."""
    from netsync.app.config import load_settings
    from netsync.commands.common import run_once

    upload_sample(server)
    config = write_config(server, tmp_path)
    assert sync(config) == 0
    settings = load_settings(config)

    def full_plan_agrees(report: Report) -> None:
        shutil.rmtree(tmp_path / "state")
        full = run_once(settings, today=TODAY, dry_run=False)
        assert (full.created, full.updated, full.deleted, full.contacts_written) == (0, 0, 0, 0)
        assert (full.planned, full.due_today, full.cards_read, full.cards_skipped) == (
            report.planned,
            report.due_today,
            report.cards_read,
            report.cards_skipped,
        )

    # Marieke de Boer (p009) has a follow-up on 9 December and a birthday in February: her new
    # number goes into both.
    phone_adds(server, "p009.vcf", "TEL;TYPE=CELL:+31 6 9999 0009")
    report = run_once(settings, today=TODAY, dry_run=False)
    assert report.replanned == 1 and (report.created, report.updated, report.deleted) == (0, 2, 0)
    assert any("+31 6 9999 0009" in str(e.get("DESCRIPTION", "")) for e in events(server).values())
    full_plan_agrees(report)
    assert run_once(settings, today=TODAY, dry_run=False).unchanged

    # Jan Mulder (p006) gets a birthday: one reminder more, and the counts say so.
    phone_adds(server, "p006.vcf", "BDAY:1970-03-15")
    report = run_once(settings, today=TODAY, dry_run=False)
    assert report.replanned == 1 and (report.created, report.deleted) == (1, 0)
    assert "Jan Mulder turns 57" in {str(e["SUMMARY"]) for e in events(server).values()}
    full_plan_agrees(report)

    # A gift idea in the block is a ledger edit (there could be something to learn or write):
    # that is planned in full.
    phone_edits(server, "p009.vcf", "NOTE:", "NOTE:[netsync]\\ngift: a good book\\n[/netsync]\\n")
    report = run_once(settings, today=TODAY, dry_run=False)
    assert report.replanned == 0 and not report.unchanged and not report.failed
    full_plan_agrees(report)
