"""The cache of parsed contacts: what it reads back is what parsing the card gives, a damaged
entry is parsed again, and only changed cards are parsed."""

from __future__ import annotations

import datetime as dt
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netsync.app import demo, readings
from netsync.app.remote import ENCODING, Fetched
from netsync.app.report import quiet
from netsync.app.state import State
from netsync.core import cards
from tests.vcards import vcard

TODAY = dt.date(2026, 11, 26)
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
BOOK = "http://example.test/book/"


def _every_card() -> list[cards.Contact]:
    found = [
        cards.parse_card(demo.vcard(p, i), href=f"{i}.vcf", etag=f'"{i}"', today=TODAY)
        for i, p in enumerate(demo.sample_people(TODAY))
    ]
    for path in sorted(FIXTURES.rglob("*.vcf")):
        text = path.read_bytes().decode("utf-8", "surrogateescape")
        try:
            found.append(cards.parse_card(text, href=path.name, today=TODAY))
        except cards.CardError:
            continue
    return found


def test_every_card_of_the_corpus_and_the_demo_reads_back_the_same() -> None:
    contacts = _every_card()
    assert len(contacts) >= 25  # the demo's, and the corpus's where ../shared is beside
    for contact in contacts:
        assert cards.contact_from_json(cards.contact_to_json(contact)) == contact


@given(st.text(), st.text(alphabet=st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF)))
def test_any_text_and_undecodable_bytes_survive(text: str, raw: str) -> None:
    contact = cards.Contact(uid=text + raw, name=raw, note=text)
    assert cards.contact_from_json(cards.contact_to_json(contact)) == contact


@pytest.mark.parametrize("damaged", ["", "[]", "[1, 2]", "{}", "null", "\x00garbage", '"x"'])
def test_a_damaged_entry_is_refused(damaged: str) -> None:
    with pytest.raises(ValueError):
        cards.contact_from_json(damaged)


def _card(uid: str, name: str, note: str = "") -> bytes:
    return vcard(uid, name, note=note or None).encode()


def _read(state: State, monkeypatch: pytest.MonkeyPatch) -> tuple[list[cards.Contact], int]:
    parsed = []
    real = cards.parse_card

    def counting(*args: object, **kwargs: object) -> cards.Contact:
        parsed.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cards, "parse_card", counting)
    contacts = readings.read_book(state, [BOOK], today=TODAY, early={}, progress=quiet).contacts
    return contacts, len(parsed)


def test_only_changed_cards_are_parsed_and_the_result_is_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = State(tmp_path)
    changed = [(f"{i}.vcf", f'"e{i}"', _card(f"u{i}", f"Person {i}")) for i in range(20)]
    changed.append(("bad.vcf", '"bad"', vcard(None, "No uid", version=None).encode()))
    state.apply(BOOK, token="t1", changed=changed, deleted=[], complete=True)
    first, parsed = _read(state, monkeypatch)
    assert (len(first), parsed) == (20, 21)
    again, parsed = _read(state, monkeypatch)
    assert (again, parsed) == (first, 0)  # the unreadable card is not parsed again either
    one = ("3.vcf", '"e3-2"', _card("u3", "Person 3", "[netsync]\\nlast: 2026-11-20"))
    state.apply(BOOK, token="t2", changed=[one], deleted=["4.vcf"], complete=False)
    after, parsed = _read(state, monkeypatch)
    assert parsed == 1
    assert {c.uid: c.ledger.last for c in after}["u3"] == dt.date(2026, 11, 20)
    assert "u4" not in {c.uid for c in after} and len(after) == 19


def test_a_new_day_or_a_damaged_cache_parses_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = State(tmp_path)
    changed = [(f"{i}.vcf", f'"e{i}"', _card(f"u{i}", f"Person {i}")) for i in range(5)]
    state.apply(BOOK, token="t1", changed=changed, deleted=[], complete=True)
    first, _ = _read(state, monkeypatch)
    state.put_parsed(BOOK, TODAY.isoformat(), [("2.vcf", '"e2"', "not json")])
    again, parsed = _read(state, monkeypatch)
    assert (again, parsed) == (first, 1)
    tomorrow = TODAY + dt.timedelta(days=1)
    book = readings.read_book(state, [BOOK], today=tomorrow, early={}, progress=quiet)
    contacts = book.contacts
    assert len(contacts) == 5
    assert state.parsed(BOOK, TODAY.isoformat()) == {}  # yesterday's entries are gone


def test_cards_parsed_while_downloading_are_what_parsing_them_after_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [demo.vcard(p, i) for i, p in enumerate(demo.sample_people(TODAY))]
    texts += [
        path.read_bytes().decode("utf-8", "surrogateescape")
        for path in sorted(FIXTURES.rglob("*.vcf"))
    ]
    downloaded = [Fetched(f"{i}.vcf", f'"e{i}"', t.encode(*ENCODING)) for i, t in enumerate(texts)]
    monkeypatch.setattr(readings.EarlyParse, "MIN_BATCH", 7)
    with readings.EarlyParse(TODAY) as early:
        for start in range(0, len(downloaded), 7):  # batches, as the multigets hand them over
            early(downloaded[start : start + 7])
        found = early.results()
    assert len(found) == len(downloaded) - len(downloaded) % 7  # the last batch is too small

    store = [(c.href, c.etag, c.data) for c in downloaded]
    later = State(tmp_path / "later")
    later.apply(BOOK, token="t1", changed=store, deleted=[], complete=True)
    expected, _ = _read(later, monkeypatch)

    # One card changed again after the worker saw it: that one is parsed anew.
    store[0] = ("0.vcf", '"e0-2"', _card("u-new", "Someone New"))
    state = State(tmp_path / "early")
    state.apply(BOOK, token="t1", changed=store, deleted=[], complete=True)
    parsed: list[int] = []
    real = cards.parse_card
    monkeypatch.setattr(cards, "parse_card", lambda *a, **k: parsed.append(1) or real(*a, **k))
    book = readings.read_book(state, [BOOK], today=TODAY, early=found, progress=quiet)
    contacts, tally = book.contacts, book.tally
    assert len(parsed) == 1 + len(downloaded) % 7  # the changed card and the last batch
    by_href = {c.href: c for c in contacts}
    assert by_href["0.vcf"].uid == "u-new"
    assert {h: c for h, c in by_href.items() if h != "0.vcf"} == {
        c.href: c for c in expected if c.href != "0.vcf"
    }
    assert tally.cards_skipped == len(texts) - len(expected)


def test_early_parsing_is_for_big_downloads_and_leaves_the_interpreter_as_it_found_it() -> None:
    card = Fetched("a.vcf", '"1"', _card("u1", "Ann"))
    interval = sys.getswitchinterval()
    threads = threading.active_count()
    with readings.EarlyParse(TODAY) as early:
        early([card])  # a few changed cards: parsed when read, no thread
        assert threading.active_count() == threads
        assert sys.getswitchinterval() == interval
        assert early.results() == {}
    with pytest.raises(KeyboardInterrupt), readings.EarlyParse(TODAY) as early:
        early([card] * readings.EarlyParse.MIN_BATCH)
        assert sys.getswitchinterval() < interval
        raise KeyboardInterrupt  # a stop in the middle of the download
    assert sys.getswitchinterval() == interval
