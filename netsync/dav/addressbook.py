"""CardDAV over caldav's DAVClient: find address books, sync cards, write one back.

caldav has no address-book model (and its propfind() silently drops CardDAV property names),
so this module speaks CardDAV itself with raw XML bodies over ``client.request``: discovery
(RFC 6352 §7, RFC 6764 well-known), RFC 6578 sync-collection with addressbook-multiget, the
vdirsyncer-style PROPFIND/ETag listing as fallback, and conditional PUTs. It owns the wire
details only; what to do with a card is the engine's business.

Hrefs are kept exactly as the server wrote them in ``<href>`` (made absolute paths, never
re-encoded: Radicale writes ``p%201%40x.vcf``, Xandikos ``p%201@x.vcf`` for the same name) and
compared by their decoded path, so a server that spells one href two ways still matches.

Card bytes, measured on Radicale 3.9 and Xandikos 0.4.10: both put the card into
``<address-data>`` with *literal* CRLF (neither escapes CR as ``&#13;``). Every XML parser
turns a literal CRLF into LF (XML 1.0 §2.11), and caldav's DAVResponse drops CRs from its copy of
the body too (caldav #112). So ``Card.text`` is cut out of the response bytes as they came off
the wire (tapped with a niquests response hook), entity- and CDATA-decoded by hand, and used
only when it equals lxml's reading modulo line endings; otherwise lxml's text is used with LF
turned into CRLF (RFC 6350 §3.2 mandates CRLF). On Xandikos, which stores bytes verbatim, a card
PUT with CRLF, LF or mixed line endings reads back identical; Radicale re-serialises every
card through vobject (CRLF), so only its own bytes can be read back.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit
from xml.sax.saxutils import escape

from netsync.dav import DavError, WrongCollection, check_status, translated_errors

log = logging.getLogger(__name__)

DAV = "DAV:"
CARDDAV = "urn:ietf:params:xml:ns:carddav"
CALDAV = "urn:ietf:params:xml:ns:caldav"
ADDRESSBOOK = f"{{{CARDDAV}}}addressbook"
ADDRESS_DATA = f"{{{CARDDAV}}}address-data"
CALENDAR = f"{{{CALDAV}}}calendar"
VALID_SYNC_TOKEN = f"{{{DAV}}}valid-sync-token"

# hrefs per addressbook-multiget. vdirsyncer sends all at once; bound it. Radicale 3.9 spends
# about 45 ms on every REPORT over a 10,000-card book besides the cards themselves: 4,000 cards
# took 2.7 s in batches of 100 and 1.3 s in batches of 500 (no gain beyond).
MULTIGET_BATCH = 500
MAX_SYNC_PAGES = 100  # truncated sync-collection replies followed before giving up (as caldav)
XML_HEADERS = {"Content-Type": "application/xml; charset=utf-8"}

_DISCOVER = (
    '<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav"><d:prop>'
    "<d:resourcetype/><d:current-user-principal/><c:addressbook-home-set/>"
    "</d:prop></d:propfind>"
)
_LIST_COLLECTIONS = '<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/></d:prop></d:propfind>'
_LIST_ETAGS = (
    '<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:getetag/><d:sync-token/></d:prop>'
    "</d:propfind>"
)
# RFC 6578 §3.2: Depth 0, sync-level 1. Never DAV:limit (Nextcloud and Xandikos lose changes).
_SYNC = (
    '<d:sync-collection xmlns:d="DAV:"><d:sync-token>{token}</d:sync-token>'
    "<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"
)
_MULTIGET = (
    '<c:addressbook-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav">'
    "<d:prop><d:getetag/><c:address-data/></d:prop>{hrefs}</c:addressbook-multiget>"
)


@dataclass(frozen=True)
class Card:
    href: str  # absolute path as the server wrote it, e.g. "/alice/contacts/abc.vcf"
    etag: str  # as the server sent it, quotes included ("" if it sent none)
    text: str  # the card exactly as sent, UTF-8 with surrogateescape, line endings kept


@dataclass(frozen=True)
class CardChanges:
    changed: list[Card]  # new or modified since `token` (on a full listing: all not unchanged)
    deleted: list[str]  # hrefs gone since `token` (on a full listing: known hrefs not listed)
    token: str | None  # new sync token (None when the server has no sync-collection)
    complete: bool  # a full listing: known hrefs not in changed or unchanged are gone
    unchanged: list[str] = field(default_factory=list)  # listed with the ETag in `known`,
    # so not downloaded again (on a full listing, and for a change the caller made itself)


class Conflict(DavError):
    """A conditional PUT failed because the card changed on the server (412)."""

    def __init__(self, href: str) -> None:
        super().__init__(f"{href} changed on the server since it was read (412)")
        self.href = href


class Rejected(DavError):
    """The server refused the card's content (400, 403, 415, Xandikos 412 valid-address-data)."""

    def __init__(self, href: str, status: int, detail: str) -> None:
        super().__init__(f"the server refused {href} ({status}): {detail or 'no reason given'}")
        self.href = href
        self.status = status
        self.detail = detail


# ---------------------------------------------------------------------------------------------
# Public API


def find_address_books(client: Any, url: str) -> list[str]:
    """The address-book URLs reachable from ``url``: a server root, a principal or a book.

    A bare host tries ``/.well-known/carddav`` (RFC 6764) before the root itself. A URL that is a
    calendar raises WrongCollection; finding nothing raises DavError naming what was tried.
    """
    with translated_errors(url, _username(client)):
        tried: list[str] = []
        for start in _starting_points(url):
            books = _books_from(client, start, tried)
            if books:
                return books
        raise DavError(f"no address book found from {url}; tried: {'; '.join(tried)}")


OnCards = Callable[[list["Card"]], None]  # handed each batch of cards as it arrives


def fetch_changes(
    client: Any,
    book_url: str,
    *,
    token: str | None,
    known: Mapping[str, str],
    on_cards: OnCards | None = None,
) -> CardChanges:
    """What changed in the address book since ``token`` ("" or None: everything).

    ``known`` maps the hrefs the caller holds to their ETags; cards listed with that ETag are
    not downloaded again. An expired token turns into a full listing; a server without
    sync-collection gets the PROPFIND listing (see fetch_by_propfind). ``on_cards`` sees each
    downloaded batch as it arrives (the caller may start on them while the next downloads).
    """
    with translated_errors(book_url, _username(client)):
        try:
            try:
                listing = _sync_listing(client, book_url, token or "")
            except _TokenInvalid:
                # Radicale: 403 after max_sync_token_age (30 days); Xandikos: 412 (RFC 6578).
                log.info("sync token for %s is no longer valid; listing it again", book_url)
                listing = _sync_listing(client, book_url, "")
        except (_NoSyncCollection, _TokenInvalid) as why:
            log.info("%s: no usable sync-collection (%s); listing by PROPFIND", book_url, why)
            return fetch_by_propfind(client, book_url, known=known, on_cards=on_cards)
        return _changes(client, book_url, listing, known, on_cards)


def fetch_by_propfind(
    client: Any, book_url: str, *, known: Mapping[str, str], on_cards: OnCards | None = None
) -> CardChanges:
    """A full listing by PROPFIND Depth 1 getetag, diffed against ``known`` (vdirsyncer's way:
    servers without RFC 6578). Only new or changed cards are downloaded.

    The token is the book's own DAV:sync-token property (RFC 6578 section 4), when it has one:
    Google refuses a sync-collection report with an empty token (400; carddavclient's
    BUG_REJ_EMPTY_SYNCTOKEN, issuetracker.google.com/issues/160190530) yet wants clients to
    use sync-collection after the first sync, which this token makes possible."""
    with translated_errors(book_url, _username(client)):
        reply = _send(client, book_url, "PROPFIND", _LIST_ETAGS, {"Depth": "1"})
        check_status(reply, book_url, expected=(207,), what="listing the address book")
        book_key = _key(book_url).rstrip("/")
        entries: dict[str, tuple[str, str | None]] = {}
        token: str | None = None
        for entry in _entries(reply.tree):
            if entry.status is not None and entry.status != 200:
                continue
            resourcetype = entry.props.get(f"{{{DAV}}}resourcetype")
            is_collection = (
                resourcetype is not None and resourcetype.find(f"{{{DAV}}}collection") is not None
            )
            for href in entry.hrefs:
                path = _path(reply.url, href)
                if _key(path).rstrip("/") == book_key:
                    found = entry.props.get(f"{{{DAV}}}sync-token")
                    token = (found.text or "").strip() or None if found is not None else None
                    continue  # the book itself
                if is_collection:
                    continue  # a sub-collection
                entries[_key(path)] = (path, _etag(entry))
        listing = _Listing(entries, token, complete=True)
        return _changes(client, book_url, listing, known, on_cards)


def get_cards(client: Any, book_url: str, hrefs: Sequence[str]) -> list[Card]:
    """Download these cards (addressbook-multiget); cards that are gone are left out."""
    with translated_errors(book_url, _username(client)):
        cards, _gone = _multiget(client, book_url, list(hrefs), {})
        return cards


def put_card(client: Any, href: str, text: str, *, etag: str) -> str | None:
    """Write a card back with ``If-Match: etag``; the new ETag, or None if the server sent none.

    The body goes out byte for byte (caldav would turn every LF into CRLF). 412 is Conflict,
    unless the body names a CardDAV precondition (Xandikos: valid-address-data) -> Rejected.
    A card holding bytes that are not UTF-8 is not sent (DavError).
    """
    from caldav.lib.error import AuthorizationError
    from caldav.lib.python_utilities import WireBytes

    url = urljoin(_base(client), href)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        # Bytes that are not UTF-8 (kept by surrogateescape) cannot go through caldav, which
        # decodes every request body for its debug log and raises; and no card should be sent
        # as charset=utf-8 holding them. Such a card is left as the other client wrote it.
        raise DavError(f"{href} holds bytes that are not UTF-8; it is left as it is") from None
    body = WireBytes(data)
    headers = {"Content-Type": "text/vcard; charset=utf-8", "If-Match": etag}
    with translated_errors(url, _username(client)):
        try:
            reply = _send(client, url, "PUT", body, headers)
        except AuthorizationError as err:
            if getattr(err, "status", None) != 403:
                raise
            # caldav raises for every 403; for a PUT it means "not this content, not here".
            raise Rejected(href, 403, _detail(err.body, text)) from err
        if reply.status == 412:
            # Xandikos answers 412 both for a stale ETag and for a card it cannot parse
            # (CARDDAV:valid-address-data): only a CardDAV precondition in the body tells.
            if any(tag.startswith(f"{{{CARDDAV}}}") for tag in _preconditions(reply.tree)):
                raise Rejected(href, 412, _detail(reply.body, text))
            raise Conflict(href)
        if reply.status in (400, 409, 413, 415, 422):
            raise Rejected(href, reply.status, _detail(reply.body, text))
        check_status(reply, url, expected=(200, 201, 204), what="writing the card")
        # Radicale sends an ETag although it rewrote the card; RFC 7231 §4.3.4 says it should
        # not. The caller decides whether to trust it (None: re-read next cycle).
        new_etag = reply.headers.get("ETag") if reply.headers is not None else None
        return str(new_etag) if new_etag else None


# ---------------------------------------------------------------------------------------------
# Talking to the server


@dataclass(frozen=True)
class _Reply:
    url: str  # the URL that answered (after redirects)
    method: str  # the method that got this answer (niquests turns PROPFIND into GET on a 302)
    status: int
    headers: Any
    body: bytes | None  # the body as it came off the wire; None when it could not be tapped
    tree: Any  # the parsed XML body (lxml), or None


def _send(client: Any, url: str, method: str, body: Any, headers: Mapping[str, str]) -> _Reply:
    """One request through caldav (auth, rate limits, 401/403 raising), keeping the raw body."""
    all_headers = {**XML_HEADERS, **headers} if isinstance(body, str) else dict(headers)
    with _tapped(client) as seen:
        response = client.request(url, method, body, all_headers)
    last = seen[-1] if seen else None
    return _Reply(
        url=last.url if last else url,
        method=last.method if last else method,
        status=int(response.status),
        headers=response.headers,
        body=last.body if last else None,
        tree=response.tree,
    )


@dataclass(frozen=True)
class _Wire:
    url: str
    method: str
    body: bytes


@contextmanager
def _tapped(client: Any) -> Iterator[list[_Wire]]:
    """Record the responses niquests hands to caldav while the block runs.

    caldav's DAVResponse keeps the body only with CRLF turned into LF (caldav #112), so a
    niquests response hook is the one place where the exact bytes are still there.
    """
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


def _propfind(client: Any, url: str, body: str, depth: int) -> _Reply:
    reply = _send(client, url, "PROPFIND", body, {"Depth": str(depth)})
    if reply.method not in ("", "PROPFIND") and _same_origin(url, reply.url):
        # A 302/303 (Xandikos' /.well-known/carddav) made niquests follow with a GET, as
        # browsers do for POST: ask again where it pointed. Other hosts are not followed
        # with our credentials (RFC 6764 §8).
        reply = _send(client, reply.url, "PROPFIND", body, {"Depth": str(depth)})
    return reply


# ---------------------------------------------------------------------------------------------
# Discovery


@dataclass(frozen=True)
class _Node:
    url: str
    types: frozenset[str]
    principal: str | None
    homes: tuple[str, ...]
    redirected: bool


def _starting_points(url: str) -> list[str]:
    if urlsplit(url).path in ("", "/"):
        return [urljoin(url, "/.well-known/carddav"), url]
    return [url]


def _books_from(client: Any, url: str, tried: list[str]) -> list[str]:
    node = _describe(client, url, tried)
    if node is None:
        return []
    if ADDRESSBOOK in node.types:
        return [node.url if node.redirected else url]
    if CALENDAR in node.types:
        raise WrongCollection(f"{url} is a calendar, not an address book")
    homes = node.homes
    if not homes and node.principal:
        principal = _describe(client, node.principal, tried)
        homes = principal.homes if principal else ()
        if principal is not None and not homes:
            tried.append(f"{node.principal}: principal without addressbook-home-set")
    elif not homes:
        tried.append(f"{node.url}: neither address book nor current-user-principal")
    books: list[str] = []
    for home in homes:
        found = _books_in(client, home)
        if not found:
            tried.append(f"{home}: addressbook-home-set holds no address book")
        books.extend(found)
    return books


def _describe(client: Any, url: str, tried: list[str]) -> _Node | None:
    reply = _propfind(client, url, _DISCOVER, 0)
    if reply.status != 207:
        if reply.status >= 500:
            check_status(reply, url, expected=(207,), what="PROPFIND")
        tried.append(f"{url}: PROPFIND answered {reply.status}")
        return None
    entries = _entries(reply.tree)
    if not entries:
        tried.append(f"{url}: empty PROPFIND answer")
        return None
    if entries[0].status not in (None, 200):
        # Xandikos answers a missing path with 207 and a 404 inside.
        tried.append(f"{url}: PROPFIND answered {entries[0].status}")
        return None
    props = entries[0].props
    resourcetype = props.get(f"{{{DAV}}}resourcetype")
    types = frozenset(
        str(child.tag) for child in (resourcetype if resourcetype is not None else ())
    )
    principal = _first_href(props.get(f"{{{DAV}}}current-user-principal"))
    home_set = props.get(f"{{{CARDDAV}}}addressbook-home-set")
    homes = tuple(
        urljoin(reply.url, (el.text or "").strip())
        for el in (home_set.iterfind(f"{{{DAV}}}href") if home_set is not None else ())
        if (el.text or "").strip()
    )
    return _Node(
        url=reply.url,
        types=types,
        principal=urljoin(reply.url, principal) if principal else None,
        homes=homes,
        redirected=not _same_origin(url, reply.url) or _key(reply.url) != _key(url),
    )


# Address books a server makes of its own in every home, which are not the user's contacts:
# Nextcloud's directory of all accounts of the instance and its "Recently contacted"
# (contactsinteraction: read-only, a reserved prefix; DAVx5 leaves it out by default).
GENERATED_BOOKS = ("z-server-generated--", "z-app-generated--")


def _books_in(client: Any, home: str) -> list[str]:
    """The address books in a home, less the server's generated ones (GENERATED_BOOKS); a
    user who wants one of those gives its URL itself."""
    reply = _propfind(client, home, _LIST_COLLECTIONS, 1)
    check_status(reply, home, expected=(207,), what="listing the addressbook-home-set")
    books: list[str] = []
    for entry in _entries(reply.tree):
        resourcetype = entry.props.get(f"{{{DAV}}}resourcetype")
        if resourcetype is not None and resourcetype.find(ADDRESSBOOK) is not None:
            for href in entry.hrefs:
                name = unquote(urlsplit(href).path.rstrip("/").rsplit("/", 1)[-1])
                if name.startswith(GENERATED_BOOKS):
                    log.debug("leaving out %s: the server's own, not the user's", href)
                    continue
                books.append(urljoin(reply.url, href))
    return books


# ---------------------------------------------------------------------------------------------
# Sync


class _TokenInvalid(Exception):
    pass


class _NoSyncCollection(Exception):
    pass


@dataclass
class _Listing:
    entries: dict[str, tuple[str, str | None]]  # key -> (href as sent, etag; None = deleted)
    token: str | None
    complete: bool


def _sync_listing(client: Any, book_url: str, token: str) -> _Listing:
    """Follow sync-collection pages (RFC 6578 §3.6) until the reply is not truncated."""
    from caldav.lib.error import AuthorizationError

    listing = _Listing({}, None, complete=token == "")
    current = token
    for _ in range(MAX_SYNC_PAGES):
        try:
            reply = _send(
                client, book_url, "REPORT", _SYNC.format(token=escape(current)), {"Depth": "0"}
            )
        except AuthorizationError as err:
            if getattr(err, "status", None) != 403:
                raise
            if VALID_SYNC_TOKEN in (getattr(err, "preconditions", None) or []) and current:
                raise _TokenInvalid("403 valid-sync-token") from err  # Radicale
            raise _NoSyncCollection("REPORT answered 403") from err
        if reply.status not in (200, 207):
            if VALID_SYNC_TOKEN in _preconditions(reply.tree) and current:
                raise _TokenInvalid(f"{reply.status} valid-sync-token")  # Xandikos: 412
            if reply.status in (400, 403, 405, 415, 501, 507):
                raise _NoSyncCollection(f"REPORT answered {reply.status}")
            check_status(reply, book_url, expected=(207,), what="sync-collection REPORT")
        truncated = False
        for entry in _entries(reply.tree):
            if entry.status == 507 and not entry.props:
                truncated = True  # RFC 6578 §3.6: the marker response for the collection
                continue
            for href in entry.hrefs:
                path = _path(reply.url, href)
                if entry.status == 404 and listing.complete:
                    # Radicale lists deleted cards (404) on an initial sync: nothing to report;
                    # on a later page of a full listing, the card is just not there any more.
                    listing.entries.pop(_key(path), None)
                elif entry.status == 404:
                    listing.entries[_key(path)] = (path, None)
                elif entry.status in (None, 200):
                    listing.entries[_key(path)] = (path, _etag(entry))
        new_token = reply.tree.findtext(f"{{{DAV}}}sync-token") if reply.tree is not None else None
        listing.token = new_token.strip() if new_token else None
        if not truncated:
            return listing
        if not listing.token or listing.token == current:
            raise _NoSyncCollection("truncated reply without a new token")
        current = listing.token
    raise _NoSyncCollection(f"still truncated after {MAX_SYNC_PAGES} pages")


def _changes(
    client: Any,
    book_url: str,
    listing: _Listing,
    known: Mapping[str, str],
    on_cards: OnCards | None = None,
) -> CardChanges:
    # An empty report of a sync (a cycle in which nothing changed) looks nothing up.
    needed = bool(listing.entries) or listing.complete
    known_by_key = {_key(href): (href, etag) for href, etag in known.items()} if needed else {}
    to_fetch: list[str] = []
    listed_etags: dict[str, str] = {}
    unchanged: list[str] = []
    deleted: list[str] = []
    for key, (listed, etag) in listing.entries.items():
        # The caller's spelling of an href it knows wins, so its keys stay its keys.
        href = known_by_key[key][0] if key in known_by_key else listed
        if etag is None:
            deleted.append(href)
        elif etag and key in known_by_key and known_by_key[key][1] == etag:
            unchanged.append(href)
        else:
            to_fetch.append(href)
            listed_etags[key] = etag
    cards, gone = _multiget(client, book_url, to_fetch, listed_etags, on_cards)
    deleted.extend(gone)  # deleted between the listing and the multiget
    if listing.complete:
        deleted.extend(
            href for key, (href, _etag) in known_by_key.items() if key not in listing.entries
        )
    return CardChanges(
        changed=cards,
        deleted=deleted,
        token=listing.token,
        complete=listing.complete,
        unchanged=unchanged,
    )


def _multiget(
    client: Any,
    book_url: str,
    hrefs: list[str],
    listed_etags: Mapping[str, str],
    on_cards: OnCards | None = None,
) -> tuple[list[Card], list[str]]:
    """Download cards in batches; returns (cards, hrefs the server says are gone)."""
    cards: list[Card] = []
    gone: list[str] = []
    for start in range(0, len(hrefs), MULTIGET_BATCH):
        found, missing = _multiget_batch(
            client, book_url, hrefs[start : start + MULTIGET_BATCH], listed_etags
        )
        if on_cards is not None and found:
            on_cards(found)
        cards += found
        gone += missing
    return cards, gone


def _multiget_batch(
    client: Any, book_url: str, batch: list[str], listed_etags: Mapping[str, str]
) -> tuple[list[Card], list[str]]:
    wanted = {_key(href): href for href in batch}
    query = _MULTIGET.format(hrefs="".join(f"<d:href>{escape(h)}</d:href>" for h in batch))
    # RFC 6352 §8.7 says Depth: 0 (its examples, and erratum 4610, say 1; servers ignore it).
    reply = _send(client, book_url, "REPORT", query, {"Depth": "0"})
    if reply.status >= 500:
        # Xandikos 0.4 stores a card that is not UTF-8 but answers 500 to every multiget
        # that names it, which would stop every sync for good. Halve the batch to find it,
        # and read that one card with a plain GET. A server that is really failing fails
        # the first half too, down to one GET, which then ends the cycle (Unreachable).
        if len(batch) > 1:
            log.info(
                "%s: multiget of %d cards answered %s; halving", book_url, len(batch), reply.status
            )
            half = len(batch) // 2
            first = _multiget_batch(client, book_url, batch[:half], listed_etags)
            second = _multiget_batch(client, book_url, batch[half:], listed_etags)
            return first[0] + second[0], first[1] + second[1]
        return _get_card(client, batch[0], listed_etags.get(_key(batch[0]), ""))
    check_status(reply, book_url, expected=(200, 207), what="addressbook-multiget REPORT")
    cards: list[Card] = []
    gone: list[str] = []
    texts = _address_data_texts(reply)
    for entry in _entries(reply.tree):
        for sent in entry.hrefs:
            key = _key(_path(reply.url, sent))
            href = wanted.pop(key, None)
            if href is None:
                continue  # not asked for (or listed twice)
            data = entry.props.get(ADDRESS_DATA)
            if entry.status == 404 or (data is None and entry.missing_404):
                gone.append(href)
            elif data is None:
                raise DavError(f"{book_url}: the server sent no address-data for {href}")
            else:
                etag = _etag(entry) or listed_etags.get(key, "")
                cards.append(Card(href=href, etag=etag, text=texts[data]))
    if wanted:
        # RFC 6352 §8.7 gives every href a response (404 when gone); a server that leaves
        # some out has nothing to give for them either.
        log.warning("%s: no multiget answer for %d cards", book_url, len(wanted))
        gone.extend(wanted.values())
    return cards, gone


def _get_card(client: Any, href: str, listed_etag: str) -> tuple[list[Card], list[str]]:
    """One card by GET, its bytes as they are (for a card the server cannot multiget)."""
    url = urljoin(_base(client), href)
    reply = _send(client, url, "GET", b"", {"Accept": "text/vcard"})
    if reply.status == 404:
        return [], [href]
    check_status(reply, url, expected=(200,), what="reading the card")
    if reply.body is None:
        raise DavError(f"{url}: the card's bytes could not be read")
    etag = reply.headers.get("ETag") if reply.headers is not None else None
    text = reply.body.decode("utf-8", "surrogateescape")
    return [Card(href=href, etag=str(etag or listed_etag), text=text)], []


# ---------------------------------------------------------------------------------------------
# Reading multistatus bodies


@dataclass(frozen=True)
class _Entry:
    hrefs: list[str]  # as the server wrote them
    status: int | None  # the response-level status (404 deleted, 507 truncated), if any
    props: dict[str, Any]  # properties from 2xx propstats, by Clark name
    missing_404: bool  # some property came back in a 404 propstat


def _entries(tree: Any) -> list[_Entry]:
    if tree is None:
        return []
    out: list[_Entry] = []
    for response in tree.iter(f"{{{DAV}}}response"):
        hrefs = [
            (el.text or "").strip()
            for el in response.iterfind(f"{{{DAV}}}href")
            if (el.text or "").strip()
        ]
        props: dict[str, Any] = {}
        missing_404 = False
        for propstat in response.iterfind(f"{{{DAV}}}propstat"):
            code = _code(propstat.findtext(f"{{{DAV}}}status"))
            if code == 404:
                missing_404 = True
            if code is not None and not 200 <= code < 300:
                continue
            for prop in propstat.iterfind(f"{{{DAV}}}prop"):
                for child in prop:
                    props[str(child.tag)] = child
        out.append(_Entry(hrefs, _code(response.findtext(f"{{{DAV}}}status")), props, missing_404))
    return out


def _code(status: str | None) -> int | None:
    """200 from "HTTP/1.1 200 OK"; None when there is no status."""
    parts = (status or "").split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None


def _etag(entry: _Entry) -> str:
    el = entry.props.get(f"{{{DAV}}}getetag")
    return (el.text or "").strip() if el is not None else ""


def _first_href(el: Any) -> str | None:
    if el is None:
        return None
    text = el.findtext(f"{{{DAV}}}href")
    return text.strip() if text and text.strip() else None


def _preconditions(tree: Any) -> list[str]:
    """Clark names of the pre/postconditions in a DAV:error body (RFC 4918 §16)."""
    if tree is None or tree.tag != f"{{{DAV}}}error":
        return []
    return [str(child.tag) for child in tree if isinstance(child.tag, str)]


def _detail(body: Any, card_text: str) -> str:
    """The server's reason, short, without any line of the card (NOTE text must not reach logs:
    Xandikos quotes the line it could not parse)."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    text = " ".join(str(body or "").split())
    description = re.search(r"responsedescription[^>]*>([^<]*)<", text)
    if description:
        names = re.findall(r"<(?:[\w.-]+:)?([\w.-]+)\s*/>", text)
        text = " ".join([*names, description.group(1)])
    for line in card_text.splitlines():
        line = " ".join(line.split())
        if len(line) >= 4 and line in text:
            text = text.replace(line, "[card line]")
    return text[:200]


_START_TAG = re.compile(rb"<(?P<prefix>[A-Za-z_][\w.\-]*:)?address-data(?P<attrs>[\s/][^>]*)?>")
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot|apos)|#([0-9]+)|#x([0-9A-Fa-f]+));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_CDATA = re.compile(r"(<!\[CDATA\[.*?\]\]>)", re.S)


def _address_data_texts(reply: _Reply) -> dict[Any, str]:
    """The exact text of every address-data element, keyed by the lxml element."""
    elements = list(reply.tree.iter(ADDRESS_DATA)) if reply.tree is not None else []
    parsed = [el.text or "" for el in elements]
    exact = _exact_texts(reply.body) if reply.body is not None else None
    if (
        exact is None
        or len(exact) != len(parsed)
        or any(_lf(a) != _lf(b) for a, b in zip(exact, parsed, strict=True))
    ):
        if elements:
            log.debug("exact card bytes not recoverable from the XML; assuming CRLF")
        # RFC 6350 §3.2: content lines end in CRLF. Text with a CR (sent as &#13;) is exact.
        exact = [text if "\r" in text else text.replace("\n", "\r\n") for text in parsed]
    return dict(zip(elements, exact, strict=True))


def _exact_texts(body: bytes) -> list[str] | None:
    """address-data contents cut from the raw body, decoded by hand so that literal CRs stay
    (an XML parser must turn them into LF). None when the markup is beyond this small reader."""
    texts: list[str] = []
    pos = 0
    while match := _START_TAG.search(body, pos):
        attrs = match.group("attrs") or b""
        if attrs.rstrip().endswith(b"/"):
            texts.append("")
            pos = match.end()
            continue
        prefix = re.escape(match.group("prefix") or b"")
        end = re.compile(rb"</" + prefix + rb"address-data\s*>").search(body, match.end())
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
# Hrefs and URLs


def _path(request_url: str, href: str) -> str:
    """An href as an absolute path, in the server's own percent-encoding (RFC 4918 allows
    full URLs and relative references)."""
    if href.startswith("/") and not href.startswith("//"):
        return href
    return urlsplit(urljoin(request_url, href)).path


def _key(href: str) -> str:
    """What two spellings of one href have in common (Radicale writes %40, Xandikos @)."""
    return unquote(urlsplit(href).path if "://" in href else href)


def _base(client: Any) -> str:
    return str(client.url)


def _same_origin(a: str, b: str) -> bool:
    first, second = urlsplit(a), urlsplit(b)
    return (first.scheme, first.netloc) == (second.scheme, second.netloc)


def _username(client: Any) -> str:
    return str(getattr(client, "username", "") or "")
