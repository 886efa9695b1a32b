"""iCloud through its stand-in (tests/standins/icloud.py, which cites its sources): an
app-specific password, discovery from contacts.icloud.com and caldav.icloud.com to the
account's partition hosts, contact groups left alone, events only."""

from __future__ import annotations

from pathlib import Path

import icalendar
import pytest

from netsync.commands import main
from tests import davcheck, servers
from tests.pty_session import Terminal
from tests.scenario import TODAY, upload_sample
from tests.standins import icloud as ic


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        "[contacts]\n"
        f'url = "{ic.CONTACTS}"\n'
        f'username = "{ic.APPLE_ID}"\n'
        "[reminders]\n"
        f'url = "{ic.CALDAV}"\n'
        "[state]\n"
        f'dir = "{tmp_path / "state"}"\n'
    )
    path.chmod(0o600)
    return path


def sync(config: Path) -> int:
    return main(["--config", str(config), "sync", "--today", TODAY.isoformat()])


def events(cloud: ic.ICloud) -> dict[str, icalendar.Component]:
    url = davcheck.calendars(cloud.xandikos)["Keep in touch"]
    out = {}
    for _href, (_etag, body) in davcheck.snapshot(cloud.xandikos, url).items():
        for comp in icalendar.Calendar.from_ical(body).walk("VEVENT"):
            out[str(comp["UID"])] = comp
    return out


def test_partition_hosts_then_a_second_sync_that_writes_nothing(
    icloud: ic.ICloud,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    upload_sample(icloud.xandikos)
    assert servers.put_card(icloud.xandikos, "group-family.vcf", ic.GROUP) == 201
    monkeypatch.setenv("NETSYNC_PASSWORD", ic.APP_PASSWORD)
    config = write_config(tmp_path)
    book_before = davcheck.snapshot(icloud.xandikos, icloud.xandikos.addressbook)

    assert sync(config) == 0, capsys.readouterr().err
    written = events(icloud)
    assert any("Alice Jansen turns 47" in str(e["SUMMARY"]) for e in written.values())
    assert not any("Family" in str(e["SUMMARY"]) for e in written.values())  # the group
    assert davcheck.snapshot(icloud.xandikos, icloud.xandikos.addressbook) == book_before
    pointers = icloud.fronts[0].seen + icloud.fronts[1].seen
    assert {r.method for r in pointers} <= {"PROPFIND", "OPTIONS"}  # only discovery there
    partition = icloud.fronts[2].seen + icloud.fronts[3].seen
    assert any(r.method == "PUT" for r in partition)
    capsys.readouterr()

    count = len(icloud.fronts[3].seen)
    assert sync(config) == 0
    writes = [r.method for r in icloud.fronts[3].seen[count:] if r.method in ("PUT", "DELETE")]
    assert writes == []


def test_log_changes_only_the_note_on_the_partition_host(
    icloud: ic.ICloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload_sample(icloud.xandikos)
    monkeypatch.setenv("NETSYNC_PASSWORD", ic.APP_PASSWORD)
    config = write_config(tmp_path)
    before = davcheck.snapshot(icloud.xandikos, icloud.xandikos.addressbook)
    code = main(
        ["--config", str(config), "log", "Alice Jansen", "--via", "call", "--date", "2026-11-20"]
    )
    assert code == 0
    after = davcheck.snapshot(icloud.xandikos, icloud.xandikos.addressbook)
    changed = [h for h in after if after[h][1] != before[h][1]]
    assert len(changed) == 1
    old, new = before[changed[0]][1], after[changed[0]][1]
    assert b"last: 2026-11-20 call" in new.replace(b"\r\n ", b"")
    assert [line for line in old.split(b"\r\n") if not line.startswith((b"NOTE", b" "))] == [
        line for line in new.split(b"\r\n") if not line.startswith((b"NOTE", b" "))
    ]
    assert any(r.method == "PUT" for r in icloud.fronts[2].seen)


def test_the_apple_id_password_is_refused_with_77(
    icloud: ic.ICloud,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("NETSYNC_PASSWORD", ic.APPLE_ID_PASSWORD)
    assert sync(write_config(tmp_path)) == 77
    assert "refused the login" in capsys.readouterr().err


def test_init_on_a_terminal_then_sync(
    icloud: ic.ICloud,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    terminals: list[Terminal],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A new user with an iPhone: `netsync init`, "icloud", the Apple ID and an app-specific
    password, to a synced calendar on the partition host."""
    import os
    import tomllib

    upload_sample(icloud.xandikos)
    assert servers.put_card(icloud.xandikos, "group-family.vcf", ic.GROUP) == 201
    config = tmp_path / "config.toml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETSYNC_")}
    term = Terminal(["init", "--config", str(config), "--today", TODAY.isoformat()], env)
    terminals.append(term)
    term.expect("Your server: its address (cloud.example.com), your e-mail address, or a provider")
    term.answer("icloud")
    term.expect("Username (your Apple ID e-mail address), empty if the server needs none")
    term.answer(ic.APPLE_ID)
    term.expect("iCloud needs an app-specific password, not your Apple ID password")
    term.expect(f"Password for {ic.APPLE_ID} at contacts.icloud.com: ")
    term.answer(ic.APP_PASSWORD)
    term.expect(f"Logged in to {ic.CONTACTS} as {ic.APPLE_ID}.")
    term.expect("Which calendar should the reminders go to?")
    term.answer("")  # a new calendar "Keep in touch"
    term.expect("Count the mail you send as contact? [y/N]: ")
    term.answer("")  # mail stays off
    term.expect("Language")
    term.answer("")
    term.expect("How often")
    term.answer("")
    term.expect("How should netsync get the password? [2]: ")
    term.answer("")
    term.expect("Write the config to")
    term.answer("")
    term.expect("dry run, nothing written")
    assert term.finish() == 0
    assert ic.APP_PASSWORD not in term.buffer
    data = tomllib.loads(config.read_text())
    assert data["contacts"]["url"] == ic.CONTACTS
    assert data["reminders"]["url"].startswith(f"https://{ic.PART_CAL}")

    monkeypatch.setenv("NETSYNC_PASSWORD", ic.APP_PASSWORD)
    state = tmp_path / "state"
    config.write_text(config.read_text().replace('dir = ""', f'dir = "{state}"'))
    assert sync(config) == 0, capsys.readouterr().err
    assert any("Alice Jansen turns 47" in str(e["SUMMARY"]) for e in events(icloud).values())
