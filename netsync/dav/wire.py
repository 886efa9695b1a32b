"""What CardDAV and CalDAV share on the wire: sending a request with its body kept byte for
byte, reading a multistatus, and hrefs.

Bodies, measured on Radicale 3.9 and Xandikos 0.4.10: both put a card or a calendar object
into ``<address-data>``/``<calendar-data>`` with *literal* CRLF (neither escapes CR as
``&#13;``). Every XML parser turns a literal CRLF into LF (XML 1.0 §2.11), and caldav's
DAVResponse drops CRs from its copy of the body too (caldav #112). So the data is cut out of
the response bytes as they came off the wire (tapped with a niquests response hook), entity-
and CDATA-decoded by hand, and used only when it equals lxml's reading modulo line endings;
otherwise lxml's text is used with LF turned into CRLF (RFC 6350 §3.2 and RFC 5545 §3.1 both
mandate CRLF). On Xandikos, which stores bytes verbatim, an object PUT with CRLF, LF or mixed
line endings reads back identical; Radicale re-serialises what it stores, so only its own
bytes can be read back.

Hrefs (RFC 4918 allows full URLs and relative references) are resolved against the URL of
the response that named them, and kept in the server's own percent-encoding, never
re-encoded: Radicale writes ``p%201%40x.vcf``, Xandikos ``p%201@x.vcf`` for the same name.
Two spellings of one resource are compared by ``key`` (the decoded path).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

log = logging.getLogger(__name__)

DAV = "DAV:"
CARDDAV = "urn:ietf:params:xml:ns:carddav"
CALDAV = "urn:ietf:params:xml:ns:caldav"
XML_HEADERS = {"Content-Type": "application/xml; charset=utf-8"}


# ---------------------------------------------------------------------------------------------
# Requests


@dataclass(frozen=True)
class Reply:
    url: str  # the URL that answered (after redirects)
    method: str  # the method that got this answer (niquests turns PROPFIND into GET on a 302)
    status: int
    headers: Any
    body: bytes | None  # the body as it came off the wire; None when it could not be tapped
    tree: Any  # the parsed XML body (lxml), or None

    def header(self, name: str) -> str | None:
        value = self.headers.get(name) if self.headers is not None else None
        return str(value) if value else None


def send(client: Any, url: str, method: str, body: Any, headers: Mapping[str, str]) -> Reply:
    """One request through the account's client (client.py: origins, timeouts, Retry-After;
    caldav: auth, 401/403 raising), keeping the raw body. A str body is XML."""
    all_headers = {**XML_HEADERS, **headers} if isinstance(body, str) else dict(headers)
    with _tapped(client) as seen:
        response = client.request(url, method, body, all_headers)
    last = seen[-1] if seen else None
    return Reply(
        url=last.url if last else url,
        method=last.method if last else method,
        status=int(response.status),
        headers=response.headers,
        body=last.body if last else None,
        tree=response.tree,
    )


def propfind(client: Any, url: str, body: str, depth: int) -> Reply:
    reply = send(client, url, "PROPFIND", body, {"Depth": str(depth)})
    if reply.method not in ("", "PROPFIND"):
        # A 302/303 (Xandikos' /.well-known/carddav) made niquests follow with a GET, as
        # browsers do for POST: ask again where it pointed (client.py has already refused a
        # redirect to anywhere the account's requests may not go).
        reply = send(client, reply.url, "PROPFIND", body, {"Depth": str(depth)})
    return reply


@dataclass(frozen=True)
class _Wire:
    url: str
    method: str
    body: bytes


@contextmanager
def _tapped(client: Any) -> Iterator[list[_Wire]]:
    """Record the responses niquests hands to caldav while the block runs (caldav's
    DAVResponse keeps the body only with CRLF turned into LF, caldav #112)."""
    seen: list[_Wire] = []

    def hook(response: Any, *args: Any, **kwargs: Any) -> None:
        request = getattr(response, "request", None)
        seen.append(
            _Wire(
                url=str(response.url),
                method=str(getattr(request, "method", "") or ""),
                body=bytes(response.content or b""),
            )
        )

    hooks = getattr(getattr(client, "session", None), "hooks", None)
    chain = hooks.get("response") if isinstance(hooks, dict) else None
    if not isinstance(chain, list):
        yield seen  # not niquests/requests: texts fall back to lxml's reading
        return
    chain.append(hook)
    try:
        yield seen
    finally:
        chain.remove(hook)


# ---------------------------------------------------------------------------------------------
# Multistatus


@dataclass(frozen=True)
class Entry:
    hrefs: list[str]  # as the server wrote them
    status: int | None  # the response-level status (404 deleted, 507 truncated), if any
    props: dict[str, Any]  # properties from 2xx propstats, by Clark name
    missing_404: bool  # some property came back in a 404 propstat

    def types(self) -> frozenset[str]:
        """The Clark names in DAV:resourcetype."""
        kind = self.props.get(f"{{{DAV}}}resourcetype")
        return frozenset(str(child.tag) for child in (kind if kind is not None else ()))

    def text(self, name: str) -> str:
        el = self.props.get(name)
        return (el.text or "").strip() if el is not None else ""

    def href_in(self, name: str) -> list[str]:
        """The hrefs inside a property (current-user-principal, a home set)."""
        el = self.props.get(name)
        if el is None:
            return []
        return [t.strip() for h in el.iterfind(f"{{{DAV}}}href") if (t := h.text or "").strip()]

    @property
    def etag(self) -> str:
        return self.text(f"{{{DAV}}}getetag")


def entries(tree: Any) -> list[Entry]:
    if tree is None:
        return []
    out: list[Entry] = []
    for response in tree.iter(f"{{{DAV}}}response"):
        hrefs = [
            (el.text or "").strip()
            for el in response.iterfind(f"{{{DAV}}}href")
            if (el.text or "").strip()
        ]
        props: dict[str, Any] = {}
        missing_404 = False
        for propstat in response.iterfind(f"{{{DAV}}}propstat"):
            code = status_code(propstat.findtext(f"{{{DAV}}}status"))
            if code == 404:
                missing_404 = True
            if code is not None and not 200 <= code < 300:
                continue
            for prop in propstat.iterfind(f"{{{DAV}}}prop"):
                for child in prop:
                    props[str(child.tag)] = child
        status = status_code(response.findtext(f"{{{DAV}}}status"))
        out.append(Entry(hrefs, status, props, missing_404))
    return out


def status_code(status: str | None) -> int | None:
    """200 from "HTTP/1.1 200 OK"; None when there is no status."""
    parts = (status or "").split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None


def preconditions(tree: Any) -> list[str]:
    """Clark names of the pre/postconditions in a DAV:error body (RFC 4918 §16)."""
    if tree is None or tree.tag != f"{{{DAV}}}error":
        return []
    return [str(child.tag) for child in tree if isinstance(child.tag, str)]


def detail(body: Any, secret: str) -> str:
    """The server's reason, short, without any line of ``secret`` (NOTE text must not reach
    logs: Xandikos quotes the line it could not parse)."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    text = " ".join(str(body or "").split())
    description = re.search(r"responsedescription[^>]*>([^<]*)<", text)
    if description:
        names = re.findall(r"<(?:[\w.-]+:)?([\w.-]+)\s*/>", text)
        text = " ".join([*names, description.group(1)])
    for line in secret.splitlines():
        line = " ".join(line.split())
        if len(line) >= 4 and line in text:
            text = text.replace(line, "[card line]")
    return text[:200]


# ---------------------------------------------------------------------------------------------
# Exact data


_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot|apos)|#([0-9]+)|#x([0-9A-Fa-f]+));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_CDATA = re.compile(r"(<!\[CDATA\[.*?\]\]>)", re.S)


def data_texts(reply: Reply, tag: str) -> dict[Any, str]:
    """The exact text of every ``tag`` element (address-data, calendar-data), keyed by the
    lxml element."""
    elements = list(reply.tree.iter(tag)) if reply.tree is not None else []
    parsed = [el.text or "" for el in elements]
    local = tag.rsplit("}", 1)[-1]
    exact = exact_texts(reply.body, local) if reply.body is not None else None
    if (
        exact is None
        or len(exact) != len(parsed)
        or any(_lf(a) != _lf(b) for a, b in zip(exact, parsed, strict=True))
    ):
        if elements:
            log.debug("exact bytes of %s not recoverable from the XML; assuming CRLF", local)
        # Content lines end in CRLF. Text with a CR (sent as &#13;) is exact.
        exact = [text if "\r" in text else text.replace("\n", "\r\n") for text in parsed]
    return dict(zip(elements, exact, strict=True))


def exact_texts(body: bytes, local: str = "address-data") -> list[str] | None:
    """The contents of every ``local`` element cut from the raw body, decoded by hand so that
    literal CRs stay (an XML parser must turn them into LF). None when the markup is beyond
    this small reader."""
    name = re.escape(local.encode())
    start = re.compile(rb"<(?P<prefix>[A-Za-z_][\w.\-]*:)?" + name + rb"(?P<attrs>[\s/][^>]*)?>")
    texts: list[str] = []
    pos = 0
    while match := start.search(body, pos):
        attrs = match.group("attrs") or b""
        if attrs.rstrip().endswith(b"/"):
            texts.append("")
            pos = match.end()
            continue
        prefix = re.escape(match.group("prefix") or b"")
        end = re.compile(rb"</" + prefix + name + rb"\s*>").search(body, match.end())
        if end is None:
            return None
        decoded = _xml_text(body[match.end() : end.start()].decode("utf-8", "surrogateescape"))
        if decoded is None:
            return None
        texts.append(decoded)
        pos = end.end()
    return texts


def _xml_text(raw: str) -> str | None:
    out: list[str] = []
    for part in _CDATA.split(raw):
        if part.startswith("<![CDATA["):
            out.append(part[9:-3])
        elif "<" in part:
            return None  # comments or elements inside: leave it to lxml
        else:
            out.append(_ENTITY.sub(_entity, part))
    return "".join(out)


def _entity(match: re.Match[str]) -> str:
    named, decimal, hexadecimal = match.groups()
    if named:
        return _NAMED[named]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    # Out of range: keep the reference; the check against lxml's reading then rejects it.
    return chr(code) if code <= 0x10FFFF else match.group(0)


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ---------------------------------------------------------------------------------------------
# Hrefs


def resolve(base: str, href: str) -> str:
    """The whole URL of ``href`` as named in a response from ``base``."""
    return urljoin(base, href)


def member(response_url: str, href: str, *, paths_on: str | None) -> str:
    """An href named in a response, resolved against the URL of that response, in the form
    its caller keeps: an absolute path when it is on the origin of ``paths_on`` (the form
    the contacts cache has always used), else the whole URL."""
    relative = href.startswith("/") and not href.startswith("//")
    if paths_on is not None and relative and same_origin(response_url, paths_on):
        return href
    url = resolve(response_url, href)
    if paths_on is not None and same_origin(url, paths_on):
        return urlsplit(url).path
    return url


def absolute(client: Any, href: str) -> str:
    """The URL to send a request for ``href`` to: a path is on the account's own origin."""
    return resolve(str(client.url), href)


def key(href: str) -> str:
    """What two spellings of one href have in common (Radicale writes %40, Xandikos @)."""
    return unquote(urlsplit(href).path if "://" in href else href).rstrip("/")


def same_origin(a: str, b: str) -> bool:
    first, second = urlsplit(a), urlsplit(b)
    return (first.scheme.lower(), first.netloc.lower()) == (
        second.scheme.lower(),
        second.netloc.lower(),
    )


def collection_url(url: str) -> str:
    return url if url.endswith("/") else url + "/"
