"""`netsync set-password`: store a password in the system keyring."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from netsync.commands.common import (
    EXIT_CONFIG,
    EXIT_NOPERM,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    is_terminal,
    load_config,
)

if TYPE_CHECKING:
    from netsync.app.config import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "set-password",
        help="store a password in the system keyring",
        description="Store a password in the system keyring (service netsync, "
        "key the username). On a server without a keyring use a systemd "
        "credential or password_command instead.",
        epilog="examples:\n  netsync set-password\n  netsync set-password --for reminders\n"
        "  netsync set-password --for mail",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--for",
        dest="account",
        choices=("contacts", "reminders", "mail"),
        default="contacts",
        help="which account (contacts)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return set_password_command(lambda: load_config(args), account=args.account)


HEADLESS_HINT = (
    "on a server give netsync the password another way: as a systemd credential "
    "(LoadCredential=netsync-password:/etc/netsync/password, see systemd/README.md), "
    "with password_command in the config, or in $NETSYNC_PASSWORD"
)


def _ask(username: str, url: str) -> str:
    if not is_terminal(sys.stdin):
        # `pass show dav/alice | netsync set-password`: no prompt, no echo to worry about.
        return sys.stdin.readline().rstrip("\r\n")
    parts = urlsplit(url)
    where = parts.hostname or url
    first = getpass.getpass(f"Password for {username} at {where}: ")
    if first and getpass.getpass("Once more, to be sure: ") != first:
        raise ValueError("the two passwords differ; nothing was stored")
    return first


def set_password_command(load: Callable[[], Settings], *, account: str) -> int:
    """`netsync set-password [--for contacts|reminders|mail]`: prompt, store, say where."""
    from netsync.app import secrets

    settings = load()
    section: Any = {"contacts": settings.contacts, "reminders": settings.reminders}.get(
        account, settings.mail
    )
    oauth = settings.contacts.oauth and account in ("contacts", "reminders")
    if oauth and (account == "contacts" or settings.reminders.inherits_login):
        return sign_in_again(settings)
    if account == "mail" and settings.mail.enabled and settings.mail.oauth:
        return sign_in_again(settings)  # the mail is read with the [contacts] sign-in
    username = section.username
    if account == "mail" and not settings.mail.enabled:
        print("netsync: [mail] url is not set: netsync reads no mail", file=sys.stderr)
        return EXIT_CONFIG
    if account == "mail" and username in (settings.contacts.username, settings.reminders.username):
        print(
            f"[mail] has the same username as the contacts account, and the keyring keeps one "
            f"password per username: this is the password of {username} for both. If they "
            "differ, give the mail one as the credential netsync-password-mail or with "
            "[mail] password_command."
        )
    if not username:
        print(
            f"netsync: [{account}] has no username; the keyring keeps a password under the "
            "username, so set one in the config first (a server without login needs no "
            "password)",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    if account == "reminders" and settings.reminders.inherits_login:
        print(
            f"[reminders] uses the [contacts] login, so this is the password of {username} "
            "for both."
        )
    earlier = [
        source
        for source, active in (
            ("$CREDENTIALS_DIRECTORY", bool(os.environ.get("CREDENTIALS_DIRECTORY"))),
            (f"[{account}] password_command", bool(section.password_command)),
            ("$NETSYNC_PASSWORD", bool(os.environ.get("NETSYNC_PASSWORD"))),
        )
        if active
    ]
    if earlier:
        print(
            f"note: netsync tries {', '.join(earlier)} before the keyring; while that is "
            "set, it will not use what you store now.",
            file=sys.stderr,
        )
    if not secrets.keyring_backend():
        problem = "no keyring on this machine (no desktop session with a Secret Service or "
        problem += "KWallet)"
        print(f"netsync: {problem}; {HEADLESS_HINT}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        password = _ask(username, section.url)
    except ValueError as err:
        print(f"netsync: {err}", file=sys.stderr)
        return EXIT_USAGE
    except (EOFError, KeyboardInterrupt):
        print("\nnetsync: nothing was stored", file=sys.stderr)
        return EXIT_USAGE
    if not password:
        print("netsync: empty password; nothing was stored", file=sys.stderr)
        return EXIT_USAGE
    try:
        where = secrets.set_password(username, password)
    except secrets.SecretError as err:
        print(f"netsync: {err}; {HEADLESS_HINT}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"Stored the password of {username} in the {where}.")
    print(
        "A running `netsync run` uses it from its next try after a refused login, or at "
        "once after `systemctl --user reload netsync`."
    )
    return EXIT_OK


def sign_in_again(settings: Settings) -> int:
    """For an OAuth account (Google) the "password" is a refresh token: sign in again in a
    browser and keep the new one where the old one was looked for. With ``[mail] auth =
    "oauth"`` the sign-in asks for the mail too (one grant serves both)."""
    from pathlib import Path

    from netsync import dav
    from netsync.app import oauth

    c = settings.contacts
    client = oauth.Client(oauth.GOOGLE, c.oauth_client_id, c.oauth_client_secret)
    tty = is_terminal(sys.stdin)
    who = c.username or "yourself"
    print(f"Sign in to {client.endpoints.name} as {who}: open this link in a browser,")

    def say(url: str) -> None:
        print(f"\n  {url}\n", flush=True)
        print(oauth.ssh_note(url), flush=True)

    try:
        grant = oauth.consent(
            client,
            say=say,
            paste=sys.stdin if tty else None,
            login_hint=c.username,
            also=mail_scopes(settings),
        )
    except oauth.ConsentFailed as err:
        print(f"netsync: {err}", file=sys.stderr)
        return EXIT_NOPERM
    except dav.Unreachable as err:
        print(f"netsync: {err}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except KeyboardInterrupt:
        print("\nnetsync: nothing was stored", file=sys.stderr)
        return EXIT_USAGE
    file = oauth.token_file(Path(settings.source))
    where = oauth.keep(c.username, grant.refresh_token, file)
    print(f"Signed in; kept the new refresh token in {where}.")
    if where == str(file) and str(file) not in c.password_command:
        print(
            f'Have netsync read it: password_command = "cat {file}" in [contacts], or for the '
            f"service LoadCredential=netsync-password:{file}"
        )
    return EXIT_OK


def mail_scopes(settings: Settings) -> tuple[str, ...]:
    """The scope a sign-in asks for besides the DAV ones: Gmail's, when [mail] reads with it."""
    from netsync.app import oauth

    return (oauth.MAIL_SCOPE,) if settings.mail.enabled and settings.mail.oauth else ()
