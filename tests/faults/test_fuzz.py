"""Issue 5, item 5: hostile and broken input, fuzzed.

- The NOTE block grammar and every date spelling: parsing never raises, and a block netsync
  writes reads back to the same ledger with the user's text untouched.
- Whole cards: random bytes inside a valid card, overlong lines, invalid UTF-8, byte order
  marks, CR-only and LF-only line ends, a 1 MB NOTE, 10,000 properties. ``parse_card`` raises
  only CardError, ``patch_note`` only PatchError, and a patched card always reads back to the
  same user text with every other line unchanged and still parses as the same contact.
- Names and notes holding CRLF, ``;``, ``,``, ``:``, quotes, backslashes, emoji and text such
  as ``END:VEVENT`` cannot inject a property or a component into a reminder: what is rendered
  is parsed with icalendar and compared with what was meant.
- End to end: such cards on a real Xandikos; `netsync sync` never crashes, and every card it
  writes parses back, with only its NOTE changed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import re
from collections import Counter
from pathlib import Path

import icalendar
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from netsync.commands import main
from netsync.core import cards, ics, notepatch, notes, occasions, planner
from netsync.core.model import PlanSettings
from netsync.core.vcardtext import split_lines
from tests import davcheck, servers
from tests.faults import reliability
from tests.faults.phonebook import CALENDAR, TODAY, Phone
from tests.scenario import write_config
from tests.vcards import escape, vcard

EXAMPLES: Counter[str] = Counter()
SECTION_WHAT = """Hypothesis over the NOTE block grammar (keys in both languages and any case,
dates in every spelling and garbage), over vCard date values, and over whole cards (random
bytes at random places of a valid card, overlong lines, invalid UTF-8, byte order marks,
CR-only and LF-only line ends), plus a 1 MB NOTE and a card of 10,000 properties. A parse
may only raise CardError, a patch only PatchError; a patched card must read back to the
wanted note, keep every other line and still parse as the same contact. Names and notes
full of CRLF, `;`, `,`, `:`, quotes, backslashes, emoji and `END:VEVENT` go through the
planner and the renderer and are parsed back with icalendar: one component, only netsync's
own properties, the text as meant. Last, such cards on a real Xandikos: `netsync sync` exits
0 or 1, never a traceback, and every card it wrote parses back with only NOTE changed."""


def section() -> reliability.Section:
    return reliability.section("fuzz", "Hostile and broken input", SECTION_WHAT)


# -- the NOTE grammar and date spellings -----------------------------------------------------

KEYS = ["last", "LAST", "Last ", " laatst", "laatste contact", "every", "elke", "occasion",
        "gelegenheid", "gift", "cadeau", "pause", "pauze", "unknown", "", "last:last"]  # fmt: skip
DATES = st.one_of(
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))
    .map(
        lambda d: st.sampled_from(
            [
                d.isoformat(),
                f"{d:%d-%m-%Y}",
                f"{d.day}-{d.month}-{d.year}",
                f"--{d:%m-%d}",
                f"{d:%m-%d}",
                f"{d:%Y%m%d}",
            ]  # fmt: skip
        )
    )
    .flatmap(lambda s: s),
    st.sampled_from(
        [
            "today",
            "Vandaag",
            "yesterday",
            "gisteren",
            "never",
            "nooit",
            "30d",
            "2w",
            "6m",
            "1y",
            "0d",
            "99-99-9999",
            "2026-02-30",
            "--02-29",
            "00-00-0000",
            "29-2-2027",
            "9999-12-31",
            "0000-01-01",
        ]
    ),  # fmt: skip
    st.text(max_size=12),
)
BLOCK_LINE = st.builds(
    lambda key, sep, date, rest: f"{key}{sep}{date}{rest}",
    st.sampled_from(KEYS),
    st.sampled_from([": ", ":", " : ", " ", ":\t"]),
    DATES,
    st.sampled_from(["", " call", " wedding of Emma; big party, 🎉", " \\n", ":x:"]),
)
USER_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=60
).filter(lambda t: "[netsync]" not in t.lower() and "[/netsync]" not in t.lower())


@st.composite
def note_texts(draw: st.DrawFn) -> str:
    user = draw(USER_TEXT)
    lines = draw(st.lists(BLOCK_LINE, max_size=8))
    start = draw(st.sampled_from(["[netsync]", "[NetSync]", " [netsync] "]))
    end = draw(st.sampled_from(["[/netsync]", "", "[/NETSYNC]  "]))
    block = "\n".join([start, *lines, *([end] if end else [])])
    # A NOTE read from a card never holds a CR (notepatch.read_note makes every line break
    # an LF, and a CR cannot stand inside a content line), so none is generated.
    return (f"{user}\n\n{block}" if user else block).replace("\r", "")


@settings(max_examples=400, deadline=None)
@given(note_texts(), st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)))
@example("[netsync]\nlast: today\ngift: 0 0\n[/netsync]", dt.date(2000, 1, 1))
@example("[netsync]\nlast: 29-2-2028 call\noccasion: --02-29 leap\n[/netsync]", TODAY)
@example("text\n\n[netsync]\nlast: today\n[netsync]\nlast: 31-12-9999\n", TODAY)
def test_note_grammar_never_raises_and_a_written_block_reads_back(
    note: str, today: dt.date
) -> None:
    EXAMPLES["NOTE grammar"] += 1
    user, ledger = notes.parse_note(note, today=today)
    for language in ("en", "nl"):
        written = notes.replace_block(note, ledger, language=language)
        user_again, again = notes.parse_note(written, today=today)
        assert user_again == user
        assert (again.last, again.every, again.never, again.pause, again.pause_forever) == (
            ledger.last,
            ledger.every,
            ledger.never,
            ledger.pause,
            ledger.pause_forever,
        )
        assert again.occasions == ledger.occasions and again.gifts == ledger.gifts
        assert not again.needs_rewrite or language == "nl"


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        DATES, st.text(max_size=30), st.binary(max_size=20).map(lambda b: b.decode("latin-1"))
    ),
    st.sampled_from(
        [{}, {"VALUE": ["text"]}, {"VALUE": ["date"]}, {"X-APPLE-OMIT-YEAR": ["1604"]}]
    ),
)
def test_every_date_spelling_reads_or_is_skipped_never_raises(value: str, params: object) -> None:
    EXAMPLES["date spellings"] += 1
    date = occasions.parse_vcard_date(value, params)  # type: ignore[arg-type]
    if date is not None:
        assert 1 <= date.month <= 12 and 1 <= date.day <= 31
    card = vcard("d", "D", bday=value)
    if "\r" in value or "\n" in value:  # no longer one BDAY line: the card may be refused
        with contextlib.suppress(cards.CardError):
            cards.parse_card(card, today=TODAY)
        return
    # On a card the spelling is the birthday it reads as, or no birthday; never a refused card.
    read = occasions.parse_vcard_date(value, {})  # type: ignore[arg-type]
    contact = cards.parse_card(card, today=TODAY)
    assert [fact.date for fact in contact.dates] == ([read] if read is not None else [])


# -- whole cards ---------------------------------------------------------------------------

BASE = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//iPhone OS 17.1//EN\r\nUID:fuzz-1\r\n"
    "N:Jansen;Alice;;;\r\nFN:Alice Jansen\r\nitem1.TEL;type=CELL;type=VOICE;type=pref:+31 6 1\r\n"
    "item1.X-ABLabel:_$!<Mobile>!$_\r\nBDAY;X-APPLE-OMIT-YEAR=1604:1604-12-01\r\n"
    "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsL\r\n"
    " DBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/2wBDAQkJCQwLDBgN\r\n"
    "NOTE:Likes sailing\\, daughter Emma.\\n\\n[netsync]\\nlast: 24-11-2026 call\\n[/netsync]\r\n"
    "X-SOCIALPROFILE;type=twitter:x-apple:alice\r\nEND:VCARD\r\n"
)


@st.composite
def hostile_cards(draw: st.DrawFn) -> str:
    text = BASE
    for _ in range(draw(st.integers(0, 4))):
        what = draw(st.sampled_from(["bytes", "line", "long", "bom", "endings", "utf8", "cut"]))
        at = draw(st.integers(0, len(text)))
        if what == "bytes":
            junk = draw(st.binary(min_size=1, max_size=30)).decode("utf-8", "surrogateescape")
            text = text[:at] + junk + text[at:]
        elif what == "line":
            line = draw(st.text(max_size=40)).replace("\r", "").replace("\n", "")
            text = text.replace("END:VCARD", f"{line}\r\nEND:VCARD", 1)
        elif what == "long":
            size = draw(st.sampled_from([200, 5000, 70_000]))
            text = text.replace("END:VCARD", f"X-LONG:{'ab🎉' * (size // 3)}\r\nEND:VCARD", 1)
        elif what == "bom":
            text = "\ufeff" + text
        elif what == "endings":
            text = text.replace("\r\n", draw(st.sampled_from(["\r", "\n", "\r\r\n", "\n\r"])))
        elif what == "utf8":
            text = text.replace("sailing", "sail\udcffing\udcc3", 1)
        elif what == "cut":
            text = text[:at]
    return text


def _check_patch(card: str, wanted: str) -> None:
    try:
        before = cards.parse_card(card, today=TODAY)
    except cards.CardError:
        before = None
    try:
        patched = notepatch.patch_note(card, wanted)
    except notepatch.PatchError:
        EXAMPLES["cards refused by the patcher"] += 1
        return
    EXAMPLES["cards patched"] += 1
    assert notepatch.read_note(patched) == wanted.replace("\r\n", "\n").replace("\r", "\n")

    def others(text: str) -> Counter[str]:
        lines = split_lines(text)
        return Counter(
            ln.raw for ln in lines if not re.match(r"(?i)^\ufeff?(?:[\w-]+\.)?NOTE[;:]", ln.text)
        )

    assert others(patched) == others(card)
    # The patched text starts as the card did, up to its first NOTE line.
    first = re.search(r"(?im)^\ufeff?(?:[\w-]+\.)?NOTE[;:]", card)
    if first is not None:
        assert patched[: first.start()] == card[: first.start()]
    if before is not None:
        after = cards.parse_card(patched, today=TODAY)
        assert (after.uid, after.name, after.dates, after.emails, after.phones) == (
            before.uid,
            before.name,
            before.dates,
            before.emails,
            before.phones,
        )


@pytest.mark.slow
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    hostile_cards(),
    st.sampled_from(["", "new text", "Ça va 🎉\n\n[netsync]\nlast: 2026-11-26 call\n[/netsync]"]),
)
def test_hostile_cards_parse_or_fail_cleanly_and_patches_change_only_note(
    card: str, user: str
) -> None:
    EXAMPLES["whole cards"] += 1
    try:
        contact = cards.parse_card(card, today=TODAY)
    except cards.CardError:
        contact = None
    note = notepatch.read_note(card)
    _, ledger = notes.parse_note(note, today=TODAY)
    wanted = notes.replace_block(note, notes.with_last(ledger, TODAY, "visit"))
    _check_patch(card, wanted)
    _check_patch(card, user)
    if contact is not None:
        assert contact.uid and contact.name


def test_a_1_mb_note_and_10000_properties() -> None:
    big_note = ("Lorem ipsum dolor sit amet, ünïcødé 🎉; " * 26_000)[:1_000_000]
    card = BASE.replace("Likes sailing\\, daughter Emma.", big_note.replace(";", "\\;"))
    assert cards.parse_card(card, today=TODAY).ledger.last == dt.date(2026, 11, 24)
    note = notepatch.read_note(card)
    wanted = notes.replace_block(
        note, notes.with_last(notes.parse_note(note, today=TODAY)[1], TODAY, "call")
    )
    _check_patch(card, wanted)
    many = "".join(f"X-FIELD-{i};TYPE=x:value {i}\\, more\r\n" for i in range(10_000))
    wide = BASE.replace("END:VCARD", many + "END:VCARD")
    assert cards.parse_card(wide, today=TODAY).uid == "fuzz-1"
    _check_patch(wide, wanted)
    EXAMPLES["fixed cards of a 1 MB NOTE and of 10,000 properties"] += 2


# -- no injection into the calendar ---------------------------------------------------------

NASTY = st.lists(
    st.one_of(
        st.sampled_from(list(";,:\"'\\\r\n\t🎉ü") + ["\r\n", "END:VEVENT", "BEGIN:VALARM",
                                                     "X-INJECTED:1", "\\n", "\\,", "\u2028"]),
        st.characters(blacklist_categories=("Cs",)),
    ),
    min_size=1,
    max_size=12,
).map("".join)  # fmt: skip
OWN_PROPERTIES = {
    "UID", "DTSTAMP", "DTSTART", "DTEND", "DUE", "STATUS", "TRANSP", "SUMMARY", "DESCRIPTION",
    "CATEGORIES", "X-NETSYNC-KIND", "X-NETSYNC-CONTACT", "X-NETSYNC-PLANNED", "X-NETSYNC-PLACED",
}  # fmt: skip


def hostile_person(name: str, words: str, uid: str, today: dt.date) -> str:
    """A card a phone could hold: the name and words anywhere a user types text."""
    day = today + dt.timedelta(days=3)
    block = (
        f"[netsync]\nlast: {today - dt.timedelta(days=200)} {words}\noccasion: "
        f"{today + dt.timedelta(days=5)} {words}\ngift: {words}\n[/netsync]"
    )
    return vcard(
        escape(uid),
        escape(name),
        n=f"{escape(name)};;;;",
        lines=[
            f"TEL:{escape(words)}",
            f"EMAIL:{escape(words)}@x.example",
            f"BDAY:1990-{day:%m-%d}",
        ],
        note=escape(f"{words}\n\n{block}"),
    )


def check_reminder_bytes(body: bytes, meant: ics.Reminder | None) -> None:
    """One VCALENDAR, one VEVENT or VTODO, only netsync's properties and VALARMs."""
    text = body.decode("utf-8")
    unfolded = re.sub(r"\r\n[ \t]", "", text)
    lines = [ln for ln in unfolded.split("\r\n") if ln]
    begins = [ln for ln in lines if ln.startswith("BEGIN:")]
    assert begins[:2] == ["BEGIN:VCALENDAR", begins[1]]
    assert begins[1] in ("BEGIN:VEVENT", "BEGIN:VTODO")
    assert set(begins[2:]) <= {"BEGIN:VALARM"}
    cal = icalendar.Calendar.from_ical(body)
    items = [c for c in cal.walk() if c.name in ("VEVENT", "VTODO")]
    assert len(items) == 1
    item = items[0]
    assert set(item.keys()) <= OWN_PROPERTIES
    alarms = [c for c in item.subcomponents]
    assert all(
        a.name == "VALARM" and set(a.keys()) == {"ACTION", "DESCRIPTION", "TRIGGER"} for a in alarms
    )
    if meant is not None:
        assert len(alarms) == len(meant.alarms)
        assert str(item["SUMMARY"]) == ics.clean_text(meant.summary)
        assert str(item.get("DESCRIPTION", "")) == ics.clean_text(meant.description)
        assert str(item["UID"]) == meant.uid
        parsed = ics.parse(body)
        assert parsed is not None and ics.same_content(parsed[0], meant)


@settings(max_examples=300, deadline=None)
@given(NASTY, NASTY, NASTY)
@example("Eve\r\nEND:VEVENT\r\nBEGIN:VEVENT", "x\r\nATTENDEE:mailto:a@b", 'uid;with:all,"')
@example('Zoë "Z" O\'Brien; Jr.', "🎉:\\n,\\,;", "a\\b")
@example("\\N", "\\N \\\\N", ";")  # icalendar 7.3 wrote a backslash-N as a line break
def test_names_and_notes_cannot_inject_into_a_calendar_object(
    name: str, words: str, uid: str
) -> None:
    EXAMPLES["names and notes rendered into reminders"] += 1
    card = hostile_person(name, words, uid, TODAY)
    try:
        contact = cards.parse_card(card, today=TODAY)
    except cards.CardError:
        return  # a name of only spaces: no contact, nothing to render
    stamp = dt.datetime(2026, 11, 26, 12, tzinfo=dt.UTC)
    for as_todo in (False, True):
        plan = planner.plan([contact], [], today=TODAY, settings=PlanSettings(as_todo=as_todo))
        assert plan
        for reminder in plan:
            check_reminder_bytes(ics.render(reminder, stamp=stamp), reminder)


# -- end to end --------------------------------------------------------------------------------


def test_hostile_cards_on_a_real_server_no_crash_no_unreadable_write(
    xandikos: servers.Server,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rng = random.Random(5)
    phone = Phone(xandikos)
    offered: dict[str, str] = {}
    for index in range(40):
        card = BASE.replace("fuzz-1", f"fuzz-{index}")
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(card))
            kind = rng.choice(["bytes", "long", "bom", "endings", "utf8"])
            if kind == "bytes":
                junk = rng.randbytes(rng.randint(1, 20)).decode("utf-8", "surrogateescape")
                card = card[:at] + junk + card[at:]
            elif kind == "long":
                card = card.replace("END:VCARD", f"X-LONG:{'x' * 20000}\r\nEND:VCARD")
            elif kind == "bom":
                card = "\ufeff" + card
            elif kind == "endings":
                card = card.replace("\r\n", rng.choice(["\n", "\r", "\r\r\n"]))
            else:
                card = card.replace("sailing", "sail\udcffing")
        offered[f"h{index:02d}.vcf"] = card
    for index, (name, words) in enumerate(
        [
            ("Eve\nEND:VEVENT\nBEGIN:VEVENT", "x\r\nATTENDEE:mailto:a@b"),
            ('Zoë "Z" O\'Brien; Jr.', "🎉:\\n,\\,;"),
            ("Mallory: X-INJECTED:1", "END:VCALENDAR"),
        ]
    ):
        offered[f"n{index}.vcf"] = hostile_person(name, words, f"nasty-{index}", TODAY)
    big = BASE.replace("fuzz-1", "fuzz-big").replace(
        "Likes sailing\\, daughter Emma.", "Lorem ipsum\\; dolor 🎉 " * 45_000
    )
    offered["big.vcf"] = big
    many = "".join(f"X-FIELD-{i}:value {i}\r\n" for i in range(10_000))
    offered["many.vcf"] = BASE.replace("fuzz-1", "fuzz-many").replace(
        "END:VCARD", many + "END:VCARD"
    )
    stored: dict[str, str] = {}
    for name, card in offered.items():
        data = card.encode("utf-8", "surrogateescape")
        status, _, _ = davcheck.request(
            xandikos, "PUT", xandikos.addressbook + name, body=data,
            headers={"Content-Type": "text/vcard", "If-None-Match": "*"},
        )  # fmt: skip
        if status == 201:
            found = phone.read(name)
            assert found is not None
            stored[name] = found[1]
    config = write_config(xandikos, tmp_path)
    codes = [main(["--config", str(config), "sync", "--today", TODAY.isoformat()])]
    codes.append(main(["--config", str(config), "sync", "--today", TODAY.isoformat()]))
    captured = capsys.readouterr()
    assert set(codes) <= {0, 1}, captured.err
    assert "Traceback" not in captured.err
    written = unreadable = 0
    for name, before in stored.items():
        found = phone.read(name)
        assert found is not None
        after = found[1]
        if after == before:
            continue
        written += 1
        try:
            contact = cards.parse_card(after, today=TODAY)
        except cards.CardError:
            unreadable += 1
            continue
        assert contact.ledger.last is not None
        _check_patch(before, notepatch.read_note(after))
    uids: Counter[str] = Counter()
    cal = davcheck.calendars(xandikos)[CALENDAR]
    for _, (_, body) in davcheck.snapshot(xandikos, cal).items():
        check_reminder_bytes(body, None)
        for comp in icalendar.Calendar.from_ical(body).walk():
            if comp.name in ("VEVENT", "VTODO"):
                uids[str(comp["UID"])] += 1
    s = section()
    for what, count in sorted(EXAMPLES.items()):
        s.row(f"examples: {what}", count)
    s.row("hostile cards offered to Xandikos (stored by it)", f"{len(offered)} ({len(stored)})")
    s.row("of them written by netsync (NOTE only)", written)
    s.row("written cards that did not parse back (must be 0)", unreadable)
    s.row("reminders read back and checked for injection", sum(uids.values()))
    s.doubled += sum(n - 1 for n in uids.values() if n > 1)
    s.lost += unreadable
    assert unreadable == 0 and max(uids.values()) == 1
    assert written >= 5


def test_one_card_the_server_cannot_multiget_does_not_stop_the_book(
    xandikos: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Xandikos stores a card that is not UTF-8, then answers 500 to every multiget naming
    it. netsync reads it alone (halving the batch, then a GET), and the rest of the book with
    it; before, every sync ended in exit 75 for good."""
    from tests.scenario import upload_sample

    upload_sample(xandikos)
    bad = BASE.replace("fuzz-1", "not-utf8").replace("sailing", "sail\udcffing")
    status, _, _ = davcheck.request(
        xandikos,
        "PUT",
        xandikos.addressbook + "bad.vcf",
        body=bad.encode("utf-8", "surrogateescape"),
        headers={"Content-Type": "text/vcard", "If-None-Match": "*"},
    )
    assert status == 201
    config = write_config(xandikos, tmp_path)
    assert main(["--config", str(config), "sync", "--today", TODAY.isoformat()]) == 1
    captured = capsys.readouterr()
    assert "26 contacts read" in captured.out and "1 writes failed" in captured.out
    assert "not-utf8" in captured.err and "not UTF-8" in captured.err
    assert "Alice Jansen turns 47" in captured.out
    section().row("a card the server cannot multiget (not UTF-8): read alone, book synced", "yes")
