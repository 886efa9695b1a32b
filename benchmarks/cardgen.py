"""Generated but realistic address books for the benchmark.

Deterministic for a given size and seed, so two runs (and CI's 200-card test) see the same
cards. What real address books carry, in proportions taken from the exports in
../shared/fixtures: names in several scripts (Latin with diacritics, Cyrillic, Greek, CJK,
Arabic), vCard 3.0 and 4.0, folded lines, Apple ``itemN.`` groups, a PHOTO of a few KB on some,
a birthday on most (in every spelling SPEC 3 lists), anniversaries on some, organisations, and a
NOTE with a ``[netsync]`` ledger on half (four typed on a phone as ``DD-MM-YYYY``, which netsync
normalises in its first cycle).
"""

from __future__ import annotations

import base64
import datetime as dt
import random
from dataclasses import dataclass

from netsync.core.vcardtext import escape_text, fold

TODAY = dt.date(2026, 11, 26)
SEED = 6  # issue 6
PHONE_TYPED = frozenset({8, 68, 128, 188})  # cards whose ledger a phone wrote as DD-MM-YYYY

# (given names, family names) per script. Enough variety that names do not repeat much.
_NAMES: dict[str, tuple[list[str], list[str]]] = {
    "latin": (
        ["Anneke", "Joël", "Zoë", "Sébastien", "Jürgen", "Małgorzata", "Łukasz", "Søren",
         "Øyvind", "Ángel", "Íñigo", "Çağla", "Tomáš", "Dvořák", "Renée", "François",
         "Ingrid", "Bram", "Chloé", "Mats", "Noémie", "Piotr", "Eva", "Jan", "Lotte"],
        ["de Vries", "Jansen", "Müller", "Schröder", "Kowalska", "Nowak", "Øster", "Sánchez",
         "Peña", "Çelik", "Horváth", "Novák", "Lefèvre", "Van den Bossche", "O'Brien",
         "Smit", "Bakker", "Dubois", "García", "Yılmaz", "Weiß", "Åberg", "Kovačević"],
    ),
    "cyrillic": (
        ["Александр", "Мария", "Дмитрий", "Ольга", "Сергей", "Наталья", "Иван", "Юлия"],
        ["Иванов", "Смирнова", "Кузнецов", "Попова", "Соколов", "Лебедева", "Новиков"],
    ),
    "greek": (
        ["Γιώργος", "Μαρία", "Νίκος", "Ελένη", "Κώστας", "Αικατερίνη", "Δημήτρης"],
        ["Παπαδόπουλος", "Οικονόμου", "Γεωργίου", "Νικολάου", "Καραγιάννη", "Βλάχος"],
    ),
    "cjk": (
        ["伟", "芳", "娜", "秀英", "敏", "静", "太郎", "花子", "民준", "서연"],
        ["王", "李", "张", "刘", "陈", "山田", "佐藤", "鈴木", "김", "이"],
    ),
    "arabic": (
        ["محمد", "فاطمة", "أحمد", "مريم", "علي", "نور", "يوسف", "ليلى"],
        ["العلي", "حسن", "الخطيب", "منصور", "الحسيني", "سعيد", "الشامي"],
    ),
}  # fmt: skip
_SCRIPTS = ["latin"] * 6 + ["cyrillic", "greek", "cjk", "arabic"]
_CATEGORIES = ["Customers", "Family", "Friends", "Colleagues", "Suppliers"]
_HOW = ["call", "visit", "coffee", "lunch", "mail", "video call", ""]
_OCCASIONS = ["wedding of daughter Lotte", "hip surgery", "moves house", "exam", "retirement"]
_GIFTS = ["sailing book, good gin", "flowers", "a bottle of Rioja", "tea from Kyoto"]
_USER_NOTES = [
    "Likes sailing; daughter Emma studies in Delft.",
    "Met at the fair in Lyon, 2019. Prefers e-mail, not calls.",
    "Bought the blue estate (2021), service due in spring.",
    "Allergic to nuts!\nWife: Sophie, kids: Tim, Lea.",
    "Предпочитает звонки утром.",
    "Ask about the new shop in Utrecht, and the dog (Max).",
]


@dataclass(frozen=True)
class GeneratedCard:
    name: str  # resource name in the address book, e.g. "c00042-....vcf"
    uid: str
    text: str  # the card, CRLF line endings, folded


def _photo(rng: random.Random) -> str:
    """A few KB of base64 (a small JPEG's worth); the bytes themselves do not matter."""
    size = rng.randrange(2_000, 6_000)
    data = b"\xff\xd8\xff\xe0" + rng.randbytes(size) + b"\xff\xd9"
    return base64.b64encode(data).decode("ascii")


def _bday(rng: random.Random, born: dt.date, version: str) -> str:
    """One of the spellings SPEC 3 lists."""
    kind = rng.randrange(8)
    if kind == 0:
        return f"BDAY:{born:%Y%m%d}"
    if kind == 1:
        return f"BDAY:--{born:%m%d}"
    if kind == 2:
        return f"BDAY:--{born:%m-%d}"
    if kind == 3:
        return f"BDAY;X-APPLE-OMIT-YEAR=1604:1604-{born:%m-%d}"
    if kind == 4:
        return (
            f"BDAY:{born:%Y-%m-%d}T00:00:00Z" if version == "3.0" else f"BDAY:{born:%Y%m%d}T120000"
        )
    return f"BDAY;VALUE=date:{born:%Y-%m-%d}" if version == "3.0" else f"BDAY:{born:%Y-%m-%d}"


def _ledger(rng: random.Random, index: int, today: dt.date) -> str:
    last = today - dt.timedelta(days=rng.randrange(1, 200))
    how = rng.choice(_HOW)
    # A few typed on a phone (DD-MM-YYYY), which netsync rewrites to ISO once: as many at
    # 10,000 cards as at 200, so the cycle after that write costs the same at every size.
    typed = f"{last:%d-%m-%Y}" if index in PHONE_TYPED else last.isoformat()
    lines = [f"last: {typed} {how}".rstrip()]
    if rng.random() < 0.3:
        lines.append(f"every: {rng.choice(['30d', '6w', '3m', '1y'])}")
    if rng.random() < 0.15:
        day = today + dt.timedelta(days=rng.randrange(3, 300))
        lines.append(f"occasion: {day.isoformat()} {rng.choice(_OCCASIONS)}")
    if rng.random() < 0.2:
        lines.append(f"gift: {rng.choice(_GIFTS)}")
    return "[netsync]\n" + "\n".join(lines) + "\n[/netsync]"


def card(index: int, *, today: dt.date = TODAY, seed: int = SEED) -> GeneratedCard:
    """The ``index``-th card of every generated address book."""
    rng = random.Random(seed * 1_000_003 + index)
    script = rng.choice(_SCRIPTS)
    givens, families = _NAMES[script]
    given, family = rng.choice(givens), rng.choice(families)
    uid = f"bench-{index:06d}-{rng.getrandbits(48):012x}"
    version = "4.0" if rng.random() < 0.25 else "3.0"
    is_org = rng.random() < 0.03
    fn = f"{family}{given}" if script == "cjk" else f"{given} {family}"
    lines = ["BEGIN:VCARD", f"VERSION:{version}", f"UID:{uid}"]
    if is_org:
        org = f"{family} {rng.choice(['B.V.', 'GmbH', 'SARL', 'Ltd'])}"
        lines += [f"FN:{escape_text(org)}", "N:;;;;", f"ORG:{escape_text(org)}"]
        lines += ["KIND:org"] if version == "4.0" else ["X-ABShowAs:COMPANY"]
    else:
        lines += [f"FN:{escape_text(fn)}", f"N:{escape_text(family)};{escape_text(given)};;;"]
        if rng.random() < 0.3:
            lines.append(f"ORG:{escape_text(rng.choice(_NAMES['latin'][1]))} B.V.")
    slug = f"p{index}"
    lines.append(f"EMAIL;TYPE=INTERNET,HOME:{slug}@example.org")
    if rng.random() < 0.8:
        lines.append(f"TEL;TYPE=CELL:+31 6 {rng.randrange(10**7, 10**8)}")
    if rng.random() < 0.3:
        lines.append(f"item1.TEL:+49 30 {rng.randrange(10**6, 10**7)}")
        lines.append("item1.X-ABLabel:_$!<Work>!$_")
    if rng.random() < 0.4:
        lines.append(f"ADR;TYPE=HOME:;;Keizersgracht {index % 700 + 1};Amsterdam;;1015 CJ;NL")
    if rng.random() < 0.5:
        cats = rng.sample(_CATEGORIES, rng.randrange(1, 3))
        lines.append("CATEGORIES:" + ",".join(cats))
    if not is_org and rng.random() < 0.85:
        born = dt.date(rng.randrange(1940, 2015), rng.randrange(1, 13), rng.randrange(1, 29))
        lines.append(_bday(rng, born, version))
    if not is_org and rng.random() < 0.1:
        wed = dt.date(rng.randrange(1970, 2024), rng.randrange(1, 13), rng.randrange(1, 29))
        if rng.random() < 0.5:
            lines += [f"item2.X-ABDATE:{wed:%Y-%m-%d}", "item2.X-ABLabel:_$!<Anniversary>!$_"]
        else:
            lines.append(f"ANNIVERSARY:{wed:%Y%m%d}" if version == "4.0" else
                         f"X-ANNIVERSARY:{wed:%Y-%m-%d}")  # fmt: skip
    note_parts = []
    if rng.random() < 0.4:
        note_parts.append(rng.choice(_USER_NOTES))
    if index % 2 == 0:
        note_parts.append(_ledger(rng, index, today))
    if note_parts:
        lines.append("NOTE:" + escape_text("\n\n".join(note_parts)))
    if rng.random() < 0.1:
        kind = "ENCODING=b;TYPE=JPEG" if version == "3.0" else "VALUE=uri"
        data = _photo(rng)
        lines.append(
            f"PHOTO;{kind}:{data}" if version == "3.0" else f"PHOTO:data:image/jpeg;base64,{data}"
        )
    lines += [f"REV:{today - dt.timedelta(days=index % 400):%Y%m%d}T101500Z", "END:VCARD"]
    text = "".join(fold(line) for line in lines)
    return GeneratedCard(name=f"{uid}.vcf", uid=uid, text=text)


def address_book(size: int, *, today: dt.date = TODAY, seed: int = SEED) -> list[GeneratedCard]:
    return [card(i, today=today, seed=seed) for i in range(size)]


def pick_for_edit(cards: list[GeneratedCard]) -> GeneratedCard:
    """A card whose edit changes exactly one reminder: a birthday, a yearly cadence with a
    recent last contact (so no follow-up within the horizon), no other occasion."""
    for candidate in cards:
        text = candidate.text
        if (
            "BDAY" in text
            and "every: 1y" in text
            and "occasion:" not in text
            and "ANNIVERSARY" not in text
            and "X-ABDATE" not in text
            and "TEL;TYPE=CELL:" in text
        ):
            return candidate
    return next(c for c in cards if "BDAY" in c.text)


def edited(original: GeneratedCard, version: int = 0) -> str:
    """The card as a phone edited it: a new mobile number (what the reminders' descriptions
    show, so its reminders change too), another one for each ``version``."""
    number = f"TEL;TYPE=CELL:+31 6 9999{version:04d}"
    lines = original.text.split("\r\n")
    out = []
    replaced = False
    for line in lines:
        if line.startswith("TEL;TYPE=CELL:") and not replaced:
            out.append(number)
            replaced = True
        else:
            out.append(line)
    if not replaced:
        out.insert(out.index("END:VCARD"), number)
    return "\r\n".join(out)
