"""The real-world corpus in ../shared/fixtures: every card read or refused, every date right.

The expected values come from each file and the quirk table (fixtures/SOURCES.md,
manifest.tsv). The corpus is third-party data and stays outside the project; without it this
module is skipped.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from netsync.core.cards import CardError, card_dates, parse_card
from netsync.core.model import ANNIVERSARY, BIRTHDAY, OCCASION, DateFact, Ledger, PartialDate

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
if not FIXTURES.is_dir():
    pytest.skip(f"real-world corpus not found at {FIXTURES}", allow_module_level=True)

TODAY = dt.date(2026, 11, 24)
CARDS = sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*.vcf"))


def read(name: str) -> str:
    with (FIXTURES / name).open(encoding="utf-8", newline="") as f:
        return f.read()


def bday(month: int, day: int, year: int | None = None) -> DateFact:
    return DateFact(BIRTHDAY, PartialDate(month, day, year))


def anniv(month: int, day: int, year: int | None = None) -> DateFact:
    return DateFact(ANNIVERSARY, PartialDate(month, day, year))


def occasion(label: str, month: int, day: int, year: int | None = None) -> DateFact:
    return DateFact(OCCASION, PartialDate(month, day, year), label)


# Every fixture: its dates, or the reason it is not one card. A new fixture fails
# test_table_covers_the_corpus until someone looks at it and adds its truth here.
DATES: dict[str, tuple[DateFact, ...] | str] = {
    "Radicale/broken-vcard.vcf": (),
    "Radicale/broken-vcards2-no_uid.vcf": "2 vCards in one resource",
    "Radicale/contact2-with-bday.vcf": (bday(1, 1, 1970),),
    "Radicale/contact4-with-bday-no-year.vcf": (bday(1, 1),),  # CardBook 16040101
    "Radicale/contact_photo_with_data_uri.vcf": (),
    "ez-vcard/John_Doe_ANDROID.vcf": "6 vCards in one resource",
    "ez-vcard/John_Doe_BLACK_BERRY.vcf": (),
    "ez-vcard/John_Doe_EVOLUTION.vcf": (bday(3, 22, 1980), anniv(3, 22, 1980)),
    "ez-vcard/John_Doe_GMAIL.vcf": (bday(3, 22, 1980), anniv(3, 1, 1975)),
    "ez-vcard/John_Doe_IPHONE.vcf": (bday(6, 6, 2012),),
    "ez-vcard/John_Doe_LOTUS_NOTES.vcf": (bday(5, 21, 1980),),
    "ez-vcard/John_Doe_MAC_ADDRESS_BOOK.vcf": (bday(6, 6, 2012),),
    "ez-vcard/John_Doe_MS_OUTLOOK.vcf": (bday(3, 22, 1980), anniv(1, 13, 2011)),
    "ez-vcard/gmail-single.vcf": (bday(9, 10, 1960), anniv(6, 2, 1970)),
    "ez-vcard/gmail-single2.vcf": (
        bday(6, 23, 1912),
        anniv(3, 20, 1930),
        occasion("", 7, 4, 1776),  # ungrouped X-ABDATE without a label
        occasion("CustomDateCategory", 9, 12, 2000),
    ),
    "ez-vcard/issue114.vcf": (),
    "ez-vcard/outlook-2007.vcf": (bday(3, 10, 1922), anniv(8, 1, 2012)),
    "ez-vcard/rfc6350-example.vcf": (bday(2, 3), anniv(8, 8, 2009)),
    "ez-vcard/thunderbird-MoreFunctionsForAddressBook-extension.vcf": (
        bday(9, 21, 1970),
        anniv(4, 30, 1990),
    ),
    "khard/altid.vcf": (),
    "khard/labels.vcf": (),
    "khard/photov3.vcf": (),
    "khard/text-bday.vcf": (),  # BDAY;VALUE=text:circa 1800
    "khard/unparsable.vcf": "not a vCard (truncated: no END:VCARD)",
    "nametag/apple-vcard-example.vcf": (
        bday(1, 22),
        occasion("Aniversario de bodas", 7, 18),
        anniv(3, 10, 2014),
    ),
    "nametag/google-vcard-example.vcf": (
        bday(1, 22),  # --0122 inside vCard 3.0
        anniv(3, 10, 2014),
        occasion("Aniversario de bodas", 7, 18),
    ),
    "nametag/v4-contact.vcf": (bday(2, 3, 1994), anniv(8, 8, 2015)),
    "nextcloud-contacts/forrest-gump.vcf": (),
    "nextcloud-contacts/without-uid.vcf": (),
    "py-vobject/radicale-1587.vcf": (),
    "rcmcarddav/AllAttr.vcf": (bday(7, 17, 1960), anniv(7, 3, 2009)),
    "rcmcarddav/IM-Evolution.vcf": (),
    "rcmcarddav/IM-GoogleContacts.vcf": (),
    "rcmcarddav/IM-iOS.vcf": (),
    "rcmcarddav/UnknownProperties.vcf": (),
    "rcmcarddav/XAbLabelAppleBuiltin.vcf": (),
    "sabre-vobject/issue153.vcf": (),
    "sabre-vobject/issue64.vcf": (),
    "vcard4android/allfields-vcard3.vcf": (
        bday(4, 15, 1996),  # 1996-04-15T201243+04:00
        anniv(8, 12, 2014),
        occasion("Custom Date", 7, 29, 2021),  # item2.X-ABDate, mixed case
    ),
    "vcard4android/strange-rev.vcf": (),
    "vcard4android/unknown-properties-with-labels.vcf": (),
    "vcard4android/vcard4.vcf": (bday(4, 16),),
}

# Every fixture: (uid, name) of the contact, or the CardError reason. Most client exports
# carry no UID (servers add one on upload), so they are refused as they stand.
CONTACTS: dict[str, tuple[str, str] | str] = {
    "Radicale/broken-vcard.vcf": "no FN, N or ORG",
    "Radicale/broken-vcards2-no_uid.vcf": "2 vCards in one resource",
    "Radicale/contact2-with-bday.vcf": ("contact2-with-bday", "Test-FN"),
    "Radicale/contact4-with-bday-no-year.vcf": (
        "d0bd27f0-5c7c-4540-b9b6-91314b8361f1",
        "Test bday without year Thunderbird CardBook",
    ),
    "Radicale/contact_photo_with_data_uri.vcf": ("contact", "Contact"),
    "ez-vcard/John_Doe_ANDROID.vcf": "6 vCards in one resource",
    "ez-vcard/John_Doe_BLACK_BERRY.vcf": "no UID",
    "ez-vcard/John_Doe_EVOLUTION.vcf": (
        "477343c8e6bf375a9bac1f96a5000837",
        "Mr. John Richter, James Doe Sr.",
    ),
    "ez-vcard/John_Doe_GMAIL.vcf": "no UID",
    "ez-vcard/John_Doe_IPHONE.vcf": "no UID",
    "ez-vcard/John_Doe_LOTUS_NOTES.vcf": (
        "0e7602cc-443e-4b82-b4b1-90f62f99a199",
        "Mr. Doe John I Johny",
    ),
    "ez-vcard/John_Doe_MAC_ADDRESS_BOOK.vcf": "no UID",
    "ez-vcard/John_Doe_MS_OUTLOOK.vcf": "no UID",
    "ez-vcard/gmail-single.vcf": "no UID",
    "ez-vcard/gmail-single2.vcf": "no UID",
    "ez-vcard/issue114.vcf": ("8b574c60-fd7f-4e99-b584-c5db131ae687", "Dummy, Dummy"),
    "ez-vcard/outlook-2007.vcf": "no UID",
    "ez-vcard/rfc6350-example.vcf": "no UID",
    "ez-vcard/thunderbird-MoreFunctionsForAddressBook-extension.vcf": "no UID",
    "khard/altid.vcf": ("altid", "altid"),
    "khard/labels.vcf": ("51953f58-237e-429a-a271-cb47c026a895", "labeled guy"),
    "khard/photov3.vcf": ("photov3", "with photo v3"),
    "khard/text-bday.vcf": ("testuid3", "text birthday"),
    "khard/unparsable.vcf": "not a vCard (truncated: no END:VCARD)",
    "nametag/apple-vcard-example.vcf": "no UID",
    "nametag/google-vcard-example.vcf": "no UID",
    "nametag/v4-contact.vcf": "no UID",
    "nextcloud-contacts/forrest-gump.vcf": (
        "5efe2430-92e5-4ea2-9a7c-a05aed152ec92",
        "Forrest Gump",
    ),
    "nextcloud-contacts/without-uid.vcf": "no UID",
    "py-vobject/radicale-1587.vcf": "no UID",
    "rcmcarddav/AllAttr.vcf": (
        "sabre-vobject-005e805f-0bc1-4333-8be2-97889fb45b7a",
        "Chairman Wesker",
    ),
    "rcmcarddav/IM-Evolution.vcf": (
        "sabre-vobject-7a82c7c6-1ebc-4d5f-93ef-ce4912096d5c",
        "Hans Wurst",
    ),
    "rcmcarddav/IM-GoogleContacts.vcf": ("30ebe760088dd995", "Google IMTestKontakt"),
    "rcmcarddav/IM-iOS.vcf": ("E627D8ED-37BB-4AF0-91D3-E622B6390BF3", "Test IosIMKontakt"),
    "rcmcarddav/UnknownProperties.vcf": ("68F8AD34-3DEE-4232-AED8-07C183481D87", "John Doe"),
    "rcmcarddav/XAbLabelAppleBuiltin.vcf": (
        "B92B8FDB-E918-481F-AD6F-9713D5324AC5",
        "Max Mustermann",
    ),
    "sabre-vobject/issue153.vcf": "no UID",
    "sabre-vobject/issue64.vcf": "no UID",
    "vcard4android/allfields-vcard3.vcf": ("mostfields1@at.bitfire.vcard4android", "Ämi Display"),
    "vcard4android/strange-rev.vcf": ("2e4f2d8d8a", "Name Name"),
    "vcard4android/unknown-properties-with-labels.vcf": "no UID",
    "vcard4android/vcard4.vcf": ("vcard4test", "VCard 4 Test"),
}


def test_table_covers_the_corpus() -> None:
    assert sorted(DATES) == CARDS
    assert sorted(CONTACTS) == CARDS


@pytest.mark.parametrize("name", CARDS)
def test_dates(name: str) -> None:
    expected = DATES[name]
    if isinstance(expected, str):
        with pytest.raises(CardError) as caught:
            card_dates(read(name))
        assert str(caught.value) == expected
    else:
        assert card_dates(read(name)) == expected


@pytest.mark.parametrize("name", CARDS)
def test_contact_or_card_error(name: str) -> None:
    """parse_card never raises anything but CardError, and reads what a user would see."""
    expected = CONTACTS[name]
    try:
        contact = parse_card(read(name), href=name, etag='"1"', today=TODAY)
    except CardError as error:
        assert str(error) == expected
        return
    assert (contact.uid, contact.name) == expected
    assert contact.dates == DATES[name]
    assert not contact.is_org  # the corpus holds people only
    assert contact.ledger == Ledger()  # no [netsync] block anywhere in it


def with_uid(name: str) -> str:
    """A UID-less export as a server would store it (servers add the UID on upload)."""
    text = read(name)
    end = text.upper().rindex("END:VCARD")
    return text[:end] + "UID:added-by-server\r\n" + text[end:]


def test_google_export() -> None:
    contact = parse_card(with_uid("nametag/google-vcard-example.vcf"), today=TODAY)
    assert contact.name == "Emmetiano Lucas Brown"
    assert contact.phones == ("666 555 444", "555242526", "123456789")  # bidi marks gone
    assert contact.emails == ("greatscott@brown.com", "doc@bttf.com")
    assert contact.categories == ("myContacts",)
    assert not contact.is_org


def test_outlook_21_export() -> None:
    contact = parse_card(with_uid("ez-vcard/John_Doe_MS_OUTLOOK.vcf"), today=TODAY)
    assert contact.name == "Mr. John Richter James Doe Sr."
    assert contact.phones[:2] == ("(905) 555-1234", "(905) 666-1234")


def test_thunderbird_escaped_categories() -> None:
    name = "ez-vcard/thunderbird-MoreFunctionsForAddressBook-extension.vcf"
    contact = parse_card(with_uid(name), today=TODAY)
    assert contact.categories == ("category1, category2, category3",)


def test_vcard4android_categories_and_charset_name() -> None:
    contact = parse_card(read("vcard4android/allfields-vcard3.vcf"), today=TODAY)
    assert contact.categories == ("A", "B'C")
    assert contact.emails == ("private@example.com", "work@example.com")
    assert contact.phones == ("+49 1234 56788", "+1-800-MYFAX")
