"""The tests' one vCard builder: a card as a phone or another client writes it.

``vcard()`` writes the properties in one order (VERSION, PRODID, UID, FN, N, EMAIL, BDAY, the
caller's ``lines``, NOTE, the caller's ``after``), each value exactly as given: the caller
escapes text with ``escape()`` where the card should hold escaped text, so a test can also
write what a careless client writes. Cards whose bytes are the point of a test (folded lines,
mixed line endings, vCard 2.1 quoted-printable, a card cut short) stay literal in that test.

(tests/standins/vcards.py is something else: it reads and re-folds cards the way a provider
rewrites them.)
"""

from __future__ import annotations

from collections.abc import Sequence


def escape(text: str) -> str:
    """RFC 6350 TEXT: backslash, comma, semicolon and newline escaped."""
    return text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")


def vcard(
    uid: str | None,
    fn: str | None,
    *,
    version: str | None = "3.0",
    prodid: str | None = None,
    n: str | None = None,
    email: Sequence[str] = (),
    bday: str | None = None,
    lines: Sequence[str] = (),
    note: str | None = None,
    after: Sequence[str] = (),
    eol: str = "\r\n",
) -> str:
    """A card, every line ended by ``eol``. ``None`` leaves a property out (a card without a
    UID, FN or VERSION); ``n`` is N's value as written ("Family;Given;;;"); each ``email`` is
    an ``EMAIL;TYPE=INTERNET`` line; ``lines`` and ``after`` are whole property lines."""
    out = ["BEGIN:VCARD"]
    out += [f"VERSION:{version}"] if version is not None else []
    out += [f"PRODID:{prodid}"] if prodid is not None else []
    out += [f"UID:{uid}"] if uid is not None else []
    out += [f"FN:{fn}"] if fn is not None else []
    out += [f"N:{n}"] if n is not None else []
    out += [f"EMAIL;TYPE=INTERNET:{address}" for address in email]
    out += [f"BDAY:{bday}"] if bday is not None else []
    out += lines
    out += [f"NOTE:{note}"] if note is not None else []
    out += after
    out.append("END:VCARD")
    return eol.join(out) + eol
