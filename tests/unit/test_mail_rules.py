"""core/mail.py and learn.from_mail: what a sent (or received) message counts as (SPEC 6)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from netsync.core import learn, mail
from netsync.core.model import Contact

AMS = ZoneInfo("Europe/Amsterdam")
TODAY = dt.date(2026, 11, 26)


def headers(text: str) -> mail.Headers:
    return mail.parse_headers(text.replace("\n", "\r\n").encode())


def judge(text: str, *, received: bool = False, internal: dt.datetime | None = None):
    return mail.judge(headers(text), received=received, internal=internal, zone=AMS, today=TODAY)


def test_recipients_from_to_cc_and_bcc_with_encoded_names_and_groups() -> None:
    h = headers(
        "From: Me <me@example.org>\n"
        "To: =?utf-8?q?Al=C3=AFce_Jansen?= <Alice@Example.COM>, bob@example.com\n"
        'To: "Jansen, Bram" <bram@example.net>\n'
        "Cc: Family: Oma <oma@example.nl>, opa@example.nl;\n"
        "Bcc: =?iso-8859-1?b?Q2hs6W8=?= <CHLOE@example.fr>\n"
        "Date: Fri, 20 Nov 2026 10:00:00 +0100\n"
    )
    assert h.recipients == (
        "alice@example.com",
        "bob@example.com",
        "bram@example.net",
        "oma@example.nl",
        "opa@example.nl",
        "chloe@example.fr",
    )
    assert h.senders == ("me@example.org",)
    assert h.sent == dt.datetime(2026, 11, 20, 10, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def test_sent_mail_counts_for_its_recipients_on_the_day_sent_in_the_users_zone() -> None:
    # 23:30 in New York on the 19th is the 20th in Amsterdam.
    seen, why = judge(
        "From: me@example.org\nTo: alice@example.com\nDate: Thu, 19 Nov 2026 23:30:00 -0500\n"
    )
    assert why == mail.COUNTED
    assert seen == mail.Seen(dt.date(2026, 11, 20), ("alice@example.com",))


def test_a_copy_to_oneself_is_no_recipient() -> None:
    seen, _ = judge(
        "From: Me <ME@example.org>\nTo: alice@example.com\nCc: me@example.org\n"
        "Date: Fri, 20 Nov 2026 10:00:00 +0100\n"
    )
    assert seen is not None and seen.addresses == ("alice@example.com",)


def test_ten_recipients_count_eleven_are_a_crowd() -> None:
    ten = ", ".join(f"p{i}@example.com" for i in range(10))
    seen, why = judge(f"From: me@example.org\nTo: {ten}\nDate: Fri, 20 Nov 2026 10:00 +0100\n")
    assert why == mail.COUNTED and seen is not None and len(seen.addresses) == 10
    eleven = ten + ", p10@example.com"
    seen, why = judge(f"From: me@example.org\nTo: {eleven}\nBcc: me@example.org\n")
    assert (seen, why) == (None, mail.CROWD)
    # Spread over To, Cc and Bcc it is the same crowd.
    spread = "To: p0@example.com\nCc: " + ", ".join(f"p{i}@example.com" for i in range(1, 6))
    spread += "\nBcc: " + ", ".join(f"p{i}@example.com" for i in range(6, 11))
    assert judge(f"From: me@example.org\n{spread}\nDate: Fri, 20 Nov 2026 10:00 +0100\n") == (
        None,
        mail.CROWD,
    )


def test_list_mail_and_machine_mail_do_not_count() -> None:
    base = "From: me@example.org\nTo: alice@example.com\nDate: Fri, 20 Nov 2026 10:00 +0100\n"
    assert judge(base + "List-Id: Sailing club <club.example.com>\n") == (None, mail.MAILING_LIST)
    assert judge(base + "Auto-Submitted: auto-replied\n") == (None, mail.AUTOMATIC)
    assert judge(base + "Precedence: bulk\n") == (None, mail.AUTOMATIC)
    assert judge(base + "Auto-Submitted: no\n")[1] == mail.COUNTED
    assert judge(base + "Precedence: first-class\n")[1] == mail.COUNTED


def test_received_mail_counts_for_its_sender_only() -> None:
    text = (
        "From: Alice <alice@example.com>\nTo: me@example.org, bob@example.com\n"
        "Date: Fri, 20 Nov 2026 10:00 +0100\n"
    )
    seen, _ = judge(text, received=True)
    assert seen == mail.Seen(dt.date(2026, 11, 20), ("alice@example.com",))


def test_without_a_readable_date_the_servers_date_counts() -> None:
    internal = dt.datetime(2026, 11, 18, 23, 30, tzinfo=dt.UTC)  # the 19th in Amsterdam
    for date in ("", "Date: yesterday-ish\n", "Date: \n"):
        seen, why = judge(f"From: me@example.org\nTo: alice@example.com\n{date}", internal=internal)
        assert why == mail.COUNTED and seen is not None
        assert seen.day == dt.date(2026, 11, 19), date
    assert judge("From: me@example.org\nTo: alice@example.com\n") == (None, mail.NO_ADDRESS)


def test_a_date_after_today_counts_as_today() -> None:
    seen, _ = judge("From: me@example.org\nTo: a@example.com\nDate: Tue, 1 Dec 2026 10:00 +0100\n")
    assert seen is not None and seen.day == TODAY


def test_no_recipient_no_contact() -> None:
    assert judge("From: me@example.org\nTo: undisclosed-recipients:;\n")[1] == mail.NO_ADDRESS
    assert judge("From: me@example.org\nTo: not an address\n")[1] == mail.NO_ADDRESS


@given(st.binary(max_size=400))
def test_parsing_never_raises(raw: bytes) -> None:
    h = mail.parse_headers(raw)
    assert all("@" in a for a in h.recipients + h.senders)


def test_newest_keeps_only_days_that_move_forward() -> None:
    d = dt.date
    seen = [
        mail.Seen(d(2026, 11, 20), ("a@x.org", "b@x.org")),
        mail.Seen(d(2026, 11, 22), ("a@x.org",)),
        mail.Seen(d(2026, 11, 1), ("c@x.org",)),
    ]
    known = {"b@x.org": d(2026, 11, 21), "c@x.org": d(2026, 11, 1)}
    assert mail.newest(seen, known) == {"a@x.org": d(2026, 11, 22)}


def test_from_mail_matches_any_address_of_a_contact_and_shared_addresses_count_for_all() -> None:
    d = dt.date
    alice = Contact("u-alice", "Alice", emails=("Alice@Work.example", "alice@home.example"))
    bram = Contact("u-bram", "Bram", emails=("family@home.example",))
    chloe = Contact("u-chloe", "Chloé", emails=("family@home.example", "chloe@x.org"))
    shop = Contact("u-shop", "Shop", emails=("info@shop.example",), is_org=True)
    days = {
        "alice@work.example": d(2026, 11, 2),
        "alice@home.example": d(2026, 11, 20),
        "family@home.example": d(2026, 11, 10),
        "info@shop.example": d(2026, 11, 11),
    }
    found = learn.from_mail(days, [alice, bram, chloe, shop])
    assert found == [
        learn.Observation("u-alice", d(2026, 11, 20), "mail", "mail"),
        learn.Observation("u-bram", d(2026, 11, 10), "mail", "mail"),
        learn.Observation("u-chloe", d(2026, 11, 10), "mail", "mail"),
    ]


def test_utf8_header_bytes_give_utf8_addresses() -> None:
    """RFC 6532: a mail program may write names and addresses in UTF-8, unencoded."""
    h = mail.parse_headers("To: Zoë van Leeuwen <Zoë@Example.nl>\r\n".encode())
    assert h.recipients == ("zoë@example.nl",)
