"""Finding the user's IMAP server for `netsync init`: provider presets, then RFC 6186 SRV.

From an e-mail address or a provider's name, the ``imaps://``/``imap://`` URLs to try, best
first: the preset of a provider netsync knows, then the domain's SRV records
(``_imaps._tcp`` first, then ``_imap._tcp``, which upgrades with STARTTLS; a target of "."
says the domain offers none, RFC 6186 section 3.4). DNS goes through the same injectable
``resolve`` as the CardDAV discovery (dav/discovery.py), so tests hand in their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from netsync.dav import discovery
from netsync.dav.providers import email_domain


@dataclass(frozen=True)
class MailPreset:
    url: str
    username_hint: str
    password_hint: str = ""
    email_domains: tuple[str, ...] = ()


PRESETS: dict[str, MailPreset] = {
    "icloud": MailPreset(
        "imaps://imap.mail.me.com",
        "your iCloud Mail address",
        "iCloud Mail needs an app-specific password (account.apple.com > Sign-In and "
        "Security > App-Specific Passwords); the one netsync uses for contacts will do.",
        ("icloud.com", "me.com", "mac.com"),
    ),
    "fastmail": MailPreset(
        "imaps://imap.fastmail.com",
        "your full Fastmail address",
        "Fastmail needs an app password with IMAP access (Settings > Privacy & Security > "
        "Manage app passwords); one with access to mail, contacts and calendars serves all.",
        ("fastmail.com", "fastmail.fm"),
    ),
    "google": MailPreset(
        "imaps://imap.gmail.com",
        "your Gmail address",
        "Gmail takes an app password (myaccount.google.com > Security > App passwords, with "
        "2-Step Verification on).",
        ("gmail.com", "googlemail.com"),
    ),
}


@dataclass(frozen=True)
class MailCandidate:
    url: str
    source: str  # for the user: "the iCloud preset", "DNS SRV _imaps._tcp.example.com"


def preset_for(provider: str = "", address: str = "") -> tuple[str, MailPreset] | None:
    """The preset of a provider named ``provider`` or of ``address``'s domain."""
    key = provider.strip().casefold()
    if key in PRESETS:
        return key, PRESETS[key]
    domain = email_domain(address) if address else ""
    for name, preset in PRESETS.items():
        if domain and domain in preset.email_domains:
            return name, preset
    return None


def candidates(
    address: str, *, provider: str = "", resolve: discovery.Resolve = discovery.dns_resolve
) -> list[MailCandidate]:
    """Where the IMAP server of ``address`` may be, best first; [] when nothing says."""
    found: list[MailCandidate] = []
    preset = preset_for(provider, address)
    if preset is not None:
        found.append(MailCandidate(preset[1].url, f"the {preset[0]} preset"))
    domain = email_domain(address) if "@" in address else ""
    if domain:
        for scheme, label in (("imaps", f"_imaps._tcp.{domain}"), ("imap", f"_imap._tcp.{domain}")):
            default = 993 if scheme == "imaps" else 143
            for target, port in discovery.parse_srv(resolve(label, "SRV")):
                netloc = target if port == default else f"{target}:{port}"
                found.append(MailCandidate(f"{scheme}://{netloc}", f"DNS SRV {label}"))
    unique: dict[str, MailCandidate] = {}
    for candidate in found:
        unique.setdefault(candidate.url, candidate)
    return list(unique.values())
