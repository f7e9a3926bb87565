"""Time-slot queues: slots parsed from promo.toml, the next free slot (pure, and against a real ledger), DST,
and two writers racing for one slot on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from promo.accounts import Account, Slots, load_accounts
from promo.campaigns.slots import minute, next_free, slot_times
from promo.errors import ConfigError
from promo.manage.posts import cancel, create_adhoc
from promo.manage.slots import MARGIN, post_in_next_slot, slot_table
from promo.store.db import make_engine
from promo.store.migrate import upgrade
from promo.times import zone

LA = zone("America/Los_Angeles")
WEEKDAY_SLOTS = Slots((time(9), time(12, 30), time(18)))
OUTBOX = Account("jj-outbox", "outbox", options={"path": "outbox.jsonl"}, slots=WEEKDAY_SLOTS)
MONDAY_8AM = datetime(2027, 6, 14, 8, 0, tzinfo=LA)  # a Monday


def _accounts(tmp_path: Path, lines: str) -> dict[str, Account]:
    (tmp_path / "promo.toml").write_text(f'[accounts.jj-outbox]\nplatform = "outbox"\n{lines}\n', encoding="utf-8")
    return load_accounts(tmp_path / "promo.toml", environ={})


def test_slots_are_read_sorted_with_weekdays_by_default(tmp_path: Path) -> None:
    account = _accounts(tmp_path, 'slots = ["18:00", "09:00", "12:30"]')["jj-outbox"]
    assert account.slots == Slots((time(9), time(12, 30), time(18)), frozenset({0, 1, 2, 3, 4}))
    weekend = _accounts(tmp_path, 'slots = ["10:00"]\nslot_days = ["sat", "Sun"]')["jj-outbox"]
    assert weekend.slots is not None and weekend.slots.days == frozenset({5, 6})
    assert _accounts(tmp_path, "")["jj-outbox"].slots is None


@pytest.mark.parametrize(("lines", "fragment"), [
    ('slots = ["25:00"]', "slots: '25:00' is not a time of day (HH:MM, 00:00 to 23:59)"),
    ('slots = ["9am"]', "slots: '9am' is not a time of day"),
    ('slots = ["09:00", "9:00"]', "slots: 09:00 given more than once"),
    ("slots = []", "slots should be a non-empty list of texts"),
    ('slots = "09:00"', "slots should be a non-empty list of texts"),
    ('slots = ["09:00"]\nslot_days = ["mon", "fry"]', "slot_days: unknown day 'fry' (use mon, tue,"),
    ('slots = ["09:00"]\nslot_days = ["mon", "mon"]', "slot_days: mon given more than once"),
    ('slots = ["09:00"]\nslot_days = []', "slot_days should be a non-empty list"),
    ('slot_days = ["mon"]', "slot_days needs slots"),
])
def test_bad_slots_give_one_line_naming_file_and_account(tmp_path: Path, lines: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _accounts(tmp_path, lines)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'promo.toml'}: [accounts.jj-outbox]: ") and "\n" not in message
    assert fragment in message


def test_next_free_skips_taken_slots_and_weekends() -> None:
    assert next_free(WEEKDAY_SLOTS, LA, MONDAY_8AM, set()) == datetime(2027, 6, 14, 9, 0, tzinfo=LA)
    taken = {minute(datetime(2027, 6, 14, 9, 0, tzinfo=LA)), minute(datetime(2027, 6, 14, 12, 30, tzinfo=LA))}
    assert next_free(WEEKDAY_SLOTS, LA, MONDAY_8AM, taken) == datetime(2027, 6, 14, 18, 0, tzinfo=LA)
    friday_evening = datetime(2027, 6, 18, 18, 0, tzinfo=LA)  # exactly at a slot: strictly after it
    assert next_free(WEEKDAY_SLOTS, LA, friday_evening, set()) == datetime(2027, 6, 21, 9, 0, tzinfo=LA)
    one = Slots((time(9),), frozenset({0}))
    all_taken = {minute(t) for t in slot_times(one, LA, MONDAY_8AM, MONDAY_8AM + timedelta(days=400))}
    assert next_free(one, LA, MONDAY_8AM, all_taken) is None


@settings(max_examples=200, deadline=None)
@given(times=st.lists(st.times().map(lambda t: t.replace(second=0, microsecond=0)), min_size=1, max_size=5,
                      unique=True),
       days=st.frozensets(st.integers(0, 6), min_size=1),
       after=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)),
       taken_count=st.integers(0, 12),
       tz=st.sampled_from(["America/Los_Angeles", "Europe/London", "Australia/Lord_Howe", "UTC"]))
def test_next_free_is_a_declared_future_untaken_slot(times: list[time], days: frozenset[int], after: datetime,
                                                     taken_count: int, tz: str) -> None:
    slots, local = Slots(tuple(sorted(times)), days), zone(tz)
    upcoming = list(slot_times(slots, local, after, after + timedelta(days=14)))
    taken = {minute(t) for t in upcoming[:taken_count]}
    found = next_free(slots, local, after, taken)
    assert found is not None and found > after and minute(found) not in taken
    wall = found.astimezone(local)
    assert wall.time().replace(tzinfo=None) in slots.times and wall.weekday() in slots.days
    assert found == min(t for t in [*upcoming, found] if minute(t) not in taken)  # the earliest such


def test_slots_keep_wall_clock_time_across_dst_and_skip_the_gap() -> None:
    slots = Slots((time(2, 30), time(9)), frozenset(range(7)))
    sat = datetime(2027, 3, 13, 12, 0, tzinfo=LA)  # the clocks spring forward on Sunday 2027-03-14 at 02:00
    found = list(slot_times(slots, LA, sat, sat + timedelta(days=2)))
    walls = [f"{t.astimezone(LA):%a %H:%M %z}" for t in found]
    assert walls == ["Sun 09:00 -0700", "Mon 02:30 -0700", "Mon 09:00 -0700"]  # no Sunday 02:30: skipped
    saturday_nine = datetime(2027, 3, 13, 17, 0, tzinfo=UTC)
    assert found[0].astimezone(UTC) - saturday_nine == timedelta(hours=23)  # a short day, 09:00 kept
    fall = list(slot_times(Slots((time(1, 30),), frozenset(range(7))), LA, datetime(2027, 11, 7, 0, 0, tzinfo=LA),
                           datetime(2027, 11, 7, 23, 0, tzinfo=LA)))
    assert [t.utcoffset() for t in fall] == [timedelta(hours=-7)]  # the repeated 01:30: its first occurrence, once


def test_post_in_next_slot_takes_free_slots_in_order(engine: Engine) -> None:
    now = MONDAY_8AM.astimezone(UTC)
    taken = create_adhoc(engine, OUTBOX, "already at 09:00", datetime(2027, 6, 14, 9, 0, 30, tzinfo=LA))
    first = post_in_next_slot(engine, OUTBOX, "one", LA, now=now)
    second = post_in_next_slot(engine, OUTBOX, "two", LA, now=now)
    assert first.scheduled_at == datetime(2027, 6, 14, 12, 30, tzinfo=LA)
    assert second.scheduled_at == datetime(2027, 6, 14, 18, 0, tzinfo=LA)
    cancel(engine, taken.id)  # a cancelled post frees its slot
    assert post_in_next_slot(engine, OUTBOX, "three", LA, now=now).scheduled_at == datetime(2027, 6, 14, 9, 0,
                                                                                            tzinfo=LA)
    late = datetime(2027, 6, 14, 8, 59, 30, tzinfo=LA)  # less than the margin before 09:00: not that one
    assert timedelta(minutes=1) <= MARGIN
    assert post_in_next_slot(engine, OUTBOX, "four", LA, now=late).scheduled_at == datetime(2027, 6, 15, 9, 0,
                                                                                             tzinfo=LA)
    table = slot_table(engine, [(OUTBOX, LA)], days=1, now=now)
    assert [(v.at.astimezone(LA).strftime("%H:%M"), v.post_id is not None) for v in table] == [
        ("09:00", True), ("12:30", True), ("18:00", True)]


def test_post_in_next_slot_needs_slots(engine: Engine) -> None:
    bare = Account("jj-outbox", "outbox", options={"path": "outbox.jsonl"})
    with pytest.raises(ConfigError, match=r"declares no slots \(add slots = "):
        post_in_next_slot(engine, bare, "hello", LA)


@pytest.mark.postgres
def test_racing_writers_never_share_a_slot(postgres_url: str) -> None:
    engines = [make_engine(postgres_url) for _ in range(4)]
    upgrade(engines[0])
    barrier, results, errors = threading.Barrier(len(engines)), [], []

    def take(engine: Engine, number: int) -> None:
        try:
            barrier.wait()
            results.append(post_in_next_slot(engine, OUTBOX, f"racer {number}", LA,
                                             now=MONDAY_8AM.astimezone(UTC)).scheduled_at)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=take, args=(e, n)) for n, e in enumerate(engines)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for engine in engines:
        engine.dispose()
    assert not errors
    assert sorted(results) == [datetime(2027, 6, 14, 9, 0, tzinfo=LA), datetime(2027, 6, 14, 12, 30, tzinfo=LA),
                               datetime(2027, 6, 14, 18, 0, tzinfo=LA), datetime(2027, 6, 15, 9, 0, tzinfo=LA)]
