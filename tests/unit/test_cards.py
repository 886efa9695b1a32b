"""One vCard -> Contact (netsync.core.cards), on cards in tests/data named for their quirk."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netsync.core.cards import CardError, card_dates, parse_card
from netsync.core.model import (
    ANNIVERSARY,
    BIRTHDAY,
    OCCASION,
    Cadence,
    Contact,
    DateFact,
    PartialDate,
)
from tests.vcards import vcard

DATA = Path(__file__).resolve().parents[1] / "data"
TODAY = dt.date(2026, 11, 24)


def card(name: str) -> str:
    """A test card exactly as stored: BOM, line endings and folding intact."""
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return f.read()


def parse(name: str) -> Contact:
    return parse_card(card(name), today=TODAY)


def minimal(*lines: str, uid: str = "u1", fn: str = "Anna Example") -> str:
    return vcard(uid, fn, lines=lines)


def test_apple_item_groups_and_labels() -> None:
    contact = parse("cards_apple_item_xablabel.vcf")
    assert contact.uid == "7D1E2F3A-4B5C-6D7E-8F90-A1B2C3D4E5F6"
    assert contact.name == "Alice Jansen"
    assert contact.emails == ("alice@example.org",)
    assert contact.phones == ("+31 6 1234 5678",)
    assert not contact.is_org  # a person who also has an ORG
    assert contact.dates == (
        DateFact(BIRTHDAY, PartialDate(5, 12)),  # 1604 + X-APPLE-OMIT-YEAR
        DateFact(ANNIVERSARY, PartialDate(6, 19, 2004)),  # the built-in label
        # group and property names in any case; the custom label unescaped
        DateFact(OCCASION, PartialDate(9, 2), "Wedding of Emma, our daughter"),
        DateFact(OCCASION, PartialDate(3, 15, 2020)),  # _$!<Other>!$_ names nothing
        DateFact(OCCASION, PartialDate(12, 1, 1999)),  # ungrouped, unlabelled
    )


def test_nextcloud_duplicate_anniversary_counts_once() -> None:
    contact = parse("cards_nextcloud_duplicate_anniversary.vcf")
    assert contact.dates == (
        DateFact(BIRTHDAY, PartialDate(2, 29)),
        DateFact(ANNIVERSARY, PartialDate(10, 21, 1994)),
    )


def test_a_year_less_copy_of_a_dated_fact_is_dropped() -> None:
    text = minimal(
        "X-ANNIVERSARY;X-APPLE-OMIT-YEAR=1604:1604-10-21",
        "item1.X-ABDATE:1994-10-21",
        "item1.X-ABLabel:_$!<Anniversary>!$_",
        "BDAY:1980-10-21",  # same day, other kind: kept
        "item2.X-ABDATE:--1021",
        "item2.X-ABLabel:Wedding",  # same day, an occasion: kept
        "item3.X-ABDATE:2001-10-21",
        "item3.X-ABLabel:First date",  # another label: another occasion
    )
    assert card_dates(text) == (
        DateFact(ANNIVERSARY, PartialDate(10, 21, 1994)),
        DateFact(BIRTHDAY, PartialDate(10, 21, 1980)),
        DateFact(OCCASION, PartialDate(10, 21), "Wedding"),
        DateFact(OCCASION, PartialDate(10, 21, 2001), "First date"),
    )


def test_every_anniversary_property() -> None:
    names = [
        "ANNIVERSARY",
        "X-ANNIVERSARY",
        "X-EVOLUTION-ANNIVERSARY",
        "X-KADDRESSBOOK-X-Anniversary",
        "x-ms-anniversary",
    ]
    for month, name in enumerate(names, start=1):
        assert card_dates(minimal(f"{name}:2001-{month:02d}-05")) == (
            DateFact(ANNIVERSARY, PartialDate(month, 5, 2001)),
        ), name


def test_unreadable_dates_are_skipped() -> None:
    text = minimal("BDAY;VALUE=text:circa 1800", "X-ANNIVERSARY:", "item1.X-ABDATE:soon")
    assert card_dates(text) == ()


@pytest.mark.parametrize(
    "name",
    ["cards_kind_org.vcf", "cards_abshowas_company.vcf", "cards_org_without_personal_name.vcf"],
)
def test_organisations(name: str) -> None:
    assert parse(name).is_org


def test_fn_equal_to_org_is_a_person_when_n_has_a_name() -> None:
    contact = parse_card(minimal("N:Tools;Acme;;;", "ORG:Acme Tools"), today=TODAY)
    assert not contact.is_org


def test_apple_contact_groups_get_no_follow_ups() -> None:
    text = minimal("X-ADDRESSBOOKSERVER-KIND:group", fn="Sailing club")
    assert parse_card(text, today=TODAY).is_org


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("cards_two_in_one_resource.vcf", "2 vCards in one resource"),
        ("cards_no_uid.vcf", "no UID"),
        ("cards_no_fn.vcf", "no FN, N or ORG"),
        ("cards_truncated.vcf", "not a vCard (truncated: no END:VCARD)"),
    ],
)
def test_broken_cards(name: str, reason: str) -> None:
    with pytest.raises(CardError) as caught:
        parse(name)
    assert str(caught.value) == reason


@pytest.mark.parametrize("text", ["", "<html>502 Bad Gateway</html>", "BEGIN:VCALENDAR\r\n"])
def test_not_a_vcard(text: str) -> None:
    with pytest.raises(CardError, match=r"^not a vCard \(no BEGIN:VCARD\)$"):
        parse_card(text, today=TODAY)


def test_error_never_carries_note_text() -> None:
    text = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:X\r\nNOTE:secret diagnosis\r\nEND:VCARD\r\n"
    with pytest.raises(CardError) as caught:
        parse_card(text, today=TODAY)
    assert "secret" not in str(caught.value)


def test_name_from_n_when_fn_is_missing() -> None:
    assert parse("cards_no_fn_but_n.vcf").name == "Jan Willem Visser"


def test_name_from_org_when_there_is_no_other() -> None:
    text = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:o\r\nN:;;;;\r\nORG:Garage Hendriks;\r\nEND:VCARD\r\n"
    contact = parse_card(text, today=TODAY)
    assert (contact.name, contact.is_org) == ("Garage Hendriks", True)


def test_byte_order_mark() -> None:
    contact = parse("cards_bom.vcf")
    assert (contact.uid, contact.name) == ("bom-card", "Bea Bom")
    assert contact.dates == (DateFact(BIRTHDAY, PartialDate(7, 1, 1988)),)


def test_lf_only_and_folded() -> None:
    contact = parse("cards_lf_only.vcf")
    assert contact.name == (
        "Lieke Folded Linefeed and a name long enough to be folded over two lines by the server"
    )
    assert contact.emails == ("lieke@example.org",)
    assert contact.dates == (DateFact(BIRTHDAY, PartialDate(11, 3)),)


def test_vcard_21_quoted_printable_name() -> None:
    contact = parse("cards_v21_quoted_printable_name.vcf")
    assert contact.name == "Jörg Müller-Lüdenscheidt von und zu Hohenstein"
    assert contact.phones == ("+49 170 1234567",)
    assert not contact.is_org


def test_vcard_21_quoted_printable_org_in_its_charset() -> None:
    text = (
        "BEGIN:VCARD\r\nVERSION:2.1\r\nUID:b\r\nN:;;;;\r\n"
        "FN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:B=E4ckerei M=FCller\r\n"
        "ORG;CHARSET=ISO-8859-1;QUOTED-PRINTABLE:B=E4ckerei M=FCller\r\nEND:VCARD\r\n"
    )
    contact = parse_card(text, today=TODAY)
    assert (contact.name, contact.is_org) == ("Bäckerei Müller", True)


def test_categories_split_at_unescaped_commas_and_merged() -> None:
    contact = parse("cards_categories_escaped_comma.vcf")
    assert contact.categories == ("Family", "Friends, close", "Sailing", "Work")


def test_google_bidi_marks_are_stripped_from_phones() -> None:
    contact = parse("cards_google_bidi_phone.vcf")
    assert contact.phones == ("+31 6 5555 1234",)
    assert contact.categories == ("myContacts",)
    assert contact.dates == (
        DateFact(BIRTHDAY, PartialDate(1, 22)),
        DateFact(ANNIVERSARY, PartialDate(3, 10, 2014)),
    )


def test_vcard_4_uris() -> None:
    contact = parse("cards_v4_tel_uri.vcf")
    assert contact.phones == ("+1-418-656-9254;ext=102",)
    assert contact.emails == ("vera@example.org",)
    assert contact.dates == (
        DateFact(BIRTHDAY, PartialDate(2, 3)),
        DateFact(ANNIVERSARY, PartialDate(8, 8, 2009)),
    )


def test_href_and_etag_are_carried() -> None:
    contact = parse_card(minimal(), href="/ab/u1.vcf", etag='"e1"', today=TODAY)
    assert (contact.href, contact.etag) == ("/ab/u1.vcf", '"e1"')


def test_uid_is_unescaped_and_stripped() -> None:
    assert parse_card(minimal(uid=" a\\,b "), today=TODAY).uid == "a,b"


def test_note_block_becomes_the_ledger_and_user_text_the_note() -> None:
    text = minimal(
        "NOTE:Likes sailing\\, daughter Emma studies in Delft.\\n\\n[netsync]\\n"
        "last: 2026-11-20 call\\nevery: 30d\\n[/netsync]"
    )
    contact = parse_card(text, today=TODAY)
    assert contact.ledger.last == dt.date(2026, 11, 20)
    assert contact.ledger.how == "call"
    assert contact.ledger.every == Cadence(30, "d")
    assert contact.note.strip() == "Likes sailing, daughter Emma studies in Delft."


def test_phone_typed_today_is_read_with_the_given_day() -> None:
    text = minimal("NOTE:[netsync]\\nlast: today\\n[/netsync]")
    assert parse_card(text, today=TODAY).ledger.last == TODAY


_LINES = st.sampled_from(
    [
        "BEGIN:VCARD",
        "END:VCARD",
        "UID:x",
        "FN:Y",
        "N:;;;;",
        "ORG:;",
        "BDAY:--0229",
        "item1.X-ABDATE:",
        "item1.X-ABLabel:_$!<>!$_",
        "NOTE:[netsync]\\nlast: 99-99-9999",
        "CATEGORIES:\\",
        "TEL;VALUE=uri:tel:",
        "FN;ENCODING=QUOTED-PRINTABLE;CHARSET=nonsense:=C3=",
        " folded",
        ":",
        "KIND:",
    ]
)


@given(st.lists(st.one_of(_LINES, st.text(max_size=20)), max_size=12))
def test_only_card_error_ever_escapes(lines: list[str]) -> None:
    try:
        contact = parse_card("\r\n".join(lines), today=TODAY)
    except CardError:
        return
    assert contact.uid and contact.name


def test_vcard_21_quoted_printable_without_charset_from_outlook() -> None:
    text = (
        "BEGIN:VCARD\r\nVERSION:2.1\r\nUID:w\r\n"
        "FN;ENCODING=QUOTED-PRINTABLE:Ren=E9e Dupr=E9\r\nEND:VCARD\r\n"  # Windows-1252
    )
    assert parse_card(text, today=TODAY).name == "Renée Dupré"


def test_a_dutch_block_is_marked_for_rewriting_when_english_is_configured() -> None:
    text = minimal("NOTE:[netsync]\\nlaatst: 2026-11-20 koffie\\n[/netsync]")
    english = parse_card(text, today=TODAY, language="en").ledger
    assert (english.last, english.how, english.needs_rewrite) == (
        dt.date(2026, 11, 20),
        "koffie",
        True,
    )
    assert not parse_card(text, today=TODAY, language="nl").ledger.needs_rewrite
