"""Publish one claimed post, exactly once: start it, call the adapter once, record the outcome.

``publish_claimed(runtime, post_id, attempt_id)`` is what the Celery task calls:

1. fence: ``queued -> publishing`` only if the row still carries ``attempt_id`` (a duplicate or
   late delivery changes nothing and stops, F6);
2. re-check the policies the dispatcher applied (``promo.engine.policies``: a pause, the embargo,
   lateness, the account's block and rate-limit window), which may send the post back instead. The
   usual publish starts in one statement and its event (``promo.store.hot_path``: the policies are in
   its WHERE); a post it does not move is read again under lock and each policy applied in turn;
3. call the adapter once, with a Journal backed by the row;
4. turn the result into one fenced transition (``promo.engine.outcomes``).

No Celery here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, select, update
from sqlalchemy.exc import DBAPIError, OperationalError

from promo import errors
from promo.engine.outcomes import DUPLICATE, announce, record_failure, record_published
from promo.engine.policies import lateness_cutoffs, lateness_reason, send_time
from promo.engine.ratelimits import take_slot
from promo.engine.runtime import Runtime
from promo.posts import Post
from promo.settings import Settings
from promo.store import states
from promo.store.hot_path import StartedRow
from promo.store.ledger import transition
from promo.store.pauses import active_pauses, pause_covering
from promo.store.tables import AccountState, Hold, PostRow
from promo.store.tables import Campaign as CampaignRow
from promo.times import iso, utcnow

log = logging.getLogger("promo.engine.publishing")

SETTLE_GRACE_S = 1.0
START_RETRY_WAITS_S = (0.2, 0.5, 1.0, 2.0)  # a lost database connection at the fence: tried again after each
ACCOUNT_RATE_LIMIT = "account rate limit"


class DbJournal:
    """The adapter's notes, kept on the ledger row; each ``record`` commits before the next call."""

    def __init__(self, engine: Engine, post_id: int, attempt_id: str, notes: dict[str, Any]) -> None:
        self.engine, self.post_id, self.attempt_id = engine, post_id, attempt_id
        self.notes = {str(k): str(v) for k, v in (notes or {}).items()}

    def get(self, key: str) -> str | None:
        return self.notes.get(key)

    def record(self, key: str, value: str) -> None:
        self.notes[key] = value
        with self.engine.begin() as connection:
            connection.execute(
                update(PostRow)
                .where(PostRow.id == self.post_id, PostRow.attempt_id == self.attempt_id)
                .values(journal=dict(self.notes))
                .execution_options(synchronize_session=False)
            )


def publish_claimed(
    runtime: Runtime,
    post_id: int,
    attempt_id: str,
    *,
    clock: Callable[[], datetime] = utcnow,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Publish a claimed post once. Returns the resulting state (or ``duplicate``)."""
    started = _start_through_blips(runtime, post_id, attempt_id, clock, sleep)
    if started.wait:
        sleep(started.wait)
        started = _start_through_blips(runtime, post_id, attempt_id, clock, sleep, early_ok=False)
    if started.row is None:
        if started.outcome == DUPLICATE:
            log.info("post %s attempt %s: already handled, nothing to do", post_id, attempt_id)
        return started.outcome or DUPLICATE
    row = started.row
    post = Post.from_payload(row.platform, row.account, row.payload, row.idempotency_key,
                             media_root=media_root(runtime.db, row.campaign_id, row.payload))
    return _call_adapter(runtime, row, post, attempt_id, clock)


def _start_through_blips(runtime: Runtime, post_id: int, attempt_id: str, clock: Callable[[], datetime],
                         sleep: Callable[[float], None], *, early_ok: bool = True) -> Started:
    """``start``, tried again after a lost database connection (a restart, ``pg_terminate_backend``).

    Nothing has been sent before the fence, so trying again is safe; without this the post waited
    its whole lease for the sweeper (the chaos test, docs/faults.md). The fence's own transaction
    either committed or did not: a move that committed before its answer was lost finds the post
    ``publishing`` under this attempt and is a duplicate, reconciled like any other lost outcome.
    """
    for wait in (*START_RETRY_WAITS_S, None):
        try:
            return start(runtime, post_id, attempt_id, clock(), early_ok=early_ok)
        except DBAPIError as exc:
            if wait is None or not (exc.connection_invalidated or isinstance(exc, OperationalError)):
                raise
            log.warning("post %s: the database connection was lost at the fence (%s); trying again in %ss",
                        post_id, type(exc.orig).__name__, wait)
            sleep(wait)
    raise AssertionError("unreachable")


def media_root(db: Engine, campaign_id: str | None, payload: dict[str, Any]) -> str:
    """The folder a post's relative media paths are read from: its campaign file's, as last applied.

    Only a post with media asks the store (text posts keep the one-statement start); an ad hoc post
    or old payload with absolute paths needs no root.
    """
    if campaign_id is None or not any(part.get("media") for part in payload.get("parts", ())):
        return ""
    with db.connect() as connection:
        source = connection.execute(select(CampaignRow.source).where(CampaignRow.id == campaign_id)).scalar()
    return str(Path(source).parent) if source else ""


Claimed = StartedRow  # the post as the fence found it, on either path; ``attempts`` counts this attempt


def claimed(fenced: Any, *, attempts: int) -> Claimed:
    """The fence's row (the hot path's, or a SQLAlchemy row) as ``Claimed``, ``attempts`` counting this one."""
    return Claimed(*(getattr(fenced, name) for name in Claimed._fields))._replace(attempts=attempts)


@dataclass(frozen=True)
class Started:
    """What the fence found: go ahead with ``row``; early, ask again in ``wait`` seconds; or ``outcome``."""

    row: Claimed | None = None
    wait: float = 0.0
    outcome: str | None = None


_CLAIMED = (
    PostRow.id, PostRow.campaign_id, PostRow.account, PostRow.platform, PostRow.payload,
    PostRow.idempotency_key, PostRow.journal, PostRow.attempts, PostRow.scheduled_at, PostRow.due_at,
    PostRow.not_before, PostRow.max_lateness_s,
    select(func.count()).select_from(Hold).scalar_subquery().label("holds"),
    select(AccountState.blocked_until).where(AccountState.account == PostRow.account)
    .scalar_subquery().label("blocked_until"),
    select(AccountState.flagged_at).where(AccountState.account == PostRow.account)
    .scalar_subquery().label("flagged_at"),
)
_FENCED = (PostRow.id == bindparam("w_id"), PostRow.attempt_id == bindparam("w_attempt_id"),
           PostRow.status == states.QUEUED)
# The checked path: read the fenced post, whether any pause is active, until when its account is
# blocked and whether it is flagged (in the same statement: no round trip); then decide.
_FENCE = select(*_CLAIMED).where(*_FENCED)
_FENCE_LOCKED = _FENCE.with_for_update(of=PostRow)


def start(runtime: Runtime, post_id: int, attempt_id: str, now: datetime, *, early_ok: bool = True) -> Started:
    """Fence and re-check in one transaction, then ``queued -> publishing``.

    A message that arrives a little early (within the dispatcher's look-ahead) changes nothing and
    says how long to wait; a much earlier one, or one still early after its wait, goes back to
    ``scheduled`` at its time.
    """
    moved = _start_lean(runtime, post_id, attempt_id, now)
    if moved is not None:
        return Started(row=moved)
    return _start_checked(runtime, post_id, attempt_id, now, early_ok=early_ok)


def _start_lean(runtime: Runtime, post_id: int, attempt_id: str, now: datetime) -> StartedRow | None:
    """The usual start in pre-compiled SQL (``promo.store.hot_path``): moved only if no policy could object."""
    default_cutoff, cutoffs = lateness_cutoffs(runtime.accounts, runtime.settings, now)
    return runtime.hot_path.start(post_id, attempt_id, now=now, lease_until=_lease(runtime.settings, now),
                                  actor=runtime.actor, default_cutoff=default_cutoff, cutoffs=cutoffs)


def _lease(settings: Settings, now: datetime) -> datetime:
    """Until when a started publish is left alone by the sweeper."""
    return now + timedelta(seconds=settings.publish_time_limit + SETTLE_GRACE_S)


def _start_checked(runtime: Runtime, post_id: int, attempt_id: str, now: datetime, *, early_ok: bool) -> Started:
    """Read the fenced post under lock, apply each policy, and move it where the first one says."""
    settings, actor = runtime.settings, runtime.actor
    with runtime.db.begin() as connection:
        query = _FENCE_LOCKED if connection.dialect.name == "postgresql" else _FENCE
        row = connection.execute(query, {"w_id": post_id, "w_attempt_id": attempt_id}).one_or_none()
        if row is None:
            return Started(outcome=DUPLICATE)
        wait = (send_time(row)[0] - now).total_seconds()
        if early_ok and 0 < wait <= settings.dispatch_lookahead + SETTLE_GRACE_S:
            return Started(wait=wait)
        fenced: dict[str, Any] = {"actor": actor, "attempt_id": attempt_id, "now": now, "lease_until": None}
        hold = pause_covering(active_pauses(connection), row.campaign_id, row.account) if row.holds else None
        if hold is not None:
            transition(connection, post_id, [states.QUEUED], states.PAUSED, action="paused",
                       detail={"hold": hold.describe()}, **fenced)
            return Started(outcome=states.PAUSED)
        late = lateness_reason(row, runtime.accounts.get(row.account), settings, now)
        if late:
            transition(connection, post_id, [states.QUEUED], states.HELD, action="held",
                       detail={"reason": late}, reason=late, **fenced)
            return Started(outcome=states.HELD)
        not_yet = _not_yet(connection, row, runtime, now)
        if not_yet is not None:
            until, why = not_yet
            transition(connection, post_id, [states.QUEUED], states.SCHEDULED, action="deferred",
                       detail={"why": why, "until": iso(until)}, due_at=until, **fenced)
            return Started(outcome=states.SCHEDULED)
        fenced["lease_until"] = _lease(settings, now)
        transition(connection, post_id, [states.QUEUED], states.PUBLISHING, action="publishing",
                   attempts=row.attempts + 1, **fenced)
    return Started(row=claimed(row, attempts=row.attempts + 1))


def _not_yet(db: Connection, row: Any, runtime: Runtime, now: datetime) -> tuple[datetime, str] | None:
    """The embargo or the account's limits say later: when, and why."""
    at, why = send_time(row, row.blocked_until)
    if at > now:
        return at, why
    account = runtime.accounts.get(row.account)
    if account is None or account.rate_limit is None:
        return None
    free_at = take_slot(db, row.account, account.rate_limit, now)
    if free_at is not None:
        return free_at, ACCOUNT_RATE_LIMIT
    return None


def _call_adapter(
    runtime: Runtime, row: Claimed, post: Post, attempt_id: str, clock: Callable[[], datetime]
) -> str:
    journal = DbJournal(runtime.db, row.id, attempt_id, row.journal)
    try:
        adapter = runtime.adapter(row.account, row.platform)
        report = adapter.check(post)
        if not report.ok:
            raise errors.PostInvalid(report.problems, f"{row.platform} {row.account}")
        published = runtime.publish(adapter, row.account, row.platform, post, journal)  # refresh-once on 401
    except Exception as exc:
        return record_failure(runtime, row, attempt_id, exc, clock())
    outcome = record_published(runtime, row.id, attempt_id, published, clock(),
                               clear_flag_of=row.account if row.flagged_at else None)
    if outcome == states.PUBLISHED:
        announce(logging.INFO, row.id, row.account, outcome, url=published.url)
    return outcome
