"""vCard text as providers rewrite it: unfold, split, refold. Just enough for the stand-ins."""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = re.compile(r"^(?:(?P<group>[A-Za-z0-9-]+)\.)?(?P<name>[A-Za-z0-9-]+)")


@dataclass
class Line:
    group: str
    name: str  # upper case
    params: list[tuple[str, str]]  # (NAME, value) as written
    value: str

    def render(self) -> str:
        head = (f"{self.group}." if self.group else "") + self.name
        head += "".join(f";{k}={v}" if v else f";{k}" for k, v in self.params)
        return f"{head}:{self.value}"


def unfold(text: str) -> list[str]:
    return re.sub(r"\r?\n[ \t]", "", text).replace("\r\n", "\n").split("\n")


def parse(text: str) -> list[Line]:
    out = []
    for raw in unfold(text):
        if not raw.strip():
            continue
        m = _NAME.match(raw)
        if m is None:
            continue
        rest = raw[m.end() :]
        params: list[tuple[str, str]] = []
        while rest.startswith(";"):
            p = re.match(r';([^;:=]+)(?:=("[^"]*"|[^;:]*))?', rest)
            if p is None:
                break
            params.append((p.group(1).upper(), p.group(2) or ""))
            rest = rest[p.end() :]
        value = rest[1:] if rest.startswith(":") else rest
        out.append(Line(m.group("group") or "", m.group("name").upper(), params, value))
    return out


def fold(line: str, width: int = 75) -> str:
    """RFC 6350 section 3.2: lines longer than 75 octets folded (not inside a UTF-8 char)."""
    data = line.encode("utf-8")
    if len(data) <= width:
        return line
    parts = []
    limit = width
    while data:
        cut = min(limit, len(data))
        while cut < len(data) and (data[cut] & 0xC0) == 0x80:
            cut -= 1
        parts.append(data[:cut].decode("utf-8"))
        data = data[cut:]
        limit = width - 1
    return "\r\n ".join(parts)


def render(lines: list[Line]) -> str:
    return "".join(fold(line.render()) + "\r\n" for line in lines)


def value(text: str, name: str) -> str:
    return next((line.value for line in parse(text) if line.name == name), "")
