from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promo.times import as_aware, iso, localize, parse_duration, parse_moment, zone

LA = zone("America/Los_Angeles")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3d", timedelta(days=3)),
        ("-3 days", timedelta(days=-3)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("90s", timedelta(seconds=90)),
        ("2w", timedelta(weeks=2)),
        ("+15 minutes", timedelta(minutes=15)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "3 fortnights", "d3", "1.2.3h"])
def test_bad_durations_say_what_was_wrong(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_unknown_zone_is_named() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        zone("Mars/Olympus")


def test_naive_time_is_read_in_the_zone() -> None:
    assert iso(as_aware("2019-06-14 00:01", LA)) == "2019-06-14T00:01:00-07:00"


def test_aware_input_keeps_its_offset() -> None:
    assert as_aware("2019-06-14T07:01:00Z", LA) == datetime(2019, 6, 14, 7, 1, tzinfo=UTC)


def test_spring_forward_gap_is_an_error() -> None:
    with pytest.raises(ValueError, match="does not exist"):
        localize(datetime(2024, 3, 10, 2, 30), LA)


def test_fall_back_ambiguity_takes_the_first_occurrence() -> None:
    first = localize(datetime(2024, 11, 3, 1, 30), LA)
    assert first.utcoffset() == timedelta(hours=-7)


@pytest.mark.parametrize("day", ["2024-03-10", "2024-11-03"])
def test_nine_am_on_dst_days_is_nine_am_local(day: str) -> None:
    moment = as_aware(f"{day} 09:00", LA)
    assert moment.astimezone(LA).hour == 9


def test_relative_moments() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_moment("now", LA, now) == now
    assert parse_moment("now+2h", LA, now) == now + timedelta(hours=2)
    assert parse_moment("+15m", LA, now) == now + timedelta(minutes=15)


def test_unparseable_moment() -> None:
    with pytest.raises(ValueError, match="cannot read"):
        parse_moment("next tuesday-ish", LA)


def test_iso_refuses_naive() -> None:
    with pytest.raises(ValueError):
        iso(datetime(2019, 6, 14))


@given(st.integers(min_value=0, max_value=10_000), st.sampled_from(["d", "h", "m", "s"]))
def test_duration_round_trip(amount: int, unit: str) -> None:
    seconds = {"d": 86400, "h": 3600, "m": 60, "s": 1}[unit] * amount
    assert parse_duration(f"{amount}{unit}").total_seconds() == seconds
    assert parse_duration(f"-{amount}{unit}").total_seconds() == -seconds
