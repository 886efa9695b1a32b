"""Issue 5, item 4: 412 storms, a second client editing the very cards netsync writes.

First a storm that never lets netsync win: every time netsync's PUT of a card is on its way,
the second client saves that card first (a new TEL, new words in the user's note), so the
PUT meets 412. netsync must stop after ``writeback.MAX_TRIES`` tries per card, exit 1, keep
every one of the other client's edits, and record the phone-typed date on the next cycle.
Then a free-running storm: a thread saving the same cards in a loop with If-Match while
`netsync log` runs on them. Every edit the other client got through must be in the end state,
and so must every logged contact.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import Counter
from pathlib import Path

import pytest

from netsync.app import writeback
from tests import servers
from tests.faults import reliability
from tests.faults.faultproxy import FaultProxy
from tests.faults.phonebook import (
    TODAY,
    Phone,
    iso_last,
    note_of,
    split_block,
    with_last,
    with_note,
)
from tests.faults.twosides import Side, configure
from tests.scenario import upload_sample

STORMED = ("p000.vcf", "p002.vcf", "p004.vcf")  # Alice Jansen, Chen Wei, Hanna Kowalska
FREE_RUN_EDITS = 400  # the free-running storm stops after this many saves at the latest


def tel_of(card: str) -> str:
    match = re.search(r"(?m)^TEL[^:\r\n]*:(.*)\r?$", card)
    return match[1].strip() if match else ""


def storm_edit(phone: Phone, name: str, count: int) -> str:
    """The other client's edit: a new TEL, and every other time new words in the note."""

    def change(text: str) -> str:
        lines = text.split("\r\n")
        lines = [ln for ln in lines if not ln.startswith("TEL")]
        lines.insert(lines.index("END:VCARD"), f"TEL;TYPE=WORK:+31 20 {count:07d}")
        text = "\r\n".join(lines)
        if count % 2:
            user, block = split_block(note_of(text))
            text = with_note(text, f"storm edit {count}\n\n{block}" if block else f"{count}")
        return text

    written = phone.edit(name, change)
    assert written is not None
    return written


def same_edit(card: str, written: str) -> bool:
    """Whether ``card`` still carries the other client's edit ``written`` (Radicale rewrites
    what it stores, so the TEL and the user's note text are compared, not the bytes)."""
    user = split_block(note_of(card))[0]
    return tel_of(card) == tel_of(written) and user == split_block(note_of(written))[0]


def uid_of(card: str) -> str:
    return next(line[4:] for line in card.split("\r\n") if line.startswith("UID:"))


@pytest.mark.slow
def test_a_412_storm_loses_no_edit_and_netsync_gives_up_after_bounded_tries(
    server: servers.Server, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if server.kind == "sogo":
        # Not strict: a race, lost in about one run of three on a loaded machine.
        request.applymarker(pytest.mark.xfail(strict=False, reason=servers.SOGO_LOST_UPDATE))
    section = reliability.section(
        "storm",
        "412 storms: another client editing the same cards",
        f"""On each test server (on SOGo an expected failure, see its reason). First a storm
        netsync cannot win: whenever its PUT of one of three cards is on the way, another
        client saves that card first (a new TEL, new words in the note), so every PUT meets
        412. netsync must give up on each card
        after `writeback.MAX_TRIES` = {writeback.MAX_TRIES} tries, exit 1, keep every edit of
        the other client, and write the phone-typed `last:` on the next cycle. Then a
        free-running storm: a thread saving the same cards in a loop with If-Match while
        `netsync log` runs for each of them (run again while it exits 1, as a user would).
        Every edit the other client got through, and every logged contact, must be in the
        end state.""",
    )
    upload_sample(server)
    phone = Phone(server)
    with FaultProxy(server.root) as proxy:
        side = Side(server, configure(server, tmp_path, proxy), proxy)
        assert side.run("sync", today=TODAY) == 0
        typed = TODAY - dt.timedelta(days=1)
        for name in STORMED:
            phone.edit(
                name, lambda t: with_note(t, with_last(note_of(t), f"last: {typed:%d-%m-%Y}"))
            )

        # 1. A storm netsync cannot win.
        count = 0
        latest: dict[str, str] = {}

        def collide(n: int, method: str, path: str, when: str) -> None:
            nonlocal count
            name = path.rsplit("/", 1)[-1]
            if method == "PUT" and when == "before" and name in STORMED:
                count += 1
                latest[name] = storm_edit(phone, name, count)

        proxy.on_request = collide
        since = proxy.stats.requests
        assert side.run("sync", today=TODAY) == 1
        proxy.on_request = None
        tries = Counter(
            s.path.rsplit("/", 1)[-1]
            for s in proxy.stats.seen[since:]
            if s.method == "PUT" and s.path.endswith(".vcf")
        )
        assert tries == {name: writeback.MAX_TRIES for name in STORMED}
        conflicts = sum(
            1
            for s in proxy.stats.seen[since:]
            if s.method == "PUT" and proxy.stats.status.get(s.n) == 412
        )
        for name in STORMED:
            found = phone.read(name)
            assert found is not None
            assert same_edit(found[1], latest[name])  # not one edit lost
            assert iso_last(found[1]) is None  # not written yet
        assert side.run("sync", today=TODAY) == 0  # the next cycle picks them up
        lost = 0
        for name in STORMED:
            found = phone.read(name)
            assert found is not None
            card = found[1]
            lost += not same_edit(card, latest[name])
            lost += iso_last(card) != typed.isoformat()

        # 2. A free-running storm while `netsync log` runs on the same cards.
        problems: list[str] = []
        stop = threading.Event()
        storm_phone = Phone(server)
        saved: dict[str, str] = {}
        saves = [0]
        errors: list[BaseException] = []

        def storm() -> None:
            try:
                for n in range(FREE_RUN_EDITS):
                    if stop.is_set():
                        return
                    name = STORMED[n % len(STORMED)]
                    saved[name] = storm_edit(storm_phone, name, 10_000 + n)
                    saves[0] += 1
            except BaseException as err:  # noqa: BLE001 - reported by the test thread
                errors.append(err)

        logged = TODAY
        thread = threading.Thread(target=storm, daemon=True)
        since = proxy.stats.requests
        thread.start()
        runs = gave_up = 0
        try:
            for name in STORMED:
                found = phone.read(name)
                assert found is not None
                for _ in range(20):
                    runs += 1
                    code = side.run("log", uid_of(found[1]), "--via", "call", today=logged)
                    if code == 0:
                        break
                    gave_up += 1
                else:
                    # On a loaded machine the storm can win every try; once it has passed,
                    # the next cycle must get through (SPEC 1: picked up next cycle).
                    stop.set()
                    thread.join(60)
                    runs += 1
                    code = side.run("log", uid_of(found[1]), "--via", "call", today=logged)
                    assert code == 0, f"`netsync log` never got through for {name}"
        finally:
            stop.set()
            thread.join(60)
        assert not errors, errors
        free_conflicts = sum(
            1
            for s in proxy.stats.seen[since:]
            if s.method == "PUT" and proxy.stats.status.get(s.n) == 412
        )
        assert side.run("sync", today=logged) == 0
        for name in STORMED:
            found = phone.read(name)
            assert found is not None
            card = found[1]
            if not same_edit(card, saved[name]):
                problems.append(f"{name}: the storm's last edit is lost ({tel_of(card)})")
            if iso_last(card) != logged.isoformat():
                problems.append(f"{name}: the logged contact is lost ({iso_last(card)})")
        lost += len(problems)
    label = server.kind.capitalize()
    section.row(f"{label}: 412s met in the storm netsync cannot win", conflicts)
    section.row(f"{label}: PUTs per card before giving up (MAX_TRIES)", max(tries.values()))
    section.row(f"{label}: saves by the free-running storm", saves[0])
    section.row(f"{label}: 412s met during the free-running storm", free_conflicts)
    section.row(f"{label}: `netsync log` runs (of them exit 1, run again)", f"{runs} ({gave_up})")
    if server.kind == "sogo":
        # SOGo's own lost updates (see the xfail) are shown as such, not as netsync's.
        section.row("Sogo: logged contacts or edits lost to SOGo's non-atomic If-Match", lost)
    else:
        section.lost += lost
    assert not problems, problems
    assert lost == 0
