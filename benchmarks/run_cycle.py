"""Run one netsync command in this process, with timing hooks; the benchmark's subprocess.

    python benchmarks/run_cycle.py RESULT.json sync --today 2026-11-26 ...

Behaves as the ``netsync`` console script (same imports, same ``commands.main``), and wraps the
cycle's phase functions, where they exist, to note when each call began and ended
(``time.time()``), so the benchmark can tell the read phase from the rest, and notes its own
peak RSS (see peak.py). Nothing in netsync is changed. With ``BENCH_PROFILE=FILE`` in the
environment the command runs under cProfile, stats to FILE.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

started = time.time()

from peak import peak_rss_kib  # noqa: E402  (this folder is on sys.path: it holds the script)

from netsync import commands  # noqa: E402
from netsync.app import apply, read, readings, sync  # noqa: E402

# (module, function, the phase's name in the result); a missing function is skipped.
PHASES = (
    (sync, "sync_all", "refresh"),
    (sync, "calendar_url", "calendar_url"),
    (sync, "sync_calendar", "sync_calendar"),
    (readings, "read_book", "read_contacts"),
    (apply, "write_calendar", "apply_changes"),
    (sync, "catch_up", "catch_up"),
    (read, "read_mail", "read_mail"),
)
spans: dict[str, list[tuple[float, float]]] = {}  # name -> (start, end) of each call
imap_commands: list[str] = []  # every IMAP command sent (its name: LOGIN, STATUS, UID FETCH)


def _count_imap() -> None:
    """Note each IMAP command as imaplib sends it (mail_bench.py): a line that starts with
    the connection's tag. Continuation lines (literals, AUTHENTICATE answers) are not."""
    import imaplib

    send = imaplib.IMAP4.send

    def counting(self: imaplib.IMAP4, data: bytes) -> None:
        tag, _, rest = data.partition(b" ")
        if tag.startswith(self.tagpre):
            words = rest.split(b" ", 2)
            name = b" ".join(words[:2]) if words[0].upper() == b"UID" else words[0]
            imap_commands.append(name.decode(errors="replace").strip().upper())
        send(self, data)

    imaplib.IMAP4.send = counting  # type: ignore[method-assign]


def _timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        begin = time.time()
        try:
            return fn(*args, **kwargs)
        finally:
            end = time.time()
            spans.setdefault(name, []).append((begin, end))

    return timed


def main() -> int:
    out, argv = sys.argv[1], sys.argv[2:]
    for module, function, name in PHASES:
        fn = getattr(module, function, None)
        if callable(fn):
            setattr(module, function, _timed(name, fn))
    _count_imap()
    if os.environ.get("BENCH_LOUD_OCCASIONS"):
        # mail_bench.py: what a cycle would write without the rule that lets an occasion's
        # "Last contact" line wait for its alarm (core/reconcile.py).
        from netsync.core import reconcile

        reconcile._only_last_contact_before_alarm = lambda *args, **kwargs: False
    profile = os.environ.get("BENCH_PROFILE")
    if profile:  # bench.py --profile: where a cycle's time goes, for pstats
        import cProfile

        profiler = cProfile.Profile()
        code = profiler.runcall(commands.main, argv)
        profiler.dump_stats(profile)
    else:
        code = commands.main(argv)
    result = {
        "exit": code,
        "started": started,
        "ended": time.time(),
        "spans": spans,
        "peak_rss_kib": peak_rss_kib(),
        "imap_commands": imap_commands,
    }
    with open(out, "w") as f:
        json.dump(result, f)
    return code


if __name__ == "__main__":
    sys.exit(main())
