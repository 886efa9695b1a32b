"""Building blocks for end-to-end tests: a config file for a test server, the sample book."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from netsync.app import demo
from tests import servers
from tests.vcards import escape, vcard

TODAY = dt.date(2026, 11, 26)


def write_config(
    server: servers.Server,
    tmp_path: Path,
    *,
    extra: str = "",
    reminders_url: str | None = None,
    contacts_url: str | None = None,
) -> Path:
    """A config for ``server``; the password comes from $NETSYNC_PASSWORD."""
    state = tmp_path / "state"
    lines = [
        "[contacts]",
        f'url = "{contacts_url if contacts_url is not None else server.addressbook}"',
        f'username = "{server.username}"',
        "[reminders]",
        f'url = "{reminders_url if reminders_url is not None else server.calendar_home}"',
        'calendar = "Keep in touch"',
        "[follow_up.categories]",
        'Family = "30d"',
        'Friends = "60d"',
        "[state]",
        f'dir = "{state}"',
        extra,
    ]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def upload_sample(server: servers.Server, today: dt.date = TODAY) -> list[dict[str, str]]:
    """The demo's 25 sample people, PUT as a phone would."""
    people = demo.sample_people(today)
    for index, person in enumerate(people):
        assert servers.put_card(server, f"p{index:03d}.vcf", demo.vcard(person, index)) == 201
    return people


def phone_card(uid: str, name: str, note: str = "", *, more: tuple[str, ...] = ()) -> str:
    """A vCard as a phone writes it (an iPhone's 3.0: CRLF, a grouped property, Apple's
    X- lines), with ``note`` as its NOTE (escaped here, not by netsync's code)."""
    given, _, family = name.partition(" ")
    return vcard(
        uid,
        name,
        prodid="-//Apple Inc.//iPhone OS 17.5//EN",
        n=f"{family};{given};;;",
        lines=["item1.TEL;type=pref:+31 6 5555 0101", "item1.X-ABLabel:_$!<Mobile>!$_", *more],
        note=escape(note) if note else None,
        after=["X-ABUID:1A2B3C4D-5E6F-7081-92A3-B4C5D6E7F809:ABPerson"],
    )


def lines_but_note(card: bytes) -> list[bytes]:
    """Every physical line of a card except those of its NOTE (the first line and its folded
    continuations), byte for byte."""
    out, in_note = [], False
    for line in card.split(b"\r\n"):
        if line.upper().startswith(b"NOTE") and line[4:5] in (b":", b";"):
            in_note = True
            continue
        if in_note and line[:1] in (b" ", b"\t"):
            continue
        in_note = False
        out.append(line)
    return out
