"""What a sync cycle costs in requests, at 200 cards, on Radicale and Xandikos (issue 6).

Runs the benchmark's own machinery (benchmarks/bench.py: cards seeded into the server's
storage, netsync cycles as subprocesses through a counting proxy) and asserts request counts,
which are stable, never times, which are not. A regression to per-card GETs, to full listings
in a no-change cycle, or to rewriting what is already right fails here; the 1,000 and 10,000
card numbers come from running the benchmark itself (docs/performance.md).
"""

from __future__ import annotations

import math
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import bench  # noqa: E402
import cardgen  # noqa: E402

from netsync.core import notepatch  # noqa: E402
from netsync.dav.addressbook import MULTIGET_BATCH  # noqa: E402

CARDS = 200
# The generator's phone-typed "last: DD-MM-YYYY" cards: the only contacts a first cycle has
# reason to write.
PHONE_TYPED = len(cardgen.PHONE_TYPED)
# Under pytest-xdist these tests stay on one worker, so the benchmark below runs only once.
pytestmark = pytest.mark.xdist_group("request-counts")


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bench.ServerResult]:
    """Both servers' runs, side by side (they share nothing but the CPU), to stay quick."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            kind: pool.submit(
                bench.bench_server,
                kind,
                CARDS,
                tmp_path_factory.mktemp(kind),
                vdirsyncer=False,
                log=False,
            )
            for kind in ("radicale", "xandikos")
        }
        return {kind: future.result() for kind, future in futures.items()}


@pytest.fixture(params=["radicale", "xandikos"])
def result(
    request: pytest.FixtureRequest, both: dict[str, bench.ServerResult]
) -> bench.ServerResult:
    return both[request.param]


def _count(run: bench.Run, path: str, *methods: str) -> int:
    return sum(1 for e in run.traffic.under(path) if e.method in methods)


def test_no_cycle_fetches_cards_one_by_one(result: bench.ServerResult) -> None:
    for key, run in result.runs.items():
        assert run.traffic.by_method()["GET"] == 0, key


def test_first_cycle_reads_the_book_in_batches(result: bench.ServerResult) -> None:
    first = result.runs["first"]
    # One sync-collection REPORT and one addressbook-multiget per batch of cards.
    assert _count(first, result.book_path, "REPORT") == 1 + math.ceil(CARDS / MULTIGET_BATCH)
    assert first.traffic.by_method()["PROPFIND"] <= 6  # discovery, once


def test_first_cycle_writes_each_reminder_once_and_only_the_contacts_it_must(
    result: bench.ServerResult,
) -> None:
    first = result.runs["first"]
    puts = [e.path for e in first.traffic.under(result.calendar_path) if e.method == "PUT"]
    assert len(puts) == len(set(puts)) > CARDS / 2  # most cards have a birthday
    assert _count(first, result.book_path, "PUT") == PHONE_TYPED
    assert first.traffic.by_method()["DELETE"] == 0


def test_no_change_cycle_is_one_small_request_per_collection(result: bench.ServerResult) -> None:
    run = result.runs["no-change"]
    assert bench.reads_per_collection(run, result) == {"contacts": 1, "calendar": 1}
    assert run.traffic.requests == 2
    # A listing of 200 cards would be tens of KiB; two sync REPORTs with nothing new are not.
    assert run.traffic.bytes < 4096


def test_one_card_changed_costs_a_handful_of_requests(result: bench.ServerResult) -> None:
    run = result.runs["one-changed"]
    assert run.traffic.requests <= 6, bench._methods(run.traffic)
    # The sync REPORT and one multiget for the one card.
    assert _count(run, result.book_path, "REPORT", "PROPFIND") == 2
    # Its new mobile number is in the description of its one reminder (the birthday).
    assert _count(run, result.calendar_path, "PUT", "DELETE") == 1
    assert _count(run, result.book_path, "PUT") == 0
    # One sync of the calendar: the next cycle's sync confirms that one write, not a second
    # REPORT now (apply.CARRIED_WRITES).
    assert _count(run, result.calendar_path, "REPORT") == 1


def test_the_cycle_after_a_change_is_a_no_change_cycle_again(
    result: bench.ServerResult,
) -> None:
    # The one-change cycle's write is confirmed by this cycle's sync, where it comes back
    # with the ETag netsync already has: nothing to read, plan or write.
    run = result.runs["after-change"]
    assert run.traffic.requests == 2 and run.writes == 0, bench._methods(run.traffic)
    assert run.traffic.bytes < 4096


def test_lost_state_rewrites_nothing(result: bench.ServerResult) -> None:
    run = result.runs["state-lost"]
    assert run.writes == 0
    assert _count(run, result.book_path, "REPORT") == 1 + math.ceil(CARDS / MULTIGET_BATCH)


def test_generated_cards_are_what_the_benchmark_says() -> None:
    cards = cardgen.address_book(CARDS)
    texts = [c.text for c in cards]
    assert len({c.uid for c in cards}) == CARDS
    assert sum("BDAY" in t for t in texts) > CARDS * 0.7
    assert sum("PHOTO" in t for t in texts) >= CARDS * 0.05
    assert sum("[netsync]" in notepatch.read_note(t) for t in texts) == CARDS // 2
    scripts = {
        "Latin with diacritics": ("\u00c0", "\u017f"),
        "Cyrillic": ("\u0400", "\u04ff"),
        "Greek": ("\u0370", "\u03ff"),
        "CJK": ("\u4e00", "\u9fff"),
        "Arabic": ("\u0600", "\u06ff"),
    }
    names = [line for t in texts for line in t.splitlines() if line.startswith("FN:")]
    for script, (low, high) in scripts.items():
        assert any(low <= ch <= high for name in names for ch in name), script
