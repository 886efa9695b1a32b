"""What each card reads as: a Contact, or the reason it cannot be read.

A card is parsed once per version and day (``last: today`` reads as the day), and what it read
as is cached by its ETag, so a cycle parses only the cards that changed: at 10,000 cards
parsing all of them would be most of a cycle in which one changed. Every reading goes through
one lookup (``Readings.get``): parsed already this cycle (by ``EarlyParse``, while the rest of
the address book downloaded), else cached, else parsed now.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType

from netsync.app.remote import ENCODING, Fetched
from netsync.app.state import State
from netsync.core import cards
from netsync.core.cycle import Edit, Tally
from netsync.core.model import Contact

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (what, done, total): for a terminal's progress line

Reading = Contact | str  # a contact, or why the card cannot be read

# More changed cards than this, and a cycle reads the whole address book rather than
# comparing them one by one.
MOST_EDITS = 100


def parse(data: bytes, href: str, etag: str, *, today: dt.date) -> Reading:
    """A card's bytes as a Contact, or the reason they are not one."""
    try:
        # No language here: a block in the other language is not, by itself, a reason to
        # write the contact (SPEC 1); it is rewritten in the configured language when there
        # is something to record.
        return cards.parse_card(data.decode(*ENCODING), href=href, etag=etag, today=today)
    except cards.CardError as err:
        return str(err)


class EarlyParse:
    """Cards parsed on a worker thread while the next batch downloads (a context manager).

    A full read of 10,000 cards waits 4 to 13 s on the server's multigets, and parsing the
    cards takes about 3 s more on the client; doing both at once takes most of those 3 s off.
    Only big batches (a first read, a lost state directory) are worth a thread: the few cards
    an ordinary cycle downloads are parsed when read, and such a cycle starts no thread.

    While the worker runs, the interpreter switches threads every 0.5 ms instead of 5: the
    thread reading the server's answers needs the GIL back after every chunk it receives, and
    with the default it waited that long each time (measured: the read took 3 s longer, not
    less). A worker that hands the GIL over by itself (``time.sleep(0)`` every 0.5 ms) is not
    enough: the reading thread then keeps it for 5 ms at a time and the worker falls behind
    (measured at 10,000 cards on Radicale, on two loaded cores: 2.5 s slower). The interval
    is the process's, so it is set only while a worker exists and put back on leaving the
    ``with`` block, however it is left."""

    MIN_BATCH = 100
    SWITCH_INTERVAL = 0.0005

    def __init__(self, today: dt.date) -> None:
        self.today = today
        self._pool: ThreadPoolExecutor | None = None
        self._jobs: list[Future[list[tuple[str, str, Reading]]]] = []
        self._interval = 0.0

    def __enter__(self) -> EarlyParse:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def __call__(self, batch: list[Fetched]) -> None:
        if len(batch) < self.MIN_BATCH:
            return
        if self._pool is None:
            self._interval = sys.getswitchinterval()
            sys.setswitchinterval(self.SWITCH_INTERVAL)
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netsync-parse")
        self._jobs.append(self._pool.submit(self._parse, list(batch)))

    def _parse(self, batch: list[Fetched]) -> list[tuple[str, str, Reading]]:
        return [
            (card.href, card.etag, parse(card.data, card.href, card.etag, today=self.today))
            for card in batch
        ]

    def results(self) -> dict[str, tuple[str, Reading]]:
        """``href -> (etag, what it reads as)`` of what was parsed."""
        out: dict[str, tuple[str, Reading]] = {}
        for job in self._jobs:
            try:
                out.update((href, (etag, found)) for href, etag, found in job.result())
            except Exception:  # parsed again when read, which reports it as ever
                log.debug("parsing a batch of cards early failed", exc_info=True)
        self.close()
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
            sys.setswitchinterval(self._interval)
        self._jobs = []


_PARSE_FAILED = "!"  # the cached form of a card that does not parse: "!" and the reason


def to_cache(reading: Reading) -> str:
    return _PARSE_FAILED + reading if isinstance(reading, str) else cards.contact_to_json(reading)


def from_cache(entry: str) -> Reading | None:
    """A cached reading; None for a damaged entry (the card is parsed again)."""
    if entry.startswith(_PARSE_FAILED):
        return entry[1:]
    try:
        return cards.contact_from_json(entry)
    except ValueError:
        return None


@dataclass
class Readings:
    """The readings of one address book's cards on one day, and the new ones to cache.
    ``cached``: the parsed cache of the day (href -> (etag, entry)); ``items``: the cached
    cards (href -> (etag, data)) when most are to be parsed, else each is read when needed."""

    state: State
    book: str
    today: dt.date
    early: Mapping[str, tuple[str, Reading]] = field(default_factory=dict)
    cached: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    items: Mapping[str, tuple[str, bytes]] | None = None
    fresh: list[tuple[str, str, str]] = field(default_factory=list)
    new: list[Contact] = field(default_factory=list)  # read in a version read on no day before
    _seen: dict[str, str] | None = None  # href -> the version last parsed, on whatever day

    def get(self, href: str, etag: str) -> Reading:
        """What the card at ``href`` in version ``etag`` reads as."""
        hit = self.cached.get(href)
        if hit is not None and hit[0] == etag:
            found = from_cache(hit[1])
            if found is not None:
                return found
        early = self.early.get(href)
        if early is not None and early[0] == etag:
            found = early[1]
        else:
            items = self.items
            item = items.get(href) if items is not None else self.state.item(self.book, href)
            if item is None:
                found = "gone from the cache while it was read"
            else:
                found = parse(item[1], href, item[0], today=self.today)
        self.fresh.append((href, etag, to_cache(found)))
        if not isinstance(found, str):
            if self._seen is None:
                self._seen = self.state.parsed_etags(self.book)
            if self._seen.get(href) != etag:  # a new day's parse of the same card is no news
                self.new.append(found)
        return found

    def save(self) -> None:
        if self.fresh:
            self.state.put_parsed(self.book, self.today.isoformat(), self.fresh)
            self.fresh = []


@dataclass
class Book:
    """The address books as read: every readable card, one per UID; where each card lives
    (href -> book); the counts; the cards read in a version no cycle read before."""

    contacts: list[Contact]
    homes: dict[str, str]
    tally: Tally
    new_cards: list[Contact]


def read_book(
    state: State,
    books: Sequence[str],
    *,
    today: dt.date,
    early: Mapping[str, tuple[str, Reading]],
    progress: Progress,
) -> Book:
    """Every card in the cached address books; an unreadable card, or one whose UID an
    earlier card has, is logged by href, counted and skipped."""
    contacts: dict[str, Contact] = {}
    homes: dict[str, str] = {}
    skipped, shared, new = 0, [], []
    for book in books:
        etags = sorted(state.etags(book).items())
        cached = state.parsed(book, today.isoformat())
        # Most cards to parse (a new day, a new cache): read them in one go, not one by one.
        items = state.items(book) if 2 * len(cached) < len(etags) else None
        readings = Readings(state, book, today, early, cached, items)
        for index, (href, etag) in enumerate(etags):
            if index % 250 == 0:
                progress("reading contacts", index, len(etags))
            homes[href] = book
            contact = readings.get(href, etag)
            if isinstance(contact, str):
                skipped += 1
                log.warning("skipped card %s: %s", href, contact)
            elif contact.uid in contacts:
                skipped += 1
                shared.append(contact.uid)
                log.warning(
                    "skipped card %s: UID %s is also used by %s",
                    href,
                    contact.uid,
                    contacts[contact.uid].href,
                )
            else:
                contacts[contact.uid] = contact
        readings.save()
        new += readings.new
    tally = Tally(cards_read=len(homes), cards_skipped=skipped, shared_uids=tuple(shared))
    return Book(list(contacts.values()), homes, tally, new)


def edits(
    state: State,
    changed: Mapping[str, Sequence[str]],
    *,
    today: dt.date,
    early: Mapping[str, tuple[str, Reading]],
) -> list[Edit] | None:
    """Each changed card as the last cycle left it and as it reads now (the new readings are
    cached), or None when one cannot be compared (it was or is unreadable, or nothing is
    cached of it), or when there are more than MOST_EDITS."""
    if sum(len(hrefs) for hrefs in changed.values()) > MOST_EDITS:
        return None
    out = []
    for book, hrefs in changed.items():
        before = state.parsed(book, today.isoformat(), hrefs)
        readings = Readings(state, book, today, early)
        for href in hrefs:
            item = state.item(book, href)
            old = from_cache(before[href][1]) if href in before else None
            if item is None or old is None or isinstance(old, str):
                return None
            new = readings.get(href, item[0])
            if isinstance(new, str):
                return None
            out.append(Edit(old, new))
        readings.save()
    return out


def cache_readings(
    state: State, readings: Iterable[tuple[str, Contact]], *, today: dt.date
) -> None:
    """Cache what cards read as now, ``(book, contact)`` (netsync just wrote them)."""
    rows: dict[str, list[tuple[str, str, str]]] = {}
    for book, contact in readings:
        rows.setdefault(book, []).append((contact.href, contact.etag, to_cache(contact)))
    for book, fresh in rows.items():
        state.put_parsed(book, today.isoformat(), fresh)
