"""Two runs of one script, side by side: a clean one (the reference) and one put through
faults, kills or a lost state directory, and the comparison of where each ended.

A ``Side`` is a server, a config pointing netsync at it (directly or through the fault proxy),
a phone, and what the phone wrote: the lines outside NOTE, the user's note text and the
``last:`` date each card must end with. ``compare`` says what one side lost or doubled
against the reference.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

from netsync.commands import main
from tests import davcheck, servers
from tests.faults.faultproxy import FaultProxy
from tests.faults.phonebook import (
    Action,
    EndState,
    Phone,
    Step,
    end_state,
    iso_last,
    ledger_of,
    note_of,
    outside_note,
    split_block,
    with_last,
    with_note,
    with_property,
    with_user_text,
)
from tests.scenario import write_config


def configure(server: servers.Server, tmp: Path, proxy: FaultProxy | None) -> Path:
    """A config for ``server`` (through ``proxy`` when given) with a 2 s timeout, so a stall
    costs two seconds, not thirty."""
    tmp.mkdir(parents=True, exist_ok=True)
    via = proxy.url if proxy is not None else (lambda url: url)
    config = write_config(
        server,
        tmp,
        contacts_url=via(server.addressbook),
        reminders_url=via(server.calendar_home),
    )
    text = config.read_text().replace("[contacts]\n", '[contacts]\ntimeout = "2s"\n', 1)
    config.write_text(text)
    return config


class Side:
    """One of the two runs: a server, its config, the phone, and what the phone wrote."""

    def __init__(self, server: servers.Server, config: Path, proxy: FaultProxy | None) -> None:
        self.server, self.config, self.proxy = server, config, proxy
        self.phone = Phone(server)
        self.codes: Counter[int] = Counter()
        self.cycles = 0
        self.outside: dict[str, list[str]] = {}
        self.user: dict[str, str] = {}
        self.last: dict[str, str | None] = {}
        self.edits = 0
        self.log_retries = 0
        self.moved_follow_ups = 0  # most follow-ups seen on another day than on the clean side

    @classmethod
    def ready(cls, server: servers.Server, tmp: Path, proxy: FaultProxy | None) -> Side:
        """A side configured at ``tmp`` (through ``proxy`` when given), its cards noted."""
        side = cls(server, configure(server, tmp, proxy), proxy)
        side.start()
        return side

    def remember(self, name: str, text: str) -> None:
        self.outside[name] = outside_note(text)
        self.user[name] = split_block(note_of(text))[0]

    def start(self) -> None:
        for name, (_, text) in self.cards().items():
            self.remember(name, text)
            self.last[name] = iso_last(text)

    def cards(self) -> dict[str, tuple[str, str]]:
        snap = davcheck.snapshot(self.server, self.server.addressbook)
        return {
            href.rsplit("/", 1)[1]: (etag, body.decode("utf-8", "surrogateescape"))
            for href, (etag, body) in snap.items()
        }

    def run(self, *args: str, today: dt.date) -> int:
        code = main(["--config", str(self.config), *args, "--today", today.isoformat()])
        self.cycles += 1
        self.codes[code] += 1
        assert code in (0, 1, 75), f"exit {code} from {args}"
        return code

    def apply(self, action: Action, step: Step) -> None:
        name, phone = action.name, self.phone
        if action.kind == "new":
            assert phone.put(name, action.value, etag=None) == 201
            self.remember(name, action.value)
            self.last[name] = iso_last(action.value)
        elif action.kind == "delete":
            phone.delete(name)
            self.outside.pop(name, None)
            self.user.pop(name, None)
            self.last.pop(name, None)
        elif action.kind == "note_last":
            written = phone.edit(name, lambda t: with_note(t, with_last(note_of(t), action.value)))
            assert written is not None
            self.remember(name, written)
            self.last[name] = action.extra
        elif action.kind == "user_text":
            written = phone.edit(
                name, lambda t: with_note(t, with_user_text(note_of(t), action.value))
            )
            assert written is not None
            self.remember(name, written)
        elif action.kind in ("tel", "bday"):
            prop = "TEL;TYPE=CELL" if action.kind == "tel" else "BDAY"
            written = phone.edit(name, lambda t: with_property(t, prop, action.value))
            assert written is not None
            self.remember(name, written)
        elif action.kind == "log":
            found = phone.read(name)
            assert found is not None
            uid = next(line[4:] for line in found[1].split("\r\n") if line.startswith("UID:"))
            argv = ["log", uid, "--date", action.value, "--via", action.extra or "call"]
            for _ in range(40):  # the user runs it again until it gets through
                if self.run(*argv, today=step.today) == 0:
                    break
                self.log_retries += 1
            else:
                raise AssertionError(f"`netsync log` never got through for {name}")
            before = self.last.get(name)
            self.last[name] = max(filter(None, [before, action.value]))
        self.edits += action.kind != "log"


def follow_ups(state: EndState, today: dt.date) -> dict[str, dt.date]:
    return {
        uid: says[1]
        for uid, says in state.reminders.items()
        if "follow-up" in uid and says[1] > today
    }


def move_in_both(a: Side, b: Side, action: Action, today: dt.date) -> None:
    """Move the same future follow-up on both phones, if both calendars hold it on one day."""
    on_a, on_b = follow_ups(end_state(a.server), today), follow_ups(end_state(b.server), today)
    shared = sorted(uid for uid in on_a if on_b.get(uid) == on_a[uid])
    if not shared:
        return
    uid = shared[int(action.value) % len(shared)]
    day = on_a[uid] + dt.timedelta(days=2)
    assert a.phone.move_follow_up(uid, day) and b.phone.move_follow_up(uid, day)
    a.edits += 1
    b.edits += 1


def current(state: EndState, today: dt.date) -> dict[str, tuple[object, ...]]:
    """The reminders the plan of ``today`` speaks for: every follow-up, and every other one
    from today on. Older birthday and occasion reminders are the calendar's history, left as
    they were on the day they passed (reconcile.py), so they record which cycles got through."""
    return {
        uid: says
        for uid, says in state.reminders.items()
        if says[6] == "follow-up" or says[1] >= today  # type: ignore[operator]
    }


def compare(
    side: Side,
    state: EndState,
    reference: EndState,
    today: dt.date,
    *,
    half_written_days: bool = False,
) -> tuple[int, int, list[str]]:
    """(lost, doubled, what differs) of one side's end state against the fault-free one.

    ``half_written_days``: the side may have ended a day on a cycle that wrote half of its
    plan, the one known gap (tests/faults/test_known_gaps.py): then, and only then, a
    follow-up may stand on another day, which the digest of that week then says too.
    Everything else a follow-up says is compared, and such follow-ups are counted."""
    lost, problems = 0, []
    for name, outside in side.outside.items():
        card = state.cards.get(name)
        if card is None:
            lost += 1
            problems.append(f"{name}: gone")
            continue
        checks = {
            "outside NOTE": outside_note(card) == outside,
            "user text": split_block(note_of(card))[0] == side.user[name],
            "last": iso_last(card) == side.last[name],
            # The NOTE's text, not its bytes: the side whose last writer was netsync has it
            # folded at 75 octets, the side whose last writer was the phone has one long line.
            "outside NOTE as fault-free": outside_note(card)
            == outside_note(reference.cards.get(name, "")),
            "NOTE text as fault-free": note_of(card) == note_of(reference.cards.get(name, "")),
            "ledger": ledger_of(card) == ledger_of(reference.cards.get(name, "")),
        }
        for what, ok in checks.items():
            if not ok:
                lost += 1
                problems.append(f"{name}: {what} differs")
                if what == "last":
                    problems.append(
                        f"  card says {iso_last(card)}, phone and log said {side.last[name]}"
                    )
    extra_cards = set(state.cards) - set(side.outside)
    mine, wanted = current(state, today), current(reference, today)
    missing = set(wanted) - set(mine)
    extra = set(mine) - set(wanted)
    both = set(wanted) & set(mine)
    moved = {u for u in both if half_written_days and _day_only(wanted[u], mine[u])}
    digests = {u for u in both if "-digest-" in u} if moved else set()
    side.moved_follow_ups = max(side.moved_follow_ups, len(moved))
    changed = {u for u in both - moved - digests if not _same_but_form(wanted[u], mine[u])}
    problems += [f"card {n} should not be there" for n in sorted(extra_cards)]
    problems += [f"reminder {u} missing" for u in sorted(missing)]
    problems += [f"reminder {u} not wanted" for u in sorted(extra)]
    problems += [f"reminder {u} says {mine[u]!r}, not {wanted[u]!r}" for u in sorted(changed)]
    lost += len(missing) + len(changed)
    doubled = len(extra) + len(extra_cards) + state.doubled
    return lost, doubled, problems


def _day_only(a: tuple[object, ...], b: tuple[object, ...]) -> bool:
    """Two follow-ups that differ in their day only (DTSTART, DTEND or DUE, PLANNED), each in
    a form netsync writes (see _same_but_form)."""
    if a[6] != "follow-up" or a == b:
        return False
    return (a[0], *a[3:8]) == (b[0], *b[3:8]) and _own_form(a) and _own_form(b)


def _same_but_form(a: tuple[object, ...], b: tuple[object, ...]) -> bool:
    """Two reminders that say the same, on the same day, each in a form netsync writes.

    The form is chosen when a write gets through (netsync/core/rings.py): all-day with its
    alarms before the day while those are ahead, else timed on that day with an alarm at its
    start. A side whose write got through a day later than the fault-free one's holds the
    same reminder in the timed form; both ring, and neither is rewritten for that alone."""
    if a == b:
        return True
    return (a[0], a[1], *a[3:9]) == (b[0], b[1], *b[3:9]) and _own_form(a) and _own_form(b)


def _own_form(says: tuple[object, ...]) -> bool:
    """All-day with alarms before the day, or timed on its day with one alarm at its start."""
    start, alarms = says[10], says[9]
    if not isinstance(start, dt.datetime):
        return all(str(trigger).startswith("-") for _, trigger, _ in alarms)  # type: ignore[attr-defined]
    return start.date() == says[1] and [t for _, t, _ in alarms] == ["0:00:00"]  # type: ignore[attr-defined]


def writes(proxy: FaultProxy, since: int) -> list[str]:
    return [
        f"{s.method} {s.path}"
        for s in proxy.stats.seen[since:]
        if s.method in ("PUT", "DELETE", "MKCALENDAR", "MKCOL")
    ]
