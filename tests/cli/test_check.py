"""`netsync check`: a verdict per check and, for each failure, what to do next.

Each failure a new user meets is made real: a wrong URL (404, and a web server that is not
DAV), a refused login, a missing password, a read-only calendar and one netsync may not
create (a Radicale rights file), a self-signed certificate (Radicale with TLS, a cert from
`openssl`), a port nobody listens on, and a clock off the server's Date header.
"""

from __future__ import annotations

import datetime as dt
import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from netsync import commands
from netsync.app import session
from netsync.commands import check as checks
from netsync.commands import common, main
from tests import davcheck, servers, twisted
from tests.scenario import write_config


def check(config: Path) -> int:
    return main(["--config", str(config), "check"])


def run_check(config: Path, *, now: dt.datetime) -> int:
    """check with this machine's clock set to ``now`` (compared with the server's Date)."""
    args = commands.build_parser().parse_args(["--config", str(config), "check"])
    return checks.run_checks(
        lambda: common.load_config(args),
        session.connections,
        session.open_state,
        now=lambda: now,
    )


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    return twisted.self_signed(tmp_path)


class _NotDav(http.server.BaseHTTPRequestHandler):
    """A plain web server, as a wrong URL often finds: pages for GET, 405 for PROPFIND."""

    def do_GET(self) -> None:  # noqa: N802 - the handler's naming
        body = b"<html><body>Welcome</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_OPTIONS(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Allow", "GET, HEAD, OPTIONS")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_PROPFIND(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(405)
        self.send_header("Allow", "GET, HEAD, OPTIONS")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def web_server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotDav)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def config_for(tmp_path: Path, url: str, *, calendar: str = "Work", extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[contacts]\nurl = "{url}"\nusername = "{servers.USER}"\n{extra}\n'
        f'[reminders]\ncalendar = "{calendar}"\n[state]\ndir = "{tmp_path / "state"}"\n'
    )
    path.chmod(0o600)
    return path


def flat(out: str) -> str:
    """The output with each wrapped verdict on one line (advice is wrapped at 92 columns)."""
    return re.sub(r"\n +", " ", out)


def verdicts(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("[")]


# -- all is well ------------------------------------------------------------------------------


def test_every_check_passes_and_leaves_nothing_behind(
    server: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(server, tmp_path)
    assert check(config) == 0
    out = flat(capsys.readouterr().out)
    names = [line[7:].split(":")[0] for line in verdicts(out)]
    expected = ["config", "password", "state", "server", "clock"]
    expected += ["login"] if server.needs_auth else []
    expected += ["address books", "calendar 'Keep in touch'", "write permission", "notes"]
    assert names == expected
    assert all(line.startswith("[ok  ]") for line in verdicts(out)), out
    assert "next:" not in out
    assert out.rstrip().endswith("All checks passed.")
    cal = davcheck.calendars(server)["Keep in touch"]
    assert not [h for h in davcheck.children(server, cal) if "netsync-check" in h]


def test_a_calendar_that_does_not_exist_yet_is_made(
    radicale: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(radicale, tmp_path)
    assert "Keep in touch" not in davcheck.calendars(radicale)
    assert check(config) == 0
    assert "(it did not exist: made it)" in capsys.readouterr().out
    assert "Keep in touch" in davcheck.calendars(radicale)


# -- the config and the password ----------------------------------------------------------------


def test_no_config_says_run_init(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check(tmp_path / "nope.toml") == 78
    out = flat(capsys.readouterr().out)
    assert "[FAIL] config:" in out and "no such file" in out
    assert "next: run `netsync init` to write one" in out


def test_a_bad_config_lists_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[contacts]\nurl = "ftp://x"\n[follow_up]\nevery = "often"\n')
    assert check(path) == 78
    out = flat(capsys.readouterr().out)
    assert "[contacts] url" in out and "[follow_up] every" in out
    assert "next: fix these lines" in out


def test_no_password_anywhere(
    radicale: servers.Server,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NETSYNC_PASSWORD")
    assert check(write_config(radicale, tmp_path)) == 78
    out = flat(capsys.readouterr().out)
    assert "[FAIL] password: no password for contacts (alice)" in out
    assert "next: on a desktop, `netsync set-password`; on a server, password_command" in out


def test_a_failing_password_command(
    radicale: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_for(tmp_path, radicale.root, extra='password_command = "exit 3"')
    assert check(config) == 78
    out = flat(capsys.readouterr().out)
    assert "[FAIL] password: password_command failed with exit code 3" in out
    assert "next: run `exit 3` yourself" in out


# -- the server ---------------------------------------------------------------------------------


def test_wrong_url_404(
    radicale: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = radicale.root + "alice/adressbook/"
    config = write_config(radicale, tmp_path, contacts_url=url)
    assert check(config) == 78
    out = flat(capsys.readouterr().out)
    assert f"[FAIL] URL: nothing at {url} (404 Not Found)" in out
    assert "next: fix [contacts] url: the server root is enough" in out
    assert "`netsync init` finds your address book" in out


def test_a_web_server_that_is_not_dav(
    web_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = web_server + "contacts/"
    assert check(config_for(tmp_path, url)) == 78
    out = flat(capsys.readouterr().out)
    assert "[ok  ] server:" in out  # it answers ...
    assert f"[FAIL] URL: {url} is a web server, but not a DAV server (PROPFIND answered 405)" in out
    assert "https://HOST/remote.php/dav/ for Nextcloud" in out


def test_login_refused_names_where_the_password_came_from(
    radicale: servers.Server,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NETSYNC_PASSWORD", "not-the-password")
    assert check(write_config(radicale, tmp_path)) == 77
    out = flat(capsys.readouterr().out)
    assert "[FAIL] login:" in out and "refused the login (user 'alice')" in out
    assert "next: the password came from $NETSYNC_PASSWORD: check it; and check [contacts] " in out
    assert "not-the-password" not in out


def test_login_refused_with_a_password_command(
    radicale: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_for(tmp_path, radicale.root, extra="password_command = \"echo 'nope'\"")
    assert check(config) == 77
    out = flat(capsys.readouterr().out)
    assert "next: the password came from password_command: check what `echo 'nope'` prints" in out


def test_nothing_listening(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = servers.free_port()
    assert check(config_for(tmp_path, f"http://127.0.0.1:{port}/")) == 75
    out = flat(capsys.readouterr().out)
    assert "[FAIL] server: http://127.0.0.1:" in out
    assert f"next: nothing listens at 127.0.0.1:{port}: is the server running" in out


def test_self_signed_certificate(
    tmp_path: Path, self_signed: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cert, _key = self_signed
    with twisted.radicale_with(tmp_path / "radicale", cert=self_signed) as root:
        assert root.startswith("https://")
        assert check(config_for(tmp_path, root)) == 75
        out = flat(capsys.readouterr().out)
        assert "[FAIL] server: https://127.0.0.1:" in out
        assert "TLS certificate not trusted: self-signed certificate" in out
        assert "save that certificate as PEM and set [contacts] ca_file to its path" in out
        assert "openssl s_client -showcerts -connect 127.0.0.1:" in out

        # ... and doing what it says works.
        (tmp_path / "config.toml").unlink()
        config = config_for(tmp_path, root, extra=f'ca_file = "{cert}"')
        assert check(config) == 0
        out = flat(capsys.readouterr().out)
        assert "[ok  ] server: https://127.0.0.1:" in out and "answers over TLS" in out


def test_https_to_a_server_that_speaks_http(
    radicale: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    netloc = radicale.root.removeprefix("http://").rstrip("/")
    assert check(config_for(tmp_path, f"https://{netloc}/")) == 75
    out = flat(capsys.readouterr().out)
    assert f"[FAIL] server: https://{netloc}: {netloc} does not speak https (TLS)" in out
    assert (
        "next: if the server speaks plain http there (Radicale on port 5232 without TLS), "
        f"write http://{netloc}/ instead; the password then crosses the network unencrypted"
    ) in out


# -- the calendar -------------------------------------------------------------------------------


def test_read_only_calendar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with twisted.radicale_with(tmp_path / "radicale", rights=twisted.RIGHTS) as root:
        assert check(config_for(tmp_path, root, calendar="Family")) == 78
    out = flat(capsys.readouterr().out)
    assert "[ok  ] calendar 'Family'" in out  # found, and readable ...
    assert "[FAIL] write permission: the server refused a test event in" in out
    assert "the calendar is read-only for alice (403 Forbidden)" in out
    assert "next: set [reminders] calendar to a new name" in out
    assert "ask the calendar's owner for write access" in out


def test_a_calendar_netsync_may_not_make(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with twisted.radicale_with(tmp_path / "radicale", rights=twisted.RIGHTS) as root:
        assert check(config_for(tmp_path, root, calendar="Keep in touch")) == 78
        out = flat(capsys.readouterr().out)
        assert (
            "[FAIL] calendar 'Keep in touch': there is none, and the server would not let "
            "netsync make it (403 Forbidden)"
        ) in out
        assert 'next: make a calendar called "Keep in touch" in your calendar app' in out
        # The writable one passes.
        (tmp_path / "config.toml").unlink()
        assert check(config_for(tmp_path, root, calendar="Work")) == 0


# -- the clock ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "said"),
    [(dt.timedelta(minutes=12), "12 min ahead of"), (-dt.timedelta(hours=3), "3.0 h behind")],
)
def test_clock_skew_is_a_warning(
    xandikos: servers.Server,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    offset: dt.timedelta,
    said: str,
) -> None:
    config = write_config(xandikos, tmp_path)
    assert run_check(config, now=dt.datetime.now(dt.UTC) + offset) == 0
    out = flat(capsys.readouterr().out)
    assert f"[warn] clock: this machine's clock is {said} {xandikos.root.rstrip('/')}" in out
    assert "next: what is due today depends on the date" in out
    assert "timedatectl set-ntp true" in out
    assert "All checks passed, with 1 warning(s)." in out


def test_a_clock_within_five_minutes_is_fine(
    xandikos: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(xandikos, tmp_path)
    assert run_check(config, now=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=4)) == 0
    assert "[ok  ] clock: within 4 min of" in capsys.readouterr().out
