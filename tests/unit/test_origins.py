"""Where an account's requests may go (netsync/dav/origins.py, SPEC 10): its own origin and
others of the same registrable domain by the public suffix list, never https -> http."""

from __future__ import annotations

import pytest

from netsync.dav.origins import Origin, registrable_domain


@pytest.mark.parametrize(
    ("configured", "target"),
    [
        ("https://contacts.icloud.com/", "https://p42-contacts.icloud.com:443/123/principal/"),
        ("https://contacts.icloud.com/", "https://caldav.icloud.com/"),
        ("https://dav.example.co.uk/", "https://files.example.co.uk/dav/"),
        ("https://cloud.example.com/remote.php/dav/", "https://cloud.example.com:8443/x/"),
        ("http://127.0.0.1:5232/", "http://127.0.0.1:8000/alice/"),
        ("http://localhost:5232/", "http://localhost:5233/"),
        ("http://dav.example.com/", "https://dav.example.com/"),  # up to https is fine
        ("https://dav.example.com/", "/alice/contacts/"),  # relative: stays where it is
    ],
)
def test_allowed(configured: str, target: str) -> None:
    assert Origin(configured).refusal(target) is None


@pytest.mark.parametrize(
    ("configured", "target", "said"),
    [
        ("https://contacts.icloud.com/", "https://icloud.com.evil.example/", "another domain"),
        ("https://alice.github.io/", "https://mallory.github.io/", "another domain"),
        ("https://dav.example.co.uk/", "https://dav.other.co.uk/", "another domain"),
        ("http://127.0.0.1:5232/", "http://127.0.0.2:5232/", "another domain"),
        ("http://localhost:5232/", "http://127.0.0.1:5232/", "another domain"),
        ("https://dav.example.com/", "http://dav.example.com/", "not encrypted"),
    ],
)
def test_refused_naming_both_hosts(configured: str, target: str, said: str) -> None:
    refusal = Origin(configured).refusal(target)
    assert refusal is not None and said in refusal
    assert Origin(configured).host in refusal
    assert target.split("/")[2].split(":")[0] in refusal


def test_registrable_domains_come_from_the_public_suffix_list() -> None:
    assert registrable_domain("p42-contacts.icloud.com") == "icloud.com"
    assert registrable_domain("a.b.example.co.uk") == "example.co.uk"
    assert registrable_domain("alice.github.io") == "alice.github.io"  # a private suffix
    assert registrable_domain("co.uk") is None
    assert registrable_domain("127.0.0.1") is None and registrable_domain("::1") is None
    assert registrable_domain("localhost") is None
