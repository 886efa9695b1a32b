"""CardDAV and CalDAV: the HTTP client, its errors, collections, discovery, provider presets."""

from netsync.dav.client import (
    Account,
    Anonymous,
    AuthFailed,
    BearerTokens,
    DavError,
    ForeignOrigin,
    Unreachable,
    WrongCollection,
    call,
    check_status,
    connect,
    options,
    origin,
    translated_errors,
)

__all__ = [
    "Account",
    "Anonymous",
    "AuthFailed",
    "BearerTokens",
    "DavError",
    "ForeignOrigin",
    "Unreachable",
    "WrongCollection",
    "call",
    "check_status",
    "connect",
    "options",
    "origin",
    "translated_errors",
]
