"""Finding a person's DAV server and what is on it, for ``netsync init``.

RFC 6764: from an e-mail address's domain, DNS SRV (``_carddavs._tcp``, then the plain
``_carddav._tcp``) and TXT (``path=``) records, then ``https://DOMAIN/`` whose
``/.well-known/carddav`` the CardDAV discovery in dav_contacts follows. DNS goes through a
``resolve(name, rdtype) -> [record text]`` function, so tests (and machines without DNS) can
hand in their own; the default uses dnspython and answers [] on any DNS failure.

caldav's own discovery module is not used: it resolves with the global dnspython resolver
(no injection), drops the SRV target's port when it equals 443, and follows well-known with
a GET on an https URL built from the domain only.

Also lists the address books and calendars found with their display names and whether the
user may write to them (RFC 3744 current-user-privilege-set), so the user can pick.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from netsync.dav import check_status

log = logging.getLogger(__name__)

Resolve = Callable[[str, str], list[str]]
DNS_TIMEOUT = 5.0  # seconds for one lookup; a machine without DNS must not hang init

_D = "{DAV:}"
_C = "{urn:ietf:params:xml:ns:caldav}"
_CARD = "{urn:ietf:params:xml:ns:carddav}"
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
    try:
        import dns.exception
        import dns.resolver
    except ImportError:  # dnspython comes with caldav, but is not ours to require
        return []
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


def well_known(client: Any, url: str, service: str) -> str:
    """Where ``/.well-known/SERVICE`` on ``url``'s server leads (RFC 6764 section 5), for a
    root URL; ``url`` itself when it has a path, or when the server has no well-known."""
    from netsync.dav import addressbook  # here: `netsync init --help` must not load icalendar

    if urlsplit(url).path not in ("", "/"):
        return url
    start = urljoin(url, f"/.well-known/{service}")
    reply = addressbook._propfind(client, start, addressbook._DISCOVER, 0)
    if reply.status == 207 and not reply.url.rstrip("/").endswith(f".well-known/{service}"):
        return str(reply.url)
    return url


def address_books(client: Any, urls: Sequence[str]) -> list[Collection]:
    """The address books at ``urls`` with their display names."""
    books = []
    for url in urls:
        response = client.propfind(url, _LIST, depth=0)
        check_status(response, url, expected=(207,), what="PROPFIND")
        entries = list(_collections(response, url))
        books.append(entries[0] if entries else Collection(url, _last_segment(url), None))
    return books


def calendars(client: Any, url: str) -> tuple[str, list[Collection]]:
    """The calendar home reachable from ``url`` and the calendars in it (by name); when
    ``url`` is a calendar itself, its parent and just that one."""
    from netsync.dav import calendar

    response = client.propfind(url, _LIST, depth=0)
    check_status(response, url, expected=(207,), what="PROPFIND")
    if _is_calendar(response):
        return urljoin(_slash(url), ".."), list(_collections(response, url))[:1]
    home = calendar._calendar_home(client, url)
    response = client.propfind(home, _LIST, depth=1)
    check_status(response, home, expected=(207,), what="PROPFIND")
    found = _collections(response, home, only_calendars=True)
    return home, sorted(found, key=lambda c: (c.name.casefold(), c.url))


def _is_calendar(response: Any) -> bool:
    tree = response.tree
    return tree is not None and tree.find(f".//{_D}resourcetype/{_C}calendar") is not None


def _collections(response: Any, base: str, *, only_calendars: bool = False) -> Iterable[Collection]:
    tree = response.tree
    if tree is None:
        return
    for item in tree.iter(f"{_D}response"):
        href = (item.findtext(f"{_D}href") or "").strip()
        props: dict[str, Any] = {}
        for propstat in item.iterfind(f"{_D}propstat"):
            status = (propstat.findtext(f"{_D}status") or "").split()
            if len(status) > 1 and status[1] != "200":
                continue
            for prop in propstat.iterfind(f"{_D}prop/*"):
                props[str(prop.tag)] = prop
        kind = props.get(f"{_D}resourcetype")
        is_calendar = kind is not None and kind.find(f"{_C}calendar") is not None
        if only_calendars and not is_calendar:
            continue
        url = urljoin(base, href)
        name = (props[f"{_D}displayname"].text or "").strip() if f"{_D}displayname" in props else ""
        privileges = props.get(f"{_D}current-user-privilege-set")
        writable = (
            None
            if privileges is None
            else any(
                child.tag in _WRITE_PRIVILEGES
                for privilege in privileges.iterfind(f"{_D}privilege")
                for child in privilege
            )
        )
        comps = props.get(f"{_C}supported-calendar-component-set")
        components = tuple(
            str(c.get("name", "")).upper() for c in (comps if comps is not None else ())
        )
        yield Collection(url, name or _last_segment(url), writable, components)


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _last_segment(url: str) -> str:
    return unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]) or url
