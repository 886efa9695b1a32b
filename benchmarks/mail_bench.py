"""What reading sent mail costs (issue 17): a sent folder of 50,000 messages on a local Dovecot,
next to 1,000 contacts on a local Xandikos.

    .venv/bin/python benchmarks/mail_bench.py [--messages 50000] [--output -]

Writes its table into docs/performance.md between the ``mail-bench`` markers (the rest of the
file, which bench.py writes, is left alone), or prints it with ``--output -``. Takes 3 to 5
minutes on two cores. Needs Debian's dovecot-imapd (tests/mailserver.py starts a private one).

What it does:

1. Generate the address book (cardgen.py, 1,000 cards, each with one address) and seed it into
   Xandikos; plan the first cycle's reminders with netsync's own planner and put them into the
   server's storage (as bench.py does above 2,000 cards), then run one real cycle without
   mail, untimed: the state and the calendar a user has before turning mail on.
2. Write the sent folder straight into Dovecot's maildir: ``--messages`` messages over the last
   two years (so about half are within ``since_days = 365``), each to one of 200 contacts
   (the people one actually writes to), to strangers, to a mailing list (List-Id) or to a
   crowd, with a Date header and the file's mtime (Dovecot's INTERNALDATE) alike. Then one
   session selects the folder and fetches every message's flags, untimed, as the user's own
   mail program would have: Dovecot has indexed the folder, but cached no header.
3. Run netsync cycles (run_cycle.py, as bench.py does: a subprocess, through the counting
   proxy for CalDAV/CardDAV; IMAP commands counted as imaplib sends them; Dovecot's logout
   line gives the IMAP bytes and how many headers and bodies were fetched):
   - M1 the first cycle with mail: the first read of the folder;
   - M2 a cycle with no new mail;
   - M3 one message sent to a contact since;
   - M4 the state directory deleted, then a cycle (a rescan that must write nothing).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))  # the test helpers, as the package they are: tests.mailserver

import bench  # noqa: E402
import cardgen  # noqa: E402
import seeded  # noqa: E402
from counting_proxy import CountingProxy  # noqa: E402

from tests import mailserver  # noqa: E402

CONTACTS = 1_000
WRITTEN_TO = 200  # contacts who get mail
BEGIN, END = "<!-- mail-bench -->", "<!-- /mail-bench -->"


@dataclass
class MailRun:
    title: str
    run: bench.Run
    imap: Counter[str]
    session: dict[str, int]  # Dovecot's counters of netsync's IMAP session

    @property
    def card_puts(self) -> int:
        return sum(1 for e in self.run.traffic.writes() if e.path.endswith(".vcf"))

    @property
    def calendar_writes(self) -> int:
        return len(self.run.traffic.writes()) - self.card_puts

    @property
    def reading(self) -> float:
        """Seconds in the engine's read_mail: connecting, logging in, reading the folder."""
        return sum(end - start for start, end in self.run.spans.get("read_mail", []))

    @property
    def learnt(self) -> int:
        return len(re.findall(r"^\* .*: last contact .*, from mail$", self.run.output, re.M))


def _message(rng: random.Random, n: int, sent: dt.datetime) -> bytes:
    kind = rng.random()
    contact = f"p{rng.randrange(WRITTEN_TO) * (CONTACTS // WRITTEN_TO)}@example.org"
    extra = ""
    if kind < 0.60:
        to = contact
        if rng.random() < 0.2:
            to += f", p{rng.randrange(CONTACTS)}@example.org"
    elif kind < 0.70:
        to = f"{contact}, someone{n}@elsewhere.example"
    elif kind < 0.85:
        to = f"stranger{n % 5000}@elsewhere.example"
    elif kind < 0.95:
        to, extra = "club@lists.example.org", "List-Id: Sailing club <sail.example.org>\r\n"
    else:
        to = ", ".join(
            f"guest{rng.randrange(5000)}@example.com" for _ in range(rng.randrange(11, 30))
        )
    date = sent.strftime("%a, %d %b %Y %H:%M:%S +0000")
    body = "Hello,\r\n\r\n" + "Some words about the car and the weather. " * rng.randrange(2, 30)
    return (
        f"From: Salesman <{mailserver.USER}>\r\nTo: {to}\r\nDate: {date}\r\n"
        f"Subject: About your car ({n})\r\nMessage-ID: <{n}@bench.example>\r\n{extra}"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def fill_sent(server: mailserver.Dovecot, count: int, *, today: dt.date) -> int:
    """``count`` messages in the Sent maildir; returns how many are within 365 days."""
    client = server.client()  # the first login makes the maildir and its Sent folder
    client.logout()
    folder = server.maildir / ".Sent"
    home = server.root / "home"  # owned by the user Dovecot's mail processes run as
    uid, gid = os.stat(home).st_uid, os.stat(home).st_gid
    for directory in (server.maildir.parent, server.maildir, folder, folder / "cur"):
        directory.mkdir(exist_ok=True)
        os.chown(directory, uid, gid)
    rng = random.Random(17)
    end = dt.datetime.combine(today, dt.time(8), tzinfo=dt.UTC)
    recent = 0
    for n in range(count):
        sent = end - dt.timedelta(seconds=rng.randrange(730 * 86400))
        recent += sent.date() >= today - dt.timedelta(days=365)
        data = _message(rng, n, sent)
        path = folder / "cur" / f"{int(sent.timestamp())}.M{n}P1.bench,S={len(data)}:2,S"
        path.write_bytes(data)
        os.utime(path, (sent.timestamp(), sent.timestamp()))
        os.chown(path, uid, gid)
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(exist_ok=True)
        os.chown(folder / sub, uid, gid)
    os.chown(folder, uid, gid)
    client = server.client()  # the user's mail program: indexes the folder, caches no header
    client.select_folder("Sent", readonly=True)
    client._imap.uid("FETCH", "1:*", "(FLAGS)")  # imaplib's own: no 50,000 UIDs on one line
    client.logout()
    return recent


def mail_config(
    server: seeded.Server, px: CountingProxy, dovecot: mailserver.Dovecot, work: Path
) -> Path:
    config = bench.write_config(server, px, work / "state", work / "config.toml")
    secret = work / "mail-password"
    secret.write_text(mailserver.PASSWORD + "\n")
    secret.chmod(0o600)
    config.write_text(
        config.read_text()
        + f'[mail]\nurl = "{dovecot.imaps_url}"\nusername = "{mailserver.USER}"\n'
        f'ca_file = "{dovecot.ca_file}"\npassword_command = "cat {secret}"\n'
    )
    return config


def cycle(
    title: str,
    label: str,
    config: Path,
    px: CountingProxy,
    dovecot: mailserver.Dovecot,
    work: Path,
) -> MailRun:
    before = len(dovecot.sessions())
    run = bench.netsync_cycle(label, config, px, work, password="")
    done = json.loads((work / f"{label}.json").read_text())
    sessions = dovecot.wait_for_sessions(before + 1)[before:]
    session = {k: sum(s[k] for s in sessions) for k in ("in", "out", "hdr_count", "body_count")}
    print(f"  {title}: {run.wall:.2f} s, exit {run.exit_code}", flush=True)
    return MailRun(title, run, Counter(done.get("imap_commands", [])), session)


def _commit() -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True
    )
    return done.stdout.strip() or "?"


def _dovecot_version() -> str:
    done = subprocess.run(["dovecot", "--version"], capture_output=True, text=True)
    return done.stdout.split(" ")[0] or "?"


def loud_first_cycle(config: Path, px: CountingProxy, work: Path) -> tuple[int, int, int]:
    """The first cycle with mail as a dry run, without the rule that lets an occasion's
    "Last contact" line wait for its alarm: (contacts, reminders created or deleted, reminders
    updated) it would write. Then the mail part of the state is dropped, so the real first
    cycle reads the folder afresh."""
    import sqlite3

    os.environ["BENCH_LOUD_OCCASIONS"] = "1"
    try:
        run = bench.netsync_cycle("loud", config, px, work, password="", extra=("--dry-run",))
    finally:
        del os.environ["BENCH_LOUD_OCCASIONS"]
    said = run.output.strip().splitlines()[-1]
    counts = {
        what: int(n)
        for n, what in re.findall(r"(\d+) (?:reminders |contacts )?would be (\w+)", said)
    }
    contacts = int(re.search(r"(\d+) contacts would be updated", said)[1])  # type: ignore[index]
    db = sqlite3.connect(work / "state" / "state.sqlite")
    with db:
        db.execute("DELETE FROM mail_folders")
        db.execute("DELETE FROM mail_seen")
        db.execute("DELETE FROM meta WHERE key LIKE 'mail-folder:%'")
    db.close()
    return contacts, counts.get("created", 0) + counts.get("deleted", 0), counts.get("updated", 0)


def table(
    runs: Sequence[MailRun], *, messages: int, recent: int, loud: tuple[int, int, int]
) -> str:
    lines = [
        BEGIN,
        "## Mail (issue 17)",
        "",
        "Written by `benchmarks/mail_bench.py`; do not edit by hand. "
        f"Last run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, netsync {_commit()}.",
        "",
        f"A sent folder of {messages:,} messages on a local Dovecot "
        f"{_dovecot_version()}, {recent:,} of them within `since_days = 365`; "
        f"{CONTACTS:,} contacts on a local Xandikos, {WRITTEN_TO} of whom get mail. Each row is "
        "one `netsync sync` process (connecting and logging in included; the daemon keeps its "
        "connection, so its cycles skip those); reading mail is the part of it spent on IMAP, "
        "from connecting to recording what was read. IMAP commands as netsync sent them; IMAP "
        "bytes and headers as Dovecot counted them; DAV requests through the counting proxy. "
        "Writes "
        "per learnt contact: card PUTs and calendar PUT/DELETEs of the cycle over the contacts "
        "whose last contact the mail moved.",
        "",
        "| scenario | wall | reading mail | IMAP commands | IMAP bytes | headers read "
        "| bodies read | DAV requests | contacts learnt | card PUTs | calendar writes "
        "| writes per learnt contact |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in runs:
        commands = ", ".join(f"{n} {name}" for name, n in sorted(m.imap.items()))
        per = f"{(m.card_puts + m.calendar_writes) / m.learnt:.2f}" if m.learnt else "–"
        lines.append(
            f"| {m.title} | {m.run.wall:.2f} s | {m.reading:.2f} s "
            f"| {sum(m.imap.values())} ({commands}) "
            f"| {bench._bytes(m.session['in'] + m.session['out'])} "
            f"| {m.session['hdr_count']:,} | {m.session['body_count']} "
            f"| {m.run.traffic.requests} | {m.learnt} | {m.card_puts} | {m.calendar_writes} "
            f"| {per} |"
        )
    contacts, moved, updated = loud
    first = runs[0]
    lines += [
        "",
        "Occasion reminders (birthdays, anniversaries, occasions) whose only change is the last "
        "contact they quote are rewritten when their first alarm rings (a week before), not "
        "with every mail (core/reconcile.py). The same first cycle as a dry run without that "
        f"rule would write {contacts} contacts, create or delete {moved} reminders and update "
        f"{updated}: {(contacts + moved + updated) / max(contacts, 1):.2f} writes per learnt "
        f"contact, against {(first.card_puts + first.calendar_writes) / max(first.learnt, 1):.2f}"
        " with it.",
        "",
        "Exit codes: "
        + ", ".join(f"{m.title.split('.')[0]} {m.run.exit_code}" for m in runs)
        + " (1: some write failed and was redone by the next cycle; Xandikos answers 423 to a "
        "write that finds its git lock taken, five times in a row now and then).",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_report(text: str, output: str) -> None:
    if output == "-":
        print(text)
        return
    path = Path(output)
    current = path.read_text() if path.exists() else ""
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        current = head + text + rest.split(END, 1)[1].lstrip("\n")
    else:
        current = current.rstrip("\n") + "\n\n" + text
    path.write_text(current)
    print(f"wrote {path}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--output", default=str(ROOT / "docs" / "performance.md"))
    parser.add_argument("--keep", action="store_true", help="keep the logs and the state")
    args = parser.parse_args(argv)
    today = cardgen.TODAY
    cards = cardgen.address_book(CONTACTS)
    work = Path(tempfile.mkdtemp(prefix="netsync-mail-bench-"))
    try:
        with (
            mailserver.dovecot() as dovecot,
            seeded.start("xandikos", work, cards) as server,
            CountingProxy(server.host, server.port) as px,
        ):
            begin = time.monotonic()
            recent = fill_sent(dovecot, args.messages, today=today)
            print(f"sent folder: {args.messages:,} messages ({recent:,} within 365 days) in "
                  f"{time.monotonic() - begin:.0f} s", flush=True)  # fmt: skip
            seeded.warm_up(server)
            plain = bench.write_config(server, px, work / "state", work / "config.toml")
            calendar = seeded.seed_calendar(
                server, bench.CALENDAR, bench.planned_reminders(cards, plain)
            )
            seeded.warm_up(server, calendar)
            bench.netsync_cycle("without-mail", plain, px, work, password="")
            config = mail_config(server, px, dovecot, work)
            loud = loud_first_cycle(config, px, work)
            runs = [cycle("M1. first cycle with mail", "first", config, px, dovecot, work)]
            runs.append(cycle("M2. no new mail", "quiet", config, px, dovecot, work))
            dovecot.append("Sent", [mailserver.message(to="p5@example.org", date=(
                f"{today:%a, %d %b %Y} 09:00:00 +0000"))])  # fmt: skip
            runs.append(cycle("M3. one message sent to a contact", "one", config, px, dovecot,
                              work))  # fmt: skip
            (work / "state").rename(work / "state-lost")
            runs.append(cycle("M4. state lost, then a cycle", "lost", config, px, dovecot, work))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    write_report(table(runs, messages=args.messages, recent=recent, loud=loud), args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
