"""Step 3 of `netsync init` for a provider that takes only OAuth 2.0 (Google): how to make an
OAuth client of one's own, the sign-in through the browser, and where the refresh token goes.

The sign-in is the installed-app flow of netsync.app.oauth (a loopback redirect, with a note
and a paste-back for a machine reached over SSH). Its refresh token is the login's password:
it goes where a password goes (the keyring, else a file readable only by the user that
password_command reads), never into the config, a log or argv.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path
from typing import Any

from netsync.commands.common import EXIT_NOPERM, EXIT_UNAVAILABLE, Failed, UsageError
from netsync.commands.init.answers import Keeping, Login, Where, ca_file
from netsync.commands.init.prompter import Prompter

# After vdirsyncer's Google guide (docs/config.rst, "Google"), with Google's own console names.
CLIENT_STEPS = """\
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


def sign_in(args: argparse.Namespace, ui: Prompter, where: Where) -> Login:
    """Sign in with the installed-app flow and find the address books with the tokens."""
    from netsync import dav
    from netsync.app import oauth
    from netsync.dav import addressbook

    provider = where.provider
    assert provider is not None
    client = _client(args, ui)
    username = args.username or ui.ask(
        f"Your {provider.name} account ({provider.username_hint})",
        flag="--username",
        default=where.username or None,
        what=f"{provider.name} account",
    )
    from netsync.commands.init import mail

    gmail = mail.wants_gmail(args, ui, username)
    ui.say(f"\nSign in to {provider.name} as {username}: open this link in a browser,")

    def say(url: str) -> None:
        ui.say(f"\n  {url}\n")
        ui.say(oauth.ssh_note(url))

    paste = sys.stdin if ui.interactive else None
    try:
        also = (oauth.MAIL_SCOPE,) if gmail else ()
        grant = oauth.consent(client, say=say, paste=paste, login_hint=username, also=also)
    except oauth.ConsentFailed as err:
        raise Failed(f"init: {err}", EXIT_NOPERM) from None
    except dav.Unreachable as err:
        raise Failed(f"init: {err}", EXIT_UNAVAILABLE) from None
    ui.say(f"Signed in to {provider.name}.")
    trust = ca_file(args)
    tokens = oauth.TokenSource(client, grant.refresh_token, username=username, ca_file=trust)
    url = where.contacts[0].url
    connection = dav.connect(dav.Account(url, username, grant.refresh_token, 30.0, trust, tokens))
    try:
        find = functools.partial(addressbook.find_address_books, connection, url)
        books = dav.call(url, username, find)
    except dav.DavError as err:
        connection.close()
        raise Failed(
            f"init: signed in, but {url} gave no address book: {err}", EXIT_UNAVAILABLE
        ) from None
    ui.say(f"Logged in to {url} as {username}.")
    clients = {dav.origin(url): connection}
    return Login(
        username, grant.refresh_token, "oauth", url, books, clients, trust, tokens, client, gmail
    )


def _client(args: argparse.Namespace, ui: Prompter) -> Any:
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
    ui.say(CLIENT_STEPS)
    client_id = ui.ask("The client ID", flag="--oauth-client-file", what="OAuth client")
    secret = ui.ask("The client secret", flag="--oauth-client-file", what="OAuth client")
    return oauth.Client(oauth.GOOGLE, client_id.strip(), secret.strip())


def keeping(ui: Prompter, path: Path) -> Keeping:
    """A refresh token goes where a password would: the keyring, else a file of its own
    beside the config that password_command reads (and a systemd unit can load as a
    credential: LoadCredential=netsync-password:FILE)."""
    from netsync.app import oauth, secrets

    backend = secrets.keyring_backend()
    if backend and ui.confirm(f"Keep the sign-in in the system keyring ({backend})?", default=True):
        return Keeping("keyring")
    return Keeping("command", f"cat {oauth.token_file(path)}")
