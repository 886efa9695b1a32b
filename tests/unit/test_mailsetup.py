"""Finding the IMAP server for `netsync init`: presets, then RFC 6186 SRV records."""

from __future__ import annotations

from netsync.app import mailsetup


def resolver(records: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    asked: list[str] = []

    def resolve(name: str, rdtype: str) -> list[str]:
        asked.append(f"{rdtype} {name}")
        return records.get(name, []) if rdtype == "SRV" else []

    resolve.asked = asked  # type: ignore[attr-defined]
    return resolve


def test_a_known_provider_comes_first_then_srv() -> None:
    resolve = resolver({"_imaps._tcp.icloud.com": ["0 0 993 imap.mail.me.com."]})
    found = mailsetup.candidates("emma@icloud.com", resolve=resolve)
    assert [(c.url, c.source) for c in found] == [("imaps://imap.mail.me.com", "the icloud preset")]


def test_srv_imaps_before_imap_by_priority_and_weight_with_ports() -> None:
    resolve = resolver(
        {
            "_imaps._tcp.example.org": [
                "10 0 993 backup.example.org.",
                "0 5 993 mail.example.org.",
            ],
            "_imap._tcp.example.org": ["0 0 1143 mail.example.org."],
        }
    )
    found = mailsetup.candidates("alice@Example.org", resolve=resolve)
    assert [(c.url, c.source) for c in found] == [
        ("imaps://mail.example.org", "DNS SRV _imaps._tcp.example.org"),
        ("imaps://backup.example.org", "DNS SRV _imaps._tcp.example.org"),
        ("imap://mail.example.org:1143", "DNS SRV _imap._tcp.example.org"),
    ]


def test_a_dot_target_says_no_service_and_nothing_is_guessed() -> None:
    resolve = resolver({"_imaps._tcp.example.org": ["0 0 0 ."], "_imap._tcp.example.org": []})
    assert mailsetup.candidates("alice@example.org", resolve=resolve) == []


def test_a_provider_by_name() -> None:
    found = mailsetup.candidates("", provider="Fastmail", resolve=resolver({}))
    assert [c.url for c in found] == ["imaps://imap.fastmail.com"]
    assert mailsetup.preset_for(address="bob@googlemail.com") is not None
