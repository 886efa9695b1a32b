"""CardDAV and CalDAV: the HTTP client, its errors, collections, discovery, provider presets."""

from netsync.dav.client import (
    Account,
    AuthFailed,
    BearerTokens,
    DavError,
    Unreachable,
    WrongCollection,
    call,
    check_status,
    connect,
    translated_errors,
)

__all__ = [
    "Account",
    "AuthFailed",
    "BearerTokens",
    "DavError",
    "Unreachable",
    "WrongCollection",
    "call",
    "check_status",
    "connect",
    "translated_errors",
]
