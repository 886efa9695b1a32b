"""The HTTP side shared by CardDAV and CalDAV: one caldav DAVClient per account, and errors.

caldav's DAVClient carries both protocols (it has no address-book objects; addressbook.py
speaks CardDAV over its request/propfind/report/put). This module owns building the client
(Basic auth pinned, TLS verified, explicit timeouts) and turning transport failures into the
few errors the CLI maps to exit codes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

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
        super().__init__(f"{_host(url)} refused the login ({who}); check the username and password")
        self.url = url
        self.username = username


class WrongCollection(DavError):
    """The URL names a collection of the other kind (a calendar given as address book...)."""


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


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else url


def connect(account: Account) -> Any:
    """A DAVClient for the account. Basic auth is pinned (saves the 401 round trip and never
    falls back to sending a password without TLS), or bearer tokens for an OAuth account;
    TLS is verified against ``ca_file`` or the system store."""
    from caldav.davclient import DAVClient

    bearer = account.tokens is not None
    client: Any = DAVClient(
        url=account.url,
        username=(account.username or None) if not bearer else None,
        password=(account.password or None) if not bearer else None,
        auth=_bearer_auth(account.tokens) if account.tokens is not None else None,
        auth_type="basic" if not bearer and (account.username or account.password) else None,
        timeout=int(account.timeout),
        ssl_verify_cert=account.ca_file or True,
        enable_rfc6764=False,
        rate_limit_handle=True,
        rate_limit_max_sleep=60,
    )
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
            log.info("%s refused the access token; getting a new one", _host(str(response.url)))
            response.content  # noqa: B018 -- read it, so the connection can be reused
            response.close()
            again = response.request.copy()
            again.headers["Authorization"] = f"Bearer {tokens.bearer()}"
            retried = response.connection.send(again, **kwargs)
            retried.history.append(response)
            retried.request = again
            return retried

    return Bearer()


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
        raise DavError(f"{_host(url)} refused access: {err}") from err
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
