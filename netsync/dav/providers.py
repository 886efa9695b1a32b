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
    oauth: bool = False  # signs in with OAuth 2.0 (netsync.app.oauth), no password
    limits: tuple[str, ...] = ()  # what netsync cannot do there, said by `netsync check`
    domains: tuple[str, ...] = ()  # registrable domains of its hosts (iCloud's pNN-... too)
    paths: tuple[str, ...] = ()  # URL paths that identify its software on any host
    makes_calendars: bool = True  # False: apps cannot make calendars there (MKCALENDAR)

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
            paths=("/remote.php/dav", "/remote.php/carddav", "/remote.php/caldav"),
            limits=(
                'Nextcloud makes a read-only "Contact birthdays" calendar of its own; netsync '
                "never writes there, and with both on, birthdays show twice (Nextcloud's, and "
                "netsync's with the age and gift ideas): turn one off",
                "after several refused logins Nextcloud answers slowly, then 429 (brute-force "
                "protection): fix the password before trying again",
            ),
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
            domains=("icloud.com",),
            limits=(
                "needs an app-specific password (a new Apple ID password revokes them all)",
                'tasks written over CalDAV do not show in Reminders: keep [follow_up] as = "event"',
                "contact groups are cards (X-ADDRESSBOOKSERVER-KIND:group): netsync leaves them "
                "alone",
            ),
        ),
        Provider(
            "google",
            "Google",
            "https://www.googleapis.com/.well-known/carddav",
            "https://apidata.googleusercontent.com/caldav/v2/",
            needs_host=False,
            username_hint="your Google account's e-mail address",
            hosts=("www.googleapis.com", "apidata.googleusercontent.com"),
            email_domains=("gmail.com", "googlemail.com"),
            domains=("googleapis.com", "googleusercontent.com"),
            oauth=True,
            makes_calendars=False,
            limits=(
                "signs in with OAuth only, through an OAuth client of your own "
                "(`netsync init --provider google` shows how)",
                'apps cannot make calendars there: make "Keep in touch" in Google Calendar',
                'no tasks over CalDAV: keep [follow_up] as = "event"',
                "Google keeps its own copy of an event: netsync's X- properties and CATEGORIES "
                "do not come back (netsync reads what it needs from the UID)",
                "contact labels are not vCard CATEGORIES over CardDAV, so [follow_up.categories] "
                "finds none: put every: in the note instead",
                "Google drops vCard properties, parameters and groups it does not know, from "
                "any app's edit (netsync changes only the NOTE)",
            ),
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
ALIASES = {
    "sabre": "baikal",
    "sabredav": "baikal",
    "baïkal": "baikal",
    "apple": "icloud",
    "gmail": "google",
}

# Providers whose CardDAV/CalDAV netsync cannot use, and why.
UNSUPPORTED: dict[str, str] = {}


def provider(name: str) -> Provider:
    """The preset named ``name`` (case-insensitive; "sabre" is Baïkal); KeyError if none."""
    key = name.strip().casefold()
    return PROVIDERS[ALIASES.get(key, key)]


def provider_for_host(host: str) -> Provider | None:
    """The preset whose DAV servers live at ``host`` (an SRV target, a URL's host)."""
    host = host.casefold().rstrip(".")
    return next((p for p in PROVIDERS.values() if host in p.hosts), None)


def provider_for_url(url: str) -> Provider | None:
    """The preset a configured URL belongs to: by its host, a host in one of the provider's
    domains (iCloud's partition hosts p01-contacts.icloud.com ...), or a path its software
    uses on any host (Nextcloud's /remote.php/dav/)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").casefold().rstrip(".")
    found = provider_for_host(host)
    if found is not None:
        return found
    for p in PROVIDERS.values():
        if any(host == d or host.endswith("." + d) for d in p.domains):
            return p
        if any(parts.path.startswith(path) for path in p.paths):
            return p
    return None


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
