"""What an error means to the person who meets it: its exit code (SPEC 8), what went wrong,
what to do next, and whether waiting helps.

The one place that decides. The commands print it (``commands.common.handle``), `check` turns
it into a verdict, `init` into its advice, and `run` (``app.daemon``) logs it and picks its
retry from ``transient``. Anything not listed here is a bug in netsync and keeps its
traceback.

A run that wrote nothing (`due`, `check`, `sync --dry-run`, `log` before its write) never
says that "what this run wrote is safe": ``wrote=False``.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 75
EXIT_NOPERM = 77
EXIT_CONFIG = 78
EXIT_INTERRUPTED = 130

CA_FILE_IN_CONFIG = "set [contacts] ca_file to its path"
# A server's "no" that waiting does not change: not yours (403), nothing there (404), not
# here (405: MKCALENDAR or PROPFIND where there is no DAV). The config must change.
NOT_PERMITTED = (403, 404, 405)
CHECK_EVERYTHING = "check the URL, the network, and that the server is up"
MAIL_LOGIN = (
    "check [mail] username and the password (the credential netsync-password-mail, [mail] "
    "password_command, or `netsync set-password --for mail`); most providers want an app "
    "password for IMAP"
)


class UsageError(Exception):
    """Bad arguments that argparse could not catch (exit 2)."""


class Failed(Exception):
    """A step cannot go on; the message says what to do, ``code`` is the exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Meaning:
    """``what`` went wrong (one line per problem), what to do ``next`` ("" when ``what``
    says it), the exit ``code``, whether waiting may heal it (``transient``: the server is down
    or failing), and a few words for systemd's STATUS= line."""

    code: int
    what: list[str]
    next: str = ""
    transient: bool = False
    status: str = ""

    def lines(self) -> list[str]:
        """As `netsync` prints it to stderr: one line per problem, the advice on the last."""
        if not self.what:
            return []
        *head, last = self.what
        return [*head, f"{last}; {self.next}" if self.next else last]


def explain(
    err: BaseException,
    *,
    wrote: bool = True,
    redo: str = "",
    service: bool = False,
    settings: Any = None,
    trust: str = CA_FILE_IN_CONFIG,
) -> Meaning | None:
    """What ``err`` means; None for an error netsync does not know (a bug).

    ``wrote``: the run may have written something before it failed. ``redo``: a command
    whose work no later run does by itself (`netsync log ...`), to run again once the
    server answers. ``service``: said by `netsync run`, which retries by itself and finishes
    the job of a cycle in the next. ``settings``, when known,
    lets a refused login say where its password came from. ``trust`` says how to trust a
    private CA where the caller is (init: "pass --ca-file with it").
    """
    from netsync import dav
    from netsync.app import imap
    from netsync.app.config import ConfigError
    from netsync.app.secrets import MissingPassword, PasswordCommandError

    if isinstance(err, ConfigError):
        return Meaning(EXIT_CONFIG, [f"config: {p}" for p in err.problems], status="config error")
    if isinstance(err, PasswordCommandError):
        command = "the command"
        if settings is not None:
            command = (
                f"`{settings.contacts.password_command or settings.reminders.password_command}`"
            )
        return Meaning(
            EXIT_CONFIG,
            [str(err)],
            f"run {command} yourself and see what it prints (its first line is the password)",
            status="password_command failed",
        )
    if isinstance(err, MissingPassword):
        return Meaning(
            EXIT_CONFIG,
            [str(err).split("; run ")[0]],
            "on a desktop, `netsync set-password`; on a server, password_command in the "
            "config or a systemd credential (LoadCredential=netsync-password:FILE)",
            status="no password",
        )
    if isinstance(err, dav.WrongCollection):
        return Meaning(EXIT_CONFIG, [str(err)], "fix the URL in the config", status="wrong URL")
    from netsync.app.oauth import FIX, GrantRevoked

    if isinstance(err, GrantRevoked):
        what = str(err).split("; sign in again")[0]
        return Meaning(EXIT_NOPERM, [what], f"sign in again with `{FIX}`", status="sign-in refused")
    if isinstance(err, dav.AuthFailed):
        what = str(err).split(";")[0]  # AuthFailed ends in "check the username and password"
        return Meaning(EXIT_NOPERM, [what], _login_next(err, settings), status="login refused")
    if isinstance(err, dav.Unreachable):
        reason, advice = diagnose(err.url, err, trust=trust)
        if advice == CHECK_EVERYTHING:  # nothing more specific to say than "try again"
            advice = "if this goes on, check that the server is up and reachable from here"
            advice = advice if service else f"try again later; {advice}"
        if service:
            advice += "; what this cycle wrote is kept, and the next one finishes the job"
        elif wrote and redo:
            advice += f"; then run `{redo}` again (doing it twice does no harm)"
        elif wrote:
            advice += (
                " (what this run wrote is safe: the next run reads everything afresh and "
                "finishes the job)"
            )
        return Meaning(EXIT_UNAVAILABLE, [str(err)], advice, True, "server unreachable")
    if isinstance(err, dav.DavError) and err.status in NOT_PERMITTED:
        return Meaning(
            EXIT_CONFIG,
            [str(err)],
            "check the URLs and the calendar in the config, and your rights on the server",
            status="refused",
        )
    if isinstance(err, dav.DavError):
        advice = (
            "what this cycle wrote is kept, and the next one finishes the job" if service else ""
        )
        return Meaning(
            EXIT_UNAVAILABLE, [f"server error: {err}"], advice, True, status="server error"
        )
    if isinstance(err, imap.MailAuthFailed):
        if settings is not None and settings.mail.oauth:  # the Google sign-in: the fix is in it
            what, _, fix = str(err).partition("; ")
            return Meaning(EXIT_NOPERM, [what], fix, status="mail login refused")
        what = str(err).split(";")[0]
        next_ = login_advice("mail", settings.mail) if settings is not None else MAIL_LOGIN
        return Meaning(EXIT_NOPERM, [what], next_, status="mail login refused")
    if isinstance(err, imap.MailUnreachable):
        return Meaning(
            EXIT_UNAVAILABLE,
            [str(err)],
            "check [mail] url: imaps://HOST (port 993) or imap://HOST:143 (STARTTLS)",
            True,
            "mail server unreachable",
        )
    if isinstance(err, imap.MailNoPassword):
        return Meaning(
            EXIT_CONFIG,
            [str(err).split("; run ")[0]],
            "`netsync set-password --for mail`, [mail] password_command, or the credential "
            "netsync-password-mail",
            status="no mail password",
        )
    if isinstance(err, imap.MailError):  # no sent folder, a folder that cannot be read
        return Meaning(EXIT_CONFIG, [str(err)], status="mail not readable")
    if isinstance(err, UsageError):
        return Meaning(EXIT_USAGE, [str(err)])
    if isinstance(err, Failed):
        return Meaning(err.code, [str(err)])
    if isinstance(err, KeyboardInterrupt):
        return Meaning(EXIT_INTERRUPTED, [])
    if isinstance(err, OSError | sqlite3.Error):
        state = getattr(settings, "state_dir", None)
        where = f"is the state directory {state} writable" if state else "is the disk writable"
        return Meaning(
            EXIT_CONFIG,
            [f"{type(err).__name__}: {err}"],
            f"{where}, the disk full?",
            transient=True,
            status=f"local error ({type(err).__name__})",
        )
    return None


def _login_next(err: Any, settings: Any) -> str:
    """What to do about a refused login: where the password came from, when known."""
    from netsync.dav import origin

    if settings is None:
        return "check the username and password"
    which = "contacts"
    if origin(err.url) != origin(settings.contacts.url) and not settings.reminders.inherits_login:
        which = "reminders"
    return login_advice(which, settings.contacts if which == "contacts" else settings.reminders)


def login_advice(which: str, section: Any) -> str:
    """What to check after ``[which]``'s login was refused: its username and the password's
    source (without running password_command again)."""
    from netsync.app.secrets import password_source

    if not section.username:
        return f"the server wants a login: set [{which}] username (and give the password)"
    source = password_source(which, section)
    fix = {
        "keyring": "store the right one with `netsync set-password"
        + (f" --for {which}`" if which != "contacts" else "`"),
        "password_command": f"check what `{section.password_command}` prints",
        "$NETSYNC_PASSWORD": "check it",
    }.get(source.split(" ")[0], "check that file")
    advice = (
        f"the password came from {source}: {fix}; and check [{which}] username "
        f"({section.username!r})"
    )
    host = urlsplit(section.url).hostname or ""
    if host.endswith(("icloud.com", "fastmail.com", "me.com", "gmail.com")):
        advice += "; this provider wants an app-specific password, not your own"
    from netsync.dav import providers

    found = providers.provider_for_url(section.url)
    if found is not None and found.oauth and not getattr(section, "oauth", False):
        advice = (
            f"{found.name} takes no password, only its own sign-in (OAuth): run "
            f"`netsync init --provider {found.key}`"
        )
    return advice


def diagnose(url: str, err: Any, *, trust: str = CA_FILE_IN_CONFIG) -> tuple[str, str]:
    """(what went wrong, what to do) for a server that could not be reached. ``trust`` says
    how to trust a private CA where the caller is; the reason itself and CHECK_EVERYTHING
    when nothing more specific is known."""
    parts = urlsplit(url)
    host = parts.hostname or url
    port = parts.port or (443 if parts.scheme == "https" else 80)
    reason = str(getattr(err, "reason", err))
    low = reason.lower()
    failed = re.search(r"certificate verify failed: ([^(]+?)\s*\(", reason)
    if failed or "certificate" in low:
        said = failed.group(1) if failed else "see -v"
        return (
            f"TLS certificate not trusted: {said}",
            f"if {host} is your own server with a self-signed certificate or a private CA, "
            f"save that certificate as PEM and {trust} (`openssl s_client -showcerts -connect "
            f"{host}:{port} </dev/null` shows it); otherwise the URL may name the wrong host",
        )
    if "wrong_version_number" in low or "record layer" in low or "http request" in low:
        return (
            f"{host}:{port} does not speak https (TLS)",
            f"if the server speaks plain http there (Radicale on port 5232 without TLS), "
            f"write http://{parts.netloc}/ instead; the password then crosses the network "
            "unencrypted, so only on a network you trust",
        )
    if "refused" in low:
        return (
            "connection refused",
            f"nothing listens at {host}:{port}: is the server running, and are the host and "
            "port right?",
        )
    if "timed out" in low:
        return "no answer in time", "check the network; a slow server: raise [contacts] timeout"
    if any(word in low for word in ("name or service", "resolve", "getaddrinfo", "nodename")):
        return (
            f"the host name {host} is unknown",
            "check the address for a typo, and that this machine can look up names (DNS)",
        )
    return reason, CHECK_EVERYTHING
