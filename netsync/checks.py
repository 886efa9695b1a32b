"""`netsync check`: config, credentials, discovery and write permission, each with a verdict.

Each check prints ``ok`` or ``FAIL`` and, for a failure, what to do next. The write check puts
one probe event (UID ``netsync-check-...``) into the reminders calendar and deletes it again.
"""

from __future__ import annotations

import datetime as dt
import secrets as pysecrets
import sys
from collections.abc import Callable
from typing import Any

from netsync.model import UID_PREFIX, Reminder


def _verdict(ok: bool, what: str, detail: str = "") -> bool:
    mark = "ok  " if ok else "FAIL"
    print(f"[{mark}] {what}" + (f": {detail}" if detail else ""))
    return ok


def run_checks(
    load: Callable[[], Any], connect: Callable[[Any], Any], open_state: Callable[[Any], Any]
) -> int:
    from netsync import cli, dav, dav_calendar, dav_contacts
    from netsync.config import ConfigError
    from netsync.secrets import MissingPassword

    try:
        settings = load()
    except ConfigError as err:
        _verdict(False, "config", "; ".join(err.problems))
        return cli.EXIT_CONFIG
    _verdict(True, "config", settings.source)
    try:
        conn = connect(settings)
    except MissingPassword as err:
        _verdict(False, "password", str(err))
        return cli.EXIT_CONFIG
    _verdict(True, "password", "found" if conn.contacts.password else "none needed (no username)")

    code = cli.EXIT_OK
    try:
        books = conn.call("contacts", dav_contacts.find_address_books, conn.contacts.url)
        _verdict(True, "address books", ", ".join(books))
        cal = conn.call(
            "reminders", dav_calendar.find_calendar, conn.reminders.url, conn.calendar_name
        )
        _verdict(True, f"calendar {conn.calendar_name!r}", cal)
        probe = Reminder(
            uid=f"{UID_PREFIX}check-{pysecrets.token_hex(6)}",
            kind="follow-up",
            contact_uid="netsync-check",
            day=dt.date.today(),
            summary="netsync write check",
        )
        stamp = dt.datetime.now(dt.UTC).replace(microsecond=0)
        href, etag = conn.call("reminders", dav_calendar.create, cal, probe, stamp=stamp)
        if etag is None:  # the server sent no ETag with the PUT: read it, for If-Match
            listing = conn.call(
                "reminders", dav_calendar.fetch_reminders, cal, token=None, known={}
            )
            etag = next(o.etag for o in listing.changed if o.href == href)
        conn.call("reminders", dav_calendar.delete, href, etag=etag)
        _verdict(True, "write permission", "created and deleted a probe event")
    except dav.AuthFailed as err:
        _verdict(
            False,
            "login",
            f"{err}. Check the username, and store the password again "
            "with `netsync set-password` or your password_command",
        )
        code = cli.EXIT_NOPERM
    except dav.Unreachable as err:
        _verdict(False, "server", f"{err}. Check the URL in the config and that the server is up")
        code = cli.EXIT_UNAVAILABLE
    except dav.WrongCollection as err:
        _verdict(
            False,
            "collections",
            f"{err}. Point [contacts] url at the address book or "
            "the server, [reminders] url at a calendar or the server",
        )
        code = cli.EXIT_CONFIG
    except dav.DavError as err:
        _verdict(
            False,
            "server",
            f"{err}. The calendar may be read-only: choose another [reminders] calendar",
        )
        code = cli.EXIT_UNAVAILABLE
    finally:
        conn.close()
    sys.stdout.flush()
    return code
