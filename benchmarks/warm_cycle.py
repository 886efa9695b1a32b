"""The CPU a cycle costs inside one long-running process, as `netsync run` runs them.

    .venv/bin/python benchmarks/warm_cycle.py [--sizes 1000,10000] [--servers xandikos]

bench.py times whole processes (interpreter start and imports included, about 0.3 s of CPU);
this measures what the daemon pays every 15 minutes: ``engine.run_cycle`` in a process that
has run cycles before, with its connections kept. For each server and size it seeds the
address book as bench.py does, runs the first cycle (and a settling one) as the benchmark's
subprocess, then in this process: one warm-up cycle, then no-change cycles, one-card-changed
cycles and the no-change cycle after each. It prints the median CPU time (user+system of
this process, ``time.process_time``) and wall time of each kind. Nothing is written to docs/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench  # noqa: E402
import cardgen  # noqa: E402
import seeded  # noqa: E402
from counting_proxy import CountingProxy  # noqa: E402

REPEATS = 7


def measure(kind: str, size: int, work: Path) -> dict[str, tuple[float, float]]:
    """Kind of cycle -> (median CPU ms, median wall ms) in one warm process."""
    import os

    from netsync.app import session
    from netsync.app.config import load_settings
    from netsync.app.engine import run_cycle

    cards = cardgen.address_book(size)
    changed = cardgen.pick_for_edit(cards)
    with seeded.start(kind, work, cards) as server, CountingProxy(server.host, server.port) as px:
        seeded.warm_up(server)
        config = bench.write_config(server, px, work / "state", work / "config.toml")
        if size > bench.FULL_FIRST_UP_TO:
            bench.netsync_cycle("first", config, px, work, password=server.password,
                                extra=("--dry-run",))  # fmt: skip
            objects = bench.planned_reminders(cards, config)
            calendar = seeded.seed_calendar(server, bench.CALENDAR, objects)
            seeded.warm_up(server, calendar)
        for label in ("first-real", "settle"):
            bench.netsync_cycle(label, config, px, work, password=server.password)
        os.environ["NETSYNC_PASSWORD"] = server.password
        settings = load_settings(config)
        conn = session.connections(settings)
        today = cardgen.TODAY
        times: dict[str, list[tuple[float, float]]] = {}

        def cycle(label: str) -> None:
            state = session.open_state(settings)
            try:
                cpu, wall = time.process_time(), time.perf_counter()
                report = run_cycle(conn, state, today=today, settings=settings)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            finally:
                state.close()
            assert not report.failed, report.summary()
            times.setdefault(label, []).append((cpu * 1000, wall * 1000))

        try:
            cycle("warm-up")
            for _ in range(REPEATS):
                cycle("no-change")
            for version in range(REPEATS):
                seeded.edit_card(server, changed.name, cardgen.edited(changed, 10 + version))
                cycle("one-changed")
                cycle("after-change")
        finally:
            conn.close()
    return {
        label: (statistics.median(c for c, _ in runs), statistics.median(w for _, w in runs))
        for label, runs in times.items()
        if label != "warm-up"
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--servers", default="xandikos")
    args = parser.parse_args()
    head = f"{'server':<9} {'cards':>6}  {'cycle':<13} {'CPU':>9} {'wall':>9}"
    print(f"{head}  (medians of {REPEATS})")
    for kind in args.servers.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            with tempfile.TemporaryDirectory(prefix="netsync-warm-") as tmp:
                found = measure(kind, size, Path(tmp))
            for label, (cpu, wall) in found.items():
                print(f"{kind:<9} {size:>6}  {label:<13} {cpu:>6.1f} ms {wall:>6.1f} ms")
    print(f"({dt.datetime.now():%Y-%m-%d %H:%M})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
