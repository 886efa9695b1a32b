"""The questions of `netsync init`: asked on a terminal, or answered by their defaults (and a
usage error naming the flag to pass) without one.

The only place where init reads what a person types. A secret is read with ``getpass`` (no
echo) and never passes through ``ask``, whose answer the terminal shows.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from netsync.commands.common import UsageError


class Prompter:
    """Questions on a terminal, or their defaults (and a usage error) without one."""

    def __init__(
        self,
        *,
        interactive: bool,
        out: TextIO | None = None,
        ask: Callable[[str], str] = input,
        secret: Callable[[str], str] = getpass.getpass,
    ) -> None:
        self.interactive = interactive
        self.out = out or sys.stdout
        self._ask = ask
        self._secret = secret

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def ask(self, question: str, *, flag: str, default: str | None = None, what: str = "") -> str:
        """The answer, or ``default`` for an empty one; None as default: an answer is needed.
        Without a terminal: the default, else a UsageError naming ``flag`` (and ``what``)."""
        if not self.interactive:
            if default is None:
                raise missing(what or question, flag)
            return default
        shown = f" [{default}]" if default else ""
        while True:
            answer = self._ask(f"{question}{shown}: ").strip()
            if answer or default is not None:
                return answer or (default or "")
            self.say("  (an answer is needed here; Ctrl-C stops)")

    def choose(
        self, question: str, options: Sequence[str], *, default: int, flag: str, note: str = ""
    ) -> int:
        """An index into ``options`` (numbered from 1 on screen; ``note`` below them)."""
        if not self.interactive:
            return default
        for number, option in enumerate(options, 1):
            self.say(f"  {number}) {option}")
        if note:
            self.say(note)
        while True:
            answer = self.ask(question, flag=flag, default=str(default + 1))
            if answer.isdigit() and 1 <= int(answer) <= len(options):
                return int(answer) - 1
            self.say(f"  (a number from 1 to {len(options)})")

    def confirm(self, question: str, *, default: bool) -> bool:
        if not self.interactive:
            return default
        while True:
            answer = self._ask(f"{question} [{'Y/n' if default else 'y/N'}]: ").strip().lower()
            if not answer:
                return default
            if answer in ("y", "yes", "j", "ja"):
                return True
            if answer in ("n", "no", "nee"):
                return False

    def password(self, prompt: str) -> str:
        """A secret, typed without echo."""
        return self._secret(prompt)


def missing(what: str, flag: str) -> Exception:
    return UsageError(f"init: no {what} given: pass {flag} (or answer it in a terminal)")
