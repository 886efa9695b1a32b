"""A step of `netsync init`, after the calendar: the mail you send as a sign of contact
(SPEC 6, ``[mail]``).

Offered, not pressed (the default is no). Finds the IMAP server from ``--mail-url``, else a
provider preset or the domain's RFC 6186 SRV records (app/mailsetup.py), else asks; logs in
with the password that just worked for the contacts (one app password often serves both)
and asks for another only if the server refuses it; finds the sent folder and says how many
messages' headers the first cycle will read. That count is all it reads: no header, no
subject, no body. A mail password other than the contacts one is not kept here: init says
how to hand it over (``netsync set-password --for mail`` or the credential
``netsync-password-mail``).

With Google contacts, the question comes before the Google sign-in (``wants_gmail``): a yes
makes that one sign-in also allow reading mail, and Gmail is then read with it (XOAUTH2,
``[mail] auth = "oauth"``), with no mail password at all. Mail of another account (another
``--mail-username``) goes the password way.
"""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import dataclass, field

from netsync.commands.common import UsageError
from netsync.commands.init.answers import Login
from netsync.commands.init.prompter import Prompter
from netsync.dav import discovery

WHAT_IS_READ = (
    "netsync can count the mail you send as contact: a message to Alice is contact with "
    "Alice. It reads only the headers Date, From, To, Cc and Bcc of your sent folder, never a "
    "subject or a body, and marks nothing as read."
)


@dataclass(frozen=True)
class MailChoice:
    url: str = ""  # "" = no mail
    username: str = ""
    password: str = field(default="", repr=False)  # the one that worked; kept with the rest
    own_password: bool = False  # not the contacts one
    said: str = ""  # for the summary: "imaps://... (Sent; the first cycle reads ...)"
    auth: str = "password"  # or "oauth": the Google sign-in of the contacts


def add_flags(parser: argparse.ArgumentParser) -> None:
    mail = parser.add_argument_group("mail you send (optional)")
    mail.add_argument(
        "--mail-url", metavar="URL", help="your IMAP server: imaps://HOST or imap://HOST:143"
    )
    mail.add_argument("--mail-username", metavar="NAME", help="the mail login (your address)")
    mail.add_argument("--no-mail", action="store_true", help="do not ask about mail")


def pick_mail(
    args: argparse.Namespace,
    ui: Prompter,
    login: Login,
    *,
    ca_file: str,
    resolve: discovery.Resolve,
    today: dt.date,
) -> MailChoice:
    from netsync.app import imap, mailsetup
    from netsync.dav.providers import looks_like_email

    if args.no_mail:
        return MailChoice()
    if login.tokens is not None:
        if login.mail_grant:
            return _gmail(args, ui, login, ca_file=ca_file, today=today)
        if not args.mail_username:
            return MailChoice()  # asked before the sign-in, and the answer was no
    guess = login.username if looks_like_email(login.username) else (args.email or "")
    if not (args.mail_url or args.mail_username):
        if not ui.interactive:
            return MailChoice()
        if not guess:  # no address to look the server up by: a hint, not a question
            ui.say(
                "(The mail you send can count as contact too: `netsync init --mail-url "
                "imaps://HOST --mail-username ADDRESS`, or [mail] in the config.)"
            )
            return MailChoice()
        ui.say("\n" + WHAT_IS_READ)
        if not ui.confirm("Count the mail you send as contact?", default=False):
            return MailChoice()
    username = args.mail_username or ui.ask(
        "Your mail login (usually your e-mail address)",
        flag="--mail-username",
        default=guess or None,
        what="mail login",
    )
    if args.mail_url:
        from netsync.app.config import mail_url

        try:
            urls = [mail_url(args.mail_url)]
        except ValueError as err:
            raise UsageError(f"init: --mail-url {err}") from None
    else:
        known = mailsetup.candidates(username, provider=args.provider or "", resolve=resolve)
        urls = [c.url for c in known]
    if not urls:
        urls = [
            ui.ask(
                "Your IMAP server (imaps://HOST, or imap://HOST:143 for STARTTLS)",
                flag="--mail-url",
                what="mail server",
            )
        ]
    password = login.password
    if login.tokens is not None:
        # The contacts login is an OAuth sign-in (Google): its refresh token is no IMAP
        # password. Gmail's IMAP takes an app password (2-Step Verification on).
        if not ui.interactive:
            return _elsewhere(ui, urls[0], username)
        password = ui.password(f"Mail password for {username} (Gmail: an app password): ")
    for url in urls:
        while True:
            box = imap.Mailbox(imap.MailAccount(url, username, password, ca_file, timeout=30.0))
            try:
                found = box.survey(None, today=today)
            except imap.MailAuthFailed:
                if not ui.interactive:
                    ui.say(f"{url} refused the contacts password for {username}.")
                    return _elsewhere(ui, url, username)
                ui.say(f"{url} did not take the same password.")
                password = ui.password(f"Mail password for {username}: ")
                continue
            except imap.MailError as err:
                ui.say(f"  {err}")
                break
            finally:
                box.close()
            said = (
                f"{url} ({', '.join(found.folders)}; the first cycle reads the headers of "
                f"{found.to_read:,} message(s))"
            )
            ui.say(f"Mail: {said}")
            return MailChoice(url, username, password, password != login.password, said)
    ui.say("No mail server answered; mail stays off (`[mail] url` in the config turns it on).")
    return MailChoice()


def wants_gmail(args: argparse.Namespace, ui: Prompter, username: str) -> bool:
    """Before the Google sign-in: should it also allow reading the mail of ``username``
    (Gmail)? Asked here so that one visit to the browser serves contacts, calendar and mail."""
    if args.no_mail:
        return False
    if args.mail_username and args.mail_username.casefold() != username.casefold():
        return False  # another account's mail: its own password, later
    if args.mail_url or args.mail_username:
        return True
    if not ui.interactive:
        return False
    ui.say(
        "\n"
        + WHAT_IS_READ
        + " With Gmail, the Google sign-in below then also allows netsync to read your mail."
    )
    return ui.confirm("Count the mail you send as contact?", default=False)


def _gmail(
    args: argparse.Namespace, ui: Prompter, login: Login, *, ca_file: str, today: dt.date
) -> MailChoice:
    """Gmail with the Google sign-in that just allowed it (XOAUTH2): no mail password."""
    from netsync.app import imap, mailsetup, oauth

    if args.mail_url:
        from netsync.app.config import mail_url

        try:
            url = mail_url(args.mail_url)
        except ValueError as err:
            raise UsageError(f"init: --mail-url {err}") from None
    else:
        url = mailsetup.PRESETS["google"].url
    account = imap.MailAccount(
        url,
        login.username,
        "",
        ca_file,
        30.0,
        token=login.tokens,
        scope=oauth.MAIL_SCOPE,
        reauth=oauth.FIX,
    )
    box = imap.Mailbox(account)
    try:
        found = box.survey(None, today=today)
    except imap.MailError as err:
        ui.say(f"  {err}")
        ui.say("Mail stays off (`[mail] url` in the config turns it on).")
        return MailChoice()
    finally:
        box.close()
    said = (
        f"{url} with the Google sign-in ({', '.join(found.folders)}; the first cycle reads "
        f"the headers of {found.to_read:,} message(s))"
    )
    ui.say(f"Mail: {said}")
    return MailChoice(url, login.username, "", False, said, "oauth")


def _elsewhere(ui: Prompter, url: str, username: str) -> MailChoice:
    return MailChoice(url, username, "", True, f"{url} (its password still to be given)")


def keep_mail_password(ui: Prompter, login: Login, mail: MailChoice, *, keyring: bool) -> None:
    """At the end, with the rest: the mail password in the keyring under the mail username,
    when the contacts password goes there too and the usernames differ (the keyring keeps
    one password per username); else, when it is a password of its own, how to hand it
    over."""
    from netsync.app import secrets

    if not mail.url:
        return
    if keyring and mail.password and mail.username != login.username:
        try:
            where = secrets.set_password(mail.username, mail.password)
        except secrets.SecretError as err:
            ui.say(f"Could not keep the mail password in the keyring: {err}.")
        else:
            ui.say(f"Kept the mail password in the {where}.")
            return
    elif not mail.own_password:
        return  # it is the contacts password, and found where that one is
    ui.say(
        f"Give netsync the mail password of {mail.username} as the systemd credential "
        "netsync-password-mail (LoadCredential=netsync-password-mail:FILE), with [mail] "
        "password_command in the config, or with `netsync set-password --for mail`"
        + (
            " (it shares the keyring entry of the contacts login)"
            if mail.username == login.username
            else ""
        )
        + "."
    )
