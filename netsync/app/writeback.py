"""Write what netsync learned into contacts: the ``last:`` and ``received:`` lines of the NOTE
block (SPEC 1, 2, 6).

Only the NOTE changes, only when there is something to record, and always with If-Match on
the ETag netsync read. On 412 (the phone changed the card in between) the card is read again,
the change is applied to the new version and the write is tried again, a bounded number of
times: the phone's edit always survives, and a card given up on is picked up next cycle.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Any

from netsync import dav
from netsync.core import cards, learn, notepatch, notes
from netsync.core.model import Contact
from netsync.dav import addressbook

log = logging.getLogger(__name__)

MAX_TRIES = 3
ENCODING = ("utf-8", "surrogateescape")


def _describe(observations: Sequence[learn.Observation], tidied: Sequence[str]) -> str:
    """What a write of one card did, and only that: the contact or the gift recorded, and
    what the rewrite of the block changed (a date normalised, a Dutch key, merged blocks)."""
    parts = []
    contacts = [o for o in observations if not o.received]
    if contacts:
        newest = max(contacts, key=lambda o: o.day)
        how = f" ({newest.how})" if newest.how else ""
        parts.append(f"last contact {newest.day.isoformat()}{how}, from {newest.source}")
    parts += [
        f"received {o.day.isoformat()}: {o.received}, from {o.source}"
        for o in observations
        if o.received
    ]
    if tidied:
        parts.append("note block tidied (" + ", ".join(tidied) + ")")
    return "; ".join(parts) or "note block rewritten"


def _patched(
    text: str, observations: Sequence[learn.Observation], report: Any, language: str
) -> tuple[str, tuple[str, ...]] | None:
    """The card with the observations recorded in its block and what the rewrite tidied,
    or None if nothing changes."""
    note = notepatch.read_note(text)
    _, ledger = notes.parse_note(note, today=report.today)
    new = learn.apply(ledger, observations)
    if new == ledger and not ledger.needs_rewrite:
        return None  # the card already says as much (a phone wrote a newer date meanwhile)
    tidied = notes.rewrite_reasons(note, today=report.today, language=language)
    return notepatch.patch_note(text, notes.replace_block(note, new, language=language)), tidied


class TooManyConflicts(Exception):
    """The card changed on the server at every one of MAX_TRIES writes."""


def rewrite_card(
    conn: Any,
    book: str,
    href: str,
    *,
    etag: str,
    text: str,
    change: Callable[[str], str | None],
    dry_run: bool = False,
    seen: Callable[[str | None, str], None] = lambda etag, text: None,
) -> tuple[str, str | None] | None:
    """Write ``change(text)`` over the card at ``href`` with If-Match ``etag``; on 412 read
    the card again, apply ``change`` to that version and try again, MAX_TRIES times.

    Returns (the text written, its new ETag or None when the server sent none); None when
    ``change`` finds nothing to do (None) or the card is gone. ``seen(etag, text)`` hears of
    every version of the card read or written (the cache). A refusal of ``change`` (it
    raises) or of the server (DavError) passes up; TooManyConflicts when a phone kept
    winning. The one loop every card write of netsync goes through.
    """
    for _ in range(MAX_TRIES):
        new_text = change(text)
        if new_text is None:
            return None
        if dry_run:
            return new_text, etag
        try:
            new_etag = conn.call("contacts", addressbook.put_card, href, new_text, etag=etag)
        except addressbook.Conflict:
            # Changed on a phone since we read it: read it again and apply our change to
            # the new version.
            fresh = conn.call("contacts", addressbook.get_cards, book, [href])
            if not fresh:
                return None  # deleted meanwhile
            text, etag = fresh[0].text, fresh[0].etag
            seen(etag, text)
            continue
        seen(new_etag or None, new_text)
        return new_text, new_etag or None
    raise TooManyConflicts(href)


class _Unreadable(Exception):
    """The patched card would not read back as the same contact."""


def write_contact(
    conn: Any,
    state: Any,
    report: Any,
    contact: Contact,
    observations: Sequence[learn.Observation],
    *,
    language: str,
) -> Contact:
    """Record ``observations`` in one contact's card. Returns the contact as it now reads
    (the old one when nothing was written)."""
    book = report.book_of[contact.href]
    cached = state.item(book, contact.href)
    if cached is None:
        return contact
    readings: list[Contact] = []
    tidied: list[tuple[str, ...]] = []

    def change(text: str) -> str | None:
        patched = _patched(text, observations, report, language)
        if patched is None:
            return None
        new_text, why = patched
        tidied.append(why)
        try:  # never write a card that does not read back as the same contact
            after = cards.parse_card(new_text, href=contact.href, today=report.today)
        except cards.CardError as err:
            raise _Unreadable(str(err)) from None
        if after.uid != contact.uid:
            raise _Unreadable("its UID would change")
        readings.append(after)
        return new_text

    def seen(etag: str | None, text: str) -> None:
        state.put_item(book, contact.href, etag, text.encode(*ENCODING))

    try:
        written = rewrite_card(
            conn,
            book,
            contact.href,
            etag=cached[0],
            text=cached[1].decode(*ENCODING),
            change=change,
            dry_run=report.dry_run,
            seen=seen,
        )
    except notepatch.PatchError as err:
        log.warning("cannot record contact in %s (%s): %s", contact.uid, contact.href, err.reason)
    except _Unreadable as err:
        log.warning(
            "cannot record contact in %s (%s): the new card would not read back (%s)",
            contact.uid,
            contact.href,
            err,
        )
    except (dav.Unreachable, dav.AuthFailed):
        raise
    except dav.DavError as err:
        log.warning("could not write %s (%s): %s", contact.uid, contact.href, err)
    except TooManyConflicts:
        log.warning(
            "gave up writing %s after %d conflicts; trying again next cycle", contact.uid, MAX_TRIES
        )
    else:
        if written is None:
            return contact
        report.contacts_written += 1
        report.lines.append(f"* {contact.name}: {_describe(observations, tidied[-1])}")
        return dataclasses.replace(readings[-1], etag=written[1] or "")
    report.writes_failed += 1
    return contact
