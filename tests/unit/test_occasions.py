"""Date spellings of SPEC section 3 and yearly occurrences (netsync.core.occasions)."""

from __future__ import annotations

import calendar
import datetime as dt
import logging

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from netsync.core.model import PartialDate
from netsync.core.occasions import next_occurrence, occurrences, parse_vcard_date
from netsync.core.vcardtext import parse_property

NO_PARAMS: dict[str, list[str]] = {}


@pytest.mark.parametrize(
    ("value", "params", "expected"),
    [
        # ISO extended and basic, with a year
        ("1996-04-15", NO_PARAMS, PartialDate(4, 15, 1996)),
        ("19960415", NO_PARAMS, PartialDate(4, 15, 1996)),
        ("  1980-03-22 ", NO_PARAMS, PartialDate(3, 22, 1980)),
        # no year, vCard 4 style (Google writes these inside vCard 3.0 too)
        ("--0122", NO_PARAMS, PartialDate(1, 22)),
        ("--04-16", NO_PARAMS, PartialDate(4, 16)),
        # date-times: the date as written, whatever the zone
        ("1996-04-15T201243+04:00", NO_PARAMS, PartialDate(4, 15, 1996)),
        ("20150808T143000Z", NO_PARAMS, PartialDate(8, 8, 2015)),
        ("20090808T1430-0500", NO_PARAMS, PartialDate(8, 8, 2009)),
        ("1953-10-15T23:10:00Z", NO_PARAMS, PartialDate(10, 15, 1953)),
        ("2012-06-06T00\\:00\\:00", NO_PARAMS, PartialDate(6, 6, 2012)),  # Apple's \: escape
        ("--0415T0930", NO_PARAMS, PartialDate(4, 15)),
        # Apple's 1604, with and without X-APPLE-OMIT-YEAR (iOS 12.4+, iOS 17, CardBook)
        ("1604-01-22", {"X-APPLE-OMIT-YEAR": ["1604"]}, PartialDate(1, 22)),
        ("1604-10-04", {"VALUE": ["date"]}, PartialDate(10, 4)),
        ("16040101", NO_PARAMS, PartialDate(1, 1)),
        ("16041231", {"x-apple-omit-year": ["1604"]}, PartialDate(12, 31)),
        # year 0000 means unknown
        ("0000-04-15", NO_PARAMS, PartialDate(4, 15)),
        ("00000415", NO_PARAMS, PartialDate(4, 15)),
        # X-APPLE-OMIT-YEAR naming another year: that year is the unknown one
        ("1900-05-01", {"X-APPLE-OMIT-YEAR": ["1900"]}, PartialDate(5, 1)),
        ("1901-05-01", {"X-APPLE-OMIT-YEAR": ["1900"]}, PartialDate(5, 1, 1901)),
        # VALUE=date (any case) is just a date
        ("2012-06-06", {"value": ["date"]}, PartialDate(6, 6, 2012)),
        # 29 February: fine with an unknown year or a leap year
        ("--0229", NO_PARAMS, PartialDate(2, 29)),
        ("1604-02-29", {"X-APPLE-OMIT-YEAR": ["1604"]}, PartialDate(2, 29)),
        ("1996-02-29", NO_PARAMS, PartialDate(2, 29, 1996)),
        # ...in a common year the day is kept and the impossible year dropped
        ("19020229", NO_PARAMS, PartialDate(2, 29)),
        # old but real years stay (Nextcloud's test: year 900)
        ("09001231", NO_PARAMS, PartialDate(12, 31, 900)),
    ],
)
def test_every_spelling_means_a_date(
    value: str, params: dict[str, list[str]], expected: PartialDate
) -> None:
    assert parse_vcard_date(value, params) == expected


@pytest.mark.parametrize(
    ("value", "params"),
    [
        ("circa 1800", {"VALUE": ["text"]}),
        ("1990-01-01", {"VALUE": ["TEXT"]}),  # text is text, even when it looks like a date
        ("", {"VALUE": ["text"]}),  # Google's empty "zero" birthday
        ("", NO_PARAMS),
        ("   ", NO_PARAMS),
        ("circa 1800", NO_PARAMS),
        ("1985-04", NO_PARAMS),  # reduced accuracy: no day
        ("---15", NO_PARAMS),  # day only
        ("1996-13-01", NO_PARAMS),
        ("1996-04-31", NO_PARAMS),
        ("--0230", NO_PARAMS),
        ("--0000", NO_PARAMS),
        ("T102200Z", NO_PARAMS),  # a time, no date
        ("15.04.1996", NO_PARAMS),
        ("1996-04-15junk", NO_PARAMS),
    ],
)
def test_text_and_garbage_are_skipped_with_a_debug_log(
    value: str, params: dict[str, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="netsync.core.occasions"):
        assert parse_vcard_date(value, params) is None
    assert caplog.records and all(r.levelno == logging.DEBUG for r in caplog.records)


def test_parameters_can_come_from_a_parsed_property() -> None:
    prop = parse_property("item7.X-ABDATE;X-APPLE-OMIT-YEAR=1604;type=pref:1604-07-18")
    assert prop is not None
    assert parse_vcard_date(prop.value, prop) == PartialDate(7, 18)
    text = parse_property("BDAY;VALUE=text:circa 1800")
    assert text is not None
    assert parse_vcard_date(text.value, text) is None


@given(st.text(max_size=40), st.sampled_from([NO_PARAMS, {"X-APPLE-OMIT-YEAR": ["x"]}]))
def test_never_raises(value: str, params: dict[str, list[str]]) -> None:
    parsed = parse_vcard_date(value, params)
    assert parsed is None or (1 <= parsed.month <= 12 and 1 <= parsed.day <= 31)


@given(st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)))
def test_both_iso_forms_round_trip(day: dt.date) -> None:
    expected = PartialDate(day.month, day.day, None if day.year == 1604 else day.year)
    assert parse_vcard_date(day.isoformat(), NO_PARAMS) == expected
    assert parse_vcard_date(day.strftime("%Y%m%d").zfill(8), NO_PARAMS) == expected
    assert parse_vcard_date(f"--{day:%m%d}", NO_PARAMS) == PartialDate(day.month, day.day)


@pytest.mark.parametrize(
    ("month", "day", "on_or_after", "expected"),
    [
        (5, 12, dt.date(2026, 5, 12), dt.date(2026, 5, 12)),  # the day itself counts
        (5, 12, dt.date(2026, 5, 13), dt.date(2027, 5, 12)),
        (1, 1, dt.date(2026, 12, 31), dt.date(2027, 1, 1)),  # across the year end
        (12, 31, dt.date(2026, 12, 31), dt.date(2026, 12, 31)),
        (12, 31, dt.date(2027, 1, 1), dt.date(2027, 12, 31)),
        (2, 29, dt.date(2027, 1, 1), dt.date(2027, 2, 28)),  # common year: 28 February
        (2, 29, dt.date(2028, 1, 1), dt.date(2028, 2, 29)),  # leap year: the day itself
        (2, 29, dt.date(2027, 3, 1), dt.date(2028, 2, 29)),
        (2, 29, dt.date(2028, 3, 1), dt.date(2029, 2, 28)),
        (2, 28, dt.date(2028, 2, 29), dt.date(2029, 2, 28)),
    ],
)
def test_next_occurrence(month: int, day: int, on_or_after: dt.date, expected: dt.date) -> None:
    assert next_occurrence(month, day, on_or_after=on_or_after) == expected


@pytest.mark.parametrize(("month", "day"), [(2, 30), (4, 31), (13, 1), (0, 1), (1, 0)])
def test_next_occurrence_refuses_a_day_no_year_has(month: int, day: int) -> None:
    with pytest.raises(ValueError):
        next_occurrence(month, day, on_or_after=dt.date(2026, 1, 1))


@given(
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9997, 12, 31)),
    st.integers(1, 12),
    st.integers(1, 31),
)
@example(dt.date(2027, 3, 1), 2, 29)
@example(dt.date(2028, 2, 29), 2, 29)
@example(dt.date(2100, 2, 28), 2, 29)
def test_next_occurrence_properties(on_or_after: dt.date, month: int, day: int) -> None:
    leap = dt.date(2000, month, 1) + dt.timedelta(days=day - 1)
    if leap.month != month:
        return  # no such month/day
    found = next_occurrence(month, day, on_or_after=on_or_after)
    assert on_or_after <= found < on_or_after + dt.timedelta(days=366)
    assert found.month == month
    leap_day_in_common_year = (month, day) == (2, 29) and not calendar.isleap(found.year)
    assert found.day == (28 if leap_day_in_common_year else day)


def test_occurrences_within_the_window() -> None:
    start = dt.date(2026, 6, 1)
    assert occurrences(6, 1, start=start, days=365) == [dt.date(2026, 6, 1)]
    assert occurrences(5, 31, start=start, days=365) == [dt.date(2027, 5, 31)]
    assert occurrences(5, 31, start=start, days=364) == []
    assert occurrences(6, 1, start=start, days=366) == [dt.date(2026, 6, 1), dt.date(2027, 6, 1)]
    assert occurrences(2, 29, start=dt.date(2027, 1, 1), days=3 * 365 + 1) == [
        dt.date(2027, 2, 28),
        dt.date(2028, 2, 29),
        dt.date(2029, 2, 28),
    ]
    assert occurrences(6, 1, start=start, days=0) == []
