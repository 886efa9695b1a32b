"""Write what a decision records into one contact's card (SPEC 1, 6).

Only the NOTE changes, only when there is something to record, and always with If-Match on
the ETag netsync read. On 412 (the phone changed the card in between) the card is read again,
the change is applied to the new version (learn.record, pure) and the write is tried again,
at most MAX_TRIES times: the phone's edit always survives, and a card given up on is picked
up next cycle.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass

from netsync.app import remote
from netsync.app.remote import ENCODING, Connections
from netsync.app.state import State
from netsync.core import learn
from netsync.core.cycle import ContactWrite
from netsync.core.model import Contact

log = logging.getLogger(__name__)

MAX_TRIES = 3


@dataclass(frozen=True)
class Recording:
    """How one contact write ended: the contact as its card now reads (None: nothing was
    written), and whether it failed (logged; counted as a failed write)."""

    after: Contact | None = None
    failed: bool = False


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
    """Record ``write.observations`` in the contact's card in ``book``; a dry run stops
    short of the PUT and says what the card would read as."""
    contact = write.contact
    cached = state.item(book, contact.href)
    if cached is None:
        return Recording()
    etag, text = cached[0], cached[1].decode(*ENCODING)
    for _ in range(MAX_TRIES):
        try:
            found = learn.record(
                text,
                write.observations,
                uid=contact.uid,
                href=contact.href,
                today=today,
                language=language,
            )
        except learn.CannotRecord as err:
            log.warning(
                "cannot record contact in %s (%s): %s", contact.uid, contact.href, err.reason
            )
            return Recording(failed=True)
        if found is None:
            return Recording()  # the card already says as much (a phone wrote it meanwhile)
        new_text, after = found
        if dry_run:
            return Recording(after)
        try:
            etag = remote.put_card(conn, contact.href, new_text, etag=etag) or ""
        except remote.Conflict:
            # Changed on a phone since we read it: read it again and apply our change to the
            # new version.
            fresh = remote.get_card(conn, book, contact.href)
            if fresh is None:
                return Recording()  # deleted meanwhile
            etag, text = fresh.etag, fresh.data.decode(*ENCODING)
            state.put_item(book, contact.href, etag, fresh.data)
            continue
        except (remote.Unreachable, remote.AuthFailed):
            raise
        except remote.DavError as err:
            log.warning("could not write %s (%s): %s", contact.uid, contact.href, err)
            return Recording(failed=True)
        state.put_item(book, contact.href, etag or None, new_text.encode(*ENCODING))
        return Recording(dataclasses.replace(after, etag=etag))
    log.warning(
        "gave up writing %s after %d conflicts; trying again next cycle", contact.uid, MAX_TRIES
    )
    return Recording(failed=True)
