"""Dates in vCards (SPEC section 3) and the yearly calendar arithmetic of occasions.

Owns: reading every date spelling that clients put into BDAY, ANNIVERSARY and their
vendor-specific cousins into a ``PartialDate`` (month, day, year or None), and finding the
next occurrence(s) of a yearly month/day, with 29 February on 28 February in common years.
Pure: standard library and ``netsync.core.model`` only, no clock.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import re
from collections.abc import Mapping
from typing import Protocol

from netsync.core.model import PartialDate

log = logging.getLogger(__name__)

# Apple's placeholder for "no year" (iOS, macOS; Sabre writes it when down-converting to
# vCard 3). iOS 12.4+ and 17 and Thunderbird's CardBook send it without X-APPLE-OMIT-YEAR,
# so it means "unknown" with or without the parameter, as Nextcloud and Radicale read it.
_APPLE_NO_YEAR = 1604
# The only year-0000 sighting is a Facebook-import bug; a year 0 cannot be real anyway.
_NO_YEAR = 0
_LEAP_PROBE = 2000  # validate month/day against a leap year, like Sabre/Nextcloud

_WITH_YEAR = re.compile(r"(?P<y>\d{4})-?(?P<m>\d{2})-?(?P<d>\d{2})")
_WITHOUT_YEAR = re.compile(r"--(?P<m>\d{2})-?(?P<d>\d{2})")


class _HasParams(Protocol):
    """A parsed property (``vcardtext.Property``): parameter values by upper-case name."""

    def param(self, name: str) -> list[str]: ...


Params = Mapping[str, list[str]] | _HasParams


def parse_vcard_date(value: str, params: Params) -> PartialDate | None:
    """Read a vCard date value into month, day and (when known) year.

    Accepts ``YYYY-MM-DD``, ``YYYYMMDD``, ``--MMDD``, ``--MM-DD`` and date-times with or
    without a zone (the date as written is used). Years 1604 and 0000, and a year equal to
    ``X-APPLE-OMIT-YEAR``, mean "year unknown". ``VALUE=text``, empty and unreadable values
    give None (logged at debug level, never raised).
    """
    text = value.strip().replace("\\", "")  # Apple escapes colons in date-times: T20\:12
    if _param(params, "VALUE") == "text":
        log.debug("skipping a date written as text (VALUE=text)")
        return None
    if not text:
        log.debug("skipping an empty date")
        return None
    date_part = re.split("[Tt]", text, maxsplit=1)[0]  # a date-time: the date as written
    match = _WITH_YEAR.fullmatch(date_part) or _WITHOUT_YEAR.fullmatch(date_part)
    if match is None:
        log.debug("skipping an unreadable date %r", text[:40])
        return None
    month, day = int(match["m"]), int(match["d"])
    if not _valid_month_day(month, day):
        log.debug("skipping a date with no such month/day %r", text[:40])
        return None
    year = _known_year(match.groupdict().get("y"), month, day, _param(params, "X-APPLE-OMIT-YEAR"))
    return PartialDate(month, day, year)


def _param(params: Params, name: str) -> str:
    """The first value of a parameter, lower-cased; "" when absent. Names match any case."""
    if isinstance(params, Mapping):
        values = next((v for k, v in params.items() if k.upper() == name.upper()), [])
    else:
        values = params.param(name.upper())
    return values[0].strip().lower() if values else ""


def _valid_month_day(month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(_LEAP_PROBE, month)[1]


def _known_year(raw: str | None, month: int, day: int, omit: str) -> int | None:
    """The year of the date, or None when the card says (in any of its ways) it is unknown."""
    if raw is None:
        return None
    year = int(raw)
    if year in (_APPLE_NO_YEAR, _NO_YEAR) or (omit.isdigit() and int(omit) == year):
        return None
    if day > calendar.monthrange(year, month)[1]:
        # 29 February of a common year (Nextcloud's tests carry 1902-02-29): keep the day,
        # drop a year that cannot be right, so no one builds date(1902, 2, 29).
        log.debug("dropping year %d: no 29 February that year", year)
        return None
    return year


def next_occurrence(month: int, day: int, *, on_or_after: dt.date) -> dt.date:
    """The first yearly occurrence of month/day on or after ``on_or_after``.

    29 February falls on 28 February in common years (Nextcloud's BYMONTHDAY=-1 choice).
    Raises ValueError for a month/day that exists in no year.
    """
    if not _valid_month_day(month, day):
        raise ValueError(f"no such month/day: {month:02d}-{day:02d}")
    for year in (on_or_after.year, on_or_after.year + 1):
        candidate = _in_year(year, month, day)
        if candidate >= on_or_after:
            return candidate
    raise AssertionError("unreachable: next year's occurrence is always later")


def occurrences(month: int, day: int, *, start: dt.date, days: int) -> list[dt.date]:
    """Every yearly occurrence of month/day in ``[start, start + days)``, in order."""
    end = start + dt.timedelta(days=days)
    out: list[dt.date] = []
    current = next_occurrence(month, day, on_or_after=start)
    while current < end:
        out.append(current)
        current = _in_year(current.year + 1, month, day)
    return out


def _in_year(year: int, month: int, day: int) -> dt.date:
    return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))
