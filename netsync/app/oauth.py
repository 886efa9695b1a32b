"""OAuth 2.0 for the providers that take nothing else (Google), with google-auth-oauthlib.

Google's CardDAV and CalDAV accept only OAuth 2.0 bearer tokens
(https://developers.google.com/people/carddav, https://developers.google.com/workspace/
calendar/caldav/v2/guide). netsync is an installed app: the user makes an OAuth client of
their own (a "Desktop app" client; Google's terms keep an open-source project from shipping
one), signs in once in a browser, and netsync keeps the refresh token where it keeps
passwords (SPEC 7: a systemd credential, password_command, $NETSYNC_PASSWORD, the keyring).
The client id and secret go in the config: Google says of installed apps that their client
secret "is obviously not treated as a secret"
(https://developers.google.com/identity/protocols/oauth2/native-app).

- ``consent``: the installed-app flow with a loopback redirect and PKCE (native-app guide,
  "Loopback IP address"); the redirect is taken either by a one-shot listener on 127.0.0.1
  or, on a machine reached over SSH, from the address the user pastes back.
- ``TokenSource``: what the HTTP layer asks for a bearer token (``dav.client.BearerTokens``).
  An access token lasts an hour; it is refreshed before it runs out, and again after a 401
  (Google may end one early), in the middle of a cycle too. A refresh token that Google no
  longer honours (``invalid_grant``: revoked, expired, or the password changed) is
  ``GrantRevoked``, an ``AuthFailed`` (exit 77) whose message names the command that fixes it.
- Gmail's IMAP takes the same grant (SASL XOAUTH2, https://developers.google.com/workspace/
  gmail/imap/xoauth2-protocol) when the sign-in also asked for ``MAIL_SCOPE``
  (https://mail.google.com/, the scope that page names for IMAP). A refresh asks for no
  scope (the request of the native-app guide, "Refreshing an access token"), so each access
  token carries every scope of the grant; the answer's ``scope`` says which those are
  (``TokenSource.granted``), so a grant made without mail is told apart from a refused token.

google-auth-oauthlib is Google's own library for exactly this flow (PKCE, state, the token
exchange) and google-auth refreshes the credentials; both are maintained by Google.
"""

from __future__ import annotations

import contextlib
import http.server
import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from netsync import dav

log = logging.getLogger(__name__)

# These libraries log whole token requests and responses at DEBUG (requests-oauthlib:
# "Response headers were ... and content ..."); `netsync -vv` must not put tokens in a log.
_QUIET = ("requests_oauthlib", "oauthlib", "google_auth_oauthlib", "google.auth", "google.oauth2")
for _name in _QUIET:
    logging.getLogger(_name).setLevel(logging.WARNING)

FIX = "netsync set-password"  # for an OAuth account: sign in again, keep the new token
MAIL_SCOPE = "https://mail.google.com/"  # Gmail's IMAP (XOAUTH2)


@dataclass(frozen=True)
class Endpoints:
    """An OAuth provider: where to sign in, where to get tokens, what to ask for."""

    name: str
    auth_uri: str
    token_uri: str
    scopes: tuple[str, ...]
    console: str  # where the user makes their OAuth client


GOOGLE = Endpoints(
    name="Google",
    # https://developers.google.com/identity/protocols/oauth2/native-app, steps 2 and 5
    auth_uri="https://accounts.google.com/o/oauth2/v2/auth",
    token_uri="https://oauth2.googleapis.com/token",
    scopes=(
        "https://www.googleapis.com/auth/carddav",  # people/carddav, "Authentication"
        "https://www.googleapis.com/auth/calendar",  # calendar/caldav/v2/guide
    ),
    console="https://console.cloud.google.com/apis/credentials",
)


class GrantRevoked(dav.AuthFailed):
    """The provider no longer honours the refresh token; signing in again fixes it."""

    def __init__(self, url: str, username: str, reason: str) -> None:
        super().__init__(url, username)
        self.args = (
            f"{_host(url)} no longer accepts netsync's sign-in for {username or 'this account'} "
            f"({reason}); sign in again with `{FIX}`",
        )
        self.reason = reason


@dataclass(frozen=True)
class Client:
    """The user's own OAuth client ("Desktop app") at a provider."""

    endpoints: Endpoints
    client_id: str
    client_secret: str

    def config(self) -> dict[str, Any]:
        return {
            "installed": {
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "auth_uri": self.endpoints.auth_uri,
                "token_uri": self.endpoints.token_uri,
                "redirect_uris": ["http://127.0.0.1"],
            }
        }


class TokenSource:
    """Bearer tokens for one grant, shared by every client of both accounts (thread-safe)."""

    def __init__(
        self,
        client: Client,
        refresh_token: str,
        *,
        username: str = "",
        ca_file: str = "",
        timeout: float = 30.0,
    ) -> None:
        from google.oauth2.credentials import Credentials

        self._client = client
        self._username = username
        self.granted: tuple[str, ...] | None = None  # the grant's scopes, once a refresh said
        self._ca_file = ca_file
        self._timeout = timeout
        self._lock = threading.Lock()
        self._credentials = Credentials(  # type: ignore[no-untyped-call]
            token=None,
            refresh_token=refresh_token,
            token_uri=client.endpoints.token_uri,
            client_id=client.client_id,
            client_secret=client.client_secret,
            scopes=None,  # ask for every scope of the grant: DAV and, if granted, mail
        )
        self.refreshes = 0  # how many access tokens were fetched (tests, logs)

    def bearer(self) -> str:
        """A current access token; fetches a new one when there is none or it is about to run
        out (google-auth refreshes 3 min 45 s before the expiry the token endpoint gave)."""
        with self._lock:
            if not self._credentials.valid:
                self._refresh()
            return str(self._credentials.token)

    def lacks(self, scope: str) -> bool:
        """The grant is known (from the last refresh) not to include ``scope``."""
        return self.granted is not None and scope not in self.granted

    def rejected(self, token: str) -> None:
        """The server answered 401 to ``token``: the next ``bearer()`` fetches a new one
        (unless another thread already did)."""
        with self._lock:
            if self._credentials.token == token:
                self._credentials.token = None

    def _refresh(self) -> None:
        import google.auth.exceptions
        import requests
        from google.auth.transport.requests import Request

        session = requests.Session()
        if self._ca_file:
            session.verify = self._ca_file
        try:
            request = _TimedRequest(Request(session), self._timeout)
            self._credentials.refresh(request)  # type: ignore[no-untyped-call]
            if request.scope is not None:
                self.granted = tuple(request.scope.split())
        except google.auth.exceptions.RefreshError as err:
            reason, uri = _reason(err), self._client.endpoints.token_uri
            if reason.split(":")[0] in ("invalid_grant", "invalid_client", "unauthorized_client"):
                raise GrantRevoked(uri, self._username, reason) from None
            raise dav.Unreachable(uri, reason) from None
        except google.auth.exceptions.TransportError as err:
            raise dav.Unreachable(self._client.endpoints.token_uri, _first_line(err)) from None
        finally:
            session.close()
        self.refreshes += 1
        log.debug("got a new %s access token", self._client.endpoints.name)


class _TimedRequest:
    """google-auth's requests transport with a timeout (its default waits two minutes). It
    keeps the ``scope`` of the token endpoint's answer, which google-auth does not keep when
    no scope was asked for."""

    def __init__(self, request: Any, timeout: float) -> None:
        self._request = request
        self._timeout = timeout
        self.scope: str | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        import json

        kwargs["timeout"] = self._timeout
        response = self._request(*args, **kwargs)
        if getattr(response, "status", 0) == 200:
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                scope = json.loads(response.data).get("scope")
                if isinstance(scope, str):
                    self.scope = scope
        return response


def _reason(err: Exception) -> str:
    """ "invalid_grant: Token has been expired or revoked." from a RefreshError."""
    data = err.args[1] if len(err.args) > 1 and isinstance(err.args[1], dict) else {}
    if data.get("error"):
        text = str(data["error"])
        return f"{text}: {data['error_description']}" if data.get("error_description") else text
    return _first_line(err)


def _first_line(err: Exception) -> str:
    text = str(err.args[0] if err.args else err)
    return text.splitlines()[0][:200] if text else type(err).__name__


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# -- signing in -----------------------------------------------------------------------------


class ConsentFailed(Exception):
    """The sign-in did not give a refresh token; the message says why and what to do."""


@dataclass(frozen=True)
class Grant:
    refresh_token: str
    scopes: tuple[str, ...]


Say = Callable[[str], None]


def consent(
    client: Client,
    *,
    say: Say,
    paste: Any = None,
    login_hint: str = "",
    timeout: float = 600.0,
    also: Sequence[str] = (),
) -> Grant:
    """The installed-app flow: print the sign-in link, take the redirect, get the tokens.

    The redirect comes to a listener on 127.0.0.1 (an ephemeral port, one request). ``paste``,
    a terminal's input stream, is read at the same time for the address the browser could
    not load (the way in from a machine reached over SSH); whichever comes first wins. Google checks
    PKCE and the code; requests-oauthlib checks ``state`` against what this flow sent.
    ``also``: scopes asked for besides the DAV ones (``MAIL_SCOPE`` when mail is read).
    """
    from google_auth_oauthlib.flow import Flow
    from oauthlib.oauth2.rfc6749.errors import OAuth2Error

    wanted = [*client.endpoints.scopes, *(s for s in also if s not in client.endpoints.scopes)]
    listener = _Listener()
    try:
        flow = Flow.from_client_config(
            client.config(), scopes=wanted, autogenerate_code_verifier=True
        )
        flow.redirect_uri = f"http://127.0.0.1:{listener.port}/"
        extra = {"login_hint": login_hint} if login_hint else {}
        # access_type=offline (the library's default) and prompt=consent: a refresh token every
        # time, also for an account that consented before (native-app guide, step 2).
        url, _state = flow.authorization_url(prompt="consent", **extra)
        say(url)
        redirect = _wait(listener, paste, flow.redirect_uri, timeout)
    finally:
        listener.close()
    query = parse_qs(urlsplit(redirect).query)
    if "error" in query:
        raise ConsentFailed(f"{client.endpoints.name} said: {query['error'][0]}")
    if "code" not in query:
        raise ConsentFailed(f"that address holds no sign-in code: {redirect[:80]}")
    try:
        # oauthlib insists on https for the response URL; the loopback redirect is plain
        # http by design (RFC 8252 section 7.3), as google-auth-oauthlib itself does.
        token = flow.fetch_token(authorization_response=redirect.replace("http://", "https://", 1))
    except OAuth2Error as err:
        said = err.description or err.error
        raise ConsentFailed(f"{client.endpoints.name} refused the sign-in: {said}") from None
    except Exception as err:
        if _is_transport(err):
            raise dav.Unreachable(client.endpoints.token_uri, _first_line(err)) from None
        raise
    finally:
        flow.oauth2session.close()
    refresh = str(token.get("refresh_token") or "")
    if not refresh:
        raise ConsentFailed(
            f"{client.endpoints.name} gave no refresh token; remove netsync's access at "
            "https://myaccount.google.com/permissions and sign in again"
        )
    scope = token.get("scope") or ()
    granted = tuple(scope.split() if isinstance(scope, str) else scope) or tuple(wanted)
    missing = [s for s in wanted if s not in granted]
    if missing:
        raise ConsentFailed(
            "the sign-in left out access that netsync needs ("
            + ", ".join(missing)
            + "): sign in again and tick every box"
        )
    return Grant(refresh, granted)


def _is_transport(err: Exception) -> bool:
    import requests

    return isinstance(err, requests.RequestException | OSError)


def _wait(listener: _Listener, paste: Any, redirect_uri: str, timeout: float) -> str:
    """The redirected address: from the listener, or a line pasted on ``paste``."""
    import select
    import time

    got: list[str] = []
    done = threading.Event()
    lock = threading.Lock()

    def take(address: str) -> None:
        with lock:
            if not got:
                got.append(address)
                done.set()

    thread = threading.Thread(target=listener.serve, args=(take, timeout), daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while paste is not None and not done.is_set() and time.monotonic() < deadline:
        try:
            ready, _, _ = select.select([paste], [], [], 0.2)
        except (OSError, ValueError):
            break
        if not ready:
            continue
        line = paste.readline()
        if not line:
            break  # end of input: only the listener is left
        if "code=" in line or "error=" in line:
            take(line.strip())
    done.wait(max(0.0, deadline - time.monotonic()))
    if not got:
        raise ConsentFailed(f"no sign-in arrived within {int(timeout)} s")
    return got[0]


class _Listener:
    """One HTTP request on 127.0.0.1: the browser's redirect back from the provider."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(1)
        self.port = int(self._sock.getsockname()[1])

    def serve(self, take: Callable[[str], None], timeout: float) -> None:
        try:
            self._sock.settimeout(timeout)
        except OSError:
            return  # closed already: the address was pasted
        while True:
            try:
                conn, _addr = self._sock.accept()
            except OSError:
                return  # closed, or timed out
            with conn:
                conn.settimeout(10)
                try:
                    line = _request_line(conn)
                except OSError:
                    continue
                parts = line.split(" ")
                if len(parts) < 2 or parts[0] != "GET":
                    continue
                target = parts[1]
                if "code=" not in target and "error=" not in target:
                    _answer(conn, 404, "Not the sign-in redirect.")
                    continue
                _answer(conn, 200, "netsync: signed in. You can close this tab.")
                take(f"http://127.0.0.1:{self.port}{target}")
                return

    def close(self) -> None:
        self._sock.close()


def _request_line(conn: socket.socket) -> str:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode("latin-1")


def _answer(conn: socket.socket, status: int, text: str) -> None:
    body = text.encode()
    reason = http.server.BaseHTTPRequestHandler.responses.get(status, ("",))[0]
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    conn.sendall(head.encode() + body)


def ssh_note(url: str) -> str:
    """What to do when the browser is on another computer than netsync (SSH)."""
    redirect = parse_qs(urlsplit(url).query).get("redirect_uri", [""])[0]
    port = urlsplit(redirect).port
    return (
        "allow access, and the browser comes back to netsync by itself. On a machine you reached\n"
        f"over SSH: either run `ssh -L {port}:127.0.0.1:{port} THIS-MACHINE` on your own computer\n"
        "before opening the link, or open it anyway and, when the browser says it cannot reach\n"
        f"{redirect}..., copy the whole address from its address bar and paste it here."
    )


def scopes_text(scopes: Sequence[str]) -> str:
    return ", ".join(s.rsplit("/", 1)[-1] for s in scopes)


def keep(username: str, refresh_token: str, file: Path) -> str:
    """Keep a refresh token where passwords go: the keyring when there is one, else
    ``file`` (mode 0600, for ``password_command = "cat FILE"`` or systemd's
    ``LoadCredential=netsync-password:FILE``). Says where it went."""
    from netsync.app import secrets

    if secrets.keyring_backend():
        with contextlib.suppress(secrets.SecretError):
            return secrets.set_password(username, refresh_token)
    return keep_in_file(file, refresh_token)


def keep_in_file(file: Path, refresh_token: str) -> str:
    """Write the refresh token to ``file``, readable only by its owner from the first byte."""
    file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(refresh_token + "\n")
    os.replace(temp, file)
    return str(file)


def token_file(config: Path) -> Path:
    """Where a refresh token goes on a machine without a keyring: beside the config."""
    return config.parent / "google-refresh-token"
