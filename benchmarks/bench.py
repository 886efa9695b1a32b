"""netsync at 1,000 and 10,000 contacts, on a local Radicale and a local Xandikos (issue 6).

    .venv/bin/python benchmarks/bench.py            # everything; writes docs/performance.md

For each server and size: seed the address book straight into the server's storage (see
seeded.py), read it once untimed (warm server caches), then run netsync cycles as
subprocesses through a counting proxy (counting_proxy.py):

1. first cycle: empty state, empty calendar;
2. no-change cycle;
3. one card changed on the server (a phone edits a mobile number);
4. state directory lost, then a cycle;
5. the same first read by vdirsyncer 0.21 (its own venv, benchmarks/.venv-vdirsyncer, made on
   first use), syncing the address book to a local folder.

Each row gives wall time, client CPU time (user+sys of the subprocess), HTTP requests, bytes on
the wire (both ways, headers included) and peak RSS (``os.wait4`` rusage of the subprocess).
Times vary from run to run; request counts do not, and tests/perf/test_request_counts.py
asserts them at 200 cards with this same machinery.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import cardgen  # noqa: E402
import seeded  # noqa: E402
from counting_proxy import CountingProxy, Traffic  # noqa: E402

VDIRSYNCER_VERSION = "0.21.0"
VDIRSYNCER_VENV = HERE / ".venv-vdirsyncer"
CALENDAR = "Keep in touch"
FULL_FIRST_UP_TO = 2000  # cards; above this the first cycle's writes are seeded (bench_server)
REPEATS = 3  # runs of scenarios 2, 3 and 3b (a new edit each time); the table gives the median


# The phases of a netsync cycle (run_cycle.py times them) that work on the reminders
# calendar while the address book is read; not part of netsync's read of the address book.
CALENDAR_PHASES = ("calendar_url", "sync_calendar")


@dataclass
class Run:
    """One subprocess (a netsync cycle or a vdirsyncer sync) and what it cost."""

    label: str
    wall: float
    cpu: float
    rss_mb: float
    traffic: Traffic
    exit_code: int
    spans: dict[str, list[list[float]]] = field(default_factory=dict)  # phase -> [start, end]s
    spawned: float = 0.0  # time.time() just before the process started
    output: str = ""
    title: str = ""  # overrides the scenario's name in the table

    @property
    def read_phase(self) -> float | None:
        """Process start until every card was read, parsed and cached (netsync), less the
        reminders calendar's lookup, creation and sync, which happen in between: vdirsyncer
        reads the address book only."""
        read = self.spans.get("parse_contacts") or self.spans.get("read_contacts")
        if not read:
            return None
        end = read[-1][1]
        calendar = sum(
            min(stop, end) - start
            for name in CALENDAR_PHASES
            for start, stop in self.spans.get(name, [])
            if start < end
        )
        return end - self.spawned - calendar

    @property
    def writes(self) -> int:
        return len(self.traffic.writes())

    def write_rate(self, path: str) -> tuple[int, float | None, int]:
        """(PUTs below ``path``, PUTs per second over their span, most at once)."""
        puts = [e for e in self.traffic.under(path) if e.method == "PUT"]
        if not puts:
            return 0, None, 0
        span = max(e.done_at for e in puts) - min(e.sent_at for e in puts)
        parallel = Traffic(puts).max_parallel("PUT")
        return len(puts), (len(puts) / span if span > 0 else None), parallel


@dataclass
class ServerResult:
    kind: str
    size: int
    book_path: str
    calendar_path: str
    runs: dict[str, Run]
    reminders: int  # objects in the reminders calendar after the first cycle
    history_seconds: float = 0.0  # the server's first-ever sync-collection of the book
    seeded_calendar: bool = False
    reads: list[float] = field(default_factory=list)  # netsync's first reads (read_phase)


# -- running things ---------------------------------------------------------------------------


def _spawn(argv: Sequence[str], *, env: dict[str, str], log: Path) -> tuple[float, int, float]:
    """Run argv; (wall seconds, exit code, CPU seconds) of that process alone. Its peak RSS
    it notes itself (peak.py): rusage's maxrss would include this process's size."""
    with open(log, "wb") as out:
        begin = time.monotonic()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - begin
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return wall, proc.returncode, usage.ru_utime + usage.ru_stime


def _peak_mb(result: Path) -> float:
    try:
        return float(json.loads(result.read_text())["peak_rss_kib"]) / 1024
    except (OSError, ValueError, KeyError):
        return float("nan")


def netsync_cycle(
    label: str,
    config: Path,
    proxy: CountingProxy,
    work: Path,
    *,
    password: str,
    profile: bool = False,
    extra: Sequence[str] = (),
) -> Run:
    result = work / f"{label}.json"
    log = work / f"{label}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NETSYNC_", "CREDENTIALS_"))}
    env["NETSYNC_PASSWORD"] = password
    if profile:
        env["BENCH_PROFILE"] = str(work / f"{label}.prof")
    argv = [
        sys.executable,
        str(HERE / "run_cycle.py"),
        str(result),
        "--config",
        str(config),
        "sync",
        *extra,
        "--today",
        cardgen.TODAY.isoformat(),
    ]
    proxy.take()
    spawned = time.time()
    wall, code, cpu = _spawn(argv, env=env, log=log)
    traffic = proxy.take()
    done = json.loads(result.read_text()) if result.exists() else {}
    spans = done.get("spans", {})
    rss = _peak_mb(result)
    output = log.read_text(errors="replace")
    if code not in (0, 1):
        raise RuntimeError(f"netsync {label} exited {code}:\n{output[-3000:]}")
    return Run(label, wall, cpu, rss, traffic, code, spans, spawned, output)


def write_config(server: seeded.Server, proxy: CountingProxy, state: Path, path: Path) -> Path:
    path.write_text(
        "\n".join(
            [
                "[contacts]",
                f'url = "{proxy.root.rstrip("/")}{server.book_path}"',
                f'username = "{server.username}"',
                "[reminders]",
                f'url = "{proxy.root.rstrip("/")}{server.calendar_home_path}"',
                f'calendar = "{CALENDAR}"',
                "[follow_up.categories]",
                'Family = "30d"',
                'Friends = "60d"',
                "[state]",
                f'dir = "{state}"',
                "",
            ]
        )
    )
    path.chmod(0o600)
    return path


def vdirsyncer_bin() -> Path:
    """vdirsyncer in the benchmark's own venv, installed on first use."""
    exe = VDIRSYNCER_VENV / "bin" / "vdirsyncer"
    if not exe.exists():
        print(f"installing vdirsyncer {VDIRSYNCER_VERSION} into {VDIRSYNCER_VENV} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VDIRSYNCER_VENV)], check=True)
        subprocess.run(
            [
                str(VDIRSYNCER_VENV / "bin" / "pip"),
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"vdirsyncer=={VDIRSYNCER_VERSION}",
            ],
            check=True,
            capture_output=True,
        )
    return exe


def vdirsyncer_read(server: seeded.Server, proxy: CountingProxy, work: Path) -> Run:
    """vdirsyncer's first sync of the address book into an empty folder (discovery, its
    separate step, is run first and not counted)."""
    python = vdirsyncer_bin().parent / "python"
    base = work / "vdirsyncer"
    (base / "local").mkdir(parents=True)
    config = base / "config"
    auth = (
        f'username = "{server.username}"\npassword = "{server.password}"\n'
        if server.username
        else ""
    )
    config.write_text(
        "[general]\n"
        f'status_path = "{base / "status"}/"\n'
        "[pair book]\n"
        'a = "book_remote"\n'
        'b = "book_local"\n'
        "collections = null\n"
        "[storage book_remote]\n"
        'type = "carddav"\n'
        f'url = "{proxy.root.rstrip("/")}{server.book_path}"\n'
        f"{auth}"
        "[storage book_local]\n"
        'type = "filesystem"\n'
        f'path = "{base / "local"}/"\n'
        'fileext = ".vcf"\n'
    )
    env = dict(os.environ)
    peak, result = str(HERE / "peak.py"), base / "sync.json"
    discover = [str(python), peak, str(base / "discover.json"), "vdirsyncer", "-c", str(config)]
    _spawn([*discover, "discover"], env=env, log=base / "discover.log")
    proxy.take()
    spawned = time.time()
    wall, code, cpu = _spawn(
        [str(python), peak, str(result), "vdirsyncer", "-c", str(config), "sync"],
        env=env,
        log=base / "sync.log",
    )
    traffic = proxy.take()
    rss = _peak_mb(result)
    output = (base / "sync.log").read_text(errors="replace")
    if code != 0:
        raise RuntimeError(f"vdirsyncer sync exited {code}:\n{output[-3000:]}")
    synced = len(list((base / "local").glob("*.vcf")))
    return Run(f"vdirsyncer ({synced} cards)", wall, cpu, rss, traffic, code, {}, spawned, output)


def planned_reminders(
    cards: Sequence[cardgen.GeneratedCard], config: Path
) -> list[tuple[str, bytes]]:
    """What netsync's first cycle writes to the calendar for these cards, made with netsync's
    own reader, planner and renderer (file name, iCalendar bytes)."""
    from netsync.app.config import load_settings
    from netsync.core import cards as vcards
    from netsync.core import ics, planner

    settings = load_settings(config)
    contacts = [
        vcards.parse_card(
            c.text, href=c.name, today=cardgen.TODAY, language=settings.locale.language
        )
        for c in cards
    ]
    stamp = dt.datetime.combine(cardgen.TODAY, dt.time(6), tzinfo=dt.UTC)
    wanted = planner.plan(contacts, [], today=cardgen.TODAY, settings=settings.plan)
    return [(f"{r.uid}.ics", ics.render(r, stamp=stamp)) for r in wanted]


def bench_server(
    kind: str,
    size: int,
    work: Path,
    *,
    vdirsyncer: bool = True,
    log: bool = True,
    profile: bool = False,
    full_first_up_to: int = FULL_FIRST_UP_TO,
) -> ServerResult:
    """Every scenario for one server and one address-book size.

    Up to ``full_first_up_to`` cards the first cycle runs in full. Above that it runs as a
    dry run (every read and the whole plan, no write), and the reminders it would write are
    put into the server's storage directly: both servers' cost per PUT grows with the
    collection (Radicale checks every item's UID for each new one, Xandikos rewrites its git
    index), so 9,000 reminder PUTs into one calendar take them well over an hour. A real first
    cycle over that calendar follows (row 1b); it must write no reminder.
    """
    cards = cardgen.address_book(size)
    changed = cardgen.pick_for_edit(cards)
    work.mkdir(parents=True, exist_ok=True)
    seeding = size > full_first_up_to

    def say(text: str) -> None:
        if log:
            print(f"  {kind} {size:>6}: {text}", flush=True)

    begin = time.monotonic()
    with seeded.start(kind, work, cards) as server, CountingProxy(server.host, server.port) as px:
        say(f"seeded and started in {time.monotonic() - begin:.1f} s")
        history = seeded.warm_up(server)
        say(f"warm (first-ever sync-collection of the book: {history:.1f} s)")
        state = work / "state"
        config = write_config(server, px, state, work / "config.toml")
        runs: dict[str, Run] = {}

        def cycle(key: str, *extra: str) -> Run:
            run = netsync_cycle(
                key, config, px, work, password=server.password, profile=profile, extra=extra
            )
            say(f"{key}: {run.wall:.2f} s, {run.traffic.requests} requests")
            runs[key] = run
            return run

        if seeding:
            first = cycle("first", "--dry-run")
            first.title = "1. first cycle as a dry run (no writes)"
            objects = planned_reminders(cards, config)
            calendar = seeded.seed_calendar(server, CALENDAR, objects)
            seeded.warm_up(server, calendar)
            say(f"{len(objects)} reminders put into the calendar's storage")
            cycle("first-real")
        else:
            first = cycle("first")
            calendar = _calendar_path(first.traffic, server.calendar_home_path)
        # The first cycle's own writes come back in the next sync (up to 50 are confirmed
        # there: apply.CARRIED_WRITES); row 3b times such a cycle, so settle them first.
        netsync_cycle("settle", config, px, work, password=server.password)
        quiet = [cycle("no-change") for _ in range(REPEATS)]
        edits, settled = [], []
        for version in range(REPEATS):
            seeded.edit_card(server, changed.name, cardgen.edited(changed, version))
            edits.append(cycle("one-changed"))
            settled.append(cycle("after-change"))
        for key, taken in (("no-change", quiet), ("one-changed", edits), ("after-change", settled)):
            runs[key] = _median(taken)
        shutil.rmtree(state)
        cycle("state-lost")
        reads = [first.read_phase] if first.read_phase is not None else []
        if vdirsyncer:
            # The first reads, netsync's and vdirsyncer's, vary by tenths of a second from run
            # to run too: each is read REPEATS times (netsync's again as dry runs from an
            # empty state directory) and compared by median.
            again = write_config(server, px, work / "state-read", work / "config-read.toml")
            for n in range(2, REPEATS + 1):
                shutil.rmtree(work / "state-read", ignore_errors=True)
                run = netsync_cycle(
                    f"read-{n}", again, px, work, password=server.password, extra=("--dry-run",)
                )
                if run.read_phase is not None:
                    reads.append(run.read_phase)
            vdirs = [vdirsyncer_read(server, px, work / f"vdirsyncer-{n}") for n in range(REPEATS)]
            runs["vdirsyncer"] = _median(vdirs)
            say(
                "first reads: netsync "
                + ", ".join(f"{t:.2f}" for t in reads)
                + " s; vdirsyncer "
                + ", ".join(f"{v.wall:.2f}" for v in vdirs)
                + " s"
            )
        stored = len(seeded.etags(server, calendar)) - 1 if calendar != "?" else 0
    return ServerResult(
        kind,
        size,
        server.book_path,
        calendar,
        runs,
        stored,
        history,
        seeded_calendar=seeding,
        reads=reads,
    )


def _median(runs: Sequence[Run]) -> Run:
    """The run of median wall time: one cycle's time on a shared machine varies by tenths of
    a second, as much as the targets' margins at 1,000 cards."""
    return sorted(runs, key=lambda run: run.wall)[len(runs) // 2]


def _calendar_path(traffic: Traffic, home: str) -> str:
    """The reminders calendar's path: where the first cycle's MKCALENDAR went."""
    for e in traffic.exchanges:
        if e.method == "MKCALENDAR":
            return e.path
    for e in traffic.exchanges:
        if e.method == "PUT" and e.path.startswith(home) and e.path.endswith(".ics"):
            return e.path.rsplit("/", 1)[0] + "/"
    return "?"


def help_startup(repeat: int = 7) -> float:
    """Median wall time of ``netsync --help``."""
    exe = Path(sys.executable).parent / "netsync"
    times = []
    for _ in range(repeat):
        begin = time.monotonic()
        subprocess.run([str(exe), "--help"], check=True, capture_output=True)
        times.append(time.monotonic() - begin)
    return statistics.median(times)


# -- judging and printing ---------------------------------------------------------------------


def reads_per_collection(run: Run, result: ServerResult) -> dict[str, int]:
    """Read requests (REPORT, PROPFIND, GET) to each collection in one cycle."""
    out = {}
    for name, path in (("contacts", result.book_path), ("calendar", result.calendar_path)):
        out[name] = sum(
            1 for e in run.traffic.under(path) if e.method in ("REPORT", "PROPFIND", "GET")
        )
    return out


def _write_time(traffic: Traffic) -> float:
    """Seconds the server took over the writes (PUT, DELETE), one after another."""
    return sum(max(0.0, e.done_at - e.sent_at) for e in traffic.writes())


def _methods(traffic: Traffic) -> str:
    counts = traffic.by_method()
    order = ["PROPFIND", "REPORT", "GET", "MKCALENDAR", "PUT", "DELETE"]
    keys = [m for m in order if counts[m]] + sorted(m for m in counts if m not in order)
    return ", ".join(f"{counts[m]} {m}" for m in keys)


def _bytes(n: int) -> str:
    if n < 10_000:
        return f"{n} B"
    if n < 10_000_000:
        return f"{n / 1024:.0f} KiB"
    return f"{n / 1024 / 1024:.1f} MiB"


ROWS = [
    ("first", "1. first cycle"),
    ("first-real", "1b. first real cycle, over the seeded calendar"),
    ("no-change", "2. no-change cycle"),
    ("one-changed", "3. one card changed"),
    ("after-change", "3b. the next cycle, nothing new"),
    ("state-lost", "4. state lost, then a cycle"),
    ("vdirsyncer", "5. vdirsyncer first sync"),
]


def table(results: Sequence[ServerResult]) -> list[str]:
    lines = [
        "| scenario | cards | wall | server | client CPU | requests | bytes | peak RSS "
        "| PUT+DELETE |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for key, title in ROWS:
        for result in results:
            run = result.runs.get(key)
            if run is None:
                continue
            label = run.title or (title if key != "vdirsyncer" else f"5. {run.label}")
            lines.append(
                f"| {label} | {result.size:,} | {run.wall:.2f} s | {run.traffic.waiting():.2f} s "
                f"| {run.cpu:.2f} s | "
                f"{run.traffic.requests} ({_methods(run.traffic)}) | {_bytes(run.traffic.bytes)} "
                f"| {run.rss_mb:.0f} MB | {run.writes} |"
            )
    return lines


@dataclass
class Verdict:
    target: str
    measured: str
    met: bool


def verdicts(results: Sequence[ServerResult]) -> list[Verdict]:
    out: list[Verdict] = []
    by_size = {r.size: r for r in results}
    for r in results:
        nc, one = r.runs["no-change"], r.runs["one-changed"]
        reads = reads_per_collection(nc, r)
        out.append(
            Verdict(
                f"{r.size:,}: no-change ≤ 2 requests per collection read",
                ", ".join(f"{k} {v}" for k, v in reads.items()),
                all(v <= 2 for v in reads.values()),
            )
        )
        out.append(
            Verdict(
                f"{r.size:,}: one card changed ≤ 6 requests in all",
                f"{one.traffic.requests} ({_methods(one.traffic)})",
                one.traffic.requests <= 6,
            )
        )
        out.append(
            Verdict(
                f"{r.size:,}: one card changed within 1.5x of no-change time",
                f"{one.wall:.2f} s vs {nc.wall:.2f} s ({one.wall / nc.wall:.2f}x); waiting on "
                f"the server {one.traffic.waiting():.2f} s vs {nc.traffic.waiting():.2f} s, "
                f"of which the reminder's PUT {_write_time(one.traffic):.2f} s",
                one.wall <= 1.5 * nc.wall,
            )
        )
        after = r.runs.get("after-change")
        if after is not None:
            out.append(
                Verdict(
                    f"{r.size:,}: the cycle after the change is a no-change cycle again",
                    f"{after.traffic.requests} requests, {after.writes} writes",
                    after.traffic.requests <= nc.traffic.requests and after.writes == 0,
                )
            )
        lost = r.runs["state-lost"]
        out.append(
            Verdict(
                f"{r.size:,}: state lost: no write to anything already right",
                f"{lost.writes} PUT/DELETE",
                lost.writes == 0,
            )
        )
        vdir = r.runs.get("vdirsyncer")
        if vdir is not None and r.reads:
            read = statistics.median(r.reads)
            out.append(
                Verdict(
                    f"{r.size:,}: netsync's first read ≤ vdirsyncer's (medians of {REPEATS})",
                    f"{read:.2f} s vs {vdir.wall:.2f} s",
                    read <= vdir.wall,
                )
            )
    sizes = sorted(by_size)
    if len(sizes) >= 2:
        small, large = by_size[sizes[0]], by_size[sizes[-1]]
        a, b = small.runs["no-change"], large.runs["no-change"]
        out.append(
            Verdict(
                f"no-change bytes independent of size ({sizes[0]:,} vs {sizes[-1]:,})",
                f"{a.traffic.bytes} B vs {b.traffic.bytes} B",
                abs(b.traffic.bytes - a.traffic.bytes) <= max(512, 0.1 * a.traffic.bytes),
            )
        )
        out.append(
            Verdict(
                f"no-change time at {sizes[-1]:,} within 1.5x of {sizes[0]:,}",
                f"{b.wall:.2f} s vs {a.wall:.2f} s ({b.wall / a.wall:.2f}x)",
                b.wall <= 1.5 * a.wall,
            )
        )
    if sizes and sizes[-1] >= 10_000:
        large = by_size[sizes[-1]]
        peak = max(run.rss_mb for key, run in large.runs.items() if key != "vdirsyncer")
        out.append(Verdict(f"peak RSS at {sizes[-1]:,} < 200 MB", f"{peak:.0f} MB", peak < 200))
    return out


def write_rates(results: Sequence[ServerResult]) -> list[str]:
    lines = []
    for r in results:
        first = r.runs["first"]
        puts, rate, parallel = first.write_rate(r.calendar_path)
        if puts:
            lines.append(
                f"- {r.size:,} cards: {puts} reminders written at {rate or 0:.0f} PUT/s, "
                f"at most {parallel} at once over {first.traffic.connections} connection(s)"
            )
    return lines


def machine() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        kib = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        memory = "?"

    def version(module: str) -> str:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as v

        try:
            return v(module)
        except PackageNotFoundError:
            return "?"

    commit = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores; memory {memory}; load average {load} "
        "(1, 5, 15 min) when the report was written",
        f"- {platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"- netsync {commit or '?'}; caldav {version('caldav')}, niquests {version('niquests')}, "
        f"Radicale {version('radicale')}, Xandikos {version('xandikos')}, "
        f"vdirsyncer {VDIRSYNCER_VERSION}",
    ]


def report(
    results: Sequence[ServerResult], *, startup: float, took: float, missing: str = ""
) -> str:
    out = [
        "# Performance",
        "",
        "Written by `benchmarks/bench.py` (see benchmarks/README.md); do not edit by hand.",
        f"Last run {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, {took / 60:.1f} min"
        + (f" so far; **still running: {missing}**." if missing else "."),
        "",
        "## Machine",
        "",
        *machine(),
        "",
        f"Scenarios 2, 3 and 3b ran {REPEATS} times each (a new edit each time); their rows "
        "give the run of median wall time. "
        "Wall: the whole process, interpreter start included. Server: of that, the time some "
        "request was waiting on its answer (from the proxy's timestamps). Client CPU: "
        "user+system time of "
        "that process. Requests and bytes: counted by a proxy between client and server (both "
        "ways, headers included). Peak RSS: of that process. PUT+DELETE: writes to contacts "
        "and reminders together.",
    ]
    for kind in dict.fromkeys(r.kind for r in results):
        mine = [r for r in results if r.kind == kind]
        out += ["", f"## {kind.capitalize()}", "", *table(mine), ""]
        read = [
            f"{r.size:,}: " + ", ".join(f"{t:.2f}" for t in r.reads) + " s" for r in mine if r.reads
        ]
        if read:
            out.append(
                "netsync's read phase of a first cycle (process start until every card is "
                "read, parsed and cached, less the reminders calendar's lookup, creation and "
                "sync in between, since vdirsyncer reads the address book only), in the first "
                "cycle and then in dry runs from an empty state directory; row 5 is the "
                "median of vdirsyncer's runs: " + "; ".join(read) + "."
            )
        for r in mine:
            out.append(
                f"\nAt {r.size:,} cards the server's first-ever sync-collection REPORT of the "
                f"address book took {r.history_seconds:.1f} s (paid in the untimed warm-up, as "
                "the phones syncing with a server in use would have)."
            )
            if r.seeded_calendar:
                out.append(
                    f"At {r.size:,} cards the first cycle ran as a dry run, and the "
                    f"{r.reminders:,} reminders it plans were put into the server's storage "
                    "directly: one PUT at a time they cost this server more the fuller the "
                    "calendar gets, over an hour at 10,000 cards (see benchmarks/README.md). "
                    "Row 1b is the first real cycle over them."
                )
        rates = write_rates(mine)
        if rates:
            out += ["", "Calendar writes of the first cycle:", *rates]
        out += ["", "| target | measured | met |", "|---|---|---|"]
        out += [
            f"| {v.target} | {v.measured} | {'yes' if v.met else '**no**'} |"
            for v in verdicts(mine)
        ]
    out += [
        "",
        "## Start-up",
        "",
        f"`netsync --help`: {startup:.3f} s (median of 7; target < 0.3 s): "
        f"{'met' if startup < 0.3 else '**not met**'}.",
        "",
    ]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="1000,10000", help="address-book sizes (1000,10000)")
    parser.add_argument("--servers", default="radicale,xandikos", help="radicale,xandikos")
    parser.add_argument("--no-vdirsyncer", action="store_true", help="skip the vdirsyncer rows")
    parser.add_argument(
        "--output",
        type=Path,
        default=REPO / "docs" / "performance.md",
        help="where the report goes (docs/performance.md); '-' for stdout only",
    )
    parser.add_argument("--keep", action="store_true", help="keep the server data and logs")
    parser.add_argument(
        "--full-first-up-to",
        type=int,
        default=FULL_FIRST_UP_TO,
        metavar="N",
        help=f"above N cards, seed the first cycle's reminders ({FULL_FIRST_UP_TO})",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run each netsync cycle under cProfile (WORK/<server>-<size>/<cycle>.prof); "
        "implies --keep",
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    kinds = [k.strip() for k in args.servers.split(",") if k.strip()]
    begin = time.monotonic()
    startup = help_startup()
    work = Path(tempfile.mkdtemp(prefix="netsync-bench-"))
    results: list[ServerResult] = []
    planned = [(kind, size) for kind in kinds for size in sizes]
    try:
        for kind, size in planned:
            results.append(
                bench_server(
                    kind,
                    size,
                    work / f"{kind}-{size}",
                    vdirsyncer=not args.no_vdirsyncer,
                    profile=args.profile,
                    full_first_up_to=args.full_first_up_to,
                )
            )
            if len(results) < len(planned):  # a long run leaves what it has so far
                missing = ", ".join(f"{k} {n:,}" for k, n in planned[len(results) :])
                _write(
                    args.output,
                    report(
                        results, startup=startup, took=time.monotonic() - begin, missing=missing
                    ),
                )
    finally:
        if args.keep or args.profile:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    text = report(results, startup=startup, took=time.monotonic() - begin)
    print(text)
    _write(args.output, text)
    return 0


MAIL_SECTION = re.compile(r"\n*<!-- mail-bench -->.*?<!-- /mail-bench -->\n", re.S)


def _write(output: Path, text: str) -> None:
    if str(output) != "-":
        output.parent.mkdir(parents=True, exist_ok=True)
        # mail_bench.py's section stays as that benchmark wrote it.
        kept = MAIL_SECTION.search(output.read_text()) if output.exists() else None
        output.write_text(text.rstrip("\n") + "\n" + kept.group(0) if kept else text)
        print(f"written to {output}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
