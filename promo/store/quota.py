"""Quota units spent per Google Cloud project and quota day, kept in the ``meta`` table (no table of its own).

YouTube bills every call against the project's daily budget, which resets at midnight Pacific Time.
Each worker adds what it spends with one atomic upsert (``INSERT ... ON CONFLICT DO UPDATE SET
value = value + n``), so two workers uploading at once never lose a count; ``spent`` reads it back.
Keys are ``quota:<project>:<YYYY-MM-DD>`` (hashed when longer than the column). The day is the
caller's (the Pacific date: ``promo.rules.youtube.pacific_day``); the store knows no platform.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from promo.store.meta import upsert_statement

if TYPE_CHECKING:
    from sqlalchemy import Engine

PREFIX = "quota:"
_ROOM = 64


def quota_key(project: str, day: date) -> str:
    key = f"{PREFIX}{project}:{day.isoformat()}"
    if len(key) <= _ROOM:
        return key
    digest = hashlib.sha256(project.encode()).hexdigest()[: _ROOM - len(PREFIX) - 12]
    return f"{PREFIX}{digest}:{day.isoformat()}"


def spend(engine: Engine, project: str, day: date, units: int) -> int:
    """Add ``units`` to the project's count for ``day``, atomically; the new total."""
    from sqlalchemy import Integer, Text, cast, select

    from promo.store.tables import Meta

    table = Meta.__table__
    key = quota_key(project, day)
    with engine.begin() as connection:
        statement = upsert_statement(connection, table).values(key=key, value=str(units))
        total = cast(cast(table.c.value, Integer) + units, Text)
        connection.execute(statement.on_conflict_do_update(index_elements=["key"], set_={"value": total}))
        value = connection.scalar(select(table.c.value).where(table.c.key == key))
    return int(value or 0)


def spent(engine: Engine, project: str, day: date) -> int:
    """Units counted for the project on ``day`` (0 when none)."""
    from sqlalchemy import select

    from promo.store.tables import Meta

    table = Meta.__table__
    with engine.connect() as connection:
        value = connection.scalar(select(table.c.value).where(table.c.key == quota_key(project, day)))
    return int(value or 0)


def pending_posts(engine: Engine, platform: str, exclude_campaign: str | None) -> list[tuple[str, Any, datetime]]:
    """``(account, payload, due_at)`` of every ``platform`` post still to be sent, but ``exclude_campaign``'s:
    what other campaigns (and ad hoc posts) have already planned."""
    from sqlalchemy import or_, select

    from promo.store import states
    from promo.store.tables import PostRow

    pending = (states.AWAITING, states.SCHEDULED, states.QUEUED, states.PAUSED, states.HELD)
    query = select(PostRow.account, PostRow.payload, PostRow.due_at).where(
        PostRow.platform == platform, PostRow.status.in_(pending))
    if exclude_campaign is not None:
        query = query.where(or_(PostRow.campaign_id.is_(None), PostRow.campaign_id != exclude_campaign))
    with engine.connect() as connection:
        return [(str(account), payload, due_at) for account, payload, due_at in connection.execute(query)]
