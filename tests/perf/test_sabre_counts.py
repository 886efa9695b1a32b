"""What a no-change cycle costs on a server without sync-collection (sabre/dav 1.8), counted
by the benchmarks' counting proxy in front of a real sabre/dav (issue 15).

Such a server refuses the sync-collection REPORT; netsync lists the collection by PROPFIND
instead. It remembers the refusal (app/sync.py), so later cycles go straight to the listing:
one refused REPORT less per collection, until a day has passed and it asks again.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests import servers
from tests.scenario import TODAY, upload_sample, write_config

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from counting_proxy import CountingProxy  # noqa: E402

from netsync.app import sync as app_sync  # noqa: E402
from netsync.commands import main  # noqa: E402


def test_a_no_change_cycle_on_sabre_asks_no_refused_report(
    sabre: servers.Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETSYNC_PASSWORD", servers.PASSWORD)
    monkeypatch.delenv("NETSYNC_CONFIG", raising=False)
    upload_sample(sabre)
    parts = urlsplit(sabre.root)
    with CountingProxy(parts.hostname or "127.0.0.1", parts.port or 80) as proxy:
        root = proxy.root.rstrip("/")
        config = write_config(
            sabre,
            tmp_path,
            contacts_url=root + urlsplit(sabre.addressbook).path,
            reminders_url=root + urlsplit(sabre.calendar_home).path,
        )

        def cycle() -> Counter[str]:
            proxy.take()
            assert main(["--config", str(config), "sync", "--today", TODAY.isoformat()]) == 0
            return proxy.take().by_method()

        first = cycle()
        assert first["REPORT"] >= 2  # each collection's refused sync-collection, and multigets
        assert cycle()["PUT"] == 0  # confirms the first cycle's writes
        # Before: a REPORT refused and a PROPFIND per collection (address book, calendar).
        assert cycle() == Counter({"PROPFIND": 2})

        # A day later it asks again, in case the server was upgraded; refused, it lists.
        later = dt.datetime.now(dt.UTC) + app_sync.SYNC_RETRY
        monkeypatch.setattr(app_sync, "_now", lambda: later)
        assert cycle() == Counter({"REPORT": 2, "PROPFIND": 2})
        assert cycle() == Counter({"PROPFIND": 2})
