"""Google through its stand-in (tests/standins/google.py, which cites its sources): signing in
with the installed-app flow, a sync with bearer tokens, tokens that run out in the middle of a
cycle, and a grant the user revoked."""

from __future__ import annotations

import threading
import urllib.request
from pathlib import Path

import icalendar
import pytest
from scenario import TODAY
from standins import google as gs
from standins import vcards

from netsync.app import demo, oauth
from netsync.commands import main


def sign_in(g: gs.Google) -> str:
    """The consent flow as a user goes through it: netsync prints a link, the user opens it
    in a browser and allows access; the browser lands on netsync's loopback listener."""
    client = oauth.Client(oauth.GOOGLE, gs.CLIENT_ID, gs.CLIENT_SECRET)
    browsed: list[threading.Thread] = []

    def say(url: str) -> None:
        def browser() -> None:
            back = g.consent_url(url)
            assert back.startswith("http://127.0.0.1:")
            with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                back, timeout=10
            ) as page:
                assert b"signed in" in page.read()

        thread = threading.Thread(target=browser)
        thread.start()
        browsed.append(thread)

    grant = oauth.consent(client, say=say, timeout=30)
    for thread in browsed:
        thread.join(10)
    return grant.refresh_token


def upload(g: gs.Google) -> list[dict[str, str]]:
    people = demo.sample_people(TODAY)
    for index, person in enumerate(people):
        assert gs.put_card(g, f"p{index:03d}.vcf", demo.vcard(person, index)) == 201
    return people


def write_config(tmp_path: Path, *, calendar: str = "Keep in touch") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        "[contacts]\n"
        f'url = "{gs.CARDDAV_URL}"\n'
        f'username = "{gs.EMAIL}"\n'
        f'oauth_client_id = "{gs.CLIENT_ID}"\n'
        f'oauth_client_secret = "{gs.CLIENT_SECRET}"\n'
        "[reminders]\n"
        f'url = "{gs.CALDAV_URL}"\n'
        f'calendar = "{calendar}"\n'
        "[state]\n"
        f'dir = "{tmp_path / "state"}"\n'
    )
    path.chmod(0o600)
    return path


def sync(config: Path, *args: str) -> int:
    return main(["--config", str(config), "sync", "--today", TODAY.isoformat(), *args])


def events(g: gs.Google, name: str = "Keep in touch") -> dict[str, icalendar.Component]:
    import davcheck

    slug = next(c.slug for c in g.calendars if c.name == name)
    url = f"{g.xandikos.calendar_home}{slug}/"
    out = {}
    for _href, (_etag, body) in davcheck.snapshot(g.xandikos, url).items():
        for comp in icalendar.Calendar.from_ical(body).walk("VEVENT"):
            out[str(comp["UID"])] = comp
    return out


def test_sign_in_sync_and_a_second_sync_that_writes_nothing(
    google: gs.Google,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The refresh token from the installed-app flow (PKCE, loopback redirect) is the
    account's password; every DAV request carries a bearer token and no password."""
    upload(google)
    google.make_calendar("Keep in touch")
    refresh = sign_in(google)
    assert refresh.startswith("1//")
    monkeypatch.setenv("NETSYNC_PASSWORD", refresh)
    config = write_config(tmp_path)

    assert sync(config) == 0, capsys.readouterr().err
    written = events(google)
    assert any("Alice Jansen turns 47" in str(e["SUMMARY"]) for e in written.values())
    dav = [r for front in google.fronts[2:] for r in front.seen]
    assert dav and all(r.header("authorization").startswith("Bearer ya29.") for r in dav)
    assert refresh not in str([r.headers for r in dav])
    capsys.readouterr()

    before = {uid: e.to_ical() for uid, e in events(google).items()}
    count = len(google.fronts[3].seen)
    assert sync(config) == 0
    out = capsys.readouterr().out
    writes = [r.method for r in google.fronts[3].seen[count:] if r.method in ("PUT", "DELETE")]
    assert writes == [], out
    assert {uid: e.to_ical() for uid, e in events(google).items()} == before


def test_card_written_by_log_keeps_what_google_kept(
    google: gs.Google,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    upload(google)
    google.make_calendar("Keep in touch")
    monkeypatch.setenv("NETSYNC_PASSWORD", sign_in(google))
    config = write_config(tmp_path)
    import davcheck

    before = davcheck.snapshot(google.xandikos, google.xandikos.addressbook)
    code = main(
        ["--config", str(config), "log", "Alice Jansen", "--via", "call", "--date", "2026-11-20"]
    )
    assert code == 0
    after = davcheck.snapshot(google.xandikos, google.xandikos.addressbook)
    changed = [h for h in after if after[h][1] != before[h][1]]
    assert len(changed) == 1
    old, new = before[changed[0]][1].decode(), after[changed[0]][1].decode()
    assert "last: 2026-11-20 call" in vcards.value(new, "NOTE").replace("\\n", "\n")
    strip = [line for line in vcards.unfold(old) if not line.startswith("NOTE")]
    assert [line for line in vcards.unfold(new) if not line.startswith("NOTE")] == strip
