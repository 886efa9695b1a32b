"""CalDAV for the reminders calendar: find or make it, read what is in it, write netsync's own.

The protocol is collection.py's (``CALENDAR`` flavour) and discovery.py's; this module adds
what is particular to the reminders calendar: picking it by display name, MKCALENDAR, and the
rule that netsync changes only what it created (SPEC section 4): its objects live at
``<uid>.ics`` in the calendar with a ``netsync-[A-Za-z0-9-]`` UID, and ``create``/``update``/
``delete`` refuse any other href. Objects go in and come out as bytes (rendering and reading
reminders is the core's business, core/ics.py); everything else in the calendar is handed to
the caller as it is and never written.

caldav's own calendar objects are not used for writes: their ``save()`` sends
If-Schedule-Tag-Match on Xandikos (which never changes on an ordinary edit, so a stale write
wins) and ``get_objects_by_sync_token`` fetches with one GET per object.

Hrefs of calendar objects are whole URLs (the form the state has always cached).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Collection as Hrefs
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import escape

from netsync.core.ics import OWN_UID
from netsync.dav import discovery, wire
from netsync.dav.client import DavError, WrongCollection, check_status
from netsync.dav.collection import CALENDAR, Changes, Collection, Conflict, Item, translated

__all__ = [
    "Conflict",
    "ReminderChanges",
    "StoredObject",
    "create",
    "delete",
    "fetch_reminders",
    "find_calendar",
    "update",
]

log = logging.getLogger(__name__)

StoredObject = Item
ReminderChanges = Changes

_MKCALENDAR = (
    '<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop>'
    "<d:displayname>{name}</d:displayname><c:supported-calendar-component-set>"
    '<c:comp name="VEVENT"/><c:comp name="VTODO"/></c:supported-calendar-component-set>'
    "</d:prop></d:set></c:mkcalendar>"
)


def find_calendar(client: Any, url: str, name: str, *, create: bool = True) -> str:
    """The URL of the calendar to write reminders to.

    ``url`` is the calendar's own URL (used as it is), a principal, a calendar home or the
    server root. Otherwise the calendar is picked from the user's calendar home by display
    name (case-insensitive, exact); when there is none it is made (``create``) or the error
    lists the calendars there are.
    """
    url = wire.collection_url(url)
    with translated(client, url):
        found = discovery.find(client, url, CALENDAR)
        if found.home is None:
            return wire.collection_url(found.collections[0][0])
        calendars = {wire.collection_url(href): title for href, title in found.collections}
        wanted = name.strip().casefold()
        matches = sorted(href for href, title in calendars.items() if title.casefold() == wanted)
        if len(matches) > 1:
            log.warning("%d calendars are named %r; using %s", len(matches), name, matches[0])
        if matches:
            return matches[0]
        home = wire.collection_url(found.home)
        if not create:
            there = ", ".join(repr(t or h) for h, t in sorted(calendars.items())) or "none"
            raise DavError(f"no calendar named {name!r} in {home} (calendars there: {there})")
        try:
            return _make_calendar(client, home, name)
        except DavError as err:
            if err.status not in (403, 405, 501):
                raise
            # Google has no MKCALENDAR (its CalDAV guide); other servers may forbid it.
            there = ", ".join(repr(t or h) for h, t in sorted(calendars.items())) or "none"
            raise WrongCollection(
                f"there is no calendar named {name!r}, and {urlsplit(home).netloc} lets no app "
                f"make one (MKCALENDAR answered {err.status}): make it in your calendar app "
                "(Google Calendar: Settings > Add calendar > Create new calendar), or set "
                f"[reminders] calendar to one of: {there}"
            ) from None


def _make_calendar(client: Any, home: str, name: str) -> str:
    """MKCALENDAR (RFC 4791 section 5.3.1) at a slug of the name plus a random suffix, so no
    name can make an unsafe path and a calendar the user renamed is never in the way."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:40].strip("-") or "calendar"
    url = f"{home}{slug}-{secrets.token_hex(3)}/"
    reply = wire.send(client, url, "MKCALENDAR", _MKCALENDAR.format(name=escape(name)), {})
    check_status(reply, url, expected=(200, 201), what="MKCALENDAR")
    log.info("created calendar %r at %s", name, url)
    return url


def fetch_reminders(
    client: Any,
    cal_url: str,
    *,
    token: str | None,
    known: Mapping[str, str],
    written: Hrefs[str] = (),
    try_sync: bool = True,
) -> ReminderChanges:
    """What changed in the calendar since ``token``, with the bytes of every changed object
    (Collection.changes). ``known`` (href -> ETag of what the caller already has) is also what
    keeps netsync's own writes from coming back as changes; ``written``: the objects it wrote
    since ``token``."""
    with translated(client, cal_url):
        calendar = Collection(client, cal_url, CALENDAR)
        return calendar.changes(token=token, known=known, written=written, try_sync=try_sync)


def create(client: Any, cal_url: str, uid: str, data: bytes) -> tuple[str, str | None]:
    """PUT a new object at ``<calendar>/<uid>.ics`` with If-None-Match: * (RFC 7232).

    Returns (href, ETag or None when the server sent none). Conflict when the href exists.
    """
    if not OWN_UID.match(uid):
        raise DavError(f"refusing to create {uid!r}: not a netsync UID")
    href = wire.collection_url(cal_url) + uid + ".ics"
    with translated(client, href):
        return href, Collection(client, cal_url, CALENDAR).put(href, data, etag=None)


def update(client: Any, href: str, uid: str, data: bytes, *, etag: str) -> str | None:
    """PUT over the object if it still has ``etag`` (If-Match); the new ETag.

    Conflict when the object changed or went since it was read. Refuses (DavError) any href
    that is not ``<uid>.ics`` of this netsync UID.
    """
    _check_own(href, uid)
    with translated(client, href):
        return _parent(client, href).put(href, data, etag=etag)


def delete(client: Any, href: str, *, etag: str) -> None:
    """DELETE netsync's object if it still has ``etag`` (If-Match). Gone already (404) is fine;
    Conflict when it changed. Refuses (DavError) any href that is not a netsync ``<uid>.ics``."""
    _check_own(href, None)
    with translated(client, href):
        _parent(client, href).delete(href, etag=etag)


def _parent(client: Any, href: str) -> Collection:
    return Collection(client, wire.absolute(client, href).rsplit("/", 1)[0] + "/", CALENDAR)


def _check_own(href: str, uid: str | None) -> None:
    name = unquote(urlsplit(href).path.rsplit("/", 1)[-1])
    own = name.endswith(".ics") and OWN_UID.match(name[: -len(".ics")])
    if not own or (uid is not None and name != f"{uid}.ics"):
        raise DavError(f"refusing to change {href}: not netsync's object for {uid or 'a reminder'}")
