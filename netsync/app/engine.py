"""One cycle: read the address book and the calendar, learn, plan, diff, apply -> a Report.

The shell around the pure core: it talks to the servers (dav_contacts, dav_calendar), keeps
the cache (state), and hands values to the core (cards, planner, reconcile). A card that
cannot be read is logged by href and skipped; a reminder whose write fails is logged and
retried next cycle; the run goes on and the report counts both (exit 1 at the end).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from netsync import dav
from netsync.app import imap, writeback
from netsync.app.state import State
from netsync.core import cards, ics, learn, notes, planner, reconcile
from netsync.core.model import DIGEST, FOLLOW_UP, Contact, Reminder, StoredReminder
from netsync.dav import addressbook, calendar

log = logging.getLogger(__name__)

T = TypeVar("T")

Progress = Callable[[str, int, int], None]  # (what, done, total): for a terminal's progress line


def _quiet(what: str, done: int, total: int) -> None:
    """No progress output (not on a terminal, or under the service)."""


ENCODING = ("utf-8", "surrogateescape")  # card bytes survive the cache whatever they hold


@dataclass
class Report:
    """What a cycle did: one line per change, counts, and the plan it worked from."""

    today: dt.date
    dry_run: bool = False
    lines: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    deleted: int = 0
    contacts_written: int = 0
    cards_read: int = 0
    cards_skipped: int = 0
    writes_failed: int = 0
    contacts: list[Contact] = field(default_factory=list)
    wanted: list[Reminder] = field(default_factory=list)
    book_of: dict[str, str] = field(default_factory=dict)  # card href -> address book URL
    planned: int = 0  # reminders the plan wants (also known after a no-change cycle)
    due_today: int = 0  # of those, on or before today
    unchanged: bool = False  # nothing changed since the last complete cycle: no planning done
    shared_uids: list[str] = field(default_factory=list)  # UIDs more than one card uses
    replanned: int = 0  # edited contacts planned alone over the last plan (replan_edits)
    mail_read: int = 0  # messages whose header fields were read
    mail_error: str = ""  # why the mail could not be read this cycle (the rest went on)
    # (name, contact UID, line, why) of each line netsync keeps but cannot use in a card that
    # changed since it was last read: reported once per change of a card (SPEC 2)
    not_understood: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.cards_skipped or self.writes_failed or self.mail_error)

    def not_understood_by_card(self) -> list[str]:
        """One warning per card in ``not_understood``, without the lines themselves: what may
        go into a log (SPEC 9: logs hold no NOTE text). `netsync check` shows the lines."""
        counts: dict[tuple[str, str], int] = {}
        for name, uid, _, _ in self.not_understood:
            counts[name, uid] = counts.get((name, uid), 0) + 1
        return [
            f"{name} (UID {uid}): "
            + ("a line" if n == 1 else f"{n} lines")
            + " in the note that netsync cannot use, kept as "
            + ("it is" if n == 1 else "they are")
            + "; `netsync check` lists "
            + ("it" if n == 1 else "them")
            for (name, uid), n in counts.items()
        ]

    def summary(self) -> str:
        verb = "would be " if self.dry_run else ""
        parts = [
            f"{self.cards_read} contacts read",
            f"{self.created} reminders {verb}created",
            f"{self.updated} {verb}updated",
            f"{self.deleted} {verb}deleted",
        ]
        if self.contacts_written:
            parts.append(f"{self.contacts_written} contacts {verb}updated")
        if self.cards_skipped:
            parts.append(f"{self.cards_skipped} cards skipped")
        if self.writes_failed:
            parts.append(f"{self.writes_failed} writes failed")
        if self.mail_read:
            parts.append(f"{self.mail_read} mails read")
        if self.mail_error:
            parts.append("mail not read")
        return ", ".join(parts)


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


def _cached_lookup(state: State, key: str, find: Callable[[], Any]) -> Any:
    import json

    cached = state.get_meta(key)
    if cached is not None:
        try:
            return json.loads(cached)
        except ValueError:
            pass
    found = find()
    state.set_meta(key, json.dumps(found))
    return found


def address_books(conn: Connections, state: State) -> list[str]:
    url = conn.contacts.url
    books: list[str] = _cached_lookup(
        state,
        f"books:{url}",
        lambda: conn.call("contacts", addressbook.find_address_books, url),
    )
    return books


def calendar_url(conn: Connections, state: State, *, create: bool) -> str | None:
    url, name = conn.reminders.url, conn.calendar_name
    key = f"calendar:{url}|{name}"
    cached = state.get_meta(key)
    if cached:
        return cached
    try:
        found = conn.call("reminders", calendar.find_calendar, url, name, create=create)
    except dav.DavError:
        if create:
            raise
        return None  # a dry run against an account without the calendar yet
    state.set_meta(key, found)
    return found


@dataclass
class Synced:
    """What a sync brought. Of one collection: the objects new or changed (``hrefs``),
    whether any was deleted (``others``) and those it lost since the last look (``lost``:
    href -> their cached data). Over all collections (refresh): the new or changed cards by
    book (``cards``), and whether anything else changed (``others``: a card deleted, a
    calendar)."""

    lost: dict[str, bytes] = field(default_factory=dict)
    hrefs: list[str] = field(default_factory=list)
    cards: dict[str, list[str]] = field(default_factory=dict)
    others: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.hrefs or self.cards) or self.others


def _sync(
    conn: Connections,
    which: str,
    fetch: Callable[..., Any],
    url: str,
    state: State,
    *,
    keep: Callable[[bytes], bytes] = lambda data: data,
    **more: Any,
) -> Synced:
    """Bring the cached copy of one collection up to date. ``keep`` picks what of each
    changed object the cache holds; ``more`` goes to ``fetch``."""
    known = state.lazy_etags(url)
    changes = conn.call(which, fetch, url, token=state.token(url), known=known, **more)
    before = state.items(url) if changes.deleted else {}
    state.apply(
        url,
        token=changes.token,
        changed=[(obj.href, obj.etag, keep(_data(obj))) for obj in changes.changed],
        deleted=changes.deleted,
        complete=changes.complete,
        keep=changes.unchanged,
    )
    lost = {href: before[href][1] for href in changes.deleted if href in before}
    return Synced(lost, [obj.href for obj in changes.changed], others=bool(changes.deleted))


def _data(obj: Any) -> bytes:
    return bytes(obj.data)


class EarlyParse:
    """The cards a sync downloads, parsed on a worker thread while the next batch downloads.

    A full read of 10,000 cards waits 4 to 13 s on the server's multigets, and parsing the
    cards takes about 3 s more on the client; doing both at once takes most of those 3 s
    off. The worker runs the same function on the same input as ``parse_contacts`` would;
    that takes the results by href and ETag, and parses anything else itself.

    While it works, the interpreter switches threads every 0.5 ms instead of 5: the thread
    reading the answers needs the GIL back after every chunk it receives, and with the
    default it waited that long each time (measured: the read took 3 s longer, not less)."""

    SWITCH_INTERVAL = 0.0005

    def __init__(self, today: dt.date) -> None:
        self.today = today
        self._pool: ThreadPoolExecutor | None = None
        self._jobs: list[Any] = []
        self._interval = 0.0

    def __call__(self, batch: list[addressbook.Card]) -> None:
        if self._pool is None:
            self._interval = sys.getswitchinterval()
            sys.setswitchinterval(self.SWITCH_INTERVAL)
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netsync-parse")
        self._jobs.append(self._pool.submit(self._parse, list(batch)))

    def _parse(self, batch: list[addressbook.Card]) -> list[tuple[str, str, Contact | str]]:
        return [
            (card.href, card.etag, _parse((card.etag, _data(card)), card.href, today=self.today))
            for card in batch
        ]

    def results(self) -> dict[str, tuple[str, Contact | str]]:
        """``href -> (etag, Contact or the reason it does not parse)`` of what was parsed."""
        out: dict[str, tuple[str, Contact | str]] = {}
        for job in self._jobs:
            try:
                out.update((href, (etag, found)) for href, etag, found in job.result())
            except Exception:  # parsed again by parse_contacts, which reports it as ever
                log.debug("parsing a batch of cards early failed", exc_info=True)
        self.close()
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
            sys.setswitchinterval(self._interval)
        self._jobs = []


def parse_contacts(
    state: State,
    books: Sequence[str],
    report: Report,
    *,
    progress: Progress = _quiet,
    early: dict[str, tuple[str, Contact | str]] | None = None,
) -> list[Contact]:
    """Every card in the cached address books as a Contact; the unreadable ones are logged
    by href, counted and skipped.

    What a card parsed to is cached by its ETag and the day (``last: today`` reads as the
    day), so a cycle parses only the cards that changed: at 10,000 cards parsing all of them
    would be most of a cycle in which one changed. ``early``: cards this cycle's sync
    already parsed (EarlyParse), by href."""
    early = early or {}
    contacts: dict[str, Contact] = {}
    day = report.today.isoformat()
    for book in books:
        etags = sorted(state.etags(book).items())
        known = state.parsed(book, day)
        seen: dict[str, str] | None = None  # what was parsed on any day, read when needed
        # Most cards to parse (a new day, a new cache): read them in one go, not one by one.
        items = state.items(book) if 2 * len(known) < len(etags) else None
        fresh: list[tuple[str, str, str]] = []
        for index, (href, etag) in enumerate(etags):
            if index % 250 == 0:
                progress("reading contacts", index, len(etags))
            report.cards_read += 1
            report.book_of[href] = book
            contact = _cached_contact(known.get(href), etag)
            if contact is None:
                contact = _early(early, href, etag)
                if contact is None:
                    item = items.get(href) if items is not None else state.item(book, href)
                    contact = _parse(item, href, today=report.today)
                fresh.append((href, etag, _to_cache(contact)))
                if not isinstance(contact, str):
                    seen = state.parsed_etags(book) if seen is None else seen
                    if seen.get(href) != etag:  # a new day's parse of the same card is no news
                        report_not_understood(report, [contact])
            if isinstance(contact, str):
                report.cards_skipped += 1
                log.warning("skipped card %s: %s", href, contact)
                continue
            if contact.uid in contacts:
                report.cards_skipped += 1
                report.shared_uids.append(contact.uid)
                log.warning(
                    "skipped card %s: UID %s is also used by %s",
                    href,
                    contact.uid,
                    contacts[contact.uid].href,
                )
                continue
            contacts[contact.uid] = contact
        if fresh:
            state.put_parsed(book, day, fresh)
    return list(contacts.values())


_PARSE_FAILED = "!"  # the cached form of a card that does not parse: "!" and the reason


def _to_cache(contact: Contact | str) -> str:
    return _PARSE_FAILED + contact if isinstance(contact, str) else cards.contact_to_json(contact)


def _cached_contact(hit: tuple[str, str] | None, etag: str) -> Contact | str | None:
    """The cached Contact of an unchanged card, the reason it did not parse, or None."""
    if hit is None or hit[0] != etag:
        return None
    if hit[1].startswith(_PARSE_FAILED):
        return hit[1][1:]
    try:
        return cards.contact_from_json(hit[1])
    except ValueError:
        return None  # a damaged entry: parse the card again


def _early(
    early: dict[str, tuple[str, Contact | str]], href: str, etag: str
) -> Contact | str | None:
    """What EarlyParse made of the card at ``href``, if it saw this version of it."""
    hit = early.get(href)
    return hit[1] if hit is not None and hit[0] == etag else None


def _parse(item: tuple[str, bytes] | None, href: str, *, today: dt.date) -> Contact | str:
    """The cached card ``(etag, data)`` at ``href`` parsed, or the reason it cannot be."""
    if item is None:
        return "gone from the cache while it was read"
    etag, data = item
    try:
        # No language here: a block in the other language is not, by itself, a reason to
        # write the contact (SPEC 1); it is rewritten in the configured language when there
        # is something to record.
        return cards.parse_card(data.decode(*ENCODING), href=href, etag=etag, today=today)
    except cards.CardError as err:
        return str(err)


class DamagedCache(Exception):
    """A cached entry that does not read back: drop it and read the object again."""


def _reminder_to_cache(reminder: Reminder, completed: dt.date | None) -> bytes:
    r = reminder
    return json.dumps(
        {
            "uid": r.uid,
            "kind": r.kind,
            "contact": r.contact_uid,
            "day": r.day.isoformat(),
            "summary": r.summary,
            "description": r.description,
            "alarms": [a.total_seconds() for a in r.alarms],
            "todo": r.todo,
            "planned": r.planned.isoformat() if r.planned else None,
            "placed": r.placed.isoformat() if r.placed else None,
            "at": r.at.isoformat() if r.at is not None else None,
            "completed": completed.isoformat() if completed else None,
        }
    ).encode()


def _parsed(data: bytes) -> tuple[Reminder, dt.date | None] | None:
    """What a cached calendar object says: netsync's own reminder (and when it was ticked
    off), or None for anyone else's object. The cache holds that, not the iCalendar text:
    reading iCalendar costs about 3 ms an object, which at 10,000 reminders is most of a
    cycle."""
    try:
        d = json.loads(data)
    except ValueError:
        return ics.parse(data)  # a cache written before this form
    if d is None:
        return None
    if not isinstance(d, dict):
        raise DamagedCache
    day = dt.date.fromisoformat
    try:
        reminder = Reminder(
            d["uid"],
            d["kind"],
            d["contact"],
            day(d["day"]),
            d["summary"],
            d["description"],
            tuple(dt.timedelta(seconds=a) for a in d["alarms"]),
            d["todo"],
            day(d["planned"]) if d["planned"] else None,
            day(d["placed"]) if d.get("placed") else None,  # absent in caches before it
            dt.time.fromisoformat(d["at"]) if d.get("at") else None,  # the same
        )
        return reminder, day(d["completed"]) if d["completed"] else None
    except (KeyError, TypeError, ValueError):
        raise DamagedCache from None


def _lost(data: bytes) -> tuple[Reminder, dt.date | None] | None:
    try:
        return _parsed(data)
    except DamagedCache:
        return None  # what it was cannot be known any more: learn nothing from it


def _calendar_cache(data: bytes) -> bytes:
    """The ``keep`` of the reminders calendar: parse once, when the object arrives."""
    parsed = ics.parse(data)
    return b"null" if parsed is None else _reminder_to_cache(*parsed)


def stored_reminders(state: State, cal: str) -> list[StoredReminder]:
    """netsync's own objects in the cached reminders calendar."""
    stored = []
    for href, (etag, data) in sorted(state.items(cal).items()):
        try:
            parsed = _parsed(data)
        except DamagedCache:
            state.drop_item(cal, href)
            state.forget_token(cal)  # the next cycle lists the calendar and reads it again
            continue
        if parsed is not None:
            stored.append(StoredReminder(href, etag, *parsed))
    return stored


def sync_calendar(conn: Connections, state: State, cal: str) -> Synced:
    """Bring the cached reminders calendar up to date. Our own writes since the cached token
    are checked for (``fetch_reminders``'s ``written``): a follow-up we created and the phone
    then deleted is seen as deleted, whatever the server leaves out of its report."""
    return _sync(
        conn,
        "reminders",
        calendar.fetch_reminders,
        cal,
        state,
        keep=_calendar_cache,
        written=state.written(cal),
    )


# Up to this many writes of a cycle are left for the next cycle's sync to confirm (each comes
# back in its report as one short line); after more, the cycle moves the token past them at
# once, so the next cycle's report is as small as ever.
CARRIED_WRITES = 50


def catch_up(conn: Connections, state: State, cal: str) -> None:
    """Move the calendar's sync token past our own writes. Anything the phone deleted in the
    meantime is kept for the next cycle to learn from."""
    lost = sync_calendar(conn, state, cal).lost
    if lost:
        _keep_lost(state, cal, _pending_lost(state, cal) | lost)


def _pending_lost(state: State, cal: str) -> dict[str, bytes]:
    """Reminders that disappeared and have not yet been learnt from (href -> cached data)."""
    raw = state.get_meta(f"lost:{cal}")
    if not raw:
        return {}
    try:
        return {href: data.encode("latin-1") for href, data in json.loads(raw).items()}
    except (ValueError, AttributeError, UnicodeEncodeError):
        return {}  # a damaged cache: forget it, as with any lost state


def _keep_lost(state: State, cal: str, lost: dict[str, bytes]) -> None:
    """Keep what disappeared until a cycle has learnt from it: the sync that saw it gone has
    already dropped it from the cache, so a cycle that fails before writing the contact
    must not take the phone's "done" with it."""
    value = json.dumps({h: d.decode("latin-1") for h, d in lost.items()}) if lost else ""
    state.set_meta(f"lost:{cal}", value)


def _line(mark: str, reminder: Reminder) -> str:
    line = f"{mark} {reminder.day.isoformat()}  {reminder.kind:<11} {reminder.summary}"
    return line + (f"  (rings at {reminder.at:%H:%M})" if reminder.at is not None else "")


WRITERS = 4  # calendar writes in flight at once, each over its own keep-alive connection
WRITE_RETRIES = 5
TRANSIENT = (423, 500, 502, 503, 504)


def _write_one(
    conn: Connections, action: str, uid: str, fn: Callable[..., T], *args: Any, **kwargs: Any
) -> T | dav.DavError:
    """One calendar write in a pool thread. A refusal or a 412 is returned, to be counted;
    a server that is down or refuses us raises and ends the cycle."""
    for attempt in range(WRITE_RETRIES + 1):
        try:
            return conn.call("reminders", fn, *args, **kwargs)
        except dav.AuthFailed:
            raise
        except dav.DavError as err:
            if err.status in TRANSIENT and attempt < WRITE_RETRIES:
                # Xandikos commits each write to git and answers 423 or 500 to a second
                # write that finds the lock taken; a proxy may answer 502/503 for a moment.
                # Every write carries a precondition, so trying again is safe: if the first
                # one did land, the retry gets a 412 and the next cycle re-reads.
                time.sleep(0.05 * 2**attempt)
                continue
            if isinstance(err, dav.Unreachable):
                raise
            log.warning("could not %s %s: %s", action, uid, err)
            return err
    raise AssertionError("unreachable")


def _create(client: Any, cal: str, reminder: Reminder, *, stamp: dt.datetime) -> Any:
    """Render (in the pool thread, while others wait on the server) and create."""
    return calendar.create(client, cal, reminder.uid, ics.render(reminder, stamp=stamp))


def _update(
    client: Any, href: str, reminder: Reminder, *, etag: str, stamp: dt.datetime
) -> str | None:
    data = ics.render(reminder, stamp=stamp)
    return calendar.update(client, href, reminder.uid, data, etag=etag)


def _unless(stop: threading.Event, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a pool thread, unless an earlier write found the server down:
    then nothing is sent (it would wait its whole timeout too), and the cycle ends."""
    if stop.is_set():
        raise dav.Unreachable("the server", "not sent: an earlier write found the server down")
    try:
        return fn(*args, **kwargs)
    except BaseException:
        stop.set()
        raise


def apply_changes(
    conn: Connections,
    state: State,
    cal: str,
    changes: reconcile.Changes,
    report: Report,
    *,
    stamp: dt.datetime,
    writers: int = WRITERS,
    progress: Progress = _quiet,
) -> None:
    """Write the diff to the calendar over a small pool of connections. A failed write is
    counted and left for the next cycle, which reads the calendar afresh (a 412 means a
    phone changed it, or a cycle that died after its PUT already created it); a server that
    is down ends the cycle (dav.Unreachable) after the writes in flight."""
    jobs: list[tuple[str, Reminder, Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []
    for reminder in changes.to_create:
        jobs.append(("+", reminder, _create, (cal, reminder), {"stamp": stamp}))
    for stored, reminder in changes.to_update:
        jobs.append(
            (
                "~",
                reminder,
                _update,
                (stored.href, reminder),
                {"etag": stored.etag, "stamp": stamp},
            )
        )
    for stored in changes.to_delete:
        jobs.append(("-", stored.reminder, calendar.delete, (stored.href,), {"etag": stored.etag}))
    counters = {"+": "created", "~": "updated", "-": "deleted"}
    actions = {"+": "create", "~": "update", "-": "delete"}
    if report.dry_run:
        for mark, reminder, *_ in jobs:
            report.lines.append(_line(mark, reminder))
            setattr(report, counters[mark], getattr(report, counters[mark]) + 1)
        return
    stop = threading.Event()  # set by the first write that finds the server down
    with ThreadPoolExecutor(max_workers=max(1, writers)) as pool:
        futures = [
            pool.submit(
                _unless, stop, _write_one, conn, actions[mark], reminder.uid, fn, *args, **kwargs
            )
            for mark, reminder, fn, args, kwargs in jobs
        ]
        # Results are taken in order and the cache is written from this thread only.
        for done, ((mark, reminder, _, args, _), future) in enumerate(
            zip(jobs, futures, strict=True)
        ):
            progress("writing reminders", done, len(jobs))
            try:
                result = future.result()
            except BaseException:
                # The server is down or refuses us: the writes not yet started are not sent
                # (each would wait its whole timeout), those in flight end by theirs.
                for queued in futures:
                    queued.cancel()
                raise
            if isinstance(result, dav.DavError):
                state.forget_token(cal)
                report.writes_failed += 1
                continue
            report.lines.append(_line(mark, reminder))
            setattr(report, counters[mark], getattr(report, counters[mark]) + 1)
            if mark == "+":
                state.put_written(cal, result[0], result[1], _reminder_to_cache(reminder, None))
            elif mark == "~":
                state.put_written(cal, args[0], result, _reminder_to_cache(reminder, None))
            else:
                state.drop_item(cal, args[0])


def detect_calendar_url(conn: Connections, state: State, name: str) -> str:
    """A ``[detect] calendars`` entry is a URL, or a display name on the reminders account."""
    if "/" in name:
        return name
    key = f"detect:{conn.reminders.url}|{name}"
    cached = state.get_meta(key)
    if cached:
        return cached
    url = conn.call("reminders", calendar.find_calendar, conn.reminders.url, name, create=False)
    state.set_meta(key, url)
    return url


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


def _summary(data: bytes) -> bytes:
    return json.dumps(
        [
            {"day": e.day.isoformat(), "attendees": e.attendees, "summary": e.summary}
            for e in learn.seen_events(data)
        ]
    ).encode()


def learn_and_record(
    conn: Connections,
    state: State,
    report: Report,
    *,
    settings: Any,
    stored: list[StoredReminder],
    deleted: list[Reminder],
    extra: Callable[[Sequence[Contact]], list[learn.Observation]] | None,
) -> None:
    """Gather every sign of contact, and write the new ``last:`` into those contacts."""
    today, plan_settings = report.today, settings.plan
    by_uid = {c.uid: c for c in report.contacts}
    observations = learn.from_completed_tasks(stored)
    observations += learn.from_deleted_follow_ups(
        deleted, by_uid, today=today, settings=plan_settings
    )
    if conn.detect_calendars:
        observations += learn.from_events(detect_events(conn, state), report.contacts, today=today)
    if conn.mail is not None:  # what the mail folders said, this cycle's read or an earlier one
        observations += learn.from_mail(state.mail_days(), report.contacts)
    if extra is not None:
        observations += extra(report.contacts)
    written = []
    for uid, mine in learn.ledgers_to_write(report.contacts, observations).items():
        before = by_uid[uid]
        by_uid[uid] = after = writeback.write_contact(
            conn, state, report, before, mine, language=settings.locale.language
        )
        if after is not before and after.etag and not report.dry_run:
            written.append((report.book_of[after.href], after.href, after.etag, after))
    # What the cards now say is what this cycle ends with: a later cycle that compares an
    # edited card with it (``edits``) compares with this, not with the card before we wrote.
    _cache_readings(state, written, today=today)
    report.contacts = list(by_uid.values())


def _fingerprint(today: dt.date, settings: Any, conn: Connections) -> str:
    """What, besides the servers' contents, the plan depends on."""
    return repr(
        (
            today.isoformat(),
            settings.plan,
            settings.locale,
            conn.detect_calendars,
            conn.mail is not None,
            conn.contacts.url,
            conn.reminders.url,
            conn.calendar_name,
        )
    )


def read_mail(conn: Connections, state: State, report: Report, *, settings: Any) -> bool:
    """Read what is new in the mail folders into the state; whether anyone's newest day of
    contact moved. A mail server that is down or refuses is reported (the cycle ends with
    1), never the end of the cycle: the address book and the calendar are done all the same."""
    if conn.mail is None:
        return False
    zone = ZoneInfo(settings.locale.timezone) if settings.locale.timezone else None
    try:
        scan = conn.mail.scan(state, today=report.today, zone=zone)
    except imap.MailError as err:
        report.mail_error = str(err)
        log.warning("mail not read this cycle: %s", err)
        return False
    report.mail_read = scan.fetched
    return scan.changed


def refresh(
    conn: Connections, state: State, *, create: bool, early: EarlyParse | None = None
) -> tuple[list[str], str | None, Synced]:
    """Sync every collection into the cache: the address books, the reminders calendar, the
    detect calendars. Returns the books, the calendar URL and what changed overall.
    ``early`` parses the downloaded cards while the rest downloads."""
    books = address_books(conn, state)
    overall = Synced()
    for book in books:
        synced = _sync(conn, "contacts", addressbook.fetch_changes, book, state, on_cards=early)
        overall.others |= synced.others
        if synced.hrefs:
            overall.cards[book] = synced.hrefs
    cal = calendar_url(conn, state, create=create)
    if cal is not None:
        synced = sync_calendar(conn, state, cal)
        overall.lost = _pending_lost(state, cal) | synced.lost
        _keep_lost(state, cal, overall.lost)
        overall.others |= synced.changed or bool(overall.lost)
    for name in conn.detect_calendars:
        url = detect_calendar_url(conn, state, name)
        overall.others |= _sync(
            conn, "reminders", calendar.fetch_reminders, url, state, keep=_summary
        ).changed
    return books, cal, overall


# More changed cards than this, and a cycle plans anew without comparing them one by one.
SAME_PEOPLE_CHECK = 100


@dataclass(frozen=True)
class Edit:
    """A changed card: what it read as before (in the last complete cycle) and now."""

    book: str
    href: str
    etag: str
    old: Contact
    new: Contact

    @property
    def same_person(self) -> bool:
        """Whether it reads as the same person, href and ETag aside: a phone that edited an
        address, a photo or a ringtone changed nothing netsync plans from."""
        return _person(self.new) == _person(self.old)


def edits(
    state: State,
    changed: dict[str, list[str]],
    *,
    today: dt.date,
    early: dict[str, tuple[str, Contact | str]],
) -> list[Edit] | None:
    """Each changed card as it read before and now, or None when one cannot be compared (it
    was or is unreadable, or nothing is cached of it), or when there are too many to compare
    one by one. ``before`` is what the last cycle cached: the card as it read then, or as
    netsync itself wrote it."""
    if sum(len(hrefs) for hrefs in changed.values()) > SAME_PEOPLE_CHECK:
        return None
    day = today.isoformat()
    out = []
    for book, hrefs in changed.items():
        known = state.parsed(book, day, hrefs)
        for href in hrefs:
            before = known.get(href)
            item = state.item(book, href)
            if before is None or item is None or before[1].startswith(_PARSE_FAILED):
                return None
            try:
                old = cards.contact_from_json(before[1])
            except ValueError:
                return None
            new = _early(early, href, item[0])
            if new is None:
                new = _parse(item, href, today=today)
            if isinstance(new, str):
                return None
            out.append(Edit(book, href, item[0], old, new))
    return out


def _cache_readings(
    state: State, readings: Iterable[tuple[str, str, str, Contact]], *, today: dt.date
) -> None:
    """Cache what cards read as now, ``(book, href, etag, contact)``, one write per book."""
    rows: dict[str, list[tuple[str, str, str]]] = {}
    for book, href, etag, contact in readings:
        rows.setdefault(book, []).append((href, etag, _to_cache(contact)))
    for book, fresh in rows.items():
        state.put_parsed(book, today.isoformat(), fresh)


def _cache_edits(state: State, found: Sequence[Edit], report: Report, *, today: dt.date) -> None:
    """Cache what edited cards read as now; what they hold that netsync cannot read is news."""
    _cache_readings(state, ((e.book, e.href, e.etag, e.new) for e in found), today=today)
    report_not_understood(report, [e.new for e in found])


def report_not_understood(report: Report, contacts: Iterable[Contact]) -> None:
    """Add the lines these contacts' notes hold that netsync keeps but cannot read."""
    for contact in contacts:
        report.not_understood.extend(
            (contact.name, contact.uid, line, why)
            for line, why in notes.not_understood(contact.note, contact.ledger)
        )


def _person(contact: Contact) -> Contact:
    return dataclasses.replace(contact, href="", etag="")


def _own_reminders(state: State, cal: str, uids: set[str]) -> list[StoredReminder] | None:
    """The cached reminders of the contacts with these UIDs (their history too), or None when
    the cache holds a form this cannot search."""
    marks = [b'"contact": ' + json.dumps(uid).encode() for uid in uids]
    out = []
    for href, (etag, data) in sorted(state.items(cal).items()):
        if data == b"null":
            continue  # someone else's object
        if not data.startswith(b"{"):
            return None  # an older cache form
        if not any(mark in data for mark in marks):
            continue
        try:
            parsed = _parsed(data)
        except DamagedCache:
            return None
        if parsed is not None and parsed[0].contact_uid in uids:
            out.append(StoredReminder(href, etag, *parsed))
    return out


def _due_today(reminders: Sequence[Reminder], today: dt.date) -> int:
    return sum(1 for r in reminders if r.day <= today and r.kind != DIGEST)


def replan_edits(
    conn: Connections,
    state: State,
    cal: str,
    found: Sequence[Edit],
    report: Report,
    *,
    mark: dict[str, Any],
    settings: Any,
    stamp: dt.datetime,
    now: dt.datetime,
    progress: Progress = _quiet,
) -> bool:
    """Plan a few edited contacts alone, over the plan of today that the last complete cycle
    left in the calendar (planner.replan_edited): a phone that changed a number or a birthday
    costs the reminders of that contact, not a plan of the whole address book. False, with
    nothing done, when that is not exact and the cycle must plan in full:
    - an edit of the ledger (something to learn or to write into the card);
    - an edited UID that another card also uses (which of them counts is decided in full);
    - an edit that moves a follow-up, or a reminder of theirs in the digests' two weeks;
    - the calendar does not hold what the contacts read as before would be planned."""
    today = report.today
    pairs = [(edit.old, edit.new) for edit in found]
    if any(old.ledger != new.ledger or new.ledger.needs_rewrite for old, new in pairs):
        return False
    uids = {old.uid for old, _ in pairs}
    if "shared_uids" not in mark or uids & set(mark["shared_uids"]):
        return False
    stored = _own_reminders(state, cal, uids)
    if stored is None:
        return False
    open_follow_ups = [
        s.reminder for s in stored if s.reminder.kind == FOLLOW_UP and s.completed is None
    ]
    follow_ups = {r.contact_uid: r for r in open_follow_ups}
    if len(follow_ups) != len(open_follow_ups):
        return False
    planned = planner.replan_edited(pairs, follow_ups, today=today, settings=settings.plan)
    if planned is None:
        return False
    before, after = planned
    if reconcile.diff(before, stored, today=today, now=now):
        return False
    changes = reconcile.diff(after, stored, today=today, now=now)
    _cache_edits(state, found, report, today=today)
    report.replanned = len(found)
    _counts_from(mark, report)
    report.planned += len(after) - len(before)
    report.due_today += _due_today(after, today) - _due_today(before, today)
    report.shared_uids = list(mark["shared_uids"])
    write_plan(
        conn,
        state,
        cal,
        changes,
        report,
        fingerprint=mark["fingerprint"],
        stamp=stamp,
        progress=progress,
    )
    return True


def _learns_from_mail(conn: Connections, state: State, found: Sequence[Edit]) -> bool:
    """Whether mail read before says something new about an edited contact (an address
    added on the phone that mail went to): then it is learnt from, in a full cycle."""
    if conn.mail is None:
        return False
    edited = [edit.new for edit in found]
    return bool(learn.ledgers_to_write(edited, learn.from_mail(state.mail_days(), edited)))


def _counts_from(mark: dict[str, Any], report: Report) -> None:
    """The counts of the last complete cycle, which the mark keeps."""
    for key in ("cards_read", "cards_skipped", "planned", "due_today"):
        setattr(report, key, int(mark.get(key, 0)))


def write_plan(
    conn: Connections,
    state: State,
    cal: str,
    changes: reconcile.Changes,
    report: Report,
    *,
    fingerprint: str,
    stamp: dt.datetime,
    progress: Progress = _quiet,
) -> None:
    """Write the diff; after many writes move the token past them at once; mark the cycle
    complete when every write went through (a dry run writes and marks nothing)."""
    apply_changes(conn, state, cal, changes, report, stamp=stamp, progress=progress)
    if report.dry_run:
        return
    if len(changes) > CARRIED_WRITES:
        catch_up(conn, state, cal)
    if not report.writes_failed:
        _mark_complete(state, fingerprint, report)


def _mark_complete(state: State, fingerprint: str, report: Report) -> None:
    """The mark a next cycle may skip planning by: this cycle wrote everything it meant to."""
    state.set_meta(
        "complete",
        json.dumps(
            {
                "fingerprint": fingerprint,
                "cards_read": report.cards_read,
                "cards_skipped": report.cards_skipped,
                "planned": report.planned,
                "due_today": report.due_today,
                "shared_uids": sorted(set(report.shared_uids)),
            }
        ),
    )


def run_cycle(
    conn: Connections,
    state: State,
    *,
    today: dt.date,
    settings: Any,
    dry_run: bool = False,
    stamp: dt.datetime | None = None,
    now: dt.datetime | None = None,
    extra: Callable[[Sequence[Contact]], list[learn.Observation]] | None = None,
    progress: Progress = _quiet,
) -> Report:
    """One cycle: read, learn, plan, diff, apply. ``settings`` is a config.Settings; ``today``
    comes from the caller's clock; ``extra`` adds observations (`netsync log`). ``now`` is the
    local wall-clock time of the writes, which decides how a reminder for today still rings
    (rings.py); None is the start of ``today``, what ``--today DATE`` means.

    When no collection changed since the last complete cycle, on the same day and with the
    same settings, the plan would be the same, so the cycle stops after the sync requests:
    that keeps a no-change cycle as cheap at 10,000 contacts as at 100. So does a change of
    cards that all read as the same people as before (``Edit.same_person``); cards edited in
    ways that move no follow-up are planned alone (``replan_edits``). The mark that allows
    both is taken away at the start of every cycle and set again only at the end of a real
    cycle that wrote everything it meant to, so a crash or a dry run in between never hides
    a change.
    """
    report = Report(today=today, dry_run=dry_run)
    stamp = stamp or dt.datetime.now(dt.UTC).replace(microsecond=0)
    now = now or dt.datetime.combine(today, dt.time())
    fingerprint = _fingerprint(today, settings, conn)
    previous = state.get_meta("complete") or ""
    state.set_meta("complete", "")
    early = EarlyParse(today)
    try:
        books, cal, synced = refresh(conn, state, create=not dry_run, early=early)
    except BaseException:
        early.close()
        raise
    parsed_early = early.results()
    mailed = read_mail(conn, state, report, settings=settings)
    mark = json.loads(previous) if previous and extra is None and not dry_run else {}
    if mark.get("fingerprint") == fingerprint and not synced.others and not mailed:
        found = edits(state, synced.cards, today=today, early=parsed_early)
        if found is not None and all(edit.same_person for edit in found):
            _cache_edits(state, found, report, today=today)
            report.unchanged = True
            _counts_from(mark, report)
            state.set_meta("complete", previous)
            return report
        if (
            found is not None
            and cal is not None
            and not conn.detect_calendars
            and not _learns_from_mail(conn, state, found)
            and replan_edits(
                conn,
                state,
                cal,
                found,
                report,
                mark=mark,
                settings=settings,
                stamp=stamp,
                now=now,
                progress=progress,
            )
        ):
            return report
    report.contacts = parse_contacts(state, books, report, progress=progress, early=parsed_early)
    stored = stored_reminders(state, cal) if cal else []
    deleted = [parsed[0] for data in synced.lost.values() if (parsed := _lost(data))]
    learn_and_record(
        conn, state, report, settings=settings, stored=stored, deleted=deleted, extra=extra
    )
    if cal is not None and not dry_run and not report.writes_failed:
        _keep_lost(state, cal, {})  # learnt from and recorded
    report.wanted = planner.plan(
        report.contacts, [s.reminder for s in stored], today=today, settings=settings.plan
    )
    report.planned = len(report.wanted)
    report.due_today = _due_today(report.wanted, today)
    changes = reconcile.diff(report.wanted, stored, today=today, now=now)
    if cal is None:  # a dry run against an account that has no reminders calendar yet
        report.lines.extend(_line("+", r) for r in changes.to_create)
        report.created = len(changes.to_create)
        return report
    write_plan(
        conn, state, cal, changes, report, fingerprint=fingerprint, stamp=stamp, progress=progress
    )
    return report
