"""Reading the sent folder over IMAP: headers only, and only what is new (SPEC 6, ``[mail]``).

One ``Mailbox`` per account, kept across the daemon's cycles with its connection open: a cycle
asks ``STATUS folder (UIDVALIDITY UIDNEXT)`` and, when both are what the last read left in the
state, that one short exchange is the whole cost. Otherwise the folder is opened read-only
(EXAMINE) and the new messages' header fields (``core.mail.HEADER_FIELDS``, with
``BODY.PEEK``, so nothing is marked read) are fetched in batches: the messages since the
last read (``UID n:*``), or, on a first read, after a lost state or a changed UIDVALIDITY
(RFC 3501 2.3.1.1), those of the last ``since_days`` (``SEARCH SINCE``). What they say goes
into the state with the folder's new position in one transaction; the engine learns from it.

The client is IMAPClient (on top of the standard library's imaplib): it parses FETCH
responses with literals into values, which imaplib leaves to the caller, and knows
STARTTLS, SPECIAL-USE folder flags and XOAUTH2.

Connections: ``imaps://`` is TLS from the start (port 993); ``imap://`` upgrades with
STARTTLS (port 143), and goes on in plain text only to a server on this machine that does
not offer it, as with http://. Certificates are checked against ``ca_file`` or the system's.
A kept connection the server has closed meanwhile is opened again once, quietly.

Nothing here logs an address, a subject or a password; the tallies at debug level are counts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import logging
import socket
import ssl
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from netsync.app.state import MailPosition, State
from netsync.core import mail

log = logging.getLogger(__name__)

BATCH = 500  # UIDs per FETCH: a command line of about 4 KB, well inside every server's limit
FETCH_ITEMS = [f"BODY.PEEK[HEADER.FIELDS ({' '.join(mail.HEADER_FIELDS)})]", "INTERNALDATE"]
INBOX = "INBOX"


class TokenSource(Protocol):
    """OAuth 2.0 access tokens for XOAUTH2 (``oauth.TokenSource``, shared with the DAV
    accounts of the same grant)."""

    def bearer(self) -> str: ...  # a current token; raises dav.AuthFailed or dav.Unreachable

    def rejected(self, token: str) -> None: ...  # the server refused it: fetch a new one

    def lacks(self, scope: str) -> bool: ...  # the grant is known not to include ``scope``


class MailError(Exception):
    """The mail account could not be read; the message says what to do."""


class MailUnreachable(MailError):
    """No connection, a broken one, or a server that keeps failing."""


class MailAuthFailed(MailError):
    """The server refused the login."""


class MailNoPassword(MailError):
    """No source gave the mail password (``MailAccount.problem`` says which were tried)."""


@dataclass(frozen=True)
class MailAccount:
    """Where and how to log in. ``token``: with it, XOAUTH2 and no password (Gmail), with
    ``scope`` the scope the server needs and ``reauth`` the command that signs in again."""

    url: str
    username: str
    password: str = ""
    ca_file: str = ""
    timeout: float = 30.0
    token: TokenSource | None = None
    scope: str = ""
    reauth: str = ""
    problem: str = ""  # no password, and where netsync looked: said by every scan

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def implicit_tls(self) -> bool:
        return urlsplit(self.url).scheme.lower() == "imaps"

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or (993 if self.implicit_tls else 143)

    @property
    def key(self) -> str:
        """What the state keeps this account's folders under: another account reads anew."""
        return f"{self.url}|{self.username}"


@dataclass
class Scan:
    """What one read of the mail folders did (counts only: nothing here names anyone)."""

    folders: list[str] = field(default_factory=list)
    fetched: int = 0  # messages whose header fields were read
    tally: Counter[str] = field(default_factory=Counter)  # mail.COUNTED or why not
    learnt: int = 0  # addresses whose newest day of contact moved
    rescanned: list[str] = field(default_factory=list)  # folders read from since_days back

    @property
    def changed(self) -> bool:
        return bool(self.learnt)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Survey:
    """What `netsync check` says of the mail account: the folders and how the sent one was
    found, and how many messages the next cycle would read (headers only)."""

    folders: tuple[str, ...]
    found_by: str  # "[mail] folders", "its \\Sent flag or name", "the state (found before)"
    to_read: int


class Mailbox:
    """One account's connection, kept open between cycles, and reading its folders."""

    def __init__(
        self,
        account: MailAccount,
        *,
        folders: Sequence[str] = (),
        since_days: int = 365,
        count_received: bool = False,
    ) -> None:
        self.account = account
        self.folders = tuple(folders)
        self.since_days = since_days
        self.count_received = count_received
        self.encryption = ""  # of the open connection: "TLS", "STARTTLS" or "none"
        self._client: Any = None

    # -- the connection ----------------------------------------------------------------------

    def connect(self) -> Any:
        """The logged-in client, connecting first if there is none."""
        if self.account.problem:
            raise MailNoPassword(self.account.problem)
        if self._client is None:
            self._client = self._login(self._open())
        return self._client

    def _open(self) -> Any:
        from imapclient import IMAPClient
        from imapclient.exceptions import IMAPClientError

        a = self.account
        context = ssl.create_default_context(cafile=a.ca_file or None)
        try:
            client = IMAPClient(
                a.host,
                port=a.port,
                ssl=a.implicit_tls,
                ssl_context=context,
                timeout=a.timeout,
            )
            client.normalise_times = False  # INTERNALDATE with its zone, not the machine's
            self.encryption = "TLS"
            if not a.implicit_tls:
                if client.has_capability("STARTTLS"):
                    client.starttls(context)
                    self.encryption = "STARTTLS"
                elif is_loopback(a.host):
                    self.encryption = "none"
                else:
                    client.shutdown()
                    raise MailError(
                        f"{a.host}:{a.port} does not offer STARTTLS, so the password would "
                        f'cross the network unencrypted; use "imaps://{a.host}" if the server '
                        "has TLS on port 993"
                    )
        except (OSError, IMAPClientError) as err:
            raise self._unreachable(err) from None
        return client

    def _login(self, client: Any) -> Any:
        from imapclient.exceptions import IMAPClientError, LoginError

        a = self.account
        try:
            if a.token is not None:
                return self._oauth_login(client, a.token)
            client.login(a.username, a.password)
        except LoginError:
            with contextlib.suppress(Exception):
                client.shutdown()
            raise MailAuthFailed(
                f"{a.host} refused the mail login (user {a.username!r}); check [mail] "
                "username and the password (many providers want an app password for IMAP)"
            ) from None
        except (OSError, IMAPClientError) as err:
            with contextlib.suppress(Exception):
                client.shutdown()
            raise self._unreachable(err) from None
        return client

    def _oauth_login(self, client: Any, tokens: TokenSource) -> Any:
        """XOAUTH2 with a current access token; a refused one is replaced and tried once more,
        as a 401 is for DAV (the token may have ended before its hour). Failing that, or with
        a grant that does not include the mail scope, MailAuthFailed says how to sign in
        again."""
        from imapclient.exceptions import LoginError

        from netsync import dav

        a = self.account
        again = f"sign in again with `{a.reauth}`" if a.reauth else "sign in again"
        for attempt in (1, 2):
            try:
                token = tokens.bearer()
            except dav.AuthFailed as err:  # a revoked grant: its message names the fix
                with contextlib.suppress(Exception):
                    client.shutdown()
                raise MailAuthFailed(f"mail: {err}") from None
            except dav.DavError as err:
                with contextlib.suppress(Exception):
                    client.shutdown()
                raise MailUnreachable(f"cannot get a sign-in token for the mail: {err}") from None
            if a.scope and tokens.lacks(a.scope):
                with contextlib.suppress(Exception):
                    client.shutdown()
                raise MailAuthFailed(
                    f"the sign-in netsync holds for {a.username} does not allow reading mail "
                    f"(it was made without the scope {a.scope}); {again} and allow netsync to "
                    "read your mail"
                )
            try:
                client.oauth2_login(a.username, token)
                return client
            except LoginError:
                tokens.rejected(token)
                if attempt == 1:
                    log.debug("%s refused the access token; getting a new one", a.host)
        with contextlib.suppress(Exception):
            client.shutdown()
        raise MailAuthFailed(
            f"{a.host} refused the sign-in (XOAUTH2) for {a.username} with a fresh token; "
            f"{again} and allow netsync to read your mail"
        )

    def _unreachable(self, err: BaseException) -> MailUnreachable:
        a = self.account
        reason = str(err) or type(err).__name__
        if isinstance(err, ssl.SSLCertVerificationError):
            reason = f"TLS certificate not trusted ({err.verify_message}); set [mail] ca_file"
        elif isinstance(err, socket.timeout | TimeoutError):
            reason = "no answer in time"
        return MailUnreachable(f"cannot reach the mail server {a.host}:{a.port}: {reason}")

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.logout()
            except Exception:  # a dead connection: nothing to say goodbye to
                with contextlib.suppress(Exception):
                    client.shutdown()

    # -- reading -----------------------------------------------------------------------------

    def scan(self, state: State, *, today: dt.date, zone: dt.tzinfo | None) -> Scan:
        """Read what is new in the folders into ``state``. A kept connection that turns out to
        be closed is opened again, once."""
        from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

        fresh = self._client is None
        try:
            try:
                return self._scan(state, today=today, zone=zone)
            except (OSError, IMAPClientAbortError) as err:
                self._drop()
                if fresh:
                    raise self._unreachable(err) from None
                log.debug("the kept mail connection was closed (%s): connecting again", err)
            try:
                return self._scan(state, today=today, zone=zone)
            except (OSError, IMAPClientAbortError) as err:
                self._drop()
                raise self._unreachable(err) from None
        except IMAPClientError as err:  # a NO or BAD to a command of ours
            self._drop()
            raise MailError(f"the mail server {self.account.host} refused: {err}") from None
        except MailError:
            raise
        except Exception as err:  # an answer nobody foresaw must not end the cycle's DAV work
            self._drop()
            log.debug("reading mail failed", exc_info=True)
            raise MailError(
                f"unexpected answer from the mail server {self.account.host} "
                f"({type(err).__name__}); `netsync -vv sync` shows where"
            ) from None

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.shutdown()

    def _scan(self, state: State, *, today: dt.date, zone: dt.tzinfo | None) -> Scan:
        from imapclient.exceptions import IMAPClientError

        client = self.connect()
        scan = Scan()
        since = today - dt.timedelta(days=self.since_days)
        sent = self.sent_folders(state)
        folders = [(name, False) for name in sent]
        if self.count_received:
            folders.append((INBOX, True))
        for name, received in folders:
            try:
                status = client.folder_status(name, ["UIDVALIDITY", "UIDNEXT"])
            except IMAPClientError as err:
                if self.folders or received:
                    raise MailError(
                        f"the mail folder {name!r} cannot be read ({err}); check [mail] folders"
                    ) from None
                state.set_mail_folder(self.account.key, None)  # renamed? look again next time
                raise MailError(
                    f"the sent folder {name!r} is gone ({err}); netsync looks for it again "
                    "next cycle"
                ) from None
            scan.folders.append(name)
            now = MailPosition(int(status[b"UIDVALIDITY"]), int(status[b"UIDNEXT"]))
            before = state.mail_position(self.account.key, name)
            if before == now:
                continue
            self._read(
                client,
                state,
                name,
                before,
                scan,
                received=received,
                since=since,
                today=today,
                zone=zone,
            )
        log.debug(
            "mail: %d folder(s), %d message(s) read, %s; %d address(es) with newer contact",
            len(scan.folders),
            scan.fetched,
            dict(scan.tally) or "nothing new",
            scan.learnt,
        )
        return scan

    def sent_folders(self, state: State) -> tuple[str, ...]:
        """``[mail] folders``, else the folder found before, else the one LIST flags ``\\Sent``
        (RFC 6154), else one of the usual names."""
        if self.folders:
            return self.folders
        key = self.account.key
        known = state.mail_folder(key)
        if known:
            return (known,)
        found = self.find_sent_folder()
        state.set_mail_folder(key, found)
        return (found,)

    def find_sent_folder(self) -> str:
        from imapclient.exceptions import IMAPClientError
        from imapclient.imapclient import SENT

        try:
            found = self.connect().find_special_folder(SENT)
        except IMAPClientError as err:
            raise MailError(f"listing the mail folders failed: {err}") from None
        if not found:
            raise MailError(
                "no mail folder is flagged \\Sent and none is called Sent, Sent Items or Sent "
                'Messages; name yours in [mail] folders, e.g. folders = ["Sent"]'
            )
        return str(found)

    def _read(
        self,
        client: Any,
        state: State,
        name: str,
        before: MailPosition | None,
        scan: Scan,
        *,
        received: bool,
        since: dt.date,
        today: dt.date,
        zone: dt.tzinfo | None,
    ) -> None:
        selected = client.select_folder(name, readonly=True)  # EXAMINE: no flag changes
        validity = int(selected[b"UIDVALIDITY"])
        if before is None or before.validity != validity:
            uids = sorted(client.search(["SINCE", since]))
            scan.rescanned.append(name)
        else:
            # "n:*" also matches the highest UID when that is below n (RFC 3501 6.4.8).
            found = client.search(["UID", f"{before.uidnext}:*"])
            uids = sorted(u for u in found if u >= before.uidnext)
        # UIDNEXT as the folder was opened: a message that arrives later has a UID from here
        # on, so the next read finds it. Some servers leave UIDNEXT out; then the last UID.
        uidnext = int(selected.get(b"UIDNEXT") or (max(uids, default=0) + 1))
        seen = []
        for start in range(0, len(uids), BATCH):
            batch = uids[start : start + BATCH]
            for data in client.fetch(batch, FETCH_ITEMS).values():
                scan.fetched += 1
                found, why = mail.judge(
                    mail.parse_headers(_header_block(data)),
                    received=received,
                    internal=data.get(b"INTERNALDATE"),
                    zone=zone,
                    today=today,
                )
                scan.tally[why] += 1
                if found is not None:
                    seen.append(found)
        _unselect(client)
        learnt = mail.newest(seen, state.mail_days())
        scan.learnt += len(learnt)
        state.record_mail(
            self.account.key, name, MailPosition(validity, uidnext), learnt, keep_after=since
        )

    def survey(self, state: State | None, *, today: dt.date) -> Survey:
        """For `netsync check` and `init`: log in, find the folders and count what the next
        cycle would read (``state`` None: a first cycle). Reads no header and changes nothing
        in the state."""
        from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

        try:
            client = self.connect()
            if self.folders:
                folders, found_by = self.folders, "[mail] folders"
            elif state is not None and (known := state.mail_folder(self.account.key)):
                folders, found_by = (known,), "found before"
            else:
                folders, found_by = (self.find_sent_folder(),), "flagged \\Sent (or by its name)"
            if self.count_received:
                folders = (*folders, INBOX)
            since = today - dt.timedelta(days=self.since_days)
            to_read = 0
            for name in folders:
                try:
                    selected = client.select_folder(name, readonly=True)
                except IMAPClientAbortError:
                    raise
                except IMAPClientError as err:
                    raise MailError(
                        f"the mail folder {name!r} cannot be read ({err}); check [mail] folders"
                    ) from None
                before = state.mail_position(self.account.key, name) if state else None
                if before is None or before.validity != int(selected[b"UIDVALIDITY"]):
                    to_read += len(client.search(["SINCE", since]))
                else:
                    found = client.search(["UID", f"{before.uidnext}:*"])
                    to_read += sum(1 for uid in found if uid >= before.uidnext)
                _unselect(client)
        except (OSError, IMAPClientAbortError) as err:
            self._drop()
            raise self._unreachable(err) from None
        except IMAPClientError as err:
            raise MailError(f"the mail server {self.account.host} refused: {err}") from None
        return Survey(tuple(folders), found_by, to_read)


def _header_block(data: dict[bytes, Any]) -> bytes:
    """The header fields in a FETCH answer, whatever spelling of the item name the server
    echoes (``BODY[HEADER.FIELDS (DATE FROM ...)]``, quoted or in another case)."""
    for key, value in data.items():
        if isinstance(key, bytes) and key.upper().startswith(b"BODY[HEADER"):
            return bytes(value or b"")
    return b""


def _unselect(client: Any) -> None:
    """Leave the folder. UNSELECT (RFC 3691) where there is one; CLOSE otherwise, which after
    EXAMINE expunges nothing (RFC 3501 6.4.2)."""
    if client.has_capability("UNSELECT"):
        client.unselect_folder()
    else:
        client.close_folder()
