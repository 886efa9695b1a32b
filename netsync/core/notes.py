"""The ``[netsync]`` block in a contact's NOTE (SPEC section 2): find, parse, render, replace.

Owns the block grammar and the line between the user's text and netsync's block. Pure: the
standard library and ``netsync.core.model``/``netsync.core.durations`` only; "today" is an argument.

Decisions the SPEC leaves open (also in the README):

- Only ``\\n`` breaks lines; a ``\\r`` is an ordinary character of the user's text (the NOTE
  reader already turns CRLF into LF), ignored when recognising block lines.
- The user's text is the note with each block removed. A block with only whitespace after it
  takes that whitespace and the separator before it (``"\\n\\n"``, or ``"\\n"`` when a phone
  dropped the blank line); any other block takes the line break that ends it, and one blank
  line when there is one on both sides. ``replace_block`` drops extra blocks by the same
  rule, so the user's text reads the same before and after a rewrite.
- ``needs_rewrite`` is set for what changes the meaning or the structure: a relative date
  (``today``, ``gisteren``: it would mean another day tomorrow), a date not in ISO form,
  several blocks, a second ``last:``/``every:``/``pause:`` line, and, when ``language`` is
  given, a key in the other language. ``rewrite_reasons`` names each of these, so a message
  says what a rewrite changed. Key case, spacing, line order, ``MM-DD`` for ``--MM-DD`` and
  a missing ``[/netsync]`` (SPEC section 2: the block is read as it stands) are cosmetic:
  they are tidied whenever netsync writes the block anyway, but never cause a write on
  their own (SPEC section 1: no needless writes).
- Several blocks merge in note order: newest ``last`` (a same-day ``how`` fills an empty
  one), later ``every:``/``pause:`` lines win, occasions, gifts and ``received:`` lines are
  unioned, unknown lines kept (a line already kept from an earlier block is not repeated).
- Nothing is dropped in silence (SPEC section 2): ``not_understood`` lists the block's
  lines netsync cannot read and the lines outside the block that look like block lines
  (``last:``, ``every:``, ``occasion:``, ``pause:``, ``received:`` and their Dutch keys;
  ``gift:`` is left out, a gift idea in the user's own words is ordinary text).
- Blank lines inside a closed block are dropped; ``nooit`` is accepted for ``never`` and
  written in Dutch blocks; ``pause:``/``every:`` with trailing words are not understood and
  kept verbatim rather than half-read.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field

from netsync.core.durations import parse_cadence
from netsync.core.model import Cadence, Ledger, NoteOccasion, PartialDate, Received

START, END = "[netsync]", "[/netsync]"
_SEPARATOR = "\n\n"
_FIELDS = {
    "last": "last",
    "laatst": "last",
    "laatste contact": "last",
    "every": "every",
    "elke": "every",
    "occasion": "occasion",
    "gelegenheid": "occasion",
    "gift": "gift",
    "cadeau": "gift",
    "pause": "pause",
    "pauze": "pause",
    "received": "received",
    "ontvangen": "received",
}
_DUTCH = frozenset(
    {"laatst", "laatste contact", "elke", "gelegenheid", "cadeau", "pauze", "ontvangen"}
)
_WRITTEN = {
    "en": {"last": "last", "every": "every", "occasion": "occasion", "gift": "gift",
           "received": "received", "pause": "pause", "never": "never"},
    "nl": {"last": "laatst", "every": "elke", "occasion": "gelegenheid", "gift": "cadeau",
           "received": "ontvangen", "pause": "pauze", "never": "nooit"},
}  # fmt: skip
# Keys whose line outside the block is reported: it was surely meant for netsync.
_STRAY = frozenset(name for name, key in _FIELDS.items() if key != "gift")

# Why a block is rewritten, as the messages say it (rewrite_reasons).
DATES = "dates written as YYYY-MM-DD"
MERGED = "blocks merged into one"
REPEATED = "repeated lines merged"
ENGLISH = "keys written in English"
DUTCH = "keys written in Dutch"
CLOSED = "[/netsync] put back"

# Why a line is reported (not_understood).
NOT_READ = "not understood"
OUTSIDE = "outside the [netsync] block, so not read"
_NEVER = frozenset({"never", "nooit"})
_DAYS_AGO = {"today": 0, "vandaag": 0, "yesterday": 1, "gisteren": 1}
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII)
_DMY = re.compile(r"(\d{1,2})-(\d{1,2})-(\d{4})", re.ASCII)
_YEARLY = re.compile(r"(?:--)?(\d{1,2})-(\d{1,2})", re.ASCII)


@dataclass(frozen=True)
class _Line:
    start: int  # offset of the first character
    end: int  # offset just past the content, before its "\n"
    text: str


@dataclass
class _Draft:
    """The ledger being read, line by line, over every block of a note."""

    today: dt.date
    language: str | None
    last: dt.date | None = None
    how: str = ""
    every: Cadence | None = None
    never: bool = False
    pause: dt.date | None = None
    pause_forever: bool = False
    occasions: list[NoteOccasion] = field(default_factory=list)
    gifts: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    reasons: dict[str, None] = field(default_factory=dict)  # in the order found

    def because(self, reason: str) -> None:
        self.reasons.setdefault(reason)


def parse_note(text: str, *, today: dt.date, language: str | None = None) -> tuple[str, Ledger]:
    """Split a full (unescaped) NOTE into the user's text and the ledger of its block(s).

    ``language`` ("en"/"nl"), when given, flags a block written in the other language for
    rewriting."""
    user, draft = _read(text, today=today, language=language)
    return user, _ledger(draft)


def rewrite_reasons(text: str, *, today: dt.date, language: str) -> tuple[str, ...]:
    """What writing the block of ``text`` in canonical form (in ``language``) changes beyond
    key case and spacing: ``DATES``, ``MERGED``, ``REPEATED``, ``ENGLISH``/``DUTCH`` and
    ``CLOSED`` (the last never causes a write by itself). Empty when there is no block."""
    _, draft = _read(text, today=today, language=language)
    return tuple(draft.reasons)


def not_understood(user: str, ledger: Ledger) -> tuple[tuple[str, str], ...]:
    """The lines of a note netsync keeps but cannot use, verbatim, each with why: the block's
    lines it does not understand (``ledger.extra``, ``NOT_READ``), then the lines of the
    user's text (``user``, the note outside the block) keyed like a block line (``OUTSIDE``)."""
    stray = []
    for line in user.split("\n"):
        key, colon, _ = line.partition(":")
        if colon and " ".join(key.split()).lower() in _STRAY:
            stray.append((line, OUTSIDE))
    return tuple((line, NOT_READ) for line in ledger.extra) + tuple(stray)


def _read(text: str, *, today: dt.date, language: str | None) -> tuple[str, _Draft]:
    lines = _lines(text)
    blocks = _blocks(lines)
    draft = _Draft(today, language)
    if not blocks:
        return text, draft
    user = text
    for first, last, _ in reversed(blocks):
        user = _remove(user, lines[first].start, lines[last].end)
    if len(blocks) > 1:
        draft.because(MERGED)
    for first, last, closed in blocks:
        earlier = set(draft.extra)
        for line in lines[first + 1 : last if closed else last + 1]:
            _read_line(draft, line.text, earlier)
    if not all(closed for _, _, closed in blocks):
        draft.because(CLOSED)  # put back when the block is written, never a write of its own
    return user, draft


def has_block(text: str) -> bool:
    """Whether the note holds a ``[netsync]`` line."""
    return any(_marker(line.text) == START for line in _lines(text))


def render_block(ledger: Ledger, *, language: str = "en") -> str:
    """The canonical block: ``[netsync]`` ... ``[/netsync]``, no line break after it."""
    key = _WRITTEN["nl" if language == "nl" else "en"]
    out = [START]
    if ledger.last is not None:
        out.append(_pair(key["last"], ledger.last.isoformat(), ledger.how))
    if ledger.never or ledger.every is not None:
        out.append(_pair(key["every"], key["never"] if ledger.never else str(ledger.every)))
    out += [_pair(key["occasion"], _spell(o.date), o.text) for o in ledger.occasions]
    out += [_pair(key["gift"], g) for g in map(_one_line, ledger.gifts) if g]
    out += [_pair(key["received"], r.day.isoformat(), r.text) for r in ledger.received]
    if ledger.pause_forever:
        out.append(_pair(key["pause"], key["never"]))
    elif ledger.pause is not None:
        out.append(_pair(key["pause"], ledger.pause.isoformat()))
    # Extra lines go back verbatim, except what would break the block open or vanish.
    out += [x for x in (e.replace("\n", " ") for e in ledger.extra) if x.strip() and not _marker(x)]
    out.append(END)
    return "\n".join(out)


def replace_block(note: str, ledger: Ledger, *, language: str = "en") -> str:
    """The note with one canonical block where the first block stood (the others removed),
    or appended after a blank line. The user's text is kept as it was."""
    block = render_block(ledger, language=language)
    lines = _lines(note)
    blocks = _blocks(lines)
    if not blocks:
        return note + _SEPARATOR + block if note else block
    for first, last, _ in reversed(blocks[1:]):
        note = _remove(note, lines[first].start, lines[last].end)
    return note[: lines[blocks[0][0]].start] + block + note[lines[blocks[0][1]].end :]


def with_last(ledger: Ledger, day: dt.date, how: str = "") -> Ledger:
    """``ledger`` with ``last`` moved to ``day`` if that is newer; the same object otherwise.
    On the same day, ``how`` only fills an empty one."""
    if ledger.last is None or day > ledger.last:
        return dataclasses.replace(ledger, last=day, how=how)
    if day == ledger.last and how and not ledger.how:
        return dataclasses.replace(ledger, how=how)
    return ledger


def with_received(ledger: Ledger, day: dt.date, text: str) -> Ledger:
    """``ledger`` with a ``received:`` line for ``text`` on ``day`` after the others; the same
    object when it holds that line already."""
    line = Received(day, _one_line(text))
    if line in ledger.received:
        return ledger
    return dataclasses.replace(ledger, received=(*ledger.received, line))


def _lines(text: str) -> list[_Line]:
    out, pos = [], 0
    for part in text.split("\n"):
        out.append(_Line(pos, pos + len(part), part))
        pos += len(part) + 1
    return out


def _marker(text: str) -> str | None:
    word = text.strip().lower()
    return word if word in (START, END) else None


def _blocks(lines: list[_Line]) -> list[tuple[int, int, bool]]:
    """(first line, last line, closed) of each block. A block runs to its ``[/netsync]``; one
    without (deleted on a phone) runs to the first blank line, the next block or the end."""
    found: list[tuple[int, int, bool]] = []
    i = 0
    while i < len(lines):
        if _marker(lines[i].text) != START:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and _marker(lines[j].text) is None:
            j += 1
        if j < len(lines) and _marker(lines[j].text) == END:
            found.append((i, j, True))
            i = j + 1
            continue
        j = i + 1
        while j < len(lines) and lines[j].text.strip() and _marker(lines[j].text) is None:
            j += 1
        found.append((i, j - 1, False))
        i = j
    return found


def _remove(note: str, start: int, end: int) -> str:
    """``note`` without the block at ``start:end`` and the line break or separator it owns."""
    before, after = note[:start], note[end:]
    if after.strip():
        rest = after[1:]  # after[0] is the "\n" that ended the block
        if rest.startswith("\n") and (not before or before.endswith(_SEPARATOR)):
            rest = rest[1:]  # blank lines on both sides of the block become one
        return before + rest
    return before[: -len(_SEPARATOR)] if before.endswith(_SEPARATOR) else before.removesuffix("\n")


def _read_line(draft: _Draft, line: str, earlier: set[str]) -> None:
    if not line.strip():
        return
    key, colon, value = line.partition(":")
    name = " ".join(key.split()).lower()
    known = _FIELDS.get(name) if colon else None
    if known is None or not _apply(draft, known, value.strip()):
        if line not in earlier:
            draft.extra.append(line)
        return
    if known in draft.seen and known in ("last", "every", "pause"):
        draft.because(REPEATED)
    draft.seen.add(known)
    if draft.language is not None and (name in _DUTCH) != (draft.language == "nl"):
        draft.because(DUTCH if draft.language == "nl" else ENGLISH)


def _apply(draft: _Draft, known: str, value: str) -> bool:
    """Record one understood line; False (and nothing recorded) when the value does not fit."""
    if known == "gift":
        if value and value not in draft.gifts:
            draft.gifts.append(value)
        return bool(value)
    if known == "every":
        return _apply_every(draft, value)
    head, rest = (value.split(maxsplit=1) + ["", ""])[:2]
    if known == "occasion":
        return _apply_occasion(draft, head, rest)
    if known == "pause" and head.lower() in _NEVER and not rest:
        draft.pause, draft.pause_forever = None, True
        return True
    dated = _date(head, draft.today)
    if dated is None or known == "pause" and rest:
        return False
    day, exact = dated
    if not exact:
        draft.because(DATES)
    if known == "received":
        if Received(day, rest) not in draft.received:
            draft.received.append(Received(day, rest))
    elif known == "pause":
        draft.pause, draft.pause_forever = day, False
    elif draft.last is None or day > draft.last:
        draft.last, draft.how = day, rest
    elif day == draft.last and not draft.how:
        draft.how = rest
    return True


def _apply_occasion(draft: _Draft, head: str, text: str) -> bool:
    when = _yearly(head)
    if when is None:
        dated = _date(head, draft.today)
        if dated is None:
            return False
        day, exact = dated
        if not exact:
            draft.because(DATES)
        when = PartialDate(day.month, day.day, day.year)
    if NoteOccasion(when, text) not in draft.occasions:
        draft.occasions.append(NoteOccasion(when, text))
    return True


def _apply_every(draft: _Draft, value: str) -> bool:
    if value.lower() in _NEVER:
        draft.every, draft.never = None, True
        return True
    try:
        every = parse_cadence(value)
    except ValueError:
        return False
    draft.every, draft.never = every, every is None
    return True


def _date(token: str, today: dt.date) -> tuple[dt.date, bool] | None:
    """An ISO, ``D-M-YYYY`` or relative date, and whether it was written as ``YYYY-MM-DD``."""
    try:
        if token.lower() in _DAYS_AGO:
            day = today - dt.timedelta(days=_DAYS_AGO[token.lower()])
        elif match := _ISO.fullmatch(token):
            day = dt.date(int(match[1]), int(match[2]), int(match[3]))
        elif match := _DMY.fullmatch(token):
            day = dt.date(int(match[3]), int(match[2]), int(match[1]))
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return day, token == day.isoformat()


def _yearly(token: str) -> PartialDate | None:
    match = _YEARLY.fullmatch(token)
    if match is None:
        return None
    month, day = int(match[1]), int(match[2])
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(2000, month)[1]:
        return None  # 2000 is a leap year: --02-29 is a valid yearly date
    return PartialDate(month, day)


def _ledger(draft: _Draft) -> Ledger:
    return Ledger(
        last=draft.last,
        how=draft.how,
        every=draft.every,
        never=draft.never,
        occasions=tuple(draft.occasions),
        gifts=tuple(draft.gifts),
        pause=draft.pause,
        pause_forever=draft.pause_forever,
        extra=tuple(draft.extra),
        needs_rewrite=any(reason != CLOSED for reason in draft.reasons),
        received=tuple(draft.received),
    )


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ").strip()


def _pair(key: str, value: str, text: str = "") -> str:
    text = _one_line(text)
    return f"{key}: {value} {text}" if text else f"{key}: {value}"


def _spell(date: PartialDate) -> str:
    if date.year is None:
        return f"--{date.month:02d}-{date.day:02d}"
    return f"{date.year:04d}-{date.month:02d}-{date.day:02d}"


def read_date(text: str, *, today: dt.date) -> dt.date | None:
    """A date in any spelling a ``last:`` line takes (``2026-11-24``, ``24-11-2026``,
    ``today``, ``gisteren``...), or None: `netsync log --date` reads dates as the block does."""
    found = _date(text.strip(), today)
    return found[0] if found is not None else None


def without_blocks(text: str) -> str:
    """The note with every ``[netsync]`` block taken out, and the separator each one owns:
    the user's text as ``parse_note`` reads it (`netsync remove --notes`)."""
    lines = _lines(text)
    for first, last, _ in reversed(_blocks(lines)):
        text = _remove(text, lines[first].start, lines[last].end)
    return text
