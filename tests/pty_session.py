"""A program on a pseudo-terminal, driven as a person would drive it: wait for a question,
answer it. ``input()`` and ``getpass`` behave as for a person (the password is typed without
echo), so a test sees exactly what the screen shows."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

# Make the pty the child's controlling terminal (getpass reads /dev/tty), then run netsync.
BOOT = (
    "import fcntl, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "from netsync.commands import main; sys.exit(main(sys.argv[1:]))"
)


class Terminal:
    """A program on a pseudo-terminal, driven as a person would: wait for a question, answer."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", BOOT, *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.fd = master
        self.buffer = ""
        self.pos = 0

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 4096)
        except OSError:  # EIO: the other side is closed
            return False
        self.buffer += data.decode("utf-8", "replace")
        return bool(data)

    def expect(self, text: str, timeout: float = 30) -> str:
        """Wait until ``text`` appears after what was matched before; what came in between."""
        deadline = time.monotonic() + timeout
        while text not in self.buffer[self.pos :]:
            if time.monotonic() > deadline or not self._read(0.2):
                raise AssertionError(f"never saw {text!r}; the terminal shows:\n{self.buffer}")
        start = self.pos
        self.pos = self.buffer.index(text, self.pos) + len(text)
        return self.buffer[start : self.pos]

    def answer(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\r")  # the Enter key

    def interrupt(self, then: str) -> None:
        """Ctrl-C (the tty sends SIGINT), until ``then`` shows. Python's input() loses a
        SIGINT that lands between printing the prompt and blocking in read() (CPython's
        my_fgets checks signals only after an EINTR); a person is never that quick, a test is,
        so it presses again."""
        for _ in range(10):
            os.write(self.fd, b"\x03")
            try:
                self.expect(then, timeout=2)
                return
            except AssertionError:
                continue
        self.expect(then, timeout=1)

    def finish(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._read(0.2):
            pass
        os.close(self.fd)
        return self.proc.wait(10)
