"""Floor: promo's ledger protocol as plain SQL through sqlite3, no SQLAlchemy, no Celery.

The same statements and transactions a post costs in promo (dispatcher claim: select due, update,
event; publish: read, fence with its policy reads, update, event; outcome: update, event), in one
process on the same SQLite settings (WAL, synchronous=NORMAL, BEGIN IMMEDIATE). It is the store's
own ceiling for the protocol: the distance from here to promo's in-process rate (bench.hotspots)
is Python and SQLAlchemy overhead, not the database.

    python -m bench.floor                 # 10,000 posts
    python -m bench.floor --quick
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench.common import Target, parser, report, size
from bench.engine import _stamp, insert_posts, make_store

BATCH = 500
UPDATE = "UPDATE posts SET status = ?, updated_at = ?{extra} WHERE id = ? AND status = ?{fence}"
EVENT = ("INSERT INTO events (post_id, at, action, from_status, to_status, attempt_id, actor, detail) "
         "VALUES (?, ?, ?, ?, ?, ?, 'floor', '{}')")


def claim(db: sqlite3.Connection, now: str) -> list[tuple[int, str]]:
    db.execute("BEGIN IMMEDIATE")
    db.execute("SELECT scope, value FROM holds").fetchall()
    rows = db.execute("SELECT id FROM posts WHERE status = 'scheduled' AND due_at <= ? ORDER BY due_at, id "
                      "LIMIT ?", (now, BATCH)).fetchall()
    claims = []
    for (post_id,) in rows:
        attempt = uuid.uuid4().hex
        db.execute(UPDATE.format(extra=", attempt_id = ?", fence=""), ("queued", now, attempt, post_id, "scheduled"))
        db.execute(EVENT, (post_id, now, "claimed", "scheduled", "queued", attempt))
        claims.append((post_id, attempt))
    db.execute("COMMIT")
    return claims


def publish(db: sqlite3.Connection, post_id: int, attempt: str, now: str) -> None:
    db.execute("BEGIN IMMEDIATE")
    db.execute("SELECT * FROM posts WHERE id = ?", (post_id,)).fetchone()
    db.execute("COMMIT")
    db.execute("BEGIN IMMEDIATE")
    db.execute("SELECT * FROM posts WHERE id = ? AND attempt_id = ? AND status = 'queued'",
               (post_id, attempt)).fetchone()
    db.execute("SELECT scope, value FROM holds").fetchall()
    db.execute("SELECT blocked_until FROM account_state WHERE account = 'bench'").fetchone()
    fenced = UPDATE.format(extra="", fence=" AND attempt_id = ?")
    db.execute(fenced, ("publishing", now, post_id, "queued", attempt))
    db.execute(EVENT, (post_id, now, "publishing", "queued", "publishing", attempt))
    db.execute("COMMIT")
    db.execute("BEGIN IMMEDIATE")
    db.execute(fenced, ("published", now, post_id, "publishing", attempt))
    db.execute(EVENT, (post_id, now, "published", "publishing", "published", attempt))
    db.execute("COMMIT")


def measure(folder: Path, n: int) -> float:
    path = folder / "promo.db"
    make_store(f"sqlite:///{path}").dispose()
    insert_posts(make_store(f"sqlite:///{path}"), [datetime.now(UTC)] * n)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    start, done = time.perf_counter(), 0
    while done < n:
        now = _stamp(datetime.now(UTC))
        claims = claim(db, now)
        for post_id, attempt in claims:
            publish(db, post_id, attempt, now)
        done += len(claims)
    db.close()
    return n / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    args = parser(__doc__.splitlines()[0], default_n=10_000, quick_n=100).parse_args(argv)
    n = size(args)
    with tempfile.TemporaryDirectory(prefix="promo-bench-") as tmp:
        rate = measure(Path(tmp), n)
    report(args, "Floor: the ledger protocol in plain SQL (SQLite, one process)", ["posts", "posts/s", "ms per post"],
           [[f"{n:,}", f"{rate:,.0f}", f"{1000 / rate:.2f}"]], [Target("floor recorded", True, f"{rate:,.0f}/s")],
           ["4 transactions per post (claim share, read, fence, outcome), 9 statements: what SQLite itself costs"])


if __name__ == "__main__":
    main()
