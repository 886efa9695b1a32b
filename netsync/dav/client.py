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
from typing import Any, TypeVar
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
        super().__init__(
            f"{origin(url)} refused the login ({who}); check the username and password"
        )
        self.url = url
        self.username = username


class WrongCollection(DavError):
    """The URL names a collection of the other kind (a calendar given as address book...)."""


@dataclass(frozen=True)
class Account:
    url: str
    username: str
    password: str
    timeout: float = 30.0
    ca_file: str = ""


def origin(url: str) -> str:
    """``scheme://host:port`` of a URL (the URL itself when it has no host): where
    credentials go, and how messages name a server."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else url


def options(client: Any, url: str) -> Any:
    """An OPTIONS request: whether anything answers at ``url`` (its Date header, too)."""
    return client.request(url, "OPTIONS")


def connect(account: Account) -> Any:
    """A DAVClient for the account. Basic auth is pinned (saves the 401 round trip and never
    falls back to sending a password without TLS); TLS is verified against ``ca_file`` or the
    system store."""
    from caldav.davclient import DAVClient

    client: Any = DAVClient(
        url=account.url,
        username=account.username or None,
        password=account.password or None,
        auth_type="basic" if account.username or account.password else None,
        timeout=int(account.timeout),
        ssl_verify_cert=account.ca_file or True,
        enable_rfc6764=False,
        rate_limit_handle=True,
        rate_limit_max_sleep=60,
    )
    return client


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
