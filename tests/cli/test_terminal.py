"""What a person sees on a terminal: progress on long work and colour in `due`, and neither
when the output is piped or NO_COLOR is set (issue 7)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from tests import servers
from tests.scenario import TODAY, write_config
from tests.vcards import vcard

NETSYNC = [sys.executable, "-c", "from netsync.commands import entry; entry()"]


def on_terminal(argv: list[str], env: dict[str, str]) -> str:
    """Run netsync with stdout and stderr on a pseudo-terminal; return what it showed."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, env=env
    )
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    proc.wait(60)
    os.close(leader)
    return out.decode(errors="replace")


def card(n: int) -> str:
    birthday = f"1980-{1 + n % 12:02d}-{1 + n % 28:02d}"
    return vcard(f"bulk-{n}", f"Person {n:04d}", n=f"{n:04d};Person;;;", bday=birthday)


def test_progress_and_colour_on_a_terminal_only(xandikos: servers.Server, tmp_path: Path) -> None:
    for n in range(210):
        assert servers.put_card(xandikos, f"bulk-{n}.vcf", card(n)) == 201
    config = write_config(xandikos, tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "JOURNAL_STREAM")}
    sync = [*NETSYNC, "--config", str(config), "sync", "--today", TODAY.isoformat()]

    shown = on_terminal(sync, env)
    assert "reading contacts 0/210" in shown
    assert "writing reminders" in shown
    assert shown.rstrip().endswith("0 deleted")  # the summary, after the progress line

    piped = subprocess.run(
        [*sync, "--dry-run"], env=env, capture_output=True, text=True, check=False
    )
    assert piped.returncode == 0
    assert "reading contacts" not in piped.stderr + piped.stdout

    due = [*NETSYNC, "--config", str(config), "due", "--today", TODAY.isoformat()]
    assert "\033[" in on_terminal(due, env)
    assert "\033[" not in on_terminal(due, {**env, "NO_COLOR": "1"})
