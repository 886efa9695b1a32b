"""Gmail read with the Google sign-in (XOAUTH2), against a real Dovecot that plays Gmail's
IMAP: its ``oauth2`` passdb asks the Google stand-in about every token, requires the scope
https://mail.google.com/ and the token's account as the login (tests/standins/google.py and
tests/mailserver.py cite the sources). The contacts and calendar are the Google stand-in's.

XOAUTH2 (https://developers.google.com/workspace/gmail/imap/xoauth2-protocol): the client
sends ``user=EMAIL^Aauth=Bearer TOKEN^A^A``; Gmail checks the token, its scope and that it
belongs to EMAIL."""

from __future__ import annotations

import datetime as dt
import os
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import icalendar
import pytest

from netsync.app import oauth
from netsync.commands import main
from tests import davcheck, mailserver
from tests.providers import google_steps
from tests.providers.google_steps import sign_in, upload
from tests.pty_session import Terminal
from tests.scenario import TODAY
from tests.standins import google as gs
from tests.standins import net, vcards

SENT_ON = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))


@pytest.fixture
def gmail(
    google: gs.Google, internet: net.Internet, tmp_path: Path
) -> Iterator[mailserver.Dovecot]:
    """Dovecot as imap.gmail.com: XOAUTH2 checked against the stand-in's token info, a
    certificate from the stand-ins' CA (so one --ca-file serves Google and the mail)."""
    issued = internet.ca.issue_cert("127.0.0.1", "localhost")
    chain, key = tmp_path / "gmail-chain.pem", tmp_path / "gmail-key.pem"
    chain.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    issued.private_key_pem.write_to_path(str(key))
    with mailserver.dovecot(
        tokeninfo=google.gmail_tokeninfo_url, certificate=(chain, key, internet.ca_file)
    ) as server:
        yield server


def write_config(tmp_path: Path, server: mailserver.Dovecot, ca_file: Path) -> Path:
    """The Google config with Gmail read through the same sign-in."""
    mail = f'[mail]\nurl = "{server.imaps_url}"\nauth = "oauth"\nca_file = "{ca_file}"\n'
    return google_steps.write_config(tmp_path, more=mail)


def send_to_alice(server: mailserver.Dovecot) -> None:
    """The user's mail program files a message to Alice in Sent (it logs in its own way)."""
    sent = mailserver.message(
        to="Alice Jansen <alice@example.org>",
        sender=f"Alice <{gs.EMAIL}>",
        date="Fri, 20 Nov 2026 10:00:00 +0100",
    )
    server.append("Sent", [sent], when=SENT_ON)


def alice_note(g: gs.Google) -> str:
    for _href, (_etag, body) in davcheck.snapshot(g.xandikos, g.xandikos.addressbook).items():
        text = body.decode()
        if "Alice Jansen" in text:
            return vcards.value(text, "NOTE").replace("\\n", "\n")
    raise AssertionError("no Alice in the address book")


def events(g: gs.Google) -> dict[str, icalendar.Component]:
    slug = next(c.slug for c in g.calendars if c.name == "Keep in touch")
    out = {}
    url = f"{g.xandikos.calendar_home}{slug}/"
    for _href, (_etag, body) in davcheck.snapshot(g.xandikos, url).items():
        for comp in icalendar.Calendar.from_ical(body).walk("VEVENT"):
            out[str(comp["UID"])] = comp
    return out


def sync(config: Path, *args: str) -> int:
    return main(["--config", str(config), *args, "sync", "--today", TODAY.isoformat()])


def xoauth2_sessions(server: mailserver.Dovecot) -> list[dict[str, object]]:
    return [s for s in server.sessions() if s["user"] == gs.EMAIL]


def test_a_sync_records_mail_sent_read_with_the_google_sign_in(
    google: gs.Google,
    gmail: mailserver.Dovecot,
    internet: net.Internet,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One grant for CardDAV, CalDAV and IMAP: the only secret netsync holds is the refresh
    token; Gmail sees an access token with the mail scope, never a password."""
    upload(google)
    google.make_calendar("Keep in touch")
    refresh = sign_in(google, mail=True)
    monkeypatch.setenv("NETSYNC_PASSWORD", refresh)
    send_to_alice(gmail)
    config = write_config(tmp_path, gmail, internet.ca_file)

    assert sync(config) == 0, capsys.readouterr().err
    assert "last: 2026-11-20 mail" in alice_note(google)
    assert "gmail" in google.tokeninfo_asked  # Dovecot asked Google about the token
    gmail.wait_for_sessions(2)  # the mail program's and netsync's
    ours = xoauth2_sessions(gmail)
    assert len(ours) == 1 and ours[0]["body_count"] == 0
    # One access token (one refresh) served the DAV requests and the IMAP login.
    assert [r["grant_type"] for r in google.token_requests] == [
        "authorization_code",
        "refresh_token",
    ]
    assert "scope" not in google.token_requests[1]  # every scope of the grant
    assert refresh not in gmail.log.read_text()


def test_an_access_token_that_ends_before_the_mail_login_is_replaced(
    google: gs.Google,
    gmail: mailserver.Dovecot,
    internet: net.Internet,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The token that served the DAV work ran out before the IMAP login (its hour ended in
    the middle of the cycle): Gmail refuses it, netsync gets a new one and logs in."""
    upload(google)
    google.make_calendar("Keep in touch")
    monkeypatch.setenv("NETSYNC_PASSWORD", sign_in(google, mail=True))
    send_to_alice(gmail)
    config = write_config(tmp_path, gmail, internet.ca_file)
    google.expire_before_mail = True

    assert sync(config) == 0, capsys.readouterr().err
    assert "last: 2026-11-20 mail" in alice_note(google)
    grants = [r["grant_type"] for r in google.token_requests]
    assert grants == ["authorization_code", "refresh_token", "refresh_token"]
    assert google.tokeninfo_asked.count("gmail") == 2  # refused, then the new one taken
    assert any("turns 47" in str(e["SUMMARY"]) for e in events(google).values())


def test_a_grant_without_mail_says_to_sign_in_again_and_the_rest_is_done(
    google: gs.Google,
    gmail: mailserver.Dovecot,
    internet: net.Internet,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    terminals: list[Terminal],
) -> None:
    """A sign-in made before mail was wanted (contacts and calendar only): the cycle does the
    contacts and the calendar, says what to run, and exits 1; `check` fails the mail login
    (77) with the same advice; `netsync set-password` signs in again, asking for the mail."""
    upload(google)
    google.make_calendar("Keep in touch")
    token_file = tmp_path / "google-refresh-token"
    token_file.write_text(sign_in(google, mail=False) + "\n")
    send_to_alice(gmail)
    config = write_config(tmp_path, gmail, internet.ca_file)
    config.write_text(
        config.read_text().replace(
            "[reminders]", f'password_command = "cat {token_file}"\n[reminders]'
        )
    )

    assert sync(config) == 1
    err = capsys.readouterr().err
    assert f"the sign-in netsync holds for {gs.EMAIL} does not allow reading mail" in err
    assert "sign in again with `netsync set-password`" in err
    assert any("turns 47" in str(e["SUMMARY"]) for e in events(google).values())
    assert "mail" not in alice_note(google)
    assert not xoauth2_sessions(gmail)  # no token that cannot work was shown to Gmail

    assert main(["--config", str(config), "check"]) == 77
    out = capsys.readouterr().out
    assert "[FAIL] mail login: the sign-in netsync holds for" in out
    assert "next: sign in again with `netsync set-password` and allow netsync to read" in out

    env = {k: v for k, v in os.environ.items() if not k.startswith("NETSYNC_")}
    term = Terminal(["--config", str(config), "set-password"], env)
    terminals.append(term)
    shown = term.expect("paste it here.")
    link = re.search(r"https://accounts\.google\.com/\S+", shown)
    assert link is not None, shown
    assert "mail.google.com" in urllib.request.unquote(link.group(0))
    term.answer(google.consent_url(link.group(0)))
    term.expect(f"Signed in; kept the new refresh token in {token_file}.")
    assert term.finish() == 0
    assert sync(config) == 0, capsys.readouterr().err
    assert "last: 2026-11-20 mail" in alice_note(google)


def test_a_revoked_grant_is_a_mail_login_that_says_what_to_run(
    google: gs.Google, gmail: mailserver.Dovecot, internet: net.Internet
) -> None:
    """The mail account alone (as `netsync run` keeps it between cycles): after the user
    removed netsync's access, the next login says to sign in again, and nothing crashes."""
    from netsync.app import imap

    client = oauth.Client(oauth.GOOGLE, gs.CLIENT_ID, gs.CLIENT_SECRET)
    tokens = oauth.TokenSource(client, sign_in(google, mail=True), username=gs.EMAIL)
    account = imap.MailAccount(
        gmail.imaps_url,
        gs.EMAIL,
        ca_file=str(internet.ca_file),
        token=tokens,
        scope=oauth.MAIL_SCOPE,
        reauth=oauth.FIX,
    )
    box = imap.Mailbox(account)
    try:
        assert box.survey(None, today=TODAY).folders == ("Sent",)
    finally:
        box.close()
    google.revoke_all()
    box = imap.Mailbox(account)
    try:
        with pytest.raises(imap.MailAuthFailed) as failed:
            box.survey(None, today=TODAY)
    finally:
        box.close()
    assert "invalid_grant" in str(failed.value)
    assert "sign in again with `netsync set-password`" in str(failed.value)


def test_init_on_a_terminal_reads_gmail_with_the_google_sign_in(
    google: gs.Google,
    gmail: mailserver.Dovecot,
    internet: net.Internet,
    tmp_path: Path,
    terminals: list[Terminal],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Google, then mail: the one sign-in asks for the mail too, init finds the sent folder
    with it, and the config reads Gmail with no mail password anywhere."""
    import tomllib

    upload(google)
    google.make_calendar("Keep in touch")
    send_to_alice(gmail)
    config = tmp_path / "netsync" / "config.toml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETSYNC_")}
    args = ["init", "--config", str(config), "--today", TODAY.isoformat()]
    args += ["--provider", "google", "--ca-file", str(internet.ca_file)]
    args += ["--mail-url", gmail.imaps_url]
    term = Terminal(args, env)
    terminals.append(term)
    term.expect("The client ID: ")
    term.answer(gs.CLIENT_ID)
    term.expect("The client secret: ")
    term.answer(gs.CLIENT_SECRET)
    term.expect("Your Google account (your Google account's e-mail address): ")
    term.answer(gs.EMAIL)
    shown = term.expect("paste it here.")
    link = re.search(r"https://accounts\.google\.com/\S+", shown)
    assert link is not None
    assert "mail.google.com" in urllib.request.unquote(link.group(0))
    back = google.consent_url(link.group(0))
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(back, timeout=10):
        pass
    term.expect("Signed in to Google.")
    term.expect("Which calendar should the reminders go to?")
    term.answer("")
    term.expect(f"Mail: {gmail.imaps_url} with the Google sign-in (Sent; the first cycle reads")
    term.expect("Language")
    term.answer("")
    term.expect("How often")
    term.answer("")
    term.expect("Write the config to")
    term.answer("")
    term.expect("dry run, nothing written: 25 contacts read")
    assert term.finish() == 0
    assert "Mail password" not in term.buffer and "netsync-password-mail" not in term.buffer

    data = tomllib.loads(config.read_text())
    assert data["mail"]["url"] == gmail.imaps_url
    assert data["mail"]["auth"] == "oauth"
    assert data["mail"]["username"] == "" and data["mail"]["password_command"] == ""
    assert not (config.parent / "netsync-password-mail").exists()
    text = config.read_text().replace('dir = ""', f'dir = "{tmp_path / "state"}"')
    config.write_text(text)
    assert sync(config) == 0, capsys.readouterr().err
    assert "last: 2026-11-20 mail" in alice_note(google)


def test_no_token_in_a_debug_log_with_mail(
    google: gs.Google,
    gmail: mailserver.Dovecot,
    internet: net.Internet,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`-vv`, and a token refused by the IMAP server on the way: no secret in the log."""
    upload(google)
    google.make_calendar("Keep in touch")
    refresh = sign_in(google, mail=True)
    monkeypatch.setenv("NETSYNC_PASSWORD", refresh)
    send_to_alice(gmail)
    google.expire_before_mail = True
    assert sync(write_config(tmp_path, gmail, internet.ca_file), "-vv") == 0
    err = capsys.readouterr().err
    assert "refused the access token; getting a new one" in err
    for secret in [refresh, gs.CLIENT_SECRET, *google.scopes]:
        assert secret not in err
