"""Pausing and resuming: hold posts without failing them.

A pause is a row in ``holds`` (scope ``all``, ``campaign`` or ``account``). ``pause`` writes it and
moves the matching scheduled and queued posts to ``paused`` at once; the dispatcher and the publish
task also check the holds, so posts applied later, or already on their way to a worker, are held
too. ``resume`` deletes holds and moves the posts no other hold covers back to ``scheduled``; the
dispatcher then applies the late-post policy, so a post too late for its message is ``held`` for a
person instead of being sent.

A scope must name something that exists: a campaign in the store, an account configured (or with
posts in the store). An empty name is refused, never read as "everything"; so is resuming a pause
that is not there. A refused scope writes nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from promo.errors import ConfigError
from promo.store import states
from promo.store.db import transaction
from promo.store.ledger import log, transition
from promo.store.pauses import ACCOUNT, ALL, CAMPAIGN, Scope, active_pauses, pause_covering
from promo.store.tables import Campaign, Hold, PostRow
from promo.times import utcnow

__all__ = ["Scope", "pause", "resume"]


def pause(
    engine: Engine, scope: Scope, *, reason: str = "", actor: str = "cli", now: datetime | None = None,
    accounts: Collection[str] | None = None,
) -> int:
    """Add a hold and pause the posts it covers, in one transaction. Returns how many were paused.

    ``accounts``: the configured account names; an account scope must name one of them (or one with
    posts in the store). ConfigError, nothing written, for a scope that names nothing.
    """
    with transaction(engine) as session:
        check_scope(session, scope, accounts)
        return _pause(session, scope, reason, actor, now or utcnow())


def check_scope(session: Session, scope: Scope, accounts: Collection[str] | None = None) -> None:
    """Refuse a scope with an empty name, an unknown campaign, or an unknown account."""
    if scope.kind == ALL:
        return
    if not scope.value.strip():
        raise ConfigError(f"--{scope.kind} needs a name ('promo pause' without options pauses everything)")
    if scope.kind == CAMPAIGN:
        known = set(session.scalars(select(Campaign.id))) | _distinct(session, PostRow.campaign_id)
        _refuse_unknown("campaign", scope.value, known, "'promo queue --all' lists them")
    elif scope.kind == ACCOUNT and accounts is not None:
        _refuse_unknown("account", scope.value, set(accounts) | _distinct(session, PostRow.account),
                        "'promo accounts' lists them")


def _distinct(session: Session, column: object) -> set[str]:
    return {value for value in session.scalars(select(column).distinct()) if value}  # type: ignore[call-overload]


def _refuse_unknown(kind: str, value: str, known: set[str], hint: str) -> None:
    if value not in known:
        listed = ", ".join(sorted(known)[:20]) or "none"
        raise ConfigError(f"unknown {kind} {value!r} (known: {listed}; {hint}); nothing paused")


def _pause(session: Session, scope: Scope, reason: str, actor: str, now: datetime) -> int:
    if scope not in active_pauses(session):
        session.add(Hold(scope=scope.kind, value=scope.value, created_at=now, reason=reason))
        session.flush()
    log(session, None, "paused", actor=actor, detail={"scope": scope.kind, "value": scope.value}, now=now)
    paused = 0
    for post_id, campaign_id, account, status in _posts_in(session, (states.SCHEDULED, states.QUEUED)):
        if scope.covers(campaign_id, account) and transition(
            session,
            post_id,
            [status],
            states.PAUSED,
            action="paused",
            actor=actor,
            detail={"hold": scope.describe()},
            now=now,
            lease_until=None,
        ):
            paused += 1
    return paused


def resume(engine: Engine, scope: Scope | None, *, actor: str = "cli", now: datetime | None = None) -> int:
    """Remove one hold (``None``: every hold) and release the posts nothing else holds, in one
    transaction. Returns how many were released."""
    with transaction(engine) as session:
        if scope is not None and scope not in active_pauses(session):
            active = ", ".join(hold.describe() for hold in active_pauses(session)) or "none"
            raise ConfigError(f"no pause on {scope.describe()} (active pauses: {active}; "
                              "'promo status' lists them); nothing resumed")
        return _resume(session, scope, actor, now or utcnow())


def _resume(session: Session, scope: Scope | None, actor: str, now: datetime) -> int:
    if scope is None:
        session.execute(delete(Hold))
    else:
        session.execute(delete(Hold).where(Hold.scope == scope.kind, Hold.value == scope.value))
    remaining = active_pauses(session)
    log(
        session,
        None,
        "resumed",
        actor=actor,
        detail={"scope": scope.kind if scope else "every hold", "value": scope.value if scope else ""},
        now=now,
    )
    released = 0
    for post_id, campaign_id, account, _status in _posts_in(session, (states.PAUSED,)):
        if pause_covering(remaining, campaign_id, account) is None and transition(
            session, post_id, [states.PAUSED], states.SCHEDULED, action="resumed", actor=actor, now=now
        ):
            released += 1
    return released


def _posts_in(session: Session, statuses: tuple[str, ...]) -> list[tuple[int, str | None, str, str]]:
    rows = session.execute(
        select(PostRow.id, PostRow.campaign_id, PostRow.account, PostRow.status)
        .where(PostRow.status.in_(statuses))
        .order_by(PostRow.id)
    ).all()
    return [(row[0], row[1], row[2], row[3]) for row in rows]
