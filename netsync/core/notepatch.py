"""Read and rewrite the NOTE of a raw vCard as text, leaving every other byte alone (SPEC 1).

Owns: the NOTE text of a card (``read_note``), putting a new NOTE text back
(``patch_note``), and the check that refuses a patch which would change anything but NOTE
(``PatchError``). vobject is no use here: it re-serialises the whole card and cuts NOTE at
an unescaped comma (py-vobject #55).

Decisions the SPEC leaves open (also in the README):

- Several NOTE properties (old Android exports; DAVx5's test card) read as one text joined by
  a blank line, empty ones skipped. A patch rewrites only the one NOTE whose text changes
  (the one holding the block, else the last) and leaves the others byte for byte; when the
  new text cannot be had that way, the first NOTE gets the whole text and the others go, as
  DAVx5 does when the contact is edited on Android.
- vCard 2.1 has no ``\\n`` escape, so a 2.1 NOTE (or any quoted-printable one) is written
  back as quoted-printable with ``=0D=0A`` line breaks, soft breaks at 75 octets, and its
  CHARSET kept when the text fits it, else ``CHARSET=UTF-8``. A base64 NOTE is refused.
- Text NOTEs are written with RFC 6350 escaping. Apple's ``\\"`` and ``\\:`` read as ``"``
  and ``:`` and are written back bare: the text the user sees is the same, its escaped
  spelling is not. A note whose bytes are not valid in its charset is refused, never guessed.
- A text with more or fewer than one BEGIN:VCARD/END:VCARD is refused (a 2.1 AGENT card
  nested inside is refused too).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import quopri
import re
from collections import Counter
from collections.abc import Iterator

from netsync.core import notes
from netsync.core.model import Ledger
from netsync.core.vcardtext import (
    ContentLine,
    Property,
    escape_text,
    fold,
    newline_of,
    parse_property,
    split_lines,
    unescape_text,
)

_SEPARATOR = "\n\n"  # between the texts of several NOTE properties
_LIMIT = 75  # octets per physical line (RFC 6350 3.2, RFC 2045 6.7 for quoted-printable)
_BOM = "\ufeff"
_ENDING = re.compile(r"(?:\r*\n|\r)\Z")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Every line that parse_property names NOTE starts like this (the group and name patterns of
# vcardtext, then the parameters' ";" or the value's ":").
_MAYBE_NOTE = re.compile("\ufeff?(?:[A-Za-z0-9-]+\\.)?[Nn][Oo][Tt][Ee][;:]")


class PatchError(Exception):
    """A card netsync cannot patch safely. ``reason`` is short and never holds NOTE text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_note(card: str) -> str:
    """The unescaped NOTE text of a raw card ("" when it has none), line breaks as LF."""
    return note_of_lines(split_lines(card))


def note_of_lines(lines: list[ContentLine]) -> str:
    """``read_note`` of a card already split into lines (cards.parse_card splits it once)."""
    texts = (_decode(prop, strict=False) for _, prop in _notes(lines))
    return _SEPARATOR.join(text for text in texts if text)


def note_block_of(card: str, *, today: dt.date, language: str | None = None) -> tuple[str, Ledger]:
    """The user's NOTE text and the ledger of its ``[netsync]`` block."""
    return notes.parse_note(read_note(card), today=today, language=language)


def patch_note(card: str, new_note: str) -> str:
    """``card`` with its NOTE text replaced by ``new_note`` and every other line unchanged.

    Raises PatchError when that cannot be done safely."""
    wanted = new_note.replace("\r\n", "\n").replace("\r", "\n")
    if read_note(card) == wanted:
        return card
    if _SURROGATE.search(wanted):
        raise PatchError("the new NOTE holds bytes that are not UTF-8")
    lines = split_lines(card)
    end = _end_of_card(lines)
    found = list(_notes(lines))
    version21 = any(p.name == "VERSION" and p.value.strip() == "2.1" for p in _props(lines))
    newline = newline_of(card)
    if not found:
        head = "NOTE;ENCODING=QUOTED-PRINTABLE" if version21 else "NOTE"
        new_line = _render(head, wanted, quoted=version21, newline=newline)
        return _checked(card, _join(lines, {end: new_line + lines[end].raw}), wanted)
    failure = PatchError("the new NOTE does not read back as written")
    for choice in _choices(found, wanted):
        result = _rewrite(lines, found, choice, version21=version21, newline=newline)
        if result is not None:
            try:
                return _checked(card, result, wanted)
            except PatchError as error:
                failure = error  # the texts around did not line up after all: try the next way
    raise failure


def _props(lines: list[ContentLine]) -> Iterator[Property]:
    for line in lines:
        prop = parse_property(line.text.removeprefix(_BOM))
        if prop is not None:
            yield prop


def _notes(lines: list[ContentLine]) -> Iterator[tuple[int, Property]]:
    for index, line in enumerate(lines):
        if not _MAYBE_NOTE.match(line.text):
            continue  # cheaper than parsing every line of every card on every read
        prop = parse_property(line.text.removeprefix(_BOM))
        if prop is not None and prop.name == "NOTE":
            yield index, prop


def _end_of_card(lines: list[ContentLine]) -> int:
    """The index of the one END:VCARD line; PatchError unless there is exactly one card."""
    begins = ends = 0
    end = -1
    for index, line in enumerate(lines):
        prop = parse_property(line.text.removeprefix(_BOM))
        if prop is not None and prop.value.strip().upper() == "VCARD":
            begins += prop.name == "BEGIN"
            if prop.name == "END":
                ends, end = ends + 1, index
    if begins != 1 or ends != 1:
        raise PatchError("not exactly one BEGIN:VCARD ... END:VCARD (truncated or several cards)")
    return end


def _choices(found: list[tuple[int, Property]], wanted: str) -> Iterator[dict[int, str]]:
    """Ways to spread ``wanted`` over the NOTE properties: {position in found: its text},
    positions left out keep their line. One NOTE changed first, all merged into one last."""
    texts = [_decode(prop, strict=False) for _, prop in found]
    holding = [k for k, text in enumerate(texts) if notes.has_block(text)]
    order = holding + [k for k in reversed(range(len(found))) if k not in holding]
    for k in order:
        prefix = "".join(text + _SEPARATOR for text in texts[:k] if text)
        suffix = "".join(_SEPARATOR + text for text in texts[k + 1 :] if text)
        fits = len(prefix) + len(suffix) <= len(wanted)
        if fits and wanted.startswith(prefix) and wanted.endswith(suffix):
            yield {k: wanted[len(prefix) : len(wanted) - len(suffix)]}
    if len(found) > 1:
        yield {0: wanted} | {k: "" for k in range(1, len(found))}


def _rewrite(
    lines: list[ContentLine],
    found: list[tuple[int, Property]],
    texts: dict[int, str],
    *,
    version21: bool,
    newline: str,
) -> str | None:
    """The card with the NOTEs in ``texts`` rewritten (an empty text beyond the first NOTE
    drops that line); None when one of them is unchanged anyway."""
    replaced: dict[int, str] = {}
    for k, text in texts.items():
        index, prop = found[k]
        old = _decode(prop, strict=True)  # text we cannot read exactly, we do not rewrite
        if k > 0 and len(texts) > 1 and not text:
            replaced[index] = ""
            continue
        if text == old and len(texts) == 1:
            return None
        line = lines[index]
        bom = _BOM if line.text.startswith(_BOM) else ""
        head = line.text[len(bom) : len(line.text) - len(prop.value) - 1]
        if _encoding(prop) in ("B", "BASE64"):
            raise PatchError("the NOTE is base64-encoded")
        quoted = version21 or _encoding(prop) == "QUOTED-PRINTABLE"
        ending = _ENDING.search(line.raw)  # keep the NOTE's own line ending in mixed cards
        own = ending.group(0) if ending else newline
        replaced[index] = bom + _render(head, text, quoted=quoted, newline=own)
    return _join(lines, replaced)


def _join(lines: list[ContentLine], replaced: dict[int, str]) -> str:
    return "".join(replaced.get(i, line.raw) for i, line in enumerate(lines))


def _checked(old: str, new: str, wanted: str) -> str:
    """``new``, after making sure only NOTE lines differ and the NOTE reads ``wanted``."""
    if _other_lines(old) != _other_lines(new):
        raise PatchError("a line other than NOTE would change")
    if read_note(new) != wanted:
        raise PatchError("the new NOTE does not read back as written")
    return new


def _other_lines(card: str) -> Counter[str]:
    lines = split_lines(card)
    notes_at = {index for index, _ in _notes(lines)}
    return Counter(line.raw for i, line in enumerate(lines) if i not in notes_at)


def _encoding(prop: Property) -> str:
    """The NOTE's ENCODING, upper-cased ("" for none); vCard 2.1 may write it bare."""
    for key, value in prop.params:
        if key == "ENCODING" or value.upper() in ("QUOTED-PRINTABLE", "BASE64"):
            return value.strip('"').upper()
    return ""


def _charset(prop: Property) -> str:
    values = prop.param("CHARSET")
    return values[0] if values else ""


def _decode(prop: Property, *, strict: bool) -> str:
    """The text of one NOTE value. ``strict``: PatchError when bytes do not fit the charset."""
    encoding = _encoding(prop)
    if encoding not in ("QUOTED-PRINTABLE", "B", "BASE64"):
        return _lf(_unescape_note(prop.value))
    data = prop.value.encode("utf-8", "surrogateescape")
    try:
        raw = (
            quopri.decodestring(data) if encoding == "QUOTED-PRINTABLE" else base64.b64decode(data)
        )
    except (binascii.Error, ValueError) as error:
        if strict:
            raise PatchError("the NOTE's base64 is broken") from error
        return prop.value
    declared = _charset(prop)
    # vCard 2.1 declares no charset by default; Android writes UTF-8, Outlook Windows-1252.
    for charset in [declared] if declared else ["utf-8", "cp1252"]:
        try:
            return _lf(raw.decode(charset))
        except (LookupError, UnicodeDecodeError):
            pass
    if strict:
        raise PatchError(f"the NOTE is not valid {declared or 'UTF-8 or Windows-1252'}")
    return _lf(raw.decode("utf-8", "replace"))


def _unescape_note(value: str) -> str:
    """unescape_text, and ``\\r`` as a carriage return: SOGo writes the CR LF of a vCard 2.1
    note it stores as 3.0 as ``\\r\\n``, which RFC 6350 leaves undefined and which would
    otherwise read as an "r" before every line break (and hide the block's markers)."""
    if "\\r" not in value and "\\R" not in value:
        return unescape_text(value)
    return _NOTE_ESCAPED.sub(lambda m: "\r" if m[1] in "rR" else unescape_text(m[0]), value)


_NOTE_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _render(head: str, text: str, *, quoted: bool, newline: str) -> str:
    """One NOTE property, folded, ending in ``newline``."""
    if not quoted:
        return fold(f"{head}:{escape_text(text)}", newline=newline, limit=_LIMIT)
    head, charset = _quoted_head(head, text)
    return _quoted_lines(head, text, charset, newline)


def _quoted_head(head: str, text: str) -> tuple[str, str]:
    """``head`` with ENCODING=QUOTED-PRINTABLE, and a CHARSET that can hold ``text``."""
    name, *params = _split_params(head)
    declared = [p for p in params if p.upper().startswith("CHARSET=")]
    charset = declared[0].partition("=")[2].strip('"') if declared else "ascii"
    try:
        text.encode(charset)
    except (LookupError, UnicodeEncodeError):
        charset = "utf-8"
        params = [p for p in params if p not in declared[1:]]
        params = [f"{p[:8]}UTF-8" if p in declared else p for p in params]
        params += [] if declared else ["CHARSET=UTF-8"]
    # One encoding only: a 2.1 NOTE may say ENCODING=8BIT (or bare 8BIT) before it is ours.
    params = [p for p in params if p.upper() not in ("7BIT", "8BIT")]
    params = [
        f"{p[:9]}QUOTED-PRINTABLE" if p.upper().startswith("ENCODING=") else p for p in params
    ]
    if not any(p.upper().endswith("QUOTED-PRINTABLE") for p in params):
        params.append("ENCODING=QUOTED-PRINTABLE")
    return ";".join([name, *params]), charset


def _split_params(head: str) -> list[str]:
    """``NOTE;A=1;B="x;y"`` -> ``["NOTE", "A=1", 'B="x;y"']`` (semicolons in quotes kept)."""
    return re.findall(r'(?:[^;"]|"[^"]*")+', head)


def _quoted_lines(head: str, text: str, charset: str, newline: str) -> str:
    """Quoted-printable (RFC 2045 6.7) on one physical line.

    Not folded with soft breaks: vobject, which Xandikos uses to validate what it stores,
    rejects a 2.1 card whose quoted-printable NOTE continues on a soft-broken line (412
    valid-address-data), while every reader takes a long line. A space or tab at the end is
    encoded, so no reader loses it."""
    tokens: list[str] = []
    for char in text:
        if char == "\n":
            tokens.append("=0D=0A")  # CRLF, as Outlook writes it
        elif "!" <= char <= "~" and char != "=" or char in " \t":
            tokens.append(char)
        else:
            tokens.append("".join(f"={byte:02X}" for byte in char.encode(charset)))
    if tokens and tokens[-1] in (" ", "\t"):
        tokens[-1] = f"={ord(tokens[-1]):02X}"
    return head + ":" + "".join(tokens) + newline
