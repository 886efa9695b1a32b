"""`netsync run`: the daemon (app.daemon) with its start-up checks."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from netsync.app import session
from netsync.app.daemon import ANNOUNCE, Daemon, RedactSecrets, secrets_of
from netsync.commands.common import load_config

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
    session.open_state(settings).close()  # unusable: exit 78 (app.failures), not a loop
    # What it syncs, how often, and each cycle that changed something: at default
    # verbosity too (SPEC 8); -q leaves errors only.
    announce = logging.getLogger(ANNOUNCE)
    if not args.quiet:
        announce.setLevel(min(logging.getLogger().getEffectiveLevel(), logging.INFO))
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
        announce.setLevel(logging.NOTSET)
