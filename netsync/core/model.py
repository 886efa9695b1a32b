"""The values the core passes around: contacts, the NOTE ledger, reminders, plan settings.

Everything here is a frozen dataclass with no behaviour beyond small, pure helpers, so the
planner, the reconciler and the renderers can be tested without a server or a clock.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field

FOLLOW_UP = "follow-up"
BIRTHDAY = "birthday"
ANNIVERSARY = "anniversary"
OCCASION = "occasion"
DIGEST = "digest"  # the week at a glance, one event on Monday
KINDS = (FOLLOW_UP, BIRTHDAY, ANNIVERSARY, OCCASION, DIGEST)

UID_PREFIX = "netsync-"

_UNIT_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}


@dataclass(frozen=True)
class Cadence:
    """How often to get in touch: ``count`` of ``unit`` (``d``, ``w``, ``m`` or ``y``)."""

    count: int
    unit: str = "d"

    def after(self, day: dt.date) -> dt.date:
        """The date one cadence after ``day`` (months and years by the calendar)."""
        if self.unit == "d":
            return day + dt.timedelta(days=self.count)
        if self.unit == "w":
            return day + dt.timedelta(weeks=self.count)
        months = self.count * (12 if self.unit == "y" else 1)
        index = day.month - 1 + months
        year, month = day.year + index // 12, index % 12 + 1
        return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))

    @property
    def approx_days(self) -> int:
        return max(1, self.count * _UNIT_DAYS[self.unit])

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"


@dataclass(frozen=True)
class PartialDate:
    """A calendar date whose year may be unknown (``--MM-DD``, Apple's 1604, year 0000)."""

    month: int
    day: int
    year: int | None = None


@dataclass(frozen=True)
class NoteOccasion:
    """An ``occasion:`` line of the block: one-off when ``date.year`` is set, else yearly."""

    date: PartialDate
    text: str


@dataclass(frozen=True)
class Received:
    """A ``received:`` line: something the person gave or did for the user on ``day``."""

    day: dt.date
    text: str


@dataclass(frozen=True)
class Ledger:
    """What the ``[netsync]`` block in a contact's NOTE says (SPEC section 2).

    ``never``: ``every: never``. ``pause_forever``: ``pause: never``. ``received``: the
    ``received:`` lines, in note order. ``extra``: lines netsync does not understand, kept
    verbatim and in order. ``needs_rewrite``: the block says something in a form that must
    not stay (a phone-typed date such as ``last: today`` or ``24-11-2026``, a Dutch key where
    English is configured, two blocks merged), so the next cycle should rewrite it.
    """

    last: dt.date | None = None
    how: str = ""
    every: Cadence | None = None
    never: bool = False
    occasions: tuple[NoteOccasion, ...] = ()
    gifts: tuple[str, ...] = ()
    pause: dt.date | None = None
    pause_forever: bool = False
    extra: tuple[str, ...] = ()
    needs_rewrite: bool = False
    received: tuple[Received, ...] = ()


@dataclass(frozen=True)
class DateFact:
    """A date found in the vCard: a birthday, an anniversary, or a labelled yearly occasion."""

    kind: str  # BIRTHDAY | ANNIVERSARY | OCCASION
    date: PartialDate
    label: str = ""  # the X-ABLabel of a custom X-ABDATE ("Wedding"); "" otherwise


@dataclass(frozen=True)
class Contact:
    """One person (or organisation) as the planner needs it."""

    uid: str
    name: str
    href: str = ""
    etag: str = ""
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    is_org: bool = False
    dates: tuple[DateFact, ...] = ()
    note: str = ""  # the user's own NOTE text, outside the block, unescaped
    ledger: Ledger = field(default_factory=Ledger)


@dataclass(frozen=True)
class Reminder:
    """One calendar object netsync wants to exist: an event, or a task.

    All-day (``at`` None) as the planner makes it, or timed at ``at`` (local wall-clock
    time, written without a zone) when it was written too late for its all-day alarms to
    ring (see rings.py). ``alarms`` are offsets from the start: before the start of the day
    for an all-day reminder (negative ``timedelta``s: ``-15h`` = 09:00 the day before), at
    or before ``at`` for a timed one. ``planned`` is the day netsync put a follow-up on; a
    follow-up whose ``day`` differs from ``planned`` was moved by the user. ``placed`` is the
    date of the cycle that put it there (see planner.plan_follow_ups).
    """

    uid: str
    kind: str
    contact_uid: str
    day: dt.date
    summary: str
    description: str = ""
    alarms: tuple[dt.timedelta, ...] = ()
    todo: bool = False
    planned: dt.date | None = None
    placed: dt.date | None = None
    at: dt.time | None = None


@dataclass(frozen=True)
class StoredReminder:
    """A netsync-owned object as read from the calendar."""

    href: str
    etag: str
    reminder: Reminder
    completed: dt.date | None = None  # a task ticked off on the phone: the day it was done


@dataclass(frozen=True)
class PlanSettings:
    """The settings the planner reads (from ``[follow_up]`` and ``[locale]``)."""

    every: Cadence = Cadence(90)
    categories: tuple[tuple[str, Cadence | None], ...] = ()  # None = never
    max_per_day: int = 3
    horizon_days: int = 14
    as_todo: bool = False
    language: str = "en"
    occasion_horizon_days: int = 365
    digest: bool = True
    thank_within: Cadence | None = Cadence(14)  # a ``received:`` this recent asks for thanks
