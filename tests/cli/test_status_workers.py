"""``promo status`` and the workers and beats: exit 3 when posts wait and no worker (or no beat) is
alive, with the next step; none alive is no error when nothing waits. On SQLite (the fast read path)
and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from promo.store.db import make_engine
from promo.store.heartbeats import BEAT, WORKER, Identity, beat
from promo.times import utcnow
from tests.cli.conftest import Promo


def _beat(url: str, me: Identity, interval: float, ago: float = 0.0) -> None:
    engine = make_engine(url)
    try:
        beat(engine, me, interval, now=utcnow() - timedelta(seconds=ago))
    finally:
        engine.dispose()


def test_posts_waiting_and_no_worker_is_exit_3_naming_the_next_step(applied: Promo, store_url: str) -> None:
    shown = applied("status")
    assert shown.code == 3, (shown.out, shown.err)
    assert "workers   0 alive while " in shown.out and "start one: promo worker (or promo run" in shown.out
    assert "beats     0 alive while " in shown.out and "start one: promo beat (or promo run" in shown.out
    report = applied("status", "--json").json
    assert report["no_worker"] is True and report["workers_alive"] == 0 and report["waiting"] > 0
    assert report["next_step"] == ("start one: promo worker (or promo run, on one machine); "
                                   "start one: promo beat (or promo run, on one machine)")


def test_a_worker_without_a_beat_is_exit_3_too(applied: Promo, store_url: str) -> None:
    _beat(store_url, Identity(WORKER, "host-w", 41, "promo-41@host-w", 4, "1.0"), 60.0)
    shown = applied("status")
    assert shown.code == 3 and "start one: promo worker" not in shown.out and "start one: promo beat" in shown.out
    report = applied("status", "--json").json
    assert (report["no_worker"], report["no_beat"]) == (False, True)


def test_a_killed_worker_is_shown_lost_and_does_not_count(applied: Promo, store_url: str) -> None:
    _beat(store_url, Identity(WORKER, "host-k", 66, "promo-66@host-k", 3, "1.0"), 1.0, ago=3.5)
    shown = applied("status")
    assert shown.code == 3 and "lost: worker promo-66@host-k (pid 66), last seen" in shown.out
    workers = applied("status", "--json").json["workers"]
    assert [(row["pid"], row["alive"], row["concurrency"]) for row in workers] == [(66, False, 3)]


def test_a_live_worker_and_beat_are_shown_and_status_is_clean(applied: Promo, store_url: str) -> None:
    _beat(store_url, Identity(WORKER, "host-w", 41, "promo-41@host-w", 4, "1.0"), 60.0)
    _beat(store_url, Identity(BEAT, "host-b", 42, "", None, "1.0"), 60.0)
    shown = applied("status")
    assert shown.code == 0, shown.out
    assert "workers   1 alive: promo-41@host-w (pid 41, 4 processes, seen " in shown.out
    assert "beats     1 alive: host-b (pid 42, seen " in shown.out
    report = applied("status", "--json").json
    assert (report["workers_alive"], report["beats_alive"], report["no_worker"]) == (1, 1, False)


def test_no_worker_with_nothing_waiting_is_not_an_error(promo: Promo) -> None:
    assert promo("migrate").code == 0
    shown = promo("status")
    assert shown.code == 0, shown.out
    assert "workers   0 alive\nbeats     0 alive\n" in shown.out and "start one" not in shown.out


def test_ping_needs_a_redis_broker(applied: Promo, store_url: str) -> None:
    ran = applied("status", "--ping")
    assert ran.code == 2 and "--ping needs a Redis broker" in ran.err and ran.err.count("\n") == 1
