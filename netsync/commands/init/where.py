"""Step 1 of `netsync init`, where: the URLs to try, from a server's address, an e-mail
address (RFC 6764 discovery, or a provider's preset) or a provider's name."""

from __future__ import annotations

import argparse
import ipaddress
from urllib.parse import urlsplit

from netsync.commands.common import EXIT_CONFIG, Failed, UsageError
from netsync.commands.init.answers import PROVIDER_NAMES, Where
from netsync.commands.init.prompter import Prompter
from netsync.dav import discovery, providers
from netsync.dav.providers import Provider


def where(args: argparse.Namespace, ui: Prompter, resolve: discovery.Resolve, typed: str) -> Where:
    """Candidates from the flags on the first round, else from what the user types."""
    if not typed:
        if args.provider:
            return from_provider(args, ui, providers.provider(args.provider), args.server or "")
        if args.email:
            return from_email(ui, args.email, resolve)
        if args.server:
            return from_server(args.server)
        typed = ui.ask(
            "Your server: its address (cloud.example.com), your e-mail address, or a "
            f"provider ({PROVIDER_NAMES})",
            flag="--server URL, --email ADDRESS or --provider NAME",
            what="server",
        )
    key = typed.strip().casefold()
    try:
        if key in providers.PROVIDERS or key in providers.ALIASES:
            return from_provider(args, ui, providers.provider(key), "")
        if providers.looks_like_email(typed):
            return from_email(ui, typed, resolve)
        return from_server(typed)
    except ValueError as err:
        raise UsageError(f"init: {err}") from None


def from_provider(args: argparse.Namespace, ui: Prompter, p: Provider, server: str) -> Where:
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
            for u in with_plain_loopback(contacts, server)
        ],
        calendars=[
            discovery.Candidate(u, f"the {p.name} preset")
            for u in with_plain_loopback(calendars, server)
        ],
        provider=p,
        username=username,
        typed=p.key,
    )


def from_server(text: str) -> Where:
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
    urls = with_plain_loopback(url, text)
    return Where(
        [discovery.Candidate(u, "") for u in urls],
        [discovery.Candidate(u, "") for u in urls],
        typed=text,
    )


def with_plain_loopback(url: str, typed: str) -> list[str]:
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


def from_email(ui: Prompter, address: str, resolve: discovery.Resolve) -> Where:
    if not providers.looks_like_email(address):
        raise UsageError(f"init: --email: not an e-mail address: {address!r}")
    domain = providers.email_domain(address)
    if domain in providers.UNSUPPORTED:
        raise Failed(f"{domain}: {providers.UNSUPPORTED[domain]}", EXIT_CONFIG)
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
    contacts = vetted(ui, discovery.email_candidates(domain, "carddav", resolve), domain)
    calendars = vetted(ui, discovery.email_candidates(domain, "caldav", resolve), domain)
    found = next((c for c in contacts if c.target), None)
    provider = providers.provider_for_host(found.target) if found else None
    if found:
        ui.say(f"  {found.source}: {found.url}")
    else:
        ui.say(f"  no DNS records; trying https://{domain}/.well-known/carddav")
    return Where(contacts, calendars, provider=provider, username=address, typed=address)


def vetted(
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
