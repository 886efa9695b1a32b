"""Issue 15: a keep-alive connection the server closed without answering.

Servers close idle keep-alive connections (SOGo behind nginx, sabre/dav under ``php -S``,
Radicale); a request sent on such a pooled connection as it closes gets no answer at all. That
is no server down: netsync sends it once more on a fresh connection, when sending it twice can
do no harm (a read, or a write with If-Match / If-None-Match). A real Radicale behind the fault
proxy, which closes one chosen request's connection without a byte of an answer (FIN, no
reset), once: before the server saw the request, or after it did it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import icalendar

from netsync.commands import main
from tests import davcheck, servers
from tests.faults.faultproxy import FaultProxy
from tests.faults.phonebook import CALENDAR, TODAY
from tests.faults.twosides import configure
from tests.scenario import upload_sample


def sync(config: Path) -> int:
    return main(["--config", str(config), "sync", "--today", TODAY.isoformat()])


def close_once(proxy: FaultProxy, wanted: Callable[[str, str], bool], phase: str) -> list[str]:
    """Close the connection of the first request ``wanted(method, path)`` in ``phase``
    without an answer; returns the paths closed (one, once it happened)."""
    closed: list[str] = []

    def hook(n: int, method: str, path: str, when: str) -> str | None:
        if when == phase and not closed and wanted(method, path):
            closed.append(path)
            return "close"
        return None

    proxy.on_request = hook
    return closed


def uids(server: servers.Server) -> Counter[str]:
    cal = davcheck.calendars(server)[CALENDAR]
    found: Counter[str] = Counter()
    for _, (_, body) in davcheck.snapshot(server, cal).items():
        for comp in icalendar.Calendar.from_ical(body).walk():
            if comp.name in ("VEVENT", "VTODO"):
                found[str(comp["UID"])] += 1
    return found


def sent(proxy: FaultProxy, method: str, path: str) -> int:
    return sum(1 for seen in proxy.stats.seen if seen.method == method and seen.path == path)


def test_a_read_on_a_closed_connection_is_sent_again(
    radicale: servers.Server, tmp_path: Path
) -> None:
    upload_sample(radicale)
    with FaultProxy(radicale.root) as proxy:
        config = configure(radicale, tmp_path, proxy)
        closed = close_once(proxy, lambda method, path: method == "REPORT", "before")
        assert sync(config) == 0  # before: 75, "connection closed without answer"
        assert len(closed) == 1
        assert sent(proxy, "REPORT", closed[0]) >= 2
    assert uids(radicale) and max(uids(radicale).values()) == 1


def test_a_conditional_write_on_a_closed_connection_is_sent_again(
    radicale: servers.Server, tmp_path: Path
) -> None:
    upload_sample(radicale)
    with FaultProxy(radicale.root) as proxy:
        config = configure(radicale, tmp_path, proxy)
        closed = close_once(proxy, lambda method, path: method == "PUT", "before")
        assert sync(config) == 0  # before: 75 and a failed write
        assert len(closed) == 1
        assert sent(proxy, "PUT", closed[0]) == 2
        proxy.on_request = None
        before = len(proxy.stats.seen)
        assert sync(config) == 0
        assert not [seen for seen in proxy.stats.seen[before:] if seen.method == "PUT"]
    found = uids(radicale)
    assert closed[0].rsplit("/", 1)[1].removesuffix(".ics") in found
    assert max(found.values()) == 1


def test_a_create_that_landed_before_the_close_meets_412_and_the_next_cycle_settles_it(
    radicale: servers.Server, tmp_path: Path
) -> None:
    upload_sample(radicale)
    with FaultProxy(radicale.root) as proxy:
        config = configure(radicale, tmp_path, proxy)
        closed = close_once(proxy, lambda method, path: method == "PUT", "after")
        first = sync(config)
        assert len(closed) == 1
        assert sent(proxy, "PUT", closed[0]) == 2
        codes = [proxy.stats.status.get(s.n) for s in proxy.stats.seen if s.path == closed[0]]
        assert codes[-2:] == [201, 412]  # it landed; the retry's If-None-Match: * says so
        proxy.on_request = None
        assert (first, sync(config)) == (1, 0)
        assert sync(config) == 0
    found = uids(radicale)
    assert closed[0].rsplit("/", 1)[1].removesuffix(".ics") in found
    assert max(found.values()) == 1
