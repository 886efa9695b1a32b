"""`netsync init`: from nothing to a working, commented config, by asking or by flags.

Asks for the server (or an e-mail address, then RFC 6764 discovery, or a provider preset),
the username and the password; logs in to prove them; lets the user pick the address book
and the calendar (or make "Keep in touch"); asks the language and the default cadence; keeps
the password in the keyring or says how to hand it over without one; writes the config
(mode 0600, never over an existing one without --force); and ends with what
`netsync sync --dry-run` would do.

Every question has a flag. Without a terminal on stdin, or with --non-interactive, a question
with a default takes it, and one without stops with exit 2 naming the flag to pass. All
questions come before anything is changed (calendar, keyring, file), so Ctrl-C at a
question leaves everything as it was. The password never goes into argv, the config or a log.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import ipaddress
import logging
import os
import sys
import textwrap
import tomllib
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urljoin, urlsplit

from netsync.app import configfile, session
from netsync.commands.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    UsageError,
    diagnose,
    parse_date,
    print_report,
    run_once,
)
from netsync.dav import discovery, providers
from netsync.dav.providers import Provider

log = logging.getLogger(__name__)

DEFAULT_CALENDAR = "Keep in touch"
LOGIN_TRIES = 3
PROVIDER_NAMES = ", ".join(providers.PROVIDERS)

EXAMPLES = """\
examples:
  netsync init
  netsync init --provider nextcloud --server cloud.example.com --username alice
  netsync init --email alice@fastmail.com
  pass show dav/alice | netsync init --non-interactive --server https://dav.example.com/ \\
      --username alice --password-stdin --create-calendar --language nl --every 60d
"""


class InitFailed(Exception):
    """init cannot go on; the message says what to do, ``code`` is the exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


# -- the command line -----------------------------------------------------------------------


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `netsync init` to the CLI's subcommands."""
    p = sub.add_parser(
        "init",
        help="set up: find the server, log in, pick the calendar, write the config",
        description="Set netsync up: find your server (from its address, your e-mail address\n"
        "or a provider preset), log in, pick the address book and the calendar, and\n"
        "write a commented config. Ends with what `netsync sync` would do.\n\n"
        "Every question has a flag. Without a terminal (or with --non-interactive), a\n"
        "question with a default takes it, and one without stops with exit 2 naming\n"
        "its flag. The password is never an argument: type it, or use --password-stdin\n"
        "or --password-command.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # default=SUPPRESS: `netsync --config X init` keeps X (a subparser default would win).
    p.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="PATH",
        help="where to write the config (default: $NETSYNC_CONFIG, else "
        "~/.config/netsync/config.toml)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing config")
    p.add_argument(
        "--non-interactive",
        action="store_true",
        help="ask nothing: take defaults, stop (exit 2) when a flag is missing",
    )
    server = p.add_argument_group("the server")
    server.add_argument(
        "--provider",
        metavar="NAME",
        help=f"a preset: {PROVIDER_NAMES} (sabre = baikal)",
    )
    server.add_argument(
        "--server", metavar="URL", help="the CardDAV server: a host name or an https:// URL"
    )
    server.add_argument(
        "--email",
        metavar="ADDRESS",
        help="find the server from this address (DNS SRV/TXT, /.well-known; RFC 6764)",
    )
    server.add_argument(
        "--ca-file", metavar="PEM", help="trust this CA certificate (a self-signed server)"
    )
    server.add_argument(
        "--oauth-client-file",
        metavar="JSON",
        help="Google: the OAuth client you made, as the JSON file the console lets you download",
    )
    login = p.add_argument_group("the login (the password is never a command-line argument)")
    login.add_argument("--username", metavar="NAME", help='"" for a server without login')
    login.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )
    login.add_argument(
        "--password-command",
        metavar="CMD",
        help="a command that prints the password (e.g. 'pass show dav/alice'); goes into "
        "the config",
    )
    login.add_argument("--password", metavar="PW", help=argparse.SUPPRESS)
    choices = p.add_argument_group("what to use")
    choices.add_argument(
        "--address-book",
        metavar="NAME",
        help='the address book to read: its name or URL, or "all" (default: all)',
    )
    choices.add_argument(
        "--calendar", metavar="NAME", help="an existing calendar for the reminders: name or URL"
    )
    choices.add_argument(
        "--create-calendar",
        nargs="?",
        const=DEFAULT_CALENDAR,
        metavar="NAME",
        help=f'make a calendar for the reminders (default name "{DEFAULT_CALENDAR}"); an '
        "existing one of that name is used",
    )
    choices.add_argument("--language", choices=("en", "nl"), help="of the reminder texts (en)")
    choices.add_argument(
        "--every", metavar="CADENCE", help="default time between contacts: 30d, 6w, 3m (90d)"
    )
    p.add_argument("--today", type=parse_date, metavar="DATE", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    interactive = not args.non_interactive and _is_terminal(sys.stdin)
    ui = Prompter(interactive=interactive)
    return run_init(args, ui)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# -- asking ---------------------------------------------------------------------------------


class Prompter:
    """Questions on a terminal, or their defaults (and a usage error) without one."""

    def __init__(
        self,
        *,
        interactive: bool,
        out: TextIO | None = None,
        ask: Callable[[str], str] = input,
        secret: Callable[[str], str] = getpass.getpass,
    ) -> None:
        self.interactive = interactive
        self.out = out or sys.stdout
        self._ask = ask
        self._secret = secret

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def ask(self, question: str, *, flag: str, default: str | None = None, what: str = "") -> str:
        """The answer, or ``default`` for an empty one; None as default: an answer is needed.
        Without a terminal: the default, else a UsageError naming ``flag`` (and ``what``)."""
        if not self.interactive:
            if default is None:
                raise _missing(what or question, flag)
            return default
        shown = f" [{default}]" if default else ""
        while True:
            answer = self._ask(f"{question}{shown}: ").strip()
            if answer or default is not None:
                return answer or (default or "")
            self.say("  (an answer is needed here; Ctrl-C stops)")

    def choose(
        self, question: str, options: Sequence[str], *, default: int, flag: str, note: str = ""
    ) -> int:
        """An index into ``options`` (numbered from 1 on screen; ``note`` below them)."""
        if not self.interactive:
            return default
        for number, option in enumerate(options, 1):
            self.say(f"  {number}) {option}")
        if note:
            self.say(note)
        while True:
            answer = self.ask(question, flag=flag, default=str(default + 1))
            if answer.isdigit() and 1 <= int(answer) <= len(options):
                return int(answer) - 1
            self.say(f"  (a number from 1 to {len(options)})")

    def confirm(self, question: str, *, default: bool) -> bool:
        if not self.interactive:
            return default
        while True:
            answer = self._ask(f"{question} [{'Y/n' if default else 'y/N'}]: ").strip().lower()
            if not answer:
                return default
            if answer in ("y", "yes", "j", "ja"):
                return True
            if answer in ("n", "no", "nee"):
                return False

    def password(self, prompt: str) -> str:
        return self._secret(prompt)


def _missing(what: str, flag: str) -> Exception:

    return UsageError(f"init: no {what} given: pass {flag} (or answer it in a terminal)")


# -- the answers ----------------------------------------------------------------------------


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


def run_init(
    args: argparse.Namespace,
    ui: Prompter,
    *,
    resolve: discovery.Resolve | None = None,
) -> int:
    """The whole of `netsync init`; ``resolve`` stands in for DNS (tests)."""
    try:
        return _run(args, ui, resolve or _dns())
    except InitFailed as err:
        print(f"netsync: {err}", file=sys.stderr)
        return err.code


def _run(args: argparse.Namespace, ui: Prompter, resolve: discovery.Resolve) -> int:
    _check_flags(args)
    path = _target(args)
    stdin_password = _stdin_password(args)
    if ui.interactive:
        ui.say(
            "netsync init: a few questions, then a config file and a dry run. "
            "Nothing is changed until the end; Ctrl-C stops.\n"
        )
    try:
        login, where = _find_and_log_in(args, ui, stdin_password, resolve)
    except (EOFError, KeyboardInterrupt):
        return _stopped(ui)
    with closing(login):
        try:
            plan = _decide(args, ui, login, where, path)
        except (EOFError, KeyboardInterrupt):
            return _stopped(ui)
        if plan is None:
            ui.say("Nothing was written.")
            return EXIT_USAGE
        # Only now is anything changed: the calendar, the keyring, the file.
        if not plan.calendar.url:
            home, name = plan.calendar.home, plan.calendar.name
            made = _call(login, home, _make_calendar, home, name)
            ui.say(f'Made the calendar "{name}": {made}')
        _keep_password(ui, login, plan.keeping)
    _write(path, plan.text, force=args.force)
    ui.say(f"Wrote {path} (readable only by you). `netsync check` tests it any time.")
    if plan.keeping.how == "elsewhere":
        _say_how_to_hand_over(ui, login.username, path)
    return _dry_run(ui, path, login, plan.keeping, today=args.today)


@dataclass(frozen=True)
class Plan:
    text: str  # the config file
    calendar: CalendarChoice
    keeping: Keeping


def _decide(
    args: argparse.Namespace, ui: Prompter, login: Login, where: Where, path: Path
) -> Plan | None:
    """The remaining questions, the config they make, and the go-ahead (None: not given)."""
    book = _pick_book(args, ui, login)
    calendar = _pick_calendar(args, ui, login, where)
    language = args.language or _ask_language(ui)
    every = args.every or _ask_every(ui)
    keeping = _keeping_token(ui, login, path) if login.tokens else _keeping(args, ui, login)
    text = configfile.render(
        {
            ("contacts", "url"): book,
            ("contacts", "username"): login.username,
            ("contacts", "password_command"): keeping.command,
            ("contacts", "ca_file"): _ca_file(args),
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
    _parse(text, path)
    shown = book
    if book == login.contacts_url and len(login.book_urls) > 1:
        shown = f"{book} (all {len(login.book_urls)} address books)"
    _summary(ui, shown, calendar, language, every, keeping)
    if ui.interactive and not ui.confirm(f"Write the config to {path}?", default=True):
        return None
    return Plan(text, calendar, keeping)


def _stopped(ui: Prompter) -> int:
    ui.say("\nStopped; nothing was changed.")
    return 130


# -- before any question --------------------------------------------------------------------


def _target(args: argparse.Namespace) -> Path:
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


def _check_flags(args: argparse.Namespace) -> None:
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


def _stdin_password(args: argparse.Namespace) -> str | None:

    if not args.password_stdin:
        return None
    if _is_terminal(sys.stdin):
        password = getpass.getpass("Password: ")
    else:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not password:
        raise UsageError("init: --password-stdin: the first line of standard input is empty")
    return password


def _ca_file(args: argparse.Namespace) -> str:
    return str(Path(args.ca_file).expanduser().resolve()) if args.ca_file else ""


def _dns() -> discovery.Resolve:
    return discovery.dns_resolve


# -- where is the server --------------------------------------------------------------------


def _where(args: argparse.Namespace, ui: Prompter, resolve: discovery.Resolve, typed: str) -> Where:
    """Candidates from the flags on the first round, else from what the user types."""

    if not typed:
        if args.provider:
            return _from_provider(args, ui, providers.provider(args.provider), args.server or "")
        if args.email:
            return _from_email(ui, args.email, resolve)
        if args.server:
            return _from_server(args.server)
        typed = ui.ask(
            "Your server: its address (cloud.example.com), your e-mail address, or a "
            f"provider ({PROVIDER_NAMES})",
            flag="--server URL, --email ADDRESS or --provider NAME",
            what="server",
        )
    key = typed.strip().casefold()
    try:
        if key in providers.PROVIDERS or key in providers.ALIASES:
            return _from_provider(args, ui, providers.provider(key), "")
        if providers.looks_like_email(typed):
            return _from_email(ui, typed, resolve)
        return _from_server(typed)
    except ValueError as err:
        raise UsageError(f"init: {err}") from None


def _from_provider(args: argparse.Namespace, ui: Prompter, p: Provider, server: str) -> Where:
    if p.needs_host and not server:
        server = ui.ask(
            f"Your {p.name} server (host name or URL)", flag="--server", what=f"{p.name} server"
        )
    elif not p.needs_host and server:
        ui.say(f"{p.name} has one address for everyone; --server {server} is not needed.")
    contacts, calendars = p.urls(server if p.needs_host else "")
    username = args.email or ""
    return Where(
        contacts=[
            discovery.Candidate(u, f"the {p.name} preset")
            for u in _with_plain_loopback(contacts, server)
        ],
        calendars=[
            discovery.Candidate(u, f"the {p.name} preset")
            for u in _with_plain_loopback(calendars, server)
        ],
        provider=p,
        username=username,
        typed=p.key,
    )


def _from_server(text: str) -> Where:
    url = providers.normalise_server(text)
    p = providers.provider_for_host(urlsplit(url).hostname or "")
    if p is not None:
        contacts, calendars = p.urls()
        return Where(
            contacts=[discovery.Candidate(contacts, f"the {p.name} preset")],
            calendars=[discovery.Candidate(calendars, f"the {p.name} preset")],
            provider=p,
            typed=text,
        )
    urls = _with_plain_loopback(url, text)
    return Where(
        [discovery.Candidate(u, "") for u in urls],
        [discovery.Candidate(u, "") for u in urls],
        typed=text,
    )


def _with_plain_loopback(url: str, typed: str) -> list[str]:
    """``url``, and for a server on this machine typed without a scheme also its http://
    twin: a local Radicale speaks plain http, and nothing crosses a network there."""
    host = urlsplit(url).hostname or ""
    if "://" in typed or not url.startswith("https://"):
        return [url]
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    return [url, "http://" + url.removeprefix("https://")] if loopback else [url]


def _from_email(ui: Prompter, address: str, resolve: discovery.Resolve) -> Where:

    if not providers.looks_like_email(address):
        raise UsageError(f"init: --email: not an e-mail address: {address!r}")
    domain = providers.email_domain(address)
    if domain in providers.UNSUPPORTED:
        raise InitFailed(f"{domain}: {providers.UNSUPPORTED[domain]}", 78)
    p = providers.provider_for_email(address)
    if p is not None:
        contacts_url, calendars_url = p.urls()
        ui.say(f"{domain} is {p.name}.")
        return Where(
            [discovery.Candidate(contacts_url, f"the {p.name} preset")],
            [discovery.Candidate(calendars_url, f"the {p.name} preset")],
            provider=p,
            username=address,
            typed=address,
        )
    ui.say(f"Looking up the servers of {domain} (DNS SRV and TXT records, /.well-known) ...")
    contacts = _vetted(ui, discovery.email_candidates(domain, "carddav", resolve), domain)
    calendars = _vetted(ui, discovery.email_candidates(domain, "caldav", resolve), domain)
    found = next((c for c in contacts if c.target), None)
    provider = providers.provider_for_host(found.target) if found else None
    if found:
        ui.say(f"  {found.source}: {found.url}")
    else:
        ui.say(f"  no DNS records; trying https://{domain}/.well-known/carddav")
    return Where(contacts, calendars, provider=provider, username=address, typed=address)


def _vetted(
    ui: Prompter, candidates: list[discovery.Candidate], domain: str
) -> list[discovery.Candidate]:
    """RFC 6764 section 8: an SRV target outside the domain (DNS could be forged) is used only
    when it is a known provider's, or the user says so."""
    kept = []
    for c in candidates:
        if (
            c.in_domain
            or providers.provider_for_host(c.target)
            or ui.confirm(
                f"The DNS of {domain} sends you to {c.target}, outside {domain}. Use it?",
                default=False,
            )
        ):
            kept.append(c)
        else:
            ui.say(f"  not using {c.url}; pass --server {c.url} if it is right")
    return kept


# -- logging in -----------------------------------------------------------------------------


def _find_and_log_in(
    args: argparse.Namespace, ui: Prompter, stdin_password: str | None, resolve: discovery.Resolve
) -> tuple[Login, Where]:
    """Find the address books with a login that works; on a terminal, ask again after a
    wrong server or a refused password."""
    from netsync import dav

    where = _reachable(args, ui, resolve, "")
    if where.provider is not None and where.provider.oauth:
        return _oauth_login(args, ui, where), where
    username: str | None = args.username
    password: tuple[str, str] | None = None
    for attempt in range(1, LOGIN_TRIES + 1):
        if username is None:
            username = ui.ask(
                "Username"
                + (f" ({where.provider.username_hint})" if where.provider else "")
                + ", empty if the server needs none",
                flag="--username",
                default=where.username,
            )
        if password is None:
            password = _password(args, ui, username, where, stdin_password)
        try:
            login = _log_in(args, where, username, password)
        except dav.AuthFailed:
            if not ui.interactive or password[1] == "command" or attempt == LOGIN_TRIES:
                raise _refused(args, username, password[1]) from None
            ui.say(
                "The server refused the login: wrong username or password."
                if username
                else "The server wants a username and password."
            )
            username = ui.ask("Username", flag="--username", default=username or None)
            password = _password(args, ui, username, where, None, again=True)
            continue
        except _ServerProblem as problem:
            if not ui.interactive or attempt == LOGIN_TRIES:
                raise InitFailed(str(problem), problem.code) from None
            ui.say(f"{problem}\n")
            typed = ui.ask(
                "Your server (address, e-mail address or provider)",
                flag="--server",
                default=where.typed or None,
            )
            where = _reachable(args, ui, resolve, typed)
            continue
        ui.say(
            f"Logged in to {login.contacts_url} as {username}."
            if username
            else f"Connected to {login.contacts_url} (no login)."
        )
        return login, where
    raise AssertionError("not reached: the last try raises")


def _reachable(
    args: argparse.Namespace, ui: Prompter, resolve: discovery.Resolve, typed: str
) -> Where:
    """Where to look, keeping only candidates that answer at all, before any password is
    asked: a typo in the server is caught at once. On a terminal, asks again."""
    from netsync import dav

    for attempt in range(1, LOGIN_TRIES + 1):
        where = _where(args, ui, resolve, typed)
        problems = []
        answering = []
        for candidate in where.contacts:
            client = dav.connect(dav.Account(candidate.url, "", "", 30.0, _ca_file(args)))
            try:
                dav.call(candidate.url, "", functools.partial(_options, client, candidate.url))
                answering.append(candidate)
            except (dav.AuthFailed, dav.WrongCollection):
                answering.append(candidate)  # it answers; the login comes next
            except dav.Unreachable as err:
                problems.append(_unreachable_advice(candidate.url, err))
            except dav.DavError:
                answering.append(candidate)
            finally:
                client.close()
        if answering:
            where.contacts = answering
            return where
        if providers.looks_like_email(where.typed):
            domain = providers.email_domain(where.typed)
            problems.append(
                f"{domain} does not say where its contacts server is (no DNS SRV record "
                f"_carddavs._tcp.{domain}, no answer from https://{domain}/.well-known/carddav). "
                f"Give the server's address instead, or a provider ({PROVIDER_NAMES})."
            )
        if not ui.interactive or attempt == LOGIN_TRIES:
            raise InitFailed("\n".join(problems), 75)
        ui.say("\n".join(problems) + "\n")
        typed = ui.ask(
            "Your server (address, e-mail address or provider)",
            flag="--server",
            default=where.typed or None,
        )
    raise AssertionError("not reached: the loop returns or raises")


def _options(client: Any, url: str) -> Any:
    return client.request(url, "OPTIONS")


def _password(
    args: argparse.Namespace,
    ui: Prompter,
    username: str,
    where: Where,
    stdin_password: str | None,
    *,
    again: bool = False,
) -> tuple[str, str]:
    """(password, where it came from)."""
    from netsync.app import secrets

    if not username:
        return "", ""
    if args.password_command and not again:
        try:
            return _run_password_command(args.password_command), "command"
        except secrets.SecretError as err:
            raise InitFailed(f"init: --password-command: {err}", 78) from None
    if stdin_password is not None and not again:
        return stdin_password, "stdin"
    if os.environ.get("NETSYNC_PASSWORD") and not again:
        ui.say("Using the password in $NETSYNC_PASSWORD.")
        return os.environ["NETSYNC_PASSWORD"], "env"
    if not ui.interactive:
        raise UsageError(
            f"init: no password for {username}: pass --password-stdin (with the password on "
            "standard input) or --password-command CMD"
        )
    if where.provider is not None and where.provider.password_hint and not again:
        ui.say(where.provider.password_hint)
    host = urlsplit(where.contacts[0].url).hostname if where.contacts else ""
    while True:
        password = ui.password(f"Password for {username} at {host}: ")
        if password:
            return password, "prompt"
        ui.say("  (the password is empty; Ctrl-C stops)")


def _refused(args: argparse.Namespace, username: str, source: str) -> Exception:

    if not username:
        return UsageError(
            "init: the server wants a login: pass --username NAME and --password-stdin "
            "or --password-command CMD"
        )
    said = {
        "command": f"the password that `{args.password_command}` printed",
        "stdin": "the password from standard input",
        "env": "the password in $NETSYNC_PASSWORD",
    }.get(source, "the password")
    return InitFailed(
        f"init: the server refused the login of {username!r} with {said}; check both "
        "(some providers need an app password: see --provider)",
        77,
    )


class _ServerProblem(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _log_in(
    args: argparse.Namespace, where: Where, username: str, password: tuple[str, str]
) -> Login:
    """Try each contacts candidate; the first with an address book wins. AuthFailed passes
    through (the server was found); everything else is a _ServerProblem saying what to do."""
    from netsync import dav
    from netsync.dav import addressbook

    problems: list[str] = []
    code = 75
    for candidate in where.contacts:
        client = dav.connect(
            dav.Account(candidate.url, username, password[0], 30.0, _ca_file(args))
        )
        try:
            find = functools.partial(addressbook.find_address_books, client, candidate.url)
            books = dav.call(candidate.url, username, find)
        except dav.AuthFailed:
            client.close()
            raise
        except dav.Anonymous as err:
            # Nothing shown to a client without a login: to init, a server that wants one.
            client.close()
            raise dav.AuthFailed(candidate.url, username) from err
        except dav.Unreachable as err:
            client.close()
            problems.append(_unreachable_advice(candidate.url, err))
            continue
        except dav.DavError as err:
            client.close()
            code = 78
            problems.append(_no_books_advice(candidate.url, err))
            continue
        origin = _origin(candidate.url)
        clients = {origin: client}
        return Login(
            username, password[0], password[1], candidate.url, books, clients, _ca_file(args)
        )
    raise _ServerProblem("\n".join(problems) or "no server to try", code)


def _unreachable_advice(url: str, err: Exception) -> str:

    reason, advice = diagnose(url, err, trust="pass --ca-file with it")
    return f"Could not reach {url}: {reason}.\n" + textwrap.fill(
        advice + ".",
        width=92,
        initial_indent="  What to do: ",
        subsequent_indent="  ",
        break_long_words=False,
        break_on_hyphens=False,
    )


def _no_books_advice(url: str, err: Exception) -> str:
    return (
        f"{url} answered, but no address book was found there ({err}). The address is "
        "usually https://HOST/remote.php/dav/ (Nextcloud) or https://HOST/dav.php/ "
        f"(Baïkal); --provider fills it in ({PROVIDER_NAMES})."
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _client(args: argparse.Namespace, login: Login, url: str) -> Any:
    """A client for ``url`` with the login (one per server: iCloud has two)."""
    from netsync import dav

    origin = _origin(url)
    if origin not in login.clients:
        login.clients[origin] = dav.connect(
            dav.Account(url, login.username, login.password, 30.0, _ca_file(args), login.tokens)
        )
    return login.clients[origin]


def _call(login: Login, url: str, fn: Callable[..., Any], *fn_args: Any) -> Any:
    from netsync import dav

    origin = _origin(url)
    if origin not in login.clients:
        # Discovery may have led to another host (iCloud's calendar home is on a partition
        # host such as p42-caldav.icloud.com): a client of its own there.
        account = dav.Account(
            url, login.username, login.password, 30.0, login.ca_file, login.tokens
        )
        login.clients[origin] = dav.connect(account)
    client = login.clients[origin]
    return dav.call(url, login.username, lambda: fn(client, *fn_args))


# -- OAuth providers (Google) ------------------------------------------------------------------

GOOGLE_CLIENT_STEPS = """\
Google lets netsync in only through an OAuth client of your own (Google's terms keep an
open-source program from shipping one). Once, in a browser, signed in to your Google account:
  1. https://console.cloud.google.com/projectcreate : make a project (any name).
  2. APIs & Services > Library: enable the "CalDAV API" and the "Google Contacts CardDAV API"
     (not the Calendar API or the People API: those are other things).
  3. APIs & Services > OAuth consent screen: user type External, an app name, your address;
     then Audience > Publish app ("In production"). Left in "Testing", Google ends the
     sign-in after 7 days and netsync stops until you sign in again.
  4. APIs & Services > Credentials > Create credentials > OAuth client ID, application type
     "Desktop app". Copy the client ID and the client secret (or download the JSON and give
     it to init with --oauth-client-file).
Google calls the app unverified when you sign in: it is your own, so that is expected."""


def _oauth_login(args: argparse.Namespace, ui: Prompter, where: Where) -> Login:
    """Sign in with the installed-app flow; the refresh token is the login's password."""
    from netsync import dav
    from netsync.app import oauth
    from netsync.dav import addressbook

    provider = where.provider
    assert provider is not None
    client = _oauth_client(args, ui)
    username = args.username or ui.ask(
        f"Your {provider.name} account ({provider.username_hint})",
        flag="--username",
        default=where.username or None,
        what=f"{provider.name} account",
    )
    ui.say(f"\nSign in to {provider.name} as {username}: open this link in a browser,")

    def say(url: str) -> None:
        ui.say(f"\n  {url}\n")
        ui.say(oauth.ssh_note(url))

    try:
        grant = oauth.consent(
            client, say=say, paste=sys.stdin if ui.interactive else None, login_hint=username
        )
    except oauth.ConsentFailed as err:
        raise InitFailed(f"init: {err}", 77) from None
    except dav.Unreachable as err:
        raise InitFailed(f"init: {err}", 75) from None
    ui.say(f"Signed in to {provider.name}.")
    tokens = oauth.TokenSource(
        client, grant.refresh_token, username=username, ca_file=_ca_file(args)
    )
    url = where.contacts[0].url
    account = dav.Account(url, username, grant.refresh_token, 30.0, _ca_file(args), tokens)
    connection = dav.connect(account)
    try:
        find = functools.partial(addressbook.find_address_books, connection, url)
        books = dav.call(url, username, find)
    except dav.DavError as err:
        connection.close()
        raise InitFailed(f"init: signed in, but {url} gave no address book: {err}", 75) from None
    ui.say(f"Logged in to {url} as {username}.")
    return Login(
        username,
        grant.refresh_token,
        "oauth",
        url,
        books,
        {_origin(url): connection},
        _ca_file(args),
        tokens,
        client,
    )


def _oauth_client(args: argparse.Namespace, ui: Prompter) -> Any:
    import json

    from netsync.app import oauth

    if args.oauth_client_file:
        try:
            data = json.loads(Path(args.oauth_client_file).expanduser().read_text())
            installed = data.get("installed") or data.get("web") or {}
            return oauth.Client(oauth.GOOGLE, installed["client_id"], installed["client_secret"])
        except (OSError, ValueError, KeyError, AttributeError) as err:
            raise UsageError(
                f"init: --oauth-client-file: not the JSON of an OAuth client ({err})"
            ) from None
    ui.say(GOOGLE_CLIENT_STEPS)
    client_id = ui.ask("The client ID", flag="--oauth-client-file", what="OAuth client")
    secret = ui.ask("The client secret", flag="--oauth-client-file", what="OAuth client")
    return oauth.Client(oauth.GOOGLE, client_id.strip(), secret.strip())


def _keeping_token(ui: Prompter, login: Login, path: Path) -> Keeping:
    """A refresh token goes where a password would: the keyring, else a file of its own
    that password_command reads (and a systemd unit can load as a credential)."""
    from netsync.app import oauth, secrets

    backend = secrets.keyring_backend()
    if backend and ui.confirm(f"Keep the sign-in in the system keyring ({backend})?", default=True):
        return Keeping("keyring")
    return Keeping("command", f"cat {oauth.token_file(path)}")


def _no_calendar_made_here(ui: Prompter, provider: Provider, name: str) -> None:
    ui.say(
        f'{provider.name} does not let apps make calendars. Make one called "{name}" at '
        "https://calendar.google.com/calendar/r/settings/createcalendar (Settings > Add "
        "calendar > Create new calendar); then it is listed here."
    )


# -- what to use ----------------------------------------------------------------------------


def _pick_book(args: argparse.Namespace, ui: Prompter, login: Login) -> str:
    """The [contacts] url: one address book's URL, or the URL that found them all."""

    books = _call(login, login.contacts_url, discovery.address_books, login.book_urls)
    wanted = (args.address_book or "").strip()
    if wanted.casefold() == "all":
        return login.contacts_url
    if wanted:
        match = _match(books, wanted)
        if match is None:
            names = ", ".join(repr(b.name) for b in books)
            raise UsageError(f"init: --address-book: no {wanted!r} here; there are: {names}")
        return match.url
    if len(books) == 1:
        ui.say(f'Address book: "{books[0].name}" ({books[0].url})')
        return login.contacts_url
    ui.say("Address books:")
    options = [f'"{b.name}"  {b.url}' for b in books] + ["all of them"]
    index = ui.choose(
        "Which address book should netsync read?",
        options,
        default=len(books),
        flag="--address-book",
    )
    return login.contacts_url if index == len(books) else str(books[index].url)


def _match(collections: Sequence[discovery.Collection], wanted: str) -> discovery.Collection | None:
    key = wanted.strip().rstrip("/")
    for c in collections:
        if c.url.rstrip("/") == key or urlsplit(c.url).path.rstrip("/") == key:
            return c
    return next((c for c in collections if c.name.casefold() == key.casefold()), None)


def _pick_calendar(
    args: argparse.Namespace, ui: Prompter, login: Login, where: Where
) -> CalendarChoice:

    home, found = _calendars(args, ui, login, where)
    usable = [c for c in found if c.writable is not False and _holds_events(c)]
    readonly = [c for c in found if c.writable is False]
    if args.calendar:
        match = _match(found, args.calendar)
        if match is None and "://" in args.calendar:
            home, listed = _list_calendars(args, login, args.calendar)
            match = _match(listed, args.calendar)
        if match is None:
            names = ", ".join(repr(c.name) for c in usable) or "none"
            raise UsageError(
                f"init: --calendar: no calendar {args.calendar!r} (calendars you can write "
                f"to: {names}); --create-calendar {args.calendar!r} makes it"
            )
        if match.writable is False:
            raise UsageError(f"init: --calendar: {match.name!r} is read-only for you")
        return CalendarChoice(match.name, match.url, home)
    name = args.create_calendar or DEFAULT_CALENDAR
    existing = _match(usable, name) if "://" not in name else None
    provider = where.provider
    if provider is not None and not provider.makes_calendars:
        return _pick_made_elsewhere(args, ui, login, where, name, existing)
    if args.create_calendar:
        if existing is not None:
            ui.say(f'Calendar: "{existing.name}" exists already; the reminders go there.')
            return CalendarChoice(existing.name, existing.url, home)
        return CalendarChoice(name, "", home)
    if not ui.interactive:
        return CalendarChoice(name, existing.url if existing else "", home)
    ui.say("Calendars you can write to:" if usable else "You have no calendar to write to yet.")
    options = [f'"{c.name}"' for c in usable]
    if existing is None:
        options.append(f'a new calendar "{name}" (netsync makes it)')
    default = usable.index(existing) if existing is not None else len(usable)
    names = ", ".join(f'"{c.name}"' for c in readonly)
    index = ui.choose(
        "Which calendar should the reminders go to? One of their own is easy to hide or share",
        options,
        default=default,
        flag="--calendar or --create-calendar",
        note=f"  (read-only, so not offered: {names})" if readonly else "",
    )
    if index == len(usable):
        return CalendarChoice(name, "", home)
    return CalendarChoice(usable[index].name, usable[index].url, home)


def _pick_made_elsewhere(
    args: argparse.Namespace,
    ui: Prompter,
    login: Login,
    where: Where,
    name: str,
    existing: discovery.Collection | None,
) -> CalendarChoice:
    """A provider where apps cannot make calendars (Google: no MKCALENDAR): an existing one,
    or the user makes "Keep in touch" in the provider's own calendar and init looks again."""
    provider = where.provider
    assert provider is not None
    while True:
        home, found = _calendars(args, ui, login, where)
        usable = [c for c in found if c.writable is not False and _holds_events(c)]
        existing = _match(usable, name)
        if existing is not None and (args.create_calendar or not ui.interactive):
            ui.say(f'Calendar: "{existing.name}" ({existing.url})')
            return CalendarChoice(existing.name, existing.url, home)
        if existing is None:
            _no_calendar_made_here(ui, provider, name)
            if not ui.interactive:
                raise InitFailed(
                    f'init: no calendar "{name}" at {provider.name}, and apps cannot make one '
                    f"there: make it in {provider.name} Calendar, then run init again (or pass "
                    "--calendar with one of yours)",
                    78,
                )
        ui.say("Calendars you can write to:" if usable else "You have no calendar to write to.")
        options = [f'"{c.name}"' for c in usable] + [f'look again (after making "{name}")']
        default = usable.index(existing) if existing is not None else len(usable)
        index = ui.choose(
            "Which calendar should the reminders go to? One of their own is easy to hide or share",
            options,
            default=default,
            flag="--calendar",
        )
        if index < len(usable):
            return CalendarChoice(usable[index].name, usable[index].url, home)


def _holds_events(c: discovery.Collection) -> bool:
    return not c.components or "VEVENT" in c.components


def _calendars(
    args: argparse.Namespace, ui: Prompter, login: Login, where: Where
) -> tuple[str, list[discovery.Collection]]:
    from netsync import dav

    problems = []
    starts = [c.url for c in where.calendars]
    if login.contacts_url not in starts:
        starts.append(login.contacts_url)  # the server that worked for contacts
    # An address book's URL given: the calendars may live beside it (Radicale keeps both in
    # /USER/, and without a login it tells nobody where the calendar home is).
    beside = urljoin(login.contacts_url.rstrip("/") + "/", "..")
    if login.contacts_url in login.book_urls and beside not in starts:
        starts.append(beside)
    for start in starts:
        try:
            return _list_calendars(args, login, start)
        except dav.AuthFailed:
            raise InitFailed(
                f"init: {start} refused the login that the contacts server took", 77
            ) from None
        except dav.Unreachable as err:
            problems.append(_unreachable_advice(start, err))
        except dav.DavError as err:
            problems.append(f"{start}: {err}")
    raise InitFailed(
        "init: found the address book, but no calendars: "
        + "; ".join(problems)
        + ". Pass --calendar with your calendar's URL",
        78,
    )


def _list_calendars(
    args: argparse.Namespace, login: Login, start: str
) -> tuple[str, list[discovery.Collection]]:
    from netsync import dav

    client = _client(args, login, start)

    def find() -> tuple[str, list[discovery.Collection]]:
        resolved = discovery.well_known(client, start, "caldav")
        return discovery.calendars(client, resolved)

    result: tuple[str, list[discovery.Collection]] = dav.call(start, login.username, find)
    return result


def _make_calendar(client: Any, home: str, name: str) -> str:
    from netsync.dav import calendar

    return calendar.find_calendar(client, home, name, create=True)


def _ask_language(ui: Prompter) -> str:
    while True:
        answer = ui.ask(
            "Language of the reminders: en (English) or nl (Nederlands)",
            flag="--language",
            default="en",
        ).casefold()
        if answer in ("en", "nl"):
            return answer
        ui.say("  (en or nl)")


def _ask_every(ui: Prompter) -> str:
    from netsync.core.durations import parse_cadence

    while True:
        answer = ui.ask(
            "How often to be in touch with someone, unless their note or group says "
            "otherwise (30d, 6w, 3m, 1y)",
            flag="--every",
            default="90d",
        )
        try:
            if parse_cadence(answer) is not None:
                return answer
        except ValueError as err:
            ui.say(f"  ({err})")


# -- the password, after init ---------------------------------------------------------------


def _keeping(args: argparse.Namespace, ui: Prompter, login: Login) -> Keeping:
    if not login.username:
        return Keeping("none")
    if login.source == "command":
        return Keeping("command", args.password_command)
    from netsync.app import secrets

    backend = secrets.keyring_backend()
    if backend:
        if ui.confirm(f"Keep the password in the system keyring ({backend})?", default=True):
            return Keeping("keyring")
    else:
        ui.say(
            "This machine has no keyring (no desktop session with a Secret Service or "
            "KWallet), so the password needs another place."
        )
    how = ui.choose(
        "How should netsync get the password?",
        [
            "from a command that prints it (password_command), e.g. `pass show dav/alice`",
            "I will hand it over myself: a systemd credential or $NETSYNC_PASSWORD",
        ],
        default=1,
        flag="--password-command",
    )
    if how == 1:
        return Keeping("elsewhere")
    while True:
        command = ui.ask(
            "The command (run by /bin/sh; the first line it prints is the password)",
            flag="--password-command",
        )
        if _command_prints(ui, command, login.password):
            return Keeping("command", command)
        ui.say("  That command did not print the password that just worked; try again.")


def _command_prints(ui: Prompter, command: str, password: str) -> bool:
    from netsync.app import secrets

    try:
        got = _run_password_command(command)
    except secrets.SecretError as err:
        ui.say(f"  {err}")
        return False
    return got == password


def _run_password_command(command: str) -> str:
    """What ``command`` prints, through secrets' own runner (the credential directory, which
    secrets tries first, is left out: this is about the command)."""
    from netsync.app import secrets

    env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
    return secrets.get_password(account="contacts", username="", password_command=command, env=env)


def _keep_password(ui: Prompter, login: Login, keeping: Keeping) -> None:
    from netsync.app import secrets

    if login.tokens is not None and keeping.how == "command":
        from netsync.app import oauth

        where = oauth.keep_in_file(Path(keeping.command.removeprefix("cat ")), login.password)
        ui.say(f"Kept the Google sign-in (a refresh token) in {where}, readable only by you.")
        return
    if keeping.how != "keyring":
        return
    try:
        where = secrets.set_password(login.username, login.password)
    except secrets.SecretError as err:
        ui.say(f"Could not keep the password in the keyring: {err}.")
        _say_how_to_hand_over(ui, login.username, None)
        return
    ui.say(f"Kept the password in the {where}.")


def _say_how_to_hand_over(ui: Prompter, username: str, path: Path | None) -> None:
    folder = path.parent if path else Path("~/.config/netsync")
    ui.say(
        f"""
The config holds no password. Give netsync the password of {username} one of these ways:
  * for the service, as a systemd credential: put it in a file only you can read,
        (umask 077; systemd-ask-password "Password:" > {folder}/password)
    and add to the unit (`systemctl --user edit netsync`):
        [Service]
        LoadCredential=netsync-password:{folder}/password
  * from a command: set password_command in the config, e.g. "pass show dav/{username}"
  * in a shell: read -rs NETSYNC_PASSWORD && export NETSYNC_PASSWORD"""
    )


# -- writing and trying ---------------------------------------------------------------------


def _summary(
    ui: Prompter, book: str, calendar: CalendarChoice, language: str, every: str, keeping: Keeping
) -> None:
    password = {
        "keyring": "the system keyring",
        "command": f"`{keeping.command}`",
        "elsewhere": "you hand it over (how: after the config is written)",
        "none": "none needed",
    }[keeping.how]
    made = "" if calendar.url else " (new: netsync makes it now)"
    ui.say(
        f"\nContacts:  {book}\n"
        f'Reminders: "{calendar.name}"{made}, in {language}; in touch every {every}\n'
        f"Password:  {password}"
    )


def _parse(text: str, path: Path) -> None:
    """The config about to be written must load; a failure here is a bug in init."""
    from netsync.app.config import parse_settings

    parse_settings(tomllib.loads(text), source=str(path))


def _write(path: Path, text: str, *, force: bool) -> None:
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


def _dry_run(ui: Prompter, path: Path, login: Login, keeping: Keeping, *, today: Any) -> int:
    from netsync.app.config import load_settings

    settings = load_settings(path)
    ui.say("\nWhat `netsync sync` would do now (a dry run: nothing is written):")
    with _password_for_now(login, keeping):
        report = run_once(settings, today=session.today_for(settings, today), dry_run=True)
    print_report(report, out=ui.out)
    ui.say(
        "\nNext: `netsync sync` writes these reminders; `netsync run` (or the systemd unit) "
        "keeps them up to date; `netsync due` shows who is due."
    )
    return EXIT_PARTIAL if report.failed else EXIT_OK


@contextmanager
def _password_for_now(login: Login, keeping: Keeping) -> Iterator[None]:
    """The dry run uses the password that just worked, wherever it will live later (the
    keyring may be locked, a credential is only there under systemd)."""
    if not login.username or keeping.how == "command":
        yield
        return
    before = os.environ.get("NETSYNC_PASSWORD")
    os.environ["NETSYNC_PASSWORD"] = login.password
    try:
        yield
    finally:
        if before is None:
            del os.environ["NETSYNC_PASSWORD"]
        else:
            os.environ["NETSYNC_PASSWORD"] = before
