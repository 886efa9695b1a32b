"""The planner's rules (SPEC 5): cadence, due dates, spreading, budget, horizon, stability,
occasions and 29 February."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from netsync.core import planner
from netsync.core.model import (
    ANNIVERSARY,
    BIRTHDAY,
    DIGEST,
    FOLLOW_UP,
    OCCASION,
    Cadence,
    Contact,
    DateFact,
    Ledger,
    NoteOccasion,
    PartialDate,
    PlanSettings,
    Reminder,
)

TODAY = dt.date(2026, 11, 26)
DEFAULTS = PlanSettings(digest=False)


def person(uid: str, *, last: dt.date | None = None, **kw: object) -> Contact:
    ledger_kw = {k: kw.pop(k) for k in list(kw) if k in Ledger.__dataclass_fields__}
    return Contact(
        uid=uid,
        name=kw.pop("name", f"Person {uid}"),  # type: ignore[arg-type]
        ledger=Ledger(last=last, **ledger_kw),
        **kw,
    )  # type: ignore[arg-type]


def follow_ups(reminders: list[Reminder]) -> dict[str, Reminder]:
    return {r.contact_uid: r for r in reminders if r.kind == FOLLOW_UP}


def test_due_is_last_contact_plus_cadence_from_note() -> None:
    alice = person("a", last=dt.date(2026, 11, 1), every=Cadence(30))
    [r] = planner.plan([alice], [], today=TODAY, settings=DEFAULTS)
    assert r.day == dt.date(2026, 12, 1)
    assert r.kind == FOLLOW_UP and r.summary == "Get in touch with Person a"
    assert r.uid.startswith("netsync-follow-up-") and r.uid.endswith("-20261201")


def test_cadence_from_category_then_default() -> None:
    s = PlanSettings(digest=False, categories=(("Family", Cadence(14)), ("Customers", None)))
    family = person("f", last=dt.date(2026, 11, 20), categories=("Friends", "family"))
    customer = person("c", last=dt.date(2026, 11, 20), categories=("Customers",))
    other = person("o", last=dt.date(2026, 9, 1))
    assert planner.cadence_for(family, s) == Cadence(14)
    assert planner.cadence_for(customer, s) is None
    assert planner.cadence_for(other, s) == Cadence(90)
    noted = person("n", every=Cadence(2, "w"), categories=("Family",))
    assert planner.cadence_for(noted, s) == Cadence(2, "w")
    assert planner.cadence_for(person("x", never=True), s) is None


def test_months_follow_the_calendar() -> None:
    assert Cadence(1, "m").after(dt.date(2026, 1, 31)) == dt.date(2026, 2, 28)
    assert Cadence(1, "y").after(dt.date(2024, 2, 29)) == dt.date(2025, 2, 28)


def test_organisations_never_and_pause_get_no_follow_up() -> None:
    contacts = [
        person("org", is_org=True),
        person("never", never=True),
        person("paused", pause_forever=True),
        person("later", last=dt.date(2026, 8, 1), pause=dt.date(2027, 1, 31)),
    ]
    assert follow_ups(planner.plan(contacts, [], today=TODAY, settings=DEFAULTS)) == {}


def test_pause_moves_the_due_date() -> None:
    s = PlanSettings(digest=False, horizon_days=90)
    c = person("p", last=dt.date(2026, 8, 1), pause=dt.date(2027, 1, 31))
    assert follow_ups(planner.plan([c], [], today=TODAY, settings=s))["p"].day == dt.date(
        2027, 1, 31
    )


def test_never_contacted_people_are_spread_over_the_first_period() -> None:
    s = PlanSettings(digest=False, every=Cadence(30), max_per_day=1000, horizon_days=30)
    contacts = [person(f"uid-{i}") for i in range(600)]
    days = Counter(r.day for r in planner.plan(contacts, [], today=TODAY, settings=s))
    assert min(days) >= TODAY and max(days) < TODAY + dt.timedelta(days=30)
    assert len(days) == 30  # every day of the period gets some
    assert max(days.values()) < 3 * 600 / 30  # and none gets a pile


def test_spreading_does_not_depend_on_the_day_netsync_first_ran() -> None:
    c = person("stable-uid")
    s = PlanSettings(digest=False, every=Cadence(30), horizon_days=30)
    first = follow_ups(planner.plan([c], [], today=TODAY, settings=s))["stable-uid"].day
    for offset in range(0, (first - TODAY).days + 1):
        day = TODAY + dt.timedelta(days=offset)
        again = follow_ups(planner.plan([c], [], today=day, settings=s))["stable-uid"].day
        assert again == first


def test_budget_most_overdue_first_rest_to_next_days() -> None:
    s = PlanSettings(digest=False, max_per_day=3)
    contacts = [person(f"c{i}", last=dt.date(2026, 8, 1) + dt.timedelta(days=i)) for i in range(7)]
    fu = follow_ups(planner.plan(contacts, [], today=TODAY, settings=s))
    by_day = Counter(r.day for r in fu.values())
    assert by_day == {TODAY: 3, TODAY + dt.timedelta(days=1): 3, TODAY + dt.timedelta(days=2): 1}
    assert {fu[f"c{i}"].day for i in range(3)} == {TODAY}  # the three most overdue
    assert fu["c6"].day == TODAY + dt.timedelta(days=2)


def test_only_follow_ups_within_the_horizon_are_written() -> None:
    s = PlanSettings(digest=False, horizon_days=14)
    inside = person("in", last=TODAY - dt.timedelta(days=80))  # due in 10 days
    outside = person("out", last=TODAY - dt.timedelta(days=60))  # due in 30 days
    assert set(follow_ups(planner.plan([inside, outside], [], today=TODAY, settings=s))) == {"in"}


def test_a_follow_up_the_user_moved_stays_where_the_user_put_it() -> None:
    c = person("m", last=dt.date(2026, 9, 1))
    [planned] = planner.plan([c], [], today=TODAY, settings=DEFAULTS)
    moved = Reminder(**{**planned.__dict__, "day": planned.day + dt.timedelta(days=5)})
    [again] = planner.plan([c], [moved], today=TODAY, settings=DEFAULTS)
    assert again.day == moved.day and again.uid == planned.uid and again.planned == planned.day


def test_a_missed_follow_up_moves_to_today() -> None:
    c = person("late", last=dt.date(2026, 8, 1))
    [r] = planner.plan([c], [], today=TODAY, settings=DEFAULTS)
    later = TODAY + dt.timedelta(days=3)
    [again] = planner.plan([c], [r], today=later, settings=DEFAULTS)
    assert again.uid == r.uid and again.day == later


def test_one_open_follow_up_per_contact() -> None:
    c = person("one", last=dt.date(2026, 8, 1))
    old = Reminder(
        planner.reminder_uid(FOLLOW_UP, "one", dt.date(2026, 10, 1)), FOLLOW_UP, "one", TODAY, "x"
    )
    plan = planner.plan([c], [old], today=TODAY, settings=DEFAULTS)
    assert len(follow_ups(plan)) == 1 and old.uid not in {r.uid for r in plan}


def _people(lasts: list[int | None], *, prefix: str = "h", since: dt.date = TODAY) -> list[Contact]:
    """One person per entry: last contact that many days after ``since``, or none."""
    return [
        person(f"{prefix}{i}", last=None if d is None else since + dt.timedelta(days=d))
        for i, d in enumerate(lasts)
    ]


def _simulate(contacts: list[Contact], s: PlanSettings, days: int) -> None:
    """Run daily with nothing changed; the calendar holds exactly the previous plan."""
    calendar: list[Reminder] = []
    for n in range(days):
        today = TODAY + dt.timedelta(days=n)
        plan = planner.plan(contacts, calendar, today=today, settings=s)
        before = {r.uid: r for r in calendar if r.kind == FOLLOW_UP and r.day >= today}
        after = {r.uid: r for r in plan if r.kind == FOLLOW_UP}
        for uid, r in before.items():
            assert uid in after and after[uid].day == r.day, f"day {n}: {uid} moved"
        per_day = Counter(r.day for r in after.values())
        assert max(per_day.values(), default=0) <= s.max_per_day
        calendar = plan


def test_stable_over_60_days_with_nothing_changed() -> None:
    contacts = [person(f"u{i}") for i in range(40)]
    contacts += [person(f"l{i}", last=TODAY - dt.timedelta(days=70 + i)) for i in range(40)]
    _simulate(contacts, PlanSettings(digest=False, every=Cadence(30), max_per_day=3), 60)


@settings(max_examples=30, deadline=None)
@given(
    lasts=st.lists(st.one_of(st.none(), st.integers(-400, 0)), min_size=1, max_size=40),
    every=st.integers(1, 120),
    budget=st.integers(1, 5),
    horizon=st.integers(1, 30),
)
def test_stability_and_budget_hold_for_any_address_book(
    lasts: list[int | None], every: int, budget: int, horizon: int
) -> None:
    contacts = _people(lasts)
    _simulate(
        contacts,
        PlanSettings(digest=False, every=Cadence(every), max_per_day=budget, horizon_days=horizon),
        20,
    )


def _follow_up_days(plan: list[Reminder]) -> dict[str, tuple[str, dt.date]]:
    return {r.contact_uid: (r.uid, r.day) for r in plan if r.kind == FOLLOW_UP}


@settings(max_examples=200, deadline=None)
@given(
    lasts=st.lists(st.one_of(st.none(), st.integers(-400, 0)), min_size=1, max_size=40),
    every=st.integers(1, 120),
    budget=st.integers(1, 5),
    horizon=st.integers(1, 30),
    ran=st.lists(st.booleans(), min_size=1, max_size=40),
)
def test_days_without_a_cycle_change_no_follow_up(
    lasts: list[int | None], every: int, budget: int, horizon: int, ran: list[bool]
) -> None:
    """SPEC 5: the plan does not depend on which earlier cycles ran. Cycles on some days
    only end in the same follow-ups, on the same days, as a cycle every day.

    The calendar is the planner's only memory: a gap longer than the horizon after a plan with
    no follow-up at all leaves no trace of when that plan was made, so such gaps are not
    generated (the planner documents them)."""
    contacts = _people(lasts)
    s = PlanSettings(digest=False, every=Cadence(every), max_per_day=budget, horizon_days=horizon)
    daily = some = planner.plan(contacts, [], today=TODAY, settings=s)
    last_cycle = 0
    for n, cycle in enumerate(ran, start=1):
        day = TODAY + dt.timedelta(days=n)
        daily = planner.plan(contacts, daily, today=day, settings=s)
        untraceable = not _follow_up_days(some) and n - last_cycle >= horizon
        if cycle or untraceable or n == len(ran):
            some = planner.plan(contacts, some, today=day, settings=s)
            last_cycle = n
    assert _follow_up_days(some) == _follow_up_days(daily)


def _half_written(
    calendar: list[Reminder], plan: list[Reminder], applied: list[int]
) -> list[Reminder]:
    """The calendar after a cycle wrote some of the way to ``plan`` and failed: each create,
    update and delete went through or not (``applied``)."""
    old, new = {r.uid: r for r in calendar}, {r.uid: r for r in plan}
    writes = sorted(uid for uid in old.keys() | new.keys() if old.get(uid) != new.get(uid))
    went = {uid for n, uid in enumerate(writes) if applied[n % len(applied)] > 0}
    out = {uid: r for uid, r in old.items() if uid not in went}
    out.update((uid, r) for uid, r in new.items() if uid in went)
    return list(out.values())


@settings(max_examples=200, deadline=None)
@given(
    lasts=st.lists(st.one_of(st.none(), st.integers(-200, 0)), min_size=1, max_size=30),
    done=st.lists(st.booleans(), max_size=30),
    budget=st.integers(1, 4),
    horizon=st.integers(1, 20),
    applied=st.lists(st.integers(0, 2), min_size=60, max_size=60),  # 0: not written
)
def test_a_cycle_that_failed_halfway_leaves_no_trace_in_the_plan(
    lasts: list[int | None], done: list[bool], budget: int, horizon: int, applied: list[int]
) -> None:
    """A cycle of today failed to write what it learnt into the cards, planned from the old
    ledgers, wrote some of its reminders and failed. The next cycle of today, over that mix
    of yesterday's plan and the failed one, plans what one clean cycle would have."""
    s = PlanSettings(digest=False, every=Cadence(30), max_per_day=budget, horizon_days=horizon)
    yesterday = TODAY - dt.timedelta(days=1)
    before = _people(lasts, prefix="p", since=yesterday)
    calendar = planner.plan(before, [], today=yesterday - dt.timedelta(days=3), settings=s)
    calendar = planner.plan(before, calendar, today=yesterday, settings=s)
    # Today a few of them were in touch (learnt and written into their cards).
    now = [
        person(c.uid, last=TODAY) if i < len(done) and done[i] else c for i, c in enumerate(before)
    ]
    clean = planner.plan(now, calendar, today=TODAY, settings=s)
    failed = planner.plan(before, calendar, today=TODAY, settings=s)
    mixed = _half_written(calendar, failed, applied)
    again = planner.plan(now, mixed, today=TODAY, settings=s)
    assert {r.uid: r for r in again if r.kind == FOLLOW_UP} == {
        r.uid: r for r in clean if r.kind == FOLLOW_UP
    }


_EDITS = st.sampled_from(["name", "phone", "birthday", "no birthday", "note", "category"])


@settings(max_examples=300, deadline=None)
@given(
    lasts=st.lists(st.one_of(st.none(), st.integers(-200, 0)), min_size=1, max_size=25),
    born=st.lists(st.integers(0, 400), max_size=25),
    edits=st.dictionaries(st.integers(0, 24), _EDITS, min_size=1, max_size=3),
    budget=st.integers(1, 4),
    horizon=st.integers(1, 20),
    digest=st.booleans(),
)
def test_an_edit_that_moves_no_follow_up_is_planned_from_the_edited_contacts_alone(
    lasts: list[int | None],
    born: list[int],
    edits: dict[int, str],
    budget: int,
    horizon: int,
    digest: bool,
) -> None:
    """replan_edited is exact: over a plan of today, the plan after a few edits of what
    places no follow-up (name, phones, dates, note, a category without a cadence) is that
    plan with the edited contacts' reminders swapped, before for after; and it declines only
    when the digests change."""
    s = PlanSettings(digest=digest, every=Cadence(30), max_per_day=budget, horizon_days=horizon)
    first = dt.date(2025, 12, 1)
    contacts = [
        dataclasses.replace(
            c,
            dates=(DateFact(BIRTHDAY, _day_of(first, born[i])),) if i < len(born) else (),
        )
        for i, c in enumerate(_people(lasts, prefix="e", since=TODAY))
    ]
    calendar = planner.plan(contacts, [], today=TODAY - dt.timedelta(days=2), settings=s)
    calendar = planner.plan(contacts, calendar, today=TODAY, settings=s)
    pairs = [
        (contacts[i], _edited(contacts[i], how)) for i, how in edits.items() if i < len(contacts)
    ]
    now = [dict(pairs).get(c, c) for c in contacts]
    full = planner.plan(now, calendar, today=TODAY, settings=s)
    found = planner.replan_edited(pairs, follow_ups(calendar), today=TODAY, settings=s)
    edited = {old.uid for old, _ in pairs}
    if found is None:  # only when a digest changes
        assert {r for r in calendar if r.kind == DIGEST} != {r for r in full if r.kind == DIGEST}
        return
    before, after = found
    assert {r.uid: r for r in before} == {r.uid: r for r in calendar if r.contact_uid in edited}
    rest = {r.uid: r for r in calendar if r.contact_uid not in edited}
    assert {r.uid: r for r in full} == rest | {r.uid: r for r in after}


def _day_of(first: dt.date, offset: int) -> PartialDate:
    day = first + dt.timedelta(days=offset)
    return PartialDate(day.month, day.day, 1980 + offset % 30)


def _edited(contact: Contact, how: str) -> Contact:
    if how == "name":
        return dataclasses.replace(contact, name=contact.name + " Jr.")
    if how == "phone":
        return dataclasses.replace(contact, phones=(*contact.phones, "+31 6 1234 5678"))
    if how == "birthday":
        return dataclasses.replace(contact, dates=(DateFact(BIRTHDAY, PartialDate(12, 1)),))
    if how == "no birthday":
        return dataclasses.replace(contact, dates=())
    if how == "note":
        return dataclasses.replace(contact, note="Met at the fair.")
    return dataclasses.replace(contact, categories=("Customers",))


def test_an_edit_that_moves_a_follow_up_is_not_planned_alone() -> None:
    s = PlanSettings(digest=False, categories=(("Family", Cadence(14)),))
    old = person("m", last=TODAY - dt.timedelta(days=80))
    calendar = planner.plan([old], [], today=TODAY, settings=s)
    for new in (
        person("m", last=TODAY),  # a contact recorded
        person("m", last=old.ledger.last, categories=("Family",)),  # a cadence
        person("m", last=old.ledger.last, pause=TODAY + dt.timedelta(days=9)),
        person("m", last=old.ledger.last, is_org=True),
        person("n", last=old.ledger.last),  # another UID
    ):
        assert (
            planner.replan_edited([(old, new)], follow_ups(calendar), today=TODAY, settings=s)
            is None
        )


def test_a_long_gap_is_replayed_from_at_most_catch_up_days_back() -> None:
    contacts = [person(f"g{i}", last=TODAY - dt.timedelta(days=80 + i)) for i in range(30)]
    s = PlanSettings(digest=False, max_per_day=2)
    first = planner.plan(contacts, [], today=TODAY, settings=s)
    later = TODAY + dt.timedelta(days=365)
    again = planner.plan(contacts, first, today=later, settings=s)
    assert min(r.day for r in again) == later
    assert max(Counter(r.day for r in again).values()) <= 2


def test_birthday_with_age_and_without_year() -> None:
    c = person(
        "b",
        name="Alice Jansen",
        dates=(
            DateFact(BIRTHDAY, PartialDate(12, 3, 1979)),
            DateFact(ANNIVERSARY, PartialDate(1, 15, 2004)),
        ),
    )
    d = person("d", name="Bram", dates=(DateFact(BIRTHDAY, PartialDate(11, 30)),))
    plan = planner.plan([c, d], [], today=TODAY, settings=DEFAULTS)
    by = {(r.contact_uid, r.kind): r for r in plan}
    assert by[("b", BIRTHDAY)].summary == "Alice Jansen turns 47"
    assert by[("b", BIRTHDAY)].day == dt.date(2026, 12, 3)
    assert by[("b", ANNIVERSARY)].summary == "Alice Jansen: 23 years married"
    assert by[("b", ANNIVERSARY)].day == dt.date(2027, 1, 15)
    assert by[("d", BIRTHDAY)].summary == "Bram's birthday"
    assert by[("b", BIRTHDAY)].alarms == planner.OCCASION_ALARMS
    assert all(a < dt.timedelta(0) for a in planner.OCCASION_ALARMS + planner.FOLLOW_UP_ALARMS)


def test_29_february_on_28_february_in_common_years() -> None:
    c = person("leap", dates=(DateFact(BIRTHDAY, PartialDate(2, 29, 1988)),))
    [r] = [r for r in planner.plan([c], [], today=TODAY, settings=DEFAULTS) if r.kind == BIRTHDAY]
    assert r.day == dt.date(2027, 2, 28) and r.summary.endswith("turns 39")
    [r] = [
        r
        for r in planner.plan([c], [], today=dt.date(2027, 12, 1), settings=DEFAULTS)
        if r.kind == BIRTHDAY
    ]
    assert r.day == dt.date(2028, 2, 29)


def test_occasions_from_the_note_one_off_and_yearly_within_365_days() -> None:
    c = person(
        "g",
        name="Gerrit Smit",
        occasions=(
            NoteOccasion(PartialDate(5, 12, 2027), "wedding of daughter Lotte"),
            NoteOccasion(PartialDate(3, 1, 2025), "long past"),
            NoteOccasion(PartialDate(6, 1), "shop anniversary"),
            NoteOccasion(PartialDate(12, 1, 2030), "too far"),
        ),
        gifts=("crystal vase",),
    )
    plan = [r for r in planner.plan([c], [], today=TODAY, settings=DEFAULTS) if r.kind == OCCASION]
    assert sorted((r.day, r.summary) for r in plan) == [
        (dt.date(2027, 5, 12), "Gerrit Smit: wedding of daughter Lotte"),
        (dt.date(2027, 6, 1), "Gerrit Smit: shop anniversary"),
    ]
    assert all("Gift ideas: crystal vase" in r.description for r in plan)


def test_dutch_texts() -> None:
    s = PlanSettings(digest=False, language="nl")
    c = person(
        "nl",
        name="Anna",
        last=dt.date(2026, 8, 1),
        dates=(DateFact(BIRTHDAY, PartialDate(12, 1, 1980)),),
    )
    summaries = {r.kind: r.summary for r in planner.plan([c], [], today=TODAY, settings=s)}
    assert summaries == {FOLLOW_UP: "Neem contact op met Anna", BIRTHDAY: "Anna wordt 46"}


def test_uids_are_deterministic_and_safe() -> None:
    uid = planner.reminder_uid(OCCASION, "weird;uid,with:chars\nand/slash", TODAY, "label")
    assert uid == planner.reminder_uid(OCCASION, "weird;uid,with:chars\nand/slash", TODAY, "label")
    assert all(ch.isalnum() or ch == "-" for ch in uid)
    assert planner.due_of_uid(planner.reminder_uid(FOLLOW_UP, "x", TODAY)) == TODAY


def test_weekly_digest_lists_the_week_and_follows_changes() -> None:
    s = PlanSettings(max_per_day=3)  # digest on by default
    alice = person("a", name="Alice", last=dt.date(2026, 8, 1))
    bram = person("b", name="Bram", last=dt.date(2026, 8, 20))
    chen = person(
        "c", name="Chen", dates=(DateFact(BIRTHDAY, PartialDate(12, 3, 1990)),), never=True
    )
    plan = planner.plan([alice, bram, chen], [], today=TODAY, settings=s)
    digests = {r.day: r for r in plan if r.kind == DIGEST}
    monday = dt.date(2026, 11, 23)
    assert set(digests) == {monday, monday + dt.timedelta(days=7)}
    this_week = digests[monday]
    assert this_week.summary == "This week: call Alice, Bram"
    assert this_week.uid == "netsync-digest-20261123"
    assert all(a < dt.timedelta(0) for a in this_week.alarms)
    assert digests[monday + dt.timedelta(days=7)].summary == ("This week: Chen's birthday Thursday")
    # Alice is called: the digest of this week is rewritten without her.
    called = person("a", name="Alice", last=TODAY)
    again = planner.plan([called, bram, chen], plan, today=TODAY, settings=s)
    [now] = [r for r in again if r.kind == DIGEST and r.day == monday]
    assert now.uid == this_week.uid and now.summary == "This week: call Bram"


def test_digest_in_dutch_and_off() -> None:
    bram = person("b", name="Bram", last=dt.date(2026, 8, 20))
    nl = planner.plan([bram], [], today=TODAY, settings=PlanSettings(language="nl"))
    assert [r.summary for r in nl if r.kind == DIGEST] == ["Deze week: bel Bram"]
    off = planner.plan([bram], [], today=TODAY, settings=PlanSettings(digest=False))
    assert not [r for r in off if r.kind == DIGEST]
