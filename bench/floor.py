"""Floor: promo's ledger protocol as plain SQL (sqlite3, psycopg), no SQLAlchemy, no Celery.

The same statements and transactions a post costs in promo, in one process, on the same store
settings (SQLite: WAL, synchronous=NORMAL, BEGIN IMMEDIATE; PostgreSQL: a scratch schema, FOR UPDATE):

- dispatcher claim, per batch of 500: select due, one executemany UPDATE, one multi-row event INSERT;
- publish: the fenced move ``queued -> publishing`` returning the post, any pause and the account's
  block, then its event, committed (PostgreSQL: one ``WITH ... UPDATE ... RETURNING`` statement that
  also writes the event);
- outcome: UPDATE + event, committed (PostgreSQL: one autocommitted statement doing both).

It is the store's own ceiling for the protocol: the distance from here to promo's in-process rate
(bench.hotspots) is Python and SQLAlchemy; on PostgreSQL most of what is left is round trips and
the commit's WAL flush.

    python -m bench.floor                 # 10,000 posts, SQLite and PostgreSQL
    python -m bench.floor --quick --skip-postgres
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import Target, cpu_seconds, parser, postgres_schema, report, size
from bench.engine import _stamp, insert_posts, make_store

BATCH = 500
DUE = "SELECT id FROM posts WHERE status = 'scheduled' AND due_at <= ? ORDER BY due_at, id LIMIT ?"
CLAIM = "UPDATE posts SET status = 'queued', updated_at = ?, attempt_id = ? WHERE id = ? AND status = 'scheduled'"
RETURNING = ("id, campaign_id, account, platform, payload, idempotency_key, journal, attempts, scheduled_at, "
             "due_at, not_before, max_lateness_s, (SELECT count(*) FROM holds), "
             "(SELECT blocked_until FROM account_state WHERE account_state.account = posts.account)")
START = ("UPDATE posts SET status = 'publishing', attempts = attempts + 1, lease_until = ?, updated_at = ? "
         f"WHERE id = ? AND attempt_id = ? AND status = 'queued' RETURNING {RETURNING}")
MOVE = "UPDATE posts SET status = ?, updated_at = ? WHERE id = ? AND status = ? AND attempt_id = ?"
EVENT = ("INSERT INTO events (post_id, at, action, from_status, to_status, attempt_id, actor, detail) "
         "VALUES (?, ?, ?, ?, ?, ?, 'floor', '{}')")
# PostgreSQL: a move and its event in one statement
LOGGED = ("INSERT INTO events (post_id, at, action, from_status, to_status, attempt_id, actor, detail) "
          "SELECT id, %s, %s, %s, %s, %s, 'floor', '{}' FROM moved")
START_LOGGED = f"WITH moved AS ({START.replace('?', '%s')}), logged AS ({LOGGED}) SELECT * FROM moved"
MOVE_LOGGED = f"WITH moved AS ({MOVE.replace('?', '%s')} RETURNING id) {LOGGED}"


class Store:
    """One DBAPI connection and the dialect's spelling of BEGIN, placeholders and row locks."""

    def __init__(self, connection: Any, begin: str, placeholder: str, lock: str, stamp: Callable[[datetime], Any],
                 least: bool = False):
        self.connection, self.begin_sql, self.placeholder, self.lock, self.stamp = (
            connection, begin, placeholder, lock, stamp)
        self.least = least  # PostgreSQL: the start autocommitted too (see publish_postgres)

    def sql(self, text: str) -> str:
        return text.replace("?", self.placeholder)

    def begin(self) -> Any:
        cursor = self.connection.cursor()
        if self.begin_sql:
            cursor.execute(self.begin_sql)
        return cursor

    def commit(self, cursor: Any) -> None:
        self.connection.commit()
        cursor.close()


def claim(store: Store, now: Any) -> list[tuple[int, str]]:
    cursor = store.begin()
    rows = cursor.execute(store.sql(DUE + store.lock), (now, BATCH)).fetchall()
    claims = [(post_id, uuid.uuid4().hex) for (post_id,) in rows]
    cursor.executemany(store.sql(CLAIM), [(now, attempt, post_id) for post_id, attempt in claims])
    cursor.executemany(store.sql(EVENT), [(post_id, now, "claimed", "scheduled", "queued", attempt)
                                          for post_id, attempt in claims])
    store.commit(cursor)
    return claims


def publish(store: Store, post_id: int, attempt: str, now: Any) -> None:
    if store.placeholder == "%s":
        publish_postgres(store.connection, post_id, attempt, now, least=store.least)
        return
    cursor = store.begin()
    cursor.execute(START, (now, now, post_id, attempt)).fetchone()
    cursor.execute(EVENT, (post_id, now, "publishing", "queued", "publishing", attempt))
    store.commit(cursor)
    cursor = store.begin()
    cursor.execute(MOVE, ("published", now, post_id, "publishing", attempt))
    cursor.execute(EVENT, (post_id, now, "published", "publishing", "published", attempt))
    store.commit(cursor)


def publish_postgres(connection: Any, post_id: int, attempt: str, now: Any, *, least: bool) -> None:
    """promo's four round trips; ``least``: two, each one autocommitted statement.

    Two durable commits per post, one before the platform call and one after, each with its event,
    is the least an exactly-once ledger with an audit trail can do; promo's start adds BEGIN and
    COMMIT around its move so a policy can still say no after reading the post.
    """
    connection.autocommit = least
    with connection.cursor() as cursor:
        cursor.execute(START_LOGGED, (now, now, post_id, attempt, now, "publishing", "queued", "publishing", attempt))
        cursor.fetchone()
    if not least:
        connection.commit()
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(MOVE_LOGGED, ("published", now, post_id, "publishing", attempt,
                                     now, "published", "publishing", "published", attempt))
    connection.autocommit = False


def measure(store: Store, n: int) -> float:
    start, done = time.perf_counter(), 0
    while done < n:
        now = store.stamp(datetime.now(UTC))
        claims = claim(store, now)
        for post_id, attempt in claims:
            publish(store, post_id, attempt, now)
        done += len(claims)
    return n / (time.perf_counter() - start)


def sqlite_floor(folder: Path, n: int) -> float:
    path = folder / "promo.db"
    engine = make_store(f"sqlite:///{path}")
    insert_posts(engine, [datetime.now(UTC)] * n)
    engine.dispose()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    try:
        return measure(Store(db, "BEGIN IMMEDIATE", "?", "", _stamp), n)
    finally:
        db.close()


def postgres_floor(url: str, n: int, *, least: bool = False, flush: bool = True) -> tuple[float, float]:
    """Posts per second, and the server's CPU ms per post (its backend process, read from /proc).

    ``flush=False``: ``synchronous_commit=off``, so no commit waits for its WAL flush: what grouping
    commits could at best buy (it is not promo's setting: a crash could lose a commit already answered).
    """
    import psycopg
    from sqlalchemy.engine import make_url

    engine = make_store(url)
    insert_posts(engine, [datetime.now(UTC)] * n)
    engine.dispose()
    parsed = make_url(url)
    options = parsed.query.get("options")
    options = " ".join([*([options] if isinstance(options, str) else []), *([] if flush else
                                                                          ["-c synchronous_commit=off"])])
    db = psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database,
                         password=parsed.password, options=options or None)
    try:
        backend = db.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
        db.commit()
        before = cpu_seconds(backend)
        rate = measure(Store(db, "", "%s", " FOR UPDATE", lambda at: at, least=least), n)
        return rate, (cpu_seconds(backend) - before) / n * 1000
    finally:
        db.close()


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0], default_n=10_000, quick_n=100)
    p.add_argument("--skip-postgres", action="store_true", help="SQLite only")
    args = p.parse_args(argv)
    n, rows = size(args), list[tuple[str, float, float | None]]()
    with tempfile.TemporaryDirectory(prefix="promo-bench-") as tmp:
        rows.append(("SQLite", sqlite_floor(Path(tmp), n), None))
    if not args.skip_postgres:
        for name, least, flush in (("PostgreSQL", False, True), ("PostgreSQL, 2 round trips", True, True),
                                   ("PostgreSQL, 2 round trips, no flush wait", True, False)):
            with postgres_schema() as url:
                rows.append((name, *postgres_floor(url, n, least=least, flush=flush)))
    report(args, "Floor: the ledger protocol in plain SQL (one process)",
           ["store", "posts", "posts/s", "ms per post", "server CPU ms per post"],
           [[store, f"{n:,}", f"{rate:,.0f}", f"{1000 / rate:.3f}", "-" if server is None else f"{server:.3f}"]
            for store, rate, server in rows],
           [Target("floor recorded", True, ", ".join(f"{store} {rate:,.0f}/s" for store, rate, _ in rows))],
           ["per post, plus a 500th of a claim (select, executemany UPDATE, multi-row INSERT): SQLite 2 "
            "transactions of 2 statements; PostgreSQL 4 round trips (BEGIN, the move with its event, COMMIT, "
            "the autocommitted outcome with its event): what the database itself costs",
            "PostgreSQL, 2 round trips: the start autocommitted too, the least an exactly-once ledger with an "
            "audit trail can do (a durable commit before the platform call and one after)",
            "no flush wait: the same with synchronous_commit=off, what grouping the commits could at best buy; "
            "server CPU: the PostgreSQL backend's own CPU time (from /proc) per post"])


if __name__ == "__main__":
    main()
