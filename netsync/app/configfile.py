"""The commented config file that ``netsync init`` writes (SPEC 7).

The template is the example config, which ships inside the package (an installed netsync has
no source tree). ``render`` fills in the chosen values and
keeps every comment, so the written file documents every key just as the example does.
No network; the only file read is the package's own example.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources

HEADER = (
    "# netsync configuration, written by `netsync init`. Change what you like below, then run\n"
    "# `netsync check`; `netsync init --force` writes a new one.\n"
)


def example() -> str:
    """The example config, shipped inside the package (config/netsync.example.toml in the
    source tree is a link to it)."""
    return (resources.files("netsync") / "netsync.example.toml").read_text(encoding="utf-8")


_SECTION = re.compile(r"^\[([A-Za-z_.]+)\]\s*$")
_KEY = re.compile(r"^([A-Za-z_]+) = ")


def render(values: Mapping[tuple[str, str], str]) -> str:
    """The example with ``values[(section, key)]`` (strings) in place of the example's values.

    Raises KeyError for a key the example does not have, so a value never goes missing.
    """
    # The example's first two lines say "copy this file"; this file is the copy.
    lines = example().splitlines(keepends=True)[2:]
    out = [HEADER]
    section = ""
    left = dict(values)
    for line in lines:
        header = _SECTION.match(line)
        if header:
            section = header.group(1)
        key = _KEY.match(line)
        if key and (section, key.group(1)) in left:
            line = f"{key.group(1)} = {toml_string(left.pop((section, key.group(1))))}\n"
        out.append(line)
    if left:
        raise KeyError(f"not in the example config: {sorted(left)}")
    return "".join(out)


def toml_string(value: str) -> str:
    """A TOML basic string (TOML 1.0: escape backslash, quote and control characters)."""
    out = ['"']
    for char in value:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)
