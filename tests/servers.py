"""Real Radicale and Xandikos servers on loopback, for the integration and CLI tests.

Each server runs as a subprocess with its own temporary storage and a free port, logs to a file
(an undrained pipe blocks Xandikos part-way through a run), and is stopped with
terminate-then-kill. Radicale checks Basic auth against an htpasswd file and rewrites what it
stores; Xandikos stores bytes verbatim and has no auth without TLS.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

USER = "alice"
PASSWORD = "s3cret-pass"


@dataclass(frozen=True)
class Server:
    kind: str  # "radicale" | "xandikos"
    root: str  # "http://127.0.0.1:PORT/"
    addressbook: str  # URL of the address book collection
    calendar_home: str  # URL under which calendars live
    username: str
    password: str
    log: Path
    proc: subprocess.Popen[bytes]

    @property
    def needs_auth(self) -> bool:
        return bool(self.username)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(
    method: str,
    url: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    auth: bool = True,
) -> int:
    import base64

    req = urllib.request.Request(url, data=body or None, method=method, headers=headers or {})
    if auth:
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            _request("OPTIONS", url)
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server at {url} did not start: {log.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


MKCOL_ADDRESSBOOK = b"""<?xml version="1.0" encoding="utf-8"?>
<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
  <D:set><D:prop>
    <D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>
    <D:displayname>Contacts</D:displayname>
  </D:prop></D:set>
</D:mkcol>"""


@contextlib.contextmanager
def radicale(tmp: Path, *, anonymous: bool = False) -> Iterator[Server]:
    """Radicale with htpasswd auth (alice), an empty address book at /alice/contacts/.

    ``anonymous``: ``[auth] type = none`` with the default rights, as a home server without
    logins runs it: it serves /alice/contacts/ to anyone, but answers 401 to a PROPFIND that
    asks for current-user-principal (there is no user). Username and password are then ""."""
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "users").write_text(f"{USER}:{PASSWORD}\n")
    config = tmp / "config"
    auth = (
        "type = none\n"
        if anonymous
        else (
            f"type = htpasswd\nhtpasswd_filename = {tmp / 'users'}\nhtpasswd_encryption = plain\n"
        )
    )
    # Radicale's configparser does not strip inline comments: keep them on their own lines.
    config.write_text(
        "[server]\n"
        f"hosts = 127.0.0.1:{port}\n"
        "[auth]\n"
        f"{auth}"
        "delay = 0\n"
        "[storage]\n"
        f"filesystem_folder = {tmp / 'collections'}\n"
        "[logging]\n"
        "level = warning\n"
    )
    log = tmp / "radicale.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    root = f"http://127.0.0.1:{port}/"
    try:
        _wait_ready(root, proc, log)
        book = f"{root}{USER}/contacts/"
        status = _request(
            "MKCOL",
            book,
            body=MKCOL_ADDRESSBOOK,
            headers={"Content-Type": "application/xml; charset=utf-8"},
        )
        if status != 201:
            raise RuntimeError(f"MKCOL address book on Radicale answered {status}")
        user, password = ("", "") if anonymous else (USER, PASSWORD)
        yield Server("radicale", root, book, f"{root}{USER}/", user, password, log, proc)
    finally:
        _stop(proc)


@contextlib.contextmanager
def xandikos(tmp: Path) -> Iterator[Server]:
    """Xandikos with its defaults: /alice/contacts/addressbook/ and /alice/calendars/calendar/."""
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    log = tmp / "xandikos.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "xandikos.web",
                "-d",
                str(tmp / "data"),
                "--defaults",
                "-l",
                "127.0.0.1",
                "-p",
                str(port),
                "--no-detect-systemd",
                "--current-user-principal",
                f"/{USER}/",
                "--state-dir",
                str(tmp / "state"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    root = f"http://127.0.0.1:{port}/"
    try:
        _wait_ready(root, proc, log)
        yield Server(
            "xandikos",
            root,
            f"{root}{USER}/contacts/addressbook/",
            f"{root}{USER}/calendars/",
            "",
            "",
            log,
            proc,
        )
    finally:
        _stop(proc)


def put_card(server: Server, name: str, card: bytes | str, *, etag: str | None = None) -> int:
    """PUT a card into the server's address book as another client (a phone) would."""
    data = card.encode() if isinstance(card, str) else card
    headers = {"Content-Type": "text/vcard; charset=utf-8"}
    headers["If-Match" if etag else "If-None-Match"] = etag or "*"
    return _request(
        "PUT", server.addressbook + name, body=data, headers=headers, auth=server.needs_auth
    )
