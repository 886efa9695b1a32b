"""Nextcloud (sabre/dav), as its manuals, its code and its users' reports describe it.

One host, cloud.example.com, on the tests' private internet (TLS), before a Xandikos:

- Service discovery: ``/.well-known/carddav`` and ``/.well-known/caldav`` answer 301 to
  ``/remote.php/dav/`` (the rewrite rules Nextcloud ships in .htaccess; admin manual,
  "Service discovery"); everything else outside ``/remote.php/`` is the web interface, which
  speaks no DAV; the principal is ``/remote.php/dav/principals/users/USER/``, the homes
  ``/remote.php/dav/addressbooks/users/USER/`` and ``/remote.php/dav/calendars/USER/``.
- Every calendar home holds the read-only "Contact birthdays" calendar (URI
  ``contact_birthdays``; interop notes 1.4, nextcloud/server
  apps/dav/lib/CalDAV/BirthdayService.php), with Nextcloud's own birthday events in it, and
  the scheduling inbox and outbox (not calendars).
- A card is stored as it was sent, and served as vCard 3.0 unless the client asks for 4.0
  (``Accept: text/vcard; version=4.0``, or ``version="4.0"`` on address-data): sabre/dav's
  CardDAV plugin converts on the way out (interop notes 1.2 and 3.4; sabre-io/dav
  lib/CardDAV/Plugin.php). A conversion is sabre-vobject's rewrite: VERSION changes and
  PRODID becomes sabre-vobject's own; a 4.0 ANNIVERSARY goes out in 3.0 as X-ANNIVERSARY
  and an X-ABDATE labelled as an anniversary (interop notes, section 0 item 2).
- Every address-book home also holds two books Nextcloud makes itself, read-only: the
  directory of all accounts of the instance (``z-server-generated--system``) and "Recently
  contacted" (``z-app-generated--contactsinteraction--recent``, filled by the
  contactsinteraction app with whoever the user wrote to; Nextcloud's user manual and
  DAVx5, which leaves it out by default: PRESELECT_COLLECTIONS_EXCLUDED).
- Brute-force protection: every refused login from an address slows the next answers to it
  (200 ms, doubling, at most 25 s), and after 10 it answers 429 (nextcloud/server
  lib/private/Security/Bruteforce/Throttler.php, developer manual "Throttler": starting delay
  200 ms, MAX_DELAY 25, MAX_ATTEMPTS 10; nextcloud/server#9864).
"""

from __future__ import annotations

import base64
import contextlib
import html
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests import servers
from tests.standins import vcards
from tests.standins.net import XML, Front, Internet, Reply, Request, multistatus, propstat
from tests.vcards import vcard

HOST = "cloud.example.com"
ROOT = f"https://{HOST}/"
USER = "alice"
PASSWORD = "Xq7pL-2mRt9-aBc4D-eFg5H-iJk6L"  # an app password, as Nextcloud makes them
DAV = "/remote.php/dav/"
PRINCIPAL = f"{DAV}principals/users/{USER}/"
BOOKS = f"{DAV}addressbooks/users/{USER}/"
CALS = f"{DAV}calendars/{USER}/"
SABRE_PRODID = "PRODID:-//Sabre//Sabre VObject 4.5.6//EN"


@dataclass
class Nextcloud:
    internet: Internet
    xandikos: servers.Server
    fronts: list[Front] = field(default_factory=list)
    failures: int = 0  # refused logins from the one address the tests use
    delays: list[float] = field(default_factory=list)  # the slow-down of each answer

    def route(self, request: Request) -> Reply | None:
        if request.route in ("/.well-known/carddav", "/.well-known/caldav"):
            return Reply(301, headers={"location": DAV})
        if not request.route.startswith("/remote.php/"):
            # The web interface: no DAV there (index.php answers a browser with its login page).
            if request.method in ("GET", "HEAD"):
                return Reply(302, headers={"location": "/login"})
            return Reply(405, b"Method Not Allowed")
        throttled = self._login(request)
        if throttled is not None:
            return throttled
        route = request.route
        if request.method == "PROPFIND" and route.rstrip("/") in (
            DAV.rstrip("/"),
            "/remote.php/webdav",
            PRINCIPAL.rstrip("/"),
        ):
            props = (
                "<d:resourcetype><d:collection/>"
                + ("<d:principal/>" if route.startswith(PRINCIPAL) else "")
                + "</d:resourcetype>"
                f"<d:current-user-principal><d:href>{PRINCIPAL}</d:href></d:current-user-principal>"
                f"<card:addressbook-home-set><d:href>{BOOKS}</d:href></card:addressbook-home-set>"
                f"<c:calendar-home-set><d:href>{CALS}</d:href></c:calendar-home-set>"
            )
            return Reply(207, multistatus(propstat(route, props)), dict(XML))
        generated = route.startswith((f"{BOOKS}z-server-generated--", f"{BOOKS}z-app-generated--"))
        if generated and request.method in ("PUT", "DELETE", "PROPPATCH"):
            return Reply(403, b'<d:error xmlns:d="DAV:"><d:need-privileges/></d:error>', dict(XML))
        if route.startswith(f"{CALS}contact_birthdays/") and request.method in (
            "PUT",
            "DELETE",
            "PROPPATCH",
            "MKCALENDAR",
        ):
            return Reply(403, b'<d:error xmlns:d="DAV:"><d:need-privileges/></d:error>', dict(XML))
        if request.method == "PROPFIND" and route.startswith(CALS):
            return self._read_only_birthdays(self.fronts[0].forward(request))
        if route.startswith(BOOKS) and request.method in ("GET", "REPORT"):
            return self._converted(request)
        return None

    def _login(self, request: Request) -> Reply | None:
        if self.failures >= 10:
            return Reply(429, b"Too Many Requests")
        delay = min(0.2 * 2 ** (self.failures - 1), 25.0) if self.failures else 0.0
        self.delays.append(delay)
        time.sleep(delay)
        auth = request.header("authorization")
        if auth.startswith("Basic "):
            who = base64.b64decode(auth[6:]).decode("utf-8", "replace")
            if who == f"{USER}:{PASSWORD}":
                return None
            self.failures += 1
        return Reply(
            401,
            b"",
            {"www-authenticate": 'Basic realm="Nextcloud", charset="UTF-8"'},
        )

    def _read_only_birthdays(self, reply: Reply) -> Reply:
        """Contact birthdays: read only for its owner (DAV:read alone)."""

        def fix(match: re.Match[bytes]) -> bytes:
            block = match.group(0)
            if b"contact_birthdays" not in block:
                return block
            block = re.sub(
                rb"<(\w+:)?current-user-privilege-set>.*?</\1?current-user-privilege-set>",
                b"",
                block,
                flags=re.S,
            )
            return block.replace(
                b"<ns0:prop>",
                b"<ns0:prop><ns0:current-user-privilege-set><ns0:privilege><ns0:read/>"
                b"</ns0:privilege></ns0:current-user-privilege-set>",
                1,
            )

        reply.body = re.sub(rb"<ns0:response>.*?</ns0:response>", fix, reply.body, flags=re.S)
        return reply

    def _converted(self, request: Request) -> Reply:
        """Cards go out as vCard 3.0 unless 4.0 is asked for."""
        wants4 = "version=4.0" in request.header("accept").replace(" ", "") or bool(
            re.search(rb'address-data[^>]*version="4\.0"', request.body)
        )
        reply = self.fronts[0].forward(request)
        if reply.status not in (200, 207):
            return reply
        target = "4.0" if wants4 else "3.0"
        xml = b"multistatus" in reply.body[:400]

        def convert(match: re.Match[bytes]) -> bytes:
            text = match.group(0).decode("utf-8", "surrogateescape")
            if xml:
                text = html.unescape(text)
            text = _convert(text, target)
            if xml:
                text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                text = text.replace("\r", "&#13;")
            return text.encode("utf-8", "surrogateescape")

        reply.body = re.sub(rb"BEGIN:VCARD.*?END:VCARD\r?\n?", convert, reply.body, flags=re.S)
        return reply


def _convert(card: str, version: str) -> str:
    stored = re.search(r"(?m)^VERSION:(\S+)", card)
    if stored is None or stored.group(1) == version:
        return card  # served as stored
    lines = vcards.parse(card)
    out = []
    for line in lines:
        if line.name == "VERSION":
            line.value = version
        if line.name == "PRODID":
            continue
        if line.name == "ANNIVERSARY" and version == "3.0":
            out.append(vcards.Line("", "X-ANNIVERSARY", [], line.value))
            out.append(vcards.Line("item9", "X-ABDATE", [], line.value))
            out.append(vcards.Line("item9", "X-ABLABEL", [], "_$!<Anniversary>!$_"))
            continue
        out.append(line)
        if line.name == "VERSION":
            out.append(vcards.Line("", "PRODID", [], SABRE_PRODID.split(":", 1)[1]))
    text = vcards.render(out)
    return text if "\r\n" in card else text.replace("\r\n", "\n")


@contextlib.contextmanager
def nextcloud(internet: Internet, tmp: Path) -> Iterator[Nextcloud]:
    with servers.xandikos(tmp / "xandikos") as backend:
        cloud = Nextcloud(internet, backend)
        user = f"/{servers.USER}"
        cloud.fronts = [
            Front(
                internet,
                HOST,
                cloud.route,
                backend=backend.root,
                paths={
                    f"{BOOKS}contacts/": f"{user}/contacts/addressbook/",
                    BOOKS: f"{user}/contacts/",
                    f"{CALS}personal/": f"{user}/calendars/calendar/",
                    CALS: f"{user}/calendars/",
                    PRINCIPAL: f"{user}/",
                },
            )
        ]
        _birthdays(backend)
        _name(backend.addressbook, "Contacts")
        _generated_books(backend)
        _name(f"{backend.calendar_home}calendar/", "Personal")
        try:
            yield cloud
        finally:
            for front in cloud.fronts:
                front.close()


def _generated_books(backend: servers.Server) -> None:
    for slug, name, fn, email in (
        ("z-server-generated--system", "Accounts", "Bob Colleague", "bob@cloud.example.com"),
        (
            "z-app-generated--contactsinteraction--recent",
            "Recently contacted",
            "Webshop Support",
            "support@shop.example",
        ),
    ):
        url = f"{backend.root}{servers.USER}/contacts/{slug}/"
        status = servers._request(
            "MKCOL",
            url,
            body=servers.MKCOL_ADDRESSBOOK.replace(b"Contacts", name.encode()),
            headers={"Content-Type": "application/xml; charset=utf-8"},
            auth=False,
        )
        assert status == 201, status
        card = vcard(f"{slug}-1", fn, lines=[f"EMAIL:{email}"]).encode()
        headers = {"Content-Type": "text/vcard; charset=utf-8"}
        assert servers._request("PUT", f"{url}1.vcf", body=card, headers=headers, auth=False) == 201


def _name(url: str, name: str) -> None:
    body = (
        '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
        f"<D:displayname>{name}</D:displayname></D:prop></D:set></D:propertyupdate>"
    ).encode()
    headers = {"Content-Type": "application/xml; charset=utf-8"}
    assert servers._request("PROPPATCH", url, body=body, headers=headers, auth=False) == 207


def _birthdays(backend: servers.Server) -> None:
    """The "Contact birthdays" calendar Nextcloud keeps, with one of its events."""
    url = f"{backend.calendar_home}contact_birthdays/"
    body = (
        b'<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" '
        b'xmlns:C="urn:ietf:params:xml:ns:caldav">'
        b"<D:set><D:prop><D:displayname>Contact birthdays</D:displayname></D:prop></D:set>"
        b"</C:mkcalendar>"
    )
    headers = {"Content-Type": "application/xml; charset=utf-8"}
    assert servers._request("MKCALENDAR", url, body=body, headers=headers, auth=False) == 201
    event = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//IDN nextcloud.com//Birthday calendar//EN\r\n"
        "BEGIN:VEVENT\r\nUID:netsync-demo-000.vcf\r\nDTSTAMP:20261101T000000Z\r\n"
        "DTSTART;VALUE=DATE:19791201\r\nDTEND;VALUE=DATE:19791202\r\n"
        "RRULE:FREQ=YEARLY\r\nSUMMARY:🎂 Alice Jansen (1979)\r\nTRANSP:TRANSPARENT\r\n"
        "X-NEXTCLOUD-BC-FIELD-TYPE:BDAY\r\nX-NEXTCLOUD-BC-UNKNOWN-YEAR:0\r\n"
        "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:🎂 Alice Jansen (1979)\r\n"
        "TRIGGER;VALUE=DURATION:PT9H\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()
    headers = {"Content-Type": "text/calendar; charset=utf-8"}
    status = servers._request(
        "PUT", f"{url}contacts-netsync-demo-000.vcf.ics", body=event, headers=headers, auth=False
    )
    assert status == 201, status


V4_CARD = vcard(
    "7b1f1c2e-davx5-android",
    "Pieter Bos",
    version="4.0",
    prodid="-//dmfs.org//mimedir.vcard//EN",
    n="Bos;Pieter;;;",
    lines=["TEL;TYPE=cell:+31 6 1111 2222", "ANNIVERSARY:20101009"],
    note="Written by DAVx5 on Android",
)
