"""Write into contacts' cards: what a decision records (``last:``, ``received:``; SPEC 1, 2,
6), and any other change.

Only the NOTE changes, only when there is something to record, and always with If-Match on
the ETag netsync read. On 412 (the phone changed the card in between) the card is read again,
the change is applied to the new version and the write is tried again, at most MAX_TRIES
times (``rewrite_card``, the one loop every card write of netsync goes through): the phone's
edit always survives, and a card given up on is picked up next cycle.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from netsync.app import remote
from netsync.app.remote import ENCODING, Connections
from netsync.app.state import State
from netsync.core import learn
from netsync.core.cycle import ContactWrite
from netsync.core.model import Contact

log = logging.getLogger(__name__)

MAX_TRIES = 3


class TooManyConflicts(Exception):
    """The card changed on the server at every one of MAX_TRIES writes."""


def rewrite_card(
    conn: Connections,
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
            new_etag = remote.put_card(conn, href, new_text, etag=etag)
        except remote.Conflict:
            # Changed on a phone since we read it: read it again and apply our change to
            # the new version.
            fresh = remote.get_card(conn, book, href)
            if fresh is None:
                return None  # deleted meanwhile
            text, etag = fresh.text, fresh.etag
            seen(etag, text)
            continue
        seen(new_etag or None, new_text)
        return new_text, new_etag or None
    raise TooManyConflicts(href)


@dataclass(frozen=True)
class Recording:
    """How one contact write ended: the contact as its card now reads (None: nothing was
    written), and whether it failed (logged; counted as a failed write)."""

    after: Contact | None = None
    failed: bool = False
    tidied: tuple[str, ...] = ()  # what rewriting the block changed besides (learn.Recorded)


def write_contact(
    conn: Connections,
    state: State,
    book: str,
    write: ContactWrite,
    *,
    today: dt.date,
    language: str,
    dry_run: bool,
) -> Recording:
    """Record ``write.observations`` in the contact's card in ``book`` (learn.record, on
    every version of the card the 412 loop meets); a dry run stops short of the PUT and says
    what the card would read as."""
    contact = write.contact
    cached = state.item(book, contact.href)
    if cached is None:
        return Recording()
    readings: list[learn.Recorded] = []

    def change(text: str) -> str | None:
        found = learn.record(
            text,
            write.observations,
            uid=contact.uid,
            href=contact.href,
            today=today,
            language=language,
        )
        if found is None:
            return None  # the card already says as much (a phone wrote it meanwhile)
        readings.append(found)
        return found.text

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
            dry_run=dry_run,
            seen=seen,
        )
    except learn.CannotRecord as err:
        log.warning("cannot record contact in %s (%s): %s", contact.uid, contact.href, err.reason)
    except (remote.Unreachable, remote.AuthFailed):
        raise
    except remote.DavError as err:
        log.warning("could not write %s (%s): %s", contact.uid, contact.href, err)
    except TooManyConflicts:
        log.warning(
            "gave up writing %s after %d conflicts; trying again next cycle", contact.uid, MAX_TRIES
        )
    else:
        if written is None:
            return Recording()
        done = readings[-1]
        return Recording(
            dataclasses.replace(done.contact, etag=written[1] or ""), False, done.tidied
        )
    return Recording(failed=True)
