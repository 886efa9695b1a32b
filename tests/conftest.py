"""Fixtures: real Radicale, Xandikos, sabre/dav and SOGo on loopback (see tests/servers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import mailserver, servers, sogoserver

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """../shared/fixtures, the real-world corpus; tests skip with a message when it is absent."""
    if not FIXTURES.is_dir():
        pytest.skip(f"real-world corpus not found at {FIXTURES}")
    return FIXTURES


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[servers.Server]:
    """A fresh Radicale (auth on, empty address book) for one test."""
    with servers.radicale(tmp_path / "radicale") as server:
        yield server


@pytest.fixture
def xandikos(tmp_path: Path) -> Iterator[servers.Server]:
    """A fresh Xandikos (stores bytes verbatim, no auth) for one test."""
    with servers.xandikos(tmp_path / "xandikos") as server:
        yield server


@pytest.fixture
def sabre(tmp_path: Path) -> Iterator[servers.Server]:
    """A fresh sabre/dav 1.8 (no sync-collection, bytes verbatim, auth on) for one test."""
    with servers.sabre(tmp_path / "sabre") as server:
        yield server


@pytest.fixture(scope="session")
def sogo_instance() -> Iterator[sogoserver.SogoInstance]:
    """One SOGo for the whole session (it takes seconds to start): tests take a user each."""
    with sogoserver.sogo() as instance:
        yield instance


@pytest.fixture
def sogo(sogo_instance: sogoserver.SogoInstance) -> servers.Server:
    """A fresh user on the session's SOGo: an empty address book and calendar home."""
    return sogo_instance.user()


@pytest.fixture(params=servers.KINDS)
def server(request: pytest.FixtureRequest) -> servers.Server:
    """Each test using this runs once against each server: fresh Radicale, Xandikos and
    sabre/dav, a fresh user on the session's SOGo."""
    return request.getfixturevalue(str(request.param))  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def calendar_readers(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``read(objects, zone=...)``: what ical.js and libical make of calendar objects
    (``{name: body}``), as ``{"ical.js": Reading, "libical": Reading}`` (tests/readers.py).
    Fails, saying what to install, when a reader is missing: CI installs both."""
    from tests import readers

    workdir = tmp_path_factory.mktemp("readers")
    try:
        checker = readers.libical_checker(workdir)
        readers.check_icaljs()
    except readers.ReaderMissing as missing:
        pytest.fail(str(missing))
    count = iter(range(1_000_000))

    def read(objects: dict[str, bytes], *, zone: str) -> dict[str, readers.Reading]:
        where = workdir / f"run{next(count)}"
        return {
            "ical.js": readers.read_with_icaljs(objects, zone=zone, workdir=where / "js"),
            "libical": readers.read_with_libical(
                objects, checker=checker, zone=zone, workdir=where / "c"
            ),
        }

    return read


@pytest.fixture
def dovecot() -> Iterator[mailserver.Dovecot]:
    """A fresh private Dovecot (IMAP on loopback, one user, an empty Sent) for one test."""
    with mailserver.dovecot() as server:
        yield server
