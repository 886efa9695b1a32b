"""Recording contact in a card (core/learn.py): a decision plans from each contact as its card
will read once written, so the card written must read back as exactly that."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from netsync.app import demo
from netsync.core import cards, learn
from netsync.core.model import Contact

TODAY = dt.date(2026, 11, 26)
DATA = Path(__file__).resolve().parents[1] / "data"
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"


def _texts() -> list[str]:
    texts = [demo.vcard(p, i) for i, p in enumerate(demo.sample_people(TODAY))]
    for path in sorted(DATA.glob("*.vcf")) + sorted(FIXTURES.rglob("*.vcf")):
        texts.append(path.read_bytes().decode("utf-8", "surrogateescape"))
    return texts


def _person(contact: Contact) -> Contact:
    return dataclasses.replace(contact, href="", etag="")


@pytest.mark.parametrize("language", ["en", "nl"])
def test_a_recorded_card_reads_back_as_the_contact_the_plan_was_made_from(language: str) -> None:
    compared = 0
    for text in _texts():
        try:
            contact = cards.parse_card(text, href="a.vcf", today=TODAY)
        except cards.CardError:
            continue
        called = learn.Observation(contact.uid, TODAY - dt.timedelta(days=1), "call", "log")
        for observations in ([], [called]):
            try:
                found = learn.record(
                    text,
                    observations,
                    uid=contact.uid,
                    href="a.vcf",
                    today=TODAY,
                    language=language,
                )
            except learn.CannotRecord:
                continue
            if found is None:
                assert not learn.ledgers_to_write([contact], observations)
                continue
            compared += 1
            written, after = found.text, found.contact
            assert _person(after) == _person(learn.recorded(contact, observations)), text
            assert (
                learn.record(
                    written,
                    observations,
                    uid=contact.uid,
                    href="a.vcf",
                    today=TODAY,
                    language=language,
                )
                is None
            )  # recorded once: nothing left to write
    assert compared >= 25


def test_a_card_whose_note_cannot_take_the_record_says_why_without_note_text() -> None:
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\nFN:Ann\r\nEND:VCARD\r\n"
    other = card.replace("UID:u1", "UID:u2")
    called = [learn.Observation("u1", TODAY, "", "log")]
    assert learn.record(card, called, uid="u1", href="a.vcf", today=TODAY, language="en")
    with pytest.raises(learn.CannotRecord, match="UID would change"):
        learn.record(other, called, uid="u1", href="a.vcf", today=TODAY, language="en")
