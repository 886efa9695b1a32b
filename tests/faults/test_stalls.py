"""Issue 15, point 3 (SPEC 10): a server that stops answering, and one that says "later".

A real Radicale behind the tests' fault proxy, with 200 people who each have a birthday, so a
first cycle queues over 200 calendar writes. The proxy then plays the server:
- one that accepts connections and never answers from the first calendar PUT on: the cycle
  must end within about twice the request timeout, the queued writes never sent (before:
  each waited its whole timeout, four at a time: 200 writes at 3 s took 150 s);
- 429 Too Many Requests with Retry-After (RFC 6585 §4), as iCloud and Google answer a client
  that writes fast: waited out, with no request of any writer sent before the time is up; and
  one asking for an hour, which ends the cycle with 75 at once, the next cycle resuming.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from netsync.app import apply
from netsync.commands import main
from tests import davcheck, servers
from tests.faults.faultproxy import Canned, FaultProxy
from tests.scenario import TODAY

PEOPLE = 200
TIMEOUT = 3  # seconds: [contacts] timeout of these tests


def seed(server: servers.Server) -> None:
    for n in range(PEOPLE):
        card = (
            "BEGIN:VCARD\r\nVERSION:3.0\r\n"
            f"UID:stall-{n:03d}\r\nFN:Person {n:03d}\r\nN:{n:03d};Person;;;\r\n"
            f"BDAY:1980-{1 + n % 12:02d}-{1 + n % 28:02d}\r\nEND:VCARD\r\n"
        )
        assert servers.put_card(server, f"s{n:03d}.vcf", card) == 201


def config_for(tmp_path: Path, proxy: FaultProxy, server: servers.Server) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[contacts]\nurl = "{proxy.url(server.addressbook)}"\nusername = "{servers.USER}"\n'
        f'timeout = "{TIMEOUT}s"\n'
        f'[reminders]\nurl = "{proxy.url(server.calendar_home)}"\ncalendar = "Keep in touch"\n'
        f'[state]\ndir = "{tmp_path / "state"}"\n'
    )
    path.chmod(0o600)
    return path


def sync(config: Path) -> int:
    return main(["--config", str(config), "sync", "--today", TODAY.isoformat()])


@pytest.fixture
def seeded(radicale: servers.Server) -> servers.Server:
    seed(radicale)
    return radicale


def test_a_server_that_stops_answering_ends_the_cycle_within_twice_the_timeout(
    seeded: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FaultProxy(seeded.root) as proxy:
        silent: list[float] = []

        def stop_answering(n: int, method: str, path: str, phase: str) -> str | None:
            if phase == "before" and (silent or method == "PUT"):
                silent.append(time.monotonic())
                return "hang"
            return None

        proxy.on_request = stop_answering
        config = config_for(tmp_path, proxy, seeded)
        started = time.monotonic()
        assert sync(config) == 75
        seconds = time.monotonic() - started
        puts = [s for s in proxy.stats.seen if s.method == "PUT"]
    assert "timed out" in capsys.readouterr().err
    # Only the writes already in flight were sent; the other 200 were never started.
    assert len(puts) <= apply.WRITERS
    assert seconds < 2 * TIMEOUT + 3, seconds


def test_retry_after_is_waited_out_by_every_writer(
    seeded: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FaultProxy(seeded.root) as proxy:
        told: list[float] = []

        def busy_once(n: int, method: str, path: str, phase: str) -> Canned | None:
            if phase == "before" and method == "PUT" and not told:
                told.append(time.monotonic())
                return Canned(429, (("Retry-After", "2"),))
            return None

        proxy.on_request = busy_once
        config = config_for(tmp_path, proxy, seeded)
        assert sync(config) == 0
        after = [s.at - told[0] for s in proxy.stats.seen if s.at > told[0]]
    # Writes already on their way when the 429 came may land; no writer sends a new one
    # before the two seconds are up.
    early = [t for t in after if t < 2.0]
    assert len(early) < apply.WRITERS, early
    assert "answered 429 to PUT: waiting 2 s, as it asks" in capsys.readouterr().err
    cal = davcheck.calendars(seeded)["Keep in touch"]
    assert len(davcheck.children(seeded, cal)) >= PEOPLE


def test_retry_after_beyond_the_bound_ends_with_75_and_the_next_cycle_resumes(
    seeded: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FaultProxy(seeded.root) as proxy:
        told: list[float] = []

        def busy_for_an_hour(n: int, method: str, path: str, phase: str) -> Canned | None:
            if phase == "before" and method == "PUT" and not told:
                told.append(time.monotonic())
                return Canned(429, (("Retry-After", "3600"),))
            return None

        proxy.on_request = busy_for_an_hour
        config = config_for(tmp_path, proxy, seeded)
        assert sync(config) == 75
        assert "asks netsync to wait 3600 s" in capsys.readouterr().err
        written = len(davcheck.children(seeded, davcheck.calendars(seeded)["Keep in touch"]))
        assert written < PEOPLE  # it stopped writing
        assert sync(config) == 0  # the next cycle resumes where it stopped
        assert sync(config) == 0
        assert "0 reminders created, 0 updated, 0 deleted" in capsys.readouterr().out
    cal = davcheck.calendars(seeded)["Keep in touch"]
    assert len(davcheck.children(seeded, cal)) >= PEOPLE
