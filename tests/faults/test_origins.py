"""Issue 15, points 1 and 2 (SPEC 10): requests follow hrefs to the origin that names them,
and credentials go only where they belong.

iCloud is played by a front of the tests' own, before a real Radicale: contacts.icloud.com
answers every PROPFIND, whatever the path, with the user's current-user-principal as a whole
URL on another host (``https://pNN-contacts.icloud.com/NNN/principal/``), wants a login for it,
and holds no data itself: a card PUT to it answers 404 (issue 15, measured from outside:
"writing the card at http://HOST-A/... answered 404, while the card lives on HOST-B").
Here the two origins are two ports of 127.0.0.1 (one host, as pNN-contacts.icloud.com and
contacts.icloud.com share a registrable domain). A hostile front names, or redirects to, a
principal on 127.0.0.2: another host with no registrable domain in common, which must get
nothing, credentials least of all.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from netsync.commands import main
from netsync.core import notepatch, notes
from tests import davcheck, servers
from tests.faults.faultproxy import FaultProxy
from tests.scenario import TODAY, upload_sample

ALICE = "p000.vcf"  # upload_sample's first person, Alice Jansen


class _Front(http.server.BaseHTTPRequestHandler):
    """contacts.icloud.com as it answers a DAV client (see the module docstring)."""

    protocol_version = "HTTP/1.1"
    principal = ""  # the whole URL it names
    redirect = False  # answer with a redirect to the principal instead
    seen: list[tuple[str, str, bool]]

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _any(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append((self.command, self.path, "Authorization" in self.headers))
        if "Authorization" not in self.headers:
            return self._reply(401, headers={"WWW-Authenticate": 'Basic realm="front"'})
        if self.command != "PROPFIND":
            return self._reply(404)
        if self.redirect:
            return self._reply(301, headers={"Location": self.principal})
        body = (
            '<?xml version="1.0"?><d:multistatus xmlns:d="DAV:"><d:response>'
            f"<d:href>{self.path}</d:href><d:propstat><d:prop><d:current-user-principal>"
            f"<d:href>{self.principal}</d:href></d:current-user-principal></d:prop>"
            "<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>"
        ).encode()
        self._reply(207, body, {"Content-Type": "application/xml; charset=utf-8"})

    do_PROPFIND = do_GET = do_PUT = do_REPORT = do_DELETE = do_OPTIONS = _any  # noqa: N815
    do_MKCALENDAR = _any  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextmanager
def front(
    principal: str, *, redirect: bool = False
) -> Iterator[tuple[str, list[tuple[str, str, bool]]]]:
    seen: list[tuple[str, str, bool]] = []
    handler = type("Front", (_Front,), {"principal": principal, "redirect": redirect, "seen": seen})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def config_for(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[contacts]\nurl = "{url}"\nusername = "{servers.USER}"\n'
        f'[reminders]\ncalendar = "Keep in touch"\n[state]\ndir = "{tmp_path / "state"}"\n'
    )
    path.chmod(0o600)
    return path


def run(config: Path, *args: str) -> int:
    return main(["--config", str(config), *args, "--today", TODAY.isoformat()])


def test_a_principal_on_another_host_is_read_and_written_there(
    radicale: servers.Server, tmp_path: Path
) -> None:
    upload_sample(radicale)
    with front(f"{radicale.root}{servers.USER}/") as (url, seen):
        config = config_for(tmp_path, url)
        assert run(config, "sync") == 0
        assert run(config, "log", "Alice Jansen", "--via", "call") == 0
        # The card was written on the principal's host, and reads back from there.
        card = davcheck.get(radicale, radicale.addressbook + ALICE).decode()
        _note, ledger = notes.parse_note(notepatch.read_note(card), today=TODAY)
        assert ledger.last == TODAY
        # The reminders went there too; the front answered discovery and nothing else.
        assert "Keep in touch" in davcheck.calendars(radicale)
        assert {method for method, _path, _auth in seen} == {"PROPFIND"}
        assert main(["--config", str(config), "check"]) == 0


@pytest.mark.parametrize("redirect", [False, True], ids=["named", "redirected"])
def test_a_principal_on_another_domain_gets_nothing(
    radicale: servers.Server,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    redirect: bool,
) -> None:
    upload_sample(radicale)
    # The other domain: a proxy on 127.0.0.2 before the same real Radicale, counting.
    with FaultProxy(radicale.root, listen="127.0.0.2") as other:
        elsewhere = other.url(f"{radicale.root}{servers.USER}/")
        with front(elsewhere, redirect=redirect) as (url, _seen):
            config = config_for(tmp_path, url)
            assert run(config, "sync") == 78
            err = capsys.readouterr().err
            assert "127.0.0.1 sent netsync to 127.0.0.2, another domain" in err
            assert main(["--config", str(config), "check"]) == 78
            assert "127.0.0.2" in capsys.readouterr().out
        assert other.stats.requests == 0
        assert sum(seen.authorization for seen in other.stats.seen) == 0
