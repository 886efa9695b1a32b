"""Where passwords come from, in SPEC 7's order, and storing one in the keyring.

1. the systemd credential ``$CREDENTIALS_DIRECTORY/netsync-password-<account>``, then
   ``$CREDENTIALS_DIRECTORY/netsync-password``;
2. the section's ``password_command`` (its first line of stdout);
3. ``$NETSYNC_PASSWORD``;
4. the system keyring, service ``netsync``, keyed by the username.

A password is never logged and never put in an error; neither is a command's stdout.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SERVICE = "netsync"
COMMAND_TIMEOUT = 30  # seconds; `pass` waiting on a pinentry nobody sees must not hang a cycle
NEXT_STEP = "run `netsync set-password` or set NETSYNC_PASSWORD"


class SecretError(Exception):
    """A password could not be found or stored; the message says what to do."""


class MissingPassword(SecretError):
    """No source gave a password; the message names every source tried."""


class PasswordCommandError(MissingPassword):
    """``password_command`` failed; the message has its exit code and last stderr line."""


def describe_sources(*, account: str, username: str) -> list[str]:
    """The sources ``get_password`` tries for ``account``, in order, as shown to users."""
    keyring_source = f"keyring {SERVICE}/{username}" if username else "keyring"
    return [
        *(f"$CREDENTIALS_DIRECTORY/{name}" for name in _credential_names(account)),
        "password_command",
        "$NETSYNC_PASSWORD",
        keyring_source,
    ]


def get_password(
    *,
    account: str,
    username: str,
    password_command: str,
    env: Mapping[str, str] = os.environ,
) -> str:
    """The password for ``account`` ("contacts" or "reminders"); see ``find_password``."""
    return find_password(
        account=account, username=username, password_command=password_command, env=env
    )[0]


def find_password(
    *,
    account: str,
    username: str,
    password_command: str,
    env: Mapping[str, str] = os.environ,
) -> tuple[str, str]:
    """The password and the source it came from (for `netsync check`).

    Raises MissingPassword naming every source tried and why each gave nothing, or
    PasswordCommandError when ``password_command`` is set but fails.
    """
    tried: list[str] = []
    credentials = env.get("CREDENTIALS_DIRECTORY", "")
    names = _credential_names(account)
    if not credentials:
        listed = ", ".join(f"$CREDENTIALS_DIRECTORY/{name}" for name in names)
        tried.append(f"{listed} (no $CREDENTIALS_DIRECTORY)")
    else:
        for name in names:
            password, why = _read_credential(Path(credentials) / name)
            if password:
                return password, f"$CREDENTIALS_DIRECTORY/{name}"
            tried.append(f"$CREDENTIALS_DIRECTORY/{name} ({why})")

    if password_command:
        return _run_command(password_command, env), "password_command"
    tried.append("password_command (not set)")

    if env.get("NETSYNC_PASSWORD"):
        return env["NETSYNC_PASSWORD"], "$NETSYNC_PASSWORD"
    tried.append("$NETSYNC_PASSWORD (not set)")

    if username:
        password, why = _from_keyring(username)
        if password:
            return password, f"keyring {SERVICE}/{username}"
        tried.append(f"keyring {SERVICE}/{username} ({why})")
    else:
        tried.append("keyring (no username to look up)")

    who = f"{account} ({username})" if username else account
    raise MissingPassword(f"no password for {who}: tried {', '.join(tried)}; {NEXT_STEP}")


def password_source(account: str, section: Any) -> str:
    """Where ``find_password`` would take ``section``'s password from, without running its
    password_command (a second `pass` prompt just to say where it came from would annoy);
    "" when the section has no username."""
    if not section.username:
        return ""
    credentials = os.environ.get("CREDENTIALS_DIRECTORY", "")
    for name in _credential_names(account):
        if credentials and os.path.isfile(os.path.join(credentials, name)):
            return f"$CREDENTIALS_DIRECTORY/{name}"
    if section.password_command:
        return "password_command"
    if os.environ.get("NETSYNC_PASSWORD"):
        return "$NETSYNC_PASSWORD"
    return f"keyring {SERVICE}/{section.username}"


def set_password(username: str, password: str) -> str:
    """Store ``password`` in the keyring under netsync/``username``; say where it went."""
    if not username:
        raise SecretError(
            "set a username in the config first: the keyring stores the password under it"
        )
    import keyring  # lazily: finding a backend can take a while and is not always needed
    import keyring.errors

    try:
        backend = keyring.get_keyring()
        keyring.set_password(SERVICE, username, password)
    except keyring.errors.NoKeyringError:
        raise SecretError(
            "no keyring backend on this machine (headless?); "
            "use a systemd credential or password_command instead"
        ) from None
    except Exception as exc:  # backends raise their own types (D-Bus, jeepney, ...)
        raise SecretError(
            f"the keyring refused to store it ({type(exc).__name__}: {exc}); "
            "use a systemd credential or password_command instead"
        ) from None
    return f"keyring {SERVICE}/{username} ({backend.name})"


def _credential_names(account: str) -> tuple[str, str]:
    return f"netsync-password-{account}", "netsync-password"


def _read_credential(path: Path) -> tuple[str, str]:
    """(password, "") or ("", why not)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return "", "not found"
    except (OSError, UnicodeDecodeError) as exc:
        return "", f"unreadable: {type(exc).__name__}"
    # `echo secret | systemd-creds encrypt` leaves one newline; anything else is the password.
    text = text.removesuffix("\n").removesuffix("\r")
    return (text, "") if text else ("", "empty")


def _run_command(command: str, env: Mapping[str, str]) -> str:
    """The first line of the command's stdout; errors never quote stdout."""
    try:
        # Through the shell, so users can write pipes: `gpg -dq ~/.dav.gpg | head -1`.
        done = subprocess.run(
            ["/bin/sh", "-c", command],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=dict(env),
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise PasswordCommandError(
            f"password_command timed out after {COMMAND_TIMEOUT}s: {command}"
        ) from None
    except OSError as exc:
        raise PasswordCommandError(f"password_command could not start: {exc}") from None
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        said = f": {lines[-1]}" if lines else ""
        raise PasswordCommandError(
            f"password_command failed with exit code {done.returncode}{said} ({command})"
        )
    try:
        password = done.stdout.decode("utf-8").split("\n", 1)[0].removesuffix("\r")
    except UnicodeDecodeError:
        raise PasswordCommandError(
            f"password_command printed something that is not UTF-8 ({command})"
        ) from None
    if not password:
        raise PasswordCommandError(f"password_command printed an empty first line ({command})")
    return password


def _from_keyring(username: str) -> tuple[str, str]:
    """(password, "") or ("", why not); a missing or broken keyring is not an error here."""
    try:
        import keyring
        import keyring.errors
    except ImportError:
        return "", "keyring is not installed"
    try:
        password = keyring.get_password(SERVICE, username)
    except keyring.errors.NoKeyringError:
        return "", "no keyring backend"
    except Exception as exc:  # backends raise their own types (D-Bus, jeepney, ...)
        log.debug("keyring lookup failed: %s", type(exc).__name__)
        return "", f"keyring failed: {type(exc).__name__}"
    return (password, "") if password else ("", "not stored")


def keyring_backend() -> str:
    """The keyring backend's name, or "" when passwords cannot be kept in one here (no
    package, or no desktop session with a Secret Service or KWallet). Asked before a prompt,
    so nobody types a password only to hear that it has nowhere to go."""
    try:
        import keyring
        from keyring.backends import chainer, fail
    except ImportError:
        return ""
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring) or (
        isinstance(backend, chainer.ChainerBackend) and not backend.backends
    ):
        return ""
    return str(getattr(backend, "name", type(backend).__name__))
