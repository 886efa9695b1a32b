"""A real Dovecot IMAP server on loopback, private to one test (or one benchmark run).

Debian's ``dovecot-imapd`` (``.ci/run`` installs it), started as ``dovecot -F -c CONFIG`` with a
config of its own: no system paths, a passwd-file user, a maildir in a temporary directory,
IMAP with STARTTLS and IMAPS on free ports, a self-signed certificate made by openssl, and the
sent folder flagged ``\\Sent`` (RFC 6154). Dovecot refuses to run its login and mail processes
as root, so under root they run as the package's own users (``dovenull`` for logins,
``dovecot`` for mail) and the temporary directory is made readable for them; under any other
user everything runs as that user.

With ``tokeninfo`` it also takes XOAUTH2 (Gmail's OAuth 2.0 login) through its ``oauth2``
passdb, which asks that URL about each token (``tokeninfo_url``, the token appended; the
scope ``https://mail.google.com/`` required, the token's ``email`` the login name): the
Google stand-in's endpoint (tests/standins/google.py). Every login then opens the one
mailbox, so the test's mail program (a password) files what netsync (a token) reads.

Dovecot logs one line per IMAP session at its end with its own counters (``imap_logout_format``):
bytes in and out, and how many message headers and bodies the session fetched. ``sessions()``
reads them, so a test can show that netsync never fetched a body.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.servers import free_port
from tests.twisted import self_signed

USER = "alice@example.org"
PASSWORD = "mail-s3cret"
DOVECOT = "/usr/sbin/dovecot"

LOGOUT_FORMAT = (
    "in=%i out=%o hdr_count=%{fetch_hdr_count} hdr_bytes=%{fetch_hdr_bytes} "
    "body_count=%{fetch_body_count} body_bytes=%{fetch_body_bytes}"
)
_SESSION = re.compile(
    r"imap\((?P<user>[^)]*)\).*Disconnected: (?P<why>[^(]*?)(?: \(.*\))? "
    r"in=(?P<in>\d+) out=(?P<out>\d+) hdr_count=(?P<hdr_count>\d+) hdr_bytes=(?P<hdr_bytes>\d+) "
    r"body_count=(?P<body_count>\d+) body_bytes=(?P<body_bytes>\d+)"
)


def require_dovecot() -> str:
    """The dovecot binary; a test without it is skipped on a developer's machine and fails
    in CI, where .ci/run installs it (a skip there would hide the whole mail suite)."""
    found = shutil.which("dovecot") or (DOVECOT if os.path.exists(DOVECOT) else None)
    if found is None:
        message = "dovecot is not installed (apt-get install dovecot-imapd)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@dataclass
class Dovecot:
    root: Path
    imap_port: int  # STARTTLS
    imaps_port: int  # TLS from the start
    ca_file: Path
    log: Path
    binary: str
    proc: subprocess.Popen[bytes] | None = None
    password: str = PASSWORD

    @property
    def imaps_url(self) -> str:
        return f"imaps://127.0.0.1:{self.imaps_port}"

    @property
    def imap_url(self) -> str:
        return f"imap://127.0.0.1:{self.imap_port}"

    @property
    def maildir(self) -> Path:
        return self.root / "home" / USER / "Maildir"

    # -- running -----------------------------------------------------------------------------

    def start(self) -> None:
        out = open(self.root / "stdout.log", "ab")  # noqa: SIM115 (closed with the process)
        self.proc = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self._logs()}")
            try:
                with socket.create_connection(("127.0.0.1", self.imaps_port), timeout=1):
                    pass
                with socket.create_connection(("127.0.0.1", self.imap_port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not start: {self._logs()}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGCONT)  # in case a test froze it
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        # The master's children (logins, imap processes) end with it; wait until the port is
        # free again, so that a restart on it cannot fail.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.imaps_port), timeout=0.2):
                    time.sleep(0.05)
            except OSError:
                return

    def freeze(self) -> None:
        """Every Dovecot process stops answering (SIGSTOP): connections are accepted by the
        kernel and then nothing comes, as with a server that hangs."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGCONT)

    def _logs(self) -> str:
        text = ""
        for name in ("stdout.log", "dovecot.log"):
            path = self.root / name
            if path.exists():
                text += path.read_text(errors="replace")[-2000:]
        return text

    # -- what the server saw -----------------------------------------------------------------

    def sessions(self) -> list[dict[str, Any]]:
        """One entry per ended IMAP session: why it ended and Dovecot's counters."""
        if not self.log.exists():
            return []
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            found = _SESSION.search(line)
            if found:
                entry: dict[str, Any] = {"user": found["user"], "why": found["why"]}
                for key in ("in", "out", "hdr_count", "hdr_bytes", "body_count", "body_bytes"):
                    entry[key] = int(found[key])
                out.append(entry)
        return out

    def wait_for_sessions(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        """The sessions, once ``count`` have ended (Dovecot logs a little after the close)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.sessions()
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{count} sessions expected, saw {self.sessions()}")

    # -- the user's own mail program ---------------------------------------------------------

    def client(self) -> Any:
        """An IMAP client logged in as the user: the mail program that sends and files mail."""
        from imapclient import IMAPClient

        context = ssl.create_default_context(cafile=str(self.ca_file))
        client = IMAPClient("127.0.0.1", port=self.imaps_port, ssl_context=context, timeout=10)
        client.login(USER, self.password)
        return client

    def append(
        self,
        folder: str,
        messages: list[bytes],
        *,
        when: dt.datetime | None = None,
        flags: tuple[bytes, ...] = (),
    ) -> None:
        client = self.client()
        try:
            for message in messages:
                client.append(folder, message, flags=flags, msg_time=when)
        finally:
            client.logout()


def message(
    *,
    to: str = "",
    cc: str = "",
    bcc: str = "",
    sender: str = f"Alice <{USER}>",
    date: str = "Fri, 20 Nov 2026 10:00:00 +0100",
    subject: str = "Sailing on Sunday?",
    body: str = "Shall we go sailing on Sunday? The forecast says 4 Bft.",
    extra: str = "",
) -> bytes:
    """One RFC 5322 message, CRLF line ends, as a mail program files it in Sent."""
    lines = [f"From: {sender}"]
    lines += [f"{name}: {value}" for name, value in (("To", to), ("Cc", cc), ("Bcc", bcc)) if value]
    if date:
        lines.append(f"Date: {date}")
    lines += [f"Subject: {subject}", "Message-ID: <" + str(time.monotonic_ns()) + "@example.org>"]
    lines += [line for line in extra.splitlines() if line]
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", body, ""]
    return "\r\n".join(lines).encode()


def _ids() -> tuple[str, str, int, int]:
    """(login user, mail user, uid, gid) that Dovecot's processes run as."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return me.pw_name, me.pw_name, me.pw_uid, me.pw_gid
    mail_user = pwd.getpwnam("dovecot")
    pwd.getpwnam("dovenull")
    return "dovenull", "dovecot", mail_user.pw_uid, mail_user.pw_gid


def _oauth2(root: Path, tokeninfo: str) -> tuple[str, str]:
    """The mechanisms and passdb for XOAUTH2 against ``tokeninfo`` (Dovecot's
    PasswordDatabase.oauth2; its example for Google uses the tokeninfo endpoint)."""
    if not tokeninfo:
        return "plain login", ""
    (root / "oauth2.conf").write_text(
        f"tokeninfo_url = {tokeninfo}\n"
        "username_attribute = email\n"
        "scope = https://mail.google.com/\n"
        "timeout_msecs = 10000\n"
    )
    passdb = f"""passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf
}}"""
    return "plain login xoauth2 oauthbearer", passdb


def _config(
    root: Path,
    *,
    imap_port: int,
    imaps_port: int,
    cert: Path,
    key: Path,
    sent: str,
    tokeninfo: str = "",
) -> str:
    login_user, mail_user, uid, gid = _ids()
    mechanisms, oauth_passdb = _oauth2(root, tokeninfo)
    home = f"{root}/home/{USER}" if tokeninfo else f"{root}/home/%u"
    return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = netsync-test-{imaps_port}
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
default_login_user = {login_user}
default_internal_user = {mail_user}
first_valid_uid = {uid}
first_valid_gid = {gid}
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
{oauth_passdb}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={home}
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
  mailbox "{sent}" {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
}}
imap_logout_format = {LOGOUT_FORMAT}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
"""


@contextlib.contextmanager
def dovecot(
    sent: str = "Sent",
    password: str = PASSWORD,
    *,
    tokeninfo: str = "",
    certificate: tuple[Path, Path, Path] | None = None,
) -> Iterator[Dovecot]:
    """A running private Dovecot with one user and an empty INBOX, Drafts and sent folder
    (named ``sent``, flagged \\Sent). ``tokeninfo``: take XOAUTH2 too (see above);
    ``certificate``: (certificate chain, key, CA) files to present instead of a self-signed
    certificate, and the CA that clients trust."""
    binary = require_dovecot()
    # Not under pytest's tmp_path: that sits in a 0700 directory Dovecot's users cannot enter.
    root = Path(tempfile.mkdtemp(prefix="netsync-dovecot-"))
    try:
        root.chmod(0o755)
        _, _, uid, gid = _ids()
        for name in ("run", "state", "home"):
            (root / name).mkdir()
        os.chown(root / "home", uid, gid)
        if certificate is None:
            cert, key = self_signed(root)
            trust = cert
        else:
            trust = certificate[2]
            cert, key = root / "cert.pem", root / "key.pem"
            shutil.copyfile(certificate[0], cert)
            shutil.copyfile(certificate[1], key)
        key.chmod(0o644)  # read by Dovecot's config parser, which runs as root here anyway
        (root / "passwd").write_text(f"{USER}:{{PLAIN}}{password}::::::\n")
        imap_port, imaps_port = free_port(), free_port()
        while imaps_port == imap_port:
            imaps_port = free_port()
        (root / "dovecot.conf").write_text(
            _config(
                root,
                imap_port=imap_port,
                imaps_port=imaps_port,
                cert=cert,
                key=key,
                sent=sent,
                tokeninfo=tokeninfo,
            )
        )
        server = Dovecot(root, imap_port, imaps_port, trust, root / "dovecot.log", binary)
        server.password = password
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
