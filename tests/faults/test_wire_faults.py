"""Issue 5, item 1: a network that fails one request in five changes nothing netsync ends with.

The same seeded script (phone edits between cycles, `netsync log`, days moving on) is played
twice: once against a Xandikos reached directly, once against a second Xandikos behind the
fault proxy at a 20% fault rate (500/502/503/507, resets, stalls past the 2 s timeout,
truncated bodies; before or after the server did the request). Every cycle must end in 0, 1
or 75 and never in a traceback. After the script the faulty side runs until a cycle gets
through (faults still on); then both sides must hold the same contacts byte for byte outside
NOTE, the same ledgers, the same reminders, every phone edit, and nothing twice.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import servers
from tests.faults import reliability
from tests.faults.faultproxy import FaultProxy
from tests.faults.phonebook import end_state, make_script
from tests.faults.twosides import Side, compare, current, move_in_both, writes
from tests.scenario import upload_sample

STEPS = 50
RATE = 0.2
SEED = 20261126


@pytest.mark.slow
def test_fifty_cycles_at_twenty_percent_faults_end_where_a_clean_run_ends(tmp_path: Path) -> None:
    section = reliability.section(
        "wire",
        "Faults on the wire",
        f"""A seeded script of {STEPS} steps (the date moves on a day every four steps; each step
        1-3 phone actions: a `last:` typed as `24-11-2026`, a new TEL or birthday, the user's own
        note text, a new contact, a deleted one, a follow-up moved in the calendar, `netsync log`)
        is played against two Xandikos servers. One is reached directly; the other through the fault
        proxy, which fails {RATE:.0%} of all requests: 500, 502, 503 or 507, a TCP reset, a stall
        past the 2 s timeout, or a body cut short, either before the server saw the request or after
        it had done it. Every cycle on the faulty side must exit 0, 1 or 75 with no traceback; a
        `netsync log` that exits 75 is run again, as a user would. After the script the faulty side
        runs (faults still on) until one cycle gets through. Then the two end states are compared:
        every card byte for byte outside NOTE and by its NOTE text (folding may differ), every
        ledger, every reminder by UID and by what it says, every phone edit, no duplicate UID, one
        calendar. The one allowance: a follow-up may stand on another day, because a day on the
        faulty side can end on a cycle that wrote half of its plan, which the planner cannot tell
        from a whole one (the known gap below); such follow-ups are counted, and all else they
        say is compared.""",
    )
    with (
        servers.xandikos(tmp_path / "clean") as clean_server,
        servers.xandikos(tmp_path / "faulty") as faulty_server,
        FaultProxy(faulty_server.root, seed=SEED) as proxy,
    ):
        for server in (clean_server, faulty_server):
            upload_sample(server)
        a = Side.ready(clean_server, tmp_path / "a", None)
        b = Side.ready(faulty_server, tmp_path / "b", proxy)
        script = make_script(SEED, steps=STEPS, existing=sorted(a.outside))
        with proxy.faults(RATE):
            for step in script:
                for action in step.actions:
                    if action.kind == "move":
                        move_in_both(a, b, action, step.today)
                        continue
                    a.apply(action, step)
                    b.apply(action, step)
                assert a.run("sync", today=step.today) == 0
                b.run("sync", today=step.today)
            last_day = script[-1].today
            settle = 0
            while b.run("sync", today=last_day) != 0:
                settle += 1
                assert settle < 60, "no cycle got through"
        faulty_cycles, faulty_codes = b.cycles, dict(b.codes)
        # Healed: one more cycle on each side changes nothing at all.
        quiet_from = proxy.stats.requests
        assert b.run("sync", today=last_day) == 0
        assert writes(proxy, quiet_from) == []
        reference, state = end_state(clean_server), end_state(faulty_server)
        assert a.run("sync", today=last_day) == 0
        assert end_state(clean_server).cards == reference.cards

        lost_a, doubled_a, problems_a = compare(a, reference, reference, last_day)
        # Four cycles a day at 20% faults: some days end on a cycle that failed halfway.
        lost, doubled, problems = compare(b, state, reference, last_day, half_written_days=True)

    stats = proxy.stats
    contact_puts = sum(
        1
        for s in stats.seen
        if s.method == "PUT" and "/contacts/" in s.path and stats.status.get(s.n) in (201, 204)
    )
    section.row("script steps (phone actions between cycles)", f"{STEPS} ({b.edits} phone edits)")
    section.row("cycles through the faulty proxy, faults on", faulty_cycles)
    section.row("… of them `netsync log` run again after a failed try", b.log_retries)
    exits = ", ".join(f"{code}: {count}" for code, count in sorted(faulty_codes.items()))
    section.row("exit codes on the faulty side (code: cycles)", exits)
    section.row("cycles needed after the script until one got through", settle + 1)
    section.row("requests through the proxy", stats.requests)
    section.row("faults injected", sum(stats.faults.values()))
    for kind, count in sorted(stats.faults.items()):
        section.row(f"… {kind}", count)
    section.row("… before the server saw the request", stats.phases["before"])
    section.row("… after the server had done it", stats.phases["after"])
    faulted_writes = sum(
        1 for s in stats.seen if s.fault and s.method in ("PUT", "DELETE", "MKCALENDAR")
    )
    section.row("… of them on a write (PUT, DELETE, MKCALENDAR)", faulted_writes)
    section.row("contact writes the server did (PUT answered 201/204)", contact_puts)
    section.row("contacts at the end", len(state.cards))
    wanted_now = current(state, last_day)
    history = {u: v for u, v in state.reminders.items() if u not in wanted_now}
    history_a = {
        u: v for u, v in reference.reminders.items() if u not in current(reference, last_day)
    }
    section.row("reminders the plan wants at the end (all compared)", len(wanted_now))
    section.row("past reminders kept as history", len(history))
    section.row(
        "… that differ from the clean run (their day passed before a cycle got through)",
        len(set(history.items()) ^ set(history_a.items())),
    )
    section.row(
        "follow-ups on another day than on the clean side (a day ended on half a plan: "
        "the known gap, below)",
        b.moved_follow_ups,
    )
    section.lost, section.doubled = lost, doubled
    assert (lost_a, doubled_a, problems_a) == (0, 0, [])
    assert not problems, "\n".join(problems)
    assert (lost, doubled) == (0, 0)
    assert sum(stats.faults.values()) >= 0.15 * stats.requests
    assert faulty_cycles >= 50
