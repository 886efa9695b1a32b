"""The reminders calendar on real servers (netsync/calendar.py): discovery, preconditions,
sync with its fallbacks, and objects that are not netsync's.

Where a server does something of its own (SOGo ignores If-None-Match: *, sabre/dav 1.8 has
no sync-collection), the test says so where it happens; a server behaviour that breaks what
the test asserts is a strict xfail with the reason, so it is seen the day the server changes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from netsync import dav
from netsync.core import ics
from netsync.core.model import FOLLOW_UP, OCCASION, Reminder
from netsync.dav import calendar
from tests import servers

STAMP = dt.datetime(2026, 11, 26, 8, 30, tzinfo=dt.UTC)
SOGO_TAKES_ANY_TOKEN = (
    "SOGo 5.8 refuses no sync token: its token is a time, and one it cannot read is answered "
    "with every live member as changes, never with DAV:valid-sync-token, so the full-listing "
    "fallback never runs there and what was deleted meanwhile is not reported"
)
NAME = "Keep in touch"

FOLLOW = Reminder(
    uid="netsync-follow-up-0001",
    kind=FOLLOW_UP,
    contact_uid="urn:uuid:alice",
    day=dt.date(2026, 12, 3),
    summary="Get in touch with Alice Jansen",
    description="Last contact: 2026-09-01 (call)",
    alarms=(-dt.timedelta(hours=15),),
    planned=dt.date(2026, 12, 3),
)
WEDDING = Reminder(
    uid="netsync-occasion-0002",
    kind=OCCASION,
    contact_uid="gerrit;smit,\\x:y\r\nz 🎉",
    day=dt.date(2027, 5, 12),
    summary='Gerrit Smit: wedding of "Lotte"; gifts, sailing\r\nEND:VEVENT\r\nBEGIN:VEVENT',
    description="Gift ideas: sailing book, good gin\nüñï 🎂\\n\\,",
    alarms=(-dt.timedelta(days=6, hours=15), -dt.timedelta(hours=15)),
)
TASK = dataclasses.replace(FOLLOW, uid="netsync-follow-up-0003", todo=True)

DENTIST = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apple Inc.//iOS 17.1//EN\r\n"
    "BEGIN:VEVENT\r\nUID:4C1E2A3B-dentist\r\nDTSTAMP:20261120T100000Z\r\n"
    "DTSTART:20261204T090000Z\r\nDTEND:20261204T100000Z\r\nSUMMARY:Dentist\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


def _ics(reminder: Reminder) -> bytes:
    """The reminder as iCalendar (a UID netsync would not make: rendered with one it would,
    for the tests in which the calendar layer must refuse it)."""
    own = (
        reminder
        if ics.OWN_UID.match(reminder.uid)
        else dataclasses.replace(reminder, uid=FOLLOW.uid)
    )
    return ics.render(own, stamp=STAMP)


def create(client: Any, cal: str, reminder: Reminder) -> tuple[str, str | None]:
    return calendar.create(client, cal, reminder.uid, _ics(reminder))


def update(client: Any, href: str, reminder: Reminder, *, etag: str) -> str | None:
    return calendar.update(client, href, reminder.uid, _ics(reminder), etag=etag)


def connect(server: servers.Server) -> Any:
    return dav.connect(dav.Account(server.root, server.username, server.password))


def recorded(client: Any) -> list[tuple[str, str]]:
    """Record (method, url) of every request the client sends from now on."""
    calls: list[tuple[str, str]] = []
    send: Callable[..., Any] = client.request

    def request(url: str, method: str = "GET", body: str = "", headers: Any = None) -> Any:
        calls.append((method, str(url)))
        return send(url, method, body, headers)

    client.request = request
    return calls


def methods(calls: list[tuple[str, str]]) -> list[str]:
    return [method for method, _url in calls]


def listing(server: servers.Server) -> list[str]:
    """The requests of a read that finds nothing new: one sync-collection REPORT, or where
    the server has none (sabre/dav 1.8) the refused REPORT and a PROPFIND listing."""
    return ["REPORT"] if server.has_sync_collection else ["REPORT", "PROPFIND"]


def needs_sync_collection(server: servers.Server) -> None:
    if not server.has_sync_collection:
        pytest.skip(
            "sabre/dav 1.8 has no sync-collection and hands out no token; its PROPFIND "
            "listing is covered by test_dav_contacts.py::test_propfind_listing_diffs_etags "
            "and the CLI tests"
        )


@pytest.fixture
def client(server: servers.Server) -> Iterator[Any]:
    with connect(server) as client:
        yield client


@pytest.fixture
def phone(server: servers.Server) -> Iterator[Any]:
    """Another client on the same account, as a phone would be."""
    with connect(server) as phone:
        yield phone


@pytest.fixture
def cal(client: Any, server: servers.Server) -> str:
    return calendar.find_calendar(client, server.root, NAME)


def phone_put(phone: Any, href: str, data: str | bytes, *, etag: str | None = None) -> None:
    text = data.decode() if isinstance(data, bytes) else data
    headers = {"Content-Type": "text/calendar; charset=utf-8"}
    headers.update({"If-Match": etag} if etag else {"If-None-Match": "*"})
    response = phone.put(href, text, headers)
    assert response.status in (201, 204), response.status


def stored(client: Any, cal: str) -> dict[str, calendar.StoredObject]:
    changes = calendar.fetch_reminders(client, cal, token=None, known={})
    return {obj.href: obj for obj in changes.changed}


# -- finding the calendar ------------------------------------------------------------------------


def test_find_calendar_makes_keep_in_touch_once_and_then_finds_it(
    client: Any, server: servers.Server
) -> None:
    first = calendar.find_calendar(client, server.root, NAME)
    assert first.startswith(server.calendar_home) and first.endswith("/")
    assert first.removeprefix(server.calendar_home).startswith("keep-in-touch-")
    again = calendar.find_calendar(client, server.root, "keep in TOUCH")
    with connect(server) as other:
        via_principal = calendar.find_calendar(other, server.principal, NAME)
    assert again == first == via_principal
    body = '<d:propfind xmlns:d="DAV:"><d:prop><d:displayname/></d:prop></d:propfind>'
    home = client.propfind(server.calendar_home, body, depth=1)
    # SOGo also lists each calendar's .ics and .xml export under the same name: collections only
    names = [r.properties.get("{DAV:}displayname") for r in home.results if r.href.endswith("/")]
    assert names.count(NAME) == 1, names
    # it takes tasks as well as events
    href, _etag = create(client, first, TASK)
    assert href == f"{first}{TASK.uid}.ics"


def test_a_calendar_url_is_used_as_it_is(client: Any, server: servers.Server, cal: str) -> None:
    calls = recorded(client)
    assert calendar.find_calendar(client, cal, "another name", create=False) == cal
    assert calendar.find_calendar(client, cal.rstrip("/"), "x") == cal
    assert methods(calls) == ["PROPFIND", "PROPFIND"]  # no principal discovery, no MKCALENDAR


def test_an_address_book_url_is_the_wrong_collection(client: Any, server: servers.Server) -> None:
    with pytest.raises(dav.WrongCollection, match="address book"):
        calendar.find_calendar(client, server.addressbook, NAME)


def test_without_create_a_missing_calendar_is_an_error_naming_those_there_are(
    client: Any, server: servers.Server, cal: str
) -> None:
    with pytest.raises(dav.DavError, match=r"no calendar named 'Birthdays'.*'Keep in touch'"):
        calendar.find_calendar(client, server.root, "Birthdays", create=False)


# -- writing with preconditions ------------------------------------------------------------------


def test_create_update_delete_only_over_what_was_read(
    client: Any, phone: Any, cal: str, server: servers.Server, request: pytest.FixtureRequest
) -> None:
    if server.kind == "sogo":
        request.applymarker(pytest.mark.xfail(strict=True, reason=servers.SOGO_PRECONDITIONS))
    href, etag = create(client, cal, FOLLOW)
    assert href == f"{cal}{FOLLOW.uid}.ics" and etag
    if server.honours_if_none_match:  # SOGo 5.8 ignores it and overwrites
        with pytest.raises(calendar.Conflict):  # If-None-Match: * on an existing object
            create(client, cal, dataclasses.replace(FOLLOW, summary="x"))

    moved = dataclasses.replace(FOLLOW, day=dt.date(2026, 12, 4))
    new_etag = update(client, href, moved, etag=etag)
    assert new_etag and new_etag != etag
    # A stale ETag must lose, also on Xandikos, whose unchanged Schedule-Tag lets caldav's
    # default save() overwrite a newer version.
    with pytest.raises(calendar.Conflict):
        update(client, href, FOLLOW, etag=etag)
    assert ics.parse(stored(client, cal)[href].data) == (moved, None)

    # the phone edits it: netsync's write with the ETag it had read loses
    by_phone = dataclasses.replace(moved, summary="Call Alice about the boat")
    phone_put(phone, href, ics.render(by_phone, stamp=STAMP), etag=new_etag)
    with pytest.raises(calendar.Conflict):
        update(client, href, moved, etag=new_etag)
    with pytest.raises(calendar.Conflict):
        calendar.delete(client, href, etag=new_etag)
    now = stored(client, cal)[href]
    assert ics.parse(now.data) == (by_phone, None)

    calendar.delete(client, href, etag=now.etag)
    assert stored(client, cal) == {}
    if server.kind == "sabre":
        # sabre/dav answers 412 to If-Match on what is gone (RFC 9110 13.1.1 allows it): the
        # write counts as failed and the next cycle's read finds the object gone.
        with pytest.raises(calendar.Conflict):
            calendar.delete(client, href, etag=now.etag)
    else:
        calendar.delete(client, href, etag=now.etag)  # already gone: fine


def test_update_after_the_phone_deleted_it_is_a_conflict(
    client: Any, phone: Any, cal: str, server: servers.Server, request: pytest.FixtureRequest
) -> None:
    if server.kind == "sogo":
        request.applymarker(pytest.mark.xfail(strict=True, reason=servers.SOGO_PRECONDITIONS))
    href, etag = create(client, cal, FOLLOW)
    assert phone.delete(href).status in (200, 204)
    with pytest.raises(calendar.Conflict):
        update(client, href, FOLLOW, etag=etag or "")
    assert stored(client, cal) == {}  # and it was not brought back


def test_update_and_delete_refuse_what_is_not_netsyncs(client: Any, cal: str) -> None:
    calls = recorded(client)
    for name, uid in [
        ("4C1E2A3B-dentist.ics", FOLLOW.uid),  # someone else's object
        (f"{WEDDING.uid}.ics", FOLLOW.uid),  # another reminder's href
        ("netsync-a%2Fb.ics", "netsync-a/b"),
        ("netsync-x.vcf", "netsync-x"),
        ("", FOLLOW.uid),  # the calendar itself
    ]:
        reminder = dataclasses.replace(FOLLOW, uid=uid)
        with pytest.raises(dav.DavError, match="refusing"):
            update(client, cal + name, reminder, etag='"1"')
        if name != f"{WEDDING.uid}.ics":  # that one is netsync's to delete
            with pytest.raises(dav.DavError, match="refusing"):
                calendar.delete(client, cal + name, etag='"1"')
    with pytest.raises(dav.DavError, match="refusing"):
        create(client, cal, dataclasses.replace(FOLLOW, uid="dentist"))
    assert calls == []  # refused before anything was sent


# -- reading: sync-collection and its fallbacks --------------------------------------------------


def test_fetch_costs_one_report_when_nothing_changed_and_two_when_something_did(
    client: Any, phone: Any, cal: str, server: servers.Server
) -> None:
    needs_sync_collection(server)
    follow, _ = create(client, cal, FOLLOW)
    wedding, _ = create(client, cal, WEDDING)
    dentist = f"{cal}4C1E2A3B-dentist.ics"
    phone_put(phone, dentist, DENTIST)

    servers.settle(server)  # each token below is from a second after the changes it follows
    calls = recorded(client)
    first = calendar.fetch_reminders(client, cal, token=None, known={})
    assert methods(calls) == ["REPORT", "REPORT"]  # sync-collection + one calendar-multiget
    assert first.complete and first.token and first.deleted == []
    known = {obj.href: obj.etag for obj in first.changed}
    assert set(known) == {follow, wedding, dentist}
    by_href = {obj.href: obj for obj in first.changed}
    assert ics.parse(by_href[follow].data) == (FOLLOW, None)
    assert ics.parse(by_href[dentist].data) is None  # foreign: raw, for the caller to skip
    assert b"SUMMARY:Dentist" in by_href[dentist].data

    calls.clear()
    quiet = calendar.fetch_reminders(client, cal, token=first.token, known=known)
    assert methods(calls) == ["REPORT"]
    assert (quiet.changed, quiet.deleted, quiet.complete) == ([], [], False)

    # the phone moves one reminder and deletes another
    moved = dataclasses.replace(FOLLOW, day=dt.date(2026, 12, 9))
    phone_put(phone, follow, ics.render(moved, stamp=STAMP), etag=known[follow])
    assert phone.delete(wedding).status in (200, 204)
    servers.settle(server)
    calls.clear()
    after = calendar.fetch_reminders(client, cal, token=quiet.token, known=known)
    assert methods(calls) == ["REPORT", "REPORT"]
    assert [obj.href for obj in after.changed] == [follow]
    assert ics.parse(after.changed[0].data) == (moved, None)
    assert after.deleted == [wedding]
    assert not after.complete and after.token != quiet.token

    # netsync's own write comes back in the sync report, but not as a change
    known = {follow: after.changed[0].etag, dentist: known[dentist]}
    etag = update(client, follow, FOLLOW, etag=known[follow])
    known[follow] = etag or ""
    calls.clear()
    echo = calendar.fetch_reminders(client, cal, token=after.token, known=known)
    assert methods(calls) == ["REPORT"]
    assert echo.changed == [] and echo.deleted == []
    assert echo.unchanged == [follow]


def test_our_own_write_deleted_by_the_phone_before_the_next_sync_is_seen(
    client: Any, phone: Any, cal: str, server: servers.Server
) -> None:
    # RFC 6578 lets a server leave out of the report an object created and deleted since
    # the token (Xandikos does): netsync names what it wrote, and those the report leaves
    # out are asked for. A follow-up the phone deleted is how the user says "done".
    first = calendar.fetch_reminders(client, cal, token=None, known={})
    follow, etag = create(client, cal, FOLLOW)
    kept, kept_etag = create(client, cal, TASK)
    assert phone.delete(follow).status in (200, 204)
    servers.settle(server)
    known = {follow: etag or "", kept: kept_etag or ""}
    calls = recorded(client)
    changes = calendar.fetch_reminders(
        client, cal, token=first.token, known=known, written=[follow, kept]
    )
    assert changes.deleted == [follow]
    assert changes.changed == [] and changes.unchanged == [kept]
    assert methods(calls)[0] == "REPORT" and len(calls) <= len(listing(server)) + 1

    # Nothing of ours left out of the report: no request beyond the sync.
    calls.clear()
    quiet = calendar.fetch_reminders(
        client, cal, token=changes.token, known={kept: kept_etag or ""}, written=[]
    )
    assert methods(calls) == listing(server) and quiet.deleted == [] and quiet.changed == []


def test_an_expired_token_falls_back_to_a_full_listing(
    client: Any, phone: Any, cal: str, server: servers.Server, request: pytest.FixtureRequest
) -> None:
    # Radicale: 403 DAV:valid-sync-token after max_sync_token_age; Xandikos: 412.
    needs_sync_collection(server)
    if server.kind == "sogo":
        request.applymarker(pytest.mark.xfail(strict=True, reason=SOGO_TAKES_ANY_TOKEN))
    follow, etag = create(client, cal, FOLLOW)
    first = calendar.fetch_reminders(client, cal, token=None, known={})
    gone = f"{cal}netsync-follow-up-gone.ics"
    phone_put(phone, f"{cal}4C1E2A3B-dentist.ics", DENTIST)
    calls = recorded(client)
    bad = (first.token or "").rstrip("0123456789abcdef") + "0" * 40
    changes = calendar.fetch_reminders(
        client, cal, token=bad, known={follow: etag or "", gone: '"old"'}
    )
    # refused sync-collection, a full one, and one multiget for the new object
    assert methods(calls) == ["REPORT", "REPORT", "REPORT"]
    assert changes.complete and changes.token
    assert changes.unchanged == [follow]
    assert [obj.href for obj in changes.changed] == [f"{cal}4C1E2A3B-dentist.ics"]
    assert changes.deleted == [gone]


def test_a_server_without_sync_collection_is_listed_by_propfind(
    client: Any, phone: Any, cal: str, server: servers.Server
) -> None:
    follow, _ = create(client, cal, FOLLOW)
    phone_put(phone, f"{cal}4C1E2A3B-dentist.ics", DENTIST)
    send = client.request

    def no_sync(url: str, method: str = "GET", body: str = "", headers: Any = None) -> Any:
        if method == "REPORT" and "sync-collection" in body:
            # a report the server does not know: Radicale answers an empty 207, Xandikos 403
            body = '<d:no-such-report xmlns:d="DAV:"/>'
        return send(url, method, body, headers)

    client.request = no_sync
    calls = recorded(client)
    changes = calendar.fetch_reminders(client, cal, token=None, known={follow: '"stale"'})
    assert methods(calls) == ["REPORT", "PROPFIND", "REPORT"]
    # The token is the calendar's DAV:sync-token property, which the listing asks for: the
    # servers that have sync-collection have one (only their report is withheld here), so
    # the next cycle tries to sync; sabre/dav 1.8 has neither.
    assert changes.complete and bool(changes.token) == (server.kind != "sabre")
    assert {obj.href for obj in changes.changed} == {follow, f"{cal}4C1E2A3B-dentist.ics"}
    assert ics.parse(next(o for o in changes.changed if o.href == follow).data) == (FOLLOW, None)


def test_a_foreign_object_is_handed_over_and_never_changed(
    client: Any, phone: Any, cal: str
) -> None:
    dentist = f"{cal}4C1E2A3B-dentist.ics"
    phone_put(phone, dentist, DENTIST)
    before = stored(client, cal)[dentist]
    with pytest.raises(dav.DavError, match="refusing"):
        calendar.delete(client, dentist, etag=before.etag)
    with pytest.raises(dav.DavError, match="refusing"):
        update(client, dentist, FOLLOW, etag=before.etag)
    after = stored(client, cal)[dentist]
    assert (after.etag, after.data) == (before.etag, before.data)


# -- what the server makes of it -----------------------------------------------------------------


@pytest.mark.parametrize("reminder", [FOLLOW, WEDDING, TASK], ids=["event", "hostile", "task"])
def test_a_stored_reminder_reads_back_as_written(
    client: Any, server: servers.Server, cal: str, reminder: Reminder
) -> None:
    href, _etag = create(client, cal, reminder)
    data = stored(client, cal)[href].data
    if server.kind == "radicale":  # Radicale re-serialises what it stores...
        assert data.replace(b"\n", b"\r\n") != ics.render(reminder, stamp=STAMP)
    got = ics.parse(data)  # ...and it still says the same
    assert got == (ics.canonical(reminder), None)
    assert ics.same_content(got[0], reminder)
    assert got[0].contact_uid == reminder.contact_uid
