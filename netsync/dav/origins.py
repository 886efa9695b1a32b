"""Where an account's requests (and with them its credentials) may go (SPEC 10).

A DAV server names URLs in its answers (a principal, a home, an address book) and redirects;
some providers send a client to another host on purpose: iCloud's contacts.icloud.com names
the user's principal on ``pNN-contacts.icloud.com``. A hostile or broken server can name any
host, and a client that follows with the login attached hands the password to it.

The rule: a request goes to the configured origin, or to another origin of the same
registrable domain (``contacts.icloud.com`` -> ``p42-contacts.icloud.com``: both under
``icloud.com``; the public suffix list says where a registrable domain begins, so
``a.github.io`` and ``b.github.io`` are strangers). Never from https down to plain http. An
IP address or a single-label host (``localhost``) has no registrable domain: it matches only
itself (any port). Anything else is refused before a byte is sent, with a message that names
both hosts.

The list comes from the ``publicsuffixlist`` package, which ships it: nothing is downloaded
at run time (a daemon on a locked-down host must not reach out to publicsuffix.org).
"""

from __future__ import annotations

import ipaddress
from functools import cache
from typing import Any
from urllib.parse import urlsplit


class Origin:
    """The origin of one account's configured URL, and the policy that follows from it."""

    def __init__(self, configured: str) -> None:
        parts = urlsplit(configured)
        self.url = configured
        self.scheme = parts.scheme.lower()
        self.host = (parts.hostname or "").lower().rstrip(".")
        self.domain = registrable_domain(self.host)

    def refusal(self, url: str) -> str | None:
        """Why a request to ``url`` must not be sent, or None when it may."""
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), (parts.hostname or "").lower().rstrip(".")
        if not host:
            return None  # a relative reference: it stays where it is resolved
        if self.scheme == "https" and scheme != "https":
            return (
                f"{self.host} sent netsync to {scheme}://{host}, which is not encrypted; "
                "netsync was set up for https and sends nothing over plain http"
            )
        if host == self.host:
            return None
        if self.domain is not None and registrable_domain(host) == self.domain:
            return None
        return (
            f"{self.host} sent netsync to {host}, another domain; netsync sends nothing (and "
            f"no password) there. If you trust {host}, give its URL in the config instead"
        )


@cache
def registrable_domain(host: str) -> str | None:
    """``p42-contacts.icloud.com`` -> ``icloud.com``; None for an IP address, a single label
    or a public suffix itself (each of those matches only itself)."""
    host = host.lower().rstrip(".")
    try:
        ipaddress.ip_address(host.strip("[]"))
        return None
    except ValueError:
        pass
    if "." not in host:
        return None
    domain = _list().privatesuffix(host)
    return str(domain) if domain else None


@cache
def _list() -> Any:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()
