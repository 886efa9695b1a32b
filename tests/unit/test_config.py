"""The config file: schema, defaults, every problem at once, warnings, where things live."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from netsync.app.config import (
    _KEYS,
    ConfigError,
    Settings,
    default_config_path,
    load_settings,
    parse_settings,
)
from netsync.core.durations import parse_cadence, parse_duration
from netsync.core.model import Cadence, PlanSettings

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "netsync.example.toml"
URL = "https://dav.example.com/"


def parse(data: dict[str, Any], env: dict[str, str] | None = None) -> Settings:
    return parse_settings(data, source="config.toml", env=env or {})


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(data)
    return caught.value.problems


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


# --- cadences and durations ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", Cadence(30, "d")),
        ("2 w", Cadence(2, "w")),
        ("3M", Cadence(3, "m")),
        (" 1y ", Cadence(1, "y")),
        ("never", None),
        ("Never", None),
    ],
)
def test_cadence_spellings(text: str, expected: Cadence | None) -> None:
    assert parse_cadence(text) == expected


@pytest.mark.parametrize("text", ["", "0d", "d", "30", "30x", "1.5m", "-3d", "2w3d", "nope"])
def test_bad_cadences_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a cadence"):
        parse_cadence(text)


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("15m", 900), ("1 h", 3600), ("2D", 172800)]
)
def test_duration_spellings(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0s", "15", "1w", "2h30m", "1.5h", "soon"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


# --- schema --------------------------------------------------------------------------------


def test_defaults_from_a_url_alone() -> None:
    settings = parse({"contacts": {"url": URL}})
    assert settings.contacts.timeout == 120
    assert settings.reminders.url == URL
    assert settings.reminders.calendar == "Keep in touch"
    assert settings.reminders.inherits_login
    assert settings.interval == 15 * 60
    assert settings.locale.timezone == ""
    assert settings.detect_calendars == ()
    assert settings.plan == PlanSettings()
    assert settings.warnings == ()


def test_reminders_inherit_from_contacts_unless_set() -> None:
    contacts = {"url": URL, "username": "alice", "password_command": "pass dav"}
    inherited = parse({"contacts": contacts}).reminders
    assert (inherited.username, inherited.password_command) == ("alice", "pass dav")
    own = parse({"contacts": contacts, "reminders": {"username": "bob"}}).reminders
    assert own.username == "bob"
    assert own.password_command == "pass dav"
    assert not own.inherits_login


def test_plan_settings_follow_the_config() -> None:
    settings = parse(
        {
            "contacts": {"url": URL},
            "follow_up": {
                "every": "2m",
                "max_per_day": 5,
                "horizon_days": 7,
                "as": "todo",
                "categories": {"Family": "14d", "Colleagues": "never"},
            },
            "locale": {"language": "nl", "timezone": "Europe/Amsterdam"},
        }
    )
    assert settings.plan == PlanSettings(
        every=Cadence(2, "m"),
        categories=(("Family", Cadence(14)), ("Colleagues", None)),
        max_per_day=5,
        horizon_days=7,
        as_todo=True,
        language="nl",
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [("14d", Cadence(14)), ("3w", Cadence(3, "w")), ("", None), ("never", None)],
)
def test_thank_within_is_a_span_or_off(value: str, expected: Cadence | None) -> None:
    settings = parse({"contacts": {"url": URL}, "follow_up": {"thank_within": value}})
    assert settings.plan.thank_within == expected
    assert parse({"contacts": {"url": URL}}).plan.thank_within == Cadence(14)  # the default


def test_a_bad_thank_within_names_the_key() -> None:
    [problem] = problems({"contacts": {"url": URL}, "follow_up": {"thank_within": "soon"}})
    assert "[follow_up] thank_within" in problem


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        {
            "contacts": {"url": URL},
            "follow_up": {"max_per_day": "x", "every": "soon"},
            "locale": {"timezone": "Mars/Olympus"},
        }
    )
    assert len(found) == 3
    assert "config.toml: [follow_up] max_per_day: must be a whole number >= 1, got 'x'" in found
    assert any(p.startswith("config.toml: [follow_up] every: not a cadence") for p in found)
    assert any(p.startswith("config.toml: [locale] timezone: unknown time zone") for p in found)


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({}, "[contacts] url: required"),
        ({"contacts": {"url": "dav.example.com"}}, "[contacts] url: must be an https://"),
        ({"contacts": {"url": "ftp://x/"}}, "[contacts] url: must be an https://"),
        ({"contacts": {"url": URL, "timeout": 30}}, "[contacts] timeout: must be a string"),
        ({"contacts": {"url": URL, "ca_file": "/nonexistent/ca.pem"}}, "no such file"),
        ({"contacts": {"url": URL}, "follow_up": {"max_per_day": True}}, "whole number"),
        ({"contacts": {"url": URL}, "follow_up": {"horizon_days": 0}}, "whole number"),
        ({"contacts": {"url": URL}, "follow_up": {"as": "task"}}, "[follow_up] as:"),
        ({"contacts": {"url": URL}, "follow_up": {"every": "never"}}, "[follow_up] every:"),
        (
            {"contacts": {"url": URL}, "follow_up": {"categories": {"Family": "often"}}},
            "[follow_up.categories] Family: not a cadence",
        ),
        ({"contacts": {"url": URL}, "locale": {"language": "de"}}, "[locale] language:"),
        ({"contacts": {"url": URL}, "detect": {"calendars": "Work"}}, "[detect] calendars:"),
        (
            {"contacts": {"url": URL}, "state": {"dir": "state"}},
            "[state] dir: must be an absolute path",
        ),
        ({"contacts": {"url": URL}, "daemon": {"interval": "0s"}}, "[daemon] interval:"),
        ({"contacts": URL}, "contacts: must be a [contacts] section"),
    ],
)
def test_mistakes_name_section_and_key(data: dict[str, Any], where: str) -> None:
    found = problems(data)
    assert len(found) == 1
    assert found[0].startswith("config.toml: ")
    assert where in found[0]


def test_unknown_keys_and_sections_warn_but_load() -> None:
    settings = parse(
        {"contacts": {"url": URL}, "follow_up": {"max_per_dya": 2}, "colours": {"x": 1}}
    )
    assert settings.follow_up.max_per_day == 3
    assert len(settings.warnings) == 2
    assert (
        "[follow_up] max_per_dya: unknown key, ignored (did you mean max_per_day?)"
        in (settings.warnings[0])
    )
    assert "[colours]: unknown section" in settings.warnings[1]


@pytest.mark.parametrize(
    "data",
    [
        {"contacts": {"url": URL, "password": "hunter2"}},
        {"contacts": {"url": URL}, "reminders": {"Password": "hunter2"}},
        {"contacts": {"url": URL}, "password": "hunter2"},
    ],
)
def test_a_password_in_the_file_is_an_error(data: dict[str, Any]) -> None:
    (found,) = problems(data)
    assert "passwords never go in the config file" in found
    assert "hunter2" not in found


@pytest.mark.parametrize(
    ("url", "warns"),
    [
        ("http://dav.example.com/", True),
        ("http://192.168.1.5:5232/", True),
        ("https://dav.example.com/", False),
        ("http://localhost:5232/", False),
        ("http://127.0.0.2/", False),
        ("http://[::1]:5232/", False),
    ],
)
def test_plain_http_off_this_machine_warns(url: str, warns: bool) -> None:
    settings = parse({"contacts": {"url": url}})
    expected = "sends your password and contacts unencrypted"
    assert any(expected in w for w in settings.warnings) == warns
    # The inherited reminders URL is the same server: one warning, not two.
    assert len(settings.warnings) == int(warns)


# --- the file ------------------------------------------------------------------------------


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match="no such file; run `netsync init`, or copy config/netsync.example.toml"
    ):
        load_settings(tmp_path / "config.toml")


def test_toml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "config.toml", f'[contacts]\nurl = "{URL}"\nusername = alice\n')
    with pytest.raises(ConfigError, match=r"not valid TOML: .*line 3"):
        load_settings(path)


def test_problems_name_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "config.toml", "[contacts]\nurl = 3\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.problems == [f"{path}: [contacts] url: must be a string, got 3"]


@pytest.mark.parametrize(("mode", "warns"), [(0o644, True), (0o640, True), (0o600, False)])
def test_readable_file_with_password_command_warns(tmp_path: Path, mode: int, warns: bool) -> None:
    text = f'[contacts]\nurl = "{URL}"\npassword_command = "pass show dav"\n'
    settings = load_settings(write(tmp_path / "config.toml", text, mode))
    assert any("chmod 600" in w for w in settings.warnings) == warns


def test_readable_file_without_password_command_is_fine(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path / "config.toml", f'[contacts]\nurl = "{URL}"\n', 0o644))
    assert settings.warnings == ()


def test_example_config_documents_a_loadable_file(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    with pytest.raises(ConfigError, match=r"\[contacts\] url: required"):
        load_settings(EXAMPLE)
    filled = text.replace('url = ""', f'url = "{URL}"', 1)
    settings = load_settings(write(tmp_path / "config.toml", filled))
    assert settings.contacts.url == URL
    assert settings.plan == PlanSettings()
    assert settings.warnings == ()


def test_example_config_mentions_every_key() -> None:
    text = EXAMPLE.read_text()
    for section, keys in _KEYS.items():
        assert f"[{section}]" in text
        for key in keys:
            assert f"\n{key} = " in text or key == "categories", (section, key)
    assert "[follow_up.categories]" in text


# --- where things live ---------------------------------------------------------------------


def test_config_path_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("NETSYNC_CONFIG", raising=False)
    assert default_config_path() == tmp_path / ".config" / "netsync" / "config.toml"
    monkeypatch.setenv("NETSYNC_CONFIG", "/etc/netsync.toml")
    assert default_config_path() == Path("/etc/netsync.toml")


def test_state_dir_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("STATE_DIRECTORY", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)
    data: dict[str, Any] = {"contacts": {"url": URL}}

    def state_dir() -> Path:
        return parse_settings(data, source="config.toml").state_dir

    assert state_dir() == tmp_path / ".local" / "state" / "netsync"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")
    assert state_dir() == tmp_path / ".local" / "state" / "netsync"
    monkeypatch.setenv("XDG_STATE_HOME", "/xdg/state")
    assert state_dir() == Path("/xdg/state/netsync")
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/netsync:/var/lib/other")
    assert state_dir() == Path("/var/lib/netsync")
    data["state"] = {"dir": "~/netsync-state"}
    assert state_dir() == tmp_path / "netsync-state"


# --- [mail] -------------------------------------------------------------------------------


def test_mail_is_off_unless_a_url_is_given_and_inherits_the_login() -> None:
    contacts = {"url": URL, "username": "alice@example.com", "password_command": "pass dav"}
    assert not parse({"contacts": contacts}).mail.enabled
    mail = parse({"contacts": contacts, "mail": {"url": "imaps://mail.example.com"}}).mail
    assert mail.enabled
    assert (mail.username, mail.password_command) == ("alice@example.com", "pass dav")
    assert (mail.folders, mail.since_days, mail.count_received) == ((), 365, False)
    own = parse(
        {
            "contacts": contacts,
            "mail": {
                "url": "imap://mail.example.com:143",
                "username": "alice",
                "folders": ["Sent", "Archive/Sent 2026"],
                "since_days": 30,
                "count_received": True,
            },
        }
    ).mail
    assert (own.username, own.folders, own.since_days, own.count_received) == (
        "alice",
        ("Sent", "Archive/Sent 2026"),
        30,
        True,
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://mail.example.com",
        "imaps://",
        "imaps://mail.example.com/INBOX",
        "imaps://mail.example.com:99999",
        "pop3://mail.example.com",
    ],
)
def test_a_mail_url_must_be_imap_or_imaps_to_a_host(url: str) -> None:
    found = problems({"contacts": {"url": URL, "username": "a"}, "mail": {"url": url}})
    assert len(found) == 1 and "[mail] url" in found[0] and "imaps://HOST" in found[0]


def test_mail_problems_are_listed_with_the_rest() -> None:
    found = problems(
        {
            "contacts": {"url": URL},
            "mail": {
                "url": "imaps://alice:pw@mail.example.com",
                "since_days": 0,
                "count_received": "yes",
                "password": "x",
            },
        }
    )
    joined = "\n".join(found)
    assert "[mail] url: must not hold a user name or password" in joined
    assert "[mail] since_days" in joined
    assert "[mail] count_received" in joined
    assert "[mail] password" in joined
    assert "pw@" not in joined


def test_mail_without_any_username_is_a_problem() -> None:
    found = problems({"contacts": {"url": URL}, "mail": {"url": "imaps://mail.example.com"}})
    assert found == [
        "config.toml: [mail] username: required with [mail] url: usually your e-mail address"
    ]
