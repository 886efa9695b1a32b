"""The fast paths of netsync.core.vcardtext read exactly as the plain loops they replaced.

split_lines, parse_property and unescape_text run for every line of every card in a cycle, so
they take shortcuts (regexes, str.split) where the text allows; the loops below are the
original character-by-character readings, kept as the reference.
"""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from netsync.core.vcardtext import ContentLine, Property, parse_property, split_lines, unescape_text

# Texts made of the characters that matter to these readers, and a few that do not.
_ALPHABET = st.sampled_from(list('\r\n \t:;"=\\,.aN-1') + ["QUOTED-PRINTABLE", "\ufeff", "é"])
_TEXTS = st.lists(_ALPHABET, max_size=60).map("".join)


def _reference_split_lines(text: str) -> list[ContentLine]:
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
        if raw and qp:
            raw.append(line)
            unfolded[-1] = unfolded[-1][:-1]
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


def _reference_unescape(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _reference_parse_property(text: str) -> Property | None:
    match = re.match(r"^(?:(?P<group>[A-Za-z0-9-]+)\.)?(?P<name>[A-Za-z0-9_/-]+)", text)
    if not match:
        return None
    rest = text[match.end() :]
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
    for item in _reference_split_quoted(head, ";")[1:] if head.startswith(";") else []:
        if not item:
            continue
        if "=" in item:
            key, _, raw = item.partition("=")
            params.append((key.strip().upper(), raw))
        else:
            params.append(("TYPE", item))
    if head and not head.startswith(";"):
        return None
    return Property(match["group"] or "", match["name"].upper(), tuple(params), value)


def _reference_split_quoted(text: str, sep: str) -> list[str]:
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


@given(_TEXTS)
@example("BEGIN:VCARD\r\nNOTE:a\r\n  b\r\n\tc\r\r\nEND:VCARD")
@example("a\r\r b\n\r c")
@example(" leading\r\n continuation")
@example("NOTE;ENCODING=QUOTED-PRINTABLE:a=\r\n b=\r\nc\r\nX:y")
@example("")
@example("\n")
def test_split_lines_reads_as_the_loop_did(text: str) -> None:
    assert split_lines(text) == _reference_split_lines(text)


@given(_TEXTS)
@example("a\\")
@example("\\\\n\\N\\,\\;\\\n")
def test_unescape_text_reads_as_the_loop_did(value: str) -> None:
    assert unescape_text(value) == _reference_unescape(value)


@given(st.sampled_from(["X", "item1.X-ABDATE", "TEL", "N", ""]), _TEXTS)
@example("X", ';A="a:b":c')
@example("X", ';A="x;y";B=1,"2,3":v')
@example("TEL", ";CELL;:1")
def test_parse_property_reads_as_the_loop_did(name: str, rest: str) -> None:
    prop = parse_property(name + rest)
    assert prop == _reference_parse_property(name + rest)
    if prop is not None:
        for key in {key for key, _ in prop.params}:
            expected = [
                v.strip('"')
                for k, raw in prop.params
                if k == key
                for v in _reference_split_quoted(raw, ",")
            ]
            assert prop.param(key) == expected
