"""Fixtures of the fault tests, and the hook that writes docs/reliability.md from their figures.

The suite itself never writes the page: `make reliability` runs tests/faults with
``NETSYNC_RELIABILITY_PAGE`` set to the page's path. Even then it is written only when every
test of tests/faults was selected, ran and passed in this session, so a partial run (``-k``,
``-m "not slow"``, a failure) never replaces it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.faults import reliability

HERE = Path(__file__).parent
_selected: set[str] = set()
_passed: set[str] = set()
_failed: set[str] = set()
_seconds = [0.0]  # setup, call and teardown time of the tests of this directory


def _ours(nodeid: str) -> bool:
    return nodeid.replace("\\", "/").startswith("tests/faults/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    _selected.update(item.nodeid for item in items if _ours(item.nodeid))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not _ours(report.nodeid):
        return
    _seconds[0] += report.duration
    module = report.nodeid.split("::")[0].rsplit("/", 1)[-1]
    key = reliability.MODULES.get(module)
    if key is not None:
        reliability.SECONDS[key] = reliability.SECONDS.get(key, 0.0) + report.duration
    if report.failed:
        _failed.add(report.nodeid)
    elif report.when == "call" and hasattr(report, "wasxfail"):
        # A known bug, pinned by a strict xfail test: it counts as run, and the page says so.
        _passed.add(report.nodeid)
        reliability.KNOWN.append(f"`{report.nodeid.split('::')[-1]}`: {report.wasxfail}")
    elif report.when == "call" and report.passed:
        _passed.add(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    page = os.environ.get("NETSYNC_RELIABILITY_PAGE", "")
    if not _selected or not page:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    complete = not _failed and _passed == _selected and reliability.complete()
    if complete:
        path = reliability.write(duration=_seconds[0], to=Path(page))
        message = f"tests/faults: wrote {path}"
    else:
        message = f"tests/faults: partial or failing run; {page} left as it was"
    if reporter is not None:
        reporter.write_line(message)


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test servers' password comes from the environment, as a user would set it."""
    from tests import servers

    monkeypatch.setenv("NETSYNC_PASSWORD", servers.PASSWORD)
    monkeypatch.delenv("NETSYNC_CONFIG", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
