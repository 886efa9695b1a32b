"""A server that takes no login (issue 13, point 1; SPEC 10): Radicale with ``[auth] type =
none`` and its default rights, as a home server is often run.

It serves /alice/contacts/ to anyone, but answers 401 to any PROPFIND that asks for
current-user-principal, since nobody is logged in. netsync with an empty username sends no
credentials, uses an address book's or calendar's URL as it is, finds (or makes) the calendar
in the folder it is given, and says what to give when the root shows nothing.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from netsync.commands import main
from tests import davcheck, servers
from tests.scenario import TODAY, upload_sample, write_config


@pytest.fixture
def anonymous(tmp_path: Path) -> Iterator[servers.Server]:
    with servers.radicale(tmp_path / "radicale", anonymous=True) as server:
        yield server


def sync(config: Path) -> int:
    return main(["--config", str(config), "sync", "--today", TODAY.isoformat()])


def summaries(server: servers.Server) -> list[str]:
    url = davcheck.calendars(server)["Keep in touch"]
    bodies = [body.decode() for _etag, body in davcheck.snapshot(server, url).values()]
    return [m for body in bodies for m in re.findall(r"^SUMMARY:(.*?)\r?$", body, re.M)]


def test_sync_and_check_with_the_address_books_url_and_the_users_folder(
    anonymous: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upload_sample(anonymous)
    # The address book's URL, and the folder the calendar is to be made in.
    config = write_config(anonymous, tmp_path, reminders_url=anonymous.calendar_home)
    assert main(["--config", str(config), "check"]) == 0
    out = capsys.readouterr().out
    assert "[ok  ] address books: " + anonymous.addressbook in out
    assert "[ok  ] write permission" in out and "login" not in out
    assert sync(config) == 0
    assert "Alice Jansen turns 47" in summaries(anonymous)
    # The calendar's own URL works as well, and the second cycle changes nothing.
    calendar = davcheck.calendars(anonymous)["Keep in touch"]
    config = write_config(anonymous, tmp_path, reminders_url=calendar)
    capsys.readouterr()
    assert sync(config) == 0
    assert "0 reminders created, 0 updated, 0 deleted" in capsys.readouterr().out


def test_a_root_that_shows_nothing_without_a_login_says_to_give_the_books_url(
    anonymous: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(anonymous, tmp_path, contacts_url=anonymous.root)
    assert sync(config) == 78
    err = capsys.readouterr().err
    assert "shows nothing to a client without a login" in err
    assert "give the address book's own URL" in err
    assert main(["--config", str(config), "check"]) == 78
    assert "give the address book's own URL" in capsys.readouterr().out


def test_init_with_an_empty_username_then_sync(
    anonymous: servers.Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import io
    import sys

    monkeypatch.delenv("NETSYNC_PASSWORD", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    upload_sample(anonymous)
    config = tmp_path / "netsync.toml"
    args = ["init", "--non-interactive", "--config", str(config), "--today", TODAY.isoformat()]
    args += ["--server", anonymous.addressbook, "--username", "", "--create-calendar"]
    assert main(args) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert f"Connected to {anonymous.addressbook} (no login)." in out
    data = tomllib.loads(config.read_text())
    assert data["contacts"]["username"] == ""
    assert data["reminders"]["url"] == anonymous.calendar_home
    assert sync(config) == 0
    assert "Alice Jansen turns 47" in summaries(anonymous)
