"""What the commands share: exit codes, the one map from errors to messages and exit codes,
logging, the config, a cycle run on this terminal, and printing a report.

Commands import this module and the app; they never import each other.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from netsync.app.config import Settings
    from netsync.app.engine import Report

log = logging.getLogger("netsync")

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 75
EXIT_NOPERM = 77
EXIT_CONFIG = 78


class UsageError(Exception):
    """Bad arguments that argparse could not catch (exit 2)."""


def parse_date(text: str) -> dt.date:
    """An argparse type: a date as YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def parse_moment(text: str) -> dt.date:
    """An argparse type for ``--today``: a date (YYYY-MM-DD), or a date and a local time
    (YYYY-MM-DDTHH:MM), returned as a ``datetime`` (which is a ``date``)."""
    try:
        if "T" in text or " " in text.strip():
            return dt.datetime.fromisoformat(text.strip()).replace(tzinfo=None)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM): {text!r}"
        ) from None


def exit_code(err: BaseException) -> int | None:
    """The exit code of a known error (SPEC 8); None for anything else (a bug)."""
    from netsync import dav
    from netsync.app.config import ConfigError
    from netsync.app.secrets import MissingPassword

    if isinstance(err, ConfigError | MissingPassword | dav.WrongCollection):
        return EXIT_CONFIG
    if isinstance(err, dav.AuthFailed):
        return EXIT_NOPERM
    if isinstance(err, dav.DavError):
        return EXIT_UNAVAILABLE
    if isinstance(err, UsageError):
        return EXIT_USAGE
    if isinstance(err, KeyboardInterrupt):
        return 130
    return None


def handle(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """The one place where errors become messages and exit codes."""
    from netsync import dav
    from netsync.app.config import ConfigError

    try:
        return func(args)
    except (Exception, KeyboardInterrupt) as err:
        code = exit_code(err)
        if code is None:
            raise
        if isinstance(err, ConfigError):
            for problem in err.problems:
                print(f"netsync: config: {problem}", file=sys.stderr)
        elif isinstance(err, dav.WrongCollection):
            print(f"netsync: {err}; fix the URL in the config", file=sys.stderr)
        elif isinstance(err, dav.Unreachable):
            print(
                f"netsync: {err}; try again later (what this run wrote is safe: the next run "
                "reads everything afresh and finishes the job)",
                file=sys.stderr,
            )
        elif isinstance(err, dav.AuthFailed):
            print(f"netsync: {err}", file=sys.stderr)
        elif isinstance(err, dav.DavError):
            print(f"netsync: server error: {err}", file=sys.stderr)
        elif not isinstance(err, KeyboardInterrupt):
            print(f"netsync: {err}", file=sys.stderr)
        return code


# -- logging --------------------------------------------------------------------------------


def setup_logging(verbose: int, quiet: bool) -> None:
    level = (
        logging.ERROR
        if quiet
        else (logging.DEBUG if verbose > 1 else logging.INFO if verbose == 1 else logging.WARNING)
    )
    if stderr_is_journal():
        # journald adds its own timestamps; <N> prefixes are syslog priorities.
        fmt = "%(levelprefix)s%(name)s: %(message)s"
    else:
        fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(fmt, datefmt="%H:%M:%S"))
    # caldav's debug and info output holds request and response bodies, which hold NOTE text,
    # and some of it goes to the root logger, not "caldav". So below WARNING only netsync's
    # own records pass, at any -v (PYTHON_CALDAV_COMMDUMP is caldav's own way to see the wire).
    handler.addFilter(_netsync_or_warning)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("caldav", "niquests", "urllib3", "urllib3_future", "schedule"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))  # saves formatting them


def _netsync_or_warning(record: logging.LogRecord) -> bool:
    if record.name.split(".")[0] == "netsync":
        return True
    if record.levelno < logging.WARNING:
        return False
    # caldav quotes whole XML bodies in some warnings ("Deviation from expectations found")
    # and in tracebacks: a library's warning shows as its first line only.
    record.msg, record.args = record.getMessage().split("\n", 1)[0][:200], ()
    record.exc_info, record.exc_text, record.stack_info = None, None, None
    return True


def stderr_is_journal() -> bool:
    """stderr is connected to the journal: $JOURNAL_STREAM ("DEV:INODE") names this stream.

    A child whose stderr was redirected (`netsync sync 2>file` inside a unit, or a shell under
    `systemd-run`) inherits the variable, so it is compared with stderr (systemd.exec(5)).
    """
    try:
        device, inode = (int(part) for part in os.environ.get("JOURNAL_STREAM", "").split(":"))
        st = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError, AttributeError):  # unset, garbage, or no real file (pytest)
        return False
    return (st.st_dev, st.st_ino) == (device, inode)


class _Formatter(logging.Formatter):
    _PRIORITY = {
        logging.DEBUG: 7,
        logging.INFO: 6,
        logging.WARNING: 4,
        logging.ERROR: 3,
        logging.CRITICAL: 2,
    }

    def format(self, record: logging.LogRecord) -> str:
        record.levelprefix = f"<{self._PRIORITY.get(record.levelno, 6)}>"
        return super().format(record)


# -- the config and a cycle -----------------------------------------------------------------


def load_config(args: argparse.Namespace) -> Settings:
    from netsync.app.config import default_config_path, load_settings

    path = args.config or default_config_path()
    settings = load_settings(path)
    for warning in settings.warnings:
        log.warning("%s", warning)
    return settings


def run_once(
    settings: Settings,
    *,
    today: dt.date,
    dry_run: bool,
    extra: Callable[..., Any] | None = None,
    now: dt.datetime | None = None,
) -> Report:
    """One cycle, with a progress line when stderr is a terminal, and a warning for each
    line netsync cannot use in a card that changed (whichever command read it first says
    it). ``now``: the local time the reminders are written at (``session.now_for``); None
    for the clock's, or the start of ``today`` when that is another day (``--today``)."""
    from netsync.app import session

    if now is None:
        clock = session.now_for(settings, None)
        now = clock if clock.date() == today else session.now_for(settings, today)
    progress = TerminalProgress.for_stderr()
    try:
        report = session.run_once(
            settings, today=today, dry_run=dry_run, now=now, extra=extra, progress=progress
        )
    finally:
        if isinstance(progress, TerminalProgress):
            progress.clear()
    warn_not_understood(report)
    return report


class TerminalProgress:
    """A one-line progress display on stderr, for long work on a terminal only: not when
    piped, not under the service, not with -q."""

    def __init__(self) -> None:
        self.width = 0

    @classmethod
    def for_stderr(cls) -> Any:
        from netsync.app.engine import _quiet

        quiet = logging.getLogger().level >= logging.ERROR
        if quiet or not sys.stderr.isatty() or stderr_is_journal():
            return _quiet
        return cls()

    def __call__(self, what: str, done: int, total: int) -> None:
        if total < 200:
            return  # quick work needs no progress line
        text = f"{what} {done}/{total}"
        sys.stderr.write("\r" + text.ljust(self.width))
        sys.stderr.flush()
        self.width = max(self.width, len(text))

    def clear(self) -> None:
        if self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")  # no escape codes: NO_COLOR
            sys.stderr.flush()


# -- output ---------------------------------------------------------------------------------


def agenda(report: Report, *, days: int) -> list[dict[str, Any]]:
    """The plan as rows for `due`: overdue follow-ups first, then by day."""
    from netsync.core.model import DIGEST, FOLLOW_UP
    from netsync.core.planner import due_of_uid
    from netsync.core.texts import latest_received

    names = {c.uid: c.name for c in report.contacts}
    gave = {c.uid: latest_received(c) for c in report.contacts if c.ledger.received}
    end = report.today + dt.timedelta(days=days)
    rows = []
    for r in report.wanted:
        if r.day > end or r.kind == DIGEST:
            continue
        due = due_of_uid(r.uid) if r.kind == FOLLOW_UP else r.day
        overdue = (report.today - due).days if due and due < report.today else 0
        rows.append(
            {
                "date": r.day.isoformat(),
                "kind": r.kind,
                "contact": names.get(r.contact_uid, ""),
                "uid": r.contact_uid,
                "summary": r.summary,
                "due": due.isoformat() if due else r.day.isoformat(),
                "overdue_days": overdue,
                "received": [
                    {"date": g.day.isoformat(), "what": g.text} for g in gave.get(r.contact_uid, [])
                ],
            }
        )
    rows.sort(key=lambda row: (row["overdue_days"] == 0, row["date"], row["kind"], row["contact"]))
    return rows


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def print_agenda(
    rows: Sequence[dict[str, Any]], *, today: dt.date, days: int, out: Any = None
) -> None:
    """Overdue follow-ups first, then this week, then what is further ahead."""
    out = out or sys.stdout
    colour = use_colour(out)
    if not rows:
        print(f"Nothing due in the next {days} days.", file=out)
        return
    week_end = (today + dt.timedelta(days=6)).isoformat()
    sections = [
        ("Overdue", [r for r in rows if r["overdue_days"]]),
        ("This week", [r for r in rows if not r["overdue_days"] and r["date"] <= week_end]),
        (
            f"Ahead (to {(today + dt.timedelta(days=days)).isoformat()})",
            [r for r in rows if not r["overdue_days"] and r["date"] > week_end],
        ),
    ]
    for title, section in sections:
        if not section:
            continue
        print(paint(title, "today", colour), file=out)
        for r in section:
            day = dt.date.fromisoformat(r["date"])
            when = f"{day:%a %d %b}"
            line = f"  {when}  {r['kind']:<11} {r['summary']}"
            if r["overdue_days"]:
                late = f"  (due {r['due']}, {_days(r['overdue_days'])} ago)"
                line = paint(line, "overdue", colour) + paint(late, "dim", colour)
            elif day == today:
                line = paint(line, "today", colour)
            else:
                line = paint(line, r["kind"], colour)
            print(line, file=out)
            if r.get("received"):
                gifts = "; ".join(f"{g['what']} ({g['date']})".strip() for g in r["received"])
                print(paint(f"{' ' * 26}received: {gifts}", "dim", colour), file=out)


def print_report(report: Report, out: Any = None) -> None:
    out = out or sys.stdout
    for line in report.lines:
        print(line, file=out)
    prefix = "dry run, nothing written: " if report.dry_run else ""
    print(prefix + report.summary(), file=out)


def warn_not_understood(report: Report) -> None:
    """A warning naming the person and the line, for each line netsync keeps but cannot use
    in a card that changed (SPEC 2). Under systemd (stderr is the journal) the line is left
    out, as logs hold no NOTE text (SPEC 9), and `netsync check` shows it."""
    if stderr_is_journal():
        for warning in report.not_understood_by_card():
            log.warning("%s", warning)
        return
    for name, _, line, why in report.not_understood:
        log.warning("%s: a line of the note is %s, kept as it is: %s", name, why, line.strip())


_COLOURS = {
    "overdue": "31",
    "today": "1",
    "birthday": "35",
    "anniversary": "35",
    "occasion": "36",
    "dim": "2",
}


def use_colour(stream: Any) -> bool:
    """Colour only on a terminal, and never with NO_COLOR set (no-color.org)."""
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def paint(text: str, what: str, colour: bool) -> str:
    return f"\033[{_COLOURS[what]}m{text}\033[0m" if colour and what in _COLOURS else text


def diagnose(url: str, err: Any, *, trust: str) -> tuple[str, str]:
    """(what went wrong, what to do) for a server that could not be reached. ``trust`` says
    how to trust a private CA where the caller is ("set [contacts] ca_file to its path",
    "pass --ca-file with it"). Shared with `netsync init`."""
    parts = urlsplit(url)
    host = parts.hostname or url
    port = parts.port or (443 if parts.scheme == "https" else 80)
    reason = str(getattr(err, "reason", err))
    low = reason.lower()
    failed = re.search(r"certificate verify failed: ([^(]+?)\s*\(", reason)
    if failed or "certificate" in low:
        said = failed.group(1) if failed else "see -v"
        return (
            f"TLS certificate not trusted: {said}",
            f"if {host} is your own server with a self-signed certificate or a private CA, "
            f"save that certificate as PEM and {trust} (`openssl s_client -showcerts -connect "
            f"{host}:{port} </dev/null` shows it); otherwise the URL may name the wrong host",
        )
    if "wrong_version_number" in low or "record layer" in low or "http request" in low:
        return (
            f"{host}:{port} does not speak https (TLS)",
            f"if the server speaks plain http there (Radicale on port 5232 without TLS), "
            f"write http://{parts.netloc}/ instead; the password then crosses the network "
            "unencrypted, so only on a network you trust",
        )
    if "refused" in low:
        return (
            "connection refused",
            f"nothing listens at {host}:{port}: is the server running, and are the host and "
            "port right?",
        )
    if "timed out" in low:
        return "no answer in time", "check the network; a slow server: raise [contacts] timeout"
    if any(word in low for word in ("name or service", "resolve", "getaddrinfo", "nodename")):
        return (
            f"the host name {host} is unknown",
            "check the address for a typo, and that this machine can look up names (DNS)",
        )
    return reason, "check the URL, the network, and that the server is up"
