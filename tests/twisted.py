"""Radicale with a twist, for `check` and `init` tests: a rights file (a read-only calendar,
no new calendars) and/or TLS with a self-signed certificate made by `openssl`."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import servers

# Radicale reads the rights file once, at start: alice may read and write her address book and
# her "Work" calendar, only read "Family", and make no new calendars.
RIGHTS = """\
[root]
user: .+
collection:
permissions: R
[principal]
user: .+
collection: {user}
permissions: R
[family]
user: .+
collection: {user}/family
permissions: r
[mine]
user: .+
collection: {user}/(contacts|old-phone|work)
permissions: rw
"""


def _wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"radicale exited: {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"radicale did not start: {log.read_text()[-2000:]}")


@contextlib.contextmanager
def radicale_with(
    tmp: Path, *, rights: str = "", cert: tuple[Path, Path] | None = None
) -> Iterator[str]:
    """Radicale (auth on) with a rights file and/or TLS. alice has the address books Contacts
    and Old phone, and the calendars Family (read-only under RIGHTS) and Work. Yields the root
    URL."""
    tmp.mkdir(parents=True)
    home = tmp / "collections" / "collection-root" / servers.USER
    for slug, tag, name in (
        ("contacts", "VADDRESSBOOK", "Contacts"),
        ("old-phone", "VADDRESSBOOK", "Old phone"),
        ("family", "VCALENDAR", "Family"),
        ("work", "VCALENDAR", "Work"),
    ):
        (home / slug).mkdir(parents=True)
        (home / slug / ".Radicale.props").write_text(
            json.dumps({"tag": tag, "D:displayname": name})
        )
    (tmp / "users").write_text(f"{servers.USER}:{servers.PASSWORD}\n")
    port = servers.free_port()
    lines = ["[server]", f"hosts = 127.0.0.1:{port}"]
    if cert:
        lines += ["ssl = True", f"certificate = {cert[0]}", f"key = {cert[1]}"]
    lines += [
        "[auth]",
        "type = htpasswd",
        f"htpasswd_filename = {tmp / 'users'}",
        "htpasswd_encryption = plain",
        "delay = 0",
        "[storage]",
        f"filesystem_folder = {tmp / 'collections'}",
        "[logging]",
        "level = warning",
    ]
    if rights:
        (tmp / "rights").write_text(rights)
        lines += ["[rights]", "type = from_file", f"file = {tmp / 'rights'}"]
    (tmp / "config").write_text("\n".join(lines) + "\n")
    log = tmp / "radicale.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(tmp / "config")],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_listening(port, proc, log)
        yield f"{'https' if cert else 'http'}://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 made with openssl: (cert, key)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed: no certificate for a TLS test")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True,
        capture_output=True,
    )
    return cert, key
