"""A cycle is read, decide, apply, against real Radicale and Xandikos.

What these show: the dry run prints the decision and writes nothing; a cycle in which nothing
changed is a decision with nothing in it, read from the sync reports alone; a card edited on
the phone is read alone and planned alone, and what that decides is what reading and planning
everything decides.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import icalendar
import pytest

from netsync.app import read, session
from netsync.app.config import Settings, load_settings
from netsync.app.engine import key_of
from netsync.commands import main
from netsync.core import cycle
from netsync.core.cycle import Decision, Edited, Snapshot, Whole
from tests import davcheck, servers
from tests.scenario import TODAY, upload_sample, write_config


def snapshot_of(settings: Settings, *, whole: bool) -> Snapshot:
    """What the next cycle would read (its state is used up: the mark is taken, the cache
    synced), as engine.run_cycle reads it."""
    conn = session.connections(settings)
    state = session.open_state(settings)
    try:
        return read.read(
            conn,
            state,
            today=TODAY,
            now=dt.datetime.combine(TODAY, dt.time()),
            zone=None,
            settings=settings.plan,
            key=key_of(TODAY, settings, conn),
            whole=whole,
            create=False,
        )
    finally:
        state.close()
        conn.close()


def decide(snapshot: Snapshot, settings: Settings) -> Decision:
    return cycle.decide(
        snapshot, today=TODAY, now=dt.datetime.combine(TODAY, dt.time()), settings=settings.plan
    )


def phone_adds(server: servers.Server, name: str, line: str) -> None:
    """A phone adds ``line`` at the end of card ``name`` and PUTs it (If-Match)."""
    href = server.addressbook + name
    card = davcheck.get(server, href).decode()
    tag = davcheck.children(server, server.addressbook)[href]
    new = card.replace("END:VCARD", f"{line}\r\nEND:VCARD", 1)
    assert servers.put_card(server, name, new, etag=tag) in (201, 204)


def sync(config: Path, *args: str) -> int:
    return main(["--config", str(config), "sync", "--today", TODAY.isoformat(), *args])


def test_the_dry_run_prints_the_decision_and_writes_nothing(
    server: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upload_sample(server)
    # A date typed on a phone: the decision writes that contact's note too.
    phone_adds(server, "p006.vcf", "NOTE:[netsync]\\nlast: 20-11-2026\\n[/netsync]")
    config = write_config(server, tmp_path)
    settings = load_settings(config)
    decision = decide(snapshot_of(settings, whole=True), settings)
    assert decision.calendar.to_create and len(decision.contact_writes) == 1
    shutil.rmtree(settings.state_dir)
    before = davcheck.children(server, server.addressbook)

    assert sync(config, "--dry-run") == 0
    printed = capsys.readouterr().out.splitlines()
    decided = decision.lines()
    assert len(printed[:-1]) == len(decided)
    # Each line as decided; a note's write says besides what rewriting its block tidies,
    # which the card's text tells once it is patched (learn.record).
    for said, line in zip(printed, decided, strict=False):
        assert said == line or said.startswith(line + " (") or said.startswith(line + "; ")
    assert printed[0] == "* Jan Mulder: note block tidied (dates written as YYYY-MM-DD)"
    assert printed[-1].startswith("dry run, nothing written: 25 contacts read, ")
    assert davcheck.children(server, server.addressbook) == before
    assert "Keep in touch" not in davcheck.calendars(server)


def test_a_cycle_with_nothing_new_is_an_empty_decision(
    server: servers.Server, tmp_path: Path
) -> None:
    upload_sample(server)
    config = write_config(server, tmp_path)
    assert sync(config) == 0
    assert sync(config) == 0  # confirms the first cycle's own writes
    settings = load_settings(config)
    snapshot = snapshot_of(settings, whole=False)
    assert snapshot.book == Edited((), (), snapshot.book.last)  # type: ignore[union-attr]
    assert snapshot.book.last.cards_read == 25  # type: ignore[union-attr]
    decision = decide(snapshot, settings)
    assert not decision and decision.lines() == [] and decision.plan is None
    # Reading and planning everything decides the same: nothing to write.
    whole = decide(snapshot_of(settings, whole=True), settings)
    assert not whole and whole.tally == decision.tally


def test_a_card_edited_on_the_phone_is_read_and_planned_alone_as_in_full(
    server: servers.Server, tmp_path: Path
) -> None:
    upload_sample(server)
    config = write_config(server, tmp_path)
    assert sync(config) == 0
    assert sync(config) == 0
    settings = load_settings(config)
    kept = tmp_path / "kept-state"
    shutil.copytree(settings.state_dir, kept)
    # Marieke de Boer (p009): a new number goes into her follow-up and her birthday.
    phone_adds(server, "p009.vcf", "TEL;TYPE=CELL:+31 6 9999 0009")

    snapshot = snapshot_of(settings, whole=False)
    assert isinstance(snapshot.book, Edited)
    [edit] = snapshot.book.edits
    assert edit.new.phones[-1] == "+31 6 9999 0009" and edit.old.uid == edit.new.uid
    assert {s.reminder.contact_uid for s in snapshot.book.calendar} == {edit.new.uid}
    alone = decide(snapshot, settings)
    assert alone.edited == 1 and len(alone.calendar.to_update) == 2

    shutil.rmtree(settings.state_dir)
    shutil.copytree(kept, settings.state_dir)  # the same cache, read in whole this time
    whole = snapshot_of(settings, whole=True)
    assert isinstance(whole.book, Whole) and len(whole.book.contacts) == 25
    full = decide(whole, settings)
    assert alone.lines() == full.lines()
    assert (alone.tally.planned, alone.tally.due_today) == (
        full.tally.planned,
        full.tally.due_today,
    )


def follow_ups_of(server: servers.Server, name: str) -> dict[str, str]:
    """UID -> day of the follow-ups for ``name`` in the reminders calendar."""
    url = davcheck.calendars(server)["Keep in touch"]
    out = {}
    for _, body in davcheck.snapshot(server, url).values():
        for part in icalendar.Calendar.from_ical(body).walk():
            if part.name in ("VEVENT", "VTODO") and str(part.get("SUMMARY")).endswith(name):
                out[str(part["UID"])] = part.decoded("DTSTART").isoformat()
    return out


def test_a_contact_whose_note_cannot_be_written_is_not_planned_as_recorded(
    xandikos: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The plan is made from each note as it will read once written; when the write fails,
    the calendar is planned from the card as it still reads (cycle.settle)."""
    upload_sample(xandikos)
    # Hanna Kowalska's card holds a byte that is not UTF-8, which Xandikos keeps and netsync
    # never sends back: no note can be written into it.
    href = xandikos.addressbook + "p004.vcf"
    card = davcheck.get(xandikos, href).replace(b"END:VCARD", b"X-JUNK:\xff\r\nEND:VCARD")
    tag = davcheck.children(xandikos, xandikos.addressbook)[href]
    assert servers.put_card(xandikos, "p004.vcf", card, etag=tag) in (201, 204)
    config = write_config(xandikos, tmp_path)
    assert sync(config) == 0
    before = follow_ups_of(xandikos, "Hanna Kowalska")
    assert len(before) == 1  # overdue since 21 November
    capsys.readouterr()

    argv = ["--config", str(config), "log", "Hanna Kowalska", "--via", "call"]
    assert main([*argv, "--today", TODAY.isoformat()]) == 1
    out = capsys.readouterr().out
    assert "1 writes failed" in out and "Hanna" not in out  # no line for a note not written
    assert follow_ups_of(xandikos, "Hanna Kowalska") == before
    assert davcheck.get(xandikos, href) == card
    assert sync(config) == 0 and follow_ups_of(xandikos, "Hanna Kowalska") == before
