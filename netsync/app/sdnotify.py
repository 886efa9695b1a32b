"""systemd's service notification protocol (sd_notify(3)) in a few lines, without libsystemd.

Owns talking to ``$NOTIFY_SOCKET`` (a path, or ``@name`` in the abstract namespace) and reading
``$WATCHDOG_USEC``. Messages are UTF-8, so a STATUS= with non-ASCII text arrives intact (the
``sdnotify`` package on PyPI encodes latin-1). Sending never raises: a service must keep
working when the socket has gone away or when it runs outside systemd.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


def notify(*fields: str, env: Mapping[str, str] = os.environ) -> bool:
    """Send ``READY=1``, ``STATUS=...`` and the like as one datagram; False if not sent."""
    address = env.get("NOTIFY_SOCKET", "")
    if address.startswith("@"):
        address = "\0" + address[1:]  # Linux abstract socket
    elif not address.startswith("/"):
        return False  # unset, or a vsock address (VMs), which netsync does not need
    # One field per line: a newline inside a value would start a new, bogus field.
    message = "\n".join(" ".join(field.splitlines()) for field in fields).encode("utf-8")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message)
    except OSError as err:
        log.debug("sd_notify to %s failed: %s", env.get("NOTIFY_SOCKET"), err)
        return False
    return True


def watchdog_interval(env: Mapping[str, str] = os.environ, *, pid: int | None = None) -> float:
    """Seconds between WATCHDOG=1 pings (half of ``WatchdogSec=``); 0 when none are wanted.

    ``$WATCHDOG_PID`` names the process the watchdog watches; a child that inherited the
    environment must not ping on its parent's behalf.
    """
    usec, owner = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
    try:
        if not usec or int(usec) <= 0:
            return 0.0
        if owner and int(owner) != (os.getpid() if pid is None else pid):
            return 0.0
    except ValueError:
        return 0.0
    return int(usec) / 2e6
