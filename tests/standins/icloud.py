"""iCloud, as Apple's users and the DAV libraries that talk to it describe it.

Four hosts on the tests' private internet, all TLS, before one Xandikos (which, like iCloud as
far as anyone has reported, stores what it is sent):

- Logins are an Apple ID with an app-specific password, over Basic (no two-factor over DAV:
  pimutils/vdirsyncer docs/tutorials/icloud.rst; python-caldav/caldav#3). A refusal offers
  ``X-MobileMe-AuthToken realm="MMCalDav", Basic realm="MMCalDav"`` (python-caldav
  compatibility_hints.py, iCloud profile, from caldav#730). Anything else (the Apple ID's own
  password, a bearer token) is refused.
- contacts.icloud.com and caldav.icloud.com only point the way: their root names the
  principal with an absolute href on the account's partition host, ``p42-contacts.icloud.com``
  and ``p42-caldav.icloud.com`` (compatibility_hints.py: "The calendar-home-set lives on a
  per-account partition host (pNN-caldav.icloud.com)"; interop notes 3.4), written with the
  port, ``https://p42-contacts.icloud.com:443/...``. The account's data is not served on the
  first hosts (404): whoever keeps writing there, as netsync did before issue 15, fails.
- A PROPFIND of Depth 1 on a principal answers 400 (compatibility_hints.py,
  propfind.principal-depth-1, 2026-10-14).
- Contact groups are cards with ``X-ADDRESSBOOKSERVER-KIND:group`` and
  ``X-ADDRESSBOOKSERVER-MEMBER`` lines (interop notes 3.4; rcmcarddav's iCloud fixtures).
- An event without DTEND is refused (403: compatibility_hints.py save-load.event.no-dtend,
  "PUT refused with 404, or 403"; lfos/calcurse#60); a task goes only into a calendar of its
  own (save-load.todo.mixed-calendar), and tasks in Reminders no longer come over CalDAV at
  all (interop notes 3.2), so the calendars here are for events.
- A sync-collection report lists the collection itself as one of its members
  (compatibility_hints.py, sync-token.limit: "lists the collection itself as a member").
"""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests import servers
from tests.standins.net import XML, Front, Internet, Reply, Request, Route, multistatus, propstat

APPLE_ID = "alice@icloud.com"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"  # the form Apple gives app-specific passwords
APPLE_ID_PASSWORD = "the-real-apple-id-password"
DSID = "123456789"
CONTACTS = "https://contacts.icloud.com/"
CALDAV = "https://caldav.icloud.com/"
PART_CARD = "p42-contacts.icloud.com"
PART_CAL = "p42-caldav.icloud.com"
PRINCIPAL = f"/{DSID}/principal/"
CARD_HOME = f"/{DSID}/carddavhome/"
BOOK = f"/{DSID}/carddavhome/card/"
CAL_HOME = f"/{DSID}/calendars/"
CHALLENGE = 'X-MobileMe-AuthToken realm="MMCalDav", Basic realm="MMCalDav"'


@dataclass
class ICloud:
    internet: Internet
    xandikos: servers.Server
    fronts: list[Front] = field(default_factory=list)
    refused_logins: int = 0

    def _login(self, request: Request) -> Reply | None:
        auth = request.header("authorization")
        if auth.startswith("Basic "):
            who = base64.b64decode(auth[6:]).decode("utf-8", "replace")
            if who == f"{APPLE_ID}:{APP_PASSWORD}":
                return None
        self.refused_logins += 1
        return Reply(401, b"Unauthorized", {"www-authenticate": CHALLENGE})

    def pointer(self, partition: str, kind: str) -> Route:
        """contacts.icloud.com / caldav.icloud.com: the way to the partition host, no data."""

        def route(request: Request) -> Reply | None:
            refused = self._login(request)
            if refused is not None:
                return refused
            if request.route in ("/", f"/.well-known/{kind}", f"/.well-known/{kind}/"):
                if request.method == "PROPFIND":
                    href = f"https://{partition}:443{PRINCIPAL}"
                    props = (
                        "<d:resourcetype><d:collection/></d:resourcetype>"
                        f"<d:current-user-principal><d:href>{href}</d:href>"
                        "</d:current-user-principal>"
                    )
                    return Reply(207, multistatus(propstat(request.route, props)), dict(XML))
                return Reply(200 if request.method == "OPTIONS" else 405, headers=_DAV)
            return Reply(404, b"Not Found")

        return route

    def partition(self, home_prop: str, home: str) -> Route:
        def route(request: Request) -> Reply | None:
            refused = self._login(request)
            if refused is not None:
                return refused
            if request.route.rstrip("/") == PRINCIPAL.rstrip("/"):
                if request.method != "PROPFIND":
                    return Reply(405)
                if (request.header("depth") or "0") != "0":
                    return Reply(400, b"Bad Request")
                host = request.host
                props = (
                    "<d:resourcetype><d:principal/><d:collection/></d:resourcetype>"
                    f"<d:current-user-principal><d:href>https://{host}:443{PRINCIPAL}</d:href>"
                    f"</d:current-user-principal><{home_prop}><d:href>https://{host}:443{home}"
                    f"</d:href></{home_prop}>"
                )
                return Reply(207, multistatus(propstat(PRINCIPAL, props)), dict(XML))
            no_end = not re.search(rb"(?m)^(DTEND|DURATION)[;:]", request.body)
            if request.method == "PUT" and b"BEGIN:VEVENT" in request.body and no_end:
                return Reply(403, b"Forbidden")
            if request.method == "PUT" and b"BEGIN:VTODO" in request.body:
                return Reply(403, b"Forbidden")
            if request.method == "REPORT" and b"sync-collection" in request.body:
                return self._sync(request)
            return None

        return route

    def _sync(self, request: Request) -> Reply:
        front = next(f for f in self.fronts if f.host == request.host)
        reply = front.forward(request)
        if reply.status == 207:
            itself = (
                f'<response xmlns="DAV:"><href>{request.route}</href><propstat><prop><getetag>'
                '"collection"</getetag></prop><status>HTTP/1.1 200 OK</status>'
                "</propstat></response>"
            ).encode()
            body = reply.body
            at = body.find(b"<", body.find(b"multistatus"))
            reply.body = body[:at] + itself + body[at:] if at > 0 else body
        return reply


_DAV = {"dav": "1, 2, access-control, calendar-access, addressbook"}


@contextlib.contextmanager
def icloud(internet: Internet, tmp: Path) -> Iterator[ICloud]:
    with servers.xandikos(tmp / "xandikos") as backend:
        cloud = ICloud(internet, backend)
        user = f"/{servers.USER}"
        cloud.fronts = [
            Front(internet, "contacts.icloud.com", cloud.pointer(PART_CARD, "carddav")),
            Front(internet, "caldav.icloud.com", cloud.pointer(PART_CAL, "caldav")),
            Front(
                internet,
                PART_CARD,
                cloud.partition("card:addressbook-home-set", CARD_HOME),
                backend=backend.root,
                paths={BOOK: f"{user}/contacts/addressbook/", CARD_HOME: f"{user}/contacts/"},
            ),
            Front(
                internet,
                PART_CAL,
                cloud.partition("c:calendar-home-set", CAL_HOME),
                backend=backend.root,
                paths={CAL_HOME: f"{user}/calendars/"},
            ),
        ]
        try:
            yield cloud
        finally:
            for front in cloud.fronts:
                front.close()


GROUP = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//iOS 17.0//EN\r\nN:Family\r\n"
    "FN:Family\r\nX-ADDRESSBOOKSERVER-KIND:group\r\n"
    "X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:p000@netsync.example\r\n"
    "UID:9D1C2E4A-group-family\r\nEND:VCARD\r\n"
)
