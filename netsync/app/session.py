"""What every command and the daemon set up from the settings: today's date, the two
accounts with their passwords, the state directory, and one cycle run with all three."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netsync.app.config import Settings
    from netsync.app.engine import Connections, Progress, Report
    from netsync.app.imap import Mailbox
    from netsync.app.state import State


def today_for(settings: Settings, override: dt.date | None) -> dt.date:
    """``override`` (``--today``), else today in ``[locale] timezone`` (or the system's)."""
    if isinstance(override, dt.datetime):
        return override.date()
    if override is not None:
        return override
    return now_for(settings, None).date()


def now_for(settings: Settings, override: dt.date | None) -> dt.datetime:
    """The local wall-clock time (naive) in ``[locale] timezone`` (or the system's), which
    decides how a reminder for today still rings. ``override`` (``--today``): a date-time as
    it is, a date from its start (00:00), so a run with ``--today`` is reproducible."""
    if isinstance(override, dt.datetime):
        return override.replace(tzinfo=None)
    if override is not None:
        return dt.datetime.combine(override, dt.time())
    if settings.locale.timezone:
        from zoneinfo import ZoneInfo

        return dt.datetime.now(ZoneInfo(settings.locale.timezone)).replace(tzinfo=None)
    return dt.datetime.now()


def connections(settings: Settings) -> Connections:
    """Both accounts with their passwords (MissingPassword when one is needed and absent)."""
    from netsync import dav
    from netsync.app import secrets
    from netsync.app.engine import Connections

    c, r = settings.contacts, settings.reminders

    def password(account: str, username: str, command: str) -> str:
        if not username:
            return ""  # no username: the server takes no login (Xandikos, a local Radicale)
        return secrets.get_password(account=account, username=username, password_command=command)

    contacts_pw = password("contacts", c.username, c.password_command)
    reminders_pw = (
        contacts_pw if r.inherits_login else password("reminders", r.username, r.password_command)
    )
    contacts_tokens = reminders_tokens = None
    if c.oauth:
        # The password is the refresh token of one grant that covers both accounts.
        contacts_tokens = token_source(settings, contacts_pw)
        reminders_tokens = contacts_tokens if r.inherits_login else None
    return Connections(
        contacts=dav.Account(
            c.url, c.username, contacts_pw, float(c.timeout), c.ca_file, contacts_tokens
        ),
        reminders=dav.Account(
            r.url, r.username, reminders_pw, float(c.timeout), r.ca_file, reminders_tokens
        ),
        calendar_name=r.calendar,
        detect_calendars=settings.detect_calendars,
        mail=mailbox(settings, contacts_tokens) if settings.mail.enabled else None,
    )


def mailbox(settings: Settings, tokens: Any = None) -> Mailbox:
    """The ``[mail]`` account, not yet connected. A missing password does not stop the
    contacts and the calendar: each cycle says it, as it would say the server is down.
    With ``auth = "oauth"`` it signs in with ``tokens``, the [contacts] account's Google
    grant (one grant, one access token at a time for DAV and IMAP; config.py has checked
    that the usernames agree)."""
    from netsync.app import imap, oauth, secrets

    m = settings.mail
    timeout = float(settings.contacts.timeout)
    if m.oauth and tokens is not None:
        account = imap.MailAccount(
            m.url,
            m.username,
            "",
            m.ca_file,
            timeout,
            token=tokens,
            scope=oauth.MAIL_SCOPE,
            reauth=oauth.FIX,
        )
        return imap.Mailbox(
            account, folders=m.folders, since_days=m.since_days, count_received=m.count_received
        )
    password, problem = "", ""
    try:
        password = secrets.get_password(
            account="mail", username=m.username, password_command=m.password_command
        )
    except secrets.MissingPassword as err:
        problem = str(err).replace(
            "run `netsync set-password`", "run `netsync set-password --for mail`"
        )
    account = imap.MailAccount(m.url, m.username, password, m.ca_file, timeout, problem=problem)
    return imap.Mailbox(
        account, folders=m.folders, since_days=m.since_days, count_received=m.count_received
    )


def token_source(settings: Settings, refresh_token: str) -> Any:
    """Access tokens for the OAuth account of ``[contacts]`` (Google)."""
    from netsync.app import oauth

    c = settings.contacts
    client = oauth.Client(oauth.GOOGLE, c.oauth_client_id, c.oauth_client_secret)
    return oauth.TokenSource(
        client, refresh_token, username=c.username, ca_file=c.ca_file, timeout=float(c.timeout)
    )


def open_state(settings: Settings) -> State:
    from netsync.app.state import State

    return State(settings.state_dir)


def run_once(
    settings: Settings,
    *,
    today: dt.date,
    dry_run: bool,
    now: dt.datetime | None = None,
    extra: Callable[..., Any] | None = None,
    progress: Progress | None = None,
) -> Report:
    """One cycle with fresh connections and the state directory, both closed afterwards.
    ``now``: see engine.run_cycle."""
    from netsync.app.engine import _quiet, run_cycle

    conn = connections(settings)
    state = open_state(settings)
    try:
        return run_cycle(
            conn,
            state,
            today=today,
            settings=settings,
            dry_run=dry_run,
            now=now,
            extra=extra,
            progress=progress or _quiet,
        )
    finally:
        state.close()
        conn.close()
