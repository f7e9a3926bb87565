"""``promo status`` as data: is the engine healthy, and what needs a person?

``engine_status(settings)`` checks the broker and the database, reads the last dispatch and sweep
times and the workers' and beats' heartbeats (``promo.store.heartbeats``: which are alive), counts
posts by state, lists the posts needing attention (failed, unknown, held) with their reasons and
next steps, the blocked or flagged accounts and the active pauses. Every time is given in the
configured zone (``settings.timezone``), with its offset.

This is the SQLAlchemy path (PostgreSQL, a store not yet at the current schema, or a caller's
engine); on a current SQLite file ``promo status`` reads the same facts through
``promo.manage.reads.file_status``. Both build the report in ``promo.manage.views.Status``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from promo.manage.reads import broker_problem, new_status
from promo.manage.views import ATTENTION_LIMIT, NEXT_STEP, Status, StoreFacts
from promo.settings import Settings
from promo.store import states
from promo.store.db import make_engine, transaction
from promo.store.heartbeats import processes
from promo.store.meta import LAST_DISPATCH, LAST_SWEEP, get_meta
from promo.store.tables import AccountState, Hold, PostRow
from promo.times import utcnow, zone

__all__ = ["NEXT_STEP", "Status", "broker_problem", "engine_status"]


def engine_status(settings: Settings, engine: Engine | None = None, *, now: datetime | None = None) -> Status:
    """The report; ``engine`` defaults to the settings' database, opened without migrating it."""
    now = now or utcnow()
    status = new_status(settings.broker)
    store = engine or make_engine(settings.database)
    try:
        with transaction(store) as session:
            status.fill(_facts(session), now, zone(settings.timezone))
    except Exception as exc:  # the database being down is a finding, not a crash
        status.store_failed(exc)
    finally:
        if engine is None:
            store.dispose()
    return status


def _facts(session: Session) -> StoreFacts:
    attention = select(PostRow).where(PostRow.status.in_(states.ATTENTION))
    return StoreFacts(
        get_meta(session, LAST_DISPATCH), get_meta(session, LAST_SWEEP),
        dict(session.execute(select(PostRow.status, func.count()).group_by(PostRow.status)).tuples().all()),
        list(session.scalars(attention.order_by(PostRow.due_at, PostRow.id).limit(ATTENTION_LIMIT))),
        list(session.scalars(select(AccountState))),
        list(session.execute(select(Hold.scope, Hold.value)).tuples().all()),
        processes(session),
    )
