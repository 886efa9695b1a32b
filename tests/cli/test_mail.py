"""Mail the user sent counts as contact (issue 17, SPEC 6 ``[mail]``), end to end: a real
Dovecot holds the sent folder, the real Radicale or Xandikos the contacts and the calendar,
and `netsync sync`, `due` and `run` are run as a user would.

The people (their cards are written as a phone would):

- Bjorn: two addresses; mail to the second, with its case changed. Family (30 days), with
  a birthday 20 and a wedding anniversary 40 days away: their "Last contact" line waits for
  their alarm, so recording the mail rewrites neither.
- Chloe and Dirk share family@claes.example, to which mail went as a Bcc group; Dirk keeps
  in touch every 14 days, so a follow-up of his remains, quoting the mail.
- Eva: only on a mailing list's mail and in a crowd of 11: neither counts.
- Frits: only sent the user mail, and received mail does not count unless asked.
- Greta: mailed on the 20th, but a call on the 24th is already in her note.
- Hugo: an encoded name, upper-case address, sent late on the 19th in New York, which is
  the 20th in Amsterdam.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netsync.commands import main
from netsync.core import notepatch, notes
from tests import davcheck, mailserver, servers
from tests.mailserver import Dovecot, message
from tests.scenario import TODAY, write_config
from tests.vcards import vcard

RECENT = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)  # when the server got them (APPEND)
SUBJECT = "Sailing on Sunday?"


def person(uid: str, name: str, emails: list[str], note: str, extra: str = "") -> str:
    lines = [line for line in extra.split("\n") if line]
    return vcard(uid, name, n=f"{name};;;;", email=emails, lines=lines, note=note)


PEOPLE = {
    "bjorn.vcf": person(
        "u-bjorn",
        "Bjorn Berg",
        ["bjorn@work.example", "Bjorn@Home.Example"],
        "[netsync]\\nlast: 2026-09-27 call\\n[/netsync]",
        "CATEGORIES:Family\nBDAY:1980-12-16\nX-ANNIVERSARY:2004-01-05",
    ),
    "chloe.vcf": person(
        "u-chloe", "Chloe Claes", ["family@claes.example"], "[netsync]\\nlast: 2026-08-01\\n"
    ),
    "dirk.vcf": person(
        "u-dirk",
        "Dirk Claes",
        ["dirk@claes.example", "family@claes.example"],
        "[netsync]\\nlast: 2026-07-01\\nevery: 14d\\n[/netsync]",
    ),
    "eva.vcf": person("u-eva", "Eva Evers", ["eva@example.com"], "[netsync]\\nlast: 2026-06-01"),
    "frits.vcf": person(
        "u-frits", "Frits Fokker", ["frits@example.com"], "[netsync]\\nlast: 2026-06-01"
    ),
    "greta.vcf": person(
        "u-greta", "Greta Graaf", ["greta@example.com"], "[netsync]\\nlast: 2026-11-24 call"
    ),
    "hugo.vcf": person("u-hugo", "Hugo Huisman", ["hugo@example.com"], "Plays chess."),
}

CROWD = ", ".join([f"guest{i}@example.com" for i in range(10)] + ["eva@example.com"])
SENT = [
    message(to="=?utf-8?q?Bj=C3=B6rn?= <BJORN@home.example>", subject=SUBJECT),
    message(
        bcc="Family: family@claes.example;",
        date="Sat, 21 Nov 2026 12:00:00 +0100",
        subject="Christmas dinner",
    ),
    message(to="club@lists.example.org, eva@example.com", extra="List-Id: <sail.example.org>"),
    message(to=CROWD, subject="Party!"),
    message(to="greta@example.com"),
    message(to="=?utf-8?q?H=C3=BCgo?= <HUGO@EXAMPLE.COM>", date="Thu, 19 Nov 2026 23:30 -0500"),
]
RECEIVED = [message(sender="Frits <frits@example.com>", to=mailserver.USER, subject="Hello")]
ADDRESSES = ("bjorn@", "family@claes", "eva@", "frits@", "greta@", "hugo@", "guest")


def run(config: Path, *args: str) -> int:
    return main(["--config", str(config), *args, "--today", TODAY.isoformat()])


def ledger(server: servers.Server, name: str) -> notes.Ledger:
    card = davcheck.get(server, server.addressbook + name).decode()
    return notes.parse_note(notepatch.read_note(card), today=TODAY)[1]


def card_etags(server: servers.Server) -> dict[str, str]:
    return davcheck.children(server, server.addressbook)


def calendar(server: servers.Server) -> dict[str, tuple[str, bytes]]:
    return davcheck.snapshot(server, davcheck.calendars(server)["Keep in touch"])


def by_summary(found: dict[str, tuple[str, bytes]]) -> dict[str, tuple[str, str]]:
    """summary -> (href, etag) of each object in a calendar snapshot."""
    out = {}
    for href, (tag, body) in found.items():
        summary = re.search(rb"\r\nSUMMARY:([^\r]*)", body)
        assert summary is not None
        out[summary.group(1).decode()] = (href, tag)
    return out


def mail_config(server: servers.Server, dovecot: Dovecot, tmp_path: Path, more: str = "") -> Path:
    return write_config(
        server,
        tmp_path,
        extra=(
            '[locale]\ntimezone = "Europe/Amsterdam"\n'
            f'[mail]\nurl = "{dovecot.imaps_url}"\nusername = "{mailserver.USER}"\n'
            f'ca_file = "{dovecot.ca_file}"\n{more}'
        ),
    )


@pytest.fixture
def credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The mail password as a systemd credential; the DAV one stays in $NETSYNC_PASSWORD."""
    directory = tmp_path / "credentials"
    directory.mkdir()
    (directory / "netsync-password-mail").write_text(mailserver.PASSWORD + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    return directory


@pytest.fixture
def book(server: servers.Server, tmp_path: Path) -> servers.Server:
    """The people, and a first cycle without mail: the calendar as the user had it."""
    for name, card in PEOPLE.items():
        assert servers.put_card(server, name, card) == 201
    assert run(write_config(server, tmp_path), "sync") == 0
    return server


@pytest.fixture
def mailed(
    book: servers.Server, dovecot: Dovecot, tmp_path: Path, credentials: Path
) -> tuple[servers.Server, Dovecot, Path]:
    dovecot.append("Sent", SENT, when=RECENT)
    dovecot.append("INBOX", RECEIVED, when=RECENT)
    return book, dovecot, mail_config(book, dovecot, tmp_path)


def test_sent_mail_is_recorded_with_few_writes_and_nothing_else_counts(
    mailed: tuple[servers.Server, Dovecot, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    server, dovecot, config = mailed
    etags, before = card_etags(server), calendar(server)
    capsys.readouterr()
    assert run(config, "sync") == 0
    out, err = capsys.readouterr()
    for line in (
        "* Bjorn Berg: last contact 2026-11-20 (mail), from mail",
        "* Chloe Claes: last contact 2026-11-21 (mail), from mail",
        "* Dirk Claes: last contact 2026-11-21 (mail), from mail",
        "* Hugo Huisman: last contact 2026-11-20 (mail), from mail",
    ):
        assert line in out
    assert "6 mails read" in out.splitlines()[-1]
    assert err == ""
    # Only these four cards were written, and each says so in its note.
    changed = {href.rsplit("/", 1)[1] for href, tag in card_etags(server).items()
               if etags[href] != tag}  # fmt: skip
    assert changed == {"bjorn.vcf", "chloe.vcf", "dirk.vcf", "hugo.vcf"}
    assert (ledger(server, "bjorn.vcf").last, ledger(server, "bjorn.vcf").how) == (
        dt.date(2026, 11, 20),
        "mail",
    )
    assert ledger(server, "greta.vcf").last == dt.date(2026, 11, 24)
    card = davcheck.get(server, server.addressbook + "hugo.vcf").decode()
    assert "Plays chess.\\n\\n[netsync]\\nlast: 2026-11-20 mail\\n[/netsync]" in card

    # The calendar: Bjorn's overdue follow-up is gone (the next is a month away), Dirk's is
    # planned from the mail; Bjorn's birthday and anniversary, weeks away, are not rewritten.
    after = by_summary(calendar(server))
    old = by_summary(before)
    assert "Get in touch with Bjorn Berg" in old and "Get in touch with Bjorn Berg" not in after
    for summary in ("Bjorn Berg turns 46", "Bjorn Berg: 23 years married"):
        assert after[summary] == old[summary]
    dirk = calendar(server)[after["Get in touch with Dirk Claes"][0]][1].decode()
    assert "Last contact: 2026-11-21 (mail)" in dirk.replace("\r\n ", "")

    # Only header fields were fetched, never a body (Dovecot's own count).
    netsync_sessions = [s for s in dovecot.wait_for_sessions(3) if s["hdr_count"]]
    assert [(s["hdr_count"], s["body_count"], s["body_bytes"]) for s in netsync_sessions] == [
        (6, 0, 0)
    ]

    # `due` shows where the last contact came from, in the table and in JSON.
    assert run(config, "due", "--days", "14") == 0
    table = capsys.readouterr().out
    assert re.search(r"Get in touch with Dirk Claes +last contact: 2026-11-21 \(mail\)", table)
    assert run(config, "due", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    dirk_row = next(r for r in rows if r["contact"] == "Dirk Claes")
    assert (dirk_row["last_contact"], dirk_row["last_how"]) == ("2026-11-21", "mail")


def test_received_mail_counts_only_when_asked(
    mailed: tuple[servers.Server, Dovecot, Path], tmp_path: Path
) -> None:
    server, dovecot, _ = mailed
    config = mail_config(server, dovecot, tmp_path, "count_received = true\n")
    assert run(config, "sync") == 0
    assert (ledger(server, "frits.vcf").last, ledger(server, "frits.vcf").how) == (
        dt.date(2026, 11, 20),
        "mail",
    )


def test_new_mail_is_read_alone_and_a_lost_state_or_new_uidvalidity_writes_nothing(
    mailed: tuple[servers.Server, Dovecot, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, dovecot, config = mailed
    assert run(config, "sync") == 0
    capsys.readouterr()
    assert run(config, "sync") == 0  # nothing new: no mail read, nothing written
    assert capsys.readouterr().out.strip() == (
        "7 contacts read, 0 reminders created, 0 updated, 0 deleted"
    )
    dovecot.append("Sent", [message(to="eva@example.com", date="Wed, 25 Nov 2026 10:00 +0100")])
    assert run(config, "sync") == 0
    out = capsys.readouterr().out
    assert "* Eva Evers: last contact 2026-11-25 (mail), from mail" in out
    assert out.splitlines()[-1].endswith(", 1 contacts updated, 1 mails read")

    settled = card_etags(server), calendar(server)
    shutil.rmtree(tmp_path / "state")
    assert run(config, "sync") == 0
    out = capsys.readouterr().out
    assert "7 mails read" in out and "contacts updated" not in out
    assert (card_etags(server), calendar(server)) == settled

    # The sent folder made anew: another UIDVALIDITY, UIDs from 1 again. Read again; nothing
    # in it is news.
    client = dovecot.client()
    client.delete_folder("Sent")
    client.create_folder("Sent")
    client.logout()
    dovecot.append("Sent", SENT, when=RECENT)
    assert run(config, "sync") == 0
    out = capsys.readouterr().out
    assert "6 mails read" in out and "contacts updated" not in out
    assert (card_etags(server), calendar(server)) == settled


def test_a_mail_server_that_is_down_or_hangs_stops_nothing_else(
    mailed: tuple[servers.Server, Dovecot, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, dovecot, config = mailed
    assert run(config, "sync") == 0
    capsys.readouterr()
    late = person("u-ida", "Ida Ivens", [], "", "BDAY:1990-12-01")
    assert servers.put_card(server, "ida.vcf", late) == 201
    dovecot.stop()
    assert run(config, "sync") == 1
    out, err = capsys.readouterr()
    assert "+ 2026-12-01  birthday    Ida Ivens turns 36" in out
    assert out.splitlines()[-1].endswith(", mail not read")
    assert "mail not read this cycle: cannot reach the mail server 127.0.0.1" in err

    # A server that accepts the connection and then says nothing: the cycle waits for the
    # timeout, says so, and the rest is done all the same.
    dovecot.start()
    dovecot.freeze()
    quick = mail_config(server, dovecot, tmp_path, "")
    quick.write_text(quick.read_text().replace("[contacts]", '[contacts]\ntimeout = "2s"'))
    tag = card_etags(server)[server.addressbook + "ida.vcf"]
    later = late.replace("1990-12-01", "1990-12-02")
    assert servers.put_card(server, "ida.vcf", later, etag=tag) in (200, 201, 204)
    started = time.monotonic()
    try:
        assert run(quick, "sync") == 1
    finally:
        dovecot.thaw()
    assert time.monotonic() - started < 15
    out, err = capsys.readouterr()
    assert "+ 2026-12-02  birthday    Ida Ivens turns 36" in out
    assert "cannot reach the mail server" in err and "no answer in time" in err

    assert run(config, "sync") == 0  # back: all is well again


def test_the_daemon_keeps_one_connection_and_logs_no_address_subject_or_password(
    book: servers.Server, dovecot: Dovecot, tmp_path: Path, credentials: Path
) -> None:
    config = mail_config(book, dovecot, tmp_path, "")
    config.write_text(config.read_text() + '[daemon]\ninterval = "1s"\n')
    log = tmp_path / "daemon.log"
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "JOURNAL_STREAM")}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from netsync.commands import entry; entry()", "-vv",
             "--config", str(config), "run"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )  # fmt: skip
    try:

        def wait(what: str, check: callable, timeout: float = 30) -> None:  # type: ignore[valid-type]
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if check():
                    return
                time.sleep(0.2)
            raise AssertionError(f"{what}: not within {timeout}s\n{log.read_text()[-3000:]}")

        def cycles() -> int:
            return log.read_text().count("cycle done")

        wait("three cycles", lambda: cycles() >= 3)
        dovecot.append("Sent", SENT[:1], when=RECENT)
        wait("Bjorn's mail", lambda: ledger(book, "bjorn.vcf").how == "mail")
        seen = cycles()
        wait("two more cycles", lambda: cycles() >= seen + 2)
        logins = dovecot.log.read_text().count("imap-login: Info: Login: user=<alice@")
        assert logins == 2  # the daemon's one connection, and the test's APPEND

        # Dovecot restarts: the kept connection is dead, the next cycle opens another.
        dovecot.stop()
        dovecot.start()
        dovecot.append("Sent", [message(to="hugo@example.com", subject=SUBJECT)], when=RECENT)
        wait("Hugo's mail", lambda: ledger(book, "hugo.vcf").how == "mail")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    text = log.read_text()
    assert " DEBUG netsync." in text  # it did log at debug level
    assert "Bjorn Berg: last contact 2026-11-20 (mail), from mail" in text
    for secret in (mailserver.PASSWORD, servers.PASSWORD):
        assert secret not in text
    leaks = [line for line in text.splitlines()
             if SUBJECT in line or any(a in line.lower() for a in ADDRESSES)]  # fmt: skip
    assert leaks == []


def test_check_logs_in_finds_the_sent_folder_and_says_how_much_it_would_read(
    mailed: tuple[servers.Server, Dovecot, Path],
    credentials: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, dovecot, config = mailed
    capsys.readouterr()
    assert main(["--config", str(config), "check"]) == 0
    out = capsys.readouterr().out
    port = dovecot.imaps_port
    assert f"[ok  ] mail login: {mailserver.USER} at imaps://127.0.0.1:{port} (TLS)" in out
    assert "[ok  ] mail folders: Sent (flagged \\Sent (or by its name))" in out
    assert "[ok  ] mail: the next cycle reads the headers of 6 message(s)" in out
    assert run(config, "sync") == 0
    capsys.readouterr()
    assert main(["--config", str(config), "check"]) == 0
    out = capsys.readouterr().out
    assert "[ok  ] mail folders: Sent (found before)" in out
    assert "[ok  ] mail: nothing new to read; never a subject or a body" in out

    (credentials / "netsync-password-mail").write_text("wrong-password\n")
    assert main(["--config", str(config), "check"]) == 77
    out = capsys.readouterr().out
    assert "[FAIL] mail login: 127.0.0.1 refused the mail login" in out
    assert "wrong-password" not in out
    dovecot.stop()
    assert main(["--config", str(config), "check"]) == 75
    assert "[FAIL] mail server: cannot reach the mail server 127.0.0.1" in capsys.readouterr().out


def test_the_mail_password_is_blanked_from_the_log_like_the_others(
    tmp_path: Path, credentials: Path
) -> None:
    import logging

    from netsync.app import daemon, session
    from netsync.app.config import load_settings

    config = tmp_path / "config.toml"
    config.write_text(
        '[contacts]\nurl = "https://dav.example.com/"\nusername = "alice"\n'
        '[mail]\nurl = "imaps://mail.example.com"\nusername = "alice@example.com"\n'
    )
    conn = session.connections(load_settings(config))
    redact = daemon.RedactSecrets()
    redact.add(*daemon.secrets_of(conn))
    record = logging.LogRecord("imapclient", logging.WARNING, "", 0, "%s", ("x",), None)
    record.msg, record.args = f"login as alice with {mailserver.PASSWORD} failed", ()
    redact.filter(record)
    assert record.getMessage() == "login as alice with ******** failed"


# -- `netsync init` ----------------------------------------------------------------------------


def test_init_with_a_mail_url_logs_in_with_the_same_password_and_writes_mail(
    radicale: servers.Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import tomllib

    from netsync.commands import init as wizard

    monkeypatch.delenv("NETSYNC_PASSWORD", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    for name, card in PEOPLE.items():
        assert servers.put_card(radicale, name, card) == 201
    with mailserver.dovecot(password=servers.PASSWORD) as dovecot:
        dovecot.append("Sent", SENT, when=RECENT)
        config = tmp_path / "netsync.toml"
        monkeypatch.setattr(sys, "stdin", io.StringIO(servers.PASSWORD + "\n"))
        out = io.StringIO()
        code = wizard.run_init(
            _init_args(
                "--non-interactive", "--config", str(config), "--server", radicale.root,
                "--username", "alice", "--password-stdin", "--create-calendar",
                "--ca-file", str(dovecot.ca_file), "--mail-url", dovecot.imaps_url,
                "--mail-username", mailserver.USER,
            ),
            wizard.Prompter(interactive=False, out=out),
        )  # fmt: skip
        printed = out.getvalue()
        assert code == 0, printed
        assert (
            f"Mail: {dovecot.imaps_url} (Sent; the first cycle reads the headers of 6 message(s))"
            in printed
        )
        assert f"Sent mail: {dovecot.imaps_url} (Sent;" in printed
        assert "* Bjorn Berg: last contact 2026-11-20 (mail), from mail" in printed  # dry run
        data = tomllib.loads(config.read_text())
        assert data["mail"]["url"] == dovecot.imaps_url
        assert data["mail"]["username"] == mailserver.USER
        assert servers.PASSWORD not in config.read_text()


def test_init_on_a_terminal_finds_the_mail_server_by_srv_and_asks_its_own_password(
    radicale: servers.Server, dovecot: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import tomllib

    from netsync.commands import init as wizard

    monkeypatch.delenv("NETSYNC_PASSWORD", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    dovecot.append("Sent", SENT[:1], when=RECENT)
    answers = [
        ("Password for alice at 127.0.0.1", servers.PASSWORD),
        ("Which calendar should the reminders go to?", ""),
        ("Mail password for alice@example.org", mailserver.PASSWORD),
        ("Language", ""),
        ("How often", ""),
        ("How should netsync get the password?", ""),
        ("Write the config to", ""),
    ]
    out = io.StringIO()

    def script(prompt: str) -> str:
        want, answer = answers.pop(0)
        assert want in prompt, f"expected {want!r}, asked {prompt!r}\n{out.getvalue()}"
        return answer

    def resolve(name: str, rdtype: str) -> list[str]:  # the domain's DNS, RFC 6186
        if (name, rdtype) == ("_imaps._tcp.example.org", "SRV"):
            return [f"0 0 {dovecot.imaps_port} 127.0.0.1."]
        return []

    config = tmp_path / "netsync.toml"
    ui = wizard.Prompter(interactive=True, out=out, ask=script, secret=script)
    args = _init_args(
        "--config", str(config), "--server", radicale.root, "--username", "alice",
        "--ca-file", str(dovecot.ca_file), "--mail-username", mailserver.USER,
    )  # fmt: skip
    code = wizard.run_init(args, ui, resolve=resolve)
    printed = out.getvalue()
    assert code == 0, printed
    assert not answers
    assert f"imaps://127.0.0.1:{dovecot.imaps_port} did not take the same password." in printed
    assert "the first cycle reads the headers of 1 message(s)" in printed
    assert "as the systemd credential netsync-password-mail" in printed
    assert mailserver.PASSWORD not in printed
    data = tomllib.loads(config.read_text())
    assert data["mail"]["url"] == f"imaps://127.0.0.1:{dovecot.imaps_port}"
    assert data["mail"]["username"] == mailserver.USER


def _init_args(*argv: str):  # type: ignore[no-untyped-def]
    from netsync import commands

    return commands.build_parser().parse_args(["init", *argv, "--today", TODAY.isoformat()])
