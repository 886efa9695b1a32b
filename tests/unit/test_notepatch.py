"""Patching the NOTE inside raw vCards (netsync.core.notepatch): only the NOTE may change.

Cards for single quirks are in tests/data/notes_*.vcf; the real-world corpus in
../shared/fixtures is used when it is there.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from netsync.core import notepatch
from netsync.core.model import Cadence, Ledger, NoteOccasion, PartialDate
from netsync.core.notepatch import PatchError, note_block_of, patch_note, read_note
from netsync.core.notes import parse_note, replace_block
from netsync.core.vcardtext import parse_property, split_lines

DATA = Path(__file__).resolve().parents[1] / "data"
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
TODAY = dt.date(2026, 11, 25)
LEDGER = Ledger(
    last=dt.date(2026, 11, 20),
    how="call",
    every=Cadence(30),
    occasions=(NoteOccasion(PartialDate(5, 12, 2027), "wedding of Emma, in Delft; 🎉"),),
    gifts=("boek über zeilen", "good gin\\tonic"),
)
CARD = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\nFN:Alice\r\nNOTE:{}\r\nEND:VCARD\r\n"


def load(name: str) -> str:
    return (DATA / name).read_bytes().decode("utf-8", "surrogateescape")


def with_block(card: str, ledger: Ledger = LEDGER) -> tuple[str, str]:
    """The note netsync would write into ``card``, and the patched card."""
    note = replace_block(read_note(card), ledger)
    return note, patch_note(card, note)


def other_lines(card: str) -> list[str]:
    """The raw logical lines that are not NOTE, in order."""
    return [
        line.raw
        for line in split_lines(card)
        if (p := parse_property(line.text.removeprefix("\ufeff"))) is None or p.name != "NOTE"
    ]


def note_physical_lines(card: str) -> list[str]:
    return [
        physical
        for line in split_lines(card)
        if (p := parse_property(line.text)) is not None and p.name == "NOTE"
        for physical in re.findall(r"[^\r\n]+", line.raw)
    ]


def assert_only_note_changed(old: str, new: str, note: str) -> None:
    assert other_lines(new) == other_lines(old)
    assert read_note(new) == note
    untouched = set(note_physical_lines(old))
    for physical in set(note_physical_lines(new)) - untouched:
        if "QUOTED-PRINTABLE" in physical.split(":", 1)[0].upper():
            # One physical line: vobject (and so Xandikos) rejects QP soft line breaks.
            assert not physical.endswith("="), physical
        else:
            assert len(physical.encode("utf-8", "surrogateescape")) <= 75, physical


# --- the real-world corpus ----------------------------------------------------------------------


def corpus() -> list[str]:
    if not FIXTURES.is_dir():
        return []
    return sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*.vcf"))


def split_cards(text: str) -> list[str]:
    """A file may hold several cards (old Android exports); a CardDAV resource holds one."""
    return re.findall(r"BEGIN:VCARD.*?END:VCARD(?:\r*\n|\r)?", text, re.S | re.I) or [text]


@pytest.mark.parametrize("name", corpus() or ["(missing)"])
def test_every_corpus_card_gets_a_block_and_nothing_else_changes(name: str) -> None:
    if name == "(missing)":
        pytest.skip(f"real-world corpus not found at {FIXTURES}")
    data = (FIXTURES / name).read_bytes()
    text = data.decode("utf-8", "surrogateescape")
    for card in split_cards(text):
        if not re.search(r"^END:VCARD", card, re.M | re.I):
            with pytest.raises(PatchError, match="truncated"):  # khard/unparsable.vcf
                with_block(card)
            continue
        user = read_note(card)
        note, patched = with_block(card)
        assert_only_note_changed(card, patched, note)
        assert note_block_of(patched, today=TODAY) == (user, LEDGER)
        assert patch_note(patched, note) == patched


# --- where the NOTE goes and how it is written -----------------------------------------------


def test_card_without_note_gets_one_just_before_end() -> None:
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\nFN:Alice\r\nEND:VCARD\r\n"
    note, patched = with_block(card)
    lines = patched.split("\r\n")
    assert lines[:4] == card.split("\r\n")[:4]
    assert lines[4].startswith("NOTE:[netsync]\\nlast: 2026-11-20 call\\n")
    assert patched.endswith("\r\nEND:VCARD\r\n")
    assert_only_note_changed(card, patched, note)


def test_note_is_escaped_as_rfc6350_text() -> None:
    patched = patch_note(CARD.format("x"), "a, b; c\\d\nline 2")
    assert "\r\nNOTE:a\\, b\\; c\\\\d\\nline 2\r\n" in patched


def test_long_note_is_folded_at_75_octets_without_splitting_characters() -> None:
    for width in (1, 2, 3, 4):  # ASCII, ü, €, 🎉 at every position of the fold boundary
        char = {1: "a", 2: "ü", 3: "€", 4: "🎉"}[width]
        for shift in range(width):
            note = "x" * (70 + shift) + char * 40 + "\\" * 7 + ",;" * 30
            patched = patch_note(CARD.format(""), note)
            assert_only_note_changed(CARD.format(""), patched, note)
            for physical in note_physical_lines(patched):
                # every physical line is whole UTF-8 on its own: no character cut at a fold
                data = physical.encode("utf-8", "surrogateescape")
                assert data.decode("utf-8", "replace") == physical, physical


def test_patching_twice_with_the_same_note_is_a_no_op() -> None:
    note, patched = with_block(CARD.format("Likes sailing"))
    assert patch_note(patched, note) == patched
    card = load("notes_apple_escaped_quote_colon.vcf")
    assert patch_note(card, read_note(card)) == card  # \: is not re-spelled without a reason


def test_unchanged_note_leaves_even_an_unpatchable_card_alone() -> None:
    card = load("notes_truncated.vcf")
    assert patch_note(card, read_note(card)) == card


def test_one_megabyte_note() -> None:
    big = ("Ein Satz mit Umlauten äöü, Kommas; und Emoji 🎉.\n" * 20_000)[:1_000_000]
    card = CARD.format("x")
    note = replace_block(big, LEDGER)
    patched = patch_note(card, note)
    assert_only_note_changed(card, patched, note)
    assert parse_note(read_note(patched), today=TODAY) == (big, LEDGER)


# --- line endings, BOM, groups --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "newline"),
    [("notes_lf_only.vcf", "\n"), ("notes_crcrlf_ios5.vcf", "\r\r\n")],
)
def test_line_endings_are_kept(name: str, newline: str) -> None:
    card = load(name)
    note, patched = with_block(card)
    assert_only_note_changed(card, patched, note)
    assert re.sub(r"\r*\n", "", patched).count("\r") == 0
    assert patched.count(newline) == len(re.findall(r"\r*\n", patched))


def test_note_in_a_mixed_card_keeps_its_own_line_ending() -> None:
    card = load("notes_mixed_line_endings.vcf")
    note, patched = with_block(card)
    assert_only_note_changed(card, patched, note)
    note_raw = next(line.raw for line in split_lines(patched) if line.text.startswith("NOTE"))
    # folded at 75 octets, with LF, as that NOTE line had, though the card uses CRLF
    assert note_raw == (
        "NOTE:this NOTE line ends in LF only\\n\\n[netsync]\\nlast: 2026-11-20 call\\nev\n"
        " ery: 30d\\noccasion: 2027-05-12 wedding of Emma\\, in Delft\\; 🎉\\ngift: bo\n"
        " ek über zeilen\\ngift: good gin\\\\tonic\\n[/netsync]\n"
    )


def test_bom_stays_and_note_is_added() -> None:
    card = load("notes_bom_no_note.vcf")
    note, patched = with_block(card)
    assert patched.startswith("\ufeffBEGIN:VCARD\r\n")
    assert_only_note_changed(card, patched, note)


def test_group_and_parameters_of_the_note_are_kept() -> None:
    card = load("notes_grouped_note_with_params.vcf")
    note, patched = with_block(card)
    assert "\r\nitem1.NOTE;LANGUAGE=nl;PID=1.1:Houdt van zeilen\\n\\n[netsync]" in patched
    assert_only_note_changed(card, patched, note)


# --- escaping quirks of real clients ---------------------------------------------------------


def test_apple_escaped_quote_and_colon_read_as_plain_text_and_survive() -> None:
    card = load("notes_apple_escaped_quote_colon.vcf")
    user = 'He said "see http://example.com"\nFavourite colour: blue'
    assert read_note(card) == user
    note, patched = with_block(card)
    assert_only_note_changed(card, patched, note)
    assert "item1.URL;type=pref:http\\://www.ibm.com\r\n" in patched  # not ours: untouched
    assert note_block_of(patched, today=TODAY)[0] == user


def test_unbalanced_escapes_keep_the_text_as_read() -> None:
    card = load("notes_unbalanced_backslash.vcf")
    user = read_note(card)
    assert user == "C:temp is x odd\\ and ends in a lone backslash\\"
    note, patched = with_block(card)
    assert_only_note_changed(card, patched, note)
    assert note_block_of(patched, today=TODAY)[0] == user


def test_google_unescaped_comma_and_semicolon_are_kept_and_escaped_on_write() -> None:
    card = load("notes_google_unescaped_comma_semicolon.vcf")
    user = "Met in Delft, 2019; likes gin, sailing\nCustomField: value"
    assert read_note(card) == user
    note, patched = with_block(card)
    assert "NOTE:Met in Delft\\, 2019\\; likes gin\\, sailing\\nCustomField: value\\n" in patched
    assert_only_note_changed(card, patched, note)


# --- several NOTE properties ------------------------------------------------------------------


def test_several_notes_read_as_one_text() -> None:
    card = load("notes_two_notes_block_in_first.vcf")
    assert read_note(card) == (
        "First note\n\n[netsync]\nlast: 2026-01-02\n[/netsync]\n\nSecond note, kept byte for byte"
    )


def test_block_is_updated_in_the_note_that_holds_it() -> None:
    card = load("notes_two_notes_block_in_first.vcf")
    note, patched = with_block(card)
    assert "\r\nNOTE:Second note\\, kept byte for byte\r\n" in patched
    assert patched.count("\r\nNOTE:") == 2
    assert_only_note_changed(card, patched, note)
    assert note_block_of(patched, today=TODAY) == (
        "First note\n\nSecond note, kept byte for byte",
        LEDGER,
    )


def test_block_goes_into_the_last_note_when_none_holds_one() -> None:
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nNOTE:one\r\nTEL:1\r\nNOTE:two\r\nEND:VCARD\r\n"
    note, patched = with_block(card)
    assert patched.startswith("BEGIN:VCARD\r\nVERSION:3.0\r\nNOTE:one\r\nTEL:1\r\nNOTE:two\\n\\n")
    assert_only_note_changed(card, patched, note)


def test_blocks_in_two_notes_are_merged_into_the_first_note() -> None:
    # DAVx5 merges two NOTEs the first time the contact is edited on Android anyway.
    card = load("notes_two_notes_block_in_each.vcf")
    user, ledger = note_block_of(card, today=TODAY)
    assert (ledger.last, ledger.gifts, ledger.needs_rewrite) == (
        dt.date(2026, 3, 4),
        ("wine", "tea"),
        True,
    )
    note = replace_block(read_note(card), ledger)
    patched = patch_note(card, note)
    assert patched.count("NOTE:") == 1
    assert_only_note_changed(card, patched, note)
    assert note_block_of(patched, today=TODAY) == (user, replace(ledger, needs_rewrite=False))


# --- vCard 2.1 and quoted-printable ------------------------------------------------------------


def test_quoted_printable_soft_break_before_a_space_is_read() -> None:
    card = load("notes_v21_qp_soft_break_space.vcf")
    assert read_note(card) == (
        "first line\nsecond line with a soft break before a space\ncafé in Latin-1 without charset"
    )


def test_v21_note_is_rewritten_as_quoted_printable() -> None:
    card = load("notes_v21_qp_soft_break_space.vcf")
    note, patched = with_block(card)
    assert_only_note_changed(card, patched, note)
    head = next(line.text for line in split_lines(patched) if line.text.startswith("NOTE"))
    assert head.startswith("NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:first line=0D=0A")
    assert "\\n" not in head  # 2.1 has no backslash escapes for line breaks


def test_plain_v21_note_becomes_quoted_printable() -> None:
    card = load("notes_v21_plain_note.vcf")
    note, patched = with_block(card)
    assert (
        "\r\nNOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Plain 2.1 note=0D=0A=0D=0A[netsync]"
        in patched
    )
    assert_only_note_changed(card, patched, note)


def test_v21_card_without_note_gets_a_quoted_printable_one() -> None:
    card = load("notes_v21_no_note.vcf")
    note, patched = with_block(card, Ledger(every=Cadence(30)))
    assert (
        "\r\nNOTE;ENCODING=QUOTED-PRINTABLE:[netsync]=0D=0Aevery: 30d=0D=0A[/netsync]\r\n"
        in patched
    )
    assert_only_note_changed(card, patched, note)


def test_quoted_printable_spaces_at_line_edges_are_encoded() -> None:
    card = load("notes_v21_plain_note.vcf")
    note = " lead" + " " * 200 + "end "
    patched = patch_note(card, note)
    assert_only_note_changed(card, patched, note)
    [physical] = note_physical_lines(patched)
    assert physical.endswith("=20")


def test_quoted_printable_charset_is_kept_when_the_text_fits_it() -> None:
    head = "NOTE;CHARSET=us-ascii;ENCODING=QUOTED-PRINTABLE"
    card = f"BEGIN:VCARD\r\nVERSION:2.1\r\n{head}:a\r\nEND:VCARD\r\n"
    ascii_only = patch_note(card, "a\nb")
    assert "\r\nNOTE;CHARSET=us-ascii;ENCODING=QUOTED-PRINTABLE:a=0D=0Ab\r\n" in ascii_only
    umlaut = patch_note(card, "ä")
    assert "\r\nNOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=C3=A4\r\n" in umlaut


def test_v21_note_in_8bit_gets_one_encoding_only() -> None:
    card = "BEGIN:VCARD\r\nVERSION:2.1\r\nNOTE;ENCODING=8BIT:x\r\nEND:VCARD\r\n"
    patched = patch_note(card, "a\nb")
    assert patched == (
        "BEGIN:VCARD\r\nVERSION:2.1\r\nNOTE;ENCODING=QUOTED-PRINTABLE:a=0D=0Ab\r\nEND:VCARD\r\n"
    )


def test_reading_never_raises_on_a_broken_note() -> None:
    bad_base64 = "NOTE;ENCODING=b:A"
    unknown_charset = "NOTE;CHARSET=x-unknown;QUOTED-PRINTABLE:=FF"
    card = f"BEGIN:VCARD\r\n{bad_base64}\r\n{unknown_charset}\r\nEND:VCARD"
    assert read_note(card) == "A\n\n\ufffd"


# --- what netsync refuses -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("notes_truncated.vcf", "truncated"),
        ("notes_two_cards.vcf", "several cards"),
        ("notes_base64_note.vcf", "base64"),
        ("notes_qp_invalid_utf8.vcf", "not valid UTF-8"),
    ],
)
def test_cards_that_cannot_be_patched_safely_are_refused(name: str, reason: str) -> None:
    card = load(name)
    with pytest.raises(PatchError, match=reason) as caught:
        patch_note(card, "new text\n\n[netsync]\nevery: 30d\n[/netsync]")
    assert "new text" not in caught.value.reason


def test_a_patch_that_would_touch_another_line_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # The safety net behind the renderer: a NOTE written without its line ending would
    # swallow the next line into it.
    monkeypatch.setattr(notepatch, "_render", lambda head, text, **_: f"{head}:{text}")
    with pytest.raises(PatchError, match="other than NOTE"):
        patch_note(CARD.format("x"), "y")


def test_undecodable_bytes_in_the_new_note_are_refused() -> None:
    with pytest.raises(PatchError):
        patch_note(CARD.format("x"), "bad \udcff byte")


# --- round trip over user text -----------------------------------------------------------------

texts = st.text(st.characters(blacklist_categories=["Cs"]))


@settings(max_examples=150)
@given(user=texts, version=st.sampled_from(["3.0", "2.1"]), newline=st.sampled_from(["\r\n", "\n"]))
@example(user="a, b; c\\d \\n", version="3.0", newline="\r\n")
@example(user='\\"x\\:', version="2.1", newline="\r\n")
@example(user="🎉" * 40, version="2.1", newline="\n")
@example(user="x\r\ny\rz\n", version="3.0", newline="\n")
@example(user="", version="3.0", newline="\r\n")
@example(user="=3D = \t", version="2.1", newline="\r\n")
@example(user="I keep [netsync] mid-line", version="3.0", newline="\r\n")
def test_user_text_survives_a_patch(user: str, version: str, newline: str) -> None:
    card = newline.join(["BEGIN:VCARD", f"VERSION:{version}", "FN:Fuzz", "END:VCARD", ""])
    as_read = user.replace("\r\n", "\n").replace("\r", "\n")
    assume(
        all(line.strip().lower() not in ("[netsync]", "[/netsync]") for line in as_read.split("\n"))
    )
    written = patch_note(card, user)
    assert read_note(written) == as_read
    note, patched = with_block(written)
    assert_only_note_changed(written, patched, note)
    assert note_block_of(patched, today=TODAY) == (as_read, LEDGER)
    assert patch_note(patched, note) == patched


# SOGo 5.8 stores a vCard 2.1 quoted-printable NOTE (CR LF line breaks) as vCard 3.0 with each
# CR LF written "\r\n" (tests/cli/test_remove.py on SOGo found it).
SOGO_CR_LF = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Oud;Otto\r\nFN:Otto Oud\r\nUID:remove-qp21\r\n"
    "NOTE;CHARSET=UTF-8:Caf\u00e9 owner\\r\\n\\r\\n[netsync]\\r\\nlast: 2026-08-01\\r\\n[/net\r\n"
    " sync]\r\nEND:VCARD"
)


def test_an_escaped_cr_before_an_escaped_lf_is_one_line_break() -> None:
    assert read_note(SOGO_CR_LF) == "Caf\u00e9 owner\n\n[netsync]\nlast: 2026-08-01\n[/netsync]"
    user, ledger = note_block_of(SOGO_CR_LF, today=dt.date(2026, 11, 26))
    assert user == "Caf\u00e9 owner" and ledger.last == dt.date(2026, 8, 1)
    # A written-out backslash before an r stays what it is.
    assert read_note(SOGO_CR_LF.replace("owner\\r", "C:\\\\reports\\r")).startswith(
        "Caf\u00e9 C:\\reports\n"
    )
