"""Step 2 of `netsync init`, reachable: keep the candidates that answer at all, before any
password is asked, so that a typo in the server is caught at once."""

from __future__ import annotations

import argparse
import functools
import textwrap

from netsync.commands.common import EXIT_UNAVAILABLE, Failed, diagnose
from netsync.commands.init.answers import LOGIN_TRIES, PROVIDER_NAMES, Where, ca_file
from netsync.commands.init.prompter import Prompter
from netsync.commands.init.where import where as find_where
from netsync.dav import discovery, providers


def reachable(
    args: argparse.Namespace, ui: Prompter, resolve: discovery.Resolve, typed: str
) -> Where:
    """Where to look, keeping only candidates that answer. On a terminal, asks again."""
    from netsync import dav

    for attempt in range(1, LOGIN_TRIES + 1):
        where = find_where(args, ui, resolve, typed)
        problems = []
        answering = []
        for candidate in where.contacts:
            client = dav.connect(dav.Account(candidate.url, "", "", 30.0, ca_file(args)))
            try:
                dav.call(candidate.url, "", functools.partial(dav.options, client, candidate.url))
                answering.append(candidate)
            except (dav.AuthFailed, dav.WrongCollection):
                answering.append(candidate)  # it answers; the login comes next
            except dav.Unreachable as err:
                problems.append(unreachable_advice(candidate.url, err))
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
            raise Failed("\n".join(problems), EXIT_UNAVAILABLE)
        ui.say("\n".join(problems) + "\n")
        typed = ask_server(ui, where)
    raise AssertionError("not reached: the loop returns or raises")


def ask_server(ui: Prompter, where: Where) -> str:
    return ui.ask(
        "Your server (address, e-mail address or provider)",
        flag="--server",
        default=where.typed or None,
    )


def unreachable_advice(url: str, err: Exception) -> str:
    reason, advice = diagnose(url, err, trust="pass --ca-file with it")
    return f"Could not reach {url}: {reason}.\n" + textwrap.fill(
        advice + ".",
        width=92,
        initial_indent="  What to do: ",
        subsequent_indent="  ",
        break_long_words=False,
        break_on_hyphens=False,
    )
