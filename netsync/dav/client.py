"""The HTTP side shared by CardDAV and CalDAV: one client per account and thread, and errors.

caldav's DAVClient carries both protocols (netsync uses none of its calendar objects; the
collection module speaks CardDAV and CalDAV over its ``request``). This module owns building
that client and the few rules every request obeys, in one place (``Client.request``):

- where it may go (origins.py): the configured origin, or another of the same registrable
  domain, never from https to http; anything else, by href or by redirect, is refused before a
  byte (or a password) is sent;
- how long it may take: a connect gets ``CONNECT_TIMEOUT``, a write ``WRITE_TIMEOUT``, a read
  the account's whole timeout (Radicale takes about a minute before the first byte of a
  10,000-card first sync);
- when a server says "later" (429, or 503 with Retry-After): every request to that origin
  waits that long, up to ``RETRY_AFTER_LIMIT``, said in the log; beyond it the cycle ends as
  Unreachable (exit 75) and the next one resumes. caldav's own rate-limit sleeping is off:
  it slept up to 150 s per request, per queued write.
- when a connection closes without a byte of an answer (a server that closed an idle
  keep-alive connection as the request went out: SOGo behind nginx, sabre/dav under
  ``php -S``, Radicale): the request is sent once more on a fresh connection, if repeating it
  is harmless (a read, or a write with If-Match / If-None-Match, which a write that did land
  the first time fails with 412). A timeout is never sent again: that is a server that stalls.

It also turns transport failures into the few errors the CLI maps to exit codes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import urljoin, urlsplit

from netsync.dav.origins import Origin

log = logging.getLogger(__name__)

T = TypeVar("T")


class DavError(Exception):
    """A server answered something netsync cannot work with. ``status``: the HTTP status,
    when there was one."""

    status: int | None = None


class Unreachable(DavError):
    """The server could not be reached or keeps failing (exit 75)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach {url}: {reason}")
        self.url = url
        self.reason = reason


class AuthFailed(DavError):
    """The server refused the credentials (exit 77)."""

    def __init__(self, url: str, username: str) -> None:
        who = f"user {username!r}" if username else "no username"
        super().__init__(
            f"{origin(url)} refused the login ({who}); check the username and password"
        )
        self.url = url
        self.username = username


class WrongCollection(DavError):
    """The URL names a collection of the other kind (a calendar given as address book...),
    or leads nowhere netsync can use without a change to the config (exit 78)."""


class ForeignOrigin(WrongCollection):
    """A server named, or redirected to, a URL netsync does not send requests to (origins.py)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(reason)
        self.url = url


class Anonymous(WrongCollection):
    """A server shows nothing to a client without a login where netsync must look (exit 78)."""


class BearerTokens(Protocol):
    """Where an OAuth account's access tokens come from (netsync.app.oauth.TokenSource)."""

    def bearer(self) -> str:
        """A current access token (fetching a new one may raise AuthFailed or Unreachable)."""
        ...

    def rejected(self, token: str) -> None:
        """The server refused ``token`` (401): the next ``bearer()`` is a fresh one."""
        ...


@dataclass(frozen=True)
class Account:
    url: str
    username: str
    password: str
    timeout: float = 30.0
    ca_file: str = ""
    tokens: BearerTokens | None = None  # OAuth 2.0 (Google): bearer tokens, no password


def origin(url: str) -> str:
    """``scheme://host:port`` of a URL (the URL itself when it has no host): where
    credentials go, and how messages name a server."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else url


def options(client: Any, url: str) -> Any:
    """An OPTIONS request: whether anything answers at ``url`` (its Date header, too)."""
    return client.request(url, "OPTIONS")


CONNECT_TIMEOUT = 10.0  # seconds to open a connection: a live server answers in well under one
WRITE_TIMEOUT = 30.0  # seconds for a PUT or DELETE to be answered (Xandikos commits to git)
RETRY_AFTER_LIMIT = 60.0  # the longest Retry-After waited out; beyond, the cycle ends (75)
RATE_LIMITED_TRIES = 3  # "later" answers to one request before it counts as failing
DEFAULT_RETRY_AFTER = 5.0  # a 429 without Retry-After
_WRITES = frozenset({"PUT", "DELETE", "MKCALENDAR", "MKCOL", "PROPPATCH"})


def timeouts(method: str, timeout: float) -> tuple[float, float]:
    """(connect, read) seconds for a request: reads may take the account's whole timeout."""
    read = min(WRITE_TIMEOUT, timeout) if method.upper() in _WRITES else timeout
    return min(CONNECT_TIMEOUT, timeout), read


class _Pace:
    """When each origin may be asked again, shared by every client of the process: a
    Retry-After holds back the writers of all threads, not only the one that was told."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._not_before: dict[str, float] = {}

    def hold(self, origin: str, seconds: float) -> None:
        with self._lock:
            until = time.monotonic() + seconds
            self._not_before[origin] = max(until, self._not_before.get(origin, 0.0))

    def wait(self, origin: str) -> None:
        with self._lock:
            until = self._not_before.get(origin, 0.0)
        delay = until - time.monotonic()
        if delay > 0:
            time.sleep(delay)


PACE = _Pace()


def connect(account: Account) -> Any:
    """A client for the account (see the module docstring for the rules of its requests).
    Basic auth is pinned when there is a username (saves the 401 round trip); no username
    sends no credentials at all; an OAuth account (``tokens``) sends bearer tokens. TLS is
    verified against ``ca_file`` or the system store."""
    from caldav.davclient import DAVClient

    class Client(DAVClient):
        origin = Origin(account.url)
        read_timeout = float(account.timeout)

        def request(
            self,
            url: str,
            method: str = "GET",
            body: Any = "",
            headers: Mapping[str, str] | None = None,
            rate_limit_time_slept: float = 0,
        ) -> Any:
            return _request(self, super().request, str(url), method, body, headers)

    bearer = account.tokens is not None
    client: Any = Client(
        url=account.url,
        username=(account.username or None) if not bearer else None,
        password=(account.password or None) if not bearer else None,
        auth=_bearer_auth(account.tokens) if account.tokens is not None else None,
        auth_type="basic" if not bearer and (account.username or account.password) else None,
        timeout=None,  # set for each request (_request)
        ssl_verify_cert=account.ca_file or True,
        enable_rfc6764=False,
        rate_limit_handle=False,
    )
    client.last_status = threading.local()
    hooks = getattr(client.session, "hooks", None)
    if isinstance(hooks, dict) and isinstance(hooks.get("response"), list):
        hooks["response"].append(lambda response, *a, **k: _check_redirect(client, response))
    return client


def _bearer_auth(tokens: BearerTokens) -> Any:
    """RFC 6750 bearer tokens on every request; after a 401 the request is sent once more
    with a fresh token (an access token can end before the expiry it was given with)."""
    import niquests

    class Bearer(niquests.auth.AuthBase):
        def __call__(self, request: Any) -> Any:
            token = tokens.bearer()
            request.headers["Authorization"] = f"Bearer {token}"
            request.register_hook("response", self._retry_401)
            return request

        def _retry_401(self, response: Any, **kwargs: Any) -> Any:
            if response.status_code != 401 or response.history:
                return response
            sent = str(response.request.headers.get("Authorization", ""))
            tokens.rejected(sent.removeprefix("Bearer "))
            log.info("%s refused the access token; getting a new one", origin(str(response.url)))
            response.content  # noqa: B018 -- read it, so the connection can be reused
            response.close()
            again = response.request.copy()
            again.headers["Authorization"] = f"Bearer {tokens.bearer()}"
            retried = response.connection.send(again, **kwargs)
            retried.history.append(response)
            retried.request = again
            return retried

    return Bearer()


def _request(
    client: Any,
    send: Callable[..., Any],
    url: str,
    method: str,
    body: Any,
    headers: Mapping[str, str] | None,
) -> Any:
    """One request under the rules: origin, timeouts, Retry-After."""
    from caldav.lib import error as caldav_error

    refusal = client.origin.refusal(url)
    if refusal:
        raise ForeignOrigin(url, refusal)
    client.timeout = timeouts(method, client.read_timeout)
    key = _origin(url)
    for attempt in range(1, RATE_LIMITED_TRIES + 1):
        PACE.wait(key)
        try:
            return _send(client, send, url, method, body, headers)
        except caldav_error.RateLimitError as err:
            status = getattr(client.last_status, "value", None) or "429/503"
            wait = err.retry_after_seconds
            wait = DEFAULT_RETRY_AFTER if wait is None else max(0.0, float(wait))
            if wait > RETRY_AFTER_LIMIT or attempt == RATE_LIMITED_TRIES:
                why = (
                    f"answered {status} and asks netsync to wait {wait:.0f} s, more than the "
                    f"{RETRY_AFTER_LIMIT:.0f} s it waits within a cycle"
                    if wait > RETRY_AFTER_LIMIT
                    else f"answered {status} (busy) {attempt} times in a row"
                )
                failing = Unreachable(url, f"{why}; the next cycle tries again")
                failing.status = int(status) if str(status).isdigit() else None
                raise failing from err
            log.warning(
                "%s answered %s to %s: waiting %.0f s, as it asks",
                origin(url),
                status,
                method,
                wait,
            )
            PACE.hold(key, wait)
    raise AssertionError("unreachable")


def _send(
    client: Any,
    send: Callable[..., Any],
    url: str,
    method: str,
    body: Any,
    headers: Mapping[str, str] | None,
) -> Any:
    """Send once; if the connection closed before any answer and sending again is harmless
    (``_repeatable``), send once more on a fresh connection. niquests and urllib3.future do not
    retry this themselves (niquests' default is no retries; urllib3.future #280 gave up
    retrying a remote close, as the request may have been carried out)."""
    try:
        return send(url, method, body, headers)
    except Exception as err:
        if not (_unanswered(err) and _repeatable(method, headers)):
            raise
        log.debug(
            "%s closed the connection without answering %s %s (%s); sending it again on a "
            "fresh connection",
            origin(url),
            method,
            url,
            err,
        )
    _drop_pooled_connections(client)
    return send(url, method, body, headers)


_SAFE = frozenset({"GET", "HEAD", "OPTIONS", "PROPFIND", "REPORT"})


def _repeatable(method: str, headers: Mapping[str, str] | None) -> bool:
    """Whether sending the request twice cannot do harm twice: a read, or a write with a
    precondition (If-Match: a write that landed has changed the ETag; If-None-Match: *, one
    that landed has made the object): the second of two that both arrive fails with 412."""
    if method.upper() in _SAFE:
        return True
    names = {name.lower() for name in (headers or {})}
    return method.upper() in ("PUT", "DELETE") and bool(names & {"if-match", "if-none-match"})


def _unanswered(err: BaseException) -> bool:
    """The connection closed (FIN or reset) before any byte of an answer arrived: niquests
    raises ConnectionError(ProtocolError("Remote end closed connection without response")),
    or ProtocolError(("Connection aborted.", ConnectionResetError)) for a reset while the
    request went out. Not a timeout (a stalling server), not a connection refused (a
    MaxRetryError), not an answer cut short (ChunkedEncodingError)."""
    import niquests
    from niquests.packages.urllib3.exceptions import ProtocolError

    exceptions = niquests.exceptions
    if not isinstance(err, exceptions.ConnectionError) or isinstance(err, exceptions.Timeout):
        return False
    return bool(err.args) and isinstance(err.args[0], ProtocolError)


def _drop_pooled_connections(client: Any) -> None:
    """Close the client's idle keep-alive connections, so the next request opens a fresh one
    (another pooled connection may have been closed by the server as well). A client belongs
    to one thread (app/remote.py), so no other request is using them."""
    session = getattr(client, "session", None)
    for adapter in getattr(session, "adapters", {}).values():
        adapter.close()


def _check_redirect(client: Any, response: Any) -> None:
    """A session hook on every response, redirects included: note the status, and refuse to
    follow a redirect somewhere the rules forbid (niquests would follow it, if without the
    password)."""
    status = int(getattr(response, "status_code", 0) or 0)
    client.last_status.value = str(status)
    location = response.headers.get("Location") if 300 <= status < 400 else None
    if location:
        target = urljoin(str(response.url), location)
        refusal = client.origin.refusal(target)
        if refusal:
            raise ForeignOrigin(target, refusal)


def _origin(url: str) -> str:
    """The origin as a key: scheme and host case-folded (PACE holds one per server)."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{(parts.netloc or '').lower()}"


@contextmanager
def translated_errors(url: str, username: str) -> Iterator[None]:
    """Turn caldav and niquests failures into Unreachable / AuthFailed.

    caldav raises AuthorizationError for 401 *and* 403; a 403 is mostly a permission or a
    precondition answer (Radicale's expired sync token), so only a 401 means a bad login.
    niquests' ConnectionError is not a subclass of requests' (caldav #430), so both are caught
    by their common base, OSError, and by name.
    """
    from caldav.lib import error as caldav_error

    try:
        yield
    except caldav_error.AuthorizationError as err:
        if getattr(err, "status", None) == 401:
            raise AuthFailed(url, username) from err
        refused = DavError(f"{origin(url)} refused access: {err}")
        refused.status = 403
        raise refused from err
    except caldav_error.RateLimitError as err:
        raise Unreachable(url, f"the server is overloaded ({err})") from err
    except Exception as err:
        if _is_transport_error(err):
            raise Unreachable(url, _describe(err)) from err
        raise


def _is_transport_error(err: BaseException) -> bool:
    import niquests

    return isinstance(err, niquests.exceptions.RequestException | OSError | TimeoutError)


def _describe(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower():
        return f"TLS certificate not trusted ({text}); set ca_file for a private CA"
    if "Connection refused" in text or "ConnectionRefused" in text:
        return "connection refused (is the server running and the URL right?)"
    if "timed out" in text.lower() or "Timeout" in type(err).__name__:
        return "timed out"
    return text


def call(url: str, username: str, fn: Callable[[], T]) -> T:
    """Run one server call with errors translated."""
    with translated_errors(url, username):
        return fn()


def check_status(response: Any, url: str, *, expected: tuple[int, ...], what: str) -> None:
    """Raise for an unexpected status: 5xx as Unreachable (worth retrying), else DavError."""
    status = int(response.status)
    if status in expected:
        return
    if status >= 500:
        failing = Unreachable(url, f"{what} answered {status}")
        failing.status = status
        raise failing
    error = DavError(f"{what} at {url} answered {status}")
    error.status = status
    raise error
