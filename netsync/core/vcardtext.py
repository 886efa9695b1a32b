"""vCard content lines as text: unfold, split into properties, escape and fold.

vobject rewrites whole cards when it serialises them and cuts NOTE at unescaped commas
(py-vobject #55), so netsync reads and patches cards at this level instead. Nothing here
changes a line it was not asked to change: ``ContentLine.raw`` keeps the physical lines,
folding and line endings exactly as the server sent them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = re.compile(r"^(?:(?P<group>[A-Za-z0-9-]+)\.)?(?P<name>[A-Za-z0-9_/-]+)")


@dataclass(frozen=True)
class ContentLine:
    """One logical line of a card: the unfolded text and the physical lines it came from."""

    raw: str  # physical lines with their original line endings, continuation lines included
    text: str  # unfolded, without the line ending

    @property
    def parsed(self) -> Property | None:
        return parse_property(self.text)


@dataclass(frozen=True)
class Property:
    group: str  # "" when there is none ("item1" in "item1.X-ABDATE")
    name: str  # upper-cased
    params: tuple[
        tuple[str, str], ...
    ]  # (upper-cased name, raw value); bare "TEL;CELL" -> ("TYPE", "CELL")
    value: str  # raw, still escaped

    def param(self, name: str) -> list[str]:
        """All values of a parameter, split at commas outside quotes, quotes removed."""
        out: list[str] = []
        for key, raw in self.params:
            if key == name:
                out.extend(v.strip('"') for v in _split_outside_quotes(raw, ","))
        return out

    def has_type(self, value: str) -> bool:
        return value.lower() in (t.lower() for t in self.param("TYPE"))


def split_lines(text: str) -> list[ContentLine]:
    """Split a card into logical lines, keeping every byte of each in ``raw``.

    Lines end with CRLF, LF or CR alone (an iOS 5 export ends them with CR CR LF); a line
    starting with a space or a tab continues the previous one (RFC 6350 3.2). vCard 2.1
    quoted-printable soft breaks (a value ending in ``=``) also continue onto the next physical
    line.
    """
    if "QUOTED-PRINTABLE" in text.upper():
        return _split_lines_qp(text)
    # No soft breaks possible: one regex match per logical line (a line and its
    # continuations). No line's content holds a CR or LF, so rstrip takes exactly the last
    # ending, and every ending left is a fold.
    out: list[ContentLine] = []
    for raw in _LOGICAL_LINE.findall(text):
        if raw:  # not the empty match at the very end
            out.append(ContentLine(raw, _unfold(raw.rstrip("\r\n"))))
    return out


_PHYSICAL_END = r"(?:\r*\n|\r|\Z)"
_LOGICAL_LINE = re.compile(rf"[^\r\n]*{_PHYSICAL_END}(?:[ \t][^\r\n]*{_PHYSICAL_END})*")
_FOLD = re.compile(r"(?:\r*\n|\r)[ \t]")


def _unfold(line: str) -> str:
    """One logical line without its ending: every line ending left in it is a fold."""
    if "\r" not in line or ("\r\r" not in line and line.count("\r") == line.count("\r\n")):
        # Only CRLF and LF endings (nearly every card): str.replace is many times faster than
        # the regex on a long folded PHOTO.
        return line.replace("\r\n", "\n").replace("\n ", "").replace("\n\t", "")
    return _FOLD.sub("", line)


def _split_lines_qp(text: str) -> list[ContentLine]:
    """split_lines, physical line by physical line, for cards that may hold soft breaks."""
    physical = re.findall(r"[^\r\n]*(?:\r*\n|\r|$)", text)
    if physical and physical[-1] == "":
        physical.pop()
    out: list[ContentLine] = []
    raw: list[str] = []
    unfolded: list[str] = []
    qp = False

    def flush() -> None:
        if raw:
            out.append(ContentLine("".join(raw), "".join(unfolded)))
            raw.clear()
            unfolded.clear()

    for line in physical:
        body = line.rstrip("\r\n")
        # A soft break comes first: after "=" the next line is quoted-printable data even
        # when it starts with a space (RFC 2045 6.7 lets a line start with a literal one).
        if raw and qp:
            raw.append(line)
            unfolded[-1] = unfolded[-1][:-1]  # drop the soft-break "="
            unfolded.append(body)
            qp = body.endswith("=")
            continue
        if raw and body[:1] in (" ", "\t"):
            raw.append(line)
            unfolded.append(body[1:])
            continue
        flush()
        raw.append(line)
        unfolded.append(body)
        qp = body.endswith("=") and "QUOTED-PRINTABLE" in body.split(":", 1)[0].upper()
    flush()
    return out


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    if '"' not in text:
        return text.split(sep)
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def parse_property(text: str) -> Property | None:
    """Split an unfolded content line into group, name, parameters and raw value.

    Returns None for a line that is not a property (blank, or without a colon).
    """
    match = _NAME.match(text)
    if not match:
        return None
    rest = text[match.end() :]
    # The value starts at the first colon outside double quotes (parameter values may hold
    # colons, such as X-SERVICE-TYPE="a:b" from iOS).
    colon = rest.find(":")
    if colon < 0:
        return None
    if '"' not in rest[:colon]:
        head, value = rest[:colon], rest[colon + 1 :]
    else:
        quoted = False
        for i, ch in enumerate(rest):
            if ch == '"':
                quoted = not quoted
            elif ch == ":" and not quoted:
                head, value = rest[:i], rest[i + 1 :]
                break
        else:
            return None
    params: list[tuple[str, str]] = []
    for item in _split_outside_quotes(head, ";")[1:] if head.startswith(";") else []:
        if not item:
            continue
        if "=" in item:
            key, _, raw = item.partition("=")
            params.append((key.strip().upper(), raw))
        else:
            params.append(("TYPE", item))  # vCard 2.1 bare parameter: TEL;CELL
    if head and not head.startswith(";"):
        return None
    return Property(match["group"] or "", match["name"].upper(), tuple(params), value)


def unescape_text(value: str) -> str:
    """Undo TEXT escaping: ``\\n`` ``\\N`` newline, ``\\,`` ``\\;`` ``\\\\``; other pairs keep
    the character after the backslash (Apple writes ``\\"`` and ``\\:``); a lone trailing
    backslash stays."""
    if "\\" not in value:
        return value
    return _ESCAPED.sub(_unescaped, value)


_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def _unescaped(match: re.Match[str]) -> str:
    char = match.group(1)
    return "\n" if char in "nN" else char


def escape_text(value: str) -> str:
    """TEXT escaping for writing (RFC 6350 3.4): backslash, comma, semicolon, newline.

    Semicolons and commas are always escaped: iOS cuts a note at an unescaped ``;`` and
    Nextcloud's web UI at an unescaped ``,`` (nextcloud/contacts #2346, #2347).
    """
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")


def fold(line: str, *, newline: str = "\r\n", limit: int = 75) -> str:
    """Fold one logical line at ``limit`` octets, never inside a UTF-8 sequence or an escape
    pair, and end it with ``newline``."""
    data = line.encode("utf-8")
    if len(data) <= limit:
        return line + newline
    pieces: list[str] = []
    start = 0
    budget = limit
    while start < len(data):
        end = min(start + budget, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:
            end -= 1  # do not split a UTF-8 sequence
        piece = data[start:end]
        # Do not end a piece on the backslash of an escape pair: some readers unescape
        # each physical line on its own.
        trailing = len(piece) - len(piece.rstrip(b"\\"))
        if trailing % 2 == 1 and end < len(data):
            end -= 1
            piece = data[start:end]
        pieces.append(piece.decode("utf-8"))
        start = end
        budget = limit - 1  # continuation lines start with a space
    return (newline + " ").join(pieces) + newline


def newline_of(text: str) -> str:
    """The line ending a card uses (its first one), CRLF when it has none. CR CR LF (iOS 5
    exports) counts as one ending, as in ``split_lines``."""
    match = re.search(r"\r*\n|\r", text)
    return match.group(0) if match else "\r\n"
