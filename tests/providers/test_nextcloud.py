"""Nextcloud (sabre/dav) through its stand-in (tests/standins/nextcloud.py, which cites its
sources): /.well-known to /remote.php/dav/, the read-only "Contact birthdays" calendar never
the target, vCard 3.0 unless 4.0 is asked for, and brute-force protection."""

from __future__ import annotations

from pathlib import Path

import icalendar
import pytest

from netsync.commands import main
from tests import davcheck, servers
from tests.pty_session import Terminal
from tests.scenario import TODAY, upload_sample
from tests.standins import nextcloud as nc


def write_config(tmp_path: Path, url: str = nc.ROOT) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        "[contacts]\n"
        f'url = "{url}"\n'
        f'username = "{nc.USER}"\n'
        "[state]\n"
        f'dir = "{tmp_path / "state"}"\n'
    )
    path.chmod(0o600)
    return path


def sync(config: Path) -> int:
    return main(["--config", str(config), "sync", "--today", TODAY.isoformat()])


def events(cloud: nc.Nextcloud, name: str = "Keep in touch") -> dict[str, icalendar.Component]:
    url = davcheck.calendars(cloud.xandikos)[name]
    out = {}
    for _href, (_etag, body) in davcheck.snapshot(cloud.xandikos, url).items():
        for comp in icalendar.Calendar.from_ical(body).walk("VEVENT"):
            out[str(comp["UID"])] = comp
    return out


def test_well_known_to_remote_php_then_a_second_sync_that_writes_nothing(
    nextcloud: nc.Nextcloud,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    upload_sample(nextcloud.xandikos)
    monkeypatch.setenv("NETSYNC_PASSWORD", nc.PASSWORD)
    config = write_config(tmp_path)
    birthdays = davcheck.snapshot(
        nextcloud.xandikos, davcheck.calendars(nextcloud.xandikos)["Contact birthdays"]
    )

    assert sync(config) == 0, capsys.readouterr().err
    summaries = [str(e["SUMMARY"]) for e in events(nextcloud).values()]
    assert any("Alice Jansen turns 47" in s for s in summaries)
    # Nextcloud's own address books (all accounts, "Recently contacted") are not contacts
    assert not [s for s in summaries if "Bob Colleague" in s or "Webshop Support" in s]
    after = davcheck.calendars(nextcloud.xandikos)["Contact birthdays"]
    assert davcheck.snapshot(nextcloud.xandikos, after) == birthdays  # never written
    routes = [r.route for r in nextcloud.fronts[0].seen]
    assert "/.well-known/carddav" in routes
    capsys.readouterr()

    count = len(nextcloud.fronts[0].seen)
    assert sync(config) == 0
    writes = [r.method for r in nextcloud.fronts[0].seen[count:] if r.method in ("PUT", "DELETE")]
    assert writes == []


def test_log_keeps_an_iphone_card_byte_for_byte_outside_the_note(
    nextcloud: nc.Nextcloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload_sample(nextcloud.xandikos)
    monkeypatch.setenv("NETSYNC_PASSWORD", nc.PASSWORD)
    config = write_config(tmp_path)
    before = davcheck.snapshot(nextcloud.xandikos, nextcloud.xandikos.addressbook)
    code = main(
        ["--config", str(config), "log", "Alice Jansen", "--via", "call", "--date", "2026-11-20"]
    )
    assert code == 0
    after = davcheck.snapshot(nextcloud.xandikos, nextcloud.xandikos.addressbook)
    changed = [h for h in after if after[h][1] != before[h][1]]
    assert len(changed) == 1
    old, new = before[changed[0]][1], after[changed[0]][1]
    assert b"last: 2026-11-20 call" in new.replace(b"\r\n ", b"")
    assert [line for line in old.split(b"\r\n") if not line.startswith((b"NOTE", b" "))] == [
        line for line in new.split(b"\r\n") if not line.startswith((b"NOTE", b" "))
    ]


def test_a_card_stored_as_vcard_4(
    nextcloud: nc.Nextcloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DAVx5 writes vCard 4 to a server that offers it; sabre hands it out as 3.0 unless 4.0
    is asked for. netsync writes back what the server gave it with the new NOTE (SPEC 1: "as
    the server gave it"), so the card is stored as sabre's 3.0 rewrite from then on: VERSION,
    PRODID and the anniversary's spelling change, nothing is lost, and a phone that asks for
    4.0 gets it converted back."""
    assert servers.put_card(nextcloud.xandikos, "pieter.vcf", nc.V4_CARD) == 201
    monkeypatch.setenv("NETSYNC_PASSWORD", nc.PASSWORD)
    config = write_config(tmp_path)
    code = main(
        ["--config", str(config), "log", "Pieter Bos", "--via", "call", "--date", "2026-11-20"]
    )
    assert code == 0
    stored = davcheck.get(nextcloud.xandikos, nextcloud.xandikos.addressbook + "pieter.vcf")
    text = stored.replace(b"\r\n ", b"").decode()
    assert "last: 2026-11-20 call" in text and "Written by DAVx5 on Android" in text
    assert "VERSION:3.0" in text and nc.SABRE_PRODID in text
    assert "X-ANNIVERSARY:20101009" in text and "FN:Pieter Bos" in text
    assert "TEL;TYPE=cell:+31 6 1111 2222" in text


def test_brute_force_protection_slows_then_refuses(
    nextcloud: nc.Nextcloud,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("NETSYNC_PASSWORD", "wrong")
    config = write_config(tmp_path)
    for _ in range(3):
        assert sync(config) == 77
    assert nextcloud.failures == 3  # one refused login per run, not a burst
    assert nextcloud.delays == [0.0, 0.2, 0.4]  # each refusal doubles the next answer's wait
    nextcloud.failures = 10
    capsys.readouterr()
    assert sync(config) == 75
    err = capsys.readouterr().err
    assert "answered 429 (busy) 3 times in a row" in err, err


def test_init_on_a_terminal_never_offers_contact_birthdays(
    nextcloud: nc.Nextcloud,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    terminals: list[Terminal],
    capsys: pytest.CaptureFixture[str],
) -> None:
    import os
    import tomllib

    upload_sample(nextcloud.xandikos)
    config = tmp_path / "config.toml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETSYNC_")}
    term = Terminal(["init", "--config", str(config), "--today", TODAY.isoformat()], env)
    terminals.append(term)
    term.expect("Your server: its address (cloud.example.com), your e-mail address, or a provider")
    term.answer("nextcloud")
    term.expect("Your Nextcloud server (host name or URL): ")
    term.answer(nc.HOST)
    term.expect("Username (your Nextcloud login name), empty if the server needs none")
    term.answer(nc.USER)
    term.expect(f"Password for {nc.USER} at {nc.HOST}: ")
    term.answer(nc.PASSWORD)
    term.expect(f"Logged in to {nc.ROOT}remote.php/dav/ as {nc.USER}.")
    term.expect('Address book: "Contacts"')
    shown = term.expect("Which calendar should the reminders go to?")
    assert '(read-only, so not offered: "Contact birthdays")' in shown
    term.answer("")  # a new calendar "Keep in touch"
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
    data = tomllib.loads(config.read_text())
    assert data["contacts"]["url"] == f"{nc.ROOT}remote.php/dav/"

    monkeypatch.setenv("NETSYNC_PASSWORD", nc.PASSWORD)
    config.write_text(config.read_text().replace('dir = ""', f'dir = "{tmp_path / "state"}"'))
    assert sync(config) == 0, capsys.readouterr().err
    assert any("Alice Jansen turns 47" in str(e["SUMMARY"]) for e in events(nextcloud).values())
    capsys.readouterr()

    assert main(["--config", str(config), "check"]) == 0
    out = capsys.readouterr().out
    assert "[ok  ] provider: Nextcloud; known limits:" in out
    assert 'read-only "Contact birthdays" calendar of its own' in out


def test_contact_birthdays_refused_as_the_target(
    nextcloud: nc.Nextcloud,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.StringIO(nc.PASSWORD + "\n"))
    code = main(
        ["init", "--config", str(tmp_path / "c.toml"), "--provider", "nextcloud"]
        + ["--server", nc.HOST, "--username", nc.USER, "--password-stdin"]
        + ["--calendar", "Contact birthdays"]
    )
    assert code == 2
    assert "'Contact birthdays' is read-only for you" in capsys.readouterr().err
