"""What an error means (netsync.app.failures): the one table the commands, `check` and the
daemon read exit codes, messages, advice and retries from."""

from __future__ import annotations

import sqlite3

import pytest

from netsync import dav
from netsync.app import failures
from netsync.app.config import ConfigError, parse_settings
from netsync.app.secrets import MissingPassword, PasswordCommandError

SETTINGS = parse_settings(
    {
        "contacts": {"url": "https://dav.example.com/", "username": "alice"},
        "reminders": {"url": "https://cal.example.net/", "username": "bob"},
        "state": {"dir": "/var/lib/netsync"},
    },
    source="test",
)


def refused(status: int) -> dav.DavError:
    err = dav.DavError(f"MKCALENDAR answered {status}")
    err.status = status
    return err


@pytest.mark.parametrize(
    ("err", "code", "transient", "status"),
    [
        (ConfigError(["[contacts] url: missing"]), 78, False, "config error"),
        (MissingPassword("no password for contacts (alice): tried x; run y"), 78, False, ""),
        (PasswordCommandError("password_command failed with exit code 3"), 78, False, ""),
        (dav.WrongCollection("https://dav.example.com/c/ is a calendar"), 78, False, "wrong URL"),
        (dav.AuthFailed("https://dav.example.com/", "alice"), 77, False, "login refused"),
        (dav.Unreachable("https://dav.example.com/", "timed out"), 75, True, ""),
        (dav.DavError("REPORT answered 409"), 75, True, "server error"),
        (refused(403), 78, False, "refused"),
        (refused(404), 78, False, "refused"),
        (refused(405), 78, False, "refused"),
        (failures.UsageError("--days must be 0 or more"), 2, False, ""),
        (failures.Failed("init: no calendars", 78), 78, False, ""),
        (KeyboardInterrupt(), 130, False, ""),
        (OSError(28, "No space left on device"), 78, True, "local error (OSError)"),
        (sqlite3.OperationalError("disk I/O error"), 78, True, "local error (OperationalError)"),
    ],
)
def test_each_known_error_has_one_meaning(
    err: BaseException, code: int, transient: bool, status: str
) -> None:
    meaning = failures.explain(err, settings=SETTINGS)
    assert meaning is not None
    assert (meaning.code, meaning.transient) == (code, transient)
    assert status in meaning.status
    assert meaning.what or code == 130


def test_a_bug_has_no_meaning_and_keeps_its_traceback() -> None:
    assert failures.explain(ValueError("a bug")) is None


def test_a_refused_login_says_where_that_accounts_password_came_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NETSYNC_PASSWORD", "x")
    contacts = failures.explain(
        dav.AuthFailed("https://dav.example.com/x/", "alice"), settings=SETTINGS
    )
    reminders = failures.explain(
        dav.AuthFailed("https://cal.example.net/", "bob"), settings=SETTINGS
    )
    assert contacts is not None and reminders is not None
    assert contacts.next.startswith("the password came from $NETSYNC_PASSWORD: check it")
    assert "[contacts] username ('alice')" in contacts.next
    assert "[reminders] username ('bob')" in reminders.next
    assert failures.explain(dav.AuthFailed("https://dav.example.com/", "alice")) is not None


@pytest.mark.parametrize(
    ("wrote", "redo", "service", "said"),
    [
        (True, "", False, "what this run wrote is safe"),
        (False, "", False, "nothing listens at dav.example.com:443"),
        (True, "netsync log alice", False, "then run `netsync log alice` again"),
        (True, "", True, "what this cycle wrote is kept"),
    ],
)
def test_what_an_outage_advises_depends_on_what_the_run_did(
    wrote: bool, redo: str, service: bool, said: str
) -> None:
    err = dav.Unreachable("https://dav.example.com/", "connection refused")
    meaning = failures.explain(err, wrote=wrote, redo=redo, service=service)
    assert meaning is not None and said in meaning.next
    assert ("wrote is safe" in meaning.next) is (wrote and not redo and not service)
    assert meaning.lines() == [f"{err}; {meaning.next}"]
