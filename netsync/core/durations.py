"""Parse the two spellings of time spans users type: cadences and durations.

A cadence (``"90d"``, ``"2 w"``, ``"3m"``, ``"1y"``, ``"never"``) is how often to get in touch;
``m`` is months. A duration (``"30s"``, ``"15m"``, ``"1h"``, ``"2d"``) is a daemon interval or a
timeout; ``m`` is minutes. Pure and standard-library only, so the NOTE parser can reuse it.
"""

from __future__ import annotations

import re

from netsync.core.model import Cadence

_CADENCE = re.compile(r"(\d+)\s*([dwmy])", re.IGNORECASE)
_DURATION = re.compile(r"(\d+)\s*([smhd])", re.IGNORECASE)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_cadence(text: str) -> Cadence | None:
    """``"30d"``, ``"2 w"``, ``"3M"``, ``"1y"`` -> a Cadence; ``"never"`` -> None.

    Raises ValueError for anything else, including a count of 0.
    """
    cleaned = text.strip()
    if cleaned.lower() == "never":
        return None
    match = _CADENCE.fullmatch(cleaned)
    if match is None or int(match[1]) < 1:
        raise ValueError(f'not a cadence: {text!r} (use e.g. "30d", "2w", "3m", "1y" or "never")')
    return Cadence(int(match[1]), match[2].lower())


def parse_duration(text: str) -> int:
    """``"30s"``, ``"15m"``, ``"1h"``, ``"2d"`` -> seconds (at least 1).

    Raises ValueError for anything else, including a count of 0.
    """
    match = _DURATION.fullmatch(text.strip())
    if match is None or int(match[1]) < 1:
        raise ValueError(f'not a duration: {text!r} (use e.g. "30s", "15m", "1h")')
    return int(match[1]) * _SECONDS[match[2].lower()]
