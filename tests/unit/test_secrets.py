"""Password sources: their order, what errors say, and what they never say."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest

from netsync.app import secrets
from netsync.app.secrets import (
    MissingPassword,
    PasswordCommandError,
    SecretError,
    find_password,
    get_password,
    set_password,
)
from tests.memkeyring import MemoryKeyring


class BrokenKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise ConnectionError("D-Bus went away")


@pytest.fixture
def restore_keyring() -> Iterator[None]:
    """Lets a test set its own keyring backend; the previous one comes back afterwards."""
    previous = keyring.get_keyring()
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def memory(restore_keyring: None) -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_sources_in_documented_order(tmp_path: Path, memory: MemoryKeyring) -> None:
    memory.set_password("netsync", "alice", "from-keyring")
    specific = write(tmp_path / "netsync-password-contacts", "from-specific\n")
    general = write(tmp_path / "netsync-password", "from-general\n")
    command = "echo from-command"
    env = {"CREDENTIALS_DIRECTORY": str(tmp_path), "NETSYNC_PASSWORD": "from-env"}

    def found() -> tuple[str, str]:
        return find_password(
            account="contacts", username="alice", password_command=command, env=env
        )

    assert found() == ("from-specific", "$CREDENTIALS_DIRECTORY/netsync-password-contacts")
    specific.unlink()
    assert found() == ("from-general", "$CREDENTIALS_DIRECTORY/netsync-password")
    general.unlink()
    assert found() == ("from-command", "password_command")
    command = ""
    assert found() == ("from-env", "$NETSYNC_PASSWORD")
    del env["NETSYNC_PASSWORD"]
    assert found() == ("from-keyring", "keyring netsync/alice")


def test_each_account_has_its_own_credential(tmp_path: Path) -> None:
    write(tmp_path / "netsync-password-contacts", "for-contacts")
    write(tmp_path / "netsync-password-reminders", "for-reminders")
    env = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    password = get_password(account="reminders", username="", password_command="", env=env)
    assert password == "for-reminders"


@pytest.mark.parametrize(
    ("content", "password"), [("pw\n", "pw"), ("pw", "pw"), ("pw\r\n", "pw"), ("pw \n\n", "pw \n")]
)
def test_credential_loses_one_trailing_newline(tmp_path: Path, content: str, password: str) -> None:
    write(tmp_path / "netsync-password", content)
    env = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    assert get_password(account="contacts", username="", password_command="", env=env) == password


def test_command_runs_in_a_shell_and_gives_its_first_line() -> None:
    command = "printf 'first line\\nsecond line\\n' | cat"
    assert get_password(account="contacts", username="", password_command=command, env={}) == (
        "first line"
    )


def test_failing_command_reports_exit_code_and_stderr_but_never_stdout(
    memory: MemoryKeyring,
) -> None:
    # It fails even though later sources have a password: a broken command is a broken setup.
    memory.set_password("netsync", "alice", "from-keyring")
    command = "echo hunter2; echo 'gpg: decryption failed' >&2; echo 'no secret key' >&2; exit 3"
    with pytest.raises(PasswordCommandError) as caught:
        get_password(
            account="contacts",
            username="alice",
            password_command=command.replace("hunter2", "$SECRET"),
            env={"SECRET": "hunter2", "NETSYNC_PASSWORD": "from-env"},
        )
    message = str(caught.value)
    assert "exit code 3: no secret key" in message
    assert "hunter2" not in message


@pytest.mark.parametrize("command", ["true", "printf '\\nlater'"])
def test_command_with_empty_first_line_is_an_error(command: str) -> None:
    with pytest.raises(PasswordCommandError, match="empty first line"):
        get_password(account="contacts", username="", password_command=command, env={})


def test_command_that_hangs_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "COMMAND_TIMEOUT", 0.2)
    with pytest.raises(PasswordCommandError, match="timed out"):
        get_password(account="contacts", username="", password_command="sleep 5", env={})


def test_missing_password_names_every_source(restore_keyring: None) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    with pytest.raises(MissingPassword) as caught:
        get_password(account="contacts", username="alice", password_command="", env={})
    assert str(caught.value) == (
        "no password for contacts (alice): tried "
        "$CREDENTIALS_DIRECTORY/netsync-password-contacts, "
        "$CREDENTIALS_DIRECTORY/netsync-password (no $CREDENTIALS_DIRECTORY), "
        "password_command (not set), $NETSYNC_PASSWORD (not set), "
        "keyring netsync/alice (no keyring backend); "
        "run `netsync set-password` or set NETSYNC_PASSWORD"
    )


def test_missing_password_says_why_each_source_gave_nothing(
    tmp_path: Path, memory: MemoryKeyring
) -> None:
    write(tmp_path / "netsync-password", "\n")
    env = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    with pytest.raises(MissingPassword) as caught:
        get_password(account="reminders", username="bob", password_command="", env=env)
    message = str(caught.value)
    assert "netsync-password-reminders (not found)" in message
    assert "$CREDENTIALS_DIRECTORY/netsync-password (empty)" in message
    assert "keyring netsync/bob (not stored)" in message


def test_broken_keyring_counts_as_not_found(restore_keyring: None) -> None:
    keyring.set_keyring(BrokenKeyring())
    with pytest.raises(MissingPassword, match=r"keyring netsync/alice \(keyring failed"):
        get_password(account="contacts", username="alice", password_command="", env={})


def test_set_password_stores_where_get_password_finds_it(memory: MemoryKeyring) -> None:
    where = set_password("alice", "s3cret")
    assert where.startswith("keyring netsync/alice (")
    assert "s3cret" not in where
    assert get_password(account="contacts", username="alice", password_command="", env={}) == (
        "s3cret"
    )


def test_set_password_without_a_keyring_says_what_to_use(restore_keyring: None) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    with pytest.raises(SecretError, match="no keyring backend on this machine"):
        set_password("alice", "s3cret")
