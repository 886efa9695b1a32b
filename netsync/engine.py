"""One cycle: read the address book and the calendar, learn, plan, diff, apply -> a Report.

The shell around the pure core: it talks to the servers (dav_contacts, dav_calendar), keeps
the cache (state), and hands values to the core (cards, planner, reconcile). A card that
cannot be read is logged by href and skipped; a reminder whose write fails is logged and
retried next cycle; the run goes on and the report counts both (exit 1 at the end).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from netsync import (
    cards,
    dav,
    dav_calendar,
    dav_contacts,
    ics,
    learn,
    planner,
    reconcile,
    writeback,
)
from netsync.model import Contact, Reminder, StoredReminder
from netsync.state import State

log = logging.getLogger(__name__)

T = TypeVar("T")

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

    @property
    def failed(self) -> bool:
        return bool(self.cards_skipped or self.writes_failed)

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
        return ", ".join(parts)


@dataclass
class Connections:
    """The two accounts and their clients, made once and reused across cycles."""

    contacts: dav.Account
    reminders: dav.Account
    calendar_name: str
    detect_calendars: tuple[str, ...] = ()
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, which: str) -> Any:
        if which not in self._clients:
            account = self.contacts if which == "contacts" else self.reminders
            self._clients[which] = dav.connect(account)
        return self._clients[which]

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
        lambda: conn.call("contacts", dav_contacts.find_address_books, url),
    )
    return books


def calendar_url(conn: Connections, state: State, *, create: bool) -> str | None:
    url, name = conn.reminders.url, conn.calendar_name
    key = f"calendar:{url}|{name}"
    cached = state.get_meta(key)
    if cached:
        return cached
    try:
        found = conn.call("reminders", dav_calendar.find_calendar, url, name, create=create)
    except dav.DavError:
        if create:
            raise
        return None  # a dry run against an account without the calendar yet
    state.set_meta(key, found)
    return found


def _sync(
    conn: Connections,
    which: str,
    fetch: Callable[..., Any],
    url: str,
    state: State,
    *,
    keep: Callable[[bytes], bytes] = lambda data: data,
) -> dict[str, bytes]:
    """Bring the cached copy of one collection up to date; return the hrefs it lost, with
    the data they had. ``keep`` picks what of each changed object the cache holds."""
    changes = conn.call(which, fetch, url, token=state.token(url), known=state.etags(url))
    before = state.items(url) if changes.deleted else {}
    state.apply(
        url,
        token=changes.token,
        changed=[(obj.href, obj.etag, keep(_data(obj))) for obj in changes.changed],
        deleted=changes.deleted,
        complete=changes.complete,
        keep=changes.unchanged,
    )
    return {href: before[href][1] for href in changes.deleted if href in before}


def _data(obj: Any) -> bytes:
    data = obj.text.encode(*ENCODING) if isinstance(obj, dav_contacts.Card) else obj.data
    return bytes(data)


def read_contacts(
    conn: Connections, state: State, report: Report, *, language: str
) -> list[Contact]:
    """Sync every address book into the cache and parse every card in it."""
    contacts: dict[str, Contact] = {}
    for book in address_books(conn, state):
        _sync(conn, "contacts", dav_contacts.fetch_changes, book, state)
        for href, (etag, data) in sorted(state.items(book).items()):
            report.cards_read += 1
            report.book_of[href] = book
            try:
                contact = cards.parse_card(
                    data.decode(*ENCODING),
                    href=href,
                    etag=etag,
                    today=report.today,
                    language=language,
                )
            except cards.CardError as err:
                report.cards_skipped += 1
                log.warning("skipped card %s: %s", href, err)
                continue
            if contact.uid in contacts:
                report.cards_skipped += 1
                log.warning(
                    "skipped card %s: UID %s is also used by %s",
                    href,
                    contact.uid,
                    contacts[contact.uid].href,
                )
                continue
            contacts[contact.uid] = contact
    return list(contacts.values())


def read_reminders(
    conn: Connections, state: State, cal: str
) -> tuple[list[StoredReminder], list[Reminder]]:
    """Sync the reminders calendar into the cache. Returns netsync's own objects in it, and
    those of them that disappeared since the last look (deleted on a phone, or by us in a
    cycle that died before it could note it)."""
    lost = _sync(conn, "reminders", dav_calendar.fetch_reminders, cal, state)
    lost.update(_take_lost(state, cal))
    stored = []
    for href, (etag, data) in sorted(state.items(cal).items()):
        parsed = ics.parse(data)
        if parsed is not None:
            stored.append(StoredReminder(href, etag, *parsed))
    deleted = [parsed[0] for data in lost.values() if (parsed := ics.parse(data))]
    return stored, deleted


def catch_up(conn: Connections, state: State, cal: str) -> None:
    """Move the calendar's sync token past our own writes.

    RFC 6578 lets a server leave out an object that was both created and deleted since the
    token (Xandikos does), so without this a follow-up we created and the user then deleted
    would never show up as deleted. Anything the phone deleted in the meantime is kept for
    the next cycle to learn from."""
    lost = _sync(conn, "reminders", dav_calendar.fetch_reminders, cal, state)
    if lost:
        pending = _take_lost(state, cal) | lost
        state.set_meta(
            f"lost:{cal}", json.dumps({h: d.decode("latin-1") for h, d in pending.items()})
        )


def _take_lost(state: State, cal: str) -> dict[str, bytes]:
    raw = state.get_meta(f"lost:{cal}")
    if not raw:
        return {}
    state.set_meta(f"lost:{cal}", "")
    try:
        return {href: data.encode("latin-1") for href, data in json.loads(raw).items()}
    except (ValueError, AttributeError, UnicodeEncodeError):
        return {}  # a damaged cache: forget it, as with any lost state


def _line(mark: str, reminder: Reminder) -> str:
    return f"{mark} {reminder.day.isoformat()}  {reminder.kind:<11} {reminder.summary}"


class _Failed:
    """A write that failed and was counted; the next cycle re-reads and tries again."""


FAILED = _Failed()


def _write(
    conn: Connections,
    state: State,
    cal: str,
    report: Report,
    what: str,
    fn: Callable[..., T],
    *args: Any,
    **kwargs: Any,
) -> T | _Failed:
    try:
        return conn.call("reminders", fn, *args, **kwargs)
    except (dav.Unreachable, dav.AuthFailed):
        raise  # the server is down or refuses us: end the cycle, nothing half-understood
    except dav.DavError as err:
        # A 412 (changed by a phone, or already created by a cycle that died after its PUT)
        # or a refusal: forget what we knew of the calendar, so the next cycle reads it
        # afresh and decides again.
        log.warning("could not %s: %s", what, err)
        state.forget_token(cal)
        report.writes_failed += 1
        return FAILED


def apply_changes(
    conn: Connections,
    state: State,
    cal: str,
    changes: reconcile.Changes,
    report: Report,
    *,
    stamp: dt.datetime,
) -> None:
    """Write the diff to the calendar, one object at a time. A failed write is counted and
    left for the next cycle; a server that is down ends the cycle (dav.Unreachable)."""
    for reminder in changes.to_create:
        report.lines.append(_line("+", reminder))
        if not report.dry_run:
            created = _write(
                conn,
                state,
                cal,
                report,
                f"create {reminder.uid}",
                dav_calendar.create,
                cal,
                reminder,
                stamp=stamp,
            )
            if isinstance(created, _Failed):
                continue
            state.put_item(cal, created[0], created[1], ics.render(reminder, stamp=stamp))
        report.created += 1
    for stored, reminder in changes.to_update:
        report.lines.append(_line("~", reminder))
        if not report.dry_run:
            new_etag = _write(
                conn,
                state,
                cal,
                report,
                f"update {reminder.uid}",
                dav_calendar.update,
                stored.href,
                reminder,
                etag=stored.etag,
                stamp=stamp,
            )
            if isinstance(new_etag, _Failed):
                continue
            state.put_item(cal, stored.href, new_etag, ics.render(reminder, stamp=stamp))
        report.updated += 1
    for stored in changes.to_delete:
        report.lines.append(_line("-", stored.reminder))
        if not report.dry_run:
            gone = _write(
                conn,
                state,
                cal,
                report,
                f"delete {stored.reminder.uid}",
                dav_calendar.delete,
                stored.href,
                etag=stored.etag,
            )
            if isinstance(gone, _Failed):
                continue
            state.drop_item(cal, stored.href)
        report.deleted += 1


def detect_calendar_url(conn: Connections, state: State, name: str) -> str:
    """A ``[detect] calendars`` entry is a URL, or a display name on the reminders account."""
    if "/" in name:
        return name
    key = f"detect:{conn.reminders.url}|{name}"
    cached = state.get_meta(key)
    if cached:
        return cached
    url = conn.call("reminders", dav_calendar.find_calendar, conn.reminders.url, name, create=False)
    state.set_meta(key, url)
    return url


def read_detect_calendars(conn: Connections, state: State) -> list[tuple[str, learn.SeenEvent]]:
    """The events of the ``[detect] calendars`` (on the reminders account). Only what changed
    since the last look is downloaded; the cache keeps a small summary of every event."""
    events: list[tuple[str, learn.SeenEvent]] = []
    for name in conn.detect_calendars:
        url = detect_calendar_url(conn, state, name)
        _sync(conn, "reminders", dav_calendar.fetch_reminders, url, state, keep=_summary)
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
        observations += learn.from_events(
            read_detect_calendars(conn, state), report.contacts, today=today
        )
    if extra is not None:
        observations += extra(report.contacts)
    for uid, mine in learn.ledgers_to_write(report.contacts, observations).items():
        by_uid[uid] = writeback.write_contact(
            conn, state, report, by_uid[uid], mine, language=settings.locale.language
        )
    report.contacts = list(by_uid.values())


def run_cycle(
    conn: Connections,
    state: State,
    *,
    today: dt.date,
    settings: Any,
    dry_run: bool = False,
    stamp: dt.datetime | None = None,
    extra: Callable[[Sequence[Contact]], list[learn.Observation]] | None = None,
) -> Report:
    """One cycle: read, learn, plan, diff, apply. ``settings`` is a config.Settings; ``today``
    comes from the caller's clock; ``extra`` adds observations (`netsync log`)."""
    report = Report(today=today, dry_run=dry_run)
    stamp = stamp or dt.datetime.now(dt.UTC).replace(microsecond=0)
    report.contacts = read_contacts(conn, state, report, language=settings.locale.language)
    cal = calendar_url(conn, state, create=not dry_run)
    stored, deleted = read_reminders(conn, state, cal) if cal else ([], [])
    learn_and_record(
        conn, state, report, settings=settings, stored=stored, deleted=deleted, extra=extra
    )
    report.wanted = planner.plan(
        report.contacts, [s.reminder for s in stored], today=today, settings=settings.plan
    )
    changes = reconcile.diff(report.wanted, stored, today=today)
    if cal is not None:
        apply_changes(conn, state, cal, changes, report, stamp=stamp)
        if changes and not dry_run:
            catch_up(conn, state, cal)
    else:
        for reminder in changes.to_create:
            report.lines.append(_line("+", reminder))
            report.created += 1
    return report
