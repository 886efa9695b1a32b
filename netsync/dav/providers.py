"""Presets for the common providers, and turning what a person types into a server URL.

Pure: no network. ``netsync init`` uses this to fill in what can be known from a provider's
name, a host, or an e-mail address's domain (``--provider nextcloud --server cloud.example.com``
gives ``https://cloud.example.com/remote.php/dav/`` for both CardDAV and CalDAV).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit


@dataclass(frozen=True)
class Provider:
    key: str  # what --provider takes
    name: str  # as shown
    contacts_path: str  # joined to the server: "remote.php/dav/"; or a full URL
    calendar_path: str
    needs_host: bool  # the user's own server (Nextcloud) or one fixed place (iCloud)
    username_hint: str
    password_hint: str = ""
    hosts: tuple[str, ...] = ()  # DAV hosts that identify the provider (SRV targets, URLs)
    email_domains: tuple[str, ...] = ()

    def urls(self, server: str = "") -> tuple[str, str]:
        """The (contacts, calendar) URLs for this provider on ``server`` (a host or URL)."""
        base = normalise_server(server) if server else ""
        return _join(base, self.contacts_path), _join(base, self.calendar_path)


PROVIDERS: dict[str, Provider] = {
    p.key: p
    for p in (
        Provider(
            "nextcloud",
            "Nextcloud",
            "remote.php/dav/",
            "remote.php/dav/",
            needs_host=True,
            username_hint="your Nextcloud login name",
            password_hint="With two-factor login, make an app password: Settings > Security > "
            "Devices & sessions > Create new app password.",
        ),
        Provider(
            "icloud",
            "iCloud",
            "https://contacts.icloud.com/",
            "https://caldav.icloud.com/",
            needs_host=False,
            username_hint="your Apple ID e-mail address",
            password_hint="iCloud needs an app-specific password, not your Apple ID password: "
            "account.apple.com > Sign-In and Security > App-Specific Passwords.",
            hosts=("contacts.icloud.com", "caldav.icloud.com"),
            email_domains=("icloud.com", "me.com", "mac.com"),
        ),
        Provider(
            "fastmail",
            "Fastmail",
            "https://carddav.fastmail.com/",
            "https://caldav.fastmail.com/",
            needs_host=False,
            username_hint="your full Fastmail e-mail address",
            password_hint="Fastmail needs an app password: Settings > Privacy & Security > "
            "Manage app passwords, with access to calendars and contacts.",
            hosts=("carddav.fastmail.com", "caldav.fastmail.com"),
            email_domains=("fastmail.com", "fastmail.fm"),
        ),
        Provider(
            "radicale",
            "Radicale",
            "",
            "",
            needs_host=True,
            username_hint="your Radicale login",
            password_hint="Radicale listens on port 5232 unless a web server is in front: "
            "then the server is https://HOST:5232/.",
        ),
        Provider(
            "baikal",
            "Baïkal / sabre/dav",
            "dav.php/",
            "dav.php/",
            needs_host=True,
            username_hint="your Baïkal user name",
            password_hint="Baïkal in a subdirectory: give the server as "
            "https://HOST/baikal/html/ and netsync adds dav.php/.",
        ),
    )
}
ALIASES = {"sabre": "baikal", "sabredav": "baikal", "baïkal": "baikal", "apple": "icloud"}

# Providers whose CardDAV/CalDAV needs OAuth, which netsync does not speak.
UNSUPPORTED = {
    "gmail.com": "Google Contacts and Calendar need OAuth sign-in, which netsync does not support",
    "googlemail.com": "Google Contacts and Calendar need OAuth sign-in, which netsync does not "
    "support",
}


def provider(name: str) -> Provider:
    """The preset named ``name`` (case-insensitive; "sabre" is Baïkal); KeyError if none."""
    key = name.strip().casefold()
    return PROVIDERS[ALIASES.get(key, key)]


def provider_for_host(host: str) -> Provider | None:
    """The preset whose DAV servers live at ``host`` (an SRV target, a URL's host)."""
    host = host.casefold().rstrip(".")
    return next((p for p in PROVIDERS.values() if host in p.hosts), None)


def provider_for_email(address: str) -> Provider | None:
    domain = email_domain(address)
    return next((p for p in PROVIDERS.values() if domain in p.email_domains), None)


def email_domain(address: str) -> str:
    return address.rpartition("@")[2].strip().casefold().rstrip(".")


def looks_like_email(text: str) -> bool:
    text = text.strip()
    local, at, domain = text.rpartition("@")
    return bool(at and local and domain and "/" not in text and ":" not in text)


def normalise_server(text: str) -> str:
    """A URL from what a person types: ``cloud.example.com`` -> ``https://cloud.example.com/``.

    Keeps an explicit scheme, port and path; the path always ends in "/" (a collection).
    Raises ValueError for something that cannot be a server.
    """
    text = text.strip()
    if not text:
        raise ValueError("no server given")
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not a server address: {text!r} (give a host or an https:// URL)")
    try:
        _ = parts.port
    except ValueError:
        raise ValueError(f"not a valid port in {text!r}") from None
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc, path, parts.query, ""))


def _join(base: str, path: str) -> str:
    if "://" in path:
        return path
    if not base:
        return ""
    if path and path.rstrip("/") in urlsplit(base).path:
        return base  # the server given already ends in remote.php/dav/ or dav.php/
    return base + path
