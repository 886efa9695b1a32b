"""SOGo 5.8 for the tests: sogod on a private PostgreSQL and memcached, behind nginx.

One instance serves a whole test session (it takes seconds to start); each test gets a user of
its own with an empty address book and calendar home. See tests/servers.py for what the tests
take from each server, and SOGO_PRECONDITIONS there for what SOGo does with If-Match.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.servers import PASSWORD, Server, _need, _request, _stop, _tail, _wait_ready, free_port


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
            # What decided each write: the precondition sent and the ETag before and after.
            "  log_format dav '$msec $request_method $uri $status"
            " if-match=$http_if_match if-none-match=$http_if_none_match"
            " etag=$sent_http_etag';\n"
            f"  access_log {front}/access.log dav;\n"
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
