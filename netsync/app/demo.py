"""`netsync demo`: a private Radicale on 127.0.0.1, a sample address book, one sync, the agenda.

The sample people are written relative to today, so every run shows overdue follow-ups,
birthdays with ages, anniversaries, occasions from notes and the spreading of people never
contacted. Nothing leaves this machine; the server's storage is a temporary directory.
"""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys
import time
from pathlib import Path

DEMO_USER = "demo"


def _d(today: dt.date, days: int) -> dt.date:
    return today + dt.timedelta(days=days)


def sample_people(today: dt.date) -> list[dict[str, str]]:
    """About 25 people whose cards show every feature, with dates relative to ``today``."""

    def md(days: int) -> str:
        return _d(today, days).strftime("%m-%d")

    def iso(days: int) -> str:
        return _d(today, days).isoformat()

    def year_ago(years: int, days: int) -> str:
        day = _d(today, days)
        try:
            return day.replace(year=day.year - years).isoformat()
        except ValueError:  # 29 February
            return day.replace(year=day.year - years, day=28).isoformat()

    return [
        {
            "fn": "Alice Jansen",
            "bday": year_ago(47, 5),
            "cat": "Customers",
            "tel": "+31 6 1234 5678",
            "email": "alice@example.org",
            "note": "Likes sailing, daughter Emma studies in Delft.\n\n[netsync]\n"
            f"last: {iso(-75)} call\nevery: 60d\ngift: sailing book, good gin\n[/netsync]",
        },
        {
            "fn": "Bram de Vries",
            "bday": f"--{md(2).replace('-', '')}",
            "cat": "Family",
            "tel": "+31 6 2222 3333",
            "note": f"[netsync]\nlast: {iso(-40)} visit\n[/netsync]",
        },
        {
            "fn": "Chen Wei",
            "bday": year_ago(33, 9),
            "cat": "Friends",
            "email": "chen@example.net",
            "note": "Met at the conference in Lyon.\n\n[netsync]\n"
            f"last: {iso(-100)} coffee\n[/netsync]",
        },
        {
            "fn": "Gerrit Smit",
            "cat": "Customers",
            "tel": "+31 20 555 0101",
            "note": "Bought the blue estate in 2019.\n\n[netsync]\n"
            f"last: {iso(-20)} call\noccasion: {iso(12)} wedding of daughter Lotte\n"
            "gift: crystal vase\n[/netsync]",
        },
        {
            "fn": "Hanna Kowalska",
            "apple_bday": md(20),
            "cat": "Friends",
            "note": f"[netsync]\nlast: {iso(-95)}\n[/netsync]",
        },
        {
            "fn": "Ingrid Bakker",
            "anniversary": year_ago(22, 3),
            "cat": "Customers",
            "note": "[netsync]\nlast: " + iso(-30) + " visit\nevery: 30d\n[/netsync]",
        },
        {
            "fn": "Jan Mulder",
            "xabdate": year_ago(10, 15),
            "xablabel": "_$!<Anniversary>!$_",
            "cat": "Customers",
            "note": "",
        },
        {
            "fn": "Karin Visser",
            "xabdate": year_ago(25, 8),
            "xablabel": "Wedding",
            "cat": "Family",
            "note": f"[netsync]\nlast: {iso(-10)} call\n[/netsync]",
        },
        {
            "fn": "Lars Petersen",
            "cat": "Customers",
            "note": "In hospital for a knee operation.\n\n[netsync]\n"
            f"last: {iso(-3)} visit\noccasion: {iso(4)} knee surgery\n"
            "gift: grapes, a crime novel\n[/netsync]",
        },
        {
            "fn": "Marieke de Boer",
            "bday": "1988-02-29",
            "cat": "Friends",
            "note": "Leap-day birthday: celebrated on 28 February in common years.",
        },
        {"fn": "Noor El Amrani", "cat": "Customers", "note": "Prefers WhatsApp."},
        {"fn": "Olivier Dubois", "cat": "Customers", "note": ""},
        {"fn": "Pieter Hendriks", "cat": "Customers", "note": ""},
        {"fn": "Quinten Vos", "cat": "Customers", "note": ""},
        {"fn": "Rosa Meijer", "cat": "Customers", "note": ""},
        {
            "fn": "Sven Lindqvist",
            "bday": year_ago(60, 25),
            "cat": "Customers",
            "note": f"[netsync]\nlast: {iso(-200)} visit\nevery: 6m\n[/netsync]",
        },
        {
            "fn": "Tineke Dijkstra",
            "cat": "Family",
            "note": f"[netsync]\nlast: {iso(-2)} call\npause: {iso(60)}\n[/netsync]",
        },
        {
            "fn": "Umar Farouk",
            "cat": "Customers",
            "note": "Moved to Utrecht.\n\n[netsync]\nevery: never\n[/netsync]",
        },
        {
            "fn": "Vera Smits",
            "bday": year_ago(29, 1),
            "cat": "Friends",
            "note": f"[netsync]\nlast: {iso(-1)} drinks\n[/netsync]",
        },
        {
            "fn": "Willem Kok",
            "cat": "Customers",
            "note": f"[netsync]\nlast: {iso(-88)} call\noccasion: --{md(6)} shop anniversary\n"
            "[/netsync]",
        },
        {
            "fn": "Xandra Peeters",
            "cat": "Customers",
            "note": f"[netsync]\nlast: {iso(-91)} visit\n[/netsync]",
        },
        {
            "fn": "Yusuf Demir",
            "cat": "Customers",
            "note": f"[netsync]\nlast: {iso(-92)} call\n[/netsync]",
        },
        {
            "fn": "Zoë van Leeuwen",
            "bday": year_ago(8, 11),
            "cat": "Family",
            "note": "Granddaughter of the Van Leeuwens; loves dinosaurs.",
        },
        {
            "fn": "Garage Hendriks B.V.",
            "org": "Garage Hendriks B.V.",
            "cat": "Customers",
            "note": "Supplier, not a person: no follow-ups.",
        },
        {
            "fn": "Ellen Brouwer",
            "cat": "Customers",
            "note": f"[netsync]\nlast: {iso(-89)} call\n[/netsync]",
        },
    ]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")


def vcard(person: dict[str, str], index: int) -> str:
    fn = person["fn"]
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        "PRODID:-//netsync//demo//EN",
        f"UID:netsync-demo-{index:03d}",
        f"FN:{_escape(fn)}",
    ]
    if "org" in person:
        lines += ["N:;;;;", f"ORG:{_escape(person['org'])}", "X-ABShowAs:COMPANY"]
    else:
        given, _, family = fn.partition(" ")
        lines.append(f"N:{_escape(family)};{_escape(given)};;;")
    if "tel" in person:
        lines.append(f"TEL;TYPE=CELL:{person['tel']}")
    if "email" in person:
        lines.append(f"EMAIL;TYPE=INTERNET:{person['email']}")
    if "bday" in person:
        lines.append(f"BDAY:{person['bday']}")
    if "apple_bday" in person:
        lines.append(f"BDAY;X-APPLE-OMIT-YEAR=1604:1604-{person['apple_bday']}")
    if "anniversary" in person:
        lines.append(f"X-ANNIVERSARY:{person['anniversary']}")
    if "xabdate" in person:
        lines += [f"item1.X-ABDATE:{person['xabdate']}", f"item1.X-ABLabel:{person['xablabel']}"]
    if person.get("cat"):
        lines.append(f"CATEGORIES:{person['cat']}")
    if person.get("note"):
        lines.append(f"NOTE:{_escape(person['note'])}")
    lines.append("END:VCARD")
    return "\r\n".join(lines) + "\r\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_radicale(workdir: Path, password: str) -> tuple[subprocess.Popen[bytes], str]:
    """Radicale on a free loopback port, storage and log in ``workdir``."""
    try:
        import radicale  # noqa: F401
    except ImportError:
        raise SystemExit(
            "netsync demo needs Radicale: pip install 'netsync[demo]' (or run `make demo`)"
        ) from None
    port = _free_port()
    (workdir / "users").write_text(f"{DEMO_USER}:{password}\n")
    (workdir / "config").write_text(
        "[server]\n"
        f"hosts = 127.0.0.1:{port}\n"
        "[auth]\n"
        "type = htpasswd\n"
        f"htpasswd_filename = {workdir / 'users'}\n"
        "htpasswd_encryption = plain\n"
        "delay = 0\n"
        "[storage]\n"
        f"filesystem_folder = {workdir / 'collections'}\n"
        "[logging]\n"
        "level = warning\n"
    )
    with open(workdir / "radicale.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(workdir / "config")],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"Radicale did not start: {(workdir / 'radicale.log').read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("Radicale did not start within 20 s")


def upload(url: str, password: str, people: list[dict[str, str]]) -> str:
    """Create the address book and PUT the sample cards, as a phone would."""
    from netsync import dav

    client = dav.connect(dav.Account(url, DEMO_USER, password))
    book = f"{url}{DEMO_USER}/contacts/"
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>'
        "<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>"
        "<D:displayname>Contacts</D:displayname></D:prop></D:set></D:mkcol>"
    )
    response = client.request(book, "MKCOL", body, {"Content-Type": "application/xml"})
    dav.check_status(response, book, expected=(201,), what="MKCOL")
    for index, person in enumerate(people):
        href = f"{book}demo-{index:03d}.vcf"
        response = client.put(
            href,
            vcard(person, index),
            {"Content-Type": "text/vcard; charset=utf-8", "If-None-Match": "*"},
        )
        dav.check_status(response, href, expected=(201, 204), what="PUT")
    client.close()
    return book
