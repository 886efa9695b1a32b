"""Issue 5, item 6: TLS, credentials, permissions and the warnings a careful user needs.

- TLS is verified by default: a self-signed server is refused (exit 75, the message names the
  certificate); ``ca_file`` pointing at its certificate makes it work; no key turns checking off.
- Credentials never in URLs (a config error, the password not echoed), argv, logs (at -vv, on
  success and on failure) or the state files.
- The state directory is made 0700 (its database 0600), also when it existed wider.
- A config readable by others that holds a ``password_command`` gets a warning; http:// to a
  host that is not loopback gets a warning naming the risk.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import ipaddress
import os
import shutil
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from netsync.commands import build_parser, main
from tests import davcheck, servers
from tests.faults import reliability
from tests.faults.faultproxy import FaultProxy
from tests.faults.phonebook import CALENDAR, TODAY
from tests.scenario import upload_sample, write_config

WHAT = """A self-signed TLS server (Xandikos behind the proxy speaking TLS with a certificate
made for the test) must be refused with exit 75 and a message naming the certificate, also
with an unknown `verify = false` key in the config; with `ca_file` naming the certificate it
must work. A URL holding `user:password@` must be a config error that does not echo the
password. The password (and its Basic token) is searched for in everything netsync printed at
-vv, through successes, wrong passwords and injected faults, in every file of the state
directory, and among the command line's options. The state directory must be created 0700,
and made 0700 when it was wider. A config readable by others with a password_command, and
http:// to a host that is not loopback, must each get a warning saying what to do."""


def section() -> reliability.Section:
    return reliability.section("security", "Security", WHAT)


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (cryptography, else openssl)."""
    cert, key = directory / "server.pem", directory / "server.key"
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        if shutil.which("openssl") is None:
            pytest.skip("neither cryptography nor openssl to make a test certificate")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj",
             "/CN=netsync test", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
             "-addext", "basicConstraints=critical,CA:TRUE"],
            check=True, capture_output=True,
        )  # fmt: skip
        return cert, key
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "netsync test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key


def run(config: Path, *args: str) -> int:
    return main(["--config", str(config), *args, "--today", TODAY.isoformat()])


def test_tls_is_verified_by_default_and_ca_file_trusts_a_private_ca(
    xandikos: servers.Server,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    upload_sample(xandikos)
    cert, key = make_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with FaultProxy(xandikos.root, ssl_context=context) as proxy:
        book, home = proxy.url(xandikos.addressbook), proxy.url(xandikos.calendar_home)
        assert book.startswith("https://127.0.0.1:")
        config = write_config(xandikos, tmp_path, contacts_url=book, reminders_url=home)
        plain = config.read_text()
        capsys.readouterr()
        assert run(config, "sync") == 75
        err = capsys.readouterr().err
        assert "certificate" in err.lower() and "ca_file" in err
        # No switch turns checking off: an invented one is only an unknown key.
        config.write_text(plain.replace("[contacts]\n", "[contacts]\nverify = false\n", 1))
        assert run(config, "sync") == 75
        err = capsys.readouterr().err
        assert "unknown key" in err and "certificate" in err.lower()
        assert "Keep in touch" not in davcheck.calendars(xandikos)
        # ca_file names the certificate: trusted, and it works.
        config.write_text(plain.replace("[contacts]\n", f'[contacts]\nca_file = "{cert}"\n', 1))
        assert run(config, "sync") == 0
        assert "Alice Jansen turns 47" in capsys.readouterr().out
        assert CALENDAR in davcheck.calendars(xandikos)
    s = section()
    s.row("self-signed server refused by default (exit 75, message names the certificate)", "yes")
    s.row("refused also with an invented `verify = false`", "yes")
    s.row("accepted with `ca_file` naming the certificate", "yes")


def test_a_password_in_a_url_is_a_config_error_that_does_not_echo_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    for text in (
        '[contacts]\nurl = "https://alice:Tr0ub4dor@dav.example.com/"\n',
        '[contacts]\nurl = "https://dav.example.com/"\n'
        '[reminders]\nurl = "https://alice:Tr0ub4dor@cal.example.com:notaport/"\n',
        '[contacts]\nurl = "https://dav.example.com/"\n'
        '[detect]\ncalendars = ["https://alice:Tr0ub4dor@dav.example.com/work/"]\n',
    ):
        config.write_text(text + f'[state]\ndir = "{tmp_path / "state"}"\n')
        config.chmod(0o600)
        assert main(["--config", str(config), "sync"]) == 78
        captured = capsys.readouterr()
        assert "user name or password" in captured.err
        assert "Tr0ub4dor" not in captured.err + captured.out
    assert not (tmp_path / "state").exists()
    section().row("URLs with user:password@ refused as config errors, password not echoed", 3)


def _options(parser: argparse.ArgumentParser) -> list[str]:
    found: list[str] = []
    for action in parser._actions:
        found += action.option_strings
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _options(sub)
    return found


def test_the_password_is_never_in_argv_logs_or_state(
    radicale: servers.Server,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # argv: no option of any command takes a password, except `init --password`, which
    # exists only to refuse it (the wizard reads one from stdin or a password_command).
    options = _options(build_parser())
    taking = [o for o in options if "pass" in o.lower() or "secret" in o.lower()]
    assert set(taking) <= {"--password", "--password-stdin", "--password-command"}
    if "--password" in taking:
        assert main(["--config", str(tmp_path / "none.toml"), "init", "--password", "x"]) == 2
        assert "visible to every user" in capsys.readouterr().err

    secrets = [
        servers.PASSWORD,
        base64.b64encode(f"{servers.USER}:{servers.PASSWORD}".encode()).decode(),
    ]
    upload_sample(radicale)
    output = ""
    with FaultProxy(radicale.root, seed=3) as proxy:
        config = write_config(
            radicale,
            tmp_path,
            contacts_url=proxy.url(radicale.addressbook),
            reminders_url=proxy.url(radicale.calendar_home),
        )
        config.write_text(
            config.read_text().replace("[contacts]\n", '[contacts]\ntimeout = "2s"\n')
        )
        argv = ["--config", str(config), "-vv"]
        assert main([*argv, "sync", "--today", TODAY.isoformat()]) == 0
        assert main([*argv, "log", "Chen Wei", "--via", "call", "--today", TODAY.isoformat()]) == 0
        assert main([*argv, "due", "--today", TODAY.isoformat(), "--json"]) == 0
        assert main([*argv, "check"]) in (0, 1)
        with proxy.faults(0.5):
            for day in range(10):
                today = (TODAY + dt.timedelta(days=day)).isoformat()
                assert main([*argv, "sync", "--today", today]) in (0, 1, 75)
        output += "".join(capsys.readouterr())
        monkeypatch.setenv("NETSYNC_PASSWORD", "wrong-" + servers.PASSWORD[::-1])
        assert main([*argv, "sync", "--today", TODAY.isoformat()]) == 77
        output += "".join(capsys.readouterr())
    assert " INFO netsync" in output and "Authorization" not in output
    leaks = [s for s in secrets if s in output]
    state_bytes = b"".join(p.read_bytes() for p in (tmp_path / "state").rglob("*") if p.is_file())
    assert len(state_bytes) > 10_000  # the cache was really there to search
    leaks += [s for s in secrets if s.encode() in state_bytes]
    leaks += [s for s in secrets if s in config.read_text()]
    s = section()
    s.row("command-line options searched for a password option", len(options))
    s.row("characters of -vv output searched (success, faults at 50%, wrong password)", len(output))
    s.row("bytes of state files searched", len(state_bytes))
    s.row("places the password or its Basic token was found (must be 0)", len(leaks))
    s.lost += len(leaks)
    assert leaks == []


def test_state_directory_is_private(
    xandikos: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(xandikos, tmp_path)
    state = tmp_path / "state"
    nested = tmp_path / "deep" / "er" / "state"
    config.write_text(config.read_text().replace(str(state), str(nested)))
    assert run(config, "sync") == 0
    assert stat.S_IMODE(nested.stat().st_mode) == 0o700
    assert stat.S_IMODE((nested / "state.sqlite").stat().st_mode) == 0o600
    nested.chmod(0o755)
    assert run(config, "sync") == 0
    assert stat.S_IMODE(nested.stat().st_mode) == 0o700
    section().row("state directory created 0700 (database 0600), and made 0700 when wider", "yes")


def test_warnings_for_a_readable_config_with_a_password_command_and_for_plain_http(
    radicale: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upload_sample(radicale)
    config = write_config(radicale, tmp_path)
    text = config.read_text()
    command = f"password_command = \"printf %s '{servers.PASSWORD}'\"\n"
    config.write_text(text.replace("[contacts]\n", "[contacts]\n" + command, 1))
    for mode, warned in ((0o644, True), (0o640, True), (0o600, False)):
        config.chmod(mode)
        assert run(config, "sync") == 0
        err = capsys.readouterr().err
        assert ("readable by other users" in err and "chmod 600" in err) is warned, (mode, err)
        assert ("unencrypted" in err) is False  # http:// to 127.0.0.1 stays on this machine
        assert servers.PASSWORD not in err
    config.write_text(text)
    config.chmod(0o644)  # readable, but no password_command in it: nothing to warn about
    assert run(config, "sync") == 0
    assert "readable by other users" not in capsys.readouterr().err

    remote = tmp_path / "remote.toml"
    remote.write_text(
        '[contacts]\nurl = "http://dav.invalid/alice/"\ntimeout = "2s"\n'
        f'[state]\ndir = "{tmp_path / "state2"}"\n'
    )
    assert main(["--config", str(remote), "sync"]) == 75
    err = capsys.readouterr().err
    assert "http:// to dav.invalid sends your password and contacts unencrypted" in err
    s = section()
    s.row("warning for a config readable by others holding a password_command", "yes")
    s.row("warning naming the risk of http:// to a host that is not loopback", "yes")


def test_no_secret_reaches_a_child_through_argv(
    radicale: servers.Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real `netsync sync` process: its own argv, and that of every process it starts
    (the password_command's shell), never hold the password, whatever the source."""
    upload_sample(radicale)
    config = write_config(radicale, tmp_path)
    helper = tmp_path / "pw.sh"
    argv_file = tmp_path / "argv"
    helper.write_text(
        "#!/bin/sh\n"
        f"for p in $$ $PPID $(cut -d' ' -f4 /proc/$PPID/stat); do cat /proc/$p/cmdline; done"
        f" > {argv_file}\n"
        f"printf %s '{servers.PASSWORD}'\n"
    )
    helper.chmod(0o700)
    text = config.read_text().replace(
        "[contacts]\n", f'[contacts]\npassword_command = "{helper}"\n', 1
    )
    config.write_text(text)
    monkeypatch.delenv("NETSYNC_PASSWORD")
    env = {k: v for k, v in os.environ.items() if k != "NETSYNC_PASSWORD"}
    done = subprocess.run(
        [sys.executable, "-c", "from netsync.commands import entry; entry()", "--config",
         str(config), "sync", "--today", TODAY.isoformat()],
        capture_output=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    argvs = argv_file.read_bytes()
    assert b"netsync" in argvs
    assert servers.PASSWORD.encode() not in argvs + done.stdout + done.stderr
    section().row("argv of netsync and of its password_command searched", "clean")
