"""Building blocks for end-to-end tests: a config file for a test server, the sample book."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import servers

from netsync.app import demo

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
