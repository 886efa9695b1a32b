"""The config file: TOML -> frozen Settings, with every problem reported at once (SPEC 7).

Owns the schema and its defaults, where the file and the state directory live, and the
warnings a careful user wants (unknown keys, plain http://, a world-readable file). It never
holds a password: those come from ``netsync.app.secrets``.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import SplitResult, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from netsync.core.durations import parse_cadence, parse_duration
from netsync.core.model import Cadence, PlanSettings

T = TypeVar("T")

EXAMPLE_HINT = (
    "run `netsync init`, or copy config/netsync.example.toml there and set [contacts] url"
)
NO_PASSWORDS = (
    "passwords never go in the config file; use password_command, $NETSYNC_PASSWORD, "
    "the keyring (`netsync set-password`) or a systemd credential"
)

_KEYS = {
    "contacts": (
        "url",
        "username",
        "password_command",
        "ca_file",
        "timeout",
        "oauth_client_id",
        "oauth_client_secret",
    ),
    "reminders": ("url", "calendar", "username", "password_command", "ca_file", "digest"),
    "follow_up": ("every", "max_per_day", "horizon_days", "as", "thank_within", "categories"),
    "locale": ("language", "timezone"),
    "detect": ("calendars",),
    "mail": (
        "url",
        "username",
        "auth",
        "password_command",
        "ca_file",
        "folders",
        "since_days",
        "count_received",
    ),
    "state": ("dir",),
    "daemon": ("interval",),
}


class ConfigError(Exception):
    """The config cannot be used; ``problems`` lists every reason, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ContactsSettings:
    url: str
    username: str = ""
    password_command: str = ""
    ca_file: str = ""  # "" = the system's CAs
    timeout: int = 120  # seconds
    # OAuth 2.0 (Google): the user's own client; the "password" is then the refresh token
    oauth_client_id: str = ""
    oauth_client_secret: str = ""

    @property
    def oauth(self) -> bool:
        return bool(self.oauth_client_id)


@dataclass(frozen=True)
class RemindersSettings:
    """``[reminders]`` with every "" already replaced by the ``[contacts]`` value it inherits.

    ``inherits_login``: neither username nor password_command was set here, so the contacts
    password is the one to use.
    """

    url: str
    calendar: str = "Keep in touch"
    username: str = ""
    password_command: str = ""
    ca_file: str = ""
    inherits_login: bool = True
    digest: bool = True


@dataclass(frozen=True)
class MailSettings:
    """``[mail]``: sent mail as a sign of contact (SPEC 6). ``url`` "" = off; ``username``
    and ``ca_file`` already inherit from ``[contacts]``."""

    url: str = ""
    username: str = ""
    auth: str = "password"  # or "oauth": the sign-in of [contacts] (Google), XOAUTH2
    password_command: str = ""
    ca_file: str = ""
    folders: tuple[str, ...] = ()  # () = the folder flagged \Sent, else one named Sent
    since_days: int = 365
    count_received: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    @property
    def oauth(self) -> bool:
        return self.auth == "oauth"


@dataclass(frozen=True)
class FollowUpSettings:
    every: Cadence = Cadence(90)
    max_per_day: int = 3
    horizon_days: int = 14
    as_todo: bool = False
    categories: tuple[tuple[str, Cadence | None], ...] = ()  # None = never
    thank_within: Cadence | None = Cadence(14)  # None = no thank-yous


@dataclass(frozen=True)
class LocaleSettings:
    language: str = "en"
    timezone: str = ""  # "" = the system's zone


@dataclass(frozen=True)
class Settings:
    contacts: ContactsSettings
    reminders: RemindersSettings
    state_dir: Path
    follow_up: FollowUpSettings = FollowUpSettings()
    locale: LocaleSettings = LocaleSettings()
    detect_calendars: tuple[str, ...] = ()
    mail: MailSettings = MailSettings()
    interval: int = 900  # seconds between daemon cycles
    source: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def plan(self) -> PlanSettings:
        f = self.follow_up
        return PlanSettings(
            every=f.every,
            categories=f.categories,
            max_per_day=f.max_per_day,
            horizon_days=f.horizon_days,
            as_todo=f.as_todo,
            thank_within=f.thank_within,
            language=self.locale.language,
            digest=self.reminders.digest,
        )


def default_config_path(env: Mapping[str, str] = os.environ) -> Path:
    """``$NETSYNC_CONFIG``, else ``~/.config/netsync/config.toml`` (``--config`` beats both)."""
    if env.get("NETSYNC_CONFIG"):
        return Path(env["NETSYNC_CONFIG"]).expanduser()
    return Path.home() / ".config" / "netsync" / "config.toml"


def load_settings(path: Path, *, env: Mapping[str, str] = os.environ) -> Settings:
    """Read and check the config file at ``path``; raise ConfigError listing every problem."""
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file; {EXAMPLE_HINT}"]) from None
    except tomllib.TOMLDecodeError as exc:  # its message carries the line and column
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from None
    settings = parse_settings(data, source=str(path), env=env)
    mode = path.stat().st_mode
    # The command names where the password is kept (`pass show dav/alice`), which is
    # enough of a map for other users on the machine.
    commands = (settings.contacts, settings.reminders, settings.mail)
    if mode & 0o077 and any(section.password_command for section in commands):
        warning = (
            f"{path}: readable by other users (mode {mode & 0o777:o}) and holds a "
            f"password_command; run `chmod 600 {path}`"
        )
        settings = replace(settings, warnings=(*settings.warnings, warning))
    return settings


def parse_settings(
    data: Mapping[str, Any], *, source: str, env: Mapping[str, str] = os.environ
) -> Settings:
    """Turn parsed TOML into Settings; ``source`` names the file in every message."""
    r = _Reader(data, source)
    r.require("contacts", "url", 'your CardDAV server, e.g. "https://dav.example.com/"')
    contacts = ContactsSettings(
        url=r.get("contacts", "url", "", _url),
        username=r.get("contacts", "username", "", _string),
        password_command=r.get("contacts", "password_command", "", _string),
        ca_file=r.get("contacts", "ca_file", "", _ca_file),
        timeout=r.get("contacts", "timeout", 120, _duration),
        oauth_client_id=r.get("contacts", "oauth_client_id", "", _string).strip(),
        oauth_client_secret=r.get("contacts", "oauth_client_secret", "", _string).strip(),
    )
    if contacts.oauth_client_id and not contacts.oauth_client_secret:
        r.problem(
            "contacts",
            "oauth_client_secret",
            "required with oauth_client_id: the client secret of your OAuth client "
            "(`netsync init --provider google` says where to find it)",
        )
    username = r.get("reminders", "username", "", _string)
    password_command = r.get("reminders", "password_command", "", _string)
    reminders = RemindersSettings(
        url=r.get("reminders", "url", "", _url) or contacts.url,
        calendar=r.get("reminders", "calendar", "Keep in touch", _name),
        username=username or contacts.username,
        password_command=password_command or contacts.password_command,
        ca_file=r.get("reminders", "ca_file", "", _ca_file) or contacts.ca_file,
        inherits_login=not (username or password_command),
        digest=r.get("reminders", "digest", True, _bool),
    )
    follow_up = FollowUpSettings(
        every=r.get("follow_up", "every", Cadence(90), _every),
        max_per_day=r.get("follow_up", "max_per_day", 3, _whole),
        horizon_days=r.get("follow_up", "horizon_days", 14, _whole),
        as_todo=r.get("follow_up", "as", "event", _one_of("event", "todo")) == "todo",
        categories=r.categories(),
        thank_within=r.get("follow_up", "thank_within", _FORTNIGHT, _thank_within),
    )
    locale = LocaleSettings(
        language=r.get("locale", "language", "en", _one_of("en", "nl")),
        timezone=r.get("locale", "timezone", "", _zone),
    )
    detect_calendars: tuple[str, ...] = r.get("detect", "calendars", (), _names)
    mail_url = r.get("mail", "url", "", _mail_url)
    mail = MailSettings(
        url=mail_url,
        username=r.get("mail", "username", "", _string) or contacts.username,
        auth=r.get("mail", "auth", "password", _one_of("password", "oauth")),
        password_command=r.get("mail", "password_command", "", _string)
        or contacts.password_command,
        ca_file=r.get("mail", "ca_file", "", _ca_file) or contacts.ca_file,
        folders=r.get("mail", "folders", (), _names),
        since_days=r.get("mail", "since_days", 365, _whole),
        count_received=r.get("mail", "count_received", False, _bool),
    )
    if mail_url and not mail.username:
        r.problem("mail", "username", "required with [mail] url: usually your e-mail address")
    if mail.oauth and not contacts.oauth:
        r.problem(
            "mail",
            "auth",
            '"oauth" reads the mail with the Google sign-in of [contacts], and [contacts] has '
            'none (no oauth_client_id); use "password" with an app password',
        )
    elif mail.oauth and mail.username.casefold() != contacts.username.casefold():
        r.problem(
            "mail",
            "username",
            f'with auth = "oauth" the mail is read with the sign-in of {contacts.username!r} '
            '([contacts] username); leave it empty, or set auth = "password" for another '
            "account",
        )
    state_dir = _state_dir(r.get("state", "dir", "", _absolute_path), env)
    interval = r.get("daemon", "interval", 900, _duration)

    urls = [("[contacts] url", contacts.url)]
    if reminders.url != contacts.url:
        urls.append(("[reminders] url", reminders.url))
    urls += [("[detect] calendars", url) for url in detect_calendars]
    for where, url in urls:
        if where == "[detect] calendars" and _has_login(url):
            r.problem(
                "detect", "calendars", f"a URL must not hold a user name or password: {LOGIN}"
            )
            continue
        host = _plain_http_host(url)
        if host:
            r.warn(f"{where}: http:// to {host} sends your password and contacts unencrypted")
    if r.problems:
        raise ConfigError(r.problems)
    return Settings(
        contacts=contacts,
        reminders=reminders,
        state_dir=state_dir,
        follow_up=follow_up,
        locale=locale,
        detect_calendars=detect_calendars,
        mail=mail,
        interval=interval,
        source=source,
        warnings=tuple(r.warnings),
    )


class _Reader:
    """Walks the TOML tables, collecting problems and warnings instead of stopping at one."""

    def __init__(self, data: Mapping[str, Any], source: str) -> None:
        self.source = source
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.tables: dict[str, Mapping[str, Any]] = {name: {} for name in _KEYS}
        self.not_tables: set[str] = set()
        for name, value in data.items():
            if name.lower() == "password":
                self.problems.append(f"{source}: password: {NO_PASSWORDS}")
            elif name not in _KEYS:
                self.warn(f"[{name}]: unknown section, ignored{_did_you_mean(name, _KEYS)}")
            elif not isinstance(value, dict):
                self.problems.append(f"{source}: {name}: must be a [{name}] section")
                self.not_tables.add(name)
            else:
                self.tables[name] = value
                self._check_keys(name, value)

    def _check_keys(self, section: str, table: Mapping[str, Any]) -> None:
        for key in table:
            if key.lower() == "password":
                self.problem(section, key, NO_PASSWORDS)
            elif key not in _KEYS[section]:
                hint = _did_you_mean(key, _KEYS[section])
                self.warn(f"[{section}] {key}: unknown key, ignored{hint}")

    def problem(self, section: str, key: str, message: str) -> None:
        self.problems.append(f"{self.source}: [{section}] {key}: {message}")

    def warn(self, message: str) -> None:
        self.warnings.append(f"{self.source}: {message}")

    def require(self, section: str, key: str, what: str) -> None:
        value = self.tables[section].get(key, "")
        if section not in self.not_tables and isinstance(value, str) and not value.strip():
            self.problem(section, key, f"required: {what}")

    def get(self, section: str, key: str, default: T, parse: Callable[[Any], T]) -> T:
        table = self.tables[section]
        if key not in table:
            return default
        try:
            return parse(table[key])
        except ValueError as exc:
            self.problem(section, key, str(exc))
            return default

    def categories(self) -> tuple[tuple[str, Cadence | None], ...]:
        table = self.tables["follow_up"].get("categories", {})
        if not isinstance(table, dict):
            self.problem("follow_up", "categories", "must be a table: [follow_up.categories]")
            return ()
        pairs: list[tuple[str, Cadence | None]] = []
        for name, value in table.items():
            try:
                pairs.append((name, _cadence(value)))
            except ValueError as exc:
                self.problems.append(f"{self.source}: [follow_up.categories] {name}: {exc}")
        return tuple(pairs)


def _did_you_mean(word: str, known: Mapping[str, object] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


# Value parsers: return the checked value or raise ValueError with the message to show.


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {value!r}")
    return value


def _name(value: object) -> str:
    text = _string(value).strip()
    if not text:
        raise ValueError("must not be empty")
    return text


def _names(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f'must be a list of names or URLs, e.g. ["Work"], got {value!r}')
    return tuple(v.strip() for v in value)


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r}")
    return value


def _whole(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"must be a whole number >= 1, got {value!r}")
    return value


def _one_of(*options: str) -> Callable[[object], str]:
    def parse(value: object) -> str:
        if value not in options:
            raise ValueError(f"must be one of {', '.join(map(repr, options))}, got {value!r}")
        return str(value)

    return parse


def _cadence(value: object) -> Cadence | None:
    return parse_cadence(_string(value))


def _every(value: object) -> Cadence:
    cadence = _cadence(value)
    if cadence is None:
        raise ValueError('must be a cadence such as "90d"; "never" goes in [follow_up.categories]')
    return cadence


_FORTNIGHT: Cadence | None = Cadence(14)


def _thank_within(value: object) -> Cadence | None:
    """A span ("14d", "2w"); "" (or "never") turns thank-yous off."""
    text = _string(value)
    if not text.strip():
        return None
    try:
        return parse_cadence(text)
    except ValueError:
        raise ValueError('must be a span such as "14d", or "" for no thank-yous') from None


def _duration(value: object) -> int:
    return parse_duration(_string(value))


def _url(value: object) -> str:
    text, parts = _split_url(value, ("http", "https"))
    if not text:
        return ""
    if parts is None:
        raise ValueError(f"must be an https:// (or http://) URL, got {value!r}")
    return text


def _split_url(value: object, schemes: tuple[str, ...]) -> tuple[str, SplitResult | None]:
    """The URL's text, stripped, and its parts: None for no URL, or one that is not of
    ``schemes`` with a host and a numeric port. ValueError for a login in the URL."""
    text = _string(value).strip()
    if not text:
        return "", None
    if _has_login(text):
        # Said without the URL itself: it holds a password, and this message is printed.
        raise ValueError(f"must not hold a user name or password (user:password@host): {LOGIN}")
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        return text, None
    ok = parts.scheme.lower() in schemes and bool(parts.hostname)
    return text, parts if ok else None


LOGIN = (
    "put the user name in `username` and remove it from the URL; "
    "passwords come from password_command, $NETSYNC_PASSWORD, the keyring or a systemd credential"
)


def _has_login(url: str) -> bool:
    """Whether a URL carries userinfo (``user:password@``) before its host."""
    scheme, sep, rest = url.partition("://")
    return bool(sep) and "@" in rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]


def _mail_url(value: object) -> str:
    """``imaps://host[:port]`` or ``imap://host[:port]`` (STARTTLS); nothing after the host."""
    text, parts = _split_url(value, ("imap", "imaps"))
    if not text:
        return ""
    if parts is None or parts.path.strip("/") or parts.query or parts.fragment:
        raise ValueError(
            'must be "imaps://HOST" (TLS, port 993) or "imap://HOST:143" (STARTTLS), '
            f"with nothing after the host, got {value!r}"
        )
    return text


mail_url = _mail_url  # for `netsync init --mail-url`


def _absolute_path(value: object) -> str:
    text = _string(value).strip()
    if text and not Path(text).expanduser().is_absolute():
        # A daemon's working directory is "/", so a relative path would surprise.
        raise ValueError(f"must be an absolute path (or start with ~/), got {value!r}")
    return str(Path(text).expanduser()) if text else ""


def _ca_file(value: object) -> str:
    path = _absolute_path(value)
    if path and not Path(path).is_file():
        raise ValueError(f"no such file: {path}")
    return path


def _zone(value: object) -> str:
    name = _string(value).strip()
    if name:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(
                f'unknown time zone {value!r}; use a name such as "Europe/Amsterdam"'
            ) from None
    return name


def _state_dir(configured: str, env: Mapping[str, str]) -> Path:
    if configured:
        return Path(configured)
    # systemd's StateDirectory= may list several, colon-separated; ours is the first.
    if env.get("STATE_DIRECTORY"):
        return Path(env["STATE_DIRECTORY"].split(":")[0])
    xdg = env.get("XDG_STATE_HOME", "")
    if xdg and Path(xdg).is_absolute():  # the XDG spec says to ignore a relative one
        return Path(xdg) / "netsync"
    return Path.home() / ".local" / "state" / "netsync"


def _plain_http_host(url: str) -> str:
    """The host of an http:// URL that leaves this machine; "" otherwise."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:  # a calendar name such as "Work [old" is no URL at all
        return ""
    if parts.scheme.lower() != "http" or not host or host == "localhost":
        return ""
    try:
        return "" if ipaddress.ip_address(host).is_loopback else host
    except ValueError:
        return host
