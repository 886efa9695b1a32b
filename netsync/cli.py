"""The command line: argparse, one function per command, and the one place that maps errors
to messages and exit codes (SPEC 8).

Heavy libraries (caldav, icalendar, vobject) are imported inside the commands, so
``netsync --help`` starts fast.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netsync.config import Settings
    from netsync.engine import Connections, Report

log = logging.getLogger("netsync")

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 75
EXIT_NOPERM = 77
EXIT_CONFIG = 78


class UsageError(Exception):
    """Bad arguments that argparse could not catch (exit 2)."""


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netsync",
        description="Keep in touch: follow-up and occasion reminders from your CardDAV "
        "address book into your CalDAV calendar.",
        epilog="example: netsync sync --dry-run",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="config file (default: $NETSYNC_CONFIG, else ~/.config/netsync/config.toml)",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "sync",
        help="one cycle: read, learn, plan, write",
        description="Read the address book and the calendar, plan, and write "
        "the reminders that changed. Prints one line per change.",
        epilog="examples:\n  netsync sync --dry-run\n  netsync sync --today 2026-12-01",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--dry-run", action="store_true", help="write nothing; say what would change")
    p.add_argument("--today", type=_date, metavar="DATE", help="plan as if today were DATE")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser(
        "due",
        help="who is overdue and what is coming",
        description="Who is overdue and what is coming up, as a table or JSON.",
        epilog="examples:\n  netsync due\n  netsync due --days 30 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--days", type=int, default=14, metavar="N", help="look N days ahead (14)")
    p.add_argument("--today", type=_date, metavar="DATE", help="as if today were DATE")
    p.add_argument("--json", action="store_true", help="a JSON list instead of a table")
    p.set_defaults(func=cmd_due)

    p = sub.add_parser(
        "check",
        help="check config, credentials, discovery and write access",
        description="Check the config, the password, the address book and the "
        "calendar (including write permission), each with a verdict.",
        epilog="example:\n  netsync check",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "log",
        help="record contact with a person",
        description="Record that you were in touch with someone: writes `last:` into the "
        "contact's NOTE (only if newer than what is there) and re-plans their follow-up.",
        epilog='examples:\n  netsync log "Alice Jansen" --via call\n'
        "  netsync log alice@example.org --date 2026-11-20 --via visit",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("query", help="part of the name, an e-mail address, or the contact's UID")
    p.add_argument("--via", default="", metavar="HOW", help="how: call, visit, coffee, ...")
    p.add_argument("--date", type=_date, metavar="DATE", help="when (default: today)")
    p.add_argument("--today", type=_date, metavar="DATE", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_log)

    p = sub.add_parser(
        "run",
        help="the daemon: a cycle every [daemon] interval and after midnight",
        description="Run as a service: a cycle every [daemon] interval (15 min) "
        "and right after local midnight. SIGHUP reloads the config; SIGTERM "
        "stops cleanly. Talks to systemd when started by it (Type=notify).",
        epilog="example:\n  netsync run\n  systemctl --user start netsync",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "set-password",
        help="store a password in the system keyring",
        description="Store a password in the system keyring (service netsync, "
        "key the username). On a server without a keyring use a systemd "
        "credential or password_command instead.",
        epilog="examples:\n  netsync set-password\n  netsync set-password --for reminders",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--for",
        dest="account",
        choices=("contacts", "reminders"),
        default="contacts",
        help="which account (contacts)",
    )
    p.set_defaults(func=cmd_set_password)

    p = sub.add_parser(
        "demo",
        help="a local Radicale with a sample address book; no account",
        description="Start a private Radicale on 127.0.0.1 with a sample address "
        "book of 25 people, run one sync, and print the agenda.",
        epilog="examples:\n  netsync demo\n  netsync demo --serve",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--serve",
        action="store_true",
        help="keep the server running afterwards so you can look with a client",
    )
    p.add_argument("--today", type=_date, metavar="DATE", help="as if today were DATE")
    p.set_defaults(func=cmd_demo)

    from netsync import wizard  # light: caldav/icalendar/keyring load only inside the command

    wizard.register(sub)
    return parser


def setup_logging(verbose: int, quiet: bool) -> None:
    level = (
        logging.ERROR
        if quiet
        else (logging.DEBUG if verbose > 1 else logging.INFO if verbose == 1 else logging.WARNING)
    )
    if _stderr_is_journal():
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


def _stderr_is_journal() -> bool:
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


def load_config(args: argparse.Namespace) -> Settings:
    from netsync.config import default_config_path, load_settings

    path = args.config or default_config_path()
    settings = load_settings(path)
    for warning in settings.warnings:
        log.warning("%s", warning)
    return settings


def today_for(settings: Settings, override: dt.date | None) -> dt.date:
    if override is not None:
        return override
    if settings.locale.timezone:
        from zoneinfo import ZoneInfo

        return dt.datetime.now(ZoneInfo(settings.locale.timezone)).date()
    return dt.date.today()


def connections(settings: Settings) -> Connections:
    from netsync import dav, secrets
    from netsync.engine import Connections

    c, r = settings.contacts, settings.reminders

    def password(account: str, username: str, command: str) -> str:
        if not username:
            return ""  # no username: the server takes no login (Xandikos, a local Radicale)
        return secrets.get_password(account=account, username=username, password_command=command)

    contacts_pw = password("contacts", c.username, c.password_command)
    reminders_pw = (
        contacts_pw if r.inherits_login else password("reminders", r.username, r.password_command)
    )
    return Connections(
        contacts=dav.Account(c.url, c.username, contacts_pw, float(c.timeout), c.ca_file),
        reminders=dav.Account(r.url, r.username, reminders_pw, float(c.timeout), r.ca_file),
        calendar_name=r.calendar,
        detect_calendars=settings.detect_calendars,
    )


def open_state(settings: Settings) -> Any:
    from netsync.state import State

    return State(settings.state_dir)


def run_once(
    settings: Settings, *, today: dt.date, dry_run: bool, extra: Callable[..., Any] | None = None
) -> Report:
    from netsync.engine import run_cycle

    conn = connections(settings)
    state = open_state(settings)
    progress = TerminalProgress.for_stderr()
    try:
        return run_cycle(
            conn,
            state,
            today=today,
            settings=settings,
            dry_run=dry_run,
            extra=extra,
            progress=progress,
        )
    finally:
        if isinstance(progress, TerminalProgress):
            progress.clear()
        state.close()
        conn.close()


class TerminalProgress:
    """A one-line progress display on stderr, for long work on a terminal only: not when
    piped, not under the service, not with -q."""

    def __init__(self) -> None:
        self.width = 0

    @classmethod
    def for_stderr(cls) -> Any:
        from netsync.engine import _quiet

        quiet = logging.getLogger().level >= logging.ERROR
        if quiet or not sys.stderr.isatty() or _stderr_is_journal():
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


def print_report(report: Report, out: Any = None) -> None:
    out = out or sys.stdout
    for line in report.lines:
        print(line, file=out)
    prefix = "dry run, nothing written: " if report.dry_run else ""
    print(prefix + report.summary(), file=out)


def cmd_sync(args: argparse.Namespace) -> int:
    settings = load_config(args)
    report = run_once(settings, today=today_for(settings, args.today), dry_run=args.dry_run)
    print_report(report)
    return EXIT_PARTIAL if report.failed else EXIT_OK


def agenda(report: Report, *, days: int) -> list[dict[str, Any]]:
    """The plan as rows for `due`: overdue follow-ups first, then by day."""
    from netsync.model import DIGEST, FOLLOW_UP
    from netsync.planner import due_of_uid

    names = {c.uid: c.name for c in report.contacts}
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
            }
        )
    rows.sort(key=lambda row: (row["overdue_days"] == 0, row["date"], row["kind"], row["contact"]))
    return rows


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


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


def _paint(text: str, what: str, colour: bool) -> str:
    return f"\033[{_COLOURS[what]}m{text}\033[0m" if colour and what in _COLOURS else text


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
        print(_paint(title, "today", colour), file=out)
        for r in section:
            day = dt.date.fromisoformat(r["date"])
            when = f"{day:%a %d %b}"
            line = f"  {when}  {r['kind']:<11} {r['summary']}"
            if r["overdue_days"]:
                late = f"  (due {r['due']}, {_days(r['overdue_days'])} ago)"
                line = _paint(line, "overdue", colour) + _paint(late, "dim", colour)
            elif day == today:
                line = _paint(line, "today", colour)
            else:
                line = _paint(line, r["kind"], colour)
            print(line, file=out)


def cmd_due(args: argparse.Namespace) -> int:
    if args.days < 0:
        raise UsageError("--days must be 0 or more")
    settings = load_config(args)
    report = run_once(settings, today=today_for(settings, args.today), dry_run=True)
    rows = agenda(report, days=args.days)
    if args.json:
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print_agenda(rows, today=report.today, days=args.days)
    return EXIT_PARTIAL if report.cards_skipped else EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from netsync.checks import run_checks

    return run_checks(lambda: load_config(args), connections, open_state)


def find_contacts(contacts: Sequence[Any], query: str) -> list[Any]:
    """Contacts matching part of the name, an e-mail address or the UID. An exact match of
    the whole name, an address or the UID wins over partial name matches."""
    q = query.strip().casefold()
    exact = [
        c
        for c in contacts
        if c.uid == query.strip() or c.name.casefold() == q or q in (e.casefold() for e in c.emails)
    ]
    if exact:
        return exact
    return [c for c in contacts if q and q in c.name.casefold()]


def cmd_log(args: argparse.Namespace) -> int:
    from netsync.learn import Observation

    settings = load_config(args)
    today = today_for(settings, args.today)
    day = args.date or today
    if day > today:
        raise UsageError(f"--date {day} is in the future")
    chosen: list[Any] = []

    def observe(contacts: Sequence[Any]) -> list[Observation]:
        matches = find_contacts(contacts, args.query)
        if len(matches) != 1:
            raise AmbiguousQuery(args.query, matches)
        chosen.append(matches[0])
        return [Observation(matches[0].uid, day, args.via.strip(), "netsync log")]

    report = run_once(settings, today=today, dry_run=False, extra=observe)
    after = {c.uid: c for c in report.contacts}.get(chosen[0].uid, chosen[0])
    if after.ledger.last is not None and after.ledger.last > day:
        print(
            f"{after.name}: a later contact is already recorded "
            f"({after.ledger.last.isoformat()}); the note is unchanged"
        )
    print_report(report)
    return EXIT_PARTIAL if report.failed else EXIT_OK


class AmbiguousQuery(UsageError):
    def __init__(self, query: str, matches: Sequence[Any]) -> None:
        if not matches:
            text = f"no contact matches {query!r}"
        else:
            names = "\n".join(
                f"  {c.name}" + (f" <{c.emails[0]}>" if c.emails else "") + f" (UID {c.uid})"
                for c in matches
            )
            text = f"{len(matches)} contacts match {query!r}; be more precise:\n{names}"
        super().__init__(text)


def cmd_run(args: argparse.Namespace) -> int:
    from netsync.daemon import run_daemon

    return run_daemon(lambda: load_config(args), args)


def cmd_set_password(args: argparse.Namespace) -> int:
    from netsync.daemon import set_password_command

    return set_password_command(lambda: load_config(args), account=args.account)


def cmd_demo(args: argparse.Namespace) -> int:
    from netsync.demo import run_demo

    return run_demo(serve=args.serve, today=args.today)


def _handle(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """The one place where errors become messages and exit codes."""
    from netsync import dav
    from netsync.config import ConfigError
    from netsync.secrets import MissingPassword

    try:
        return func(args)
    except ConfigError as err:
        for problem in err.problems:
            print(f"netsync: config: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    except MissingPassword as err:
        print(f"netsync: {err}", file=sys.stderr)
        return EXIT_CONFIG
    except dav.WrongCollection as err:
        print(f"netsync: {err}; fix the URL in the config", file=sys.stderr)
        return EXIT_CONFIG
    except dav.AuthFailed as err:
        print(f"netsync: {err}", file=sys.stderr)
        return EXIT_NOPERM
    except dav.Unreachable as err:
        print(
            f"netsync: {err}; try again later (what this run wrote is safe: the next run "
            "reads everything afresh and finishes the job)",
            file=sys.stderr,
        )
        return EXIT_UNAVAILABLE
    except dav.DavError as err:
        print(f"netsync: server error: {err}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except UsageError as err:
        print(f"netsync: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    setup_logging(args.verbose, args.quiet)
    return _handle(args.func, args)


def entry() -> None:
    sys.exit(main())
