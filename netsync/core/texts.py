"""What reminders say, in English and Dutch: summaries and descriptions (SPEC section 4).

Pure functions of a contact and an occurrence; no clock, no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from netsync.core.model import ANNIVERSARY, BIRTHDAY, FOLLOW_UP, Contact, Received

NOTE_PREVIEW = 300  # characters of the user's own note shown in a description
RECEIVED_SHOWN = 3  # the latest ``received:`` lines a reminder shows

_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        FOLLOW_UP: "Get in touch with {name}",
        "thank": "Thank {name}: {what}",
        "thank_plain": "Thank {name}",
        "received": "Received: {value}",
        "received_brief": "received: {value}",
        "birthday_age": "{name} turns {n}",
        BIRTHDAY: "{name}'s birthday",
        "anniversary_years": "{name}: {n} years married",
        "anniversary_1": "{name}: 1 year married",
        ANNIVERSARY: "{name}: wedding anniversary",
        "occasion_years": "{name}: {label} ({n} years)",
        "occasion": "{name}: {label}",
        "unlabelled": "a special date",
        "last": "Last contact: {date}",
        "last_how": "Last contact: {date} ({how})",
        "last_never": "Last contact: not recorded yet",
        "phone": "Phone: {value}",
        "email": "E-mail: {value}",
        "gift": "Gift ideas: {value}",
        "note": "Note: {value}",
        "done_event": 'Done? Delete this event, or run: netsync log "{name}"',
        "done_todo": 'Done? Tick it off, or run: netsync log "{name}"',
        "week": "This week",
        "call": "call {names}",
        "more": "{names} and {n} more",
        BIRTHDAY + "_of": "{name}'s birthday {day}",
        ANNIVERSARY + "_of": "{name}'s anniversary {day}",
        "occasion_of": "{name}: {label} {day}",
        "days": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
    },
    "nl": {
        FOLLOW_UP: "Neem contact op met {name}",
        "thank": "Bedank {name}: {what}",
        "thank_plain": "Bedank {name}",
        "received": "Ontvangen: {value}",
        "received_brief": "ontvangen: {value}",
        "birthday_age": "{name} wordt {n}",
        BIRTHDAY: "Verjaardag van {name}",
        "anniversary_years": "{name}: {n} jaar getrouwd",
        "anniversary_1": "{name}: 1 jaar getrouwd",
        ANNIVERSARY: "{name}: trouwdag",
        "occasion_years": "{name}: {label} ({n} jaar)",
        "occasion": "{name}: {label}",
        "unlabelled": "een bijzondere dag",
        "last": "Laatste contact: {date}",
        "last_how": "Laatste contact: {date} ({how})",
        "last_never": "Laatste contact: nog niet vastgelegd",
        "phone": "Telefoon: {value}",
        "email": "E-mail: {value}",
        "gift": "Cadeau-ideeën: {value}",
        "note": "Notitie: {value}",
        "done_event": 'Gedaan? Verwijder deze afspraak, of: netsync log "{name}"',
        "done_todo": 'Gedaan? Vink hem af, of: netsync log "{name}"',
        "week": "Deze week",
        "call": "bel {names}",
        "more": "{names} en nog {n}",
        BIRTHDAY + "_of": "verjaardag {name} {day}",
        ANNIVERSARY + "_of": "trouwdag {name} {day}",
        "occasion_of": "{name}: {label} {day}",
        "days": "maandag dinsdag woensdag donderdag vrijdag zaterdag zondag",
    },
}


def _t(language: str, key: str, **values: object) -> str:
    table = _TEXTS.get(language, _TEXTS["en"])
    return table[key].format(**values)


def follow_up_summary(contact: Contact, *, language: str) -> str:
    return _t(language, FOLLOW_UP, name=contact.name)


def thank_summary(contact: Contact, received: Sequence[Received], *, language: str) -> str:
    """ "Thank Alice Jansen: flowers when I was ill" (what of each line, oldest first)."""
    what = "; ".join(r.text for r in received if r.text)
    if not what:
        return _t(language, "thank_plain", name=contact.name)
    return _t(language, "thank", name=contact.name, what=what)


def latest_received(contact: Contact) -> list[Received]:
    """The latest ``RECEIVED_SHOWN`` received: lines, newest first (note order breaks ties)."""
    lines = list(enumerate(contact.ledger.received))
    lines.sort(key=lambda item: (item[1].day, item[0]), reverse=True)
    return [r for _, r in lines[:RECEIVED_SHOWN]]


def received_line(contact: Contact, *, language: str, brief: bool = False) -> str:
    """ "Received: 2026-11-20 flowers; 2026-10-02 soup" (a description line), or with
    ``brief`` "received: flowers (2026-11-20); ..." (a digest line's tail); "" for none."""
    latest = latest_received(contact)
    if not latest:
        return ""
    if brief:
        value = "; ".join(f"{r.text} ({r.day.isoformat()})".strip() for r in latest)
        return _t(language, "received_brief", value=value)
    value = "; ".join(f"{r.day.isoformat()} {r.text}".strip() for r in latest)
    return _t(language, "received", value=value)


def birthday_summary(contact: Contact, *, age: int | None, language: str) -> str:
    if age is not None and age > 0:
        return _t(language, "birthday_age", name=contact.name, n=age)
    return _t(language, BIRTHDAY, name=contact.name)


def anniversary_summary(contact: Contact, *, years: int | None, language: str) -> str:
    if years == 1:
        return _t(language, "anniversary_1", name=contact.name)
    if years is not None and years > 1:
        return _t(language, "anniversary_years", name=contact.name, n=years)
    return _t(language, ANNIVERSARY, name=contact.name)


def occasion_summary(contact: Contact, *, label: str, years: int | None, language: str) -> str:
    # Apple's "Other" label and Google's unlabelled X-ABDATE arrive without a name.
    label = label or _t(language, "unlabelled")
    if years is not None and years > 0:
        return _t(language, "occasion_years", name=contact.name, label=label, n=years)
    return _t(language, "occasion", name=contact.name, label=label)


def shorten(text: str, limit: int = NOTE_PREVIEW) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def without_last_contact(description: str) -> str | None:
    """The description less its first line when that is the "Last contact" line (in any
    language), else None: what a reminder says besides when contact last happened."""
    first, _, rest = description.partition("\n")
    prefixes = {table[key].split("{")[0] for table in _TEXTS.values() for key in _LAST_KEYS}
    return rest if any(first.startswith(p) for p in prefixes) else None


_LAST_KEYS = ("last", "last_how", "last_never")


def description(contact: Contact, *, language: str, gifts: bool, done_hint: str = "") -> str:
    """What helps to act: last contact and how, phone numbers, e-mail, gift ideas, what they
    gave lately, the note."""
    ledger = contact.ledger
    lines: list[str] = []
    if ledger.last is None:
        lines.append(_t(language, "last_never"))
    elif ledger.how:
        lines.append(_t(language, "last_how", date=ledger.last.isoformat(), how=ledger.how))
    else:
        lines.append(_t(language, "last", date=ledger.last.isoformat()))
    lines.extend(_t(language, "phone", value=phone) for phone in contact.phones)
    lines.extend(_t(language, "email", value=email) for email in contact.emails)
    if gifts and ledger.gifts:
        lines.append(_t(language, "gift", value="; ".join(ledger.gifts)))
    if ledger.received:
        lines.append(received_line(contact, language=language))
    if contact.note.strip():
        lines.append(_t(language, "note", value=shorten(contact.note)))
    if done_hint:
        lines.append(_t(language, done_hint, name=contact.name))
    return "\n".join(lines)


def years_between(year: int | None, on: dt.date) -> int | None:
    return None if year is None else on.year - year


def weekday(day: dt.date, *, language: str) -> str:
    return _t(language, "days").split()[day.weekday()]


def _names(names: list[str], *, language: str, limit: int = 3) -> str:
    if len(names) <= limit:
        return ", ".join(names)
    return _t(language, "more", names=", ".join(names[:limit]), n=len(names) - limit)


def digest_summary(
    follow_ups: list[str], occasions: list[tuple[str, str, str, dt.date]], *, language: str
) -> str:
    """ "This week: call Alice, Bram; Chen's birthday Thursday". ``occasions`` are
    (kind, name, label, day)."""
    parts = []
    if follow_ups:
        parts.append(_t(language, "call", names=_names(follow_ups, language=language)))
    for kind, name, label, day in occasions:
        key = kind + "_of" if kind in (BIRTHDAY, ANNIVERSARY) else "occasion_of"
        parts.append(
            _t(
                language,
                key,
                name=name,
                label=label or _t(language, "unlabelled"),
                day=weekday(day, language=language),
            )
        )
    return f"{_t(language, 'week')}: " + "; ".join(parts)
