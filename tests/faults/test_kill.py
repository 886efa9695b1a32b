"""Issue 5, item 2: `kill -9` of `netsync sync` (or `netsync log`) at many points of a cycle.

A seeded script of rounds (phone edits, then one command, a day further each round) is played
against two Xandikos servers. The clean side runs each command in-process. The other side
runs it as a real `netsync` process behind the proxy, which counts the requests and SIGKILLs
the process when request N arrives, either before passing it on or after the server has done
it (a PUT that happened, but whose answer nobody reads). N is drawn from the number of
requests the clean side needed for the same command, so the kills spread over the whole
cycle: discovery, reading, contact writes, calendar writes, the closing sync. The next run
(the user's `netsync log` again, or the next `netsync sync`) must exit 0 and both sides must
then hold the same cards (byte for byte outside NOTE, the same NOTE text) and the same
reminders, with no UID twice.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests import servers
from tests.faults import reliability
from tests.faults.faultproxy import FaultProxy
from tests.faults.phonebook import Action, end_state, make_script, upload_people
from tests.faults.twosides import Side, compare

ROUNDS = 40
PEOPLE = 14  # of the demo's sample people: fewer writes per cycle, the same kinds
WANTED_POINTS = 30
SEED = 917


def spawn(side: Side, args: list[str], proxy: FaultProxy, *, kill_at: int, phase: str) -> int:
    """Run netsync as a process; SIGKILL it at request ``kill_at`` (``phase`` before/after)."""
    env = {**os.environ, "NETSYNC_PASSWORD": servers.PASSWORD}
    argv = [sys.executable, "-c", "from netsync.commands import entry; entry()"]
    argv += ["--config", str(side.config), "-q", *args]
    holder: list[subprocess.Popen[bytes]] = []

    def hook(n: int, method: str, path: str, when: str) -> str | None:
        if n == kill_at and when == phase and holder:
            holder[0].send_signal(signal.SIGKILL)
            holder[0].wait()
            return "drop"
        return None

    proxy.on_request = hook
    log = side.config.parent / "killed.log"
    try:
        with open(log, "ab") as out:
            holder.append(subprocess.Popen(argv, stdout=out, stderr=out, env=env))
            code = holder[0].wait(60)
    finally:
        proxy.on_request = None
    assert b"Traceback" not in log.read_bytes(), log.read_text()
    return code


def what(path: str) -> str:
    """What a request path names, for the table of kill points."""
    if path.endswith(".vcf"):
        return "a card"
    if path.endswith(".ics"):
        return "a reminder"
    if "/contacts/addressbook/" in path:
        return "the address book"
    if "/calendars/" in path and path.count("/") > 3:
        return "the calendar"
    return "a home or principal (discovery)"


def uid_of(side: Side, action: Action) -> str:
    found = side.phone.read(action.name)
    assert found is not None
    return next(line[4:] for line in found[1].split("\r\n") if line.startswith("UID:"))


@pytest.mark.slow
def test_kill_9_at_thirty_points_of_a_cycle_then_the_next_run_converges(tmp_path: Path) -> None:
    section = reliability.section(
        "kill",
        "kill -9 in the middle of a cycle",
        """Rounds of a seeded script (1-3 phone edits, then `netsync sync` or `netsync log`, one day
        further each round) against two Xandikos servers. On one side the command runs as a real
        process behind the proxy, which SIGKILLs it when request N arrives, either before passing it
        to the server or after the server has done it. N is drawn from the requests the same command
        needed on the clean side, so kills land in discovery, reading, contact writes, calendar
        writes and the closing sync alike. The next run (`netsync sync`, or the user's `netsync log`
        again) must exit 0 and the two servers must then hold the same cards (byte for byte outside
        NOTE, the same NOTE text), the same wanted reminders, and no UID twice. Before that next run
        the test lets the requests the dead process had already sent reach the server (netsync
        writes reminders four at a time): one landing after the next run read the calendar would
        make that run meet a 412 and exit 1, and only the run after it converge.""",
    )
    rng = random.Random(SEED)
    with (
        servers.xandikos(tmp_path / "clean") as clean_server,
        servers.xandikos(tmp_path / "killed") as killed_server,
        FaultProxy(clean_server.root) as counter,
        FaultProxy(killed_server.root) as proxy,
    ):
        for server in (clean_server, killed_server):
            upload_people(server, PEOPLE)
        a = Side.ready(clean_server, tmp_path / "a", counter)
        b = Side.ready(killed_server, tmp_path / "b", proxy)
        script = make_script(SEED, steps=ROUNDS, existing=sorted(a.outside), per_day=2)
        points: set[tuple[int, str]] = set()
        kinds: Counter[str] = Counter()
        kills = unkilled = lost = doubled = 0
        problems: list[str] = []
        for step in script:
            if len(points) >= WANTED_POINTS and kills >= WANTED_POINTS + 2:
                break
            logged = None
            for action in step.actions:
                if action.kind == "log" and logged is None:
                    logged = action
                elif action.kind not in ("log", "move"):
                    a.apply(action, step)
                    b.apply(action, step)
            args = ["sync"]
            if logged is not None:
                args = ["log", uid_of(a, logged), "--date", logged.value, "--via", "call"]
            start = counter.stats.requests
            assert a.run(*args, today=step.today) == 0
            needed = counter.stats.requests - start
            # A point not tried yet, if this cycle has one left.
            fresh = [
                (n, when)
                for n in range(1, max(needed, 1) + 1)
                for when in ("before", "after")
                if (n, when) not in points
            ]
            number, phase = rng.choice(fresh) if fresh else (rng.randint(1, needed), "after")
            kill_at = proxy.stats.requests + number
            today = ["--today", step.today.isoformat()]
            code = spawn(b, [*args, *today], proxy, kill_at=kill_at, phase=phase)
            if code == -signal.SIGKILL:
                kills += 1
                seen = proxy.stats.seen[kill_at - 1]
                points.add((number, phase))
                kinds[f"{phase} {seen.method} of {what(seen.path)}"] += 1
                proxy.wait_idle()  # what the dead process had sent lands first
                # The next run: the user's `log` again, else the next sync.
                assert b.run(*args, today=step.today) == 0
            else:
                unkilled += 1
                assert code == 0
            if logged is not None:
                b.last[logged.name] = a.last[logged.name] = max(
                    filter(None, [a.last.get(logged.name), logged.value])
                )
            with ThreadPoolExecutor(2) as pool:
                reference, state = pool.map(end_state, (clean_server, killed_server))
            round_lost, round_doubled, round_problems = compare(b, state, reference, step.today)
            lost += round_lost
            doubled += round_doubled
            problems += [f"{step.today}: {p}" for p in round_problems]
    section.row("rounds", kills + unkilled)
    section.row("processes killed with SIGKILL", kills)
    section.row("distinct kill points (request number in the cycle, before/after)", len(points))
    for kind, count in sorted(kinds.items()):
        section.row(f"… {kind}", count)
    section.row("rounds where the command ended before request N", unkilled)
    section.lost, section.doubled = lost, doubled
    assert not problems, "\n".join(problems)
    assert (lost, doubled) == (0, 0)
    assert len(points) >= WANTED_POINTS
