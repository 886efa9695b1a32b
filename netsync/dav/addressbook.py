"""CardDAV: the address books of an account, what changed in one, and writing a card back.

The protocol is collection.py's (``ADDRESS_BOOK`` flavour) and discovery.py's; this module
adds what is particular to cards: a card is text (``Card.text``, UTF-8 with surrogateescape,
line endings kept), and one holding bytes that are not UTF-8 is never sent. What to do with a
card is the engine's business.

Hrefs of cards on the account's own origin are absolute paths exactly as the server wrote
them (``/alice/contacts/p%201%40x.vcf``), the form the state has always cached; a card on
another origin (a principal on another host) has its whole URL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from netsync.dav import discovery, wire
from netsync.dav.client import DavError
from netsync.dav.collection import (
    ADDRESS_BOOK,
    MULTIGET_BATCH,
    Changes,
    Collection,
    Conflict,
    Item,
    Rejected,
    translated,
)

__all__ = [
    "MULTIGET_BATCH",
    "Card",
    "CardChanges",
    "Conflict",
    "Rejected",
    "fetch_by_propfind",
    "fetch_changes",
    "find_address_books",
    "get_cards",
    "put_card",
]

Card = Item
CardChanges = Changes
OnCards = Callable[[list[Card]], None]  # handed each batch of cards as it arrives
_exact_texts = wire.exact_texts


def find_address_books(client: Any, url: str) -> list[str]:
    """The address-book URLs reachable from ``url``: a server root, a principal or a book."""
    with translated(client, url):
        return [book for book, _name in discovery.find(client, url, ADDRESS_BOOK).collections]


def fetch_changes(
    client: Any,
    book_url: str,
    *,
    token: str | None,
    known: Mapping[str, str],
    on_cards: OnCards | None = None,
    try_sync: bool = True,
) -> CardChanges:
    """What changed in the address book since ``token`` (Collection.changes); ``on_cards``
    sees each downloaded batch as it arrives (the caller may parse it while the next
    downloads)."""
    with translated(client, book_url):
        book = Collection(client, book_url, ADDRESS_BOOK)
        return book.changes(token=token, known=known, on_items=on_cards, try_sync=try_sync)


def fetch_by_propfind(
    client: Any, book_url: str, *, known: Mapping[str, str], on_cards: OnCards | None = None
) -> CardChanges:
    """A full listing by PROPFIND (for servers without sync-collection); token None."""
    with translated(client, book_url):
        return Collection(client, book_url, ADDRESS_BOOK).listing(known=known, on_items=on_cards)


def get_cards(client: Any, book_url: str, hrefs: Sequence[str]) -> list[Card]:
    """Download these cards; cards that are gone are left out."""
    with translated(client, book_url):
        return Collection(client, book_url, ADDRESS_BOOK).get(hrefs)


def put_card(client: Any, href: str, text: str, *, etag: str) -> str | None:
    """Write a card back with ``If-Match: etag``; the new ETag, or None if the server sent none.

    Conflict (412) when the card changed since it was read; Rejected when the server refuses
    its content. A card holding bytes that are not UTF-8 is not sent (DavError).
    """
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        # Bytes that are not UTF-8 (kept by surrogateescape) cannot go through caldav, which
        # decodes every request body for its debug log and raises; and no card should be sent
        # as charset=utf-8 holding them. Such a card is left as the other client wrote it.
        raise DavError(f"{href} holds bytes that are not UTF-8; it is left as it is") from None
    url = wire.absolute(client, href)
    with translated(client, url):
        book = Collection(client, url.rsplit("/", 1)[0] + "/", ADDRESS_BOOK)
        return book.put(href, data, etag=etag)
