"""The providers' stand-ins on a private internet (tests/standins), one fresh set per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pty_session import Terminal
from tests.standins import google as google_standin
from tests.standins import icloud as icloud_standin
from tests.standins import net
from tests.standins import nextcloud as nextcloud_standin


def _forget_proxies() -> None:
    """niquests reads the proxy variables once per process (functools.lru_cache on
    getproxies); each test has a proxy of its own."""
    import niquests.utils

    niquests.utils.getproxies.cache_clear()
    niquests.utils.getproxies_environment.cache_clear()


@pytest.fixture
def internet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[net.Internet]:
    """The proxy and CA, in this process's environment (as for a user behind a proxy)."""
    with net.internet(tmp_path) as web:
        for name, value in web.environ().items():
            monkeypatch.setenv(name, value)
        _forget_proxies()
        monkeypatch.delenv("NETSYNC_PASSWORD", raising=False)
        monkeypatch.delenv("NETSYNC_CONFIG", raising=False)
        monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
        try:
            yield web
        finally:
            monkeypatch.undo()
            _forget_proxies()


@pytest.fixture
def google(internet: net.Internet, tmp_path: Path) -> Iterator[google_standin.Google]:
    with google_standin.google(internet, tmp_path) as g:
        yield g


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    """The terminals a test starts; each one still running at the end is killed."""
    started: list[Terminal] = []
    yield started
    for term in started:
        if term.proc.poll() is None:
            term.proc.kill()
            term.proc.wait()


@pytest.fixture
def icloud(internet: net.Internet, tmp_path: Path) -> Iterator[icloud_standin.ICloud]:
    with icloud_standin.icloud(internet, tmp_path) as cloud:
        yield cloud


@pytest.fixture
def nextcloud(internet: net.Internet, tmp_path: Path) -> Iterator[nextcloud_standin.Nextcloud]:
    with nextcloud_standin.nextcloud(internet, tmp_path) as cloud:
        yield cloud
