"""sd_notify without libsystemd: what arrives at the socket systemd would listen on."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from netsync.app.sdnotify import notify, watchdog_interval


@pytest.fixture
def listener() -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket as systemd makes it; a short directory, since sun_path is 108 bytes."""
    with tempfile.TemporaryDirectory(prefix="sdn") as tmp:
        path = str(Path(tmp) / "notify")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(path)
            sock.settimeout(2)
            yield sock, path


def test_fields_arrive_as_one_datagram(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    assert notify("READY=1", "STATUS=12 reminders, 3 due today", env={"NOTIFY_SOCKET": path})
    assert sock.recv(4096) == b"READY=1\nSTATUS=12 reminders, 3 due today"


def test_status_with_non_ascii_text_arrives_as_utf8(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    status = "STATUS=Zoë van Leeuwen wordt 8 — volgende ronde 14:15 ✓"
    assert notify(status, env={"NOTIFY_SOCKET": path})
    assert sock.recv(4096).decode("utf-8") == status


def test_newline_in_a_value_cannot_smuggle_in_another_field(
    listener: tuple[socket.socket, str],
) -> None:
    sock, path = listener
    notify("STATUS=first line\nREADY=1", env={"NOTIFY_SOCKET": path})
    assert sock.recv(4096) == b"STATUS=first line READY=1"


def test_abstract_socket_address() -> None:
    name = f"netsync-test-{os.getpid()}-{id(object())}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        assert notify("WATCHDOG=1", env={"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(4096) == b"WATCHDOG=1"


@pytest.mark.parametrize("address", ["", "relative/path", "vsock:2:1234"])
def test_without_a_usable_socket_nothing_is_sent(address: str) -> None:
    assert notify("READY=1", env={"NOTIFY_SOCKET": address} if address else {}) is False


def test_a_vanished_socket_is_not_an_error(tmp_path: Path) -> None:
    # systemd restarted, or the test harness stopped listening: the service keeps running.
    assert notify("STATUS=x", env={"NOTIFY_SOCKET": str(tmp_path / "gone")}) is False


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATCHDOG_USEC": "300000000"}, 150.0),  # WatchdogSec=5min -> ping every 2.5 min
        ({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "4242"}, 1.0),
        ({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}, 0.0),  # meant for another process
        ({"WATCHDOG_USEC": "0"}, 0.0),
        ({"WATCHDOG_USEC": "soon"}, 0.0),
        ({}, 0.0),
    ],
)
def test_watchdog_interval_is_half_of_watchdogsec(env: dict[str, str], expected: float) -> None:
    assert watchdog_interval(env, pid=4242) == expected
