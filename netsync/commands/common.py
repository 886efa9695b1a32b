"""What the commands share: exit codes and errors as messages (decided in app.failures),
logging, the config, a cycle run on this terminal, and printing a report.

Commands import this module and the app; they never import each other.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

# The exit codes and the errors' meaning are app.failures'; the commands take them from here.
from netsync.app.failures import (
    EXIT_CONFIG,
    EXIT_INTERRUPTED,
    EXIT_NOPERM,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    Failed,
    UsageError,
    diagnose,
    explain,
)

__all__ = [  # what commands import from here besides this module's own
    "EXIT_CONFIG",
    "EXIT_INTERRUPTED",
    "EXIT_NOPERM",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "Failed",
    "UsageError",
    "diagnose",
    "explain",
]

if TYPE_CHECKING:
    from netsync.app.config import Settings
    from netsync.app.engine import Report

log = logging.getLogger("netsync")


def parse_date(text: str) -> dt.date:
    """An argparse type: a date as YYYY-MM-DD (``--today``: runs made reproducible)."""
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


def handle(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command; a known error becomes its message on stderr and its exit code
    (app.failures decides both). ``args.writes`` False: the command wrote nothing (so far);
    ``args.redo``: the command to run again, when no later run would finish its job;
    ``args.settings``: the config it loaded (load_config keeps it there)."""
    try:
        return func(args)
    except (Exception, KeyboardInterrupt) as err:
        meaning = explain(
            err,
            wrote=getattr(args, "writes", True),
            redo=getattr(args, "redo", ""),
            settings=getattr(args, "settings", None),
        )
        if meaning is None:
            raise
        for line in meaning.lines():
            print(f"netsync: {line}", file=sys.stderr)
        return meaning.code


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
    """The config of ``--config`` (or the default); kept in ``args.settings`` so that an
    error later in the command can say where its password came from."""
    from netsync.app.config import default_config_path, load_settings

    path = args.config or default_config_path()
    settings = load_settings(path)
    args.settings = settings
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
        if quiet or not is_terminal(sys.stderr) or stderr_is_journal():
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
    """The plan as rows for `due`, by day. ``overdue_days``: how late a follow-up is (its due
    date passed); ``gifts``: the person's gift ideas, on an occasion; ``received``: the
    latest things they gave (date, what), on every row of theirs."""
    from netsync.core.model import DIGEST, FOLLOW_UP
    from netsync.core.planner import due_of_uid
    from netsync.core.texts import latest_received

    people = {c.uid: c for c in report.contacts}
    end = report.today + dt.timedelta(days=days)
    rows: list[dict[str, Any]] = []
    for r in report.wanted:
        if r.day > end or r.kind == DIGEST:
            continue
        due = due_of_uid(r.uid) if r.kind == FOLLOW_UP else r.day
        overdue = (report.today - due).days if due and due < report.today else 0
        person = people.get(r.contact_uid)
        last = person.ledger.last if person else None
        rows.append(
            {
                "date": r.day.isoformat(),
                "kind": r.kind,
                "contact": person.name if person else "",
                "uid": r.contact_uid,
                "summary": r.summary,
                "due": due.isoformat() if due else r.day.isoformat(),
                "overdue_days": overdue,
                "gifts": list(person.ledger.gifts) if person and r.kind != FOLLOW_UP else [],
                "last_contact": last.isoformat() if last else None,
                "last_how": (person.ledger.how or None) if person and last else None,
                "received": [
                    {"date": g.day.isoformat(), "what": g.text}
                    for g in (latest_received(person) if person else [])
                ],
            }
        )
    rows.sort(key=lambda row: (row["date"], -row["overdue_days"], row["kind"], row["contact"]))
    return rows


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def print_agenda(
    rows: Sequence[dict[str, Any]], *, today: dt.date, days: int, out: Any = None
) -> None:
    """By the day each reminder is on: overdue follow-ups (on today's list, their due date
    passed), the rest of today, this week, and what is further ahead. A late follow-up that
    max_per_day moved to a later day is listed on that day, saying how late it is: a person
    on tomorrow's list is not overdue today."""
    out = out or sys.stdout
    colour = use_colour(out)
    if not rows:
        print(f"Nothing due in the next {days} days.", file=out)
        return
    day0, week_end = today.isoformat(), (today + dt.timedelta(days=6)).isoformat()
    sections = [
        ("Overdue", [r for r in rows if r["date"] <= day0 and r["overdue_days"]]),
        ("Today", [r for r in rows if r["date"] <= day0 and not r["overdue_days"]]),
        ("This week", [r for r in rows if day0 < r["date"] <= week_end]),
        (
            f"Ahead (to {(today + dt.timedelta(days=days)).isoformat()})",
            [r for r in rows if r["date"] > week_end],
        ),
    ]
    for title, section in sections:
        if not section:
            continue
        print(paint(title, "today", colour), file=out)
        for r in section:
            day = dt.date.fromisoformat(r["date"])
            line = f"  {day:%a %d %b}  {r['kind']:<11} {r['summary']}"
            if r["overdue_days"]:
                late = f"  (due {r['due']}, {_days(r['overdue_days'])} ago)"
                line = paint(line, "overdue", colour) + paint(late, "dim", colour)
            elif day == today:
                line = paint(line, "today", colour)
            else:
                line = paint(line, r["kind"], colour)
            if r["kind"] == "follow-up":
                line += paint(f"  {_last_contact(r)}", "dim", colour)
            print(line, file=out)
            if r["gifts"]:
                ideas = "; ".join(" ".join(g.split()) for g in r["gifts"])
                print(paint(f"{'':26}gift ideas: {ideas}", "dim", colour), file=out)
            if r["received"]:
                gave = "; ".join(f"{g['what']} ({g['date']})".strip() for g in r["received"])
                print(paint(f"{'':26}received: {gave}", "dim", colour), file=out)


def _last_contact(row: dict[str, Any]) -> str:
    """ "last contact: 2026-11-20 (mail)", as the reminder's description says it."""
    if not row.get("last_contact"):
        return "last contact: not recorded"
    how = f" ({row['last_how']})" if row.get("last_how") else ""
    return f"last contact: {row['last_contact']}{how}"


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


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is a terminal (False for a pipe, a file, a closed or fake stream)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def use_colour(stream: Any) -> bool:
    """Colour only on a terminal, and never with NO_COLOR set (no-color.org)."""
    return is_terminal(stream) and "NO_COLOR" not in os.environ


def paint(text: str, what: str, colour: bool) -> str:
    return f"\033[{_COLOURS[what]}m{text}\033[0m" if colour and what in _COLOURS else text
