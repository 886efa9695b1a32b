"""One DAV collection, an address book or a calendar: what changed in it, its objects' bytes,
and conditional writes. The two protocols differ only in the names of things (``Flavour``).

- What changed: RFC 6578 sync-collection (Depth 0, sync-level 1, never DAV:limit), followed
  over truncated pages; a token the server no longer takes turns into a full sync; a server
  without sync-collection gets vdirsyncer's PROPFIND Depth 1 getetag listing, diffed against
  the ETags the caller holds (``Changes.refused`` says so, and a caller that remembers it can
  go straight to the listing next time: ``try_sync=False``). Only objects new or changed are
  downloaded.
- The objects: addressbook-multiget / calendar-multiget in batches (Xandikos' shared
  MultiGetReporter is the model: one report, two data properties), the bytes as they came off
  the wire (wire.py).
- Writes: PUT with If-Match (or If-None-Match: * for a new object) and DELETE with If-Match;
  a precondition that fails is ``Conflict``, content the server will not store ``Rejected``.

Each server quirk is written down next to the request it concerns.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Collection as Hrefs
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from netsync.dav import client as http
from netsync.dav import wire
from netsync.dav.client import DavError, check_status
from netsync.dav.wire import CALDAV, CARDDAV, DAV

log = logging.getLogger(__name__)

# hrefs per multiget. vdirsyncer sends all at once; bound it. Radicale 3.9 spends about 45 ms
# on every REPORT over a 10,000-card book besides the cards themselves: 4,000 cards took 2.7 s
# in batches of 100 and 1.3 s in batches of 500 (no gain beyond).
MULTIGET_BATCH = 500
MAX_SYNC_PAGES = 100  # truncated sync-collection replies followed before listing instead

# A sync-collection REPORT answered with one of these is not a sync: the token is refused
# (Xandikos 412 and Radicale 403, both with DAV:valid-sync-token) or the server has no
# sync-collection (400, 405, 501...). The caller then syncs from scratch, or lists.
_NO_SYNC = (400, 403, 404, 405, 409, 412, 415, 422, 501, 507)

_SYNC = (
    '<d:sync-collection xmlns:d="DAV:"><d:sync-token>{token}</d:sync-token>'
    "<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"
)
_LIST_ETAGS = (
    '<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:getetag/><d:sync-token/></d:prop>'
    "</d:propfind>"
)
_MULTIGET = (
    '<c:{report} xmlns:d="DAV:" xmlns:c="{namespace}">'
    "<d:prop><d:getetag/><c:{data}/></d:prop>{hrefs}</c:{report}>"
)


@dataclass(frozen=True)
class Flavour:
    """What CardDAV (RFC 6352) and CalDAV (RFC 4791) call the same things."""

    noun: str  # "address book", as said to the user
    namespace: str
    kind: str  # the resourcetype of such a collection
    other: str  # the resourcetype of the other kind (a calendar given as address book)
    home_set: str  # the principal's property naming where the collections live
    service: str  # RFC 6764: /.well-known/SERVICE, _SERVICEs._tcp
    report: str  # the multiget REPORT
    data: str  # the property holding an object's bytes
    media_type: str
    # RFC 6352 §8.7 says Depth: 0 for addressbook-multiget (its examples, and erratum 4610,
    # say 1; servers ignore it); RFC 4791 §7.9 says calendar-multiget ignores Depth: send none.
    multiget_depth: str | None
    paths: bool  # keep hrefs on the account's origin as paths (the contacts cache's form)

    @property
    def article(self) -> str:
        return f"an {self.noun}" if self.noun[0] in "aeiou" else f"a {self.noun}"


ADDRESS_BOOK = Flavour(
    noun="address book",
    namespace=CARDDAV,
    kind=f"{{{CARDDAV}}}addressbook",
    other=f"{{{CALDAV}}}calendar",
    home_set=f"{{{CARDDAV}}}addressbook-home-set",
    service="carddav",
    report="addressbook-multiget",
    data="address-data",
    media_type="text/vcard",
    multiget_depth="0",
    paths=True,
)
CALENDAR = Flavour(
    noun="calendar",
    namespace=CALDAV,
    kind=f"{{{CALDAV}}}calendar",
    other=f"{{{CARDDAV}}}addressbook",
    home_set=f"{{{CALDAV}}}calendar-home-set",
    service="caldav",
    report="calendar-multiget",
    data="calendar-data",
    media_type="text/calendar",
    multiget_depth=None,
    paths=False,
)


@dataclass(frozen=True)
class Item:
    """One object as the server holds it: a card or a calendar object, anyone's."""

    href: str  # as the server wrote it: a path on the account's origin (cards), else a URL
    etag: str  # as the server sent it, quotes included ("" if it sent none)
    data: bytes  # exactly as sent

    @property
    def text(self) -> str:
        """The bytes as text; bytes that are not UTF-8 survive (surrogateescape)."""
        return self.data.decode("utf-8", "surrogateescape")


@dataclass(frozen=True)
class Changes:
    """What changed since a token. ``changed``: objects new or modified (with their bytes);
    ``deleted``: hrefs gone; ``unchanged``: listed with the ETag the caller holds (not
    downloaded); ``token``: for next time (None: the server cannot sync); ``complete``: a full
    listing, so every known href not in changed or unchanged is in deleted; ``refused``: the
    server refused a sync-collection from scratch, so this is a PROPFIND listing."""

    changed: list[Item] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    token: str | None = None
    complete: bool = False
    unchanged: list[str] = field(default_factory=list)
    refused: bool = False


class Conflict(DavError):
    """A precondition failed (412, or 404 for If-Match): the object changed, appeared or
    went since it was read."""

    def __init__(
        self, href: str, what: str = "changed on the server since it was read (412)"
    ) -> None:
        super().__init__(f"{href} {what}")
        self.href = href
        self.status = 412


class Rejected(DavError):
    """The server refused the content (400, 403, 415, Xandikos 412 valid-address-data)."""

    def __init__(self, href: str, status: int, detail: str) -> None:
        super().__init__(f"the server refused {href} ({status}): {detail or 'no reason given'}")
        self.href = href
        self.status = status
        self.detail = detail


OnItems = Callable[[list[Item]], None]  # handed each downloaded batch as it arrives


@dataclass
class _Listing:
    entries: dict[str, tuple[str, str | None]]  # key -> (href as sent, etag; None = deleted)
    token: str | None
    complete: bool


class Collection:
    """One address book or calendar at ``url``, over the account's client."""

    def __init__(self, client: Any, url: str, flavour: Flavour) -> None:
        self.client = client
        self.url = wire.collection_url(url)
        self.flavour = flavour
        self._key = wire.key(self.url)

    # -- reading ------------------------------------------------------------------------------

    def changes(
        self,
        *,
        token: str | None,
        known: Mapping[str, str],
        written: Hrefs[str] = (),
        on_items: OnItems | None = None,
        try_sync: bool = True,
    ) -> Changes:
        """What changed since ``token`` ("" or None: everything). ``known`` maps the hrefs the
        caller holds to their ETags: objects listed with that ETag are not downloaded again.
        ``try_sync=False``: the server refused a sync-collection from scratch lately, so
        without a token the collection is listed by PROPFIND without asking again.

        ``written``: objects the caller wrote since ``token``. Each was changed since the
        token, so a sync must list it, unless it has gone since: RFC 6578 §3.5 lets a server
        leave out an object both created and deleted since the token (Xandikos does). One the
        report leaves out is asked for by multiget, and reported deleted only when the server
        says it is not there, so a phone deleting an object the caller had just made is seen.
        """
        listing = self._sync(token) if token else None
        if token and listing is None:
            log.info("sync token for %s is no longer valid; syncing from scratch", self.url)
        refused = False
        if listing is None and (try_sync or token):
            listing = self._sync("")
            refused = listing is None
        if listing is None:
            log.log(
                logging.INFO if refused else logging.DEBUG,
                "%s: no usable sync-collection; listing by PROPFIND",
                self.url,
            )
            listing = self._propfind_listing()
        changes = self._diff(listing, known, written, on_items)
        return dataclasses.replace(changes, refused=True) if refused else changes

    def listing(self, *, known: Mapping[str, str], on_items: OnItems | None = None) -> Changes:
        """A full listing by PROPFIND Depth 1 getetag, diffed against ``known`` (vdirsyncer's
        way, for servers without RFC 6578). Only new or changed objects are downloaded."""
        return self._diff(self._propfind_listing(), known, (), on_items)

    def get(self, hrefs: Sequence[str]) -> list[Item]:
        """These objects (multiget); those that are gone are left out."""
        items, _gone = self._multiget(list(hrefs), {})
        return items

    def _sync(self, token: str) -> _Listing | None:
        """Follow sync-collection pages (RFC 6578 §3.6) until the reply is not truncated;
        None when the server will not sync from this token, or cannot sync at all."""
        from caldav.lib.error import AuthorizationError

        listing = _Listing({}, None, complete=token == "")
        current = token
        for _page in range(MAX_SYNC_PAGES):
            body = _SYNC.format(token=escape(current))
            try:
                reply = wire.send(self.client, self.url, "REPORT", body, {"Depth": "0"})
            except AuthorizationError as err:
                if getattr(err, "status", None) != 403:
                    raise
                # Radicale: 403 with DAV:valid-sync-token after max_sync_token_age (30 days);
                # a 403 without it may be a server that refuses the report: the retry from
                # scratch, then the PROPFIND, tell which.
                log.debug("sync-collection refused (403) at %s", self.url)
                return None
            if reply.status not in (200, 207):
                if reply.status in _NO_SYNC:
                    log.debug("sync-collection answered %s at %s", reply.status, self.url)
                    return None
                check_status(reply, self.url, expected=(207,), what="sync-collection REPORT")
            truncated = False
            for entry in wire.entries(reply.tree):
                for sent in entry.hrefs:
                    href = self._member(reply.url, sent)
                    key = wire.key(href)
                    if key == self._key or (entry.status == 507 and not entry.props):
                        # RFC 6578 §3.6: the collection itself, with 507, marks a truncation
                        truncated = truncated or entry.status == 507
                    elif entry.status == 404 and listing.complete:
                        # Radicale lists deleted objects (404) in an initial sync: nothing to
                        # report; on a later page of a full sync, the object is just not there.
                        listing.entries.pop(key, None)
                    elif entry.status == 404:
                        listing.entries[key] = (href, None)
                    elif entry.status in (None, 200):
                        listing.entries[key] = (href, entry.etag)
            tree = reply.tree
            new_token = (
                (tree.findtext(f"{{{DAV}}}sync-token") or "").strip() if tree is not None else ""
            )
            if not new_token:
                # Radicale answers a REPORT it does not know with an empty 207: no token, no
                # sync (taken as a listing, it would say every object was deleted).
                log.debug("sync-collection at %s gave no sync-token", self.url)
                return None
            listing.token = new_token
            if not truncated:
                return listing
            if new_token == current:
                return None  # truncated, and no way on
            current = new_token  # the rest comes as changes since the page's token
        log.info("%s: sync still truncated after %d pages", self.url, MAX_SYNC_PAGES)
        return None

    def _propfind_listing(self) -> _Listing:
        """Every member and its ETag, and the collection's own DAV:sync-token (RFC 6578 §4)
        when it has one: Google refuses a sync-collection report with an empty token (400;
        carddavclient's BUG_REJ_EMPTY_SYNCTOKEN, issuetracker.google.com/issues/160190530)
        yet wants clients on sync-collection after the first sync, which this token allows."""
        reply = wire.send(self.client, self.url, "PROPFIND", _LIST_ETAGS, {"Depth": "1"})
        check_status(reply, self.url, expected=(207,), what=f"listing the {self.flavour.noun}")
        entries: dict[str, tuple[str, str | None]] = {}
        token: str | None = None
        for entry in wire.entries(reply.tree):
            if entry.status not in (None, 200):
                continue
            for sent in entry.hrefs:
                href = self._member(reply.url, sent)
                if wire.key(href) == self._key:
                    found = entry.props.get(f"{{{DAV}}}sync-token")
                    token = ((found.text or "").strip() or None) if found is not None else None
                elif f"{{{DAV}}}collection" not in entry.types():  # not a sub-collection
                    entries[wire.key(href)] = (href, entry.etag)
        return _Listing(entries, token, complete=True)

    def _diff(
        self,
        listing: _Listing,
        known: Mapping[str, str],
        written: Hrefs[str],
        on_items: OnItems | None,
    ) -> Changes:
        # An empty report of a sync (a cycle in which nothing changed) looks nothing up.
        needed = bool(listing.entries) or listing.complete or bool(written)
        known_by_key = {wire.key(h): (h, etag) for h, etag in known.items()} if needed else {}
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
        if not listing.complete:
            to_fetch += sorted(h for h in written if wire.key(h) not in listing.entries)
        items, gone = self._multiget(to_fetch, listed_etags, on_items)
        deleted += [h for h in gone if h not in deleted]  # gone between listing and multiget
        if listing.complete:
            deleted += [h for key, (h, _) in known_by_key.items() if key not in listing.entries]
        return Changes(items, deleted, listing.token, listing.complete, unchanged)

    def _multiget(
        self, hrefs: list[str], listed_etags: Mapping[str, str], on_items: OnItems | None = None
    ) -> tuple[list[Item], list[str]]:
        """Download in batches; returns (items, hrefs the server says are gone)."""
        items: list[Item] = []
        gone: list[str] = []
        for start in range(0, len(hrefs), MULTIGET_BATCH):
            found, missing = self._multiget_batch(
                hrefs[start : start + MULTIGET_BATCH], listed_etags
            )
            if on_items is not None and found:
                on_items(found)
            items += found
            gone += missing
        return items, gone

    def _multiget_batch(
        self, batch: list[str], listed_etags: Mapping[str, str]
    ) -> tuple[list[Item], list[str]]:
        flavour = self.flavour
        wanted = {wire.key(href): href for href in batch}
        query = _MULTIGET.format(
            report=flavour.report,
            namespace=flavour.namespace,
            data=flavour.data,
            hrefs="".join(f"<d:href>{escape(self._sent_href(h))}</d:href>" for h in batch),
        )
        depth = {"Depth": flavour.multiget_depth} if flavour.multiget_depth else {}
        reply = wire.send(self.client, self.url, "REPORT", query, depth)
        if reply.status >= 500 or reply.status == 404:
            # Xandikos 0.4 stores a card that is not UTF-8 but answers 500 to every multiget
            # that names it, which would stop every sync for good; sabre/dav 1.8 answers 404 to
            # the whole multiget when one href is gone (deleted since the listing). Halve the
            # batch to find it, and read that one object with a plain GET (404: gone). A server
            # that is really failing fails the first half too, down to one GET, which then
            # ends the cycle (Unreachable).
            if len(batch) > 1:
                log.info(
                    "%s: multiget of %d answered %s; halving", self.url, len(batch), reply.status
                )
                half = len(batch) // 2
                first = self._multiget_batch(batch[:half], listed_etags)
                second = self._multiget_batch(batch[half:], listed_etags)
                return first[0] + second[0], first[1] + second[1]
            return self._get_one(batch[0], listed_etags.get(wire.key(batch[0]), ""))
        check_status(reply, self.url, expected=(200, 207), what=f"{flavour.report} REPORT")
        items: list[Item] = []
        gone: list[str] = []
        texts = wire.data_texts(reply, f"{{{flavour.namespace}}}{flavour.data}")
        for entry in wire.entries(reply.tree):
            for sent in entry.hrefs:
                key = wire.key(self._member(reply.url, sent))
                href = wanted.pop(key, None)
                if href is None:
                    continue  # not asked for (or listed twice)
                data = entry.props.get(f"{{{flavour.namespace}}}{flavour.data}")
                if entry.status == 404 or (data is None and entry.missing_404):
                    gone.append(href)
                elif data is None:
                    raise DavError(f"{self.url}: the server sent no {flavour.data} for {href}")
                else:
                    etag = entry.etag or listed_etags.get(key, "")
                    items.append(Item(href, etag, texts[data].encode("utf-8", "surrogateescape")))
        if wanted:
            # RFC 6352 §8.7 and RFC 4791 §7.9 give every href a response (404 when gone); a
            # server that leaves some out has nothing to give for them either.
            log.warning("%s: no multiget answer for %d objects", self.url, len(wanted))
            gone.extend(wanted.values())
        return items, gone

    def _get_one(self, href: str, listed_etag: str) -> tuple[list[Item], list[str]]:
        """One object by GET, its bytes as they are (for one the server cannot multiget).
        Xandikos answers 406 to a GET with caldav's default Accept: ask for the media type."""
        url = wire.absolute(self.client, href)
        reply = wire.send(self.client, url, "GET", b"", {"Accept": self.flavour.media_type})
        if reply.status == 404:
            return [], [href]
        check_status(reply, url, expected=(200,), what=f"reading {href}")
        if reply.body is None:
            raise DavError(f"{url}: the bytes could not be read")
        return [Item(href, reply.header("ETag") or listed_etag, reply.body)], []

    # -- writing ------------------------------------------------------------------------------

    def put(self, href: str, data: bytes, *, etag: str | None) -> str | None:
        """Write ``data`` at ``href`` byte for byte: over the version with ``etag``
        (If-Match), or as a new object when ``etag`` is None (If-None-Match: *). Returns the
        new ETag, or None if the server sent none (RFC 7231 §4.3.4: it changed the body).
        Conflict when the precondition fails; Rejected when the server refuses the content."""
        from caldav.lib.error import AuthorizationError
        from caldav.lib.python_utilities import WireBytes

        url = wire.absolute(self.client, href)
        headers = {"Content-Type": f"{self.flavour.media_type}; charset=utf-8"}
        headers["If-Match" if etag is not None else "If-None-Match"] = etag or "*"
        secret = data.decode("utf-8", "replace")
        try:
            # WireBytes: caldav would turn every LF of a str body into CRLF.
            reply = wire.send(self.client, url, "PUT", WireBytes(data), headers)
        except AuthorizationError as err:
            if getattr(err, "status", None) != 403:
                raise
            # caldav raises for every 403; for a PUT it means "not this content, not here".
            raise Rejected(href, 403, wire.detail(err.body, secret)) from err
        if reply.status == 412:
            # Xandikos answers 412 both for a stale ETag and for data it will not store
            # (CARDDAV:valid-address-data, CALDAV:valid-calendar-data): only a precondition
            # of the protocol's own namespace in the body tells them apart.
            ours = f"{{{self.flavour.namespace}}}"
            if any(tag.startswith(ours) for tag in wire.preconditions(reply.tree)):
                raise Rejected(href, 412, wire.detail(reply.body, secret))
            raise Conflict(href, "already exists (412)" if etag is None else _CHANGED)
        if reply.status == 404 and etag is not None:
            raise Conflict(href, "is gone from the server since it was read (404)")
        if reply.status in (400, 409, 413, 415, 422):
            raise Rejected(href, reply.status, wire.detail(reply.body, secret))
        check_status(reply, url, expected=(200, 201, 204), what=f"writing {href}")
        # Radicale sends an ETag although it rewrote the object; RFC 7231 §4.3.4 says it should
        # not. The caller decides whether to trust it.
        return reply.header("ETag")

    def delete(self, href: str, *, etag: str) -> None:
        """DELETE the object if it still has ``etag`` (If-Match). Gone already (404) is fine;
        Conflict when it changed."""
        url = wire.absolute(self.client, href)
        reply = wire.send(self.client, url, "DELETE", b"", {"If-Match": etag})
        if reply.status == 404:
            log.debug("%s was already gone", href)
            return
        if reply.status == 412:
            raise Conflict(href)
        check_status(reply, url, expected=(200, 204), what=f"deleting {href}")

    # -- hrefs --------------------------------------------------------------------------------

    def _member(self, response_url: str, href: str) -> str:
        paths_on = str(self.client.url) if self.flavour.paths else None
        return wire.member(response_url, href, paths_on=paths_on)

    def _sent_href(self, href: str) -> str:
        """An href as a multiget names it: the path, on the collection's own origin."""
        if "://" in href and wire.same_origin(href, self.url):
            from urllib.parse import urlsplit

            return urlsplit(href).path
        return href


_CHANGED = "changed on the server since it was read (412)"


def translated(client: Any, url: str) -> Any:
    """The account's errors translated (client.py) around a call on ``url``."""
    return http.translated_errors(url, str(getattr(client, "username", "") or ""))
