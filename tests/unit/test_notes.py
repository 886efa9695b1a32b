"""The ``[netsync]`` block grammar of SPEC section 2 (netsync.core.notes)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from netsync.core.model import Cadence, Ledger, NoteOccasion, PartialDate, Received
from netsync.core.notes import (
    CLOSED,
    DATES,
    DUTCH,
    ENGLISH,
    MERGED,
    NOT_READ,
    OUTSIDE,
    REPEATED,
    has_block,
    not_understood,
    parse_note,
    render_block,
    replace_block,
    rewrite_reasons,
    with_last,
    with_received,
)

TODAY = dt.date(2026, 11, 25)

SPEC_EXAMPLE = """Likes sailing, daughter Emma studies in Delft.

[netsync]
last: 2026-11-20 call
every: 30d
occasion: 2027-05-12 wedding of Emma
gift: sailing book, good gin
pause: 2027-01-31
[/netsync]"""

SPEC_LEDGER = Ledger(
    last=dt.date(2026, 11, 20),
    how="call",
    every=Cadence(30, "d"),
    occasions=(NoteOccasion(PartialDate(5, 12, 2027), "wedding of Emma"),),
    gifts=("sailing book, good gin",),
    pause=dt.date(2027, 1, 31),
)


def parse(text: str, language: str | None = None) -> tuple[str, Ledger]:
    return parse_note(text, today=TODAY, language=language)


def yearly_on(month: int, day: int, text: str) -> NoteOccasion:
    return NoteOccasion(PartialDate(month, day), text)


def block(*lines: str) -> str:
    return "\n".join(["[netsync]", *lines, "[/netsync]"])


# --- the SPEC example and the canonical form -------------------------------------------------


def test_spec_example_reads_as_user_text_and_ledger() -> None:
    assert parse(SPEC_EXAMPLE) == ("Likes sailing, daughter Emma studies in Delft.", SPEC_LEDGER)


def test_spec_example_is_canonical_so_netsync_never_rewrites_it() -> None:
    assert render_block(SPEC_LEDGER) == SPEC_EXAMPLE.split("\n\n", 1)[1]
    assert replace_block(SPEC_EXAMPLE, SPEC_LEDGER) == SPEC_EXAMPLE


def test_note_without_block_is_all_user_text() -> None:
    text = "Just a note.\nlast: 2026-01-01 is not in a block\n"
    assert parse(text) == (text, Ledger())
    assert not has_block(text)


# --- markers -----------------------------------------------------------------------------------


def test_markers_are_case_insensitive_and_ignore_spaces_around() -> None:
    user, ledger = parse("text\n\n  [NetSync] \nLAST: 2026-11-20\n\t[/NETSYNC]  ")
    assert (user, ledger.last, ledger.needs_rewrite) == ("text", dt.date(2026, 11, 20), False)


def test_marker_inside_a_line_is_user_text() -> None:
    text = "I typed [netsync] mid-line\nand [/netsync] too"
    assert parse(text) == (text, Ledger())


def test_missing_end_line_ends_block_at_first_blank_line() -> None:
    user, ledger = parse("Top\n\n[netsync]\nlast: 2026-11-20\n\nMy own text below.")
    assert ledger.last == dt.date(2026, 11, 20)
    assert user == "Top\n\nMy own text below."
    assert not ledger.needs_rewrite  # read as it stands (SPEC 2): no write for that alone


def test_missing_end_line_ends_block_at_end_of_note() -> None:
    user, ledger = parse("Top\n\n[netsync]\nlast: 2026-11-20\nevery: 2w")
    assert (user, ledger.every, ledger.needs_rewrite) == ("Top", Cadence(2, "w"), False)


def test_missing_end_line_is_put_back_only_with_a_real_rewrite() -> None:
    text = "Top\n\n[netsync]\nlast: 2026-11-20\nevery: 2w"
    assert rewrite_reasons(text, today=TODAY, language="en") == (CLOSED,)
    typed = "Top\n\n[netsync]\nlast: gisteren\nevery: 2w"
    assert parse(typed)[1].needs_rewrite
    assert rewrite_reasons(typed, today=TODAY, language="en") == (DATES, CLOSED)


def test_rewriting_a_block_without_end_line_keeps_text_after_it() -> None:
    note = "Top\n\n[netsync]\nlast: 2026-11-20\n\nMy own text below."
    user, ledger = parse(note)
    new = replace_block(note, ledger)
    assert new == "Top\n\n[netsync]\nlast: 2026-11-20\n[/netsync]\n\nMy own text below."
    assert parse(new) == (user, Ledger(last=dt.date(2026, 11, 20)))


def test_block_in_the_middle_keeps_text_on_both_sides() -> None:
    note = "Before.\n\n" + block("last: 2026-11-20") + "\nAfter.\n"
    user, ledger = parse(note)
    assert user == "Before.\n\nAfter.\n"
    new_ledger = with_last(ledger, dt.date(2026, 11, 24), "visit")
    new = replace_block(note, new_ledger)
    assert new == "Before.\n\n" + block("last: 2026-11-24 visit") + "\nAfter.\n"
    assert parse(new) == (user, new_ledger)


def test_block_on_top_of_the_note() -> None:
    assert parse(block("every: 1y") + "\nBelow.") == ("Below.", Ledger(every=Cadence(1, "y")))


def test_block_directly_under_text_without_blank_line() -> None:
    assert parse("Phone ate the blank line\n" + block("every: 3m"))[0] == (
        "Phone ate the blank line"
    )


def test_whitespace_after_a_final_block_belongs_to_the_block() -> None:
    assert parse("text\n\n" + block("every: 30d") + "\n\n  \n")[0] == "text"


# --- keys ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("last: 2026-11-20 call", Ledger(last=dt.date(2026, 11, 20), how="call")),
        ("Laatst: 2026-11-20 koffie", Ledger(last=dt.date(2026, 11, 20), how="koffie")),
        ("laatste contact: 2026-11-20", Ledger(last=dt.date(2026, 11, 20))),
        ("LAATSTE   CONTACT : 2026-11-20", Ledger(last=dt.date(2026, 11, 20))),
        ("every: 30d", Ledger(every=Cadence(30, "d"))),
        ("elke: 2w", Ledger(every=Cadence(2, "w"))),
        ("Every: 3 m", Ledger(every=Cadence(3, "m"))),
        ("every: never", Ledger(never=True)),
        ("elke: nooit", Ledger(never=True)),
        ("gelegenheid: --05-12 trouwdag", Ledger(occasions=(yearly_on(5, 12, "trouwdag"),))),
        ("cadeau: boek", Ledger(gifts=("boek",))),
        ("gift: sailing book, good gin; or gin", Ledger(gifts=("sailing book, good gin; or gin",))),
        ("pauze: 2027-01-31", Ledger(pause=dt.date(2027, 1, 31))),
        ("pause: never", Ledger(pause_forever=True)),
        ("PAUSE: Nooit", Ledger(pause_forever=True)),
        ("received: 2026-11-20 flowers when I was ill",
         Ledger(received=(Received(dt.date(2026, 11, 20), "flowers when I was ill"),))),
        ("Ontvangen: 2026-11-20 soep", Ledger(received=(Received(dt.date(2026, 11, 20), "soep"),))),
        ("received: 2026-11-20", Ledger(received=(Received(dt.date(2026, 11, 20), ""),))),
    ],
)  # fmt: skip
def test_keys_english_and_dutch_any_case(line: str, expected: Ledger) -> None:
    assert parse(block(line))[1] == expected


def test_dutch_keys_are_flagged_only_when_english_is_configured() -> None:
    text = block("laatst: 2026-11-20", "elke: 30d")
    assert not parse(text)[1].needs_rewrite
    assert not parse(text, "nl")[1].needs_rewrite
    assert parse(text, "en")[1].needs_rewrite
    assert parse(block("last: 2026-11-20"), "nl")[1].needs_rewrite


def test_cosmetic_differences_do_not_cause_a_write() -> None:
    # Key case, spacing and line order mean the same: SPEC 1 wants no write for them.
    text = block("EVERY:30d", "gift:   wine", "Last:2026-11-20    call", "occasion: 05-12 x")
    _, ledger = parse(text)
    assert not ledger.needs_rewrite
    assert ledger.how == "call"
    assert ledger.occasions == (NoteOccasion(PartialDate(5, 12), "x"),)


# --- dates typed on a phone --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("today", TODAY),
        ("Today", TODAY),
        ("vandaag", TODAY),
        ("yesterday", TODAY - dt.timedelta(days=1)),
        ("gisteren", TODAY - dt.timedelta(days=1)),
        ("24-11-2026", dt.date(2026, 11, 24)),
        ("4-1-2027", dt.date(2027, 1, 4)),
        ("04-01-2027", dt.date(2027, 1, 4)),
        ("2026-1-5", dt.date(2026, 1, 5)),
    ],
)
def test_phone_typed_last_is_read_and_rewritten_to_iso(typed: str, day: dt.date) -> None:
    note = f"Note\n\n[netsync]\nlast: {typed} coffee\n[/netsync]"
    user, ledger = parse(note)
    assert (user, ledger.last, ledger.how, ledger.needs_rewrite) == ("Note", day, "coffee", True)
    rewritten = replace_block(note, ledger)
    assert f"last: {day.isoformat()} coffee" in rewritten
    again = parse_note(rewritten, today=TODAY + dt.timedelta(days=3))  # a later cycle
    assert again == (user, Ledger(last=day, how="coffee"))


def test_phone_typed_dates_in_occasion_and_pause() -> None:
    _, ledger = parse(block("occasion: 12-5-2027 wedding", "pause: 31-1-2027"))
    assert ledger.occasions == (NoteOccasion(PartialDate(5, 12, 2027), "wedding"),)
    assert (ledger.pause, ledger.needs_rewrite) == (dt.date(2027, 1, 31), True)


def test_newest_last_wins_within_a_block_and_the_duplicate_is_cleaned() -> None:
    _, ledger = parse(block("last: 2026-11-20 call", "last: 2026-10-01 mail"))
    assert (ledger.last, ledger.how, ledger.needs_rewrite) == (dt.date(2026, 11, 20), "call", True)


# --- occasions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "occasion"),
    [
        ("occasion: 2027-05-12 wedding", NoteOccasion(PartialDate(5, 12, 2027), "wedding")),
        ("occasion: --05-12 name day", NoteOccasion(PartialDate(5, 12), "name day")),
        ("occasion: 05-12 name day", NoteOccasion(PartialDate(5, 12), "name day")),
        ("occasion: --02-29 leap birthday", NoteOccasion(PartialDate(2, 29), "leap birthday")),
        ("occasion: 2027-03-01", NoteOccasion(PartialDate(3, 1, 2027), "")),
    ],
)  # fmt: skip
def test_occasions_one_off_and_yearly(line: str, occasion: NoteOccasion) -> None:
    _, ledger = parse(block(line))
    assert ledger.occasions == (occasion,)
    assert parse(render_block(ledger))[1] == ledger


def test_several_occasion_and_gift_lines() -> None:
    _, ledger = parse(
        block("occasion: --01-02 a", "gift: x", "occasion: 2027-01-02 b", "gift: y", "gift: x")
    )
    assert [o.text for o in ledger.occasions] == ["a", "b"]
    assert ledger.gifts == ("x", "y")


# --- received: what people gave (issue 18) -------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("today", TODAY),
        ("vandaag", TODAY),
        ("yesterday", TODAY - dt.timedelta(days=1)),
        ("gisteren", TODAY - dt.timedelta(days=1)),
        ("24-11-2026", dt.date(2026, 11, 24)),
        ("4-1-2026", dt.date(2026, 1, 4)),
        ("2026-1-5", dt.date(2026, 1, 5)),
    ],
)
def test_phone_typed_received_is_read_and_rewritten_to_iso(typed: str, day: dt.date) -> None:
    note = f"Note\n\n[netsync]\nontvangen: {typed} bloemen\n[/netsync]"
    user, ledger = parse(note)
    assert ledger.received == (Received(day, "bloemen"),)
    assert ledger.needs_rewrite
    assert rewrite_reasons(note, today=TODAY, language="nl") == (DATES,)
    rewritten = replace_block(note, ledger, language="nl")
    assert f"ontvangen: {day.isoformat()} bloemen" in rewritten
    again = parse_note(rewritten, today=TODAY + dt.timedelta(days=3), language="nl")
    assert again == (user, Ledger(received=(Received(day, "bloemen"),)))


def test_several_received_lines_are_all_kept_in_note_order() -> None:
    _, ledger = parse(
        block(
            "received: 2026-11-20 flowers",
            "last: 2026-11-01",
            "ontvangen: 2026-10-02 soep",
            "received: 2026-11-20 flowers",  # the same line twice is one gift
            "received: 2026-11-20 a book",
        )
    )
    assert ledger.received == (
        Received(dt.date(2026, 11, 20), "flowers"),
        Received(dt.date(2026, 10, 2), "soep"),
        Received(dt.date(2026, 11, 20), "a book"),
    )
    assert render_block(ledger).split("\n")[2:5] == [
        "received: 2026-11-20 flowers",
        "received: 2026-10-02 soep",
        "received: 2026-11-20 a book",
    ]


def test_merged_blocks_keep_every_received_line() -> None:
    note = (
        block("received: 2026-11-20 flowers", "last: 2026-11-01")
        + "\n"
        + block("ontvangen: 2026-10-02 soep", "received: 2026-11-20 flowers")
    )
    _, ledger = parse(note)
    assert ledger.received == (
        Received(dt.date(2026, 11, 20), "flowers"),
        Received(dt.date(2026, 10, 2), "soep"),
    )
    assert rewrite_reasons(note, today=TODAY, language="en") == (MERGED, ENGLISH)


@pytest.mark.parametrize(
    "line", ["received: someday flowers", "received: 2026-02-30 flowers", "ontvangen:", "received"]
)
def test_received_without_a_date_is_kept_and_reported(line: str) -> None:
    user, ledger = parse(block(line))
    assert (ledger.received, ledger.extra) == ((), (line,))
    assert not_understood(user, ledger) == ((line, NOT_READ),)


def test_with_received_appends_once() -> None:
    ledger = Ledger(received=(Received(dt.date(2026, 11, 20), "flowers"),))
    assert with_received(ledger, dt.date(2026, 11, 20), " flowers ") is ledger
    added = with_received(ledger, dt.date(2026, 11, 24), "a bottle\nof wine")
    assert added.received[1:] == (Received(dt.date(2026, 11, 24), "a bottle of wine"),)
    assert parse(render_block(added))[1] == added


# --- why a block is rewritten (the messages say only what was done) -----------------------------


@pytest.mark.parametrize(
    ("note", "language", "reasons"),
    [
        (block("last: 2026-11-20", "every: 30d"), "en", ()),
        (block("LAST:2026-11-20   call", "gift:  x"), "en", ()),  # cosmetic only
        (block("last: today"), "en", (DATES,)),
        (block("pause: 31-1-2027"), "en", (DATES,)),
        (block("occasion: 12-5-2027 party"), "en", (DATES,)),
        (block("laatst: 2026-11-20"), "en", (ENGLISH,)),
        (block("last: 2026-11-20"), "nl", (DUTCH,)),
        (block("last: 2026-11-20", "last: 2026-11-02"), "en", (REPEATED,)),
        (block("last: 2026-11-20") + "\n" + block("every: 2w"), "en", (MERGED,)),
        ("[netsync]\nlast: 2026-11-20", "en", (CLOSED,)),
        ("[netsync]\nlaatst: gisteren", "en", (DATES, ENGLISH, CLOSED)),
    ],
)
def test_rewrite_reasons_name_what_a_rewrite_changes(
    note: str, language: str, reasons: tuple[str, ...]
) -> None:
    assert rewrite_reasons(note, today=TODAY, language=language) == reasons
    assert parse(note, language)[1].needs_rewrite == any(r != CLOSED for r in reasons)


# --- lines netsync keeps but cannot use (reported by sync and check) ----------------------------


def test_not_understood_lists_the_block_garbage_and_block_lines_outside_the_block() -> None:
    note = (
        "Met at the fair.\nGift: she liked my tie\n\n"
        + block("last: 2026-11-20", "evry: 2w", "last: 05/12/2026", "last: 2026-02-30")
        + "\nlast: 2026-11-24 coffee\nElke: 2w\nontvangen: gisteren soep\noccasion x\nPauze: ja"
    )
    user, ledger = parse(note)
    assert ledger.last == dt.date(2026, 11, 20)  # the line below the block is not read
    assert not_understood(user, ledger) == (
        ("evry: 2w", NOT_READ),
        ("last: 05/12/2026", NOT_READ),
        ("last: 2026-02-30", NOT_READ),
        ("last: 2026-11-24 coffee", OUTSIDE),
        ("Elke: 2w", OUTSIDE),
        ("ontvangen: gisteren soep", OUTSIDE),
        ("Pauze: ja", OUTSIDE),
    )
    assert user.endswith(
        "last: 2026-11-24 coffee\nElke: 2w\nontvangen: gisteren soep\noccasion x\nPauze: ja"
    )


def test_a_note_in_good_order_has_nothing_to_report() -> None:
    assert not_understood(*parse(SPEC_EXAMPLE)) == ()
    assert not_understood("Just text: with a colon\nGift: a scarf", Ledger()) == ()


# --- lines netsync does not understand ---------------------------------------------------------


def test_garbage_lines_are_kept_verbatim_and_in_order() -> None:
    garbage = [
        "  call back about the boat  ",
        "mood: happy",
        "last: someday",
        "last: 2026-02-30",
        "every: often",
        "every: 0d",
        "occasion: --02-30 impossible",
        "occasion: 13-01 no month 13",
        "pause: 2027-01-31 holiday",
        "gift:",
        "[netsync",
    ]
    note = "x\n\n" + block("last: 2026-11-20", *garbage)
    user, ledger = parse(note)
    assert ledger.extra == tuple(garbage)
    assert (ledger.last, ledger.needs_rewrite) == (dt.date(2026, 11, 20), False)
    assert parse(replace_block(note, ledger)) == (user, ledger)


def test_blank_lines_inside_a_closed_block_are_dropped() -> None:
    assert parse(block("last: 2026-11-20", "", "every: 30d"))[1] == Ledger(
        last=dt.date(2026, 11, 20), every=Cadence(30)
    )


# --- several blocks -----------------------------------------------------------------------------


def test_two_blocks_are_merged_newest_last_union_of_occasions() -> None:
    note = (
        "Mine.\n\n"
        + block("last: 2026-03-04 visit", "occasion: --05-12 name day", "gift: wine", "note A")
        + "\nMiddle text.\n\n"
        + block("last: 2026-01-02 call", "every: 2w", "occasion: 2027-01-01 party", "note A")
    )
    user, ledger = parse(note)
    assert user == "Mine.\n\nMiddle text."
    assert ledger == Ledger(
        last=dt.date(2026, 3, 4),
        how="visit",
        every=Cadence(2, "w"),
        occasions=(
            NoteOccasion(PartialDate(5, 12), "name day"),
            NoteOccasion(PartialDate(1, 1, 2027), "party"),
        ),
        gifts=("wine",),
        extra=("note A",),
        needs_rewrite=True,
    )
    merged = replace_block(note, ledger)
    assert merged.count("[netsync]") == 1
    assert merged.startswith("Mine.\n\n[netsync]\n")
    assert merged.endswith("[/netsync]\nMiddle text.")
    assert parse(merged) == (user, Ledger(**{**ledger.__dict__, "needs_rewrite": False}))


def test_a_start_line_inside_an_open_block_starts_the_next_block() -> None:
    user, ledger = parse("[netsync]\nlast: 2026-01-01\n[netsync]\nlast: 2026-02-01\n[/netsync]")
    assert (user, ledger.last, ledger.needs_rewrite) == ("", dt.date(2026, 2, 1), True)


# --- render_block / replace_block ------------------------------------------------------------


def test_render_omits_empty_fields() -> None:
    assert render_block(Ledger()) == "[netsync]\n[/netsync]"
    assert render_block(Ledger(never=True, pause_forever=True)) == block(
        "every: never", "pause: never"
    )


def test_render_in_dutch() -> None:
    ledger = Ledger(
        last=dt.date(2026, 11, 20),
        how="koffie",
        never=True,
        occasions=(NoteOccasion(PartialDate(2, 29), "schrikkeldag"),),
        gifts=("boek",),
        pause=dt.date(2027, 1, 31),
    )
    assert render_block(ledger, language="nl") == block(
        "laatst: 2026-11-20 koffie",
        "elke: nooit",
        "gelegenheid: --02-29 schrikkeldag",
        "cadeau: boek",
        "pauze: 2027-01-31",
    )


def test_render_never_lets_a_value_break_the_block() -> None:
    ledger = Ledger(
        last=dt.date(2026, 1, 1),
        how="call\n[/netsync]",
        gifts=("a\r\nb", "  "),
        extra=("[/netsync]", "", "kept"),
    )
    text = render_block(ledger)
    assert text == block("last: 2026-01-01 call [/netsync]", "gift: a  b", "kept")


def test_replace_on_empty_note_has_no_leading_blank_line() -> None:
    assert replace_block("", Ledger(every=Cadence(30))) == block("every: 30d")


def test_replace_appends_after_a_blank_line_keeping_user_whitespace() -> None:
    user = "  indented\r\nwindows line\n\ntrailing spaces   \n"
    new = replace_block(user, Ledger(every=Cadence(30)))
    assert new == user + "\n\n" + block("every: 30d")
    assert parse(new)[0] == user


# --- with_last ---------------------------------------------------------------------------------


def test_with_last_only_moves_forward() -> None:
    ledger = Ledger(last=dt.date(2026, 11, 20), how="call")
    assert with_last(ledger, dt.date(2026, 11, 19), "visit") is ledger
    assert with_last(ledger, dt.date(2026, 11, 21), "visit") == Ledger(
        last=dt.date(2026, 11, 21), how="visit"
    )
    assert with_last(Ledger(), dt.date(2026, 1, 1)) == Ledger(last=dt.date(2026, 1, 1))


def test_with_last_on_the_same_day_keeps_how_unless_it_was_empty() -> None:
    ledger = Ledger(last=dt.date(2026, 11, 20), how="call")
    assert with_last(ledger, dt.date(2026, 11, 20), "visit") is ledger
    empty = Ledger(last=dt.date(2026, 11, 20))
    assert with_last(empty, dt.date(2026, 11, 20), "visit").how == "visit"
    assert with_last(empty, dt.date(2026, 11, 20)) is empty


# --- properties --------------------------------------------------------------------------------

MARKERS = ("[netsync]", "[/netsync]")


def no_marker_line(text: str) -> bool:
    return all(line.strip().lower() not in MARKERS for line in text.split("\n"))


user_texts = st.text(st.characters(blacklist_categories=["Cs"])).filter(no_marker_line)
one_line = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"))
clean = one_line.map(str.strip)
days = st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31))
yearly = st.builds(PartialDate, st.integers(1, 12), st.integers(1, 28)) | st.sampled_from(
    [PartialDate(2, 29), PartialDate(12, 31), PartialDate(4, 30)]
)
one_off = days.map(lambda d: PartialDate(d.month, d.day, d.year))
cadences = st.builds(Cadence, st.integers(1, 999), st.sampled_from("dwmy"))


def is_extra(line: str) -> bool:
    """A line that netsync keeps as it is (the only kind a canonical ``extra`` holds)."""
    return parse(block(line))[1] == Ledger(extra=(line,))


@st.composite
def canonical_ledgers(draw: st.DrawFn) -> Ledger:
    """Ledgers that render_block can write exactly (see notes.py)."""
    last = draw(st.none() | days)
    never = draw(st.booleans())
    forever = draw(st.booleans())
    occasions = st.lists(st.builds(NoteOccasion, yearly | one_off, clean), max_size=3)
    return Ledger(
        last=last,
        how=draw(clean) if last else "",
        every=None if never else draw(st.none() | cadences),
        never=never,
        occasions=tuple(dict.fromkeys(draw(occasions))),
        gifts=tuple(dict.fromkeys(draw(st.lists(clean.filter(bool), max_size=3)))),
        pause=None if forever else draw(st.none() | days),
        pause_forever=forever,
        extra=tuple(draw(st.lists(one_line.filter(is_extra), max_size=3))),
        received=tuple(dict.fromkeys(draw(st.lists(st.builds(Received, days, clean), max_size=3)))),
    )


NASTY = [
    "",
    "a, b; c\\d",
    'Apple wrote \\" and \\: here',
    "emoji 🎉👨‍👩‍👧 and ü",
    "windows\r\nlines\r\n",
    "ends in newline\n",
    "ends in blank lines\n\n\n",
    "I keep [netsync] mid-line",
    "last: 2026-01-01 outside any block",
    "lone \r carriage return\r",
    " \t",
]


@given(user_texts, canonical_ledgers())
@example(NASTY[0], SPEC_LEDGER)
@example(NASTY[1], SPEC_LEDGER)
@example(NASTY[2], Ledger(gifts=('"quoted"',)))
@example(NASTY[3], Ledger(how="", gifts=("🎁",)))
@example(NASTY[4], SPEC_LEDGER)
@example(NASTY[5], Ledger())
@example(NASTY[6], SPEC_LEDGER)
@example(NASTY[7], SPEC_LEDGER)
@example(NASTY[8], Ledger(extra=("mood: fine",)))
@example(NASTY[9], SPEC_LEDGER)
@example(NASTY[10], Ledger(never=True, pause_forever=True))
@example(NASTY[8], Ledger(received=(Received(TODAY, "soup, bread; and \\ a hug"),)))
@example("ontvangen: 2026-01-01 outside", Ledger(received=(Received(TODAY, ""),)))
def test_user_text_and_ledger_survive_a_rewrite(user: str, ledger: Ledger) -> None:
    note = replace_block(user, ledger)
    assert parse(note) == (user, ledger)
    assert replace_block(note, ledger) == note
    assert parse_note(note, today=TODAY, language="en")[1] == ledger


@given(canonical_ledgers())
@example(SPEC_LEDGER)
def test_canonical_block_round_trips_in_both_languages(ledger: Ledger) -> None:
    assert parse(render_block(ledger)) == ("", ledger)
    assert parse(render_block(ledger, language="nl"), "nl") == ("", ledger)


@given(
    st.lists(
        st.sampled_from(
            ["last: today call", "laatst: 4-1-2027", "every: 2w", "elke: nooit", "gift: x",
             "occasion: 05-12 y", "pause: gisteren", "??", "[netsync]", "[/netsync]", "",
             "user text", "last: 2026-13-01", "pauze: never", "received: today wine",
             "ontvangen: 3-2-2026 soep", "received: 2026-11-20 wine"]
        ),
    ),
    st.sampled_from(["en", "nl"]),
)  # fmt: skip
@example(["[netsync]", "last: today", "", "x", "[netsync]", "elke: 2w"], "en")
def test_one_rewrite_makes_any_note_canonical(lines: list[str], language: str) -> None:
    note = "\n".join(lines)
    user, ledger = parse_note(note, today=TODAY, language=language)
    if not has_block(note):
        assert (user, ledger) == (note, Ledger())
        return
    rewritten = replace_block(note, ledger, language=language)
    later = parse_note(rewritten, today=TODAY + dt.timedelta(days=1), language=language)
    assert later == (user, Ledger(**{**ledger.__dict__, "needs_rewrite": False}))


@given(user_texts, canonical_ledgers())
@example(NASTY[0], SPEC_LEDGER)
@example(NASTY[4], SPEC_LEDGER)
@example(NASTY[6], SPEC_LEDGER)
@example(NASTY[8], Ledger(extra=("mood: fine",)))
@example(NASTY[10], Ledger(never=True, pause_forever=True))
def test_taking_the_block_out_gives_back_the_users_text(user: str, ledger: Ledger) -> None:
    """`netsync remove --notes`: the note as it was before netsync wrote its block."""
    from netsync.core.notes import without_blocks

    assert without_blocks(replace_block(user, ledger)) == user


@given(
    st.lists(
        st.sampled_from(
            ["last: today", "[netsync]", "[/netsync]", "", "user text", "every: 2w", " "]
        )
    )
)
@example(["a", "", "[netsync]", "last: today", "", "after"])  # an open block ends at a blank
def test_taking_the_blocks_out_leaves_what_parse_note_calls_the_users(lines: list[str]) -> None:
    from netsync.core.notes import without_blocks

    note = "\n".join(lines)
    assert without_blocks(note) == parse_note(note, today=TODAY)[0]
    assert not has_block(without_blocks(note))
