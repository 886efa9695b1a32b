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
  and each test gets a user of its own (sogo_instance / SogoInstance.user). sogod ("Don't run
  SOGo as root!") and PostgreSQL refuse root: as root, each runs as its package's own user.

``.ci/run`` installs the Debian packages these need.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def _stop_sogod(proc: subprocess.Popen[bytes]) -> None:
    """sogod's watchdog passes SIGTERM on to its workers and waits for them, but a worker
    (in a session of its own) only acts on it at its next request: they get SIGKILL, which the
    watchdog reaps before it exits."""
    proc.terminate()
    time.sleep(0.2)  # the watchdog has taken the signal: it will not start new workers
    for child in _children(proc.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            # "pid (comm) state ppid ...": comm may hold spaces, so split after its ")".
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
    return out


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


def _postgres_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} not found: install Debian's postgresql")
    return str(found[-1])


class SogoInstance:
    """SOGo with its PostgreSQL and memcached, for a whole test session.

    ``user()`` adds a user with a fresh address book and calendar home; tests share the server
    but never a user. Everything lives in one temporary directory outside pytest's (which root
    keeps private), owned by the package users where the tests run as root, and removed with
    its processes by ``close()``.
    """

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.dir = Path(tempfile.mkdtemp(prefix="netsync-sogo-"))
        self.dir.chmod(0o755)  # the package users reach their own subdirectories
        self._names = itertools.count(1)
        self.root = ""
        self.db_port = 0
        self.log = self.dir / "sogo" / "sogo.log"
        self.started = time.monotonic()
        self.sogod: subprocess.Popen[bytes] | None = None

    def _spawn(
        self,
        cmd: list[str],
        log: Path,
        user: str | None,
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start ``cmd`` logging to ``log``; as ``user`` (its own group only) when root."""
        who: dict[str, Any] = {}
        if user and os.geteuid() == 0:
            who = {"user": user, "group": user, "extra_groups": []}
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=env,
                **who,
            )
        self.procs.append(proc)
        return proc

    def _own(self, path: Path, user: str) -> Path:
        path.mkdir()
        if os.geteuid() == 0:
            shutil.chown(path, user, user)
        return path

    def _psql(self, sql: str, *, db: str = "postgres", role: str = "postgres") -> None:
        cmd = [_need("psql", "postgresql-client"), "-X", "-q", "-v", "ON_ERROR_STOP=1"]
        cmd += ["-h", "127.0.0.1", "-p", str(self.db_port), "-U", role, "-d", db, "-c", sql]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise RuntimeError(f"psql {sql!r} failed: {done.stderr.strip()}")

    def start(self) -> None:
        sogod = _need("/usr/sbin/sogod", "sogo")
        memcached = _need("memcached", "memcached")
        pg = self._own(self.dir / "pg", "postgres")
        initdb = subprocess.run(
            [_postgres_bin("initdb"), "-D", str(pg / "data"), "-U", "postgres"]
            + ["--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"],
            capture_output=True,
            text=True,
            user="postgres" if os.geteuid() == 0 else None,
            timeout=120,
        )
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed: {initdb.stderr.strip()}")
        self.db_port = free_port()
        db_log = pg / "postgres.log"
        postgres = self._spawn(
            [_postgres_bin("postgres"), "-D", str(pg / "data"), "-h", "127.0.0.1"]
            + ["-p", str(self.db_port), "-c", "unix_socket_directories=", "-c", "fsync=off"]
            + ["-c", "full_page_writes=off", "-c", "synchronous_commit=off"],
            db_log,
            "postgres",
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                self._psql("CREATE ROLE sogo LOGIN")
                break
            except RuntimeError:
                if postgres.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"PostgreSQL did not start: {_tail(db_log)}") from None
                time.sleep(0.1)
        self._psql("CREATE DATABASE sogo OWNER sogo")
        self._psql(
            "CREATE TABLE sogo_users (c_uid varchar(128) PRIMARY KEY, c_name varchar(128),"
            " c_password varchar(256), c_cn varchar(128), mail varchar(128))",
            db="sogo",
            role="sogo",
        )
        mc_port = free_port()
        mc_user = ["-u", "memcache"] if os.geteuid() == 0 else []
        mc_dir = self._own(self.dir / "memcached", "memcache")
        self._spawn(
            [memcached, "-l", "127.0.0.1", "-p", str(mc_port), "-U", "0", "-m", "16", *mc_user],
            mc_dir / "memcached.log",
            None,  # memcached drops to -u itself
        )
        home = self._own(self.dir / "sogo", "sogo")
        url = f"postgresql://sogo@127.0.0.1:{self.db_port}/sogo"
        source = (
            f'({{type = sql; id = users; viewURL = "{url}/sogo_users"; canAuthenticate = YES;'
            " isAddressBook = NO; userPasswordAlgorithm = plain;})"
        )
        port = free_port()
        defaults = {
            "WONoDetach": "YES",
            "WOPort": f"127.0.0.1:{port}",
            "WOLogFile": "-",
            "WOPidFile": str(home / "sogo.pid"),
            # netsync writes with a pool of connections; one worker would serialise them.
            "WOWorkersCount": "4",
            "SOGoProfileURL": f"{url}/sogo_user_profile",
            "OCSFolderInfoURL": f"{url}/sogo_folder_info",
            "OCSSessionsFolderURL": f"{url}/sogo_sessions_folder",
            "OCSEMailAlarmsFolderURL": f"{url}/sogo_alarms_folder",
            "SOGoMemcachedHost": f"127.0.0.1:{mc_port}",
            "SOGoUserSources": source,
            "SOGoTimeZone": "UTC",
        }
        args = [item for key, value in defaults.items() for item in (f"-{key}", value)]
        self.sogod = proc = self._spawn(
            [sogod, *args],
            self.log,
            "sogo",
            cwd=home,
            # GNUstep keeps its user defaults under $HOME: the temporary one, not /var/lib/sogo.
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)},
        )
        _wait_ready(f"http://127.0.0.1:{port}/SOGo/dav/", proc, self.log, timeout=60)
        self.root = f"http://127.0.0.1:{self._front(port)}/SOGo/dav/"

    def _front(self, backend: int) -> int:
        """nginx in front of SOGo, as SOGo is deployed (its Apache example does the same):
        clients keep their connections alive while each request reaches sogod on a connection
        of its own. sogod closes every connection after one answer without saying so
        (no Connection: close), which a client reusing the connection meets as a dropped
        request."""
        nginx = _need("/usr/sbin/nginx", "nginx-light")
        front = self.dir / "nginx"
        front.mkdir()
        port = free_port()
        worker = "user www-data www-data;\n" if os.geteuid() == 0 else ""
        (front / "nginx.conf").write_text(
            f"{worker}daemon off;\nworker_processes 1;\npid {front}/nginx.pid;\n"
            f"error_log {front}/error.log;\nevents {{ worker_connections 256; }}\n"
            "http {\n"
            f"  access_log {front}/access.log;\n"
            + "".join(
                f"  {kind}_temp_path {front}/{kind};\n"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
            + f"  server {{\n    listen 127.0.0.1:{port};\n    client_max_body_size 0;\n"
            "    location /SOGo {\n"
            f"      proxy_pass http://127.0.0.1:{backend};\n"
            "      proxy_set_header Host $http_host;\n"
            "      proxy_set_header x-webobjects-server-protocol HTTP/1.0;\n"
            "      proxy_set_header x-webobjects-server-name $host;\n"
            "      proxy_set_header x-webobjects-server-port $server_port;\n"
            "      proxy_set_header x-webobjects-server-url http://$http_host;\n"
            "    }\n  }\n}\n"
        )
        log = front / "nginx.log"
        proc = self._spawn(
            [
                nginx,
                "-p",
                str(front),
                "-e",
                str(front / "error.log"),
                "-c",
                str(front / "nginx.conf"),
            ],
            log,
            None,  # the master stays root to bind and log; its worker runs as www-data
        )
        _wait_ready(f"http://127.0.0.1:{port}/SOGo/dav/", proc, log)
        return port

    def user(self, name: str | None = None) -> Server:
        """A new user (password PASSWORD) with SOGo's personal address book and calendar."""
        assert self.sogod is not None, "start() first"
        uid = name or f"user{next(self._names)}"
        self._psql(
            f"INSERT INTO sogo_users VALUES ('{uid}', '{uid}', '{PASSWORD}', '{uid}',"
            f" '{uid}@example.org')",
            db="sogo",
            role="sogo",
        )
        book = f"{self.root}{uid}/Contacts/personal/"
        home = f"{self.root}{uid}/Calendar/"
        # SOGo makes a user's personal folders on first sight.
        for url in (book, home + "personal/"):
            status = _request("PROPFIND", url, headers={"Depth": "0"}, user=uid)
            if status != 207:
                raise RuntimeError(f"PROPFIND {url} on SOGo answered {status}: {_tail(self.log)}")
        return Server(
            "sogo",
            self.root,
            book,
            home,
            uid,
            PASSWORD,
            self.log,
            self.sogod,
            f"{self.root}{uid}/",
        )

    def close(self) -> None:
        """SOGo first, then memcached, then PostgreSQL (SIGINT: its fast shutdown; SIGTERM
        would wait for clients and SIGKILL would leave its children behind)."""
        for proc in reversed(self.procs[1:]):
            if proc is self.sogod:
                _stop_sogod(proc)
            else:
                _stop(proc)
        if self.procs:
            postgres = self.procs[0]
            postgres.send_signal(signal.SIGINT)
            try:
                postgres.wait(30)
            except subprocess.TimeoutExpired:
                postgres.kill()
                postgres.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def sogo() -> Iterator[SogoInstance]:
    """A running SOGo (see SogoInstance), stopped and removed afterwards."""
    instance = SogoInstance()
    try:
        instance.start()
        yield instance
    finally:
        instance.close()


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
