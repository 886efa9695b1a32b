"""The pure parts of `netsync init`: provider presets, what a person types -> a URL, RFC 6764
SRV/TXT records -> URLs (with a resolver handed in: no DNS here), and the config it writes."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netsync.app import configfile
from netsync.app.config import parse_settings
from netsync.core.model import Cadence
from netsync.dav import discovery, providers

ROOT = Path(__file__).resolve().parents[2]


# -- presets and server addresses -------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "url"),
    [
        ("cloud.example.com", "https://cloud.example.com/"),
        ("cloud.example.com/nextcloud", "https://cloud.example.com/nextcloud/"),
        ("HTTPS://dav.example.com:8443/dav", "https://dav.example.com:8443/dav/"),
        ("http://127.0.0.1:5232/", "http://127.0.0.1:5232/"),
        ("  dav.example.com  ", "https://dav.example.com/"),
    ],
)
def test_what_people_type_becomes_a_url(typed: str, url: str) -> None:
    assert providers.normalise_server(typed) == url


@pytest.mark.parametrize("typed", ["", "ftp://x.example/", "https://", "host:notaport"])
def test_what_cannot_be_a_server(typed: str) -> None:
    with pytest.raises(ValueError):
        providers.normalise_server(typed)


@pytest.mark.parametrize(
    ("name", "server", "contacts", "calendar"),
    [
        (
            "nextcloud",
            "cloud.example.com",
            "https://cloud.example.com/remote.php/dav/",
            "https://cloud.example.com/remote.php/dav/",
        ),
        (
            "Nextcloud",
            "https://example.com/nc/",
            "https://example.com/nc/remote.php/dav/",
            "https://example.com/nc/remote.php/dav/",
        ),
        (
            "nextcloud",
            "https://cloud.example.com/remote.php/dav/",
            "https://cloud.example.com/remote.php/dav/",
            "https://cloud.example.com/remote.php/dav/",
        ),
        ("icloud", "", "https://contacts.icloud.com/", "https://caldav.icloud.com/"),
        ("fastmail", "", "https://carddav.fastmail.com/", "https://caldav.fastmail.com/"),
        ("radicale", "dav.example.com:5232", "https://dav.example.com:5232/", ""),
        ("sabre", "example.com", "https://example.com/dav.php/", "https://example.com/dav.php/"),
        ("baikal", "example.com", "https://example.com/dav.php/", "https://example.com/dav.php/"),
    ],
)
def test_presets_fill_in_the_urls(name: str, server: str, contacts: str, calendar: str) -> None:
    got = providers.provider(name).urls(server)
    assert got == (contacts, calendar or contacts)


def test_providers_known_by_address_and_host() -> None:
    assert providers.provider_for_email("Alice@Me.com").key == "icloud"  # type: ignore[union-attr]
    assert providers.provider_for_email("a@fastmail.fm").key == "fastmail"  # type: ignore[union-attr]
    assert providers.provider_for_email("a@example.com") is None
    assert providers.provider_for_host("carddav.fastmail.com.").key == "fastmail"  # type: ignore[union-attr]
    assert providers.provider_for_host("dav.example.com") is None
    assert providers.provider_for_email("a@gmail.com").key == "google"  # type: ignore[union-attr]
    assert providers.provider("gmail").oauth and not providers.provider("google").makes_calendars
    url = providers.provider_for_url
    assert url("https://p42-contacts.icloud.com:443/1/carddavhome/").key == "icloud"  # type: ignore[union-attr]
    assert url("https://apidata.googleusercontent.com/caldav/v2/").key == "google"  # type: ignore[union-attr]
    assert url("https://cloud.example.org/remote.php/dav/").key == "nextcloud"  # type: ignore[union-attr]
    assert url("https://dav.example.org/") is None
    assert url("https://evil-icloud.com/") is None  # a domain, not a suffix of one
    for preset in providers.PROVIDERS.values():
        assert preset.username_hint


@pytest.mark.parametrize(
    ("text", "email"),
    [
        ("alice@example.com", True),
        ("alice@localhost", True),
        ("cloud.example.com", False),
        ("https://alice@dav.example.com/", False),
        ("@example.com", False),
        ("nextcloud", False),
    ],
)
def test_looks_like_email(text: str, email: bool) -> None:
    assert providers.looks_like_email(text) is email


# -- RFC 6764 ---------------------------------------------------------------------------------


def test_srv_records_by_priority_then_weight() -> None:
    records = [
        "10 5 443 backup.example.com.",
        "0 10 443 light.example.com.",
        "0 60 8443 heavy.example.com.",
        "garbage",
        "0 0 0 .",  # RFC 2782: "no service here"
    ]
    assert discovery.parse_srv(records) == [
        ("heavy.example.com", 8443),
        ("light.example.com", 443),
        ("backup.example.com", 443),
    ]


@pytest.mark.parametrize(
    ("records", "path"),
    [
        (['"path=/dav/"'], "/dav/"),
        (['"txtvers=1" "path=/remote.php/dav"'], "/remote.php/dav/"),
        (['"path=relative"', '"path=/ok/"'], "/ok/"),
        (['"other=1"'], ""),
        ([], ""),
    ],
)
def test_txt_path(records: list[str], path: str) -> None:
    assert discovery.txt_path(records) == path


def test_srv_and_txt_make_urls_tls_first() -> None:
    zone = {
        ("_carddavs._tcp.example.com", "SRV"): ["0 1 443 dav.example.com."],
        ("_carddavs._tcp.example.com", "TXT"): ['"path=/card/"'],
        ("_carddav._tcp.example.com", "SRV"): ["0 1 8080 dav.example.com."],
        ("_caldavs._tcp.example.com", "SRV"): ["0 1 443 mail.provider.net."],
    }
    asked: list[tuple[str, str]] = []

    def resolve(name: str, rdtype: str) -> list[str]:
        asked.append((name, rdtype))
        return zone.get((name, rdtype), [])

    card = discovery.email_candidates("example.com", "carddav", resolve)
    assert [c.url for c in card] == [
        "https://dav.example.com/card/",
        "http://dav.example.com:8080/",
        "https://example.com/",
    ]
    assert card[0].in_domain and card[0].source == "DNS SRV _carddavs._tcp.example.com"
    cal = discovery.email_candidates("example.com", "caldav", resolve)
    assert cal[0].url == "https://mail.provider.net/" and not cal[0].in_domain
    assert ("_caldav._tcp.example.com", "SRV") in asked


def test_no_dns_is_no_records() -> None:
    # No DNS server answers in the test environment (or the name does not exist): [] either way.
    assert discovery.dns_resolve("_carddavs._tcp.netsync-test.invalid", "SRV") == []
    assert discovery.email_candidates("netsync-test.invalid", "carddav", lambda n, t: []) == [
        discovery.Candidate(
            "https://netsync-test.invalid/", "https://netsync-test.invalid/.well-known/carddav"
        )
    ]


# -- the config file --------------------------------------------------------------------------


def test_the_template_is_the_example_config() -> None:
    # config/netsync.example.toml is a link to the copy in the package, which `netsync init`
    # fills in (an installed netsync has no config/ directory to read).
    example = (ROOT / "config" / "netsync.example.toml").read_text()
    assert example == configfile.example()


def test_rendered_config_keeps_every_comment_and_key() -> None:
    values = {
        ("contacts", "url"): "https://dav.example.com/",
        ("contacts", "username"): "alice",
        ("reminders", "url"): "https://dav.example.com/alice/calendars/",
        ("reminders", "calendar"): "Keep in touch",
        ("follow_up", "every"): "30d",
        ("locale", "language"): "nl",
    }
    text = configfile.render(values)
    example = configfile.example().splitlines()
    comments = [line for line in example[2:] if line.startswith("#")]
    assert [line for line in text.splitlines()[2:] if line.startswith("#")] == comments
    assert len(text.splitlines()) == len(example)
    assert text.startswith("# netsync configuration, written by `netsync init`.")
    settings = parse_settings(tomllib.loads(text), source="test")
    assert settings.contacts.url == "https://dav.example.com/"
    assert settings.contacts.username == "alice"
    assert settings.reminders.url == "https://dav.example.com/alice/calendars/"
    assert settings.follow_up.every == Cadence(30, "d")
    assert settings.locale.language == "nl"
    # Keys init does not ask about keep the example's values and comments.
    assert 'interval = "15m"' in text and "max_per_day = 3" in text


def test_render_refuses_a_key_the_example_lacks() -> None:
    with pytest.raises(KeyError):
        configfile.render({("contacts", "password"): "no"})


@given(st.text())
def test_toml_strings_round_trip(value: str) -> None:
    assert tomllib.loads(f"v = {configfile.toml_string(value)}")["v"] == value


@pytest.mark.parametrize("module", ["dav/providers", "app/configfile"])
def test_pure_modules_import_no_io(module: str) -> None:
    tree = ast.parse((ROOT / "netsync" / f"{module}.py").read_text())
    names = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    } | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not names & {"socket", "subprocess", "caldav", "niquests", "netsync.dav", "os"}
