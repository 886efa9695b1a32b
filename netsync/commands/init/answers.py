"""What `netsync init` learns on its way (where the server is, the login, the choices) and
what it checks before the first question (the flags, the target file, a password on stdin)."""

from __future__ import annotations

import argparse
import getpass
import sys
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netsync.commands.common import UsageError, is_terminal
from netsync.dav import discovery, providers
from netsync.dav.providers import Provider

DEFAULT_CALENDAR = "Keep in touch"
LOGIN_TRIES = 3
PROVIDER_NAMES = ", ".join(providers.PROVIDERS)


@dataclass
class Where:
    """Where to look: URLs to try for contacts and for calendars, and what is known."""

    contacts: list[discovery.Candidate]
    calendars: list[discovery.Candidate]
    provider: Provider | None = None
    username: str = ""  # a default: the e-mail address for iCloud, Fastmail, discovery
    typed: str = ""  # what the user gave, as the default when asking again


@dataclass
class Login:
    username: str
    password: str
    source: str  # "command", "stdin", "env", "prompt", or "" (no login)
    contacts_url: str  # the URL that worked
    book_urls: list[str]
    clients: dict[str, Any] = field(default_factory=dict)  # origin -> DAVClient
    ca_file: str = ""
    tokens: Any = None  # OAuth (Google): the token source; ``password`` is the refresh token
    oauth_client: Any = None  # OAuth: the user's own client (id, secret)
    mail_grant: bool = False  # OAuth: the sign-in allows reading mail (Gmail, XOAUTH2)

    def close(self) -> None:
        for client in self.clients.values():
            with suppress(Exception):
                client.close()


@dataclass(frozen=True)
class CalendarChoice:
    name: str
    url: str  # an existing calendar's URL, or "" to make one in ``home``
    home: str


@dataclass(frozen=True)
class Keeping:
    """Where the password lives after init: "keyring", "command", "elsewhere" or "none"."""

    how: str
    command: str = ""


@dataclass(frozen=True)
class Plan:
    text: str  # the config file
    calendar: CalendarChoice
    keeping: Keeping
    mail: Any = None  # init.mail.MailChoice


# -- before any question --------------------------------------------------------------------


def target(args: argparse.Namespace) -> Path:
    """The config file to write: never an existing one without --force."""
    from netsync.app.config import default_config_path

    path: Path = getattr(args, "config", None) or default_config_path()
    path = path.expanduser()
    if path.exists() and not args.force:
        raise UsageError(
            f"init: {path} already exists and is left as it is. Edit it and run "
            "`netsync check`, or pass --force to replace it, or --config PATH to write "
            "another file"
        )
    if path.is_dir():
        raise UsageError(f"init: {path} is a directory; give a file name with --config")
    return path


def check_flags(args: argparse.Namespace) -> None:
    from netsync.core.durations import parse_cadence

    if args.password is not None:
        raise UsageError(
            "init: a password on the command line is visible to every user of this machine "
            "(ps, shell history); use --password-stdin or --password-command instead"
        )
    if args.password_stdin and args.password_command:
        raise UsageError("init: give --password-stdin or --password-command, not both")
    if args.calendar and args.create_calendar:
        raise UsageError("init: give --calendar (an existing one) or --create-calendar, not both")
    if args.provider:
        try:
            providers.provider(args.provider)
        except KeyError:
            raise UsageError(
                f"init: no preset called {args.provider!r}; known: {PROVIDER_NAMES}"
            ) from None
    if args.every:
        try:
            cadence = parse_cadence(args.every)
        except ValueError as err:
            raise UsageError(f"init: --every: {err}") from None
        if cadence is None:
            raise UsageError('init: --every: "never" only goes in [follow_up.categories]')
    if args.ca_file and not Path(args.ca_file).expanduser().is_file():
        raise UsageError(f"init: --ca-file: no such file: {args.ca_file}")


def stdin_password(args: argparse.Namespace) -> str | None:
    """The password of --password-stdin (typed without echo when stdin is a terminal)."""
    if not args.password_stdin:
        return None
    if is_terminal(sys.stdin):
        password = getpass.getpass("Password: ")
    else:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not password:
        raise UsageError("init: --password-stdin: the first line of standard input is empty")
    return password


def ca_file(args: argparse.Namespace) -> str:
    return str(Path(args.ca_file).expanduser().resolve()) if args.ca_file else ""
