"""Bring the cache of every collection a cycle reads up to date, and say what changed.

One sync-collection REPORT per collection when nothing changed (a no-change cycle costs two
requests, whatever the size of the address book), plus one multiget per batch of changed
objects. The collections: the address books found from the contacts URL, the reminders
calendar (made on first use), the ``[detect] calendars``. Their URLs are looked up once and
cached. Reminders that disappear from the calendar are kept in the state until a cycle has
learnt from them (``State.lost``), since the sync that saw them go drops them from the cache.

A collection without sync-collection (sabre/dav 1.8) is listed by PROPFIND. That it refused the
REPORT is remembered (``State.sync_refused``), so later cycles list it without asking first (one
refused request less per collection and cycle); it is asked again after ``SYNC_RETRY``, and
when discovery runs again, in case the server was upgraded.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from netsync.app import reminders, remote
from netsync.app.remote import Connections
from netsync.app.state import State
from netsync.core import learn

SYNC_RETRY = dt.timedelta(days=1)  # how long a refused sync-collection is not asked for again


@dataclass
class Synced:
    """What the syncs of one cycle brought: the new or changed cards by address book, the
    reminders that disappeared and have not been learnt from (href -> cached data), and
    whether anything else changed (a card deleted, the reminders calendar, a detect
    calendar): then the last plan may not be what the calendar holds."""

    books: list[str] = field(default_factory=list)
    calendar: str | None = None  # None: a dry run on an account without the calendar yet
    cards: dict[str, list[str]] = field(default_factory=dict)
    lost: dict[str, bytes] = field(default_factory=dict)
    others: bool = False


def sync_all(
    conn: Connections,
    state: State,
    *,
    create: bool,
    on_cards: Callable[[list[remote.Fetched]], None] | None = None,
) -> Synced:
    """Sync every collection into the cache; ``on_cards`` sees each downloaded batch of
    cards as it arrives. ``create``: make the reminders calendar if it is not there."""
    out = Synced(books=address_books(conn, state))
    for book in out.books:
        fetch = partial(
            remote.book_changes,
            conn,
            book,
            token=state.token(book),
            known=state.lazy_etags(book),
            on_cards=on_cards,
        )
        listing = _listed(state, book, fetch)
        _store(state, book, listing)
        out.others |= bool(listing.deleted)
        if listing.changed:
            out.cards[book] = [obj.href for obj in listing.changed]
    out.calendar = calendar_url(conn, state, create=create)
    if out.calendar is not None:
        changed, lost = sync_calendar(conn, state, out.calendar)
        out.lost = state.lost(out.calendar) | lost
        state.keep_lost(out.calendar, out.lost)
        out.others |= changed or bool(out.lost)
    for name in conn.detect_calendars:
        url = detect_calendar_url(conn, state, name)
        listing = _calendar_changes(conn, state, url)
        _store(state, url, listing, keep=_seen_events)
        out.others |= bool(listing.changed or listing.deleted)
    return out


def sync_calendar(conn: Connections, state: State, url: str) -> tuple[bool, dict[str, bytes]]:
    """Bring the cached reminders calendar up to date: whether anything in it changed or
    went, and what it lost since the last look (href -> cached data). Our own writes since
    the cached token are checked for (see remote.calendar_changes): a follow-up we created
    and the phone then deleted is seen as deleted, whatever the server leaves out of its
    report."""
    listing = _calendar_changes(conn, state, url, written=state.written(url))
    lost = _store(state, url, listing, keep=reminders.to_cache)
    return bool(listing.changed or listing.deleted), lost


def catch_up(conn: Connections, state: State, url: str) -> None:
    """Move the calendar's sync token past our own writes. Anything the phone deleted in the
    meantime is kept for the next cycle to learn from."""
    _, lost = sync_calendar(conn, state, url)
    if lost:
        state.keep_lost(url, state.lost(url) | lost)


def _calendar_changes(
    conn: Connections, state: State, url: str, *, written: set[str] | None = None
) -> remote.Listing:
    fetch = partial(
        remote.calendar_changes,
        conn,
        url,
        token=state.token(url),
        known=state.lazy_etags(url),
        written=written or (),
    )
    return _listed(state, url, fetch)


def _listed(state: State, url: str, fetch: Callable[..., remote.Listing]) -> remote.Listing:
    """``fetch(try_sync=...)``: without a sync-collection REPORT when the collection refused one
    less than ``SYNC_RETRY`` ago; a refusal (with no sync-token in the listing) is remembered,
    a sync that works forgets it."""
    now = _now()
    refused = state.sync_refused(url)
    recent = refused is not None and dt.timedelta(0) <= now - refused < SYNC_RETRY
    listing = fetch(try_sync=not recent)
    if listing.refused and listing.token is None:
        state.keep_sync_refused(url, now)
    elif refused is not None and listing.token is not None:
        state.keep_sync_refused(url, None)
    return listing


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _store(
    state: State,
    url: str,
    listing: remote.Listing,
    *,
    keep: Callable[[bytes], bytes] = lambda data: data,
) -> dict[str, bytes]:
    """Store a sync's result in the cache; ``keep`` picks what of each changed object the
    cache holds. Returns what it held of the objects that went (href -> data)."""
    before = state.items(url) if listing.deleted else {}
    state.apply(
        url,
        token=listing.token,
        changed=[(obj.href, obj.etag, keep(obj.data)) for obj in listing.changed],
        deleted=listing.deleted,
        complete=listing.complete,
        keep=listing.unchanged,
    )
    return {href: before[href][1] for href in listing.deleted if href in before}


# -- the collections' URLs, looked up once ---------------------------------------------------


def address_books(conn: Connections, state: State) -> list[str]:
    account = conn.contacts.url
    books = state.address_books(account)
    if books is None:
        books = remote.address_books(conn)
        state.keep_address_books(account, books)
        for book in books:
            state.keep_sync_refused(book, None)  # found anew: ask for sync-collection again
    return books


def calendar_url(conn: Connections, state: State, *, create: bool) -> str | None:
    """The reminders calendar's URL; None on a dry run against an account without it."""
    account, name = conn.reminders.url, conn.calendar_name
    found = state.calendar(account, name)
    if found:
        return found
    try:
        found = remote.find_calendar(conn, name, create=create)
    except remote.DavError:
        if create:
            raise
        return None  # a dry run against an account without the calendar yet
    state.keep_calendar(account, name, found)
    state.keep_sync_refused(found, None)
    return found


def detect_calendar_url(conn: Connections, state: State, name: str) -> str:
    """A ``[detect] calendars`` entry is a URL, or a display name on the reminders account."""
    if "/" in name:
        return name
    found = state.calendar(conn.reminders.url, name)
    if not found:
        found = remote.find_calendar(conn, name, create=False)
        state.keep_calendar(conn.reminders.url, name, found)
        state.keep_sync_refused(found, None)
    return found


# -- what the detect calendars hold ------------------------------------------------------------


def _seen_events(data: bytes) -> bytes:
    """The cache keeps of a detect calendar's object only what the detector needs."""
    return json.dumps(
        [
            {"day": e.day.isoformat(), "attendees": e.attendees, "summary": e.summary}
            for e in learn.seen_events(data)
        ]
    ).encode()


def detect_events(conn: Connections, state: State) -> list[tuple[str, learn.SeenEvent]]:
    """The events of the ``[detect] calendars``, from the cache."""
    events: list[tuple[str, learn.SeenEvent]] = []
    for name in conn.detect_calendars:
        url = detect_calendar_url(conn, state, name)
        for _, (_, data) in state.items(url).items():
            events.extend(
                (
                    name,
                    learn.SeenEvent(
                        dt.date.fromisoformat(e["day"]), tuple(e["attendees"]), e["summary"]
                    ),
                )
                for e in json.loads(data)
            )
    return events
