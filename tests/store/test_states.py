"""The ledger enforces its state machine: every move ``promo.store.states`` lacks is refused, unwritten.

Every pair of states is tried on SQLite: each illegal one raises ``IllegalTransition`` and leaves
the row and the event log as they were; each legal one moves the post and logs it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from promo.errors import IllegalTransition, PromoError
from promo.posts import Post
from promo.store import states
from promo.store.db import make_engine, transaction
from promo.store.ledger import single_transition, transition, transition_locked
from promo.store.migrate import upgrade
from promo.store.tables import Event, PostRow
from promo.times import utcnow

PAIRS = [(current, target) for current in states.ALL for target in states.ALL]
ILLEGAL = [pair for pair in PAIRS if not states.allowed(*pair)]
LEGAL = [pair for pair in PAIRS if states.allowed(*pair)]


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One SQLite store for the module: each test adds its own post."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('states') / 'promo.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def a_post(engine: Engine, status: str) -> int:
    now = utcnow()
    with transaction(engine) as session:
        row = PostRow(idempotency_key=uuid.uuid4().hex, account="hook", platform="webhook", kind="adhoc",
                      payload=Post.single("webhook", "hook", "Jessica Jones season 3").to_payload(), digest="-",
                      status=status, scheduled_at=now, due_at=now, attempt_id="a1", attempts=0, journal={},
                      created_at=now, updated_at=now)
        session.add(row)
        session.flush()
        return row.id


def state_and_events(engine: Engine, post_id: int) -> tuple[str, int]:
    with transaction(engine) as session:
        status = session.scalar(select(PostRow.status).where(PostRow.id == post_id))
        events = session.scalar(select(func.count()).select_from(Event).where(Event.post_id == post_id))
    return str(status), int(events or 0)


def test_the_table_covers_every_state_and_final_states_have_no_moves() -> None:
    assert set(states.TRANSITIONS) == set(states.ALL)
    assert all(targets <= set(states.ALL) for targets in states.TRANSITIONS.values())
    assert all(not states.TRANSITIONS[state] for state in states.FINAL)
    assert not any(states.allowed(sent, states.CANCELLED) for sent in states.MAYBE_SENT)
    assert all(states.allowed(unsent, states.CANCELLED) for unsent in states.UNSENT)


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_an_illegal_move_is_refused_and_writes_nothing(ledger: Engine, current: str, target: str) -> None:
    post_id = a_post(ledger, current)
    refused = pytest.raises(IllegalTransition, match=f"post {post_id}: no move from {current} to {target} ")
    with refused, transaction(ledger) as session:
        transition(session, post_id, [current], target, action="test", actor="test", reason="wrong")
    assert state_and_events(ledger, post_id) == (current, 0)


@pytest.mark.parametrize(("current", "target"), LEGAL)
def test_a_legal_move_is_made_and_logged(ledger: Engine, current: str, target: str) -> None:
    post_id = a_post(ledger, current)
    with transaction(ledger) as session:
        assert transition(session, post_id, [current], target, action="test", actor="test")
    assert state_and_events(ledger, post_id) == (target, 1)


def test_a_move_from_several_states_must_be_legal_from_each(ledger: Engine) -> None:
    post_id = a_post(ledger, states.PUBLISHING)
    with pytest.raises(IllegalTransition, match="no move from published to scheduled"), single_transition(
            ledger) as connection:
        transition(connection, post_id, [states.PUBLISHING, states.PUBLISHED], states.SCHEDULED, action="test",
                   actor="test", attempt_id="a1")
    assert state_and_events(ledger, post_id) == (states.PUBLISHING, 0)


def test_a_batch_move_is_checked_too(ledger: Engine) -> None:
    post_id = a_post(ledger, states.PUBLISHED)
    moves = [(post_id, {"attempt_id": "a2"}, None)]
    with pytest.raises(IllegalTransition, match="no move from published to queued"), transaction(ledger) as session:
        transition_locked(session, moves, states.PUBLISHED, states.QUEUED, action="claimed", actor="test",
                          now=utcnow())
    assert state_and_events(ledger, post_id) == (states.PUBLISHED, 0)


def test_an_illegal_move_is_refused_on_every_store(engine: Engine) -> None:
    """PostgreSQL writes a move and its event in one statement: refused before it is sent."""
    post_id = a_post(engine, states.SCHEDULED)
    with pytest.raises(IllegalTransition), single_transition(engine) as connection:
        transition(connection, post_id, [states.SCHEDULED], states.PUBLISHED, action="published", actor="test",
                   now=utcnow() + timedelta(seconds=1))
    assert state_and_events(engine, post_id) == (states.SCHEDULED, 0)


def test_an_illegal_move_is_a_promo_error_naming_the_move() -> None:
    error = IllegalTransition(states.UNKNOWN, states.QUEUED, action="claimed", post_id=7)
    assert isinstance(error, PromoError)
    assert (error.current, error.target, error.action, error.post_id) == ("unknown", "queued", "claimed", 7)
    assert str(error).startswith("post 7: no move from unknown to queued (claimed)")


def test_awaiting_approval_is_left_only_when_approved_or_cancelled() -> None:
    """Nothing claims a post waiting for approval; any unsent post may be sent back to wait, and no
    post that may have been sent ever is."""
    assert states.TRANSITIONS[states.AWAITING] == {states.AWAITING, states.SCHEDULED, states.CANCELLED}
    assert not states.allowed(states.AWAITING, states.QUEUED)
    assert all(states.allowed(unsent, states.AWAITING) for unsent in states.UNSENT)
    assert not any(states.allowed(sent, states.AWAITING) for sent in states.MAYBE_SENT | states.FINAL)
    assert len(states.AWAITING) > 16  # why posts.status is 32 wide on PostgreSQL (0007_approvals)
