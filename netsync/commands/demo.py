"""`netsync demo`: a private Radicale with a sample address book (app.demo), one sync,
the agenda."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import secrets as pysecrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from netsync.app import demo
from netsync.commands.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    agenda,
    parse_date,
    print_agenda,
    print_report,
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="a local Radicale with a sample address book; no account",
        description="Start a private Radicale on 127.0.0.1 with a sample address "
        "book of 25 people, run one sync, and print the agenda.",
        epilog="examples:\n  netsync demo\n  netsync demo --serve",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--serve",
        action="store_true",
        help="keep the server running afterwards so you can look with a client",
    )
    p.add_argument("--today", type=parse_date, metavar="DATE", help="as if today were DATE")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return run_demo(serve=args.serve, today=args.today)


def run_demo(*, serve: bool, today: dt.date | None) -> int:
    from netsync.app.config import parse_settings
    from netsync.app.engine import Connections, run_cycle
    from netsync.app.state import State

    today = today or dt.date.today()
    workdir = Path(tempfile.mkdtemp(prefix="netsync-demo-"))
    password = pysecrets.token_urlsafe(12)
    proc, url = demo.start_radicale(workdir, password)
    try:
        people = demo.sample_people(today)
        book = demo.upload(url, password, people)
        settings = parse_settings(
            {
                "contacts": {"url": book, "username": demo.DEMO_USER},
                "reminders": {"url": f"{url}{demo.DEMO_USER}/", "calendar": "Keep in touch"},
                "follow_up": {"every": "90d", "categories": {"Family": "30d", "Friends": "60d"}},
                "state": {"dir": str(workdir / "state")},
            },
            source="demo",
        )
        print(f"netsync demo: Radicale on {url} with {len(people)} sample contacts\n")
        from netsync import dav

        conn = Connections(
            contacts=dav.Account(book, demo.DEMO_USER, password),
            reminders=dav.Account(f"{url}{demo.DEMO_USER}/", demo.DEMO_USER, password),
            calendar_name="Keep in touch",
        )
        state = State(settings.state_dir)
        try:
            report = run_cycle(conn, state, today=today, settings=settings)
        finally:
            state.close()
            conn.close()
        print("netsync sync:")
        print_report(report)
        print("\nnetsync due --days 30:")
        print_agenda(agenda(report, days=30), today=today, days=30)
        if serve:
            print(f"\nServing on {url} (user {demo.DEMO_USER}, password {password}).")
            print("Press Ctrl-C to stop.")
            with contextlib.suppress(KeyboardInterrupt):
                proc.wait()
        return EXIT_PARTIAL if report.failed else EXIT_OK
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
        if not serve:
            shutil.rmtree(workdir, ignore_errors=True)
