"""Issue 5, item 3: the state directory deleted, or full of garbage, between cycles.

The state directory is a cache (SPEC 1): losing it may cost a full read, never a write. Two
Xandikos servers play one script; one side keeps its state, the other has it deleted or
spoiled before every cycle, in a different way each time. On a day where nothing changed the
spoiled side must send no write at all (no PUT, no DELETE: every contact keeps its ETag and
every reminder its bytes); on a day with phone edits it must end where the clean side ends.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import stat
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests import davcheck, servers
from tests.faults import reliability
from tests.faults.faultproxy import FaultProxy
from tests.faults.phonebook import CALENDAR, end_state, make_script, upload_people
from tests.faults.twosides import Side, compare, writes

SEED = 4242
PEOPLE = 12  # of the demo's sample people: every kind of card, fewer writes per cycle


def _state(side: Side) -> Path:
    return side.config.parent / "state"


def deleted(directory: Path, rng: random.Random) -> None:
    shutil.rmtree(directory)


def random_bytes(directory: Path, rng: random.Random) -> None:
    (directory / "state.sqlite").write_bytes(rng.randbytes(64 * 1024))


def cut_in_half(directory: Path, rng: random.Random) -> None:
    path = directory / "state.sqlite"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def empty_file(directory: Path, rng: random.Random) -> None:
    (directory / "state.sqlite").write_bytes(b"")


def garbage_journal_and_files(directory: Path, rng: random.Random) -> None:
    """A hot journal full of noise beside the database, and files nobody asked for."""
    (directory / "state.sqlite-journal").write_bytes(rng.randbytes(8192))
    (directory / "state.sqlite-wal").write_bytes(rng.randbytes(4096))
    for index in range(5):
        (directory / f"junk-{index}.bin").write_bytes(rng.randbytes(1000))
    (directory / "sub").mkdir(exist_ok=True)
    (directory / "sub" / "more").write_bytes(rng.randbytes(100))


def foreign_database(directory: Path, rng: random.Random) -> None:
    """A valid SQLite file that is not netsync's (another program's, or an old schema)."""
    path = directory / "state.sqlite"
    path.unlink()
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE meta (key TEXT, value TEXT)")
        db.execute("INSERT INTO meta VALUES ('schema', '0')")
        db.execute("CREATE TABLE something (x BLOB)")
        db.execute("INSERT INTO something VALUES (?)", (rng.randbytes(100),))
    db.close()


def wrong_etags(directory: Path, rng: random.Random) -> None:
    """netsync's own database, with every cached ETag and sync token replaced by noise."""
    db = sqlite3.connect(directory / "state.sqlite")
    with db:
        for (rowid,) in db.execute("SELECT rowid FROM items").fetchall():
            db.execute(
                "UPDATE items SET etag = ? WHERE rowid = ?", (f'"{rng.randbytes(6).hex()}"', rowid)
            )
        db.execute("UPDATE collections SET token = ?", (f"garbage-{rng.randbytes(4).hex()}",))
    db.close()


def text_garbage(directory: Path, rng: random.Random) -> None:
    (directory / "state.sqlite").write_text("SQLite format 3\x00" + "x" * 5000)


def open_to_all(directory: Path, rng: random.Random) -> None:
    """The directory left readable by everyone (a careless restore): made private again."""
    directory.chmod(0o755)


SPOILERS: list[Callable[[Path, random.Random], None]] = [
    deleted,
    random_bytes,
    cut_in_half,
    empty_file,
    garbage_journal_and_files,
    foreign_database,
    wrong_etags,
    text_garbage,
    open_to_all,
]


@pytest.mark.slow
def test_state_directory_deleted_or_spoiled_costs_no_write_and_converges(tmp_path: Path) -> None:
    section = reliability.section(
        "state",
        "The state directory deleted or spoiled",
        """Two Xandikos servers play one script; one side keeps its state directory, the
        other has it deleted or spoiled before every cycle, a different way each time: deleted,
        64 KiB of random bytes, cut in half, empty, a hot journal and WAL of noise with junk
        files beside it, another program's SQLite file, netsync's own file with every ETag and
        sync token replaced by noise, text posing as SQLite, the directory made readable by
        all. Twice per way: once on an unchanged day, where the spoiled side must send no
        write at all (counted at the proxy: no PUT, DELETE or MKCALENDAR, so every contact
        keeps its ETag and every reminder its bytes), and once after phone edits on a new day,
        where it must end exactly where the clean side ends.""",
    )
    rng = random.Random(SEED)
    with (
        servers.xandikos(tmp_path / "clean") as clean_server,
        servers.xandikos(tmp_path / "spoiled") as spoiled_server,
        FaultProxy(spoiled_server.root) as proxy,
    ):
        for server in (clean_server, spoiled_server):
            upload_people(server, PEOPLE)
        a = Side.ready(clean_server, tmp_path / "a", None)
        b = Side.ready(spoiled_server, tmp_path / "b", proxy)
        script = make_script(SEED, steps=len(SPOILERS), existing=sorted(a.outside), per_day=1)
        assert a.run("sync", today=script[0].today) == 0
        assert b.run("sync", today=script[0].today) == 0
        spurious = lost = doubled = 0
        problems: list[str] = []
        previous = script[0].today
        for spoil, step in zip(SPOILERS, script, strict=True):
            # 1. Nothing changed: spoil, sync, and not one write may go out.
            contacts = davcheck.children(spoiled_server, spoiled_server.addressbook)
            cal = davcheck.calendars(spoiled_server)[CALENDAR]
            calendar = davcheck.snapshot(spoiled_server, cal)
            spoil(_state(b), rng)
            since = proxy.stats.requests
            assert b.run("sync", today=previous) == 0
            sent = writes(proxy, since)
            spurious += len(sent)
            problems += [f"{spoil.__name__}: spurious {w}" for w in sent]
            assert davcheck.children(spoiled_server, spoiled_server.addressbook) == contacts
            assert davcheck.snapshot(spoiled_server, cal) == calendar
            mode = stat.S_IMODE(os.stat(_state(b)).st_mode)
            assert mode == 0o700, f"{spoil.__name__}: state directory mode {mode:o}"
            # 2. Phone edits and a new day: spoil again, and end where the clean side ends.
            for action in step.actions:
                if action.kind not in ("log", "move"):
                    a.apply(action, step)
                    b.apply(action, step)
            assert a.run("sync", today=step.today) == 0
            spoil(_state(b), rng)
            assert b.run("sync", today=step.today) == 0
            previous = step.today
            with ThreadPoolExecutor(2) as pool:
                reference, state = pool.map(end_state, (clean_server, spoiled_server))
            round_lost, round_doubled, round_problems = compare(b, state, reference, step.today)
            lost += round_lost
            doubled += round_doubled
            problems += [f"{spoil.__name__}: {p}" for p in round_problems]
    section.row("ways of spoiling the state directory", len(SPOILERS))
    section.row("cycles right after a spoiling", 2 * len(SPOILERS))
    section.row("writes sent on unchanged days (must be 0)", spurious)
    section.row("contacts compared by ETag each unchanged day", len(contacts))
    section.row("reminders compared byte for byte each unchanged day", len(calendar))
    section.lost, section.doubled = lost + spurious, doubled
    assert not problems, "\n".join(problems)
    assert (lost, doubled, spurious) == (0, 0, 0)


def test_a_state_path_that_is_a_file_is_a_config_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "state").write_text("not a directory")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[contacts]\nurl = "http://127.0.0.1:9/dav/"\n[state]\ndir = "{tmp_path / "state"}"\n'
    )
    from netsync.commands import main

    assert main(["--config", str(config), "sync"]) == 78
    err = capsys.readouterr().err
    assert f"[state] dir {tmp_path / 'state'}: cannot be used" in err
    assert (tmp_path / "state").read_text() == "not a directory"
    reliability.section("state", "", "").row(
        "a state path that is a file: exit 78 with a message, no traceback", "yes"
    )
