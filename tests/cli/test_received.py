"""Receive without forgetting (issue 18; SPEC 2, 7, 8): `received:` in the note, typed on a
phone or written by `netsync log --received`, shown in that person's reminders and in `due`,
and a thank-you follow-up on the next day with room until contact is recorded.

Cards are PUT as a phone would; the calendar and the cards are read back with plain HTTP.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import icalendar
import pytest

from netsync.commands import main
from netsync.core import notepatch
from tests import davcheck, servers
from tests.scenario import TODAY, lines_but_note, phone_card, write_config

DUTCH = '[locale]\nlanguage = "nl"'
BUSY = [  # due on TODAY (last contact 30 days before, every 30d): they fill its three places
    (f"busy{n}.vcf", f"busy-{n}", name)
    for n, name in enumerate(["Bas Bakker", "Cor Claassen", "Dirk Dekker"])
]
BUSY_NOTE = "[netsync]\nlast: 2026-10-27\nevery: 30d\n[/netsync]"
ALICE_NOTE = "Buurvrouw.\n\n[netsync]\nlaatst: 2026-09-01\nelke: 180d\n[/netsync]"


def run(config: Path, *args: str, today: dt.date = TODAY) -> int:
    return main(["--config", str(config), *args, "--today", today.isoformat()])


def events(server: servers.Server) -> dict[str, icalendar.Component]:
    """SUMMARY -> the VEVENT/VTODO of each reminder."""
    cal = davcheck.calendars(server)["Keep in touch"]
    out = {}
    for _, (_, body) in davcheck.snapshot(server, cal).items():
        for comp in icalendar.Calendar.from_ical(body).walk():
            if comp.name in ("VEVENT", "VTODO"):
                out[str(comp["SUMMARY"])] = comp
    return out


def note_of(server: servers.Server, name: str) -> str:
    return notepatch.read_note(davcheck.get(server, server.addressbook + name).decode())


def put(server: servers.Server, name: str, card: str) -> None:
    tag = davcheck.children(server, server.addressbook).get(server.addressbook + name)
    assert servers.put_card(server, name, card, etag=tag) in (200, 201, 204)


def test_a_gift_typed_on_the_phone_asks_for_a_thank_you_on_the_next_free_day(
    server: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, uid, full in BUSY:
        put(server, name, phone_card(uid, full, BUSY_NOTE))
    put(server, "alice.vcf", phone_card("alice-1", "Alice Jansen", ALICE_NOTE))
    config = write_config(server, tmp_path, extra=DUTCH)
    yesterday = TODAY - dt.timedelta(days=1)
    assert run(config, "sync", today=yesterday) == 0  # TODAY's three places are taken
    busy_days = {s: davcheck.day_of(c) for s, c in events(server).items() if "Neem" in s}
    assert Counter(busy_days.values()) == {TODAY: 3}

    # On TODAY Alice's neighbour types, on her phone: "ontvangen: gisteren bloemen".
    typed = ALICE_NOTE.replace("[/netsync]", "ontvangen: gisteren bloemen\n[/netsync]")
    put(server, "alice.vcf", phone_card("alice-1", "Alice Jansen", typed))
    before = davcheck.get(server, server.addressbook + "alice.vcf")  # as the server keeps it
    capsys.readouterr()
    assert run(config, "sync") == 0
    out = capsys.readouterr().out
    assert "* Alice Jansen: note block tidied (dates written as YYYY-MM-DD)" in out
    assert note_of(server, "alice.vcf") == ALICE_NOTE.replace(
        "[/netsync]", f"ontvangen: {yesterday.isoformat()} bloemen\n[/netsync]"
    )
    after = davcheck.get(server, server.addressbook + "alice.vcf")
    assert lines_but_note(after) == lines_but_note(before)
    found = events(server)
    thanks = found["Bedank Alice Jansen: bloemen"]
    assert davcheck.day_of(thanks) == TODAY + dt.timedelta(days=1)  # the next day with room
    assert "Ontvangen: 2026-11-25 bloemen" in str(thanks["DESCRIPTION"])
    assert [str(c) for c in thanks["CATEGORIES"].cats] == ["follow-up"]
    assert {s: davcheck.day_of(c) for s, c in found.items() if s in busy_days} == busy_days

    # She calls Alice to thank her: logged, the thank-you is gone, the gift is still noted.
    capsys.readouterr()
    assert run(config, "log", "Alice") == 0
    assert "Bedank Alice Jansen: bloemen" not in events(server)
    note = note_of(server, "alice.vcf")
    assert f"laatst: {TODAY.isoformat()}" in note and "ontvangen: 2026-11-25 bloemen" in note


def test_an_older_gift_asks_for_no_thank_you_and_is_still_remembered(
    server: servers.Server, tmp_path: Path
) -> None:
    note = "[netsync]\nlast: 2026-10-20\nreceived: 2026-11-01 a book about boats\n[/netsync]"
    card = phone_card("gerrit-1", "Gerrit Smit", note, more=("BDAY:1979-11-30",))
    put(server, "gerrit.vcf", card)
    config = write_config(server, tmp_path)
    assert run(config, "sync") == 0
    found = events(server)
    assert not [s for s in found if s.startswith("Thank")]  # 25 days ago: beyond 14 days
    birthday = found["Gerrit Smit turns 47"]
    assert "Received: 2026-11-01 a book about boats" in str(birthday["DESCRIPTION"])
    digest = next(c for s, c in found.items() if s.startswith("This week"))
    assert "Gerrit Smit turns 47 (received: a book about boats (2026-11-01))" in str(
        digest["DESCRIPTION"]
    )


def test_log_received_writes_the_line_and_nothing_else(
    server: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    note = "Grows tomatoes, lives next door.\n\n[netsync]\nlast: 2026-11-02 coffee\n[/netsync]"
    card = phone_card(
        "henk-1", "Henk de Boer", note, more=("EMAIL;type=INTERNET:henk@example.org",)
    )
    put(server, "henk.vcf", card)
    before = davcheck.get(server, server.addressbook + "henk.vcf")  # as the server keeps it
    config = write_config(server, tmp_path)
    assert run(config, "sync") == 0
    capsys.readouterr()

    day = TODAY - dt.timedelta(days=2)
    args = [
        "log",
        "henk@example.org",
        "--received",
        "soup when I was ill",
        "--date",
        day.isoformat(),
    ]
    assert run(config, *args) == 0
    out = capsys.readouterr().out
    assert (
        f"* Henk de Boer: received {day.isoformat()}: soup when I was ill, from netsync log" in out
    )
    after = davcheck.get(server, server.addressbook + "henk.vcf")
    assert lines_but_note(after) == lines_but_note(before)
    assert notepatch.read_note(after.decode()) == note.replace(
        "[/netsync]", f"received: {day.isoformat()} soup when I was ill\n[/netsync]"
    )  # no new last: line
    assert davcheck.day_of(events(server)["Thank Henk de Boer: soup when I was ill"]) == TODAY

    # The same gift logged again changes nothing.
    tag = davcheck.children(server, server.addressbook)[server.addressbook + "henk.vcf"]
    assert run(config, *args) == 0
    assert davcheck.children(server, server.addressbook)[server.addressbook + "henk.vcf"] == tag

    # `due` shows it with the thank-you, as a table and as JSON.
    capsys.readouterr()
    assert run(config, "due") == 0
    table = capsys.readouterr().out
    assert "Thank Henk de Boer: soup when I was ill" in table
    assert f"received: soup when I was ill ({day.isoformat()})" in table
    assert run(config, "due", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    [row] = [r for r in rows if r["uid"] == "henk-1"]
    assert row["received"] == [{"date": day.isoformat(), "what": "soup when I was ill"}]


def test_log_received_needs_what(
    server: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    put(server, "henk.vcf", phone_card("henk-1", "Henk de Boer", "x"))
    before = davcheck.get(server, server.addressbook + "henk.vcf")
    config = write_config(server, tmp_path)
    assert run(config, "log", "Henk", "--received", "  ") == 2
    assert "--received takes what they gave or did" in capsys.readouterr().err
    assert davcheck.get(server, server.addressbook + "henk.vcf") == before


def test_thank_yous_and_follow_ups_share_the_daily_budget(
    server: servers.Server, tmp_path: Path
) -> None:
    overdue = "[netsync]\nlast: 2026-06-01\nevery: 30d\n[/netsync]"
    for n in range(6):
        put(server, f"o{n}.vcf", phone_card(f"o-{n}", f"Overdue Person{n}", overdue))
    for n in range(4):
        gift = f"[netsync]\nlast: 2026-10-01\nevery: 180d\nreceived: 2026-11-2{n} wine\n[/netsync]"
        put(server, f"g{n}.vcf", phone_card(f"g-{n}", f"Giver Person{n}", gift))
    config = write_config(server, tmp_path)
    assert run(config, "sync") == 0
    found = events(server)
    follow = {s: davcheck.day_of(c) for s, c in found.items() if s.startswith(("Get", "Thank"))}
    assert len(follow) == 10
    assert max(Counter(follow.values()).values()) == 3  # max_per_day
    thanks = sorted(d for s, d in follow.items() if s.startswith("Thank"))
    assert thanks == [TODAY, TODAY, TODAY, TODAY + dt.timedelta(days=1)]  # first, on the first room
