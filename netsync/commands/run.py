"""`netsync run`: the daemon (app.daemon) with its start-up checks."""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
from typing import TYPE_CHECKING

from netsync.app import session
from netsync.app.daemon import Daemon, RedactSecrets, secrets_of
from netsync.commands.common import EXIT_CONFIG, load_config

if TYPE_CHECKING:
    from netsync.app.config import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "run",
        help="the daemon: a cycle every [daemon] interval and after midnight",
        description="Run as a service: a cycle every [daemon] interval (15 min) "
        "and right after local midnight. SIGHUP reloads the config; SIGTERM "
        "stops cleanly. Talks to systemd when started by it (Type=notify).",
        epilog="example:\n  netsync run\n  systemctl --user start netsync",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """A config or password problem at start ends it with 78 (systemd then does not restart
    it: RestartPreventExitStatus=78); later ones are logged and retried."""

    def load() -> Settings:
        return load_config(args)

    settings = load()  # ConfigError -> exit 78 in common.handle
    conn = session.connections(settings)  # MissingPassword -> exit 78
    try:
        session.open_state(settings).close()
    except (OSError, sqlite3.Error) as err:
        print(
            f"netsync: cannot use the state directory {settings.state_dir}: {err}; set "
            "[state] dir, or StateDirectory= in the unit",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    redact = RedactSecrets()
    redact.add(*secrets_of(conn))
    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(redact)
    try:
        return Daemon(load, settings, conn, redact=redact).run()
    finally:
        for handler in handlers:
            handler.removeFilter(redact)
