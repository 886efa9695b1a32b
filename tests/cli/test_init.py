"""`netsync init` against real Radicale (with auth) and Xandikos: unattended with flags, and as a
new user meets it, through a pseudo-terminal; the config it writes must work for `sync`.

The pty tests run the real program (``python -m netsync init``, which is
``netsync init``) on a terminal of its own, so ``input()`` and ``getpass`` behave as for a
person: the password is typed without echo and must not show up in the transcript.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import stat
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest

from netsync import commands
from netsync.commands import init as wizard
from netsync.commands import main
from netsync.dav import discovery
from tests import davcheck, servers, twisted
from tests.memkeyring import MemoryKeyring
from tests.pty_session import Terminal
from tests.scenario import TODAY, upload_sample

EXAMPLE = (Path(__file__).resolve().parents[2] / "config" / "netsync.example.toml").read_text()


@pytest.fixture(autouse=True)
def _fresh_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user with no password in the environment and no state yet (the CLI conftest sets
    NETSYNC_PASSWORD for everyone; init must not lean on it unless told)."""
    monkeypatch.delenv("NETSYNC_PASSWORD", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def init(monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = "") -> int:
    """`netsync init ARGS` in this process, standard input not a terminal."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(["init", *args, "--today", TODAY.isoformat()])


def sync(config: Path) -> int:
    return main(["--config", str(config), "sync", "--today", TODAY.isoformat()])


def summaries(server: servers.Server, calendar: str) -> list[str]:
    url = davcheck.calendars(server)[calendar]
    bodies = [body.decode() for _etag, body in davcheck.snapshot(server, url).values()]
    return [m for body in bodies for m in re.findall(r"^SUMMARY:(.*?)\r?$", body, re.M)]


def assert_commented_and_private(config: Path) -> None:
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    text = config.read_text()
    comments = [line for line in EXAMPLE.splitlines()[2:] if line.startswith("#")]
    assert [line for line in text.splitlines()[2:] if line.startswith("#")] == comments
    assert servers.PASSWORD not in text
    tomllib.loads(text)


# -- unattended -------------------------------------------------------------------------------


def test_unattended_on_radicale_then_sync(
    radicale: servers.Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    upload_sample(radicale)
    config = tmp_path / "netsync.toml"
    code = init(
        monkeypatch,
        *("--non-interactive", "--config", str(config), "--server", radicale.root),
        *("--username", "alice", "--password-stdin", "--create-calendar"),
        *("--language", "nl", "--every", "30d"),
        stdin=servers.PASSWORD + "\n",
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"Logged in to {radicale.root} as alice." in out
    assert 'Address book: "Contacts"' in out
    assert 'Made the calendar "Keep in touch": ' in out
    # No keyring on a headless machine: init says how to hand the password over.
    assert "This machine has no keyring" in out
    assert "LoadCredential=netsync-password:" in out and "NETSYNC_PASSWORD" in out
    # It ends with the dry run, in the language chosen.
    assert "What `netsync sync` would do now (a dry run: nothing is written):" in out
    assert "+ 2026-12-01  birthday    Alice Jansen wordt 47" in out
    assert "dry run, nothing written: 25 contacts read, " in out
    assert servers.PASSWORD not in out

    assert_commented_and_private(config)
    data = tomllib.loads(config.read_text())
    assert data["contacts"] == {
        "url": radicale.root,
        "username": "alice",
        "password_command": "",
        "ca_file": "",
        "timeout": "2m",
        "oauth_client_id": "",
        "oauth_client_secret": "",
    }
    assert data["reminders"]["calendar"] == "Keep in touch"
    assert data["reminders"]["url"] == radicale.calendar_home
    assert data["follow_up"]["every"] == "30d" and data["locale"]["language"] == "nl"
    assert summaries(radicale, "Keep in touch") == []  # the dry run wrote nothing

    monkeypatch.setenv("NETSYNC_PASSWORD", servers.PASSWORD)
    assert sync(config) == 0
    assert "Alice Jansen wordt 47" in summaries(radicale, "Keep in touch")


def test_unattended_on_xandikos_without_login(
    xandikos: servers.Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    upload_sample(xandikos)
    config = tmp_path / "netsync.toml"
    assert (
        init(monkeypatch, "--non-interactive", "--config", str(config), "--server", xandikos.root)
        == 0
    )
    out = capsys.readouterr().out
    assert f"Connected to {xandikos.root} (no login)." in out
    assert "keyring" not in out  # no password, nothing to keep
    assert "+ 2026-12-01  birthday    Alice Jansen turns 47" in out
    data = tomllib.loads(config.read_text())
    assert data["contacts"]["username"] == ""
    assert data["reminders"]["calendar"] == "Keep in touch"
    assert_commented_and_private(config)
    assert sync(config) == 0
    assert "Alice Jansen turns 47" in summaries(xandikos, "Keep in touch")


def test_an_existing_calendar_and_one_address_book_by_name(
    xandikos: servers.Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    upload_sample(xandikos)
    config = tmp_path / "netsync.toml"
    code = init(
        monkeypatch,
        *("--config", str(config), "--server", xandikos.root),
        *("--address-book", "addressbook", "--calendar", "calendar"),
    )
    assert code == 0, capsys.readouterr().err
    data = tomllib.loads(config.read_text())
    assert data["contacts"]["url"] == xandikos.addressbook
    assert data["reminders"] == {**data["reminders"], "url": xandikos.calendar_home + "calendar/"}
    assert data["reminders"]["calendar"] == "calendar"
    assert "Keep in touch" not in davcheck.calendars(xandikos)  # nothing made
    assert sync(config) == 0
    assert "Alice Jansen turns 47" in summaries(xandikos, "calendar")


def test_password_command_goes_into_the_config_and_sync_uses_it(
    radicale: servers.Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    upload_sample(radicale)
    secret = tmp_path / "pw"
    secret.write_text(servers.PASSWORD + "\n")
    config = tmp_path / "netsync.toml"
    command = f"cat {secret}"
    code = init(
        monkeypatch,
        *("--config", str(config), "--provider", "radicale", "--server", radicale.root),
        *("--username", "alice", "--password-command", command),
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "no keyring" not in out  # the command is where the password lives
    assert tomllib.loads(config.read_text())["contacts"]["password_command"] == command
    assert_commented_and_private(config)
    assert sync(config) == 0  # NETSYNC_PASSWORD is not set: the command gives it


@pytest.fixture
def desktop_keyring() -> Iterator[MemoryKeyring]:
    before = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    yield memory
    keyring.set_keyring(before)


def test_with_a_keyring_the_password_goes_there(
    radicale: servers.Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    desktop_keyring: MemoryKeyring,
) -> None:
    upload_sample(radicale)
    config = tmp_path / "netsync.toml"
    code = init(
        monkeypatch,
        *("--config", str(config), "--server", radicale.root, "--username", "alice"),
        "--password-stdin",
        stdin=servers.PASSWORD + "\n",
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Password:  the system keyring" in out
    assert "Kept the password in the keyring netsync/alice (" in out
    assert "LoadCredential" not in out
    assert desktop_keyring.store == {("netsync", "alice"): servers.PASSWORD}
    assert tomllib.loads(config.read_text())["contacts"]["password_command"] == ""
    assert sync(config) == 0  # NETSYNC_PASSWORD is not set: the keyring gives it


def test_email_address_found_by_srv_records(
    radicale: servers.Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """RFC 6764: _carddav._tcp / _caldav._tcp SRV records of the address's domain (no TLS
    records: plain http on loopback), handed in as a resolver since there is no DNS here."""
    port = radicale.root.rsplit(":", 1)[1].strip("/")
    zone = {
        ("_carddav._tcp.localhost", "SRV"): [f"0 1 {port} localhost."],
        ("_caldav._tcp.localhost", "SRV"): [f"0 1 {port} localhost."],
        ("_caldav._tcp.localhost", "TXT"): ['"path=/alice/"'],
    }
    asked: list[tuple[str, str]] = []

    def resolve(name: str, rdtype: str) -> list[str]:
        asked.append((name, rdtype))
        return zone.get((name, rdtype), [])

    monkeypatch.setattr(discovery, "dns_resolve", resolve)
    config = tmp_path / "netsync.toml"
    code = init(
        monkeypatch,
        *("--config", str(config), "--email", "alice@localhost", "--username", "alice"),
        "--password-stdin",
        stdin=servers.PASSWORD + "\n",
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert ("_carddavs._tcp.localhost", "SRV") in asked  # TLS first
    assert f"DNS SRV _carddav._tcp.localhost: http://localhost:{port}/" in out
    data = tomllib.loads(config.read_text())
    assert data["contacts"]["url"] == f"http://localhost:{port}/"
    assert data["reminders"]["url"] == f"http://localhost:{port}/alice/"
    monkeypatch.setenv("NETSYNC_PASSWORD", servers.PASSWORD)
    assert sync(config) == 0


def test_srv_records_pointing_outside_the_domain_are_not_trusted_unattended(
    radicale: servers.Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = radicale.root.rsplit(":", 1)[1].strip("/")
    records = {"_carddav._tcp.example.invalid": [f"0 1 {port} localhost."]}
    monkeypatch.setattr(discovery, "dns_resolve", lambda name, t: records.get(name, []))
    config = tmp_path / "netsync.toml"
    code = init(
        monkeypatch,
        *("--config", str(config), "--email", "alice@example.invalid", "--password-stdin"),
        stdin="x\n",
    )
    out, err = capsys.readouterr()
    assert code == 75
    assert f"not using http://localhost:{port}/; pass --server http://localhost:{port}/" in out
    assert "Could not reach https://example.invalid/" in err
    assert not config.exists()


# -- unattended, with something missing or wrong ------------------------------------------------


def test_non_interactive_names_the_missing_flag(
    radicale: servers.Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "netsync.toml"
    base = ("--non-interactive", "--config", str(config))

    assert init(monkeypatch, *base) == 2
    assert "pass --server URL, --email ADDRESS or --provider NAME" in capsys.readouterr().err

    assert init(monkeypatch, *base, "--provider", "nextcloud") == 2
    assert "no Nextcloud server given: pass --server" in capsys.readouterr().err

    assert init(monkeypatch, *base, "--server", radicale.root) == 2
    assert "the server wants a login: pass --username NAME and" in capsys.readouterr().err

    assert init(monkeypatch, *base, "--server", radicale.root, "--username", "alice") == 2
    assert "pass --password-stdin (with the password on standard input) or --password-command" in (
        capsys.readouterr().err
    )

    args = (*base, "--server", radicale.root, "--username", "alice", "--password-stdin")
    assert init(monkeypatch, *args, "--calendar", "Work", stdin=servers.PASSWORD + "\n") == 2
    err = capsys.readouterr().err
    assert "--calendar: no calendar 'Work'" in err and "--create-calendar 'Work' makes it" in err

    assert not config.exists()
    assert "Keep in touch" not in davcheck.calendars(radicale)


def test_a_refused_password_changes_nothing(
    radicale: servers.Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "netsync.toml"
    code = init(
        monkeypatch,
        *("--config", str(config), "--server", radicale.root, "--username", "alice"),
        "--password-stdin",
        stdin="wrong-password\n",
    )
    assert code == 77
    err = capsys.readouterr().err
    assert "refused the login of 'alice' with the password from standard input" in err
    assert "wrong-password" not in err
    assert not config.exists()
    assert davcheck.calendars(radicale) == {}


def test_never_overwrites_a_config_without_force(
    xandikos: servers.Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "netsync.toml"
    config.write_text("# mine\n")
    assert init(monkeypatch, "--config", str(config), "--server", xandikos.root) == 2
    err = capsys.readouterr().err
    assert f"{config} already exists and is left as it is" in err and "--force" in err
    assert config.read_text() == "# mine\n"

    config.chmod(0o644)
    assert init(monkeypatch, "--config", str(config), "--server", xandikos.root, "--force") == 0
    assert config.read_text().startswith("# netsync configuration, written by `netsync init`")
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".netsync")] == []


def test_the_global_config_flag_and_the_default_path(
    xandikos: servers.Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO())
    elsewhere = tmp_path / "elsewhere.toml"
    assert main(["--config", str(elsewhere), "init", "--server", xandikos.root]) == 0
    assert elsewhere.exists()
    assert init(monkeypatch, "--server", xandikos.root) == 0
    default = tmp_path / "home" / ".config" / "netsync" / "config.toml"
    assert stat.S_IMODE(default.stat().st_mode) == 0o600


def test_a_password_on_the_command_line_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "netsync.toml"
    code = init(
        monkeypatch, "--config", str(config), "--server", "dav.example.com", "--password", "x"
    )
    assert code == 2
    assert "visible to every user of this machine" in capsys.readouterr().err
    assert not config.exists()


class Script:
    """Answers for a Prompter, each checked against the question it answers. An answer may be
    a function of what was printed so far (to pick an option by its name)."""

    def __init__(self, out: io.StringIO, *steps: tuple[str, str | Callable[[str], str]]) -> None:
        self.out = out
        self.steps = list(steps)

    def __call__(self, prompt: str) -> str:
        assert self.steps, f"unexpected question {prompt!r}"
        want, answer = self.steps.pop(0)
        assert want in prompt, f"expected {want!r}, asked {prompt!r}"
        return answer(self.out.getvalue()) if callable(answer) else answer


def option(name: str) -> Callable[[str], str]:
    """The number of the listed option that names ``name``."""
    return lambda printed: re.findall(rf"(\d+)\) \"{re.escape(name)}\"", printed)[-1]


def test_choosing_among_several_and_read_only_calendars_are_not_offered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = io.StringIO()
    script = Script(
        out,
        ("Password for alice at 127.0.0.1", servers.PASSWORD),
        ("Which address book should netsync read?", option("Old phone")),
        ("Which calendar should the reminders go to?", option("Work")),
        ("Language", ""),
        ("How often", "2w"),
        ("How should netsync get the password?", ""),
        ("Write the config to", ""),
    )
    ui = wizard.Prompter(interactive=True, out=out, ask=script, secret=script)
    config = tmp_path / "netsync.toml"
    with twisted.radicale_with(tmp_path / "radicale", rights=twisted.RIGHTS) as root:
        args = parse(["init", "--config", str(config), "--server", root, "--username", "alice"])
        assert wizard.run_init(args, ui) == 0, out.getvalue()
        printed = out.getvalue()
        assert '"Contacts"' in printed and '"Old phone"' in printed and "all of them" in printed
        assert (
            'Calendars you can write to:\n  1) "Work"\n  2) a new calendar "Keep in touch" '
            '(netsync makes it)\n  (read-only, so not offered: "Family")\n'
        ) in printed
        assert not script.steps
        data = tomllib.loads(config.read_text())
        assert data["contacts"]["url"] == root + "alice/old-phone/"
        assert data["reminders"]["url"] == root + "alice/work/"
        assert data["reminders"]["calendar"] == "Work"
        assert data["follow_up"]["every"] == "2w"
        monkeypatch.setenv("NETSYNC_PASSWORD", servers.PASSWORD)
        assert sync(config) == 0


def parse(argv: list[str]) -> argparse.Namespace:
    parser = commands.build_parser()
    return parser.parse_args([*argv, "--today", TODAY.isoformat()])


# -- on a terminal ------------------------------------------------------------------------------


@pytest.fixture
def terminal_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETSYNC_")}
    env.update(HOME=str(tmp_path / "home"), XDG_STATE_HOME=str(tmp_path / "xdg"), TERM="xterm")
    return env


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    started: list[Terminal] = []
    yield started
    for term in started:
        if term.proc.poll() is None:
            term.proc.kill()
            term.proc.wait()


def test_a_new_user_on_a_terminal_with_radicale(
    radicale: servers.Server,
    tmp_path: Path,
    terminal_env: dict[str, str],
    terminals: list[Terminal],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    upload_sample(radicale)
    secret = tmp_path / "pw"
    secret.write_text(servers.PASSWORD + "\n")
    config = tmp_path / "home" / ".config" / "netsync" / "config.toml"
    term = Terminal(["init", "--today", TODAY.isoformat()], terminal_env)
    terminals.append(term)

    term.expect("Nothing is changed until the end; Ctrl-C stops.")
    term.expect("Your server: its address (cloud.example.com), your e-mail address, or a provider")
    closed = servers.free_port()
    term.answer(f"127.0.0.1:{closed}")  # a wrong port: caught before any password is asked
    term.expect(f"Could not reach https://127.0.0.1:{closed}/: connection refused.")
    term.expect(f"What to do: nothing listens at 127.0.0.1:{closed}: is the server running")
    term.expect(f"Your server (address, e-mail address or provider) [127.0.0.1:{closed}]: ")
    # What people type: no scheme. That means https, but on this machine plain http is
    # tried too (a local Radicale speaks http, and nothing crosses a network).
    term.answer(radicale.root.removeprefix("http://").rstrip("/"))
    term.expect("Username, empty if the server needs none: ")
    term.answer("alice")
    term.expect("Password for alice at 127.0.0.1: ")
    term.answer(servers.PASSWORD)
    term.expect(f"Logged in to {radicale.root} as alice.")
    term.expect('Address book: "Contacts"')
    term.expect("You have no calendar to write to yet.")
    term.expect('1) a new calendar "Keep in touch" (netsync makes it)')
    term.expect("Which calendar should the reminders go to?")
    term.answer("")
    term.expect("Language of the reminders: en (English) or nl (Nederlands) [en]: ")
    term.answer("fr")
    term.expect("(en or nl)")
    term.answer("nl")
    term.expect("How often to be in touch with someone")
    term.answer("often")
    term.expect("not a cadence")
    term.answer("6w")
    term.expect("This machine has no keyring")
    term.expect("How should netsync get the password? [2]: ")
    term.answer("1")
    term.expect("The command (run by /bin/sh; the first line it prints is the password): ")
    term.answer("echo wrong")
    term.expect("That command did not print the password that just worked; try again.")
    term.answer(f"cat {secret}")
    term.expect(f"Contacts:  {radicale.root}")
    term.expect('Reminders: "Keep in touch" (new: netsync makes it now), in nl; in touch every 6w')
    term.expect(f"Password:  `cat {secret}`")
    term.expect(f"Write the config to {config}? [Y/n]: ")
    term.answer("")
    term.expect("Wrote")
    term.expect("dry run, nothing written: 25 contacts read")
    assert term.finish() == 0

    assert servers.PASSWORD not in term.buffer  # typed without echo, never printed
    assert "+ 2026-12-01  birthday    Alice Jansen wordt 47" in term.buffer
    data = tomllib.loads(config.read_text())
    assert data["contacts"]["url"] == radicale.root
    assert data["contacts"]["password_command"] == f"cat {secret}"
    assert data["follow_up"]["every"] == "6w" and data["locale"]["language"] == "nl"
    assert_commented_and_private(config)
    monkeypatch.delenv("NETSYNC_PASSWORD", raising=False)
    assert sync(config) == 0
    assert "Alice Jansen wordt 47" in summaries(radicale, "Keep in touch")


def test_a_wrong_password_is_asked_again_on_a_terminal(
    radicale: servers.Server,
    tmp_path: Path,
    terminal_env: dict[str, str],
    terminals: list[Terminal],
) -> None:
    config = tmp_path / "netsync.toml"
    term = Terminal(
        ["init", "--config", str(config), "--provider", "radicale", "--server", radicale.root],
        terminal_env,
    )
    terminals.append(term)
    term.expect("Username (your Radicale login), empty if the server needs none: ")
    term.answer("alice")
    term.expect("Radicale listens on port 5232")  # the preset's hint, before the password
    term.expect("Password for alice at 127.0.0.1: ")
    term.answer("s3cret-typo")
    # Refused: the password is asked again, hidden, so a hurried person who types it at
    # once is not shown it on the screen (a username question would echo it).
    term.expect("The server refused the login of alice: a wrong password, or username.")
    term.expect("Password for alice at 127.0.0.1: ")
    term.answer("s3cret-typo-again")
    term.expect("The server refused the login of alice")
    # Enter alone at the password: another username, then its password.
    term.expect("Password for alice at 127.0.0.1: ")
    term.answer("")
    term.expect("Username [alice]: ")
    term.answer("alice")
    term.expect("Password for alice at 127.0.0.1: ")
    term.answer(servers.PASSWORD)
    term.expect("Logged in to")
    term.expect("Which calendar should the reminders go to?")
    term.answer("")
    term.expect("Language")
    term.answer("")
    term.expect("How often")
    term.answer("")
    term.expect("How should netsync get the password? [2]: ")
    term.answer("")
    term.expect("Write the config to")
    term.answer("y")
    term.expect("LoadCredential=netsync-password:")
    assert term.finish() == 0
    assert "s3cret" not in term.buffer  # no password typed was ever shown
    assert tomllib.loads(config.read_text())["contacts"]["password_command"] == ""


def test_xandikos_on_a_terminal_picking_an_existing_calendar(
    xandikos: servers.Server,
    tmp_path: Path,
    terminal_env: dict[str, str],
    terminals: list[Terminal],
) -> None:
    upload_sample(xandikos)
    config = tmp_path / "netsync.toml"
    term = Terminal(["init", "--config", str(config), "--today", TODAY.isoformat()], terminal_env)
    terminals.append(term)
    term.expect("Your server")
    term.answer(xandikos.root)
    term.expect("Username, empty if the server needs none: ")
    term.answer("")
    term.expect(f"Connected to {xandikos.root} (no login).")
    term.expect("Calendars you can write to:")
    term.expect('1) "calendar"')
    term.expect('2) a new calendar "Keep in touch"')
    term.expect("[2]: ")
    term.answer("1")
    term.expect("Language")
    term.answer("")
    term.expect("How often")
    term.answer("")
    term.expect("Write the config to")
    term.answer("")
    term.expect("Alice Jansen turns 47")
    assert term.finish() == 0
    assert "keyring" not in term.buffer
    data = tomllib.loads(config.read_text())
    assert data["reminders"]["calendar"] == "calendar"
    assert sync(config) == 0
    assert "Alice Jansen turns 47" in summaries(xandikos, "calendar")


def test_ctrl_c_on_a_terminal_changes_nothing(
    radicale: servers.Server,
    tmp_path: Path,
    terminal_env: dict[str, str],
    terminals: list[Terminal],
) -> None:
    config = tmp_path / "netsync.toml"
    term = Terminal(["init", "--config", str(config), "--server", radicale.root], terminal_env)
    terminals.append(term)
    term.expect("Username")
    term.answer("alice")
    term.expect("Password for alice")
    term.answer(servers.PASSWORD)
    term.expect("Which calendar should the reminders go to?")
    term.interrupt(then="Stopped; nothing was changed.")
    assert term.finish() == 130
    assert not config.exists()
    assert davcheck.calendars(radicale) == {}


def test_init_help_stays_fast() -> None:
    """cli imports a command's module to build its parser; `netsync --help` must not pay for
    caldav, icalendar or keyring because of init."""
    code = (
        "import sys, netsync.commands.init; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'caldav', 'icalendar', 'vobject', 'niquests', 'keyring', 'dns'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
