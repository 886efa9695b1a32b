"""The IMAP reader (app/imap.py) against a real Dovecot: what it reads, what it never reads,
and how little a cycle with nothing new costs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from netsync.app import imap
from netsync.app.state import State
from netsync.core import mail
from tests import mailserver
from tests.mailserver import USER, Dovecot, message

TODAY = dt.date(2026, 11, 26)
AMS = ZoneInfo("Europe/Amsterdam")
RECENT = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)


def account(server: Dovecot, *, url: str = "", password: str = mailserver.PASSWORD, ca=True):
    return imap.MailAccount(
        url or server.imaps_url,
        USER,
        password,
        ca_file=str(server.ca_file) if ca else "",
        timeout=5,
    )


def mailbox(server: Dovecot, **kwargs: Any) -> imap.Mailbox:
    return imap.Mailbox(account(server), **kwargs)


class Wire:
    """The commands a client sends, as Dovecot reads them (one line each, tag dropped)."""

    def __init__(self, box: imap.Mailbox) -> None:
        self.commands: list[str] = []
        raw = box.connect()._imap
        send = raw.send

        def recording(data: bytes) -> None:
            tag, _, command = data.decode(errors="replace").partition(" ")
            if tag.startswith(raw.tagpre.decode()):  # not a literal's continuation
                self.commands.append(command.strip())
            send(data)

        raw.send = recording


def scan(box: imap.Mailbox, state: State, today: dt.date = TODAY) -> imap.Scan:
    return box.scan(state, today=today, zone=AMS)


def test_sent_mail_is_read_headers_only_and_nothing_is_marked_read(
    dovecot: Dovecot, tmp_path: Path
) -> None:
    crowd = ", ".join(f"guest{i}@example.com" for i in range(11))
    dovecot.append(
        "Sent",
        [
            message(to="=?utf-8?q?Bj=C3=B6rn?= <Bjorn@Example.COM>", cc="chloe@example.fr"),
            message(to="bjorn@example.com", date="Sun, 22 Nov 2026 21:00:00 +0100"),
            message(to="club@lists.example.org", extra="List-Id: Sailing <sail.example.org>"),
            message(to=crowd, subject="Party!"),
            message(bcc="Family: oma@example.nl, opa@example.nl;"),
        ],
        when=RECENT,
    )
    state = State(tmp_path / "state")
    box = mailbox(dovecot)
    found = scan(box, state)
    box.close()
    assert found.folders == ["Sent"]
    assert found.fetched == 5
    assert found.tally == {mail.COUNTED: 3, mail.MAILING_LIST: 1, mail.CROWD: 1}
    assert state.mail_days() == {
        "bjorn@example.com": dt.date(2026, 11, 22),
        "chloe@example.fr": dt.date(2026, 11, 20),
        "oma@example.nl": dt.date(2026, 11, 20),
        "opa@example.nl": dt.date(2026, 11, 20),
    }
    # Dovecot's own counters: header fields of 5 messages, not one body.
    (session,) = dovecot.wait_for_sessions(2)[1:]  # the first is the test's APPEND session
    assert session["hdr_count"] == 5
    assert (session["body_count"], session["body_bytes"]) == (0, 0)
    assert session["why"] == "Logged out"
    # Nothing marked read: the user's mail program sees the messages as it left them.
    client = dovecot.client()
    client.select_folder("Sent", readonly=True)
    flags = client.get_flags(client.search("ALL"))
    client.logout()
    assert all(b"\\Seen" not in f for f in flags.values())


def test_the_body_counter_does_count_a_body(dovecot: Dovecot) -> None:
    """The counter the test above reads is no dead letter: a client that fetches a body
    moves it."""
    dovecot.append("Sent", [message(to="bjorn@example.com")], when=RECENT)
    client = dovecot.client()
    client.select_folder("Sent", readonly=True)
    client.fetch(client.search("ALL"), ["BODY.PEEK[]"])
    client.logout()
    assert dovecot.wait_for_sessions(2)[-1]["body_count"] == 1


def test_a_cycle_with_nothing_new_is_one_status_and_new_mail_is_read_alone(
    dovecot: Dovecot, tmp_path: Path
) -> None:
    dovecot.append("Sent", [message(to=f"p{i}@example.com") for i in range(3)], when=RECENT)
    state = State(tmp_path / "state")
    box = mailbox(dovecot)
    assert scan(box, state).fetched == 3
    wire = Wire(box)
    nothing = scan(box, state)
    assert (nothing.fetched, nothing.learnt) == (0, 0)
    assert wire.commands == ['STATUS "Sent" (UIDVALIDITY UIDNEXT)']

    dovecot.append("Sent", [message(to="p1@example.com", date="Wed, 25 Nov 2026 08:00:00 +0100")])
    wire.commands.clear()
    newer = scan(box, state)
    assert (newer.fetched, newer.learnt, newer.rescanned) == (1, 1, [])
    assert wire.commands[0] == 'STATUS "Sent" (UIDVALIDITY UIDNEXT)'
    assert wire.commands[1] == 'EXAMINE "Sent"'
    assert wire.commands[2] == "UID SEARCH UID 4:*"
    assert wire.commands[3].startswith("UID FETCH 4 (BODY.PEEK[HEADER.FIELDS (DATE FROM TO")
    assert state.mail_days()["p1@example.com"] == dt.date(2026, 11, 25)
    box.close()


def test_the_first_read_goes_since_days_back_in_batches(dovecot: Dovecot, tmp_path: Path) -> None:
    old = dt.datetime(2025, 6, 1, 9, 0, tzinfo=dt.UTC)
    dovecot.append("Sent", [message(to="old@example.com", date="")], when=old)
    dovecot.append("Sent", [message(to=f"p{i}@example.com") for i in range(12)], when=RECENT)
    box = mailbox(dovecot, since_days=30)
    wire = Wire(box)
    original = imap.BATCH
    imap.BATCH = 5
    try:
        found = scan(box, State(tmp_path / "state"))
    finally:
        imap.BATCH = original
    assert found.fetched == 12 and found.rescanned == ["Sent"]
    assert "UID SEARCH SINCE 27-Oct-2026" in wire.commands
    assert sum(c.startswith("UID FETCH") for c in wire.commands) == 3
    box.close()


def test_a_lost_state_reads_again_and_a_new_uidvalidity_too(
    dovecot: Dovecot, tmp_path: Path
) -> None:
    dovecot.append("Sent", [message(to="bjorn@example.com")], when=RECENT)
    box = mailbox(dovecot)
    first = State(tmp_path / "one")
    scan(box, first)
    lost = State(tmp_path / "two")
    again = scan(box, lost)
    assert (again.fetched, again.rescanned) == (1, ["Sent"])
    assert lost.mail_days() == first.mail_days()

    # The folder made anew (a server move, a mail program that rebuilt it): a new
    # UIDVALIDITY, and UIDs that start at 1 again.
    client = dovecot.client()
    client.delete_folder("Sent")
    client.create_folder("Sent")
    client.logout()
    dovecot.append(
        "Sent",
        [message(to="chloe@example.fr", date="Tue, 24 Nov 2026 10:00 +0100")],
        when=RECENT,
    )
    renewed = scan(box, first)
    assert (renewed.fetched, renewed.rescanned) == (1, ["Sent"])
    assert first.mail_days() == {
        "bjorn@example.com": dt.date(2026, 11, 20),
        "chloe@example.fr": dt.date(2026, 11, 24),
    }
    box.close()


def test_received_mail_is_read_only_when_asked(dovecot: Dovecot, tmp_path: Path) -> None:
    dovecot.append("INBOX", [message(sender="Bjorn <bjorn@example.com>", to=USER)], when=RECENT)
    box = mailbox(dovecot)
    off = scan(box, State(tmp_path / "off"))
    box.close()
    assert off.folders == ["Sent"] and off.fetched == 0
    state = State(tmp_path / "on")
    box = mailbox(dovecot, count_received=True)
    on = scan(box, state)
    box.close()
    assert on.folders == ["Sent", "INBOX"] and on.fetched == 1
    assert state.mail_days() == {"bjorn@example.com": dt.date(2026, 11, 20)}


def test_the_sent_folder_is_found_by_its_flag_and_remembered(tmp_path: Path) -> None:
    with mailserver.dovecot(sent="Verzonden items") as server:
        server.append("Verzonden items", [message(to="bjorn@example.com")], when=RECENT)
        state = State(tmp_path / "state")
        box = mailbox(server)
        assert scan(box, state).folders == ["Verzonden items"]
        assert state.mail_folder(box.account.key) == "Verzonden items"
        wire = Wire(box)
        scan(box, state)
        assert not any(c.startswith("LIST") for c in wire.commands)
        box.close()


def test_starttls_on_the_imap_port(dovecot: Dovecot, tmp_path: Path) -> None:
    box = imap.Mailbox(account(dovecot, url=dovecot.imap_url))
    box.connect()
    assert box.encryption == "STARTTLS"
    assert scan(box, State(tmp_path / "state")).folders == ["Sent"]
    box.close()


def test_a_wrong_password_and_an_untrusted_certificate_say_what_to_do(
    dovecot: Dovecot, tmp_path: Path
) -> None:
    with pytest.raises(imap.MailAuthFailed, match="refused the mail login") as refused:
        scan(imap.Mailbox(account(dovecot, password="wrong-password")), State(tmp_path / "a"))
    assert "wrong-password" not in str(refused.value)
    with pytest.raises(imap.MailUnreachable, match="certificate not trusted.*ca_file"):
        scan(imap.Mailbox(account(dovecot, ca=False)), State(tmp_path / "b"))


def test_a_kept_connection_the_server_closed_is_opened_again(
    dovecot: Dovecot, tmp_path: Path
) -> None:
    state = State(tmp_path / "state")
    box = mailbox(dovecot)
    scan(box, state)
    dovecot.stop()
    dovecot.start()
    dovecot.append("Sent", [message(to="bjorn@example.com")], when=RECENT)
    assert scan(box, state).fetched == 1
    box.close()


def test_a_server_that_is_down_is_unreachable(dovecot: Dovecot, tmp_path: Path) -> None:
    dovecot.stop()
    with pytest.raises(imap.MailUnreachable, match="cannot reach the mail server"):
        scan(mailbox(dovecot), State(tmp_path / "state"))
