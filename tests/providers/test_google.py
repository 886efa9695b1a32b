"""Google through its stand-in (tests/standins/google.py, which cites its sources): signing in
with the installed-app flow, a sync with bearer tokens, tokens that run out in the middle of a
cycle, and a grant the user revoked."""

from __future__ import annotations

import datetime as dt
import urllib.request
from pathlib import Path

import icalendar
import pytest

from netsync.app import oauth
from netsync.commands import main
from tests.providers.google_steps import sign_in, upload, write_config
from tests.pty_session import Terminal
from tests.scenario import TODAY
from tests.standins import google as gs
from tests.standins import vcards


def sync(config: Path, *args: str) -> int:
    return main(["--config", str(config), "sync", "--today", TODAY.isoformat(), *args])


def events(g: gs.Google, name: str = "Keep in touch") -> dict[str, icalendar.Component]:
    from tests import davcheck

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
    # Alarms survive Google's reminder model (0 to 40320 minutes before the start)
    assert all(e.walk("VALARM") for e in written.values())
    assert all(
        a.decoded("TRIGGER") <= dt.timedelta(0) for e in written.values() for a in e.walk("VALARM")
    )
    dav = [r for front in google.fronts[2:] for r in front.seen]
    assert dav and all(r.header("authorization").startswith("Bearer ya29.") for r in dav)
    assert refresh not in str([r.headers for r in dav])
    capsys.readouterr()

    before = {uid: e.to_ical() for uid, e in events(google).items()}
    count, cards = len(google.fronts[3].seen), len(google.fronts[2].seen)
    assert sync(config) == 0
    out = capsys.readouterr().out
    writes = [r.method for r in google.fronts[3].seen[count:] if r.method in ("PUT", "DELETE")]
    assert writes == [], out
    assert {uid: e.to_ical() for uid, e in events(google).items()} == before
    # "Client applications must switch to this mode of operation after the initial sync"
    # (sync-collection): no second full listing of the address book, and a token that works.
    second = google.fronts[2].seen[cards:]
    assert not [r for r in second if r.method == "PROPFIND" and r.header("depth") == "1"]
    syncs = [r for r in second if r.method == "REPORT" and b"sync-collection" in r.body]
    assert syncs and all(b"<d:sync-token></d:sync-token>" not in r.body for r in syncs)


def test_card_written_by_log_keeps_what_google_kept(
    google: gs.Google,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    upload(google)
    google.make_calendar("Keep in touch")
    monkeypatch.setenv("NETSYNC_PASSWORD", sign_in(google))
    config = write_config(tmp_path)
    from tests import davcheck

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


def test_access_token_that_runs_out_in_the_middle_of_a_cycle(
    google: gs.Google,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Google may end an access token before its hour (password change, clock skew): the
    request that got the 401 is sent again with a new token, and the cycle goes on."""
    upload(google)
    google.make_calendar("Keep in touch")
    monkeypatch.setenv("NETSYNC_PASSWORD", sign_in(google))
    config = write_config(tmp_path)
    google.expire_access_tokens(after=8)  # in the middle of reading the calendar

    assert sync(config) == 0, capsys.readouterr().err
    assert google.refused == 1
    grants = [r["grant_type"] for r in google.token_requests]
    assert grants == ["authorization_code", "refresh_token", "refresh_token"]
    assert any("Alice Jansen turns 47" in str(e["SUMMARY"]) for e in events(google).values())


def test_access_token_refreshed_before_it_runs_out(google: gs.Google) -> None:
    """An hour later the token source asks for a new token by itself (google-auth's expiry,
    less its margin), with no 401 first."""
    import datetime as dt

    import google.auth._helpers as helpers

    client = oauth.Client(oauth.GOOGLE, gs.CLIENT_ID, gs.CLIENT_SECRET)
    tokens = oauth.TokenSource(client, sign_in(google))
    first = tokens.bearer()
    assert tokens.bearer() == first and tokens.refreshes == 1
    later = helpers.utcnow() + dt.timedelta(minutes=57)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(helpers, "utcnow", lambda: later)
        second = tokens.bearer()
    assert second != first and tokens.refreshes == 2


def test_a_revoked_grant_ends_with_77_and_the_command_that_fixes_it(
    google: gs.Google,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    upload(google)
    google.make_calendar("Keep in touch")
    monkeypatch.setenv("NETSYNC_PASSWORD", sign_in(google))
    config = write_config(tmp_path)
    google.revoke_all()

    assert sync(config) == 77
    err = capsys.readouterr().err
    assert "invalid_grant: Token has been expired or revoked." in err
    assert "sign in again with `netsync set-password`" in err
    assert events(google) == {}  # nothing was written


def test_signing_in_again_over_ssh_by_pasting_the_address(
    google: gs.Google,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    terminals: list[Terminal],
) -> None:
    """After a revoked grant, `netsync set-password` signs in again. On a machine reached over
    SSH the browser cannot reach netsync's loopback listener: the user pastes the address the
    browser could not load, and the new refresh token goes where the old one was read from."""
    import os
    import re

    upload(google)
    google.make_calendar("Keep in touch")
    token_file = tmp_path / "google-refresh-token"
    token_file.write_text(sign_in(google) + "\n")
    config = write_config(tmp_path)
    text = config.read_text().replace(
        "[reminders]", f'password_command = "cat {token_file}"\n[reminders]'
    )
    config.write_text(text)
    google.revoke_all()
    assert sync(config) == 77

    env = {k: v for k, v in os.environ.items() if not k.startswith("NETSYNC_")}
    term = Terminal(["--config", str(config), "set-password"], env)
    terminals.append(term)
    term.expect(f"Sign in to Google as {gs.EMAIL}: open this link in a browser")
    shown = term.expect("paste it here.")
    link = re.search(r"https://accounts\.google\.com/\S+", shown)
    assert link is not None, shown
    assert "ssh -L " in shown
    back = google.consent_url(link.group(0))  # the browser on the user's own computer
    term.answer(back)  # ... which cannot load it, so the user pastes it
    term.expect(f"Signed in; kept the new refresh token in {token_file}.")
    assert term.finish() == 0
    assert back not in term.buffer.split(back, 1)[1]  # echoed once (the paste), not printed
    assert sync(config) == 0
    assert any("Alice Jansen turns 47" in str(e["SUMMARY"]) for e in events(google).values())


def test_a_lost_state_directory_rewrites_nothing(
    google: gs.Google,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Google keeps an event in its own model: netsync's X- properties and CATEGORIES do not
    come back. What netsync needs must survive that (SPEC 1: the state is only a cache)."""
    import shutil

    upload(google)
    google.make_calendar("Keep in touch")
    monkeypatch.setenv("NETSYNC_PASSWORD", sign_in(google))
    config = write_config(tmp_path)
    assert sync(config) == 0
    stored = events(google)
    assert stored and all(
        "X-NETSYNC-KIND" not in e and "CATEGORIES" not in e for e in stored.values()
    )
    before = {uid: e.to_ical() for uid, e in stored.items()}
    capsys.readouterr()

    shutil.rmtree(tmp_path / "state")
    count = len(google.fronts[3].seen)
    assert sync(config) == 0
    out = capsys.readouterr().out
    writes = [
        (r.method, r.route) for r in google.fronts[3].seen[count:] if r.method in ("PUT", "DELETE")
    ]
    assert writes == [], out
    assert {uid: e.to_ical() for uid, e in events(google).items()} == before


def test_check_names_google_and_its_limits(
    google: gs.Google,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    upload(google)
    google.make_calendar("Keep in touch")
    monkeypatch.setenv("NETSYNC_PASSWORD", sign_in(google))
    config = write_config(tmp_path)
    assert main(["--config", str(config), "check"]) == 0
    out = capsys.readouterr().out
    assert "[ok  ] provider: Google; known limits:" in out
    assert 'apps cannot make calendars there: make "Keep in touch" in Google Calendar' in out
    assert "[ok  ] sign-in (refresh token): from $NETSYNC_PASSWORD" in out
    assert "[ok  ] write permission: created and deleted a test event" in out

    google.revoke_all()
    assert main(["--config", str(config), "check"]) == 77
    out = capsys.readouterr().out
    assert "[FAIL] sign-in: invalid_grant: Token has been expired or revoked." in out
    assert "next: sign in again with `netsync set-password`" in out


def test_init_on_a_terminal_with_google(
    google: gs.Google,
    tmp_path: Path,
    terminals: list[Terminal],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A new user with an Android phone: init shows how to make an OAuth client, signs in
    through the browser, finds that Google lets no app make "Keep in touch", waits while the
    user makes it in Google Calendar, and keeps the refresh token where a password goes."""
    import os
    import re
    import stat
    import tomllib

    upload(google)
    config = tmp_path / "netsync" / "config.toml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETSYNC_")}
    term = Terminal(["init", "--config", str(config), "--today", TODAY.isoformat()], env)
    terminals.append(term)
    term.expect("Your server: its address (cloud.example.com), your e-mail address, or a provider")
    term.answer("google")
    term.expect("Google lets netsync in only through an OAuth client of your own")
    term.expect('enable the "CalDAV API" and the "Google Contacts CardDAV API"')
    term.expect('"Desktop app"')
    term.expect("The client ID: ")
    term.answer(gs.CLIENT_ID)
    term.expect("The client secret: ")
    term.answer(gs.CLIENT_SECRET)
    term.expect("Your Google account (your Google account's e-mail address): ")
    term.answer(gs.EMAIL)
    # Asked before the sign-in, so that one sign-in also allows Gmail when the answer is yes
    term.expect("the Google sign-in below then also allows netsync to read your mail.")
    term.expect("Count the mail you send as contact? [y/N]: ")
    term.answer("")  # mail stays off
    shown = term.expect("paste it here.")
    link = re.search(r"https://accounts\.google\.com/\S+", shown)
    assert link is not None and "ssh -L " in shown
    assert "mail.google.com" not in urllib.request.unquote(link.group(0))
    back = google.consent_url(link.group(0))
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(back, timeout=10):
        pass  # the browser lands on netsync's listener
    term.expect("Signed in to Google.")
    term.expect(f"Logged in to {gs.CARDDAV_URL} as {gs.EMAIL}.")
    term.expect('Google does not let apps make calendars. Make one called "Keep in touch"')
    term.expect('look again (after making "Keep in touch")')
    google.make_calendar("Keep in touch")  # the user, in Google Calendar on the web
    term.expect("Which calendar should the reminders go to?")
    term.answer("2")
    term.expect('2) "Keep in touch"')
    term.expect("Which calendar should the reminders go to?")
    term.answer("")
    term.expect("Language")
    term.answer("")
    term.expect("How often")
    term.answer("")
    term.expect("Write the config to")
    term.answer("")
    token_file = config.parent / "google-refresh-token"
    term.expect(f"Kept the Google sign-in (a refresh token) in {token_file}, readable only by you.")
    term.expect("dry run, nothing written: 25 contacts read")
    assert term.finish() == 0

    refresh = token_file.read_text().strip()
    assert refresh.startswith("1//") and stat.S_IMODE(token_file.stat().st_mode) == 0o600
    text = config.read_text()
    assert refresh not in text and refresh not in term.buffer
    data = tomllib.loads(text)
    assert data["contacts"]["oauth_client_id"] == gs.CLIENT_ID
    assert data["contacts"]["password_command"] == f"cat {token_file}"
    assert (
        data["reminders"]["url"].startswith(gs.CALDAV_URL) and "events" in data["reminders"]["url"]
    )
    config.write_text(text.replace('dir = ""', f'dir = "{tmp_path / "state"}"'))
    assert sync(config) == 0, capsys.readouterr().err
    assert any("Alice Jansen turns 47" in str(e["SUMMARY"]) for e in events(google).values())


def test_init_unattended_with_the_client_file_from_the_console(
    google: gs.Google, tmp_path: Path, terminals: list[Terminal]
) -> None:
    """`--email` of a Gmail address is Google; the OAuth client comes from the JSON the
    console offers for download; the sign-in still needs a browser (here: the listener)."""
    import json
    import os
    import re
    import tomllib

    upload(google)
    google.make_calendar("Keep in touch")
    client_file = tmp_path / "client_secret.json"
    client_file.write_text(
        json.dumps({"installed": {"client_id": gs.CLIENT_ID, "client_secret": gs.CLIENT_SECRET}})
    )
    config = tmp_path / "config.toml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETSYNC_")}
    args = ["init", "--non-interactive", "--config", str(config), "--email", gs.EMAIL]
    args += ["--oauth-client-file", str(client_file), "--today", TODAY.isoformat()]
    term = Terminal(args, env)
    terminals.append(term)
    term.expect("gmail.com is Google.")
    shown = term.expect("paste it here.")
    link = re.search(r"https://accounts\.google\.com/\S+", shown)
    assert link is not None
    back = google.consent_url(link.group(0))
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(back, timeout=10):
        pass
    term.expect('Calendar: "Keep in touch"')
    term.expect("dry run, nothing written: 25 contacts read")
    assert term.finish() == 0
    data = tomllib.loads(config.read_text())
    assert data["contacts"]["username"] == gs.EMAIL
    assert data["contacts"]["oauth_client_secret"] == gs.CLIENT_SECRET


def test_a_password_is_refused_and_check_says_what_google_takes(
    google: gs.Google,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Basic with the Google password (or an app password) gets 401: only OAuth works."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[contacts]\nurl = "{gs.CARDDAV_URL}"\nusername = "{gs.EMAIL}"\n'
        f'[reminders]\nurl = "{gs.CALDAV_URL}"\n[state]\ndir = "{tmp_path / "state"}"\n'
    )
    monkeypatch.setenv("NETSYNC_PASSWORD", "my-google-password")
    assert main(["--config", str(config), "check"]) == 77
    out = capsys.readouterr().out
    assert "Google takes no password, only its own sign-in (OAuth)" in out
    assert "`netsync init --provider google`" in out
    dav = [r for front in google.fronts[2:] for r in front.seen]
    assert dav and not any(google.access_tokens)


def test_no_token_in_a_debug_log(
    google: gs.Google,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`-vv` logs at DEBUG, where requests-oauthlib and google-auth would print whole token
    requests and responses; none of the secrets reaches the log."""
    upload(google)
    google.make_calendar("Keep in touch")
    refresh = sign_in(google)
    monkeypatch.setenv("NETSYNC_PASSWORD", refresh)
    google.expire_access_tokens(after=3)  # a refresh in the middle, too
    assert main(["--config", str(write_config(tmp_path)), "-vv", "sync"]) == 0
    err = capsys.readouterr().err
    assert "DEBUG" in err and "refused the access token; getting a new one" in err
    for secret in [refresh, gs.CLIENT_SECRET, *google.access_tokens]:
        assert secret not in err


def test_no_keep_in_touch_yet_says_to_make_it_in_google_calendar(
    google: gs.Google,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Google has no MKCALENDAR: a sync that would make the calendar ends with 78 (the
    config names a calendar that is not there) and says where to make it."""
    upload(google)
    monkeypatch.setenv("NETSYNC_PASSWORD", sign_in(google))
    assert sync(write_config(tmp_path)) == 78
    err = capsys.readouterr().err
    assert "there is no calendar named 'Keep in touch'" in err
    assert "MKCALENDAR answered 405" in err and "Google Calendar: Settings > Add calendar" in err
    assert f"one of: '{gs.EMAIL}'" in err


def test_a_pasted_address_with_another_state_is_refused(google: gs.Google) -> None:
    """The state netsync sent must come back (RFC 6749 section 10.12): an address pasted
    from another sign-in (or made up) gets no token."""
    import os
    import re

    client = oauth.Client(oauth.GOOGLE, gs.CLIENT_ID, gs.CLIENT_SECRET)
    read_end, write_end = os.pipe()
    paste = os.fdopen(read_end, "r")

    def say(url: str) -> None:
        back = google.consent_url(url)
        forged = re.sub(r"state=[^&]+", "state=not-the-one-sent", back)
        os.write(write_end, forged.encode() + b"\n")

    try:
        with pytest.raises(oauth.ConsentFailed, match="refused the sign-in"):
            oauth.consent(client, say=say, paste=paste, timeout=20)
    finally:
        paste.close()
        os.close(write_end)
    assert not [r for r in google.token_requests if r.get("grant_type") == "authorization_code"]
