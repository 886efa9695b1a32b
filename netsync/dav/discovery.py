"""Finding a person's DAV server and the collections on it: one discovery, two flavours
(address books and calendars; vdirsyncer's Discover/CardDiscover/CalDiscover is the model).

From a server URL (RFC 6764 §5 ``/.well-known/carddav`` or ``caldav`` for a bare host), a
principal, a home or a collection, ``find`` walks RFC 6352 §7 / RFC 4791 §6.2:
resourcetype -> current-user-principal (RFC 5397) -> the home set -> the collections in it.
Every href is resolved against the URL of the response that named it, and requests follow
it there (client.py decides whether they may: iCloud's principal lives on another host).

For ``netsync init``, from an e-mail address's domain: DNS SRV (``_carddavs._tcp``, then the
plain ``_carddav._tcp``) and TXT (``path=``) records, then ``https://DOMAIN/``. DNS goes
through a ``resolve(name, rdtype) -> [record text]`` function, so tests (and machines without
DNS) can hand in their own; the default uses dnspython and answers [] on any DNS failure.
caldav's own discovery module is not used: it resolves with the global dnspython resolver (no
injection), drops the SRV target's port when it equals 443, and follows well-known with a GET
on an https URL built from the domain only. ``init`` also sees each collection's display name
and whether the user may write to it (RFC 3744 current-user-privilege-set).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from netsync.dav import wire
from netsync.dav.client import Anonymous, DavError, WrongCollection, check_status, origin
from netsync.dav.collection import ADDRESS_BOOK, CALENDAR, Flavour

log = logging.getLogger(__name__)

Resolve = Callable[[str, str], list[str]]
DNS_TIMEOUT = 5.0  # seconds for one lookup; a machine without DNS must not hang init

_D = "{DAV:}"
_C = "{urn:ietf:params:xml:ns:caldav}"
# What a URL is, and (with a login) whose it is and where its collections live, in one
# PROPFIND. Without a login only what it is: Radicale with [auth] type = none answers 401 to
# a PROPFIND that asks current-user-principal, but serves the collection itself.
_DESCRIBE = (
    '<d:propfind xmlns:d="DAV:" xmlns:c="{namespace}"><d:prop>'
    "<d:resourcetype/><d:displayname/>{more}</d:prop></d:propfind>"
)
_LIST = (
    '<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop>'
    "<d:resourcetype/><d:displayname/><d:current-user-privilege-set/>"
    "<c:supported-calendar-component-set/></d:prop></d:propfind>"
)
_WRITE_PRIVILEGES = {f"{_D}all", f"{_D}write", f"{_D}write-content", f"{_D}bind"}


@dataclass(frozen=True)
class Candidate:
    """A URL to try, and where it came from (said to the user)."""

    url: str
    source: str
    target: str = ""  # the SRV target host, when it came from DNS
    in_domain: bool = True  # RFC 6764 section 8: the SRV target is in the queried domain


@dataclass(frozen=True)
class Collection:
    url: str
    name: str  # display name, else the last path segment
    writable: bool | None  # None: the server did not say (no RFC 3744)
    components: tuple[str, ...] = ()  # a calendar's VEVENT/VTODO/...; () = not said


def dns_resolve(name: str, rdtype: str) -> list[str]:
    """Records of ``rdtype`` at ``name`` as zone-file text; [] when there are none or DNS fails."""
    import dns.exception  # dnspython (declared): imported here, as only init and check need it
    import dns.resolver

    try:
        answer = dns.resolver.resolve(name, rdtype, lifetime=DNS_TIMEOUT)
    except dns.exception.DNSException as exc:
        log.debug("DNS %s %s: %s", rdtype, name, type(exc).__name__)
        return []
    return [record.to_text() for record in answer]


def srv_candidates(domain: str, service: str, resolve: Resolve) -> list[Candidate]:
    """URLs from the SRV (and TXT) records of ``_carddavs._tcp.DOMAIN`` (``service`` "carddav")
    or the CalDAV ones; TLS records first, then plain ones. RFC 6764 sections 3-6."""
    found: list[Candidate] = []
    for tls in (True, False):
        label = f"_{service}{'s' if tls else ''}._tcp.{domain}"
        records = parse_srv(resolve(label, "SRV"))
        if not records:
            continue
        path = txt_path(resolve(label, "TXT")) or "/"
        scheme = "https" if tls else "http"
        for target, port in records:
            default = 443 if tls else 80
            netloc = target if port == default else f"{target}:{port}"
            found.append(
                Candidate(
                    url=f"{scheme}://{netloc}{path}",
                    source=f"DNS SRV {label}",
                    target=target,
                    in_domain=_in_domain(target, domain),
                )
            )
    return found


def email_candidates(domain: str, service: str, resolve: Resolve) -> list[Candidate]:
    """Where to look for ``service`` for an address at ``domain``: SRV/TXT, then the domain's
    own https root (whose /.well-known/SERVICE the discovery follows)."""
    return [
        *srv_candidates(domain, service, resolve),
        Candidate(f"https://{domain}/", f"https://{domain}/.well-known/{service}"),
    ]


def parse_srv(records: Iterable[str]) -> list[tuple[str, int]]:
    """(target, port) by priority, then weight (heaviest first); "." means "no service"."""
    parsed: list[tuple[int, int, str, int]] = []
    for text in records:
        parts = text.split()
        if len(parts) != 4 or not all(p.isdigit() for p in parts[:3]):
            log.debug("ignoring SRV record %r", text)
            continue
        priority, weight, port, target = int(parts[0]), int(parts[1]), int(parts[2]), parts[3]
        target = target.rstrip(".")
        if not target or not 0 < port < 65536:
            continue  # RFC 2782: a target of "." says the service is not offered
        parsed.append((priority, -weight, target, port))
    return [(target, port) for _p, _w, target, port in sorted(parsed)]


def txt_path(records: Iterable[str]) -> str:
    """The ``path=`` of RFC 6764 section 4 from TXT records ("" if none)."""
    for text in records:
        # dnspython's to_text() quotes each string of the record: '"txtvers=1" "path=/dav/"';
        # each string is one key=value (the DNS-SD layout RFC 6764 section 4 borrows).
        pairs: list[str] = re.findall(r'"((?:[^"\\]|\\.)*)"', text) or [text]
        for pair in pairs:
            key, _, value = pair.strip().partition("=")
            if key.casefold() == "path" and value.startswith("/"):
                return value if value.endswith("/") else value + "/"
    return ""


def _in_domain(host: str, domain: str) -> bool:
    host, domain = host.casefold().rstrip("."), domain.casefold().rstrip(".")
    return host == domain or host.endswith("." + domain)


# ---------------------------------------------------------------------------------------------
# The collections reachable from a URL


@dataclass(frozen=True)
class Found:
    """What ``find`` found: the collections (URL, display name), and the home set where a new
    one would go (None when the URL given is itself the collection)."""

    collections: list[tuple[str, str]]
    home: str | None


@dataclass(frozen=True)
class _Node:
    url: str  # the URL that answered
    types: frozenset[str]
    name: str
    principal: str | None  # whole URLs, resolved against the answer
    homes: tuple[str, ...]
    asked: bool  # whether the PROPFIND asked for principal and home set
    redirected: bool


def find(client: Any, url: str, flavour: Flavour) -> Found:
    """The collections of ``flavour`` reachable from ``url``: the server root (its well-known
    URL first), a principal, a home set, or one collection (which is then all there is).
    WrongCollection when ``url`` is a collection of the other kind; Anonymous when a server
    shows nothing to a client without a login; DavError naming what was tried otherwise."""
    anonymous = not getattr(client, "username", None)
    tried: list[str] = []
    refusal: Anonymous | None = None
    for start in _starting_points(url, flavour):
        node = _describe(client, start, flavour, tried, ask=not anonymous)
        if node is None:
            continue
        if flavour.kind in node.types:
            return Found([(node.url if node.redirected else start, node.name)], None)
        if flavour.other in node.types:
            other = ADDRESS_BOOK if flavour is CALENDAR else CALENDAR
            raise WrongCollection(f"{start} is {other.article}, not {flavour.article}")
        try:
            homes = _homes(client, node, flavour, tried)
        except Anonymous as refused:
            # Radicale without logins: no principal for nobody. The URL itself may be a home
            # (a calendar is found, or made, in it); if it holds nothing, say what to give.
            tried.append(f"{node.url}: no current-user-principal without a login (401)")
            homes, refusal = (wire.collection_url(node.url),), refused
        found = [c for home in homes for c in _collections_in(client, home, flavour, tried)]
        if found or (homes and flavour is CALENDAR):
            return Found(found, homes[0])
    if refusal is not None:
        raise refusal
    raise DavError(f"no {flavour.noun} found from {url}; tried: {'; '.join(tried)}")


def _starting_points(url: str, flavour: Flavour) -> list[str]:
    if urlsplit(url).path in ("", "/"):
        return [urljoin(url, f"/.well-known/{flavour.service}"), url]
    return [url]


def _homes(client: Any, node: _Node, flavour: Flavour, tried: list[str]) -> tuple[str, ...]:
    """The home sets of ``node``'s user: its own, or its principal's; the URL itself when the
    server names neither (then it may be a home; vdirsyncer looks there too)."""
    if not node.asked:
        asked = _describe(client, node.url, flavour, tried, ask=True)
        node = asked if asked is not None else node
    homes = node.homes
    if not homes and node.principal:
        principal = _describe(client, node.principal, flavour, tried, ask=True)
        homes = principal.homes if principal else ()
        if principal is not None and not homes:
            tried.append(f"{node.principal}: principal without {_local(flavour.home_set)}")
    if not homes and not node.principal:
        tried.append(f"{node.url}: neither {flavour.article} nor current-user-principal")
        homes = (wire.collection_url(node.url),)
    return homes


def _describe(
    client: Any, url: str, flavour: Flavour, tried: list[str], *, ask: bool
) -> _Node | None:
    from caldav.lib.error import AuthorizationError

    more = f"<d:current-user-principal/><c:{_local(flavour.home_set)}/>" if ask else ""
    body = _DESCRIBE.format(namespace=flavour.namespace, more=more)
    try:
        reply = wire.propfind(client, url, body, 0)
    except AuthorizationError as err:
        if getattr(err, "status", None) == 401 and not getattr(client, "username", None):
            raise Anonymous(
                f"{origin(url)} shows nothing to a client without a login at {url}: if the "
                f"server takes no login, give the {flavour.noun}'s own URL in the config; if "
                "it wants one, set username"
            ) from err
        raise
    if reply.status != 207:
        if reply.status >= 500:
            check_status(reply, url, expected=(207,), what="PROPFIND")
        tried.append(f"{url}: PROPFIND answered {reply.status}")
        return None
    entries = wire.entries(reply.tree)
    if not entries:
        tried.append(f"{url}: empty PROPFIND answer")
        return None
    entry = entries[0]
    if entry.status not in (None, 200):
        # Xandikos answers a missing path with 207 and a 404 inside.
        tried.append(f"{url}: PROPFIND answered {entry.status}")
        return None
    principal = entry.href_in(f"{_D}current-user-principal")
    return _Node(
        url=reply.url,
        types=entry.types(),
        name=entry.text(f"{_D}displayname"),
        principal=wire.resolve(reply.url, principal[0]) if principal else None,
        homes=tuple(wire.resolve(reply.url, h) for h in entry.href_in(flavour.home_set)),
        asked=ask,
        redirected=not wire.same_origin(url, reply.url) or wire.key(reply.url) != wire.key(url),
    )


# Address books a server makes of its own in every home, which are not the user's contacts:
# Nextcloud's directory of all accounts of the instance and its "Recently contacted"
# (contactsinteraction: read-only, a reserved prefix; DAVx5 leaves it out by default).
GENERATED_BOOKS = ("z-server-generated--", "z-app-generated--")


def _collections_in(
    client: Any, home: str, flavour: Flavour, tried: list[str]
) -> list[tuple[str, str]]:
    """The collections of ``flavour`` in a home, less the address books the server generates
    (GENERATED_BOOKS): a user who wants one of those gives its URL itself."""
    body = _DESCRIBE.format(namespace=flavour.namespace, more="")
    reply = wire.propfind(client, home, body, 1)
    check_status(reply, home, expected=(207,), what=f"listing the {_local(flavour.home_set)}")
    found = [
        (wire.resolve(reply.url, href), entry.text(f"{_D}displayname"))
        for entry in wire.entries(reply.tree)
        if flavour.kind in entry.types()
        for href in entry.hrefs
        if not (flavour is ADDRESS_BOOK and _last_segment(href).startswith(GENERATED_BOOKS))
    ]
    if not found:
        tried.append(f"{home}: {_local(flavour.home_set)} holds no {flavour.noun}")
    return found


def _local(clark: str) -> str:
    return clark.rsplit("}", 1)[-1]


# ---------------------------------------------------------------------------------------------
# For netsync init: what the user can pick from


def well_known(client: Any, url: str, service: str) -> str:
    """Where ``/.well-known/SERVICE`` on ``url``'s server leads (RFC 6764 section 5), for a
    root URL; ``url`` itself when it has a path, or when the server has no well-known."""
    if urlsplit(url).path in ("", "/"):
        start = urljoin(url, f"/.well-known/{service}")
        flavour = ADDRESS_BOOK if service == "carddav" else CALENDAR
        reply = wire.propfind(
            client, start, _DESCRIBE.format(namespace=flavour.namespace, more=""), 0
        )
        if reply.status == 207 and not reply.url.rstrip("/").endswith(f".well-known/{service}"):
            return str(reply.url)
    return url


def address_books(client: Any, urls: Sequence[str]) -> list[Collection]:
    """The address books at ``urls`` with their display names."""
    books = []
    for url in urls:
        reply = wire.propfind(client, url, _LIST, 0)
        check_status(reply, url, expected=(207,), what="PROPFIND")
        entries = list(_listed(reply, url))
        books.append(entries[0] if entries else Collection(url, _last_segment(url), None))
    return books


def calendars(client: Any, url: str) -> tuple[str, list[Collection]]:
    """The calendar home reachable from ``url`` and the calendars in it (by name); when
    ``url`` is a calendar itself, its parent and just that one."""
    found = find(client, url, CALENDAR)
    if found.home is None:
        own = found.collections[0][0]
        reply = wire.propfind(client, own, _LIST, 0)
        check_status(reply, own, expected=(207,), what="PROPFIND")
        return urljoin(_slash(own), ".."), list(_listed(reply, own))[:1]
    reply = wire.propfind(client, found.home, _LIST, 1)
    check_status(reply, found.home, expected=(207,), what="PROPFIND")
    listed = _listed(reply, found.home, only_calendars=True)
    return found.home, sorted(listed, key=lambda c: (c.name.casefold(), c.url))


def _listed(reply: wire.Reply, base: str, *, only_calendars: bool = False) -> Iterable[Collection]:
    for entry in wire.entries(reply.tree):
        if entry.status not in (None, 200):
            continue
        if only_calendars and CALENDAR.kind not in entry.types():
            continue
        url = urljoin(reply.url or base, entry.hrefs[0]) if entry.hrefs else base
        privileges = entry.props.get(f"{_D}current-user-privilege-set")
        writable = (
            None
            if privileges is None
            else any(
                child.tag in _WRITE_PRIVILEGES
                for privilege in privileges.iterfind(f"{_D}privilege")
                for child in privilege
            )
        )
        comps = entry.props.get(f"{_C}supported-calendar-component-set")
        components = tuple(
            str(c.get("name", "")).upper() for c in (comps if comps is not None else ())
        )
        name = entry.text(f"{_D}displayname")
        yield Collection(url, name or _last_segment(url), writable, components)


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _last_segment(url: str) -> str:
    return unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]) or url
