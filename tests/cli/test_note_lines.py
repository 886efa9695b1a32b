"""Nothing the user types is lost in silence, and nothing is rewritten for nothing (issue 13,
points 2 and 3; SPEC 2): a block whose end line a phone deleted is read as it stands; lines
netsync cannot use are kept verbatim and reported by `sync` (once per change of the card) and
listed by `check`.

Cards are PUT as a phone would; what lands in the address book is read back with plain HTTP.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netsync.commands import main
from netsync.core import notepatch
from tests import davcheck, servers
from tests.scenario import TODAY, lines_but_note, phone_card, write_config

OPEN_BLOCK = "Likes sailing.\n\n[netsync]\nlast: 2026-11-20 call\nevery: 7d"
UNREAD = (
    "Met at the boat show.\n\n[netsync]\nlast: 2026-11-20 call\nevry: 2w\n"
    "last: 05/12/2026\nlast: 2026-02-30\nevery: 30d\n[/netsync]\n"
    "last: 2026-11-24 coffee\nSecond line of my own."
)
UNREAD_LINES = [
    ("evry: 2w", "not understood"),
    ("last: 05/12/2026", "not understood"),
    ("last: 2026-02-30", "not understood"),
    ("last: 2026-11-24 coffee", "outside the [netsync] block, so not read"),
]


def sync(config: Path, today: dt.date | str = TODAY) -> int:
    day = today if isinstance(today, str) else today.isoformat()
    return main(["--config", str(config), "sync", "--today", day])


def card_of(server: servers.Server, name: str) -> bytes:
    return davcheck.get(server, server.addressbook + name)


def warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if "WARNING" in line]


def test_a_block_without_its_end_line_is_read_and_not_rewritten(
    server: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        servers.put_card(server, "open.vcf", phone_card("open-1", "Olga Open", OPEN_BLOCK)) == 201
    )
    config = write_config(server, tmp_path)
    before = card_of(server, "open.vcf")
    tag = davcheck.children(server, server.addressbook)[server.addressbook + "open.vcf"]

    assert sync(config) == 0
    out = capsys.readouterr().out
    assert "tidied" not in out and "Olga Open:" not in out  # nothing said about the card
    assert (
        out.strip().splitlines()[-1].startswith("1 contacts read") and "contacts updated" not in out
    )
    # read as it stands: last contact 2026-11-20 + 7 days
    assert "+ 2026-11-27  follow-up   Get in touch with Olga Open" in out
    assert card_of(server, "open.vcf") == before
    assert davcheck.children(server, server.addressbook)[server.addressbook + "open.vcf"] == tag


def test_an_open_block_with_a_phone_typed_date_is_tidied_and_the_message_says_what_changed(
    server: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    note = "Likes sailing.\n\n[netsync]\nlaatst: gisteren bel\nevery: 7d\n\nMy own line."
    assert servers.put_card(server, "typed.vcf", phone_card("typed-1", "Tom Typed", note)) == 201
    config = write_config(server, tmp_path)
    before = card_of(server, "typed.vcf")

    assert sync(config) == 0
    out = capsys.readouterr().out
    yesterday = TODAY - dt.timedelta(days=1)
    assert (
        "* Tom Typed: note block tidied (dates written as YYYY-MM-DD, keys written in English, "
        "[/netsync] put back)"
    ) in out
    after = card_of(server, "typed.vcf")
    assert notepatch.read_note(after.decode()) == (
        f"Likes sailing.\n\n[netsync]\nlast: {yesterday.isoformat()} bel\nevery: 7d\n"
        "[/netsync]\n\nMy own line."
    )
    assert lines_but_note(after) == lines_but_note(before)
    capsys.readouterr()
    assert sync(config) == 0  # and once is enough
    assert "Tom Typed" not in capsys.readouterr().out


def test_lines_netsync_cannot_use_are_kept_and_reported_once_per_change(
    server: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert servers.put_card(server, "dora.vcf", phone_card("dora-1", "Dora Typo", UNREAD)) == 201
    config = write_config(server, tmp_path)
    before = card_of(server, "dora.vcf")

    assert sync(config) == 0
    found = warnings(capsys.readouterr().err)
    assert [w.split("netsync: ", 1)[1] for w in found] == [
        f"Dora Typo: a line of the note is {why}, kept as it is: {line}"
        for line, why in UNREAD_LINES
    ]
    assert card_of(server, "dora.vcf") == before  # every line stays verbatim; nothing written

    # The next cycle, and the first of the next day, say nothing more: the card did not change.
    assert sync(config) == 0
    assert sync(config, TODAY + dt.timedelta(days=1)) == 0
    assert warnings(capsys.readouterr().err) == []

    # The phone changes the card (a new number): the lines are still there, and said again.
    edited = phone_card("dora-1", "Dora Typo", UNREAD, more=("TEL;type=HOME:+31 20 555 0102",))
    tag = davcheck.children(server, server.addressbook)[server.addressbook + "dora.vcf"]
    assert servers.put_card(server, "dora.vcf", edited, etag=tag) in (200, 201, 204)
    assert sync(config, TODAY + dt.timedelta(days=1)) == 0
    assert len(warnings(capsys.readouterr().err)) == len(UNREAD_LINES)


def test_whichever_command_reads_the_changed_card_first_says_it(
    server: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert servers.put_card(server, "dora.vcf", phone_card("dora-1", "Dora Typo", UNREAD)) == 201
    config = write_config(server, tmp_path)
    assert main(["--config", str(config), "due", "--today", TODAY.isoformat()]) == 0
    assert len(warnings(capsys.readouterr().err)) == len(UNREAD_LINES)
    assert sync(config) == 0
    assert warnings(capsys.readouterr().err) == []


def test_check_lists_every_line_netsync_cannot_use(
    server: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert servers.put_card(server, "dora.vcf", phone_card("dora-1", "Dora Typo", UNREAD)) == 201
    fine = "[netsync]\nlast: 2026-11-20\n[/netsync]"
    assert servers.put_card(server, "fine.vcf", phone_card("fine-1", "Finn Fine", fine)) == 201
    config = write_config(server, tmp_path)
    assert sync(config) == 0  # seen once already: check lists them all the same
    capsys.readouterr()

    assert main(["--config", str(config), "check"]) == 0
    out = capsys.readouterr().out
    assert "[warn] notes: 4 line(s) netsync keeps but cannot use:" in out
    for line, why in UNREAD_LINES:
        assert f"       Dora Typo: {line}  ({why})" in out
    assert "Finn Fine" not in out
    assert "All checks passed, with 1 warning(s)." in out


def test_the_daemon_warns_once_and_keeps_the_lines_out_of_its_log(
    server: servers.Server, tmp_path: Path
) -> None:
    """`netsync run`: a warning naming the person when the card is first read, none in the
    cycles after it, and never the lines themselves (SPEC 9: logs hold no NOTE text)."""
    assert servers.put_card(server, "dora.vcf", phone_card("dora-1", "Dora Typo", UNREAD)) == 201
    config = write_config(server, tmp_path, extra='[daemon]\ninterval = "1s"')
    log = tmp_path / "run.log"
    env = {k: v for k, v in os.environ.items() if k not in ("JOURNAL_STREAM", "NOTIFY_SOCKET")}
    env["NETSYNC_PASSWORD"] = servers.PASSWORD
    entry = "from netsync.commands import entry; entry()"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", entry, "-vv", "--config", str(config), "run"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 60
        while log.read_text().count("cycle done") < 4 and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
    text = log.read_text()
    assert text.count("cycle done") >= 4, text
    found = [line for line in text.splitlines() if "cannot use" in line]
    assert len(found) == 1, text
    assert "WARNING" in found[0] and "Dora Typo (UID dora-1): 4 lines in the note" in found[0]
    assert "`netsync check` lists them" in found[0]
    for line, _ in UNREAD_LINES:
        assert line not in text
