"""Prometheus metrics read from the store: what ``promo metrics`` serves.

The store already holds everything an operator watches: the ledger (posts by state and account),
its append-only event log (every claim, start, outcome, re-send and reconciliation), the workers'
and beats' heartbeats (``promo.store.heartbeats``) and the last dispatch and sweep times. So one
small server reading the store sees the whole engine, with any number of workers, and the hot path
does not change. ``StoreCollector`` is a prometheus-client custom collector:

- each scrape reads the snapshot gauges with a few aggregate queries (posts by state and account,
  the most overdue waiting post, heartbeats, last ticks, blocked and flagged accounts);
- counters and histograms come from the events, read **incrementally**: a cursor on ``events.id``
  and at most ``scrape_events`` new rows a scrape (``promo_events_unread`` says how many wait), so a
  scrape stays cheap on a ledger of a million events. ``catch_up`` reads the history once at start,
  in chunks, so the counters are the ledger's totals (a restart of the server does not reset them).

An id the cursor has not seen yet may belong to a transaction still open (PostgreSQL hands out ids
before commit), so a gap in the ids is waited for up to ``gap_wait`` seconds before it is taken as
a rolled-back insert; a gap before events older than ``HISTORY_S`` is skipped at once.

Publish latency is from a ``publishing`` event to the next event of the same attempt that leaves
``publishing`` (published, failed, unknown, or back to scheduled); lateness is the ``published``
event's time minus the post's ``scheduled_at`` (a person's ``promo resolve`` is left out; an early
post counts as 0). docs/monitoring.md lists every metric.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client import generate_latest, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import Engine, func, select

from promo.store import states
from promo.store.heartbeats import KINDS, alive
from promo.store.meta import LAST_DISPATCH, LAST_SWEEP
from promo.store.tables import AccountState, Event, Meta, PostRow, Process
from promo.times import utcnow

INF = float("inf")
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, INF)
LATENESS_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0, INF)
SCRAPE_EVENTS = 20_000   # most events one scrape reads; the rest wait for the next
CHUNK = 5_000            # events per query
GAP_WAIT_S = 10.0        # how long an unseen id is waited for before it counts as rolled back
HISTORY_S = 300.0        # a gap before events this old is skipped at once
OPEN_STARTS = 100_000    # publishes started and not yet finished, remembered for their latency
WAITING = (states.SCHEDULED, states.QUEUED)
COUNTERS = {  # name: (help, labels)
    "promo_dispatches": ("Posts claimed by a dispatcher (scheduled -> queued).", ("platform",)),
    "promo_resends": ("Queued posts dispatched again: cause lease-expired (the sweeper) or broker-lost.",
                      ("platform", "cause")),
    "promo_unknowns": ("Publishes whose outcome is unknown: cause no-answer (sent, no answer) or time-limit.",
                       ("platform", "cause")),
    "promo_reconciliations": ("Unknown posts looked up: result published, sent-again or cannot-tell.",
                              ("platform", "result")),
    "promo_rate_limit_waits": ("429 answers: the post waits for the platform's reset.", ("platform",)),
}
_RESEND = {"lease-expired": "lease-expired", "broker-lost": "broker-lost"}
_UNKNOWN = {"unknown": "no-answer", "timed-out": "time-limit"}
_RESULT = {states.PUBLISHED: "published", states.SCHEDULED: "sent-again"}


@dataclass
class Histogram:
    """Cumulative-ready bucket counts, a sum and a count."""

    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0

    def observe(self, value: float) -> None:
        if not self.counts:
            self.counts = [0] * len(self.bounds)
        self.counts[next(i for i, bound in enumerate(self.bounds) if value <= bound)] += 1
        self.total += value

    def buckets(self) -> list[tuple[str, float]]:
        running, shown = 0, []
        for bound, count in zip(self.bounds, self.counts or [0] * len(self.bounds), strict=True):
            running += count
            shown.append(("+Inf" if bound == INF else repr(bound), float(running)))
        return shown


@dataclass
class EventTally:
    """What the event log says, accumulated one event at a time (in id order)."""

    counters: dict[str, dict[tuple[str, ...], float]] = field(default_factory=lambda: defaultdict(dict))
    latency: dict[tuple[str, str], Histogram] = field(default_factory=dict)
    lateness: dict[tuple[str], Histogram] = field(default_factory=dict)
    starts: OrderedDict[str, datetime] = field(default_factory=OrderedDict)

    def count(self, name: str, *labels: str) -> None:
        series = self.counters[name]
        series[labels] = series.get(labels, 0.0) + 1

    def add(self, row: Any) -> None:
        """One ``events`` row joined with its post's ``platform`` and ``scheduled_at``."""
        action, before, after, platform = row.action, row.from_status, row.to_status, row.platform or "none"
        if action == "claimed":
            self.count("promo_dispatches", platform)
        elif action in _RESEND:
            self.count("promo_resends", platform, _RESEND[action])
        elif action == "rate-limited":
            self.count("promo_rate_limit_waits", platform)
        elif action == "reconciled":
            self.count("promo_reconciliations", platform, _RESULT.get(after, after or ""))
        elif action == "lookup-failed":
            self.count("promo_reconciliations", platform, "cannot-tell")
        if after == states.UNKNOWN and before != states.UNKNOWN:
            self.count("promo_unknowns", platform, _UNKNOWN.get(action, action))
        self._timing(row, platform)

    def _timing(self, row: Any, platform: str) -> None:
        if row.to_status == states.PUBLISHING and row.attempt_id:
            self.starts[row.attempt_id] = row.at
            if len(self.starts) > OPEN_STARTS:
                self.starts.popitem(last=False)
        elif row.from_status == states.PUBLISHING and row.attempt_id in self.starts:
            began = self.starts.pop(row.attempt_id)
            key = (platform, row.to_status or "")
            self.latency.setdefault(key, Histogram(LATENCY_BUCKETS)).observe((row.at - began).total_seconds())
        if row.to_status == states.PUBLISHED and row.action != "resolved" and row.scheduled_at is not None:
            late = max(0.0, (row.at - row.scheduled_at).total_seconds())
            self.lateness.setdefault((platform,), Histogram(LATENESS_BUCKETS)).observe(late)


@dataclass
class Snapshot:
    """What one scrape reads besides the events."""

    posts: list[tuple[str, str, int]]
    oldest_due: datetime | None
    processes: list[Any]
    ticks: dict[str, str]
    blocked: int
    flagged: int
    last_event: int


class StoreCollector(Collector):
    """The engine's metrics from one store; safe to scrape from several threads at once."""

    def __init__(self, engine: Engine, *, scrape_events: int = SCRAPE_EVENTS, gap_wait: float = GAP_WAIT_S,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.scrape_events = scrape_events
        self.gap_wait = gap_wait
        self.clock = clock
        self.tally = EventTally()
        self.cursor = 0          # the highest event id read (or skipped as rolled back)
        self.read = 0            # events read since start
        self._gap: tuple[int, float] | None = None
        self._lock = threading.Lock()

    def catch_up(self) -> int:
        """Read every event written so far (in chunks); the number read."""
        with self._lock:
            before = self.read
            while self._read_events(CHUNK) == CHUNK:
                continue
            return self.read - before

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            try:
                self._read_events(self.scrape_events)
                snapshot = self._snapshot()
            except Exception as exc:  # the store being down is a finding, not a failed scrape
                yield _gauge("promo_up", "1 if the store could be read, else 0.", 0.0)
                yield _info_error(exc)
                return
            yield _gauge("promo_up", "1 if the store could be read, else 0.", 1.0)
            yield from self._snapshot_families(snapshot)
            yield from self._event_families(snapshot)

    def _read_events(self, most: int) -> int:
        """Read up to ``most`` events past the cursor, a chunk per query; how many were read."""
        done = 0
        while done < most:
            want = min(CHUNK, most - done)
            rows = self._event_rows(want)
            taken = self._take(rows)
            done += taken
            if len(rows) < want or taken < len(rows):
                break  # the end of the log, or a gap that may still fill
        return done

    def _event_rows(self, limit: int) -> list[Any]:
        query = (select(Event.id, Event.at, Event.action, Event.from_status, Event.to_status, Event.attempt_id,
                        PostRow.platform, PostRow.scheduled_at)
                 .select_from(Event).outerjoin(PostRow, PostRow.id == Event.post_id)
                 .where(Event.id > self.cursor).order_by(Event.id).limit(limit))
        with self.engine.connect() as connection:
            return list(connection.execute(query).all())

    def _take(self, rows: list[Any]) -> int:
        """Tally rows in id order, stopping at a gap that may still fill; how many were taken."""
        taken = 0
        for row in rows:
            if row.id != self.cursor + 1 and not self._gap_closed(row):
                break
            self.tally.add(row)
            self.cursor, self.read, taken = row.id, self.read + 1, taken + 1
        return taken

    def _gap_closed(self, after: Any) -> bool:
        """Whether the ids between the cursor and ``after`` are gone for good (rolled back)."""
        if (self.clock() - after.at).total_seconds() > HISTORY_S:
            return True
        if self._gap is None or self._gap[0] != self.cursor:
            self._gap = (self.cursor, time.monotonic())
        return time.monotonic() - self._gap[1] >= self.gap_wait

    def _snapshot(self) -> Snapshot:
        now = self.clock()
        with self.engine.connect() as connection:
            posts = connection.execute(select(PostRow.account, PostRow.status, func.count())
                                       .group_by(PostRow.account, PostRow.status)).all()
            oldest = connection.scalar(select(func.min(PostRow.due_at)).where(PostRow.status.in_(WAITING)))
            processes = list(connection.execute(select(Process)).all())
            ticks = dict(connection.execute(select(Meta.key, Meta.value)
                                            .where(Meta.key.in_((LAST_DISPATCH, LAST_SWEEP)))).tuples().all())
            blocked = connection.scalar(select(func.count()).select_from(AccountState)
                                        .where(AccountState.blocked_until > now))
            flagged = connection.scalar(select(func.count()).select_from(AccountState)
                                        .where(AccountState.flagged_reason.is_not(None)))
            last_event = connection.scalar(select(func.max(Event.id)))
        return Snapshot([(a, s, int(n)) for a, s, n in posts], oldest, processes, ticks, int(blocked or 0),
                        int(flagged or 0), int(last_event or 0))

    def _snapshot_families(self, snapshot: Snapshot) -> Iterator[Metric]:
        now = self.clock()
        posts = GaugeMetricFamily("promo_posts", "Posts in the ledger, by state and account.",
                                  labels=["state", "account"])
        accounts = sorted({account for account, _, _ in snapshot.posts})
        found = {(account, status): count for account, status, count in snapshot.posts}
        for account in accounts:
            for state in states.ALL:
                posts.add_metric([state, account], float(found.get((account, state), 0)))
        yield posts
        overdue = max(0.0, (now - snapshot.oldest_due).total_seconds()) if snapshot.oldest_due else 0.0
        yield _gauge("promo_overdue_seconds", "How far past its due time the most overdue scheduled or queued "
                     "post is (0 if none is due).", overdue)
        yield from _process_families(snapshot.processes, now)
        ticks = GaugeMetricFamily("promo_last_tick_age_seconds", "Seconds since the last dispatcher run "
                                  "(tick=dispatch) and sweeper run (tick=sweep); absent if never.", labels=["tick"])
        for tick, key in (("dispatch", LAST_DISPATCH), ("sweep", LAST_SWEEP)):
            if snapshot.ticks.get(key):
                ticks.add_metric([tick], max(0.0, (now - datetime.fromisoformat(snapshot.ticks[key])).total_seconds()))
        yield ticks
        yield _gauge("promo_accounts_blocked", "Accounts waiting for a 429's reset now.", snapshot.blocked)
        yield _gauge("promo_accounts_flagged", "Accounts whose credentials were refused (a person re-authorises).",
                     snapshot.flagged)

    def _event_families(self, snapshot: Snapshot) -> Iterator[Metric]:
        for name, (doc, labels) in COUNTERS.items():
            family = CounterMetricFamily(name, doc, labels=list(labels))
            for values, count in sorted(self.tally.counters.get(name, {}).items()):
                family.add_metric(list(values), count)
            yield family
        latency = HistogramMetricFamily("promo_publish_latency_seconds", "From a publish's start (publishing) to "
                                        "its outcome, by platform and outcome state.", labels=["platform", "outcome"])
        for pair, histogram in sorted(self.tally.latency.items()):
            latency.add_metric(list(pair), histogram.buckets(), histogram.total)
        yield latency
        lateness = HistogramMetricFamily("promo_lateness_seconds", "Published time minus scheduled time, by "
                                         "platform (early counts as 0).", labels=["platform"])
        for platform, histogram in sorted(self.tally.lateness.items()):
            lateness.add_metric(list(platform), histogram.buckets(), histogram.total)
        yield lateness
        yield CounterMetricFamily("promo_events_read", "Ledger events read by this server.", value=self.read)
        yield _gauge("promo_events_unread", "Ledger events not read yet (the next scrapes read them).",
                     max(0, snapshot.last_event - self.cursor))


def _process_families(rows: list[Any], now: datetime) -> Iterator[Metric]:
    live = [row for row in rows if alive(row.last_seen, row.interval_s, now)]
    count = GaugeMetricFamily("promo_processes_alive", "Workers and beats alive (a heartbeat within three "
                              "of its intervals).", labels=["kind"])
    age = GaugeMetricFamily("promo_heartbeat_age_seconds", "Seconds since the freshest heartbeat of each kind "
                            "of process; absent if none ever beat.", labels=["kind"])
    for kind in KINDS:
        count.add_metric([kind], float(sum(row.kind == kind for row in live)))
        seen = [row.last_seen for row in rows if row.kind == kind]
        if seen:
            age.add_metric([kind], max(0.0, (now - max(seen)).total_seconds()))
    yield count
    yield age
    yield _gauge("promo_worker_processes_alive", "Pool processes of the live workers (their concurrency).",
                 float(sum(row.concurrency or 0 for row in live if row.kind == "worker")))


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=float(value))


def _info_error(exc: Exception) -> GaugeMetricFamily:
    family = GaugeMetricFamily("promo_store_error", "The store could not be read: the error's type.",
                               labels=["error"])
    family.add_metric([type(exc).__name__], 1.0)
    return family


def registry_for(collector: StoreCollector) -> CollectorRegistry:
    """A registry holding only ``collector`` (no process or platform metrics of this server)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


def exposition(collector: StoreCollector) -> str:
    """One scrape, as Prometheus text."""
    return generate_latest(registry_for(collector)).decode()


def samples(collector: StoreCollector) -> list[dict[str, Any]]:
    """One scrape, as ``{"name", "labels", "value"}`` records (``promo metrics --json``)."""
    return [{"name": sample.name, "labels": dict(sample.labels), "value": sample.value}
            for family in registry_for(collector).collect() for sample in family.samples]


def serve(collector: StoreCollector, host: str, port: int) -> tuple[Any, threading.Thread]:
    """Serve ``/metrics`` on ``host:port`` from a daemon thread; ``(server, thread)``. OSError if the
    address cannot be bound. ``server.shutdown()`` stops it."""
    return start_http_server(port, addr=host, registry=registry_for(collector))
