"""Everything a cycle asks of the servers: the one module of the cycle that calls netsync.dav.

The two accounts and their clients, and the mailbox when ``[mail]`` is set (Connections);
finding the collections, syncing one, and the conditional writes, each as one function over
plain values (``Fetched``, ``Listing``), so the rest of the cycle meets netsync.dav's API here
only. Errors are netsync.dav's (re-exported here); a write that meets 412 is ``Conflict``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from netsync import dav
from netsync.app import imap
from netsync.core import ics
from netsync.core.model import Reminder
from netsync.dav import addressbook, calendar, collection

log = logging.getLogger(__name__)

T = TypeVar("T")

DavError = dav.DavError
Unreachable = dav.Unreachable
AuthFailed = dav.AuthFailed
Conflict = collection.Conflict  # a conditional write met 412: changed since it was read

ENCODING = ("utf-8", "surrogateescape")  # card bytes survive the cache whatever they hold


@dataclass
class Connections:
    """The two accounts and their clients, made once and reused across cycles."""

    contacts: dav.Account
    reminders: dav.Account
    calendar_name: str
    detect_calendars: tuple[str, ...] = ()
    mail: imap.Mailbox | None = None  # [mail]: kept open across the daemon's cycles
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
        if self.mail is not None:
            self.mail.close()
        for client in self._clients.values():
            try:
                client.close()
            except Exception:  # closing a dead connection must not hide the real error
                log.debug("closing client failed", exc_info=True)
        self._clients.clear()


# One object as the server holds it (href, etag, data: its bytes exactly as sent): a card, or
# a calendar object.
Fetched = collection.Item
# What a sync of one collection found since the cached token: objects new or changed (with
# their bytes), hrefs gone, the next token, whether it listed the whole collection (then every
# known href not in ``changed`` or ``unchanged`` is gone), and the hrefs listed with the ETag
# the cache has (not downloaded).
Listing = collection.Changes


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
    try_sync: bool = True,
) -> Listing:
    """What changed in an address book since ``token``; ``known``: href -> cached ETag (not
    downloaded again). ``on_cards`` sees each downloaded batch as it arrives. ``try_sync``:
    False to list by PROPFIND without a sync-collection the server refused lately."""
    return conn.call(
        "contacts",
        addressbook.fetch_changes,
        book,
        token=token,
        known=known,
        on_cards=on_cards,
        try_sync=try_sync,
    )


def calendar_changes(
    conn: Connections,
    url: str,
    *,
    token: str | None,
    known: Mapping[str, str],
    written: Collection[str] = (),
    try_sync: bool = True,
) -> Listing:
    """What changed in a calendar since ``token``; ``written``: our own writes since then,
    each checked for whatever the server's report leaves out (calendar.fetch_reminders)."""
    return conn.call(
        "reminders",
        calendar.fetch_reminders,
        url,
        token=token,
        known=known,
        written=written,
        try_sync=try_sync,
    )


def get_card(conn: Connections, book: str, href: str) -> Fetched | None:
    """The card at ``href`` as the server holds it now; None when it is gone."""
    found = conn.call("contacts", addressbook.get_cards, book, [href])
    return found[0] if found else None


# -- writing --------------------------------------------------------------------------------


def put_card(conn: Connections, href: str, text: str, *, etag: str) -> str | None:
    """Write a card over the version with ``etag`` (If-Match); its new ETag, or None when
    the server sent none. Conflict when it changed since."""
    return conn.call("contacts", addressbook.put_card, href, text, etag=etag)


def create_reminder(
    conn: Connections, url: str, reminder: Reminder, *, stamp: dt.datetime
) -> tuple[str, str | None]:
    """A new reminder in the calendar at ``url`` (If-None-Match); its href and ETag. It is
    rendered here, in the write pool's thread, while the other writes wait on the server."""
    data = ics.render(reminder, stamp=stamp)
    return conn.call("reminders", calendar.create, url, reminder.uid, data)


def update_reminder(
    conn: Connections, href: str, reminder: Reminder, *, etag: str, stamp: dt.datetime
) -> str | None:
    """The reminder written over its object if that still has ``etag``; the new ETag."""
    data = ics.render(reminder, stamp=stamp)
    return conn.call("reminders", calendar.update, href, reminder.uid, data, etag=etag)


def delete_reminder(conn: Connections, href: str, *, etag: str) -> None:
    """The object at ``href`` deleted if it still has ``etag``."""
    conn.call("reminders", calendar.delete, href, etag=etag)
