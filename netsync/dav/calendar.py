"""CalDAV for the reminders calendar: find or make it, read what is in it, write netsync's own.

Owns every request to the reminders calendar (RFC 4791, RFC 6578) over the shared caldav
DAVClient from ``netsync.dav``: discovery by display name, MKCALENDAR, sync-collection with a
full-listing fallback, calendar-multiget, and conditional PUT/DELETE. caldav's own calendar
objects are not used for writes: their ``save()`` sends If-Schedule-Tag-Match on Xandikos (which
never changes on an ordinary edit, so a stale write wins) and ``get_objects_by_sync_token``
fetches with one GET per object; raw requests with explicit preconditions do neither.

netsync changes only what it created (SPEC section 4): its objects live at ``<uid>.ics`` in the
calendar with a ``netsync-[A-Za-z0-9-]`` UID, and ``update``/``delete`` refuse any other href.
Everything else in the calendar is handed to the caller as raw bytes and never written.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Collection, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit
from xml.sax.saxutils import escape

from netsync.core import ics
from netsync.core.model import Reminder
from netsync.dav import DavError, WrongCollection, check_status, translated_errors

log = logging.getLogger(__name__)

_D = "{DAV:}"
_C = "{urn:ietf:params:xml:ns:caldav}"
_CARD = "{urn:ietf:params:xml:ns:carddav}"
_XML = {"Content-Type": "application/xml; charset=utf-8"}
_ICS = {"Content-Type": "text/calendar; charset=utf-8"}
_BATCH = 500  # hrefs per calendar-multiget (as addressbook.MULTIGET_BATCH, and for its reason)
_MAX_PAGES = 100  # sync-collection pages followed after a 507 truncation (RFC 6578 section 3.6)

_RESOURCETYPE = (
    '<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:displayname/></d:prop></d:propfind>'
)
_HOME = (
    '<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop>'
    "<d:current-user-principal/><c:calendar-home-set/></d:prop></d:propfind>"
)
_ETAGS = '<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:getetag/></d:prop></d:propfind>'
_SYNC = (
    '<d:sync-collection xmlns:d="DAV:"><d:sync-token>{token}</d:sync-token>'
    "<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"
)
_MULTIGET = (
    '<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
    "<d:prop><d:getetag/><c:calendar-data/></d:prop>{hrefs}</c:calendar-multiget>"
)
_MKCALENDAR = (
    '<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop>'
    "<d:displayname>{name}</d:displayname><c:supported-calendar-component-set>"
    '<c:comp name="VEVENT"/><c:comp name="VTODO"/></c:supported-calendar-component-set>'
    "</d:prop></d:set></c:mkcalendar>"
)


class Conflict(DavError):
    """A precondition failed (412): the object changed, appeared or went since it was read."""


@dataclass(frozen=True)
class StoredObject:
    """One calendar object as the server holds it, netsync's or anyone else's."""

    href: str
    etag: str
    data: bytes


@dataclass(frozen=True)
class ReminderChanges:
    """What ``fetch_reminders`` found.

    ``changed``: objects (with their data) that are new or whose ETag differs from ``known``.
    ``deleted``: hrefs that are gone. ``unchanged``: hrefs seen with the ETag in ``known``
    (not fetched). ``token``: the sync token for next time (None: the server cannot sync).
    ``complete``: this was a full listing, so ``changed`` + ``unchanged`` is the whole
    calendar and every known href not in it is in ``deleted``.
    """

    changed: list[StoredObject] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    token: str | None = None
    complete: bool = False
    unchanged: list[str] = field(default_factory=list)


@dataclass
class _Listing:
    etags: dict[str, str]  # href -> ETag ("" when the server gave none)
    gone: list[str]
    token: str | None
    complete: bool


# -- discovery ------------------------------------------------------------------------------


def find_calendar(client: Any, url: str, name: str, *, create: bool = True) -> str:
    """The URL of the calendar to write reminders to.

    ``url`` is the calendar's own URL (used as it is), a principal, a calendar home or the
    server root. Otherwise the calendar is picked from the user's calendar home by display
    name (case-insensitive, exact); when there is none it is made (``create``) or the error
    lists the calendars there are.
    """
    url = _collection(url)
    with _translated(client, url):
        if urlsplit(url).path in ("", "/"):
            # A bare host: RFC 6764 well-known first (Nextcloud's root is its web interface,
            # which answers PROPFIND with 405), as for address books.
            from netsync.dav import discovery

            url = _collection(discovery.well_known(client, url, "caldav"))
        kinds = _resourcetype(client, url)
        if f"{_C}calendar" in kinds:
            return url
        if f"{_CARD}addressbook" in kinds:
            raise WrongCollection(
                f"{url} is an address book, not a calendar: give the calendar's URL, "
                "the principal or the server root for [reminders] url"
            )
        home = _calendar_home(client, url)
        calendars = _calendars(client, home)
        wanted = name.strip().casefold()
        matches = sorted(href for href, title in calendars.items() if title.casefold() == wanted)
        if len(matches) > 1:
            log.warning("%d calendars are named %r; using %s", len(matches), name, matches[0])
        if matches:
            return matches[0]
        if not create:
            found = ", ".join(repr(t or h) for h, t in sorted(calendars.items())) or "none"
            raise DavError(f"no calendar named {name!r} in {home} (calendars there: {found})")
        return _make_calendar(client, home, name)


def _resourcetype(client: Any, url: str) -> set[str]:
    # Only the resource type first: Radicale without a login answers 401 to a
    # current-user-principal PROPFIND, but may serve the collection itself.
    response = client.propfind(url, _RESOURCETYPE, depth=0)
    check_status(response, url, expected=(207,), what="PROPFIND")
    for _href, _status, props in _responses(response):
        kind = props.get(f"{_D}resourcetype")
        return {child.tag for child in kind} if kind is not None else set()
    return set()


def _calendar_home(client: Any, url: str) -> str:
    """The calendar-home-set of ``url`` (a principal) or of the current user's principal
    (RFC 4791 section 6.2.1, RFC 5397); ``url`` itself when the server names neither."""
    seen: set[str] = set()
    while url not in seen:
        seen.add(url)
        response = client.propfind(url, _HOME, depth=0)
        check_status(response, url, expected=(207,), what="PROPFIND")
        props = next((p for _h, _s, p in _responses(response)), {})
        home = _href_in(props.get(f"{_C}calendar-home-set"))
        if home:
            return _collection(urljoin(url, home))
        principal = _href_in(props.get(f"{_D}current-user-principal"))
        if not principal:
            break
        url = _collection(urljoin(url, principal))
    log.debug("no calendar-home-set found; listing %s itself", url)
    return url


def _calendars(client: Any, home: str) -> dict[str, str]:
    """The calendars directly in ``home``: URL -> display name."""
    response = client.propfind(home, _RESOURCETYPE, depth=1)
    check_status(response, home, expected=(207,), what="PROPFIND")
    out: dict[str, str] = {}
    for href, _status, props in _responses(response):
        kind = props.get(f"{_D}resourcetype")
        if kind is None or kind.find(f"{_C}calendar") is None:
            continue
        out[_collection(urljoin(home, href))] = _text(props.get(f"{_D}displayname"))
    return out


def _make_calendar(client: Any, home: str, name: str) -> str:
    """MKCALENDAR (RFC 4791 section 5.3.1) at a slug of the name plus a random suffix, so no
    name can make an unsafe path and a calendar the user renamed is never in the way."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:40].strip("-") or "calendar"
    url = f"{home}{slug}-{secrets.token_hex(3)}/"
    body = _MKCALENDAR.format(name=escape(name))
    response = client.request(url, "MKCALENDAR", body, _XML)
    check_status(response, url, expected=(200, 201), what="MKCALENDAR")
    log.info("created calendar %r at %s", name, url)
    return url


# -- reading --------------------------------------------------------------------------------


def fetch_reminders(
    client: Any,
    cal_url: str,
    *,
    token: str | None,
    known: Mapping[str, str],
    written: Collection[str] = (),
) -> ReminderChanges:
    """What changed in the calendar since ``token``, with the data of every changed object.

    ``known`` maps href -> ETag of what the caller already has; those are not fetched again
    (this is also what keeps netsync's own writes from coming back as changes). Costs one
    sync-collection REPORT, plus one calendar-multiget REPORT per 500 changed objects. An
    expired or unknown token (Radicale 403, Xandikos 412: RFC 6578 DAV:valid-sync-token)
    falls back to a full listing by sync-collection, a server without sync-collection to a
    PROPFIND of the ETags.

    ``written``: objects the caller wrote since ``token``. Each was changed since the token,
    so a sync must list it, unless it has gone since: RFC 6578 (section 3.5) lets a server
    leave out an object both created and deleted since the token (Xandikos does). One the
    report leaves out is asked for by multiget, and reported deleted only when the server
    says it is not there, so a phone deleting a follow-up netsync had just made is seen.
    """
    cal_url = _collection(cal_url)
    with _translated(client, cal_url):
        listing = _sync(client, cal_url, token) if token else None
        if listing is None:
            listing = _sync(client, cal_url, "") or _propfind_listing(client, cal_url)
        wanted = [h for h, etag in listing.etags.items() if not etag or known.get(h) != etag]
        if not listing.complete:
            listed = set(listing.etags) | set(listing.gone)
            wanted += sorted(h for h in written if h not in listed)
        fetch = set(wanted)
        unchanged = [h for h in listing.etags if h not in fetch]
        deleted = list(listing.gone)
        if listing.complete:
            deleted = [h for h in known if h not in listing.etags]
        changed: list[StoredObject] = []
        for start in range(0, len(wanted), _BATCH):
            found, missing = _multiget(client, cal_url, wanted[start : start + _BATCH])
            changed += [
                o if o.etag else replace(o, etag=listing.etags.get(o.href, "")) for o in found
            ]
            deleted += [h for h in missing if h not in deleted]
    return ReminderChanges(changed, deleted, listing.token, listing.complete, unchanged)


def _sync(client: Any, cal_url: str, token: str) -> _Listing | None:
    """sync-collection (RFC 6578); None when the token is refused or the server cannot sync."""
    from caldav.lib.error import AuthorizationError

    etags: dict[str, str] = {}
    gone: list[str] = []
    complete = not token  # an empty token lists everything, over all truncated pages
    for _page in range(_MAX_PAGES):
        try:
            response = client.report(cal_url, _SYNC.format(token=escape(token)), depth=0)
        except AuthorizationError as err:
            if getattr(err, "status", None) != 403:
                raise
            # Radicale: 403 with DAV:valid-sync-token; a 403 without it may be a server that
            # refuses the report, and the PROPFIND fallback then tells which it is.
            log.debug("sync-collection refused (403) at %s with token %r", cal_url, token)
            return None
        if response.status in (400, 403, 404, 405, 409, 412, 415, 422, 501):
            # Xandikos: 412 for an unknown token; other 4xx: no sync-collection here.
            log.debug("sync-collection answered %s at %s", response.status, cal_url)
            return None
        check_status(response, cal_url, expected=(207,), what="sync-collection REPORT")
        truncated = False
        for href, status, props in _responses(response):
            url = urljoin(cal_url, href)
            if _same(url, cal_url):
                truncated = truncated or status == 507
                continue
            if status == 404:
                etags.pop(url, None)
                if not complete:  # Radicale lists tombstones in an initial sync: not news
                    gone.append(url)
                continue
            gone = [h for h in gone if h != url]
            etags[url] = _text(props.get(f"{_D}getetag"))
        tree = response.tree
        new_token = _text(tree.find(f"{_D}sync-token")) if tree is not None else ""
        if not new_token:
            # Radicale answers a REPORT it does not know with an empty 207: no token, no sync.
            log.debug("sync-collection at %s gave no sync-token", cal_url)
            return None
        if not truncated or new_token == token:
            return _Listing(etags, gone, new_token, complete=complete)
        token = new_token  # truncated: the rest comes as changes since the page's token
    raise DavError(f"sync-collection at {cal_url} was still truncated after {_MAX_PAGES} pages")


def _propfind_listing(client: Any, cal_url: str) -> _Listing:
    response = client.propfind(cal_url, _ETAGS, depth=1)
    check_status(response, cal_url, expected=(207,), what="PROPFIND")
    etags: dict[str, str] = {}
    for href, _status, props in _responses(response):
        url = urljoin(cal_url, href)
        kind = props.get(f"{_D}resourcetype")
        if _same(url, cal_url) or (kind is not None and kind.find(f"{_D}collection") is not None):
            continue
        etags[url] = _text(props.get(f"{_D}getetag"))
    return _Listing(etags, [], None, complete=True)


def _multiget(client: Any, cal_url: str, hrefs: list[str]) -> tuple[list[StoredObject], list[str]]:
    """calendar-multiget (RFC 4791 section 7.9): the objects found, and the hrefs that are gone."""
    body = _MULTIGET.format(
        hrefs="".join(f"<d:href>{escape(urlsplit(h).path)}</d:href>" for h in hrefs)
    )
    # RFC 4791 section 7.9: the Depth header is ignored for calendar-multiget; send none.
    response = client.report(cal_url, body, depth=None)
    check_status(response, cal_url, expected=(207,), what="calendar-multiget REPORT")
    found: list[StoredObject] = []
    for href, status, props in _responses(response):
        data = props.get(f"{_C}calendar-data")
        if status not in (None, 200) or data is None:
            continue
        # The XML parser has already turned CRLF into LF (XML 1.0 section 2.11).
        text = data.text or ""
        found.append(
            StoredObject(
                urljoin(cal_url, href), _text(props.get(f"{_D}getetag")), text.encode("utf-8")
            )
        )
    got = {_path(o.href) for o in found}
    return found, [h for h in hrefs if _path(h) not in got]


# -- writing --------------------------------------------------------------------------------


def create(
    client: Any, cal_url: str, reminder: Reminder, *, stamp: datetime
) -> tuple[str, str | None]:
    """PUT a new reminder at ``<calendar>/<uid>.ics`` with If-None-Match: * (RFC 7232).

    Returns (href, ETag or None when the server sent none). Conflict when the href exists.
    """
    if not ics.OWN_UID.match(reminder.uid):
        raise DavError(f"refusing to create {reminder.uid!r}: not a netsync UID")
    href = _collection(cal_url) + reminder.uid + ".ics"
    with _translated(client, href):
        response = _put(client, href, reminder, {"If-None-Match": "*"}, stamp=stamp)
        if response.status == 412:
            raise Conflict(f"{href} already exists")
        check_status(response, href, expected=(200, 201, 204), what="PUT")
        return href, _etag(response)


def update(client: Any, href: str, reminder: Reminder, *, etag: str, stamp: datetime) -> str | None:
    """PUT the reminder over its object if it still has ``etag`` (If-Match); the new ETag.

    Conflict when the object changed or went since it was read. Refuses (DavError) any href
    that is not ``<uid>.ics`` of this reminder's own netsync UID.
    """
    _check_own(href, reminder.uid)
    with _translated(client, href):
        response = _put(client, href, reminder, {"If-Match": etag}, stamp=stamp)
        if response.status in (404, 412):
            raise Conflict(f"{href} changed on the server since it was read")
        check_status(response, href, expected=(200, 201, 204), what="PUT")
        return _etag(response)


def delete(client: Any, href: str, *, etag: str) -> None:
    """DELETE netsync's object if it still has ``etag`` (If-Match). Gone already (404) is fine;
    Conflict when it changed. Refuses (DavError) any href that is not a netsync ``<uid>.ics``."""
    _check_own(href, None)
    with _translated(client, href):
        response = client.delete(href, {"If-Match": etag})
        if response.status == 404:
            log.debug("%s was already gone", href)
            return
        if response.status == 412:
            raise Conflict(f"{href} changed on the server since it was read")
        check_status(response, href, expected=(200, 204), what="DELETE")


def _put(
    client: Any, href: str, reminder: Reminder, headers: dict[str, str], *, stamp: datetime
) -> Any:
    # caldav's request path turns every LF into CRLF; render() already writes CRLF and no lone
    # CR (clean_text), so the bytes on the wire are exactly what render() made.
    body = ics.render(reminder, stamp=stamp).decode("utf-8")
    response = client.put(href, body, {**_ICS, **headers})
    if response.status == 412 and _invalid_data(response):
        # Xandikos answers 412 for data it will not store too (valid-calendar-data)
        raise DavError(f"{href}: the server refused the calendar data: {_body(response)[:200]}")
    return response


def _check_own(href: str, uid: str | None) -> None:
    name = unquote(urlsplit(href).path.rsplit("/", 1)[-1])
    own = name.endswith(".ics") and ics.OWN_UID.match(name[: -len(".ics")])
    if not own or (uid is not None and name != f"{uid}.ics"):
        raise DavError(f"refusing to change {href}: not netsync's object for {uid or 'a reminder'}")


def _invalid_data(response: Any) -> bool:
    body = _body(response)
    return "valid-calendar-data" in body or "valid-calendar-object-resource" in body


def _body(response: Any) -> str:
    raw = getattr(response, "_raw", b"")
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")


def _etag(response: Any) -> str | None:
    value = response.headers.get("ETag")
    return str(value) if value else None


# -- helpers --------------------------------------------------------------------------------


def _translated(client: Any, url: str) -> AbstractContextManager[None]:
    return translated_errors(url, getattr(client, "username", None) or "")


def _collection(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _path(url: str) -> str:
    return unquote(urlsplit(url).path).rstrip("/")


def _same(a: str, b: str) -> bool:
    """Two URLs of one resource (a trailing slash or percent-encoding aside)."""
    return _path(a) == _path(b)


def _responses(response: Any) -> Iterator[tuple[str, int | None, dict[str, Any]]]:
    """(href, response-level status or None, {property tag: element} of the 200 propstats)."""
    tree = response.tree
    if tree is None:
        return
    for item in tree.iter(f"{_D}response"):
        href = _text(item.find(f"{_D}href"))
        props: dict[str, Any] = {}
        for propstat in item.findall(f"{_D}propstat"):
            if _status(propstat.find(f"{_D}status")) in (None, 200):
                for prop in propstat.iterfind(f"{_D}prop/*"):
                    props[prop.tag] = prop
        yield href, _status(item.find(f"{_D}status")), props


def _status(element: Any) -> int | None:
    parts = _text(element).split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def _text(element: Any) -> str:
    return (element.text or "").strip() if element is not None else ""


def _href_in(element: Any) -> str:
    return _text(element.find(f"{_D}href")) if element is not None else ""
