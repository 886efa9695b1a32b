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

The steps, one module each: ``where`` (the URLs to try), ``reachable`` (which of them answer),
``login``, ``pick`` (address book, calendar, language, cadence), ``keep`` (the password) and
``write``; ``prompter`` asks the questions, ``answers`` holds what they found. This module
runs them in order.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from contextlib import closing
from pathlib import Path

from netsync.commands.common import EXIT_INTERRUPTED, EXIT_USAGE, is_terminal, parse_date
from netsync.commands.init import keep, mail, pick, write
from netsync.commands.init.answers import (
    DEFAULT_CALENDAR,
    PROVIDER_NAMES,
    Login,
    Plan,
    Where,
    ca_file,
    check_flags,
    stdin_password,
    target,
)
from netsync.commands.init.login import call, find_and_log_in
from netsync.commands.init.prompter import Prompter
from netsync.dav import discovery

__all__ = ["Prompter", "register", "run", "run_init"]

EXAMPLES = """\
examples:
  netsync init
  netsync init --provider nextcloud --server cloud.example.com --username alice
  netsync init --email alice@fastmail.com
  pass show dav/alice | netsync init --non-interactive --server https://dav.example.com/ \\
      --username alice --password-stdin --create-calendar --language nl --every 60d
"""


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
    mail.add_flags(p)
    p.add_argument("--today", type=parse_date, metavar="DATE", help=argparse.SUPPRESS)
    p.set_defaults(func=run, writes=False)  # its dry run writes nothing


def run(args: argparse.Namespace) -> int:
    interactive = not args.non_interactive and is_terminal(sys.stdin)
    return run_init(args, Prompter(interactive=interactive))


def run_init(
    args: argparse.Namespace,
    ui: Prompter,
    *,
    resolve: discovery.Resolve | None = None,
) -> int:
    """The whole of `netsync init`; ``resolve`` stands in for DNS (tests)."""
    check_flags(args)
    path = target(args)
    password = stdin_password(args)
    if ui.interactive:
        ui.say(
            "netsync init: a few questions, then a config file and a dry run. "
            "Nothing is changed until the end; Ctrl-C stops.\n"
        )
    resolve = resolve or discovery.dns_resolve
    try:
        login, where = find_and_log_in(args, ui, password, resolve)
    except (EOFError, KeyboardInterrupt):
        return _stopped(ui)
    with closing(login):
        try:
            plan = _decide(args, ui, login, where, path, resolve)
        except (EOFError, KeyboardInterrupt):
            return _stopped(ui)
        if plan is None:
            ui.say("Nothing was written.")
            return EXIT_USAGE
        # Only now is anything changed: the calendar, the keyring, the file.
        if not plan.calendar.url:
            home, name = plan.calendar.home, plan.calendar.name
            made = call(login, home, write.make_calendar, home, name)
            ui.say(f'Made the calendar "{name}": {made}')
        keep.keep_password(ui, login, plan.keeping)
        mail.keep_mail_password(ui, login, plan.mail, keyring=plan.keeping.how == "keyring")
    write.write(path, plan.text, force=args.force)
    ui.say(f"Wrote {path} (readable only by you). `netsync check` tests it any time.")
    if plan.keeping.how == "elsewhere":
        keep.say_how_to_hand_over(ui, login.username, path)
    return write.dry_run(ui, path, login, plan.keeping, today=args.today, mail=plan.mail)


def _decide(
    args: argparse.Namespace,
    ui: Prompter,
    login: Login,
    where: Where,
    path: Path,
    resolve: discovery.Resolve,
) -> Plan | None:
    """The remaining questions, the config they make, and the go-ahead (None: not given)."""
    book = pick.pick_book(args, ui, login)
    calendar = pick.pick_calendar(args, ui, login, where)
    today = args.today or dt.date.today()
    sent = mail.pick_mail(args, ui, login, ca_file=ca_file(args), resolve=resolve, today=today)
    language = args.language or pick.ask_language(ui)
    every = args.every or pick.ask_every(ui)
    if login.tokens is not None:
        from netsync.commands.init import oauth

        keeping = oauth.keeping(ui, path)
    else:
        keeping = keep.keeping(args, ui, login)
    text = write.config_text(
        book=book,
        login=login,
        keeping=keeping,
        ca_file=ca_file(args),
        calendar=calendar,
        every=every,
        language=language,
        path=path,
        mail=sent,
    )
    shown = book
    if book == login.contacts_url and len(login.book_urls) > 1:
        shown = f"{book} (all {len(login.book_urls)} address books)"
    write.summary(ui, shown, calendar, language, every, keeping, sent)
    if ui.interactive and not ui.confirm(f"Write the config to {path}?", default=True):
        return None
    return Plan(text, calendar, keeping, sent)


def _stopped(ui: Prompter) -> int:
    ui.say("\nStopped; nothing was changed.")
    return EXIT_INTERRUPTED
