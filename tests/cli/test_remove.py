"""`netsync remove` (issue 13 point 10, SPEC 8) against the real test servers.

Everything is read back as a second client would (plain HTTP, no netsync code): after a
remove, the reminders calendar holds exactly the objects of others, byte for byte, and every
card is what it was before netsync ever wrote to it, NOTE aside; the NOTE keeps the user's
text and loses the block. Xandikos stores bytes verbatim, so there this is byte for byte;
Radicale re-serialises every card it stores, so there it is compared with what Radicale
served before; SOGo also writes each property's parameters in another order on every PUT, so
there they are compared in a fixed order. tests/cli/test_log_corpus.py does the same over the
real-world corpus.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest

from netsync.app import removal, session
from netsync.app.config import load_settings
from netsync.commands import main
from tests import davcheck, servers
from tests.pty_session import Terminal
from tests.scenario import TODAY, upload_sample, write_config

FOREIGN = {
    "dentist.ics": (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//someone else//EN\r\nBEGIN:VEVENT\r\n"
        "UID:dentist-2026\r\nDTSTAMP:20261101T100000Z\r\nDTSTART;VALUE=DATE:20261201\r\n"
        "DTEND;VALUE=DATE:20261202\r\nSUMMARY:Dentist\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ),
    # Mentions netsync everywhere but in its UID: still someone else's.
    "lookalike.ics": (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//netsync//netsync//EN\r\nBEGIN:VEVENT\r\n"
        "UID:my-netsync-notes\r\nDTSTAMP:20261101T100000Z\r\nDTSTART;VALUE=DATE:20261203\r\n"
        "DTEND;VALUE=DATE:20261204\r\nSUMMARY:netsync-follow-up by hand\r\n"
        "X-NETSYNC-CONTACT:netsync-demo-000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ),
}

# Cards with what phones write around a NOTE: groups, X- properties, a folded PHOTO, a long
# folded NOTE with text before and after the block, LF line endings, a 2.1 quoted-printable
# NOTE. Each holds a block; "untouched.vcf" holds none.
PHOTO = "PHOTO;ENCODING=b;TYPE=JPEG:" + "QUJD" * 40
CARDS = {
    "grouped.vcf": (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//iPhone OS 17.0//EN\r\n"
        "N:Groot;Gerda;;;\r\nFN:Gerda Groot\r\nitem1.EMAIL;type=INTERNET;type=pref:"
        "gerda@example.org\r\nitem1.X-ABLabel:_$!<Other>!$_\r\nX-SOCIALPROFILE;type=x:x\r\n"
        + PHOTO[:75]
        + "\r\n "
        + PHOTO[75:]
        + "\r\nNOTE:Met at the fair\\, 2019. Likes long walks on the beach and old maps of "
        "the\r\n  coast.\\n\\n[netsync]\\nlast: 2026-10-01 call\\nevery: 30d\\n[/netsync]\\n"
        "\\nP.S. allergic to nuts\r\nUID:remove-grouped\r\nEND:VCARD\r\n"
    ),
    "lf.vcf": (
        "BEGIN:VCARD\nVERSION:4.0\nUID:remove-lf\nFN:Lena Lf\nN:Lf;Lena;;;\n"
        "NOTE:[netsync]\\nlast: 2026-09-01\\n[/netsync]\nEND:VCARD\n"
    ),
    "qp21.vcf": (
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Oud;Otto\r\nFN:Otto Oud\r\nUID:remove-qp21\r\n"
        "NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Caf=C3=A9 owner=0D=0A=0D=0A"
        "[netsync]=0D=0Alast: 2026-08-01=0D=0A[/netsync]\r\nEND:VCARD\r\n"
    ),
    "untouched.vcf": (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:remove-untouched\r\nFN:Una Untouched\r\n"
        "N:Untouched;Una;;;\r\nNOTE:Just a note\\, no block.\r\nEND:VCARD\r\n"
    ),
}
USER_TEXT = {
    "grouped.vcf": "Met at the fair, 2019. Likes long walks on the beach and old maps of the "
    "coast.\n\nP.S. allergic to nuts",
    "lf.vcf": "",
    "qp21.vcf": "Café owner",
    "p000.vcf": "Likes sailing, daughter Emma studies in Delft.",
}


def logical_lines(card: bytes) -> list[str]:
    """The card's physical lines with their endings, each folded property as one item."""
    out: list[str] = []
    for line in re.split(rb"(?<=\n)", card):
        if not line:
            continue
        text = line.decode("utf-8", "surrogateescape")
        if text[:1] in (" ", "\t") and out:
            out[-1] += text
        else:
            out.append(text)
    return out


def is_note(line: str) -> bool:
    return re.match(r"(?:[A-Za-z0-9-]+\.)?NOTE[;:]", line, re.I) is not None


def others(card: bytes) -> list[str]:
    """Every line but NOTE, byte for byte, in order."""
    return [line for line in logical_lines(card) if not is_note(line)]


def comparable(card: bytes, server: servers.Server) -> list[str]:
    """``others``; on SOGo each property unfolded with its parameters sorted, because SOGo
    shuffles them on each PUT (PHOTO;ENCODING=b;TYPE=JPEG, then PHOTO;TYPE=JPEG;ENCODING=b)."""
    if server.kind != "sogo":
        return others(card)
    out = []
    for line in others(card):
        head, _, value = re.sub(r"\r?\n[ \t]", "", line).rstrip("\r\n").partition(":")
        name, *params = head.split(";")
        out.append(f"{name};{sorted(params)}:{value}")
    return out


def note_text(card: bytes) -> str:
    """The NOTE as a phone shows it (escapes undone, quoted-printable decoded)."""
    import quopri

    notes = [line for line in logical_lines(card) if is_note(line)]
    if not notes:
        return ""
    assert len(notes) == 1, notes
    head, _, value = re.sub(r"\r?\n[ \t]", "", notes[0]).rstrip("\r\n").partition(":")
    if "QUOTED-PRINTABLE" in head.upper():
        return quopri.decodestring(value.encode()).decode().replace("\r\n", "\n")
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] in "nN" else m[1], value)


def calendar(server: servers.Server) -> str:
    return davcheck.calendars(server)["Keep in touch"]


@pytest.fixture
def used(server: servers.Server, tmp_path: Path) -> tuple[servers.Server, Path, dict[str, bytes]]:
    """A server netsync has worked on for two days: the sample book and the cards above,
    a sync, a `netsync log` that writes a block into a card that had none, the foreign
    events. Returns the cards as they were before netsync wrote to any of them."""
    upload_sample(server)
    for name, card in CARDS.items():
        assert servers.put_card(server, name, card) == 201
    before = {
        href.rsplit("/", 1)[1]: davcheck.get(server, href)
        for href in davcheck.children(server, server.addressbook)
    }
    config = write_config(server, tmp_path)
    argv = ["--config", str(config)]
    assert main([*argv, "sync", "--today", TODAY.isoformat()]) == 0
    # Jan Mulder's card has no note: netsync adds one, with its block.
    assert main([*argv, "log", "jan mulder", "--today", TODAY.isoformat()]) == 0
    assert main([*argv, "sync", "--today", (TODAY + dt.timedelta(days=1)).isoformat()]) == 0
    for name, body in FOREIGN.items():
        status, _, _ = davcheck.request(
            server,
            "PUT",
            calendar(server) + name,
            body=body.encode(),
            headers={"Content-Type": "text/calendar", "If-None-Match": "*"},
        )
        assert status == 201
    return server, config, before


def remove(config: Path, *args: str) -> int:
    return main(["--config", str(config), "remove", *args])


def test_remove_notes_leaves_every_card_as_before_netsync_but_the_block(
    used: tuple[servers.Server, Path, dict[str, bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    server, config, before = used
    cal = calendar(server)
    foreign = {cal + name for name in FOREIGN}
    in_calendar = davcheck.snapshot(server, cal)
    ours = len(in_calendar) - len(foreign)
    assert ours == 33  # the sample book's and the added cards' reminders, on every server
    with_block = [n for n, body in before.items() if "[netsync]" in note_text(body)]
    untouched_etag = davcheck.children(server, server.addressbook)[
        server.addressbook + "untouched.vcf"
    ]
    capsys.readouterr()

    assert remove(config, "--notes", "--yes") == 0
    out = capsys.readouterr().out
    assert f"holds {ours} reminders netsync made; 2 other entries there stay." in out
    assert f"{len(with_block) + 1} contacts of {len(before)} have a [netsync] block" in out
    assert f"Deleted {ours} reminders; took the block out of {len(with_block) + 1} notes." in out
    assert "- 2026-12-01  birthday    Alice Jansen turns 47" in out
    assert "~ Gerda Groot: the [netsync] block is out of the note" in out

    # The calendar: the objects of others, untouched; nothing of netsync's.
    after = davcheck.snapshot(server, cal)
    assert after == {href: in_calendar[href] for href in foreign}

    # The cards: every line but NOTE as before netsync wrote; the user's text kept.
    for name, original in before.items():
        now = davcheck.get(server, server.addressbook + name)
        assert comparable(now, server) == comparable(original, server), name
        assert "[netsync]" not in note_text(now).lower(), name
        if name in USER_TEXT:
            assert note_text(now) == USER_TEXT[name], name
    assert note_text(davcheck.get(server, server.addressbook + "p006.vcf")) == ""  # Jan Mulder
    children = davcheck.children(server, server.addressbook)
    assert children[server.addressbook + "untouched.vcf"] == untouched_etag  # never written

    # Done is done: a second run finds nothing.
    assert remove(config, "--notes", "--yes") == 0
    assert "Nothing to remove." in capsys.readouterr().out
    assert davcheck.children(server, server.addressbook) == children


def test_without_notes_the_blocks_stay_and_a_dry_run_changes_nothing(
    used: tuple[servers.Server, Path, dict[str, bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    server, config, _ = used
    cal = calendar(server)
    cards_before = davcheck.snapshot(server, server.addressbook)
    calendar_before = davcheck.snapshot(server, cal)
    capsys.readouterr()

    assert remove(config, "--notes", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "- 2026-12-01  birthday    Alice Jansen turns 47" in out
    assert "~ Alice Jansen: the [netsync] block out of the note" in out
    assert out.rstrip().endswith("dry run: nothing was changed")
    assert davcheck.snapshot(server, cal) == calendar_before

    # No terminal and no --yes: nothing happens, and it says what to pass.
    assert remove(config, "--notes") == 2
    said = capsys.readouterr()
    assert "netsync: remove would delete" in said.err and "pass --yes" in said.err
    assert davcheck.snapshot(server, cal) == calendar_before

    assert remove(config, "--yes") == 0
    assert "The [netsync] blocks in the notes stay" in capsys.readouterr().out
    assert set(davcheck.children(server, cal)) == {cal + name for name in FOREIGN}
    assert davcheck.snapshot(server, server.addressbook) == cards_before


def test_what_a_phone_changes_meanwhile_is_read_again_and_kept(
    used: tuple[servers.Server, Path, dict[str, bytes]],
) -> None:
    """Between reading and writing, a phone edits a card and moves a reminder: the card is
    read again (412) and keeps the phone's edit, the reminder is read again and deleted."""
    server, config, _ = used
    settings = load_settings(config)
    conn = session.connections(settings)
    try:
        found = removal.find(conn, with_notes=True, today=TODAY)
        href = server.addressbook + "p000.vcf"  # Alice
        card = davcheck.get(server, href).decode()
        tag = davcheck.children(server, server.addressbook)[href]
        edited = card.replace("END:VCARD", "TEL;TYPE=WORK:+31 20 123 4567\r\nEND:VCARD")
        assert servers.put_card(server, "p000.vcf", edited, etag=tag) in (201, 204)
        moved = next(o for o in found.objects if "Alice Jansen turns 47" in o.shown)
        body = davcheck.get(server, moved.href).decode().replace("SUMMARY:", "SUMMARY:(moved) ")
        status, _, _ = davcheck.request(
            server,
            "PUT",
            moved.href,
            body=body.encode(),
            headers={"Content-Type": "text/calendar", "If-Match": moved.etag},
        )
        assert status in (201, 204)
        done = removal.apply(conn, found)
    finally:
        conn.close()
    assert done.failed == []
    now = davcheck.get(server, href)
    assert b"TEL;TYPE=WORK:+31 20 123 4567" in now
    assert note_text(now) == USER_TEXT["p000.vcf"]
    assert moved.href not in davcheck.children(server, calendar(server))


def test_on_a_terminal_it_asks_first(
    used: tuple[servers.Server, Path, dict[str, bytes]], tmp_path: Path
) -> None:
    server, config, _ = used
    cal = calendar(server)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETSYNC_")}
    env.update(NETSYNC_PASSWORD=servers.PASSWORD, HOME=str(tmp_path / "home"), TERM="xterm")
    before = davcheck.snapshot(server, cal)

    term = Terminal(["--config", str(config), "remove", "--notes"], env)
    try:
        term.expect("reminders netsync made; 2 other entries there stay.")
        term.expect("have a [netsync] block in their note")
        asked = term.expect("? [y/N]: ")
        assert re.search(r"Delete \d+ reminders and take the block out of \d+ notes", asked)
        term.answer("")
        term.expect("Nothing was changed.")
        assert term.finish() == 0
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
    assert davcheck.snapshot(server, cal) == before

    term = Terminal(["--config", str(config), "remove"], env)
    try:
        term.expect("[netsync] blocks in the notes stay")
        term.expect("? [y/N]: ")
        term.answer("y")
        term.expect("Deleted ")
        assert term.finish() == 0
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
    assert set(davcheck.children(server, cal)) == {cal + name for name in FOREIGN}
