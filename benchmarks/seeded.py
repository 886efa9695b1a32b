"""Radicale and Xandikos on loopback with the address book already in their storage.

Loading 10,000 cards with one PUT each takes minutes (Radicale: 1,000 PUTs took 38 s), so the
cards are written straight into the server's storage before it starts, the way each server
keeps them:

- Radicale (multifilesystem): ``collection-root/<user>/<book>/`` holds one file per card and a
  ``.Radicale.props`` JSON (``"tag": "VADDRESSBOOK"``). Radicale reads that directory on every
  request; its item cache (``.Radicale.cache``) is filled on first read, so ``warm_up`` reads
  everything once before anything is timed, as a server in use would have it.
- Xandikos: every collection is a git repository with a work tree (``TreeGitStore``);
  ``--defaults`` makes ``<user>/contacts/addressbook/``. The cards are written into the work
  tree, added to the index and committed in ONE commit (what ``import_one`` does per card),
  with dulwich, which Xandikos itself uses.

Servers log to a file (an undrained pipe blocks Xandikos) and stop terminate-then-kill.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cardgen import GeneratedCard

USER = "alice"
PASSWORD = "bench-pass"


@dataclass(frozen=True)
class Server:
    kind: str  # "radicale" | "xandikos"
    host: str
    port: int
    book_path: str  # "/alice/contacts/" (absolute path of the address book)
    calendar_home_path: str
    username: str
    password: str
    log: Path
    storage: Path  # the user's folder in the server's storage

    @property
    def root(self) -> str:
        return f"http://{self.host}:{self.port}/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(
    server: Server,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    timeout: float = 600,
) -> tuple[int, dict[str, str], bytes]:
    """One request straight to the server (not through the counting proxy)."""
    req = urllib.request.Request(
        server.root.rstrip("/") + path, data=body or None, method=method, headers=headers or {}
    )
    if server.username:
        token = base64.b64encode(f"{server.username}:{server.password}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return int(resp.status), dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return int(err.code), dict(err.headers), err.read()


def _wait_ready(server: Server, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{server.kind} exited: {server.log.read_text()[-2000:]}")
        try:
            request(server, "OPTIONS", "/", timeout=5)
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{server.kind} did not start: {server.log.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# -- Radicale ---------------------------------------------------------------------------------


def _seed_radicale(folder: Path, cards: Sequence[GeneratedCard]) -> None:
    book = folder / "collection-root" / USER / "contacts"
    book.mkdir(parents=True)
    props = {"D:displayname": "Contacts", "tag": "VADDRESSBOOK"}
    (book / ".Radicale.props").write_text(json.dumps(props))
    for card in cards:
        (book / card.name).write_bytes(card.text.encode("utf-8"))


@contextlib.contextmanager
def radicale(tmp: Path, cards: Sequence[GeneratedCard]) -> Iterator[Server]:
    """Radicale 3 with htpasswd auth and the address book at /alice/contacts/."""
    tmp.mkdir(parents=True, exist_ok=True)
    _seed_radicale(tmp / "collections", cards)
    port = free_port()
    (tmp / "users").write_text(f"{USER}:{PASSWORD}\n")
    config = tmp / "config"
    config.write_text(
        "[server]\n"
        f"hosts = 127.0.0.1:{port}\n"
        "[auth]\n"
        "type = htpasswd\n"
        f"htpasswd_filename = {tmp / 'users'}\n"
        "htpasswd_encryption = plain\n"
        "delay = 0\n"
        "[storage]\n"
        f"filesystem_folder = {tmp / 'collections'}\n"
        "[logging]\n"
        "level = warning\n"
    )
    log = tmp / "radicale.log"
    server = Server(
        "radicale",
        "127.0.0.1",
        port,
        f"/{USER}/contacts/",
        f"/{USER}/",
        USER,
        PASSWORD,
        log,
        tmp / "collections" / "collection-root" / USER,
    )
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(server, proc)
        yield server
    finally:
        _stop(proc)


# -- Xandikos ---------------------------------------------------------------------------------


def _xandikos_args(data: Path, port: int, state: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "xandikos.web",
        "-d",
        str(data),
        "--defaults",
        "-l",
        "127.0.0.1",
        "-p",
        str(port),
        "--no-detect-systemd",
        "--current-user-principal",
        f"/{USER}/",
        "--state-dir",
        str(state),
    ]


def _seed_xandikos(book: Path, cards: Sequence[GeneratedCard]) -> None:
    """All cards into the address book's git repository as one commit."""
    _commit_files(book, [(card.name, card.text.encode("utf-8")) for card in cards])


def _commit_files(collection: Path, files: Sequence[tuple[str, bytes]]) -> None:
    """Write files into a Xandikos collection's work tree and commit them in one commit."""
    from dulwich.index import index_entry_from_stat
    from dulwich.objects import Blob
    from dulwich.repo import Repo

    with Repo(str(collection)) as repo:
        index = repo.open_index()
        blobs = []
        for name, data in files:
            path = collection / name
            path.write_bytes(data)
            blob = Blob.from_string(data)
            blobs.append(blob)
            index[name.encode()] = index_entry_from_stat(os.lstat(path), blob.id)
        repo.object_store.add_objects([(blob, None) for blob in blobs])
        index.write()
        tree = index.commit(repo.object_store)
        repo.get_worktree().commit(message=b"benchmark: seed collection", tree=tree)


@contextlib.contextmanager
def xandikos(tmp: Path, cards: Sequence[GeneratedCard]) -> Iterator[Server]:
    """Xandikos with its defaults: /alice/contacts/addressbook/ and /alice/calendars/."""
    tmp.mkdir(parents=True, exist_ok=True)
    data, state = tmp / "data", tmp / "state"
    log = tmp / "xandikos.log"
    port = free_port()
    server = Server(
        "xandikos",
        "127.0.0.1",
        port,
        f"/{USER}/contacts/addressbook/",
        f"/{USER}/calendars/",
        "",
        "",
        log,
        data / USER,
    )
    # A first start makes the principal and its default collections; the cards go into the
    # address book's repository while no server runs, and the second start serves them.
    for seed in (True, False):
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                _xandikos_args(data, port, state), stdout=out, stderr=subprocess.STDOUT
            )
        try:
            _wait_ready(server, proc)
            if not seed:
                yield server
        finally:
            _stop(proc)
        if seed:
            _seed_xandikos(data / USER / "contacts" / "addressbook", cards)


@contextlib.contextmanager
def start(kind: str, tmp: Path, cards: Sequence[GeneratedCard]) -> Iterator[Server]:
    factory = radicale if kind == "radicale" else xandikos
    with factory(tmp / kind, cards) as server:
        yield server


# -- as a phone would -------------------------------------------------------------------------

_PROPFIND_ETAGS = (
    b'<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop>'
    b"<d:getetag/></d:prop></d:propfind>"
)


def etags(server: Server, path: str | None = None) -> dict[str, str]:
    """href -> ETag of every card (or object of ``path``): PROPFIND Depth 1, as a second
    client would."""
    import re

    path = path or server.book_path
    status, _, body = request(
        server,
        "PROPFIND",
        path,
        body=_PROPFIND_ETAGS,
        headers={"Depth": "1", "Content-Type": "application/xml"},
    )
    if status != 207:
        raise RuntimeError(f"PROPFIND {path} answered {status}")
    out = {}
    for block in re.findall(rb"<(?:\w+:)?response\b.*?</(?:\w+:)?response>", body, re.S):
        href = re.search(rb"<(?:\w+:)?href>([^<]*)<", block)
        etag = re.search(rb"<(?:\w+:)?getetag>([^<]*)<", block)
        if href and etag:
            out[href.group(1).decode()] = etag.group(1).decode().replace("&quot;", '"')
    return out


def warm_up(server: Server, path: str | None = None) -> float:
    """Use a collection once the way clients do: a PROPFIND listing, an initial
    sync-collection REPORT, a multiget of everything, and a write. Returns the seconds the
    sync REPORT took. Nothing timed pays for cold server caches then: Radicale parses each
    item on its first read, and builds its sync history (one fsynced file per item) on the
    first sync-collection of a collection; Xandikos reads every UID on the first write after
    it starts. At 10,000 items each takes longer than netsync's default 30 s timeout. A
    server in use has all that from the phones that sync with it."""
    from xml.sax.saxutils import escape

    path = path or server.book_path
    calendar = path != server.book_path
    hrefs = [h for h in etags(server, path) if h.rstrip("/") != path.rstrip("/")]
    begin = time.monotonic()
    status, _, _ = request(
        server,
        "REPORT",
        path,
        body=b'<d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:sync-level>1</d:sync-level>'
        b"<d:prop><d:getetag/></d:prop></d:sync-collection>",
        headers={"Depth": "0", "Content-Type": "application/xml"},
    )
    took = time.monotonic() - begin
    if status != 207:
        raise RuntimeError(f"warm-up sync-collection answered {status}")
    ns, kind, data = (
        ("urn:ietf:params:xml:ns:caldav", "calendar-multiget", "calendar-data")
        if calendar
        else ("urn:ietf:params:xml:ns:carddav", "addressbook-multiget", "address-data")
    )
    for start in range(0, len(hrefs), 2000):
        body = (
            f'<c:{kind} xmlns:d="DAV:" xmlns:c="{ns}">'
            f"<d:prop><d:getetag/><c:{data}/></d:prop>"
            + "".join(f"<d:href>{escape(h)}</d:href>" for h in hrefs[start : start + 2000])
            + f"</c:{kind}>"
        ).encode()
        status, _, _ = request(
            server,
            "REPORT",
            path,
            body=body,
            headers={"Depth": "0", "Content-Type": "application/xml"},
        )
        if status != 207:
            raise RuntimeError(f"warm-up multiget answered {status}")
    _write_once(server, path, calendar=calendar)
    return took


def _write_once(server: Server, path: str, *, calendar: bool) -> None:
    """PUT and DELETE a throwaway object: Xandikos reads every item's UID on the first write
    to a collection after it starts (over 30 s for 10,000 reminders, netsync's timeout)."""
    name = "benchmark-warm-up." + ("ics" if calendar else "vcf")
    if calendar:
        body = (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\n"
            "UID:benchmark-warm-up\r\nDTSTAMP:20261126T060000Z\r\nDTSTART;VALUE=DATE:20261126\r\n"
            "SUMMARY:warm-up\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        )
        kind = "text/calendar"
    else:
        body = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:benchmark-warm-up\r\nFN:Warm Up\r\nEND:VCARD\r\n"
        kind = "text/vcard"
    headers = {"Content-Type": f"{kind}; charset=utf-8", "If-None-Match": "*"}
    status, _, _ = request(server, "PUT", path + name, body=body.encode(), headers=headers)
    if status not in (200, 201, 204):
        raise RuntimeError(f"warm-up PUT {path + name} answered {status}")
    status, _, _ = request(server, "DELETE", path + name)
    if status not in (200, 204):
        raise RuntimeError(f"warm-up DELETE {path + name} answered {status}")


def seed_calendar(server: Server, name: str, objects: Sequence[tuple[str, bytes]]) -> str:
    """A calendar with display name ``name`` holding ``objects`` (file name, iCalendar
    bytes), written into the running server's storage; returns its path. Both servers read
    their storage on every request, so a new collection there is simply found."""
    slug = "keep-in-touch-seeded"
    if server.kind == "radicale":
        folder = server.storage / slug
        folder.mkdir()
        props = {
            "D:displayname": name,
            "tag": "VCALENDAR",
            "C:supported-calendar-component-set": "VEVENT,VTODO",
        }
        for file_name, data in objects:
            (folder / file_name).write_bytes(data)
        (folder / ".Radicale.props").write_text(json.dumps(props))
        return f"{server.calendar_home_path}{slug}/"
    from xandikos.store.git import TreeGitStore

    folder = server.storage / "calendars" / slug
    store = TreeGitStore.create(str(folder))  # type: ignore[no-untyped-call]
    store.set_type("calendar")
    store.set_displayname(name)
    store.repo.close()
    _commit_files(folder, objects)
    return f"{server.calendar_home_path}{slug}/"


def edit_card(server: Server, name: str, text: str) -> None:
    """PUT a new version of a card with If-Match, as a phone would (not through the proxy)."""
    href = server.book_path + name
    etag = etags(server).get(href) or etags(server).get(href.replace("@", "%40"))
    if etag is None:
        raise RuntimeError(f"{href} not on the server")
    status, _, _ = request(
        server,
        "PUT",
        href,
        body=text.encode("utf-8"),
        headers={"Content-Type": "text/vcard; charset=utf-8", "If-Match": etag},
    )
    if status not in (200, 201, 204):
        raise RuntimeError(f"editing {href} answered {status}")
