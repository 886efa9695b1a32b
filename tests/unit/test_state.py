"""The state directory's record of our own calendar writes since the cached sync token."""

from __future__ import annotations

from pathlib import Path

from netsync.app.state import LastPlan, State
from netsync.core.cycle import Tally

CAL = "http://example.test/cal/"
OTHER = "http://example.test/book/"


def test_a_write_is_remembered_until_a_sync_is_stored(tmp_path: Path) -> None:
    state = State(tmp_path)
    state.apply(CAL, token="t1", changed=[], deleted=[], complete=True)
    state.put_written(CAL, f"{CAL}a.ics", '"1"', b"{}")
    state.put_written(CAL, f"{CAL}b.ics", None, b"{}")  # no ETag: not cached, still checked
    state.put_written(OTHER, f"{OTHER}c.vcf", '"1"', b"x")
    assert state.written(CAL) == {f"{CAL}a.ics", f"{CAL}b.ics"}
    assert state.etags(CAL) == {f"{CAL}a.ics": '"1"'}
    state.close()

    state = State(tmp_path)  # kept across runs: the next cycle is another process
    assert state.written(CAL) == {f"{CAL}a.ics", f"{CAL}b.ics"}
    state.apply(CAL, token="t2", changed=[], deleted=[], complete=False)
    assert state.written(CAL) == set()
    assert state.written(OTHER) == {f"{OTHER}c.vcf"}


def test_parsed_entries_of_some_cards_only(tmp_path: Path) -> None:
    state = State(tmp_path)
    rows = [(f"{OTHER}{i}.vcf", f'"{i}"', f"[{i}]") for i in range(3)]
    state.apply(
        OTHER, token="t", changed=[(h, e, b"x") for h, e, _ in rows], deleted=[], complete=True
    )
    state.put_parsed(OTHER, "2026-11-26", rows)
    some = state.parsed(OTHER, "2026-11-26", [f"{OTHER}2.vcf", f"{OTHER}9.vcf"])
    assert some == {f"{OTHER}2.vcf": ('"2"', "[2]")}
    assert len(state.parsed(OTHER, "2026-11-26")) == 3
    assert state.parsed(OTHER, "2026-11-27", [f"{OTHER}2.vcf"]) == {}


def test_lazy_etags_are_read_on_first_use_only(tmp_path: Path) -> None:
    state = State(tmp_path)
    state.apply(CAL, token="t", changed=[(f"{CAL}a.ics", '"1"', b"{}")], deleted=[], complete=True)
    lazy = state.lazy_etags(CAL)
    state.put_item(CAL, f"{CAL}b.ics", '"2"', b"{}")  # not read yet: this is seen
    assert dict(lazy) == state.etags(CAL) == {f"{CAL}a.ics": '"1"', f"{CAL}b.ics": '"2"'}
    state.put_item(CAL, f"{CAL}c.ics", '"3"', b"{}")  # read once, then kept
    assert len(lazy) == 2 and lazy.get(f"{CAL}c.ics") is None


def test_what_a_cycle_keeps_reads_back_and_garbage_reads_as_nothing(tmp_path: Path) -> None:
    state = State(tmp_path)
    assert state.take_last_plan() is None and state.address_books(OTHER) is None
    mark = LastPlan("key", Tally(25, 1, 40, 3, ("u1",)))
    state.keep_last_plan(mark)
    state.keep_address_books(OTHER, [OTHER + "book/"])
    state.keep_calendar(CAL, "Keep in touch", CAL + "k/")
    state.keep_lost(CAL, {f"{CAL}a.ics": b'{"uid": "x"}', f"{CAL}b.ics": bytes(range(256))})
    state.close()

    state = State(tmp_path)  # the next cycle is another process
    assert state.take_last_plan() == mark
    assert state.take_last_plan() is None  # taken: a cycle that dies now leaves no mark
    assert state.address_books(OTHER) == [OTHER + "book/"]
    assert state.calendar(CAL, "Keep in touch") == CAL + "k/"
    assert state.calendar(CAL, "Work") is None
    assert state.lost(CAL)[f"{CAL}b.ics"] == bytes(range(256))
    state.keep_lost(CAL, {})
    assert state.lost(CAL) == {}

    for key, garbage in (("complete", "{}"), ("complete", "[1"), (f"books:{OTHER}", '{"a": 1}')):
        state._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, garbage))
    state._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"lost:{CAL}", '"x"'))
    assert state.take_last_plan() is None
    assert state.address_books(OTHER) is None and state.lost(CAL) == {}


def test_mail_position_and_days_are_recorded_together_and_old_days_forgotten(
    tmp_path: Path,
) -> None:
    import datetime as dt

    from netsync.app.state import MailPosition

    d = dt.date
    state = State(tmp_path)
    assert state.mail_position("acct", "Sent") is None and state.mail_days() == {}
    state.record_mail(
        "acct",
        "Sent",
        MailPosition(7, 10),
        {"a@x.org": d(2026, 11, 20), "old@x.org": d(2025, 1, 1)},
        keep_after=d(2025, 11, 26),
    )
    state.close()
    state = State(tmp_path)  # a new process reads what the last one recorded
    assert state.mail_position("acct", "Sent") == MailPosition(7, 10)
    assert state.mail_position("other", "Sent") is None
    assert state.mail_days() == {"a@x.org": d(2026, 11, 20)}
    state.set_mail_folder("acct", "Verzonden")
    assert state.mail_folder("acct") == "Verzonden"
    state.set_mail_folder("acct", None)
    assert state.mail_folder("acct") is None


def test_a_refused_sync_collection_is_remembered_by_collection_until_forgotten(
    tmp_path: Path,
) -> None:
    import datetime as dt

    when = dt.datetime(2026, 11, 26, 9, 30, tzinfo=dt.UTC)
    state = State(tmp_path)
    assert state.sync_refused(CAL) is None
    state.keep_sync_refused(CAL, when)
    state.close()

    state = State(tmp_path)
    assert state.sync_refused(CAL) == when
    assert state.sync_refused(OTHER) is None
    state.keep_sync_refused(CAL, None)
    assert state.sync_refused(CAL) is None
    for garbage in ("yesterday", "2026-11-26T09:30:00"):  # no time zone: as good as none
        state._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"nosync:{CAL}", garbage))
        assert state.sync_refused(CAL) is None
