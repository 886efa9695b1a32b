"""One vCard resource -> the ``Contact`` the planner needs (SPEC sections 3 and 5).

Owns: deciding whether a resource is one usable card (``CardError`` with a short reason
otherwise), and reading its identity, name, e-mail, phones, categories, organisation flag and
dates. The NOTE is read by ``notepatch``/``notes``. Cards are read as text with
``netsync.core.vcardtext``, not vobject: vobject raises on byte-order marks, on names such as
``X-MESSAGING/XMPP-ALL`` and on vCard 2.1 quoted-printable, all of which real exports carry.
"""

from __future__ import annotations

import datetime as dt
import json
import quopri
from collections.abc import Iterable, Sequence

from netsync.core import notepatch, notes
from netsync.core.model import (
    ANNIVERSARY,
    BIRTHDAY,
    OCCASION,
    Cadence,
    Contact,
    DateFact,
    Ledger,
    NoteOccasion,
    PartialDate,
    Received,
)
from netsync.core.occasions import parse_vcard_date
from netsync.core.vcardtext import ContentLine, Property, split_lines, unescape_text

# The anniversary properties of vCard 4 (ANNIVERSARY, also seen inside 3.0 from DAVx5) and of
# the vendors that had none in 3.0: Sabre/Nextcloud and rcmcarddav/Thunderbird add-ons
# (X-ANNIVERSARY), Evolution, KAddressBook, Outlook.
_ANNIVERSARY_NAMES = frozenset(
    {
        "ANNIVERSARY",
        "X-ANNIVERSARY",
        "X-EVOLUTION-ANNIVERSARY",
        "X-KADDRESSBOOK-X-ANNIVERSARY",
        "X-MS-ANNIVERSARY",
    }
)
# Google wraps phone numbers in bidi embedding marks (U+202D ... U+202C); strip those and
# their relatives so numbers compare and dial as typed.
_BIDI = str.maketrans("", "", "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class CardError(Exception):
    """A resource that is not one usable contact. The message is a short reason, safe to log
    (it never holds NOTE text)."""


def parse_card(
    text: str, *, href: str = "", etag: str = "", today: dt.date, language: str | None = None
) -> Contact:
    """Read one vCard resource. Raises CardError when it is not exactly one card with a UID
    and a name (FN, else N, else ORG). ``today`` resolves a phone-typed ``last: today``;
    ``language`` ("en"/"nl"), when given, marks a block in the other language for rewriting."""
    # Split once: the properties and the NOTE come from the same lines (a BOM from a Windows
    # export only touches the first line, and the NOTE reader skips one anyway).
    lines = split_lines(text.removeprefix("\ufeff"))
    props = _card_properties(lines)
    uid = unescape_text(_first(props, "UID")).strip()
    if not uid:
        raise CardError("no UID")
    name = _name(props)
    note, ledger = notes.parse_note(notepatch.note_of_lines(lines), today=today, language=language)
    return Contact(
        uid=uid,
        name=name,
        href=href,
        etag=etag,
        emails=_unique(_strip_scheme(v, "mailto:") for v in _texts(props, "EMAIL")),
        phones=_unique(_strip_scheme(v.translate(_BIDI), "tel:") for v in _texts(props, "TEL")),
        categories=_unique(c for v in _all(props, "CATEGORIES") for c in _list(v)),
        is_org=_is_org(props, name),
        dates=_dates(props),
        note=note,
        ledger=ledger,
    )


def card_dates(text: str) -> tuple[DateFact, ...]:
    """The birthdays, anniversaries and labelled occasions of one card (no UID needed).
    Raises CardError when the text is not exactly one card."""
    return _dates(_card_properties(split_lines(text.removeprefix("\ufeff"))))


def _card_properties(lines: Sequence[ContentLine]) -> list[Property]:
    """The properties of the one card in ``lines``, BEGIN/END excluded."""
    props: list[Property] = []
    depth = cards = 0
    for line in lines:
        prop = line.parsed
        if prop is None:
            continue
        marker = prop.name in ("BEGIN", "END") and prop.value.strip().upper() == "VCARD"
        if marker and prop.name == "BEGIN":
            depth += 1
            cards += depth == 1  # a vCard 2.1 AGENT may nest a card; it is not a second one
        elif marker:
            depth = max(depth - 1, 0)
        elif depth == 1:
            props.append(prop)
    if cards == 0:
        raise CardError("not a vCard (no BEGIN:VCARD)")
    if cards > 1:
        raise CardError(f"{cards} vCards in one resource")
    if depth:
        raise CardError("not a vCard (truncated: no END:VCARD)")
    return props


def _decoded(prop: Property) -> str:
    """The value with vCard 2.1 quoted-printable undone (old Android and Outlook exports);
    TEXT escaping is still in place."""
    encodings = {v.upper() for v in prop.param("ENCODING") + prop.param("TYPE")}
    if "QUOTED-PRINTABLE" not in encodings:
        return prop.value
    data = quopri.decodestring(prop.value.encode("utf-8"))
    # vCard 2.1 declares no charset by default; Android writes UTF-8, Outlook Windows-1252.
    for charset in prop.param("CHARSET")[:1] or ["utf-8", "cp1252"]:
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return data.decode("utf-8", errors="replace")


def _all(props: Sequence[Property], name: str) -> list[str]:
    """The decoded, still escaped values of every property called ``name`` (any group)."""
    return [_decoded(p) for p in props if p.name == name]


def _first(props: Sequence[Property], name: str) -> str:
    return next(iter(_all(props, name)), "")


def _texts(props: Sequence[Property], name: str) -> list[str]:
    return [unescape_text(v).strip() for v in _all(props, name)]


def _split(value: str, sep: str) -> list[str]:
    """Split an escaped value at separators not preceded by a backslash; parts stay escaped."""
    if "\\" not in value:
        return value.split(sep)
    parts, current, i = [], [], 0
    while i < len(value):
        if value[i] == "\\":
            current.append(value[i : i + 2])
            i += 2
            continue
        if value[i] == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(value[i])
        i += 1
    parts.append("".join(current))
    return parts


def _list(value: str) -> list[str]:
    """A comma-separated TEXT list (CATEGORIES), unescaped, blanks dropped."""
    return [item for item in (unescape_text(v).strip() for v in _split(value, ",")) if item]


def _components(value: str) -> list[str]:
    """A structured value (N, ORG): components unescaped, a component's list items joined
    by a space ("Richter,James" in an iPhone N)."""
    return [" ".join(_list(component)) for component in _split(value, ";")]


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    """Non-empty values in first-seen order, without repeats."""
    return tuple(dict.fromkeys(value for value in values if value))


def _strip_scheme(value: str, scheme: str) -> str:
    """Drop a URI scheme (vCard 4 writes TEL;VALUE=uri:tel:+1-555..., EMAIL as mailto:)."""
    value = value.strip()
    return value[len(scheme) :].strip() if value.lower().startswith(scheme) else value


def _name(props: Sequence[Property]) -> str:
    """FN; else the personal name in N (vCard 2.1 does not require FN); else the ORG."""
    name = " ".join(_texts(props, "FN")[:1])
    if not name:
        family, given, additional = (_components(_first(props, "N")) + ["", "", ""])[:3]
        name = " ".join(part for part in (given, additional, family) if part)
    if not name:
        name = _components(_first(props, "ORG"))[0]
    if not name:
        raise CardError("no FN, N or ORG")
    return name


def _is_org(props: Sequence[Property], name: str) -> bool:
    """An organisation (or a contact group) gets no follow-ups (SPEC section 5)."""
    kind = unescape_text(_first(props, "KIND")).strip().lower()
    if kind in ("org", "group", "location"):
        return True
    # iCloud stores contact groups as cards with X-ADDRESSBOOKSERVER-KIND:group.
    if unescape_text(_first(props, "X-ADDRESSBOOKSERVER-KIND")).strip().lower() == "group":
        return True
    # Apple's "Company" switch.
    if any(v.upper() == "COMPANY" for v in _texts(props, "X-ABSHOWAS")):
        return True
    personal = any(_components(_first(props, "N")))
    organisation = _components(_first(props, "ORG"))[0]
    return not personal and bool(organisation) and organisation.casefold() == name.casefold()


def _labels(props: Sequence[Property]) -> dict[str, str]:
    """Apple's ``itemN.X-ABLabel`` by group (case-folded); Google lists them after all the
    grouped properties, so collect them first."""
    return {
        p.group.casefold(): unescape_text(_decoded(p)).strip()
        for p in props
        if p.name == "X-ABLABEL" and p.group
    }


def _date_kind(prop: Property, labels: dict[str, str]) -> tuple[str, str] | None:
    """(kind, label) for a date-bearing property; None for any other property."""
    if prop.name == "BDAY":
        return BIRTHDAY, ""
    if prop.name in _ANNIVERSARY_NAMES:
        return ANNIVERSARY, ""
    if prop.name != "X-ABDATE":
        return None
    label = labels.get(prop.group.casefold(), "") if prop.group else ""
    if label.startswith("_$!<") and label.endswith(">!$_"):
        label = label[4:-4]  # Apple's built-in labels: _$!<Anniversary>!$_, _$!<Other>!$_
    if label.casefold() == "anniversary":
        return ANNIVERSARY, ""
    # Apple's "Other" and Google's unlabelled X-ABDATE name nothing: an occasion without a
    # label, which the reminder text names in the user's language.
    return OCCASION, "" if label.casefold() == "other" else label


def _dates(props: Sequence[Property]) -> tuple[DateFact, ...]:
    labels = _labels(props)
    facts: list[DateFact] = []
    for prop in props:
        kind_label = _date_kind(prop, labels)
        if kind_label is None:
            continue
        date = parse_vcard_date(_decoded(prop), prop)
        if date is not None:
            facts.append(DateFact(kind_label[0], date, kind_label[1]))
    return _deduplicated(facts)


def _deduplicated(facts: Sequence[DateFact]) -> tuple[DateFact, ...]:
    """One fact per (kind, label, month, day, year): Sabre/Nextcloud writes one anniversary as
    both X-ANNIVERSARY and itemN.X-ABDATE. A year-less copy of a dated fact is dropped too."""

    def same_day(f: DateFact) -> tuple[str, str, int, int]:
        return (f.kind, f.label.casefold(), f.date.month, f.date.day)

    dated = {same_day(f) for f in facts if f.date.year is not None}
    seen: set[tuple[tuple[str, str, int, int], int | None]] = set()
    out: list[DateFact] = []
    for fact in facts:
        key = (same_day(fact), fact.date.year)
        if key in seen or (fact.date.year is None and key[0] in dated):
            continue
        seen.add(key)
        out.append(fact)
    return tuple(out)


# A parsed contact as JSON, for the state directory's cache of parsed cards: reading it back
# costs a tenth of parsing the card again. Strings may hold lone surrogates (undecodable bytes
# of a card); json escapes and restores them.


def contact_to_json(contact: Contact) -> str:
    c, ledger = contact, contact.ledger
    every = ledger.every
    return json.dumps(
        [
            c.uid,
            c.name,
            c.href,
            c.etag,
            c.emails,
            c.phones,
            c.categories,
            c.is_org,
            [[d.kind, _partial(d.date), d.label] for d in c.dates],
            c.note,
            [
                _iso(ledger.last),
                ledger.how,
                None if every is None else [every.count, every.unit],
                ledger.never,
                [[_partial(o.date), o.text] for o in ledger.occasions],
                ledger.gifts,
                _iso(ledger.pause),
                ledger.pause_forever,
                ledger.extra,
                ledger.needs_rewrite,
                [[r.day.isoformat(), r.text] for r in ledger.received],
            ],
        ]
    )


def contact_from_json(text: str | bytes) -> Contact:
    """The Contact ``contact_to_json`` wrote. Raises ValueError for anything else."""
    try:
        uid, name, href, etag, emails, phones, cats, is_org, dates, note, led = json.loads(text)
        last, how, every, never, occasions, gifts, pause, forever, extra, rewrite, got = led
        return Contact(
            uid=uid,
            name=name,
            href=href,
            etag=etag,
            emails=tuple(emails),
            phones=tuple(phones),
            categories=tuple(cats),
            is_org=is_org,
            dates=tuple(DateFact(k, PartialDate(*d), label) for k, d, label in dates),
            note=note,
            ledger=Ledger(
                last=_date(last),
                how=how,
                every=None if every is None else Cadence(*every),
                never=never,
                occasions=tuple(NoteOccasion(PartialDate(*d), t) for d, t in occasions),
                gifts=tuple(gifts),
                pause=_date(pause),
                pause_forever=forever,
                extra=tuple(extra),
                needs_rewrite=rewrite,
                received=tuple(Received(dt.date.fromisoformat(d), t) for d, t in got),
            ),
        )
    except (TypeError, ValueError, AttributeError) as err:
        raise ValueError(f"not a cached contact: {err}") from None


def _partial(date: PartialDate) -> list[int | None]:
    return [date.month, date.day, date.year]


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _date(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)
