"""The publish hot path in pre-compiled SQL on the DBAPI connection: the start of a publish and its success.

Every published post runs two ledger moves: ``queued -> publishing`` before the platform call and
``publishing | unknown -> published`` after it. Through SQLAlchemy each statement costs about
50 us of Python on top of the driver's 2 us (docs/benchmarks.md); these two moves run here instead,
as SQL written out once per process and executed on the pooled driver connection, with
``promo.store.codec`` converting times and JSON exactly as the SQLAlchemy path does. Everything
else, the rare paths included, stays SQLAlchemy (``promo.store.ledger``).

The guarantees are the ledger's own (docs/ledger.md, docs/reliability.md):

- each move is fenced: ``id``, ``attempt_id`` and the expected status are in its WHERE, and a move
  that finds nothing writes nothing;
- each move and its event commit together: on PostgreSQL one autocommitted statement (``WITH moved
  AS (UPDATE ... RETURNING) INSERT INTO events ...``, one round trip and one durable commit); on
  SQLite one ``BEGIN IMMEDIATE`` transaction behind the writer lock (``promo.store.writer_lock``);
- ``start`` moves a post only when no policy could object, and says nothing about why it did not:
  the engine then takes the SQLAlchemy path, which reads the post and decides. What "no policy could
  object" means is written here as SQL (``Start``); a property test holds it to
  ``promo.engine.policies``: no pause at all, due and past its embargo, its account not blocked,
  not later than its allowed lateness, no lateness of its own (``max_lateness_s``), and an account
  without a rate limit (taking a slot is a write of its own).

``grouped_outcomes`` (PostgreSQL, a worker's pool process under ``outcome_commit = "grouped"``):
the success commits without waiting for its WAL flush (``set_config('synchronous_commit', 'off',
true)`` in the statement itself, so only this one commit is relaxed and the start stays durable
before the platform call). The worker's main process then makes it durable with one flush shared by
every outcome of the moment, before it acknowledges their messages (``workers/grouped_acks.py``,
docs/reliability.md "Grouped outcome commits").

A driver error comes out as SQLAlchemy's ``DBAPIError`` (``connection_invalidated`` set for a lost
connection, which is then dropped from the pool), as it would from the SQLAlchemy path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from promo.store import states
from promo.store.codec import RowCodec
from promo.store.db import begin_immediate

states.check([states.QUEUED], states.PUBLISHING, action="publishing")
states.check([states.PUBLISHING, states.UNKNOWN], states.PUBLISHED, action="published")

EVENT_COLUMNS = "post_id, at, action, from_status, to_status, attempt_id, actor, detail"


class StartedRow(NamedTuple):
    """The post as ``start`` moved it; ``attempts`` counts the attempt it started."""

    id: int
    campaign_id: str | None
    account: str
    platform: str
    payload: dict[str, Any]
    idempotency_key: str
    journal: dict[str, Any]
    attempts: int
    scheduled_at: datetime
    due_at: datetime
    not_before: datetime | None
    max_lateness_s: int | None
    flagged_at: datetime | None


_STARTED_COLUMNS = ("id, campaign_id, account, platform, payload, idempotency_key, journal, attempts, scheduled_at, "
                    "due_at, not_before, max_lateness_s, "
                    "(SELECT s.flagged_at FROM account_state s WHERE s.account = posts.account) AS flagged_at")
_STAMPS = frozenset({"scheduled_at", "due_at", "not_before", "flagged_at"})
_JSON = frozenset({"payload", "journal"})


class HotPath:
    """The two hot moves for one engine (one per process), compiled for its dialect and its accounts.

    ``late_accounts``: the accounts whose allowed lateness is their own (``max_lateness``); the others
    get ``start``'s ``default_cutoff``. ``rate_limited``: accounts whose posts never take this path.
    """

    def __init__(self, engine: Engine, *, late_accounts: Sequence[str] = (), rate_limited: Sequence[str] = (),
                 grouped_outcomes: bool = False) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.codec = RowCodec(self.dialect)
        self.late_accounts = tuple(late_accounts)
        self.rate_limited = tuple(rate_limited)
        postgres = self.dialect == "postgresql"
        self._start = _compiled(_start_sql(self.late_accounts, self.rate_limited, logged=postgres), postgres)
        self.grouped_outcomes = grouped_outcomes and postgres
        self._published = _compiled(_published_sql(logged=postgres, unflushed=self.grouped_outcomes), postgres)
        self._event = _compiled(f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (:post_id, :now, :action, "
                                ":from_status, :to_status, :attempt_id, :actor, :detail)", postgres)
        self._driver_error = engine.dialect.loaded_dbapi.Error

    def start(self, post_id: int, attempt_id: str, *, now: datetime, lease_until: datetime, actor: str,
              default_cutoff: datetime, cutoffs: Mapping[str, datetime]) -> StartedRow | None:
        """``queued -> publishing`` with its event, if no policy could object; else None (nothing written).

        A post is too late when its due time (``scheduled_at``, or its embargo if later) is before
        its account's cutoff: ``cutoffs[account]`` for ``late_accounts``, else ``default_cutoff``.
        """
        stamp = self.codec.stamp
        params: dict[str, Any] = {
            "id": post_id, "attempt_id": attempt_id, "now": stamp(now), "lease_until": stamp(lease_until),
            "actor": actor, "detail": self.codec.json({}), "cutoff": stamp(default_cutoff),
            **{f"late_{i}": name for i, name in enumerate(self.late_accounts)},
            **{f"cutoff_{i}": stamp(cutoffs[name]) for i, name in enumerate(self.late_accounts)},
            **{f"limited_{i}": name for i, name in enumerate(self.rate_limited)},
        }
        event = {"post_id": post_id, "now": params["now"], "action": "publishing", "from_status": states.QUEUED,
                 "to_status": states.PUBLISHING, "attempt_id": attempt_id, "actor": actor, "detail": params["detail"]}
        with self._transaction() as connection:
            row = connection.execute(self._start, params).fetchone()
            if row is not None and self.dialect == "sqlite":
                connection.execute(self._event, event)
        return None if row is None else self._started(row)

    def published(self, post_id: int, attempt_id: str, *, platform_id: str, url: str | None, now: datetime,
                  actor: str, action: str = "published") -> bool:
        """``publishing | unknown -> published`` with the platform's id and URL, and its event; whether it moved."""
        stamp = self.codec.stamp
        detail = self.codec.json({"platform_id": platform_id, "url": url})
        params = {"id": post_id, "attempt_id": attempt_id, "platform_id": platform_id, "url": url, "now": stamp(now),
                  "action": action, "actor": actor, "detail": detail}
        with self._transaction() as connection:
            moved = connection.execute(self._published, params)
            if self.dialect == "postgresql":
                return moved.fetchone() is not None
            if moved.rowcount != 1:
                return False
            connection.execute(self._event, {"post_id": post_id, "now": params["now"], "action": action,
                                             "from_status": None, "to_status": states.PUBLISHED,
                                             "attempt_id": attempt_id, "actor": actor, "detail": detail})
        return True

    def _started(self, row: Sequence[Any]) -> StartedRow:
        codec = self.codec
        values: list[Any] = [
            codec.read_stamp(value) if name in _STAMPS else codec.read_json(value) if name in _JSON else value
            for name, value in zip(StartedRow._fields, row, strict=True)]
        return StartedRow(*values)

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        """The driver connection, in one transaction: committed on success, rolled back on error.

        PostgreSQL: autocommit (each statement here is one atomic statement). SQLite: ``BEGIN
        IMMEDIATE`` after the writer lock, as every promo write; committing lets go of the lock.
        """
        pooled: Any = None
        try:
            pooled = self.engine.raw_connection()
            connection: Any = pooled.driver_connection
            if self.dialect == "postgresql":
                with _autocommitted(connection):
                    yield connection
            else:
                begin_immediate(connection)
                try:
                    yield connection
                except BaseException:
                    connection.rollback()
                    raise
                connection.commit()
        except self._driver_error as exc:
            raise self._wrapped(exc, pooled) from exc
        finally:
            if pooled is not None:
                pooled.close()

    def _wrapped(self, exc: Any, pooled: Any) -> DBAPIError:
        """The driver's error as SQLAlchemy would raise it; a lost connection is dropped from the pool."""
        lost = bool(self.engine.dialect.is_disconnect(exc, pooled, None))
        if lost and pooled is not None:
            pooled.invalidate(exc)
        wrapped: Any = DBAPIError.instance(None, None, exc, self._driver_error, connection_invalidated=lost,
                                           dialect=self.engine.dialect)
        return cast(DBAPIError, wrapped)


@contextmanager
def _autocommitted(connection: Any) -> Iterator[None]:
    connection.autocommit = True
    try:
        yield
    finally:
        if not connection.closed:
            connection.autocommit = False


def _start_sql(late_accounts: Sequence[str], rate_limited: Sequence[str], *, logged: bool) -> str:
    """The fenced move, admitted only when no policy could object (the module's docstring lists them)."""
    cutoff = ":cutoff"
    if late_accounts:
        cases = " ".join(f"WHEN :late_{i} THEN :cutoff_{i}" for i in range(len(late_accounts)))
        cutoff = f"(CASE account {cases} ELSE :cutoff END)"
    unlimited = ""
    if rate_limited:
        unlimited = "AND account NOT IN (" + ", ".join(f":limited_{i}" for i in range(len(rate_limited))) + ")"
    queued = _filter_only(f"status = '{states.QUEUED}'")
    move = (
        f"UPDATE posts SET status = '{states.PUBLISHING}', attempts = attempts + 1, lease_until = :lease_until, "
        f"updated_at = :now WHERE id = :id AND attempt_id = :attempt_id AND {queued} "
        "AND due_at <= :now AND (not_before IS NULL OR not_before <= :now) AND max_lateness_s IS NULL "
        f"AND (scheduled_at >= {cutoff} OR (not_before IS NOT NULL AND not_before >= {cutoff})) "
        "AND NOT EXISTS (SELECT 1 FROM holds) "
        "AND NOT EXISTS (SELECT 1 FROM account_state s WHERE s.account = posts.account AND s.blocked_until > :now) "
        f"{unlimited} RETURNING {_STARTED_COLUMNS}"
    )
    if not logged:
        return move
    return _with_event(move, "'publishing'", f"'{states.QUEUED}'", f"'{states.PUBLISHING}'", "*")


def _published_sql(*, logged: bool, unflushed: bool = False) -> str:
    """The success move; ``unflushed``: its commit does not wait for the WAL flush (PostgreSQL only)."""
    # set_config(..., true) sets the parameter for this statement's own transaction, and its commit
    # reads it. A fenced-out move writes nothing, so its relaxed commit has nothing to lose.
    relaxed = " AND set_config('synchronous_commit', 'off', true) IS NOT NULL" if unflushed else ""
    in_flight = _filter_only(f"status IN ('{states.PUBLISHING}', '{states.UNKNOWN}')")
    move = (
        f"UPDATE posts SET status = '{states.PUBLISHED}', platform_id = :platform_id, url = :url, "
        "published_at = :now, lease_until = NULL, reason = NULL, updated_at = :now "
        f"WHERE id = :id AND {in_flight} AND attempt_id = :attempt_id"
        f"{relaxed}"
    )
    if not logged:
        return move
    return _with_event(f"{move} RETURNING id", ":action", "NULL", f"'{states.PUBLISHED}'", "id")


def _filter_only(condition: str) -> str:
    """``condition`` in a form no index matches, so the row is always found by its id.

    psycopg prepares a statement run five times, and PostgreSQL then keeps a generic plan for it. A
    literal status is estimated from the column's statistics, where ``queued`` is rare (most rows are
    history), so a generic plan once found the post through the ``(status, due_at)`` index instead of
    its primary key, and scanned every queued post: 0.9 ms of server CPU per start with 10,000 queued
    (docs/benchmarks.md, issue 17). ``(...) IS TRUE`` is the same filter in a WHERE clause, but not an
    index condition.
    """
    return f"({condition}) IS TRUE"


def _with_event(move: str, action: str, from_status: str, to_status: str, returned: str) -> str:
    """PostgreSQL: the move and its event in one statement; the event is written only if a row moved.

    ``action``, ``from_status`` and ``to_status`` are SQL: a quoted literal, ``NULL`` or a parameter."""
    return (f"WITH moved AS ({move}), logged AS (INSERT INTO events ({EVENT_COLUMNS}) "
            f"SELECT id, :now, {action}, {from_status}, {to_status}, :attempt_id, :actor, CAST(:detail AS JSON) "
            f"FROM moved) SELECT {returned} FROM moved")


def _compiled(sql: str, postgres: bool) -> str:
    """``:name`` parameters as the driver wants them: sqlite3 takes them as written, psycopg as ``%(name)s``."""
    if not postgres:
        return sql
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql.replace("%", "%%"))
