"""Step 3 of `netsync init`, login: the username and the password, proved by finding the
address books with them; on a terminal, asked again after a wrong server or a refused login.

The password is read without echo (Prompter.password), from --password-stdin, from
--password-command or from $NETSYNC_PASSWORD, never from argv, and never shown.
"""

from __future__ import annotations

import argparse
import functools
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from netsync.commands.common import (
    EXIT_CONFIG,
    EXIT_NOPERM,
    EXIT_UNAVAILABLE,
    Failed,
    UsageError,
)
from netsync.commands.init.answers import (
    LOGIN_TRIES,
    PROVIDER_NAMES,
    Login,
    Where,
    ca_file,
)
from netsync.commands.init.prompter import Prompter
from netsync.commands.init.reachable import ask_server, reachable, unreachable_advice
from netsync.dav import discovery


class ServerProblem(Failed):
    """No address book at any candidate, for a reason other than the login: worth asking for
    another server."""


def find_and_log_in(
    args: argparse.Namespace, ui: Prompter, stdin_password: str | None, resolve: discovery.Resolve
) -> tuple[Login, Where]:
    """Find the address books with a login that works; on a terminal, ask again after a
    wrong server or a refused password."""
    from netsync import dav

    where = reachable(args, ui, resolve, "")
    if where.provider is not None and where.provider.oauth:
        from netsync.commands.init import oauth

        return oauth.sign_in(args, ui, where), where
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
            password = ask_password(args, ui, username, where, stdin_password)
        try:
            login = log_in(args, where, username, password)
        except dav.AuthFailed:
            if not ui.interactive or password[1] == "command" or attempt == LOGIN_TRIES:
                raise refused(args, username, password[1]) from None
            if not username:
                ui.say("The server wants a username and password.")
                username = ui.ask("Username", flag="--username")
                password = ask_password(args, ui, username, where, None, again=True)
                continue
            # The password first, hidden: a hurried person types it straight away, and a
            # username question would show it on the screen.
            ui.say(
                f"The server refused the login of {username}: a wrong password, or username. "
                "Type the password again (Enter alone: another username)."
            )
            password = ask_password(args, ui, username, where, None, again=True, empty=True)
            if not password[0]:
                username = ui.ask("Username", flag="--username", default=username)
                password = ask_password(args, ui, username, where, None, again=True)
            continue
        except ServerProblem as problem:
            if not ui.interactive or attempt == LOGIN_TRIES:
                raise Failed(str(problem), problem.code) from None
            ui.say(f"{problem}\n")
            where = reachable(args, ui, resolve, ask_server(ui, where))
            continue
        ui.say(
            f"Logged in to {login.contacts_url} as {username}."
            if username
            else f"Connected to {login.contacts_url} (no login)."
        )
        return login, where
    raise AssertionError("not reached: the last try raises")


def ask_password(
    args: argparse.Namespace,
    ui: Prompter,
    username: str,
    where: Where,
    stdin_password: str | None,
    *,
    again: bool = False,
    empty: bool = False,
) -> tuple[str, str]:
    """(password, where it came from); ``empty``: Enter alone gives ("", "prompt")."""
    from netsync.app import secrets

    if not username:
        return "", ""
    if args.password_command and not again:
        try:
            return run_password_command(args.password_command), "command"
        except secrets.SecretError as err:
            raise Failed(f"init: --password-command: {err}", EXIT_CONFIG) from None
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
        if password or empty:
            return password, "prompt"
        ui.say("  (the password is empty; Ctrl-C stops)")


def run_password_command(command: str) -> str:
    """What ``command`` prints, through secrets' own runner (the credential directory, which
    secrets tries first, is left out: this is about the command)."""
    from netsync.app import secrets

    env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
    return secrets.get_password(account="contacts", username="", password_command=command, env=env)


def refused(args: argparse.Namespace, username: str, source: str) -> Exception:
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
    return Failed(
        f"init: the server refused the login of {username!r} with {said}; check both "
        "(some providers need an app password: see --provider)",
        EXIT_NOPERM,
    )


def log_in(
    args: argparse.Namespace, where: Where, username: str, password: tuple[str, str]
) -> Login:
    """Try each contacts candidate; the first with an address book wins. AuthFailed passes
    through (the server was found); everything else is a ServerProblem saying what to do."""
    from netsync import dav
    from netsync.dav import addressbook

    problems: list[str] = []
    code = EXIT_UNAVAILABLE
    for candidate in where.contacts:
        client = dav.connect(dav.Account(candidate.url, username, password[0], 30.0, ca_file(args)))
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
            problems.append(unreachable_advice(candidate.url, err))
            continue
        except dav.DavError as err:
            client.close()
            code = EXIT_CONFIG
            problems.append(no_books_advice(candidate.url, err))
            continue
        clients = {dav.origin(candidate.url): client}
        return Login(
            username, password[0], password[1], candidate.url, books, clients, ca_file(args)
        )
    raise ServerProblem("\n".join(problems) or "no server to try", code)


def no_books_advice(url: str, err: Exception) -> str:
    return (
        f"{url} answered, but no address book was found there ({err}). The address is "
        "usually https://HOST/remote.php/dav/ (Nextcloud) or https://HOST/dav.php/ "
        f"(Baïkal); --provider fills it in ({PROVIDER_NAMES})."
    )


def client_for(args: argparse.Namespace, login: Login, url: str) -> Any:
    """A client for ``url`` with the login (one per server: iCloud has two)."""
    from netsync import dav

    origin = dav.origin(url)
    if origin not in login.clients:
        login.clients[origin] = dav.connect(
            dav.Account(url, login.username, login.password, 30.0, ca_file(args), login.tokens)
        )
    return login.clients[origin]


def call(login: Login, url: str, fn: Callable[..., Any], *fn_args: Any) -> Any:
    """``fn(client, *fn_args)`` on the client of ``url``'s server, errors translated."""
    from netsync import dav

    origin = dav.origin(url)
    if origin not in login.clients:
        # Discovery may have led to another host (iCloud's calendar home is on a partition
        # host such as p42-caldav.icloud.com): a client of its own there.
        account = dav.Account(
            url, login.username, login.password, 30.0, login.ca_file, login.tokens
        )
        login.clients[origin] = dav.connect(account)
    client = login.clients[origin]
    return dav.call(url, login.username, lambda: fn(client, *fn_args))
