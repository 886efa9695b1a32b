"""Look at a server the way a second client would, without netsync's own DAV code.

Plain urllib requests: list a collection with PROPFIND, read every object with GET. Tests use
this to see what landed in the calendar and in the contacts, independently of what netsync
believes it wrote.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urljoin

from tests.servers import Server

PROPFIND = b"""<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:resourcetype/><d:displayname/></d:prop>
</d:propfind>"""


def request(
    server: Server,
    method: str,
    url: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=body or None, method=method, headers=headers or {})
    if server.needs_auth:
        token = base64.b64encode(f"{server.username}:{server.password}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _responses(xml: str) -> list[str]:
    return re.findall(r"<(?:\w+:)?response\b.*?</(?:\w+:)?response>", xml, re.S)


def _tag(block: str, name: str) -> str:
    m = re.search(rf"<(?:\w+:)?{name}\b[^>]*>(.*?)</(?:\w+:)?{name}>", block, re.S)
    return m.group(1).strip() if m else ""


def children(server: Server, url: str) -> dict[str, str]:
    """href -> ETag of the non-collection members of a collection."""
    status, _, body = request(
        server,
        "PROPFIND",
        url,
        body=PROPFIND,
        headers={"Depth": "1", "Content-Type": "application/xml"},
    )
    assert status == 207, (status, body[:300])
    out = {}
    for block in _responses(body.decode()):
        if "collection" in _tag(block, "resourcetype"):
            continue
        etag = _tag(block, "getetag").replace("&quot;", '"')
        out[urljoin(url, _tag(block, "href"))] = etag
    return out


def calendars(server: Server) -> dict[str, str]:
    """display name -> URL of the calendars under the server's calendar home."""
    status, _, body = request(
        server,
        "PROPFIND",
        server.calendar_home,
        body=PROPFIND,
        headers={"Depth": "1", "Content-Type": "application/xml"},
    )
    assert status == 207
    out = {}
    for block in _responses(body.decode()):
        if "calendar" in _tag(block, "resourcetype"):
            out[_tag(block, "displayname")] = urljoin(server.calendar_home, _tag(block, "href"))
    return out


def get(server: Server, url: str) -> bytes:
    status, _, body = request(server, "GET", url, headers={"Accept": "*/*"})
    assert status == 200, (status, url)
    return body


def snapshot(server: Server, url: str) -> dict[str, tuple[str, bytes]]:
    """href -> (ETag, body) of every object in a collection."""
    return {href: (etag, get(server, href)) for href, etag in children(server, url).items()}


def day_of(comp: Any) -> dt.date:
    """The day of a reminder (an icalendar VEVENT/VTODO), all-day or timed: netsync writes
    one it wrote too late for its all-day alarms as a timed event at a floating time."""
    start = comp.decoded("DTSTART")
    return start.date() if isinstance(start, dt.datetime) else start


def moved_to(body: str, old: dt.date, new: dt.date) -> str:
    """A reminder's text with its DTSTART/DTEND/DUE moved from ``old`` to ``new``, as a phone
    writes a move: all-day or timed, the times kept."""
    pattern = re.compile(r"^((?:DTSTART|DTEND|DUE)[^:\r\n]*:)(\d{8})", re.MULTILINE)

    def move(match: re.Match[str]) -> str:
        day = dt.datetime.strptime(match[2], "%Y%m%d").date() + (new - old)
        return match[1] + day.strftime("%Y%m%d")

    return pattern.sub(move, body)
