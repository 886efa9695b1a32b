"""`netsync check`: config, password, state, server, clock, login, address books, calendar and
write permission, each with a verdict and, for a failure, what to do next.

Checks run in order and stop at the first failure that the later ones depend on (no login, no
calendar). A clock more than five minutes off the server's is a warning: netsync works, but
"today" may be a day off around midnight. The write check puts one probe event (UID
``netsync-check-...``) into the reminders calendar and deletes it again.

Exit code: 0 when nothing failed (warnings included); else the code of the first failure, as
`sync` would exit for it: 78 config, password, wrong URL or read-only calendar; 77 login
refused; 75 server unreachable (TLS included).
"""

from __future__ import annotations

import argparse
import datetime as dt
import email.utils
import re
import secrets as pysecrets
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import urlsplit

from netsync.app import session
from netsync.app.failures import Meaning, login_advice
from netsync.app.secrets import password_source
from netsync.commands.common import (
    EXIT_CONFIG,
    EXIT_NOPERM,
    EXIT_OK,
    diagnose,
    explain,
    load_config,
)
from netsync.core.model import UID_PREFIX, Reminder
from netsync.dav import origin

SKEW_LIMIT = dt.timedelta(minutes=5)
WIDTH = 92  # advice is wrapped; URLs and details are not, so they can be copied whole
_PROPFIND = '<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/></d:prop></d:propfind>'


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "check",
        help="check config, credentials, discovery and write access",
        description="Check the config, the password, the address book and the "
        "calendar (including write permission), each with a verdict.",
        epilog="example:\n  netsync check",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(func=run, writes=False)


def run(args: argparse.Namespace) -> int:
    return run_checks(lambda: load_config(args), session.connections, session.open_state)


@dataclass(frozen=True)
class Verdict:
    level: str  # "ok", "warn" or "FAIL"
    what: str
    detail: str = ""
    next: str = ""  # what to do about a failure or a warning
    notes: tuple[str, ...] = ()  # facts to know (a provider's known limits)

    def render(self) -> str:
        line = f"[{self.level:<4}] {self.what}" + (f": {self.detail}" if self.detail else "")
        for note in self.notes:
            line += "\n" + textwrap.fill(
                note,
                width=WIDTH,
                initial_indent="       - ",
                subsequent_indent="         ",
                break_long_words=False,
                break_on_hyphens=False,
            )
        if not self.next:
            return line
        # Spaces inside `commands` become NULs for a moment, so no command is split.
        protected = re.sub(r"`[^`]*`", lambda m: m.group(0).replace(" ", "\0"), self.next)
        advice = textwrap.fill(
            protected,
            width=WIDTH,
            initial_indent="       next: ",
            subsequent_indent="             ",
            break_long_words=False,
            break_on_hyphens=False,
        )
        return f"{line}\n{advice.replace(chr(0), ' ')}"


class _Failed(Exception):
    def __init__(self, verdict: Verdict, code: int) -> None:
        super().__init__(verdict.detail)
        self.verdict = verdict
        self.code = code


def run_checks(
    load: Callable[[], Any],
    connect: Callable[[Any], Any],
    open_state: Callable[[Any], Any],
    *,
    now: Callable[[], dt.datetime] | None = None,
    out: TextIO | None = None,
) -> int:
    """Print each verdict to ``out``; the exit code (see the module docstring).

    ``now`` is the local clock (UTC-aware) that the server's Date header is compared with.
    """
    stream = out or sys.stdout
    checker = _Checker(lambda v: print(v.render(), file=stream, flush=True), now or _utcnow)
    try:
        checker.run(load, connect, open_state)
    except _Failed as failed:
        checker.say(failed.verdict)
        print("Fix that, then run `netsync check` again.", file=stream)
        return failed.code
    finally:
        checker.close()
    warned = checker.warnings
    print("All checks passed" + (f", with {warned} warning(s)." if warned else "."), file=stream)
    return EXIT_OK


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _Checker:
    def __init__(self, say: Callable[[Verdict], None], now: Callable[[], dt.datetime]) -> None:
        self._say = say
        self.now = now
        self.warnings = 0
        self.conn: Any = None

    def say(self, verdict: Verdict) -> None:
        self.warnings += verdict.level == "warn"
        self._say(verdict)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()

    def run(self, load: Callable[[], Any], connect: Callable[[Any], Any], open_state: Any) -> None:
        settings = self.config(load)
        self.provider(settings)
        self.conn = self.password(settings, connect)
        self.state(settings, open_state)
        accounts = [("contacts", settings.contacts)]
        if origin(settings.reminders.url) != origin(settings.contacts.url):
            accounts.append(("reminders", settings.reminders))
        for which, section in accounts:
            self.server(which, section)
        self.address_books(settings)
        cal = self.calendar(settings)
        self.write(settings, cal)
        if settings.mail.enabled:
            self.mail(settings, open_state)
        self.notes(settings, open_state)

    # -- the steps --------------------------------------------------------------------------

    def provider(self, settings: Any) -> None:
        """The providers recognised from the URLs, with what netsync cannot do there."""
        from netsync.dav import providers

        seen = []
        for url in (settings.contacts.url, settings.reminders.url):
            found = providers.provider_for_url(url)
            if found is not None and found not in seen:
                seen.append(found)
        for found in seen:
            self.say(Verdict("ok", "provider", f"{found.name}; known limits:", notes=found.limits))

    def config(self, load: Callable[[], Any]) -> Any:
        from netsync.app.config import EXAMPLE_HINT, ConfigError

        try:
            settings = load()
        except ConfigError as err:
            # config's own hint for a missing file says "copy the example"; init is simpler.
            problems = [p.replace(f"; {EXAMPLE_HINT}", "") for p in err.problems]
            missing = len(problems) < 2 and any("no such file" in p for p in problems)
            raise _Failed(
                Verdict(
                    "FAIL",
                    "config",
                    problems[0]
                    if len(problems) == 1
                    else f"{len(problems)} problems"
                    + "".join(f"\n       {problem}" for problem in problems),
                    "run `netsync init` to write one (or copy config/netsync.example.toml there)"
                    if missing
                    else "fix these lines in the file (config/netsync.example.toml explains "
                    "every key)",
                ),
                _meaning(err).code,
            ) from None
        warned = len(settings.warnings)
        self.say(
            Verdict(
                "ok" if not warned else "warn",
                "config",
                settings.source + (f" ({warned} warning(s), shown above)" if warned else ""),
            )
        )
        return settings

    def password(self, settings: Any, connect: Callable[[Any], Any]) -> Any:
        from netsync.app.secrets import MissingPassword

        try:
            conn = connect(settings)
        except MissingPassword as err:  # PasswordCommandError too
            meaning = explain(err, settings=settings)
            assert meaning is not None
            raise _Failed(
                Verdict("FAIL", "password", meaning.what[0], meaning.next), meaning.code
            ) from None
        sources = {
            password_source("contacts", settings.contacts): None,
            password_source("reminders", settings.reminders): None,
        }
        said = [f"from {s}" if s else "none needed (no username)" for s in sources]
        what = "sign-in (refresh token)" if settings.contacts.oauth else "password"
        self.say(Verdict("ok", what, ", ".join(said)))
        return conn

    def state(self, settings: Any, open_state: Callable[[Any], Any]) -> None:
        try:
            open_state(settings).close()
        except OSError as err:
            raise _Failed(
                Verdict(
                    "FAIL",
                    "state",
                    f"cannot use {settings.state_dir}: {err.strerror or err}",
                    "make it writable, or set [state] dir to a directory you own",
                ),
                _meaning(err).code,
            ) from None
        self.say(Verdict("ok", "state", str(settings.state_dir)))

    def server(self, which: str, section: Any) -> None:
        from netsync import dav

        url = section.url
        try:
            reply = self.conn.call(which, dav.options, url)
        except dav.AuthFailed as err:
            raise self._login_failed(which, section, err) from None
        except dav.Unreachable as err:
            raise self._unreachable(which, url, err) from None
        tls = " over TLS" if urlsplit(url).scheme == "https" else ""
        self.say(Verdict("ok", "server", f"{origin(url)} answers{tls}"))
        self.clock(url, reply.headers.get("Date") if reply.headers is not None else None)

    def clock(self, url: str, date_header: str | None) -> None:
        if not date_header:
            return
        try:
            server = email.utils.parsedate_to_datetime(date_header)
        except (TypeError, ValueError):
            return
        if server.tzinfo is None:
            server = server.replace(tzinfo=dt.UTC)
        skew = self.now() - server
        seconds = abs(skew.total_seconds())
        if abs(skew) <= SKEW_LIMIT:
            self.say(Verdict("ok", "clock", f"within {_span(seconds)} of {origin(url)}"))
            return
        side = "ahead of" if skew > dt.timedelta(0) else "behind"
        self.say(
            Verdict(
                "warn",
                "clock",
                f"this machine's clock is {_span(seconds)} {side} {origin(url)}",
                "what is due today depends on the date, and a server may refuse requests "
                "from a clock far off: turn on time sync (`timedatectl set-ntp true`)",
            )
        )

    def address_books(self, settings: Any) -> None:
        from netsync import dav
        from netsync.dav import addressbook

        url = settings.contacts.url
        try:
            books = self.conn.call("contacts", addressbook.find_address_books, url)
        except dav.AuthFailed as err:
            raise self._login_failed("contacts", settings.contacts, err) from None
        except dav.WrongCollection as err:
            raise _Failed(
                Verdict(
                    "FAIL",
                    "address books",
                    str(err),
                    "set [contacts] url to the address book, your principal or the server "
                    "root; `netsync init` lists what there is",
                ),
                _meaning(err).code,
            ) from None
        except dav.Unreachable as err:
            raise self._unreachable("contacts", url, err) from None
        except dav.DavError as err:
            raise self._wrong_url("contacts", url, err) from None
        if settings.contacts.username:
            self.say(Verdict("ok", "login", f"{settings.contacts.username} at {origin(url)}"))
        self.say(Verdict("ok", "address books", ", ".join(books)))

    def calendar(self, settings: Any) -> str:
        from netsync import dav
        from netsync.dav import calendar

        url, name = settings.reminders.url, settings.reminders.calendar
        try:
            try:
                cal = self.conn.call("reminders", calendar.find_calendar, url, name, create=False)
                made = ""
            except dav.DavError as err:
                if type(err) is not dav.DavError or "no calendar named" not in str(err):
                    raise
                cal = self.conn.call("reminders", calendar.find_calendar, url, name)
                made = " (it did not exist: made it)"
        except dav.AuthFailed as err:
            raise self._login_failed("reminders", settings.reminders, err) from None
        except dav.WrongCollection as err:
            raise _Failed(
                Verdict(
                    "FAIL",
                    f"calendar {name!r}",
                    str(err),
                    "set [reminders] url to the calendar, your principal or the server root",
                ),
                _meaning(err).code,
            ) from None
        except dav.Unreachable as err:
            raise self._unreachable("reminders", url, err) from None
        except dav.DavError as err:
            if "MKCALENDAR" in str(err) or "refused access" in str(err):
                raise _Failed(
                    Verdict(
                        "FAIL",
                        f"calendar {name!r}",
                        "there is none, and the server would not let netsync make it "
                        f"({_status(err)})",
                        f'make a calendar called "{name}" in your calendar app, or set '
                        "[reminders] calendar to one you can write to",
                    ),
                    _meaning(err).code,
                ) from None
            raise self._wrong_url("reminders", url, err) from None
        self.say(Verdict("ok", f"calendar {name!r}", cal + made))
        return str(cal)

    def write(self, settings: Any, cal: str) -> None:
        from netsync import dav
        from netsync.core import ics
        from netsync.dav import calendar

        probe = Reminder(
            uid=f"{UID_PREFIX}check-{pysecrets.token_hex(6)}",
            kind="follow-up",
            contact_uid="netsync-check",
            day=self.now().date(),
            summary="netsync write check",
        )
        stamp = self.now().astimezone(dt.UTC).replace(microsecond=0)
        try:
            data = ics.render(probe, stamp=stamp)
            href, etag = self.conn.call("reminders", calendar.create, cal, probe.uid, data)
        except dav.AuthFailed as err:
            raise self._login_failed("reminders", settings.reminders, err) from None
        except dav.Unreachable as err:
            raise _Failed(
                Verdict("FAIL", "server", *_diagnosed(cal, err)), _meaning(err).code
            ) from None
        except dav.DavError as err:
            who = settings.reminders.username or "you"
            raise _Failed(
                Verdict(
                    "FAIL",
                    "write permission",
                    f"the server refused a test event in {cal}: the calendar is read-only "
                    f"for {who} ({_status(err)})",
                    "set [reminders] calendar to a new name (netsync makes that calendar) or "
                    "to one you can write to, or ask the calendar's owner for write access",
                ),
                _meaning(err).code,
            ) from None
        try:
            if etag is None:  # no ETag with the PUT: read it, for If-Match
                listing = self.conn.call(
                    "reminders", calendar.fetch_reminders, cal, token=None, known={}
                )
                etag = next(o.etag for o in listing.changed if o.href == href)
            self.conn.call("reminders", calendar.delete, href, etag=etag)
        except (dav.DavError, StopIteration) as err:
            self.say(
                Verdict(
                    "warn",
                    "write permission",
                    f"wrote a test event but could not delete it ({err})",
                    f"delete the event 'netsync write check' ({href}) in your calendar app",
                )
            )
            return
        self.say(Verdict("ok", "write permission", "created and deleted a test event"))

    def mail(self, settings: Any, open_state: Callable[[Any], Any]) -> None:
        """Log in to the mail server, find the sent folder, count what the next cycle reads."""
        from netsync.app import imap

        m = settings.mail
        box = self.conn.mail
        where = f"{m.username} at {origin(m.url)}"
        state = open_state(settings)
        try:
            found = box.survey(state, today=self.now().date())
        except imap.MailError as err:
            meaning = explain(err, wrote=False, settings=settings)
            assert meaning is not None  # every MailError has a meaning (app/failures.py)
            step = {
                imap.MailAuthFailed: "mail login",
                imap.MailUnreachable: "mail server",
                imap.MailNoPassword: "mail password",
            }.get(type(err), "mail folder")  # its message says what to do
            raise _Failed(
                Verdict("FAIL", step, "; ".join(meaning.what), meaning.next), meaning.code
            ) from None
        finally:
            state.close()
        tls = {"none": "no TLS: a server on this machine"}.get(box.encryption, box.encryption)
        self.say(Verdict("ok", "mail login", f"{where} ({tls})"))
        self.say(Verdict("ok", "mail folders", f"{', '.join(found.folders)} ({found.found_by})"))
        reading = (
            f"the next cycle reads the headers of {found.to_read:,} message(s)"
            if found.to_read
            else "nothing new to read"
        )
        self.say(Verdict("ok", "mail", f"{reading}; never a subject or a body"))

    def notes(self, settings: Any, open_state: Callable[[Any], Any]) -> None:
        """Every line of every note that netsync keeps but cannot use (SPEC 2), read with a
        cycle that writes nothing."""
        from netsync.app.engine import run_cycle
        from netsync.core import notes

        state = open_state(settings)
        try:
            report = run_cycle(
                self.conn,
                state,
                today=session.today_for(settings, None),
                settings=settings,
                dry_run=True,
            )
        finally:
            state.close()
        found = [
            f"{contact.name}: {line.strip()}  ({why})"
            for contact in sorted(report.contacts, key=lambda c: (c.name.casefold(), c.uid))
            for line, why in notes.not_understood(contact.note, contact.ledger)
        ]
        if not found:
            self.say(Verdict("ok", "notes", f"{len(report.contacts)} contacts, nothing unread"))
            return
        self.say(
            Verdict(
                "warn",
                "notes",
                f"{len(found)} line(s) netsync keeps but cannot use:"
                + "".join(f"\n       {line}" for line in found),
                "correct them on the phone (the block's keys are last, every, occasion, gift, "
                "pause and received; dates as YYYY-MM-DD, DD-MM-YYYY, today or yesterday), "
                "and put block lines between [netsync] and [/netsync]",
            )
        )

    # -- failures ---------------------------------------------------------------------------

    def _login_failed(self, which: str, section: Any, err: Exception) -> _Failed:
        from netsync.app.oauth import FIX, GrantRevoked

        if isinstance(err, GrantRevoked):
            return _Failed(
                Verdict("FAIL", "sign-in", err.reason, f"sign in again with `{FIX}`"),
                EXIT_NOPERM,
            )
        meaning = _meaning(err)
        advice = login_advice(which, section)
        return _Failed(Verdict("FAIL", "login", meaning.what[0], advice), meaning.code)

    def _unreachable(self, which: str, url: str, err: Any) -> _Failed:
        """A 5xx after the server answered OPTIONS: a web server that is not DAV answers
        PROPFIND with 405 or 501, which is a wrong URL, not an outage."""
        if " answered 405" in err.reason or " answered 501" in err.reason:
            return self._wrong_url(which, url, err)
        return _Failed(Verdict("FAIL", "server", *_diagnosed(url, err)), _meaning(err).code)

    def _wrong_url(self, which: str, url: str, err: Exception) -> _Failed:
        """What is at ``url``, for a failure that is not about the login or the network."""
        from netsync import dav

        kind = "address book" if which == "contacts" else "calendar"
        try:
            status = self.conn.call(which, _propfind_status, url)
        except dav.Unreachable as failed:  # dav.check_status: 5xx, e.g. 501 Not Implemented
            found = re.search(r"answered (\d{3})", failed.reason)
            status = int(found.group(1)) if found else 0
        except dav.DavError:
            status = 0
        if status == 404:
            detail = f"nothing at {url} (404 Not Found)"
        elif status == 403:
            detail = f"{url} is not yours to read (403 Forbidden)"
        elif status and status != 207:
            detail = f"{url} is a web server, but not a DAV server (PROPFIND answered {status})"
        else:
            detail = str(err)
        return _Failed(
            Verdict(
                "FAIL",
                "URL",
                detail,
                f"fix [{which}] url: the server root is enough (https://HOST/remote.php/dav/ for "
                f"Nextcloud, https://HOST/dav.php/ for Baïkal, https://HOST/ for most); "
                f"`netsync init` finds your {kind} from your e-mail address or a provider name",
            ),
            EXIT_CONFIG,
        )


def _propfind_status(client: Any, url: str) -> int:
    return int(client.propfind(url, _PROPFIND, depth=0).status)


def _diagnosed(url: str, err: Any) -> tuple[str, str]:
    reason, advice = diagnose(url, err)
    return f"{origin(url)}: {reason}", advice


def _meaning(err: BaseException) -> Meaning:
    """What app.failures says ``err`` means (check knows only errors it knows)."""
    meaning = explain(err, wrote=False)
    assert meaning is not None, err
    return meaning


def _status(err: BaseException) -> str:
    """ "403 Forbidden" from a refusal, however caldav or dav.check_status worded it."""
    cause = err.__cause__
    status = getattr(cause, "status", None)
    if status:
        reason = str(getattr(cause, "reason", "") or "")
        return f"{status} {reason}".strip()
    answered = re.search(r"answered (\d{3})", str(err))
    return f"it answered {answered.group(1)}" if answered else str(err)


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{round(seconds)} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"
