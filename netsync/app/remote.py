"""Everything a cycle asks of the servers: the one module of the cycle that calls netsync.dav.

The two accounts and their clients (Connections), finding the collections, syncing one, and
the conditional writes, each as one function over plain values (``Fetched``, ``Listing``), so
the rest of the cycle does not depend on how netsync.dav spells them. Errors are netsync.dav's
(re-exported here); a 412 on a card is ``Conflict``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from netsync import dav
from netsync.core.model import Reminder
from netsync.dav import addressbook, calendar

log = logging.getLogger(__name__)

T = TypeVar("T")

DavError = dav.DavError
Unreachable = dav.Unreachable
AuthFailed = dav.AuthFailed

ENCODING = ("utf-8", "surrogateescape")  # card bytes survive the cache whatever they hold


class Conflict(dav.DavError):
    """A conditional write met 412: the object changed on the server since it was read."""

    status = 412


@dataclass
class Connections:
    """The two accounts and their clients, made once and reused across cycles."""

    contacts: dav.Account
    reminders: dav.Account
    calendar_name: str
    detect_calendars: tuple[str, ...] = ()
    _clients: dict[tuple[str, int], Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, which: str) -> Any:
        """One client (one keep-alive connection) per account and thread: the write pool's
        threads each get their own, since an HTTP session is not shared across threads."""
        key = (which, threading.get_ident())
        with self._lock:
            if key not in self._clients:
                account = self.contacts if which == "contacts" else self.reminders
                self._clients[key] = dav.connect(account)
            return self._clients[key]

    def call(self, which: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(client, *args, **kwargs)`` on the contacts or reminders client, with errors
        translated to dav.Unreachable / dav.AuthFailed."""
        account = self.contacts if which == "contacts" else self.reminders
        client = self.client(which)
        return dav.call(account.url, account.username, lambda: fn(client, *args, **kwargs))

    def close(self) -> None:
        for client in self._clients.values():
            try:
                client.close()
            except Exception:  # closing a dead connection must not hide the real error
                log.debug("closing client failed", exc_info=True)
        self._clients.clear()


@dataclass(frozen=True)
class Fetched:
    """One object as the server holds it: a card (its text as UTF-8, surrogateescape) or a
    calendar object."""

    href: str
    etag: str
    data: bytes


@dataclass(frozen=True)
class Listing:
    """What a sync of one collection found since the cached token: objects new or changed
    (with their data), hrefs gone, the next token, whether it listed the whole collection
    (then every known href not in ``changed`` or ``unchanged`` is gone), and the hrefs
    listed with the ETag the cache has (not downloaded)."""

    changed: list[Fetched]
    deleted: list[str]
    token: str | None
    complete: bool
    unchanged: list[str]


# -- finding the collections ----------------------------------------------------------------


def address_books(conn: Connections) -> list[str]:
    """The address books reachable from the contacts URL."""
    url = conn.contacts.url
    return conn.call("contacts", addressbook.find_address_books, url)


def find_calendar(conn: Connections, name: str, *, create: bool) -> str:
    """The URL of the calendar called ``name`` on the reminders account; made when absent
    and ``create``, else DavError."""
    url = conn.reminders.url
    return conn.call("reminders", calendar.find_calendar, url, name, create=create)


# -- reading --------------------------------------------------------------------------------


def book_changes(
    conn: Connections,
    book: str,
    *,
    token: str | None,
    known: Mapping[str, str],
    on_cards: Callable[[list[Fetched]], None] | None = None,
) -> Listing:
    """What changed in an address book since ``token``; ``known``: href -> cached ETag (not
    downloaded again). ``on_cards`` sees each downloaded batch as it arrives."""

    def batch(cards: list[addressbook.Card]) -> None:
        assert on_cards is not None
        on_cards([_card(card) for card in cards])

    found = conn.call(
        "contacts",
        addressbook.fetch_changes,
        book,
        token=token,
        known=known,
        on_cards=batch if on_cards is not None else None,
    )
    changed = [_card(card) for card in found.changed]
    return Listing(changed, list(found.deleted), found.token, found.complete, found.unchanged)


def calendar_changes(
    conn: Connections,
    url: str,
    *,
    token: str | None,
    known: Mapping[str, str],
    written: Collection[str] = (),
) -> Listing:
    """What changed in a calendar since ``token``; ``written``: our own writes since then,
    each checked for whatever the server's report leaves out (calendar.fetch_reminders)."""
    found = conn.call(
        "reminders", calendar.fetch_reminders, url, token=token, known=known, written=written
    )
    changed = [Fetched(obj.href, obj.etag, bytes(obj.data)) for obj in found.changed]
    return Listing(changed, list(found.deleted), found.token, found.complete, found.unchanged)


def get_card(conn: Connections, book: str, href: str) -> Fetched | None:
    """The card at ``href`` as the server holds it now; None when it is gone."""
    found = conn.call("contacts", addressbook.get_cards, book, [href])
    return _card(found[0]) if found else None


def _card(card: addressbook.Card) -> Fetched:
    return Fetched(card.href, card.etag, card.text.encode(*ENCODING))


# -- writing --------------------------------------------------------------------------------


def put_card(conn: Connections, href: str, text: str, *, etag: str) -> str | None:
    """Write a card over the version with ``etag`` (If-Match); its new ETag, or None when
    the server sent none. Conflict when it changed since."""
    try:
        return conn.call("contacts", addressbook.put_card, href, text, etag=etag)
    except addressbook.Conflict as err:
        raise Conflict(str(err)) from None


def create_reminder(
    conn: Connections, url: str, reminder: Reminder, *, stamp: dt.datetime
) -> tuple[str, str | None]:
    """A new reminder in the calendar at ``url`` (If-None-Match); its href and ETag."""
    return conn.call("reminders", calendar.create, url, reminder, stamp=stamp)


def update_reminder(
    conn: Connections, href: str, reminder: Reminder, *, etag: str, stamp: dt.datetime
) -> str | None:
    """The reminder written over its object if that still has ``etag``; the new ETag."""
    return conn.call("reminders", calendar.update, href, reminder, etag=etag, stamp=stamp)


def delete_reminder(conn: Connections, href: str, *, etag: str) -> None:
    """The object at ``href`` deleted if it still has ``etag``."""
    conn.call("reminders", calendar.delete, href, etag=etag)
