"""Step 6 of `netsync init`, write: the config text from the answers, the summary before the
go-ahead, then (only then) the calendar, the file (mode 0600, never over an existing one
without --force), and the dry run that shows what `netsync sync` would do."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from netsync.app import configfile, session
from netsync.commands.common import EXIT_OK, EXIT_PARTIAL, UsageError, print_report, run_once
from netsync.commands.init import keep
from netsync.commands.init.answers import CalendarChoice, Keeping, Login
from netsync.commands.init.mail import MailChoice
from netsync.commands.init.prompter import Prompter


def config_text(
    *,
    book: str,
    login: Login,
    keeping: Keeping,
    ca_file: str,
    calendar: CalendarChoice,
    every: str,
    language: str,
    path: Path,
    mail: MailChoice | None = None,
) -> str:
    """The commented config of these answers; it must load (a failure is a bug in init)."""
    from netsync.app.config import parse_settings

    sent: dict[tuple[str, str], str] = {}
    if mail is not None and mail.url:
        sent[("mail", "url")] = mail.url
        if mail.username != login.username:
            sent[("mail", "username")] = mail.username
        if mail.auth != "password":
            sent[("mail", "auth")] = mail.auth
    text = configfile.render(
        {
            **sent,
            ("contacts", "url"): book,
            ("contacts", "username"): login.username,
            ("contacts", "password_command"): keeping.command,
            ("contacts", "ca_file"): ca_file,
            ("contacts", "oauth_client_id"): login.oauth_client.client_id if login.tokens else "",
            ("contacts", "oauth_client_secret"): (
                login.oauth_client.client_secret if login.tokens else ""
            ),
            ("reminders", "url"): calendar.url or calendar.home,
            ("reminders", "calendar"): calendar.name,
            ("follow_up", "every"): every,
            ("locale", "language"): language,
        }
    )
    parse_settings(tomllib.loads(text), source=str(path))
    return text


def summary(
    ui: Prompter,
    book: str,
    calendar: CalendarChoice,
    language: str,
    every: str,
    keeping: Keeping,
    mail: MailChoice | None = None,
) -> None:
    made = "" if calendar.url else " (new: netsync makes it now)"
    sent = mail.said if mail is not None and mail.url else "not read"
    ui.say(
        f"\nContacts:  {book}\n"
        f'Reminders: "{calendar.name}"{made}, in {language}; in touch every {every}\n'
        f"Password:  {keep.summary(keeping)}\n"
        f"Sent mail: {sent}"
    )


def make_calendar(client: Any, home: str, name: str) -> str:
    from netsync.dav import calendar

    return calendar.find_calendar(client, home, name, create=True)


def write(path: Path, text: str, *, force: bool) -> None:
    """Mode 0600 from the first byte; never over an existing file unless ``force``."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not force:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise UsageError(f"init: {path} appeared while init ran; nothing was written") from None
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        return
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with suppress(OSError):
            temp.unlink()
        raise


def dry_run(
    ui: Prompter,
    path: Path,
    login: Login,
    keeping: Keeping,
    *,
    today: Any,
    mail: MailChoice | None = None,
) -> int:
    from netsync.app.config import load_settings

    settings = load_settings(path)
    ui.say("\nWhat `netsync sync` would do now (a dry run: nothing is written):")
    with _password_for_now(login, keeping), _mail_password_for_now(mail):
        report = run_once(settings, today=session.today_for(settings, today), dry_run=True)
    print_report(report, out=ui.out)
    ui.say(
        "\nNext: `netsync sync` writes these reminders; `netsync run` (or the systemd unit) "
        "keeps them up to date; `netsync due` shows who is due."
    )
    return EXIT_PARTIAL if report.failed else EXIT_OK


@contextmanager
def _mail_password_for_now(mail: MailChoice | None) -> Iterator[None]:
    """The mail password that just worked, when it is one of its own, as the credential
    netsync-password-mail for the dry run (in a private directory, gone afterwards)."""
    if mail is None or not mail.url or not mail.own_password or not mail.password:
        yield
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix="netsync-init-") as folder:
        secret = Path(folder) / "netsync-password-mail"
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(mail.password)
        with _environ("CREDENTIALS_DIRECTORY", folder):
            yield


@contextmanager
def _password_for_now(login: Login, keeping: Keeping) -> Iterator[None]:
    """The dry run uses the password that just worked, wherever it will live later (the
    keyring may be locked, a credential is only there under systemd)."""
    if not login.username or keeping.how == "command":
        yield
        return
    with _environ("NETSYNC_PASSWORD", login.password):
        yield


@contextmanager
def _environ(name: str, value: str) -> Iterator[None]:
    """``$name`` set to ``value`` inside the block, as it was (or unset) after it."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before
