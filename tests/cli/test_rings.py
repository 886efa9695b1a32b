"""Every reminder rings, and every calendar reader reads it cleanly (issue 13, points 4, 5
and 12; SPEC 4).

`netsync sync` writes the sample book at a given clock (``--today DATE`` with a time); every
object in the reminders calendar is then read back from the server and handed to two real
readers, ical.js (Thunderbird) and libical (GNOME Calendar, Evolution), which must read it
without a complaint and compute, for each reminder dated that day or later, an alarm that is
still ahead of the clock it was written at.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import icalendar
import pytest

from netsync.commands import main
from tests import davcheck, servers
from tests.scenario import TODAY, phone_card, upload_sample, write_config

ZONE = "Europe/Amsterdam"
LOCALE = f'[locale]\ntimezone = "{ZONE}"'
SUNDAY = dt.date(2026, 11, 29)


def sync(config: Path, when: dt.datetime, *args: str) -> int:
    """`sync --today` at ``when``; midnight as a plain date, which means the start of it."""
    stamp = f"{when:%Y-%m-%d}" if when.time() == dt.time() else f"{when:%Y-%m-%dT%H:%M}"
    return main(["--config", str(config), "sync", "--today", stamp, *args])


def calendar(server: servers.Server) -> dict[str, bytes]:
    cal = davcheck.calendars(server)["Keep in touch"]
    return {href: body for href, (_, body) in davcheck.snapshot(server, cal).items()}


def reminders(objects: dict[str, bytes]) -> dict[str, icalendar.Component]:
    """UID -> the VEVENT/VTODO of each object, read with icalendar."""
    out = {}
    for body in objects.values():
        for comp in icalendar.Calendar.from_ical(body).walk():
            if comp.name in ("VEVENT", "VTODO"):
                out[str(comp["UID"])] = comp
    return out


def assert_every_reminder_rings(
    objects: dict[str, bytes], now: dt.datetime, read: Callable[..., Any]
) -> None:
    readings = read(objects, zone=ZONE)
    errors = {name: reading.errors for name, reading in readings.items() if reading.errors}
    silent, ahead = [], 0
    for uid, comp in reminders(objects).items():
        if davcheck.day_of(comp) < now.date():
            continue
        for name, reading in readings.items():
            fires = reading.alarms.get(uid, [])
            if not fires or max(fires) <= now:
                silent.append(f"{name}: {comp['SUMMARY']} ({uid}) fires {fires}")
        ahead += 1
    assert (errors, silent) == ({}, [])  # read cleanly; each rings after it was written
    assert ahead > 10  # the sample book's follow-ups, occasions and digests


@pytest.mark.parametrize(
    "clock",
    [
        dt.datetime(2026, 11, 26, 0, 0),  # the first cycle of a day: 09:00 the day before passed
        dt.datetime(2026, 11, 26, 14, 20),  # past 09:00: today's and tomorrow's would not ring
        dt.datetime(2026, 11, 26, 23, 40),
        dt.datetime(2026, 11, 29, 20, 0),  # Sunday evening: this week's digest is for Monday
    ],
    ids=str,
)
def test_every_reminder_written_rings_and_reads_cleanly(
    server: servers.Server, tmp_path: Path, calendar_readers: Any, clock: dt.datetime
) -> None:
    upload_sample(server)
    config = write_config(server, tmp_path, extra=LOCALE)
    assert sync(config, clock) == 0
    assert_every_reminder_rings(calendar(server), clock, calendar_readers)


def test_follow_ups_as_tasks_ring_too(
    radicale: servers.Server, tmp_path: Path, calendar_readers: Any
) -> None:
    upload_sample(radicale)
    config = write_config(radicale, tmp_path, extra=f'{LOCALE}\n[follow_up]\nas = "todo"')
    clock = dt.datetime(2026, 11, 26, 14, 20)
    assert sync(config, clock) == 0
    objects = calendar(radicale)
    assert any(c.name == "VTODO" for c in reminders(objects).values())
    assert_every_reminder_rings(objects, clock, calendar_readers)


def test_a_follow_up_for_today_written_in_the_afternoon_rings_within_the_hour(
    server: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upload_sample(server)
    config = write_config(server, tmp_path, extra=LOCALE)
    assert sync(config, dt.datetime(2026, 11, 26, 14, 20)) == 0
    assert "+ 2026-11-26  follow-up   Get in touch with Chen Wei  (rings at 14:45)" in (
        capsys.readouterr().out
    )
    chen = next(
        c
        for c in reminders(calendar(server)).values()
        if c["SUMMARY"] == "Get in touch with Chen Wei"
    )
    if server.kind == "sogo":
        # SOGo stores a floating time in the account's time zone (SOGoTimeZone, UTC here):
        # the same wall-clock time for a user whose SOGo is set to their own zone.
        assert chen.decoded("DTSTART").replace(tzinfo=None) == dt.datetime(2026, 11, 26, 14, 45)
    else:
        assert chen.decoded("DTSTART") == dt.datetime(2026, 11, 26, 14, 45)  # floating: no zone
        assert "TZID" not in chen["DTSTART"].params
    assert [a.decoded("TRIGGER") for a in chen.walk("VALARM")] == [dt.timedelta(0)]
    # A follow-up for a later day stays all-day, with its alarm at 09:00 the day before.
    later = next(
        c for c in reminders(calendar(server)).values() if "Alice Jansen turns" in str(c["SUMMARY"])
    )
    assert later.decoded("DTSTART") == dt.date(2026, 12, 1)


def test_the_clock_moving_on_rewrites_nothing(
    server: servers.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upload_sample(server)
    config = write_config(server, tmp_path, extra=LOCALE)
    assert sync(config, dt.datetime(2026, 11, 26, 8, 0)) == 0
    written = calendar(server)
    capsys.readouterr()
    for clock in ((9, 30), (14, 0), (23, 50)):
        assert sync(config, dt.datetime.combine(TODAY, dt.time(*clock))) == 0
        assert capsys.readouterr().out.strip().endswith("0 reminders created, 0 updated, 0 deleted")
    assert calendar(server) == written


def test_the_digest_of_this_week_follows_its_follow_ups(
    server: servers.Server, tmp_path: Path
) -> None:
    """Thursday: this week's digest names Alice, whose follow-up is today. Her follow-up is
    moved to next week on the phone: this week's digest goes (nothing is left in it), next
    week's names her. Bram's follow-up this week comes back: the digest is there again."""
    alice = "[netsync]\nlast: 2026-08-01\nevery: 90d\n[/netsync]"  # due 2026-10-30: today
    assert (
        servers.put_card(server, "alice.vcf", phone_card("alice-1", "Alice Jansen", alice)) == 201
    )
    config = write_config(server, tmp_path, extra=LOCALE)
    assert sync(config, dt.datetime(2026, 11, 26, 8, 0)) == 0
    monday, next_monday = dt.date(2026, 11, 23), dt.date(2026, 11, 30)
    digests = digests_by_day(server)
    assert digests[monday]["SUMMARY"] == "This week: call Alice Jansen"
    assert next_monday not in digests

    found = reminders(calendar(server))
    uid = next(u for u, c in found.items() if c["SUMMARY"] == "Get in touch with Alice Jansen")
    href, (tag, body) = next(
        (h, v)
        for h, v in davcheck.snapshot(server, davcheck.calendars(server)["Keep in touch"]).items()
        if uid.encode() in v[1]
    )
    moved = davcheck.moved_to(body.decode(), TODAY, dt.date(2026, 12, 1))
    status, _, _ = davcheck.request(
        server,
        "PUT",
        href,
        body=moved.encode(),
        headers={"If-Match": tag, "Content-Type": "text/calendar"},
    )
    assert status in (201, 204)
    assert sync(config, dt.datetime(2026, 11, 26, 10, 0)) == 0
    digests = digests_by_day(server)
    assert monday not in digests  # nothing is left in it
    assert digests[next_monday]["SUMMARY"] == "This week: call Alice Jansen"

    bram = "[netsync]\nlast: 2026-08-20\nevery: 90d\n[/netsync]"  # due 2026-11-18: overdue
    assert servers.put_card(server, "bram.vcf", phone_card("bram-1", "Bram de Vries", bram)) == 201
    assert sync(config, dt.datetime(2026, 11, 26, 11, 0)) == 0
    assert digests_by_day(server)[monday]["SUMMARY"] == "This week: call Bram de Vries"


def digests_by_day(server: servers.Server) -> dict[dt.date, icalendar.Component]:
    return {
        davcheck.day_of(c): c
        for u, c in reminders(calendar(server)).items()
        if u.startswith("netsync-digest-")
    }
