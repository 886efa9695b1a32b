"""`netsync run`: the long-running shell around ``engine.run_cycle``.

Owns the daemon loop (a ``schedule.Scheduler`` with a cycle every ``[daemon] interval`` and one
just after local midnight), backoff after failed cycles (what an error means, and whether
waiting helps, is app.failures'), signals (SIGTERM/SIGINT stop, SIGHUP reloads the config),
the systemd notifications (READY, STATUS, WATCHDOG, STOPPING), what it says at default
verbosity (``ANNOUNCE``), and keeping the passwords in use out of every log line.

Cycles run in a worker thread while the main thread keeps signals and watchdog pings going: a
server that accepts the connection and never answers would otherwise keep SIGTERM waiting for
the 30 s read timeout. On SIGTERM the worker makes no new request; one still open after
STOP_GRACE seconds is abandoned, which is safe because every write is conditional and every
reminder UID deterministic (SPEC 1, 4): the next cycle redoes the work without duplicates.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import schedule

from netsync.app import sdnotify

if TYPE_CHECKING:
    from netsync.app.config import Settings
    from netsync.app.engine import Connections, Report

log = logging.getLogger(__name__)
# What `run` says at default verbosity (SPEC 8): one line when it starts, one per cycle that
# changed something, a reload. commands/run turns it on; warnings and errors go to ``log``.
ANNOUNCE = "netsync.run"
say = logging.getLogger(ANNOUNCE)

STOP_GRACE = 2.5  # seconds an open request gets after SIGTERM; systemd waits 90 s, users less
STUCK_AFTER = 3600.0  # a cycle this old is hung: stop feeding the watchdog so systemd restarts us
FIRST_RETRY = 15  # seconds before the first retry of a failed cycle; doubles up to the interval
MAX_SLEEP = 60.0  # wake at least this often, so a stepped clock delays a cycle by a minute at most
POLL = 0.25  # seconds between looks at a running cycle (stop requested? watchdog due?)
AFTER_MIDNIGHT = dt.time(0, 0, 5)  # a few seconds late, so "today" is surely the new day


class Stopping(BaseException):
    """Raised in the worker at its next server call once a stop was requested.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` on the way (the
    engine counts a failed write that way and carries on) takes it for a failed request.
    """


# --- pure helpers -------------------------------------------------------------------------


def backoff_delay(failures: int, *, interval: int) -> int:
    """Seconds to wait after the ``failures``-th failed cycle in a row: doubling from 15 s
    (a quarter of the interval when that is shorter), never longer than the interval."""
    first = max(1, min(FIRST_RETRY, interval // 4))
    return max(1, min(interval, first << min(max(failures, 1) - 1, 30)))


def seconds_until_after_midnight(
    now: dt.datetime, *, zone: dt.tzinfo | None, local: dt.tzinfo | None = None
) -> int:
    """Seconds on schedule's clock from ``now`` (aware) to just after the next midnight.

    schedule compares naive local wall-clock times, so the answer is a wall-clock difference in
    the machine's zone (``local``; None = the system's), not elapsed seconds: on a DST day the
    two differ by an hour. ``zone`` is ``[locale] timezone`` when set (None = the system's).
    """
    local_now = now.astimezone(local).replace(tzinfo=None)
    if zone is None:
        target = dt.datetime.combine(local_now.date() + dt.timedelta(days=1), AFTER_MIDNIGHT)
    else:
        there = now.astimezone(zone)
        midnight = dt.datetime.combine(
            there.date() + dt.timedelta(days=1), AFTER_MIDNIGHT, tzinfo=zone
        )
        target = midnight.astimezone(local).replace(tzinfo=None)
    return max(1, math.ceil((target - local_now).total_seconds()))


def status_line(report: Report) -> str:
    """The STATUS= summary of a good cycle, without the next run ("12 reminders, 3 due today")."""
    # planned/due_today are kept by the engine also after a no-change cycle, which plans nothing
    parts = [f"{report.planned} reminders", f"{report.due_today} due today"]
    written = report.created + report.updated + report.deleted
    if written:
        parts.append(f"{written} written")
    if report.contacts_written:
        parts.append(f"{report.contacts_written} contacts updated")
    if report.cards_skipped:
        parts.append(f"{report.cards_skipped} cards skipped")
    if report.writes_failed:
        parts.append(f"{report.writes_failed} writes failed")
    if report.mail_error:
        parts.append("mail not read")
    return ", ".join(parts)


def changed(report: Report) -> bool:
    """Whether a cycle wrote anything: a reminder or a contact."""
    return bool(report.created + report.updated + report.deleted + report.contacts_written)


def started_line(settings: Settings) -> str:
    """What `run` syncs and how often, said once when it starts."""
    contacts, reminders = settings.contacts, settings.reminders
    who = f" as {contacts.username}" if contacts.username else ""
    return (
        f"netsync running: contacts from {contacts.url}{who}, reminders into the calendar "
        f'"{reminders.calendar}" at {reminders.url}; a cycle every '
        f"{_human(settings.interval)} and just after midnight ({settings.source})"
    )


def _human(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


# --- keeping passwords out of the log -----------------------------------------------------


class RedactSecrets(logging.Filter):
    """The last line of defence: a password in use never reaches a log line, whoever logs it.

    netsync's own code never logs one; this also covers third-party messages and tracebacks.
    Installed on the root handlers, so it sees every record that is about to be written.
    """

    MIN_LENGTH = 4  # blanking every "a" in the log would hide more than it protects

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def add(self, *secrets: str) -> None:
        self.secrets.update(s for s in secrets if len(s) >= self.MIN_LENGTH)

    def _scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "********")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            record.msg, record.args = self._scrub(message), ()
        if record.exc_info and not record.exc_text:
            # Formatter.format reuses exc_text when it is set, so the scrubbed copy is printed.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self._scrub(record.stack_info)
        return True


def secrets_of(conn: Connections) -> list[str]:
    """The passwords a cycle with these connections uses, for RedactSecrets."""
    found = [conn.contacts.password, conn.reminders.password]
    if conn.mail is not None:
        found.append(conn.mail.account.password)
    return found


# --- the daemon ---------------------------------------------------------------------------


@dataclass
class _Outcome:
    report: Report | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


def _stoppable(conn: Connections, stop: threading.Event) -> Connections:
    """The same connections, refusing to start a new server call once ``stop`` is set."""
    from netsync.app.engine import Connections

    class StoppableConnections(Connections):
        def call(self, *args: Any, **kwargs: Any) -> Any:
            if stop.is_set():
                raise Stopping
            return super().call(*args, **kwargs)

    return StoppableConnections(
        conn.contacts, conn.reminders, conn.calendar_name, conn.detect_calendars, conn.mail
    )


class _Watchdog:
    """WATCHDOG=1 at most every half ping interval (a quarter of WatchdogSec=)."""

    def __init__(self, every: float) -> None:
        self.every = every
        self._last = -math.inf

    def ping(self) -> None:
        now = time.monotonic()
        if self.every and now - self._last >= self.every / 2:
            self._last = now
            sdnotify.notify("WATCHDOG=1")


class Daemon:
    """One ``netsync run``: settings, connections, the scheduler and the signal flags."""

    def __init__(
        self,
        load: Callable[[], Settings],
        settings: Settings,
        conn: Connections,
        *,
        redact: RedactSecrets,
    ) -> None:
        self.load = load
        self.settings = settings
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.reload_wanted = False
        self.signal_name = ""
        self.scheduler = schedule.Scheduler()
        self.redact = redact
        self.conn: Connections | None = _stoppable(conn, self.stop)
        self.failures = 0
        self.generation = 0  # of the scheduled cycle job; see _scheduled_cycle
        self.worker: threading.Thread | None = None
        self.watchdog = _Watchdog(sdnotify.watchdog_interval())

    # signals run in the main thread between bytecodes: set flags only, log nothing here
    # (a handler that logs while the interrupted code holds the logging lock deadlocks).
    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self.reload_wanted = True
        else:
            self.signal_name = signal.Signals(signum).name
            self.stop.set()
        self.wake.set()

    def run(self) -> int:
        previous = {
            sig: signal.signal(sig, self._on_signal)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        }
        try:
            say.info("%s", started_line(self.settings))
            sdnotify.notify("READY=1", "STATUS=first cycle running")
            self._schedule_midnight()
            self._cycle_job()
            while True:
                self.wake.clear()  # before the checks: a signal after this still ends the wait
                if self.stop.is_set():
                    break
                if self.reload_wanted:
                    self._reload()
                self.scheduler.run_pending()
                self.watchdog.ping()
                self.wake.wait(self._sleep_for())
            return self._shutdown()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _sleep_for(self) -> float:
        idle = self.scheduler.idle_seconds
        sleep = MAX_SLEEP if idle is None else min(max(idle, 0.0), MAX_SLEEP)
        if self.watchdog.every:
            sleep = min(sleep, self.watchdog.every / 2)
        return sleep

    def _schedule_cycle(self, delay: int) -> None:
        # Each cycle schedules the next one: after a failure the delay is the backoff, after a
        # success the interval, and schedule has no other way to vary one job's period.
        self.generation += 1
        self.scheduler.clear("cycle")
        job = self.scheduler.every(max(1, delay)).seconds
        job.do(self._scheduled_cycle, self.generation).tag("cycle")

    def _scheduled_cycle(self, generation: int) -> type[schedule.CancelJob]:
        # run_pending lists the due jobs before running them: when the midnight job's cycle
        # has already replaced this job, the listed old one must not run a second cycle.
        if generation != self.generation:
            return schedule.CancelJob
        return self._cycle_job()

    def _schedule_midnight(self) -> None:
        zone = ZoneInfo(self.settings.locale.timezone) if self.settings.locale.timezone else None
        delay = seconds_until_after_midnight(dt.datetime.now(dt.UTC), zone=zone)
        self.scheduler.clear("midnight")
        self.scheduler.every(delay).seconds.do(self._midnight_job).tag("midnight")

    def _midnight_job(self) -> type[schedule.CancelJob]:
        self._schedule_midnight()  # first, so the STATUS after this cycle names the right next run
        log.info("a new day: running the after-midnight cycle")
        return self._cycle_job()

    def _cycle_job(self) -> type[schedule.CancelJob]:
        if self.stop.is_set():
            return schedule.CancelJob
        outcome = self._run_in_worker()
        if outcome is None or self.stop.is_set():  # stopping; _shutdown sees to the worker
            return schedule.CancelJob
        if outcome.error is None and outcome.report is not None:
            delay, status = self._succeeded(outcome.report)
        else:
            delay, status = self._failed(outcome.error)
        self._schedule_cycle(delay)
        next_run = self.scheduler.next_run
        if next_run is not None:
            shown = "%H:%M:%S" if self.settings.interval < 120 else "%H:%M"
            status += f", next run {next_run:{shown}}"
        sdnotify.notify(f"STATUS={status}")
        return schedule.CancelJob  # _schedule_cycle has put in its successor

    def _run_in_worker(self) -> _Outcome | None:
        outcome = _Outcome()
        settings = self.settings
        self.worker = threading.Thread(
            target=self._work, args=(settings, outcome), name="netsync-cycle", daemon=True
        )
        started = time.monotonic()
        self.worker.start()
        stuck_logged = False
        while not outcome.done.wait(POLL):
            if self.stop.is_set():
                return None
            if time.monotonic() - started < STUCK_AFTER:
                self.watchdog.ping()
            elif not stuck_logged:
                stuck_logged = True
                log.error(
                    "the cycle has run for over %s; it looks hung (watchdog pings stop "
                    "now, so systemd restarts netsync if WatchdogSec= is set)",
                    _human(int(STUCK_AFTER)),
                )
        self.worker = None
        return outcome

    def _work(self, settings: Settings, outcome: _Outcome) -> None:
        """The worker thread: one cycle. The state file is opened here because sqlite3
        connections belong to the thread that made them."""
        from netsync.app import session
        from netsync.app.engine import run_cycle

        try:
            if self.conn is None:
                conn = session.connections(settings)
                self.redact.add(*secrets_of(conn))
                self.conn = _stoppable(conn, self.stop)
            state = session.open_state(settings)
            try:
                now = session.now_for(settings, None)
                outcome.report = run_cycle(
                    self.conn, state, today=now.date(), now=now, settings=settings
                )
            finally:
                state.close()
        except BaseException as err:  # handed to the main thread, which decides what it means
            outcome.error = err
        finally:
            outcome.done.set()

    def _succeeded(self, report: Report) -> tuple[int, str]:
        if self.failures:
            log.warning("cycle succeeded again after %d failed attempt(s)", self.failures)
        self.failures = 0
        for line in report.lines:
            log.info("%s", line)
        for warning in report.not_understood_by_card():
            log.warning("%s", warning)
        if report.failed:
            log.warning(
                "cycle done with problems (see above; retried next cycle): %s", report.summary()
            )
        elif changed(report):
            say.info("cycle done: %s", report.summary())
        else:  # the STATUS= line says it; a journal line every 15 minutes would say nothing
            log.debug("cycle done: %s", report.summary())
        return self.settings.interval, status_line(report)

    def _failed(self, err: BaseException | None) -> tuple[int, str]:
        """Log what went wrong and what to do (app.failures decides what ``err`` means);
        return the delay before the retry and a status."""
        from netsync import dav
        from netsync.app.failures import explain

        self.failures += 1
        self._drop_connections()  # fresh connections and passwords (a rotated one) next time
        interval = self.settings.interval
        meaning = explain(err, service=True, settings=self.settings) if err else None
        if meaning is None:
            # A bug. Its message may quote card data (NOTE text), so only its type and where
            # it happened are logged; `netsync sync` run by hand shows the whole thing.
            retry = backoff_delay(self.failures, interval=interval)
            where = "".join(traceback.format_tb(err.__traceback__)) if err else ""
            name = type(err).__name__
            log.error(
                "cycle failed with an unexpected %s (a bug in netsync: please report it "
                "with the lines below; `netsync sync` shows the full message); retrying in "
                "%s\n%s",
                name,
                _human(retry),
                where.rstrip(),
            )
            return retry, f"internal error ({name}), retrying in {_human(retry)}"
        what = "; ".join(meaning.what)
        if not meaning.transient:
            # A refused login, a wrong URL, a missing password do not heal in seconds; what
            # the user fixes (a password stored, a config reloaded) is picked up at the next
            # try without a restart.
            retry = interval
            log.error(
                "%s; %s, then `systemctl reload netsync` (or SIGHUP); retrying in %s",
                what,
                meaning.next or f"fix {self.settings.source}",
                _human(retry),
            )
            return retry, f"{meaning.status}, retrying in {_human(retry)}"
        retry = backoff_delay(self.failures, interval=interval)
        # A server that is down or failing is worth a warning; a local error (the disk, the
        # state directory) an error.
        level = logging.WARNING if isinstance(err, dav.DavError) else logging.ERROR
        log.log(
            level,
            "%s; retrying in %s (attempt %d); %s",
            what,
            _human(retry),
            self.failures,
            meaning.next,
        )
        return retry, f"{meaning.status}, retry {self.failures} in {_human(retry)}"

    def _reload(self) -> None:
        from netsync.app.config import ConfigError

        self.reload_wanted = False
        sdnotify.notify("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")
        try:
            settings = self.load()
        except ConfigError as err:
            log.error(
                "reload: the new config has %d problem(s); still running with the one "
                "loaded before:",
                len(err.problems),
            )
            for problem in err.problems:
                log.error("reload: %s", problem)
            sdnotify.notify(
                "READY=1",
                f"STATUS=config reload failed, running with the previous config: "
                f"{err.problems[0] if err.problems else ''}",
            )
            return
        self.settings = settings
        self.failures = 0
        self._drop_connections()
        say.info("reloaded %s; running a cycle with it now", settings.source)
        self._schedule_midnight()
        self._schedule_cycle(1)
        sdnotify.notify("READY=1", "STATUS=config reloaded, cycle starting")

    def _drop_connections(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()

    def _shutdown(self) -> int:
        log.info("%s received: stopping", self.signal_name or "stop")
        sdnotify.notify("STOPPING=1", "STATUS=stopping")
        worker = self.worker
        if worker is not None and worker.is_alive():
            worker.join(STOP_GRACE)
            if worker.is_alive():
                log.warning(
                    "stopped with a request still open; abandoned it. Nothing is lost "
                    "or doubled: the next cycle redoes this one"
                )
                _flush_and_exit(0)
        self._drop_connections()
        return 0


def _flush_and_exit(code: int) -> None:
    """Exit now, not after the interpreter's shutdown, which would wait on the open request."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
