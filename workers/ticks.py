"""The beat's own work: promo's periodic ticks, run on the beat's threads, never on the worker pool.

A tick is a library call the beat makes itself (``workers/beat.py``): the dispatcher (which first
takes back the claims of a lost broker, or of a worker or beat whose heartbeat went stale), the
sweeper, the reconciler, its first look at posts a dead pool process left ``unknown`` (every
``dispatch_interval``), the token refresh, the recurrence horizon's extension, the lifecycle
notifications, and media staged on the media host ahead of its post. Publishes fill the workers' pool; a tick sent as a
message would wait behind them (issue 12: ten due posts unclaimed for over a minute on a starved
machine). Run by the beat, a dispatcher tick claims and sends on time however busy the workers are.

To add one, write ``def name(beat: Beat) -> None`` and add ``Tick("name", every, stuck_after, name)``
to ``TICKS``: the schedule (``workers.app.beat_schedule``) and the beat's scheduler read this list.
Each tick runs one at a time per kind; one still running when its next turn comes is skipped.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import Celery

from promo.engine import reconcile as reconciler
from promo.engine.dispatch import dispatch as dispatch_due
from promo.engine.runtime import Runtime
from promo.engine.staging import stage_due_media
from promo.engine.sweeper import lost_processes, requeue_after_broker_loss, requeue_after_process_loss
from promo.engine.sweeper import sweep as sweep_ledger
from promo.errors import ConfigError
from promo.manage.connections import refresh_due
from promo.manage.notify import DELIVERY_BATCH, MAX_TIMEOUT_S, TICK_BUDGET_S, notify_tick
from promo.planning.recurrence import extend_recurrences
from promo.settings import Settings
from promo.store.db import SQLITE_BUSY_TIMEOUT_MS, transaction
from promo.times import utcnow
from workers.epoch import broker_epoch
from workers.tasks import runtime, send

log = logging.getLogger("promo.beat")
events = logging.getLogger("promo.events")  # what ``promo run`` prints per post (promo/cli/events.py)
# A dispatch or sweep is a few statements, but a SQLite writer may wait the store's whole busy
# timeout for the lock: a tick running for twice that is reported as stuck.
LEDGER_TICK_STUCK_S = 2 * SQLITE_BUSY_TIMEOUT_MS / 1000
# Accounts whose token requests a refresh tick may make before it counts as stuck.
REFRESH_ACCOUNTS_BOUND = 20
# Look-ups per first-look tick: it runs every dispatch_interval, beside (never inside) the dispatcher.
FIRST_LOOK_BATCH = 10
# Seconds between the recurrence tick's runs: an hour is early enough for a horizon counted in days.
RECURRENCE_INTERVAL_S = 3600.0
# Files a staging tick may upload at a publish's own time limit before it counts as stuck.
STAGE_FILES_BOUND = 10


@dataclass(frozen=True)
class Beat:
    """What a tick gets: the Celery app (the broker, for sends) and the beat's stop signal."""

    app: Celery
    stopping: threading.Event

    @property
    def settings(self) -> Settings:
        settings: Settings = self.app.conf.promo_settings
        return settings

    def runtime(self) -> Runtime:
        return runtime(self.settings)


@dataclass(frozen=True)
class Tick:
    """One kind of periodic work: its name, how often, when a run counts as stuck, and the call."""

    name: str
    every: Callable[[Settings], float]
    stuck_after: Callable[[Settings], float]
    run: Callable[[Beat], None]

    @property
    def task(self) -> str:
        """The name in the beat's schedule (never a Celery task: no worker runs it)."""
        return f"promo.tick.{self.name}"


def dispatch(beat: Beat) -> None:
    """Claim due posts and send them; a full batch means more are due: claim again at once.

    First, on a Redis broker, the broker epoch: a new one means Redis lost its messages, and every
    queued post goes back to ``scheduled`` to be claimed again in this same tick. A broker that does
    not answer stops the tick before anything is claimed. Then the heartbeats: a worker or beat gone
    without a clean stop has its overdue claims taken back, to be claimed again in this tick too.
    """
    rt = beat.runtime()
    _requeue_if_broker_lost(rt)
    _requeue_if_process_lost(rt)
    while True:
        claims = dispatch_due(rt.db, rt.settings, rt.accounts)
        if claims:
            events.info("queued %s posts: %s", len(claims), ", ".join(str(c.post_id) for c in claims[:20]),
                        extra={"queued": [(c.post_id, c.due_at) for c in claims]})
        send(beat.app, claims)
        if len(claims) < rt.settings.dispatch_batch or beat.stopping.is_set():
            return


_seen_epoch: list[str] = []  # the epoch this process last found in the store: skip the store while it holds


def _requeue_if_broker_lost(rt: Runtime) -> None:
    epoch = broker_epoch(rt.settings.broker)
    if epoch is None or epoch in _seen_epoch:
        return
    moved = requeue_after_broker_loss(rt.db, epoch, actor="dispatcher")
    if moved:
        log.warning("the broker lost its messages (a new broker epoch): %s queued posts dispatched again: %s",
                    len(moved), ", ".join(str(post_id) for post_id in moved[:20]))
    _seen_epoch[:] = [epoch]


_handled_loss: list[datetime] = []  # the latest process loss this process knows was handled (the store's mark)


def _requeue_if_process_lost(rt: Runtime) -> None:
    """One read of the heartbeat rows; only a loss not yet handled opens the locking transaction."""
    now, lookahead = utcnow(), rt.settings.dispatch_lookahead
    with transaction(rt.db) as session:
        new = lost_processes(session, lookahead, now, _handled_loss[0] if _handled_loss else None)
    if not new:
        return
    lost, moved, mark = requeue_after_process_loss(rt.db, lookahead, now=now, actor="dispatcher")
    if lost:
        log.warning("%s silent for more than 3 heartbeats (killed, or the store was away): %s overdue queued "
                    "posts dispatched again%s", ", ".join(process.describe() for process in lost), len(moved),
                    ": " + ", ".join(str(post_id) for post_id in moved[:20]) if moved else "")
    if mark is not None:
        _handled_loss[:] = [mark]


def sweep(beat: Beat) -> None:
    swept = sweep_ledger(beat.runtime().db)
    if swept.requeued or swept.unknown:
        log.warning("sweeper: requeued %s, unknown %s", swept.requeued, swept.unknown)


def reconcile(beat: Beat) -> None:
    reconciler.reconcile(beat.runtime())


def first_look(beat: Beat) -> None:
    """Look up, once settled, the posts a dead pool process left ``unknown``: seconds, not a sweep later."""
    done = reconciler.reconcile_first(beat.runtime(), limit=FIRST_LOOK_BATCH)
    if done.published or done.rescheduled or done.undecided:
        log.info("first look-up: published %s, sent again %s, cannot tell %s", done.published, done.rescheduled,
                 done.undecided)


def refresh(beat: Beat) -> None:
    """Refresh connected accounts' tokens before they expire (``promo/manage/connections.py``).

    A token that cannot be refreshed marks its account ``needs-reconnect``; a store with tokens due
    but no ``PROMO_SECRET_KEY`` is one line in the log each turn, never a crash of the beat.
    """
    rt = beat.runtime()
    try:
        done = refresh_due(rt.settings, rt.db, rt.accounts, owner=f"beat@{socket.gethostname()}:{os.getpid()}")
    except ConfigError as exc:
        log.error("token refresh: %s", exc)
        return
    for result in done:  # one line each on promo.events: what ``promo beat`` prints
        events.info("token refresh: %s %s%s", result.account, result.outcome,
                    f" ({result.detail})" if result.detail else "")


def recurrence(beat: Beat) -> None:
    """Write recurring announcements' occurrences as they come inside the horizon (docs/recurrence.md)."""
    rt = beat.runtime()
    for done in extend_recurrences(rt.db, rt.accounts, rt.settings.templates_dir, now=utcnow(),
                                   horizon=timedelta(days=rt.settings.recurrence_horizon_days)):
        if done.created:
            events.info("recurrence: %s: %s occurrences written", done.campaign, done.created)
        elif done.skipped:
            log.warning("recurrence: %s skipped: %s", done.campaign, done.skipped)


def stage_media(beat: Beat) -> None:
    """Upload the media of posts due within ``media_stage_ahead`` to the media host (docs/media-host.md).

    One line per file in the log (``promo.engine.staging``); a file that fails is left to its publish.
    """
    rt = beat.runtime()
    stage_due_media(rt.db, rt.accounts, rt.media_host, ahead=timedelta(seconds=rt.settings.media_stage_ahead),
                    stop=beat.stopping.is_set)


def _stage_stuck(settings: Settings) -> float:
    return LEDGER_TICK_STUCK_S + STAGE_FILES_BOUND * settings.publish_time_limit


_notify_error: list[str] = []  # the [notify] mistake last logged: once per change of promo.toml, not every turn


def notify(beat: Beat) -> None:
    """Derive lifecycle notifications from the event log and deliver the due ones (docs/notifications.md).

    No ``[notify]`` in promo.toml: returns before touching the store. A mistake in it is one line in
    the log (once), never a crash of the beat.
    """
    rt = beat.runtime()
    try:
        notify_tick(rt.db, rt.settings.config_file)
    except ConfigError as exc:
        if _notify_error != [str(exc)]:
            log.error("notifications: %s", exc)
            _notify_error[:] = [str(exc)]


def _notify_stuck(_: Settings) -> float:
    """A turn starts no delivery after ``TICK_BUDGET_S``; the last one is bounded by its timeouts."""
    return LEDGER_TICK_STUCK_S + TICK_BUDGET_S + 3 * MAX_TIMEOUT_S + DELIVERY_BATCH


def _refresh_stuck(settings: Settings) -> float:
    """One token request per connected account, each bounded by ``http_timeout``; a few at most."""
    return LEDGER_TICK_STUCK_S + REFRESH_ACCOUNTS_BOUND * settings.http_timeout


def _ledger_stuck(_: Settings) -> float:
    return LEDGER_TICK_STUCK_S


def _reconcile_stuck(settings: Settings) -> float:
    """As long again as its lookups may take: ``reconcile.BATCH`` of them, each bounded by ``http_timeout``."""
    return LEDGER_TICK_STUCK_S + reconciler.BATCH * settings.http_timeout


def _first_look_stuck(settings: Settings) -> float:
    return LEDGER_TICK_STUCK_S + FIRST_LOOK_BATCH * settings.http_timeout


TICKS: tuple[Tick, ...] = (
    Tick("dispatch", lambda s: s.dispatch_interval, _ledger_stuck, dispatch),
    Tick("sweep", lambda s: s.sweep_interval, _ledger_stuck, sweep),
    Tick("reconcile", lambda s: s.sweep_interval, _reconcile_stuck, reconcile),
    Tick("first-look", lambda s: s.dispatch_interval, _first_look_stuck, first_look),
    Tick("refresh", lambda s: s.token_refresh_interval, _refresh_stuck, refresh),
    Tick("recurrence", lambda s: RECURRENCE_INTERVAL_S, _ledger_stuck, recurrence),
    Tick("notify", lambda s: s.dispatch_interval, _notify_stuck, notify),
    Tick("stage-media", lambda s: s.media_stage_interval, _stage_stuck, stage_media),
)
