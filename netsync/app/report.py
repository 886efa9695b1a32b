"""What a cycle did, for the user: one line per write, counts, and the plan when it was made.

Made in one place (``Report.of``) from the Decision and filled in as it is applied, so every
field means the same after every cycle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from netsync.core import notes
from netsync.core.cycle import Decision, Snapshot
from netsync.core.model import Contact, Reminder

Progress = Callable[[str, int, int], None]  # (what, done, total): for a terminal's progress line


def quiet(what: str, done: int, total: int) -> None:
    """No progress output (not on a terminal, or under the service)."""


@dataclass
class Report:
    """What a cycle did.

    ``lines``, ``created``, ``updated``, ``deleted``, ``contacts_written``: the writes that
    went through (on a dry run: that would be made). ``writes_failed``: writes that did not
    (retried next cycle). ``cards_read``, ``cards_skipped``, ``shared_uids``, ``planned``,
    ``due_today``: of the whole address book and its plan, whether this cycle planned all
    of it or only the contacts edited since the last complete cycle (``replanned`` of them).
    ``contacts`` and ``wanted``: the contacts and the whole plan, when this cycle read and
    planned the whole address book (always on a dry run and with `netsync log`); empty when
    it built on the last plan. ``unchanged``: there was nothing to write. ``mail_read``,
    ``mail_error``: what reading the mail folders did (``[mail]``)."""

    today: dt.date
    dry_run: bool = False
    lines: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    deleted: int = 0
    contacts_written: int = 0
    cards_read: int = 0
    cards_skipped: int = 0
    writes_failed: int = 0
    contacts: list[Contact] = field(default_factory=list)
    wanted: list[Reminder] = field(default_factory=list)
    planned: int = 0
    due_today: int = 0
    unchanged: bool = False
    shared_uids: list[str] = field(default_factory=list)
    replanned: int = 0
    mail_read: int = 0  # messages whose header fields were read
    mail_error: str = ""  # why the mail could not be read this cycle (the rest went on)
    # (name, contact UID, line, why) of each line netsync keeps but cannot use in a card that
    # changed since it was last read: reported once per change of a card (SPEC 2)
    not_understood: list[tuple[str, str, str, str]] = field(default_factory=list)

    @classmethod
    def of(cls, snapshot: Snapshot, decision: Decision, *, today: dt.date, dry_run: bool) -> Report:
        """The report of a decision before any of it is applied."""
        tally = decision.tally
        return cls(
            mail_read=snapshot.mail_read,
            mail_error=snapshot.mail_error,
            not_understood=[
                (contact.name, contact.uid, line, why)
                for contact in snapshot.new_cards
                for line, why in notes.not_understood(contact.note, contact.ledger)
            ],
            today=today,
            dry_run=dry_run,
            cards_read=tally.cards_read,
            cards_skipped=tally.cards_skipped,
            contacts=list(decision.contacts or ()),
            wanted=list(decision.plan or ()),
            planned=tally.planned,
            due_today=tally.due_today,
            unchanged=not decision,
            shared_uids=list(tally.shared_uids),
            replanned=decision.edited,
        )

    def plan_of(self, decision: Decision) -> None:
        """Take the plan and its counts from ``decision`` (decided again: cycle.settle)."""
        self.contacts = list(decision.contacts or ())
        self.wanted = list(decision.plan or ())
        self.planned, self.due_today = decision.tally.planned, decision.tally.due_today

    def not_understood_by_card(self) -> list[str]:
        """One warning per card in ``not_understood``, without the lines themselves: what may
        go into a log (SPEC 9: logs hold no NOTE text). `netsync check` shows the lines."""
        counts: dict[tuple[str, str], int] = {}
        for name, uid, _, _ in self.not_understood:
            counts[name, uid] = counts.get((name, uid), 0) + 1
        return [
            f"{name} (UID {uid}): "
            + ("a line" if n == 1 else f"{n} lines")
            + " in the note that netsync cannot use, kept as "
            + ("it is" if n == 1 else "they are")
            + "; `netsync check` lists "
            + ("it" if n == 1 else "them")
            for (name, uid), n in counts.items()
        ]

    @property
    def failed(self) -> bool:
        return bool(self.cards_skipped or self.writes_failed or self.mail_error)

    def summary(self) -> str:
        verb = "would be " if self.dry_run else ""
        parts = [
            f"{self.cards_read} contacts read",
            f"{self.created} reminders {verb}created",
            f"{self.updated} {verb}updated",
            f"{self.deleted} {verb}deleted",
        ]
        if self.contacts_written:
            parts.append(f"{self.contacts_written} contacts {verb}updated")
        if self.cards_skipped:
            parts.append(f"{self.cards_skipped} cards skipped")
        if self.writes_failed:
            parts.append(f"{self.writes_failed} writes failed")
        if self.mail_read:
            parts.append(f"{self.mail_read} mails read")
        if self.mail_error:
            parts.append("mail not read")
        return ", ".join(parts)
