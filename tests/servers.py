"""Real CardDAV/CalDAV servers on loopback, for the integration and CLI tests.

Each server runs as a subprocess with its own temporary storage and a free port, logs to a file
(an undrained pipe blocks Xandikos part-way through a run), and is stopped with
terminate-then-kill.

- Radicale checks Basic auth against an htpasswd file and rewrites what it stores.
- Xandikos stores bytes verbatim and has no auth without TLS.
- sabre/dav 1.8 (Debian's php-sabre-dav, the library of Baikal 0.2) runs
  under ``php -S`` on SQLite: Basic auth, bytes verbatim, and no sync-collection, so netsync
  lists its address book with PROPFIND and compares ETags.
- SOGo 5.8 (Debian's sogo: the groupware of many mail suites) runs on a private PostgreSQL and
  memcached, behind nginx as it is deployed. It re-serialises cards, offers sync-collection and
  ignores If-None-Match: *. It is heavy to start, so one instance serves a whole test session
  and each test gets a user of its own (tests/sogoserver.py). sogod ("Don't run SOGo as
  root!") and PostgreSQL refuse root: as root, each runs as its package's own user.

``.ci/run`` installs the Debian packages these need.
"""

from __future__ import annotations

import contextlib
import os
import shutil
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


KINDS = ("radicale", "xandikos", "sabre", "sogo")
SOGO_PRECONDITIONS = (
    "SOGo 5.8 honours If-Match only on a PUT over an existing object: a DELETE with a stale "
    "If-Match deletes, a PUT with If-Match on a deleted object creates it (201), and "
    "If-None-Match: * overwrites; so a reminder the phone changed or deleted between netsync's "
    "read and its write is deleted or brought back (contacts are safe: netsync only PUTs them "
    "over what it read)"
)
SOGO_LOST_UPDATE = (
    "SOGo 5.8 checks If-Match and writes in two steps, so two PUTs with the same If-Match that "
    "reach two of its workers together both succeed and both get the same new ETag (seen in "
    "nginx's log: p000.vcf, If-Match gcs00000011, 204 twice 3 ms apart, ETag gcs00000012 "
    "twice): the free-running storm's edit or netsync's logged date is lost without a 412, "
    "and neither client can tell"
)
SABRE_DIR = Path(__file__).parent / "sabredav"


@dataclass(frozen=True)
class Server:
    kind: str  # one of KINDS
    root: str  # "http://127.0.0.1:PORT/" (SOGo: ".../SOGo/dav/")
    addressbook: str  # URL of the address book collection
    calendar_home: str  # URL under which calendars live
    username: str
    password: str
    log: Path
    proc: subprocess.Popen[bytes]
    principal: str = ""  # URL of the user's principal

    @property
    def needs_auth(self) -> bool:
        return bool(self.username)

    @property
    def stores_verbatim(self) -> bool:
        """A card PUT is served back byte for byte. Radicale re-serialises through vobject, SOGo
        through its own parser (folds at 75 octets, drops empty trailing N components and the
        last line's CRLF)."""
        return self.kind in ("xandikos", "sabre")

    @property
    def has_sync_collection(self) -> bool:
        """The address book and calendars offer RFC 6578 sync-collection."""
        return self.kind != "sabre"

    @property
    def honours_if_none_match(self) -> bool:
        """A PUT with If-None-Match: * on an existing resource answers 412. SOGo 5.8 ignores
        the header and overwrites."""
        return self.kind != "sogo"


def free_port() -> int:
    """A loopback port nobody listens on, for a server about to start.

    The port is free only until someone else binds it. Under pytest-xdist each worker takes
    only ports of its own share (port // 2 % workers: Linux hands out odd ports to bind(0)),
    so two workers starting a server at the same moment never pick the same one."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    mine = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0) % workers
    for _ in range(10_000):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port // 2 % workers == mine:
            return port
    raise RuntimeError(f"no free port of worker {mine} of {workers} in 10,000 tries")


def _request(
    method: str,
    url: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    auth: bool = True,
    user: str = USER,
) -> int:
    import base64

    req = urllib.request.Request(url, data=body or None, method=method, headers=headers or {})
    if auth:
        token = base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, *, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {_tail(log)}")
        try:
            _request("OPTIONS", url)
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server at {url} did not start: {_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"


def _need(program: str, package: str) -> str:
    """The path of ``program``, or an error that says which Debian package .ci/run installs."""
    found = shutil.which(program) or (program if Path(program).is_file() else None)
    if not found:
        raise RuntimeError(f"{program} not found: install Debian's {package} (see .ci/run)")
    return found


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
        home = f"{root}{USER}/"
        user, password = ("", "") if anonymous else (USER, PASSWORD)
        yield Server("radicale", root, book, home, user, password, log, proc, home)
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
            f"{root}{USER}/",
        )
    finally:
        _stop(proc)


@contextlib.contextmanager
def sabre(tmp: Path) -> Iterator[Server]:
    """sabre/dav 1.8 under ``php -S``: Basic auth (alice), /addressbooks/alice/contacts/ and the
    calendar home /calendars/alice/ (no calendar yet), no sync-collection."""
    php = _need("php", "php-cli")
    if not Path("/usr/share/php/Sabre/autoload.php").is_file():
        raise RuntimeError("sabre/dav not found: install Debian's php-sabre-dav (see .ci/run)")
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    db = tmp / "sabre.sqlite"
    import sqlite3

    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.executescript((SABRE_DIR / "schema.sql").read_text().replace("USER", USER))
        conn.commit()
    env = {
        **os.environ,
        "SABRE_DB": str(db),
        "SABRE_USER": USER,
        "SABRE_PASSWORD": PASSWORD,
    }
    # One php process: it serves one request at a time, as a small shared host does. (With
    # PHP_CLI_SERVER_WORKERS, its workers outlive a terminated parent.)
    env.pop("PHP_CLI_SERVER_WORKERS", None)
    log = tmp / "sabre.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [php, "-S", f"127.0.0.1:{port}", str(SABRE_DIR / "server.php")],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp,
        )
    root = f"http://127.0.0.1:{port}/"
    try:
        _wait_ready(root, proc, log)
        yield Server(
            "sabre",
            root,
            f"{root}addressbooks/{USER}/contacts/",
            f"{root}calendars/{USER}/",
            USER,
            PASSWORD,
            log,
            proc,
            f"{root}principals/{USER}/",
        )
    finally:
        _stop(proc)


def settle(server: Server) -> None:
    """Let the server's sync token move on before a test reads changes it has just made.

    SOGo's sync token is the time in seconds, and a report lists again everything changed in
    the token's own second: a cycle run in the same second as a change sees it twice. (netsync
    copes: the ETags match.) Other servers' tokens change with every write."""
    if server.kind == "sogo":
        time.sleep(1.1)


def put_card(server: Server, name: str, card: bytes | str, *, etag: str | None = None) -> int:
    """PUT a card into the server's address book as another client (a phone) would."""
    data = card.encode() if isinstance(card, str) else card
    headers = {"Content-Type": "text/vcard; charset=utf-8"}
    headers["If-Match" if etag else "If-None-Match"] = etag or "*"
    return _request(
        "PUT",
        server.addressbook + name,
        body=data,
        headers=headers,
        auth=server.needs_auth,
        user=server.username or USER,
    )
