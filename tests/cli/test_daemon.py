"""`netsync run` as systemd would run it, and `netsync set-password` (issue 4, SPEC 9).

The daemon runs as a subprocess against a real Radicale with a 1-second interval; the test
holds the other end of $NOTIFY_SOCKET (an abstract socket, as systemd's is) and sees what
systemd would see: READY=1, a STATUS= per cycle, STOPPING=1. One module-scoped run walks
through a day in the life (a card added between cycles, a broken config sent with SIGHUP, a
good one, SIGTERM) and the tests below it each check one thing a user would notice. The
outage and the hung-server tests start their own daemon.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import itertools
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import keyring
import keyring.backends.fail
import pytest

from netsync import commands, dav
from netsync.app import daemon, session
from netsync.app.config import parse_settings
from netsync.app.engine import Connections, Report
from netsync.commands import common, set_password
from netsync.core.model import Reminder
from tests import davcheck, servers
from tests.memkeyring import MemoryKeyring
from tests.scenario import write_config
from tests.vcards import escape, vcard

ENTRY = "from netsync.commands import entry; entry()"
INTERVAL = '[daemon]\ninterval = "1s"'
MARKER = "SECRET-NOTE-MARKER"
CYCLE_STATUS = re.compile(
    r"STATUS=(\d+) reminders, (\d+) due today(, [^,]+)*, next run \d\d:\d\d:\d\d"
)
# Variables from the test's own environment that would change what the daemon does.
FOREIGN_ENV = (
    "NETSYNC_CONFIG",
    "CREDENTIALS_DIRECTORY",
    "WATCHDOG_USEC",
    "WATCHDOG_PID",
    "JOURNAL_STREAM",
    "NOTIFY_SOCKET",
    "NETSYNC_PASSWORD",
)

# Under pytest-xdist these tests stay on one worker, so the day below is lived only once.
pytestmark = pytest.mark.xdist_group("daemon")


# --- building blocks ----------------------------------------------------------------------


def card(index: int, name: str, *, birthday_in: int, note: str = "") -> tuple[str, str]:
    """(file name, vCard) of someone whose 40th birthday is ``birthday_in`` days away."""
    day = dt.date.today() + dt.timedelta(days=birthday_in)
    given, _, family = name.partition(" ")
    text = vcard(
        contact_uid(index),
        escape(name),
        n=f"{escape(family)};{escape(given)};;;",
        bday=f"{day.year - 40}-{day:%m-%d}",
        note=escape(note) if note else None,
    )
    return f"d{index}.vcf", text


def contact_uid(index: int) -> str:
    return f"netsync-demo-{index:03d}"


def put(server: servers.Server, named: tuple[str, str]) -> None:
    assert servers.put_card(server, *named) == 201


def reminders(server: servers.Server) -> list[icalendar.Component]:
    """Every VEVENT/VTODO in the reminders calendar, read as a second client would."""
    url = davcheck.calendars(server).get("Keep in touch")
    if url is None:
        return []
    found = []
    for _, body in davcheck.snapshot(server, url).values():
        found += [
            c for c in icalendar.Calendar.from_ical(body).walk() if c.name in ("VEVENT", "VTODO")
        ]
    return found


def of_contact(found: list[icalendar.Component], index: int) -> list[icalendar.Component]:
    return [c for c in found if str(c.get("X-NETSYNC-CONTACT")) == contact_uid(index)]


def is_cycle_status(fieldtext: str) -> bool:
    return CYCLE_STATUS.fullmatch(fieldtext) is not None


def reminder_count(fieldtext: str) -> int:
    match = CYCLE_STATUS.fullmatch(fieldtext)
    assert match, fieldtext
    return int(match[1])


class Notifications:
    """The test's end of $NOTIFY_SOCKET: every field the daemon sends, in order."""

    def __init__(self) -> None:
        name = f"netsync-test-{uuid.uuid4().hex}"
        self.address = "@" + name
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + name)
        self.fields: list[str] = []
        self.arrivals: list[float] = []  # time.monotonic() of each field
        self.log: Path | None = None  # shown when a wait fails

    def wait_for(self, wanted: Callable[[str], bool], timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            self.sock.settimeout(remaining)
            try:
                datagram = self.sock.recv(65536).decode("utf-8")
            except TimeoutError:
                break
            for line in datagram.split("\n"):
                self.fields.append(line)
                self.arrivals.append(time.monotonic())
                if wanted(line):
                    return line
        log = self.log.read_text()[-3000:] if self.log and self.log.exists() else ""
        raise AssertionError(f"not notified within {timeout}s; got {self.fields}\nlog:\n{log}")

    def close(self) -> None:
        self.sock.close()


@dataclass
class Daemon:
    proc: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def stop(self) -> tuple[int, float]:
        """SIGTERM; the exit code and how long it took."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(15)
        return code, time.monotonic() - started


@contextlib.contextmanager
def running(
    config: Path,
    notes: Notifications,
    *flags: str,
    journal: bool = False,
    env: dict[str, str] | None = None,
) -> Iterator[Daemon]:
    """`netsync FLAGS --config CONFIG run`, stdout and stderr to a file next to the config."""
    log = config.parent / "daemon.log"
    notes.log = log
    environment = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV}
    environment |= {"NETSYNC_PASSWORD": servers.PASSWORD, "NOTIFY_SOCKET": notes.address}
    environment |= env or {}
    with open(log, "wb") as out:
        if journal:  # what systemd sets when stderr is the journal's stream
            st = os.fstat(out.fileno())
            environment["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        proc = subprocess.Popen(
            [sys.executable, "-c", ENTRY, *flags, "--config", str(config), "run"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    try:
        yield Daemon(proc, log)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def restart(server: servers.Server) -> subprocess.Popen[bytes]:
    """Radicale again, on the same port with the same storage, after ``server.proc`` ended."""
    with open(server.log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(server.log.parent / "config")],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    servers._wait_ready(server.root, proc, server.log)
    return proc


# --- one long run -------------------------------------------------------------------------

MARKED = 900  # has MARKER in its NOTE and a phone-typed `last: today`, so netsync writes it
NEWCOMER = 901


@dataclass
class DayInTheLife:
    server: servers.Server
    fields: list[str] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    log: str = ""
    first_count: int = 0
    newcomer_status: str = ""
    newcomer_reminders: list[icalendar.Component] = field(default_factory=list)
    broken_reload_status: str = ""
    statuses_after_broken_reload: list[str] = field(default_factory=list)
    alive_after_broken_reload: bool = False
    status_after_good_reload: str = ""
    summaries_after_good_reload: list[str] = field(default_factory=list)
    exit_code: int | None = None
    stop_seconds: float = 0.0
    marked_card: str = ""


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DayInTheLife]:
    tmp = tmp_path_factory.mktemp("daemon")
    with servers.radicale(tmp / "radicale") as server:
        note = f"{MARKER} loves tulips\n\n[netsync]\nlast: today\n[/netsync]"
        put(server, card(MARKED, "Mara Marker", birthday_in=10, note=note))
        config = write_config(server, tmp, extra=INTERVAL)
        good = config.read_text()
        run = DayInTheLife(server)
        notes = Notifications()
        # JOURNAL_STREAM names another stream (a child of a unit whose stderr was redirected):
        # the log must then keep its timestamps. WatchdogSec=2s: a ping at least every second.
        # caldav's debug mode makes it log every request and response body.
        env = {
            "JOURNAL_STREAM": "1:2",
            "WATCHDOG_USEC": "2000000",
            "PYTHON_CALDAV_DEBUGMODE": "DEBUG",
        }
        with running(config, notes, "-vv", env=env) as proc:
            notes.wait_for(lambda f: f == "READY=1")
            run.first_count = reminder_count(notes.wait_for(is_cycle_status))

            put(server, card(NEWCOMER, "Nico Newcomer", birthday_in=20))
            run.newcomer_status = notes.wait_for(
                lambda f: is_cycle_status(f) and reminder_count(f) > run.first_count
            )
            run.newcomer_reminders = of_contact(reminders(server), NEWCOMER)

            config.write_text("[contacts\nurl = ")
            proc.proc.send_signal(signal.SIGHUP)
            run.broken_reload_status = notes.wait_for(lambda f: "reload failed" in f)
            run.statuses_after_broken_reload = [notes.wait_for(is_cycle_status) for _ in "12"]
            run.alive_after_broken_reload = proc.proc.poll() is None

            config.write_text(good + '[locale]\nlanguage = "nl"\n')
            proc.proc.send_signal(signal.SIGHUP)
            notes.wait_for(lambda f: f.startswith("STATUS=config reloaded"))
            run.status_after_good_reload = notes.wait_for(is_cycle_status)
            run.summaries_after_good_reload = [
                str(c["SUMMARY"]) for c in of_contact(reminders(server), MARKED)
            ]

            run.exit_code, run.stop_seconds = proc.stop()
            with contextlib.suppress(AssertionError):
                notes.wait_for(lambda f: f == "STOPPING=1", timeout=1)
            run.log = proc.text()
        notes.close()
        run.fields, run.arrivals = notes.fields, notes.arrivals
        run.marked_card = davcheck.get(server, server.addressbook + f"d{MARKED}.vcf").decode()
        yield run


def test_ready_comes_first_then_a_status_line_per_cycle(day: DayInTheLife) -> None:
    assert day.fields[0] == "READY=1"
    statuses = [f for f in day.fields if is_cycle_status(f)]
    assert len(statuses) >= 5  # first, newcomer, two after the broken reload, after the good
    assert day.first_count >= 1  # Mara's birthday at least
    assert "STOPPING=1" in day.fields


def test_watchdog_is_fed_while_it_runs(day: DayInTheLife) -> None:
    # WatchdogSec=2s: systemd kills a service that stays silent for 2 s, through cycles,
    # reloads and all. The run lasts about 6 s.
    pings = [t for f, t in zip(day.fields, day.arrivals, strict=True) if f == "WATCHDOG=1"]
    assert len(pings) >= 4
    assert max(b - a for a, b in itertools.pairwise(pings)) < 2


def test_card_added_between_cycles_gets_its_reminders(day: DayInTheLife) -> None:
    birthdays = [c for c in day.newcomer_reminders if "turns 40" in str(c["SUMMARY"])]
    assert [str(c["SUMMARY"]) for c in birthdays] == ["Nico Newcomer turns 40"]
    assert "written" in day.newcomer_status


def test_sighup_with_a_broken_config_keeps_running_on_the_old_one(day: DayInTheLife) -> None:
    assert "running with the previous config" in day.broken_reload_status
    assert day.alive_after_broken_reload
    assert len(day.statuses_after_broken_reload) == 2
    assert "reload: " in day.log and "not valid TOML" in day.log


def test_sighup_with_a_good_config_applies_it(day: DayInTheLife) -> None:
    assert "Mara Marker wordt 40" in day.summaries_after_good_reload  # [locale] language = "nl"
    assert "written" in day.status_after_good_reload


def test_sigterm_ends_it_with_exit_0_within_5_seconds(day: DayInTheLife) -> None:
    assert day.exit_code == 0
    assert day.stop_seconds < 5


def test_debug_log_holds_no_password_and_no_note_text(day: DayInTheLife) -> None:
    # The run did send NOTE text over the wire: Mara's `last: today` was rewritten as a date
    # (in Dutch after the reload), and her reminders carry her note in their DESCRIPTION.
    assert re.search(rf"(last|laatst): {dt.date.today().isoformat()}", day.marked_card)
    assert MARKER in day.marked_card
    assert " DEBUG netsync." in day.log  # -vv did log at debug level
    leaks = [line for line in day.log.splitlines() if servers.PASSWORD in line or MARKER in line]
    assert leaks == []
    assert not [f for f in day.fields if MARKER in f or servers.PASSWORD in f]


def test_log_keeps_timestamps_when_stderr_is_not_the_journal(day: DayInTheLife) -> None:
    first = day.log.splitlines()[0]
    assert re.match(r"\d\d:\d\d:\d\d (INFO|DEBUG|WARNING) netsync", first), first


def test_at_default_verbosity_it_says_what_it_does_and_no_more(
    radicale: servers.Server, tmp_path: Path
) -> None:
    """SPEC 8, issue 13 point 7: one line when it starts (what it syncs, how often), one for
    each cycle that changed something, and nothing for the cycles that changed nothing."""
    # No follow-ups (`every: never`): where a never-contacted person's follow-up lands, and so
    # whether the second card also rewrites this week's digest, depends on the real date.
    never = "[netsync]\nevery: never\n[/netsync]"
    put(radicale, card(920, "Dora Default", birthday_in=12, note=never))
    config = write_config(radicale, tmp_path, extra=INTERVAL)
    notes = Notifications()
    try:
        with running(config, notes) as proc:
            notes.wait_for(lambda f: f == "READY=1")
            first = reminder_count(notes.wait_for(is_cycle_status))
            quiet = [notes.wait_for(is_cycle_status) for _ in "12"]  # nothing to write
            put(radicale, card(921, "Emil Extra", birthday_in=22, note=never))
            notes.wait_for(lambda f: is_cycle_status(f) and reminder_count(f) > first)
            quiet.append(notes.wait_for(is_cycle_status))
            code, _ = proc.stop()
            lines = proc.text().splitlines()
    finally:
        notes.close()
    assert code == 0
    assert not [status for status in quiet if "written" in status]
    started, *cycles = lines
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d INFO netsync\.run: netsync running: contacts from "
        + re.escape(f"{radicale.addressbook} as alice, reminders into the calendar ")
        + re.escape(f'"Keep in touch" at {radicale.calendar_home}; a cycle every 1 s and ')
        + re.escape(f"just after midnight ({config})"),
        started,
    ), started
    assert len(cycles) == 2, lines
    for line in cycles:
        assert re.fullmatch(
            r"\d\d:\d\d:\d\d INFO netsync\.run: cycle done: \d+ contacts read, "
            r"[1-9]\d* reminders created, 0 updated, 0 deleted",
            line,
        ), line


# --- failures -----------------------------------------------------------------------------


def test_outage_is_retried_with_backoff_and_caught_up_without_duplicates(
    radicale: servers.Server, tmp_path: Path
) -> None:
    server = radicale
    put(server, card(910, "Olga Early", birthday_in=15))
    config = write_config(server, tmp_path, extra=INTERVAL)
    notes = Notifications()
    restarted: subprocess.Popen[bytes] | None = None
    try:
        with running(config, notes, "-v") as proc:
            notes.wait_for(is_cycle_status)
            put(server, card(911, "Bert Before", birthday_in=25))  # synced before or after
            server.proc.terminate()
            server.proc.wait(5)
            notes.wait_for(lambda f: f.startswith("STATUS=server unreachable, retry 3 in"))
            assert proc.proc.poll() is None

            restarted = restart(server)
            put(server, card(912, "Cora Comeback", birthday_in=35))
            deadline = time.monotonic() + 15
            while not of_contact(reminders(server), 912):
                assert time.monotonic() < deadline, "Cora's reminders never arrived"
                notes.wait_for(is_cycle_status)
            code, _ = proc.stop()
            text = proc.text()
        assert code == 0
        assert "cannot reach" in text and "retrying in 1 s (attempt 3)" in text
        assert "cycle succeeded again after" in text

        found = reminders(server)
        uids = [str(c["UID"]) for c in found]
        assert len(uids) == len(set(uids)), "a reminder was written twice"
        for index in (910, 911, 912):
            birthdays = [c for c in of_contact(found, index) if "turns 40" in str(c["SUMMARY"])]
            assert len(birthdays) == 1, index
        # Nothing lost: the calendar holds the whole plan, so a sync now would write nothing.
        settings = common.load_config(
            commands.build_parser().parse_args(["--config", str(config), "run"])
        )
        report = session.run_once(settings, today=session.today_for(settings, None), dry_run=True)
        assert (report.created, report.updated, report.deleted) == (0, 0, 0), report.lines
    finally:
        notes.close()
        if restarted is not None:
            servers._stop(restarted)


def test_sigterm_during_a_hung_request_exits_0_within_5_seconds(tmp_path: Path) -> None:
    # A server that accepts the connection and never answers: the request would wait for the
    # 30 s read timeout. Logs go to "the journal" here, so they carry <N> priorities.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        silent.settimeout(15)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/alice/contacts/"
        config = tmp_path / "config.toml"
        config.write_text(
            f'[contacts]\nurl = "{url}"\nusername = "alice"\n'
            f'[state]\ndir = "{tmp_path / "state"}"\n{INTERVAL}\n'
        )
        notes = Notifications()
        with running(config, notes, "-v", journal=True) as proc:
            notes.wait_for(lambda f: f == "READY=1")
            conn, _ = silent.accept()
            with conn:
                assert conn.recv(4096)  # the request is out; no answer will come
                code, seconds = proc.stop()
            text = proc.text()
        notes.close()
    assert code == 0
    assert seconds < 5
    assert "abandoned it" in text
    lines = text.splitlines()
    assert lines and all(re.match(r"<[0-7]>netsync", line) for line in lines), lines


def test_run_without_a_password_exits_78_naming_what_it_tried(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    memory_keyring: MemoryKeyring,
) -> None:
    monkeypatch.delenv("NETSYNC_PASSWORD")
    config = tmp_path / "config.toml"
    config.write_text('[contacts]\nurl = "https://dav.example.com/"\nusername = "alice"\n')
    assert commands.main(["--config", str(config), "run"]) == 78
    err = capsys.readouterr().err
    assert "no password for contacts (alice)" in err and "keyring netsync/alice" in err


# --- pure helpers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "delays"),
    [
        (900, [15, 30, 60, 120, 240, 480, 900, 900]),
        (8, [2, 4, 8, 8]),
        (1, [1, 1, 1]),
    ],
)
def test_backoff_doubles_up_to_the_interval(interval: int, delays: list[int]) -> None:
    got = [daemon.backoff_delay(n, interval=interval) for n in range(1, len(delays) + 1)]
    assert got == delays


AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.mark.parametrize(
    ("now", "zone", "local", "seconds"),
    [
        # 23:00 the evening before: an hour and five seconds on the wall clock.
        (dt.datetime(2026, 3, 28, 23, 0, tzinfo=AMSTERDAM), None, AMSTERDAM, 3605),
        # The night clocks go forward: 23 hours pass, but schedule counts wall-clock time.
        (dt.datetime(2026, 3, 29, 0, 0, 5, tzinfo=AMSTERDAM), None, AMSTERDAM, 86400),
        # [locale] timezone = New York on a machine in UTC: midnight there is 04:00 here.
        (
            dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC),
            ZoneInfo("America/New_York"),
            dt.UTC,
            16 * 3600 + 5,
        ),
    ],
)
def test_after_midnight_job_lands_just_after_midnight(
    now: dt.datetime, zone: dt.tzinfo | None, local: dt.tzinfo, seconds: int
) -> None:
    assert daemon.seconds_until_after_midnight(now, zone=zone, local=local) == seconds


def test_midnight_and_interval_due_together_run_one_cycle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    settings = parse_settings({"contacts": {"url": "https://dav.example.com/"}}, source="t")
    account = dav.Account("https://dav.example.com/", "", "")
    cycles = []

    class Counting(daemon.Daemon):
        def _run_in_worker(self) -> daemon._Outcome:
            cycles.append(dt.datetime.now())
            return daemon._Outcome(report=Report(today=dt.date.today()))

    run = Counting(
        lambda: settings,
        settings,
        Connections(account, account, "Keep in touch"),
        redact=daemon.RedactSecrets(),
    )
    run._schedule_cycle(900)
    run._schedule_midnight()
    for job in run.scheduler.jobs:  # both overdue, the midnight job first
        late = 2 if "midnight" in job.tags else 1
        job.next_run = dt.datetime.now() - dt.timedelta(seconds=late)
    run.scheduler.run_pending()
    assert len(cycles) == 1
    assert sorted(tag for job in run.scheduler.jobs for tag in job.tags) == ["cycle", "midnight"]
    assert all(job.next_run > dt.datetime.now() for job in run.scheduler.jobs)


def test_status_line_counts_reminders_due_today_and_writes() -> None:
    today = dt.date(2026, 11, 26)
    wanted = [
        Reminder("netsync-a", "birthday", "c1", today, "Ann turns 40"),
        Reminder("netsync-b", "follow-up", "c2", today + dt.timedelta(days=3), "Get in touch"),
    ]
    report = Report(today=today, created=1, updated=1, wanted=wanted, planned=2, due_today=1)
    assert daemon.status_line(report) == "2 reminders, 1 due today, 2 written"
    # A no-change cycle plans nothing but knows the counts of the last complete one.
    unchanged = Report(today=today, planned=2, due_today=1, unchanged=True)
    assert daemon.status_line(unchanged) == "2 reminders, 1 due today"


def test_passwords_in_use_are_blanked_from_any_log_line() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    redact = daemon.RedactSecrets()
    redact.add(servers.PASSWORD, "pw")  # too short to blank safely: ignored
    handler.addFilter(redact)
    logger = logging.getLogger("test_daemon.redact")
    logger.addHandler(handler)
    try:
        logger.warning("some library said: %s", f"Authorization for {servers.PASSWORD}")
        try:
            raise ValueError(f"bad {servers.PASSWORD}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = out.getvalue()
    assert servers.PASSWORD not in text
    assert text.count("********") == 2 and "ValueError: bad ********" in text


def test_library_debug_output_is_never_logged(capsys: pytest.CaptureFixture[str]) -> None:
    common.setup_logging(5, False)
    logging.getLogger("caldav").debug("request body NOTE:%s", MARKER)
    logging.getLogger().info("caldav logs some bodies on the root logger: %s", MARKER)
    logging.getLogger("netsync.test").debug("our own debug line")
    logging.getLogger("caldav").warning("a library warning still shows")
    logging.getLogger("caldav").warning("Deviation found: <card>\nNOTE:%s\n</card>", MARKER)
    err = capsys.readouterr().err
    assert MARKER not in err
    assert "our own debug line" in err and "a library warning still shows" in err
    assert "Deviation found: <card>" in err


# --- set-password -------------------------------------------------------------------------


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`netsync --config ... set-password` for alice; no password in the environment."""
    monkeypatch.delenv("NETSYNC_PASSWORD")
    config = tmp_path / "config.toml"
    config.write_text('[contacts]\nurl = "https://dav.example.com/"\nusername = "alice"\n')
    return ["--config", str(config), "set-password"]


def test_set_password_from_a_pipe_stores_it_and_says_where(
    account: list[str],
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("n3w-pass\n"))
    assert commands.main(account) == 0
    assert memory_keyring.store == {("netsync", "alice"): "n3w-pass"}
    out = capsys.readouterr().out
    assert "keyring netsync/alice" in out and "n3w-pass" not in out


def test_set_password_on_a_terminal_asks_twice(
    account: list[str],
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "stdin", Terminal())
    answers = iter(["first-try", "first-tyr", "n3w-pass", "n3w-pass"])
    monkeypatch.setattr(set_password.getpass, "getpass", lambda prompt="": next(answers))
    assert commands.main(account) == 2
    assert "differ" in capsys.readouterr().err and memory_keyring.store == {}
    assert commands.main(account) == 0
    assert memory_keyring.store == {("netsync", "alice"): "n3w-pass"}


def test_set_password_without_a_keyring_points_to_the_alternatives(
    account: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    stdin = io.StringIO("never-read\n")
    monkeypatch.setattr(sys, "stdin", stdin)
    try:
        assert commands.main(account) == 78
    finally:
        keyring.set_keyring(previous)
    err = capsys.readouterr().err
    assert "no keyring on this machine" in err
    assert "LoadCredential=netsync-password" in err and "password_command" in err
    assert stdin.tell() == 0  # nobody typed a password only to hear it has nowhere to go
