"""Random arguments for the person-facing commands: the answer is success or one clear error (exit 0,
1 or 2), never an internal error (70) or a traceback, and a refused command leaves the store as it was."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli.conftest import Promo, dump

SETTINGS = settings(max_examples=50, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

NASTY = ["", " ", "0", "-1", "1", "2", str(2**63 - 1), str(2**63), str(10**40), "1e9", "nan", "\x00", "\udcff",
         "ünïcødé", "🎬" * 50, "x" * 100_000, "--", "-h", "jessica-jones-s3", "jj-x", "../promo.toml"]
TIMES = ["now", "now+1h", "+15m", "-15m", "now-1h", "9999-12-31", "9999-12-31T23:59:59+14:00", "0001-01-01",
         "+3000000d", "now+99999999h", "now+99999 weeks", "2027-03-14 02:30", "2027-11-07 01:30",
         "2027-06-14T00:01:00-07:00", "2027-13-01", "2027-06-31", "now+1.5h", "now++1h", "1e10", ""]

ids = st.one_of(st.integers(-(2**70), 2**70).map(str), st.sampled_from(NASTY), st.text(max_size=30))
words = st.one_of(st.sampled_from(NASTY), st.text(max_size=300))
times = st.one_of(st.sampled_from(TIMES), st.text(max_size=40),
                  st.integers(-(10**12), 10**12).map(lambda n: f"now+{n}h"),
                  st.integers(0, 10**9).map(lambda n: f"+{n}d"),
                  st.datetimes().map(lambda d: d.isoformat(sep=" ")))


@pytest.fixture
def store_url(sqlite_url: str) -> str:
    return sqlite_url


def clear_or_done(promo: Promo, store_url: str, *args: str) -> None:
    before = dump(store_url)
    ran = promo(*args)
    assert ran.code in (0, 1, 2), (args, ran.code, ran.err)
    assert "Traceback" not in ran.out + ran.err and "internal error" not in ran.err, (args, ran.err)
    if ran.code != 0:
        assert ran.err.count("\n") >= 1 and ran.err.strip(), (args, ran.err)
        assert dump(store_url) == before, args


def test_random_post_ids(applied: Promo, store_url: str) -> None:
    @SETTINGS
    @given(command=st.sampled_from(["show", "cancel", "retry", "resolve", "reschedule"]), post_id=ids,
           extra=st.sampled_from([(), ("--json",), ("--not-published",), ("--at", "now+1h")]))
    def check(command: str, post_id: str, extra: tuple[str, ...]) -> None:
        clear_or_done(applied, store_url, command, "--", post_id, *extra) if post_id.startswith("-") else \
            clear_or_done(applied, store_url, command, post_id, *extra)

    check()


def test_random_times(applied: Promo, store_url: str) -> None:
    @SETTINGS
    @given(at=times, past=st.booleans(), adhoc=st.booleans())
    def check(at: str, past: bool, adhoc: bool) -> None:
        flags = ("--allow-past",) if past else ()
        if adhoc:
            clear_or_done(applied, store_url, "post", "-a", "jj-mastodon", f"--at={at}", *flags, "hello")
        else:
            clear_or_done(applied, store_url, "reschedule", "3", f"--at={at}", *flags)

    check()


def test_random_names(applied: Promo, store_url: str) -> None:
    @SETTINGS
    @given(command=st.sampled_from(["pause", "resume", "queue", "post"]), option=st.sampled_from(
        ["--campaign", "--account"]), name=words, limit=ids)
    def check(command: str, option: str, name: str, limit: str) -> None:
        if command == "post":
            clear_or_done(applied, store_url, "post", f"--account={name}", "hello")
        elif command == "queue":
            clear_or_done(applied, store_url, "queue", f"{option}={name}", f"--limit={limit}", "--all")
        else:
            clear_or_done(applied, store_url, command, f"{option}={name}", "--reason=x")

    check()


def test_random_post_text(applied: Promo, store_url: str) -> None:
    @SETTINGS
    @given(text=words, account=st.sampled_from(["jj-x", "jj-mastodon", "jj-bluesky", "jj-outbox", "jj-threads"]))
    def check(text: str, account: str) -> None:
        clear_or_done(applied, store_url, "post", "-a", account, "--", text)

    check()
