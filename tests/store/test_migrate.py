"""Migrations: the initial revision builds exactly tables.py; upgrade() is idempotent and race-safe."""

from __future__ import annotations

import threading

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from promo.store.db import make_engine
from promo.store.migrate import HEAD, alembic_config, current_revision, upgrade
from promo.store.tables import Base


def test_head_constant_matches_the_scripts() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD


def test_migrating_an_empty_database_matches_the_tables(database_url: str) -> None:
    engine = make_engine(database_url)
    assert current_revision(engine) is None
    upgrade(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                Base.metadata)
    assert diff == []
    assert current_revision(engine) == HEAD
    engine.dispose()


def test_upgrade_twice_is_a_no_op(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO meta (key, value) VALUES ('kept', 'yes')"))
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT value FROM meta WHERE key = 'kept'")).scalar() == "yes"
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    engine.dispose()


def test_concurrent_upgrades_are_safe(database_url: str) -> None:
    engines = [make_engine(database_url) for _ in range(3)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(engines))

    def run(engine):  # type: ignore[no-untyped-def]
        try:
            start.wait(5)
            upgrade(engine)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert all(current_revision(e) == HEAD for e in engines)
    for engine in engines:
        engine.dispose()


def test_0003_carries_blocks_and_flags_into_their_own_columns(database_url: str) -> None:
    """One ``reason`` column held both: a row with ``blocked_until`` held a block's reason (unless a
    credentials flag overwrote it), a row without one a flag."""
    from alembic import command

    engine = make_engine(database_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002_post_generation")
        connection.execute(text(
            "INSERT INTO account_state (account, blocked_until, window_count, reason) VALUES "
            "('blocked', '2030-01-01 00:00:00', 0, 'rate limited by x'), "
            "('flagged', NULL, 0, 'x refused the credentials: re-authorise'), "
            "('both', '2030-01-01 00:00:00', 0, 'x refused the credentials: again'), "
            "('quiet', NULL, 0, NULL)"))
    upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT account, blocked_reason, flagged_reason, flagged_at IS NOT NULL "
                                       "FROM account_state ORDER BY account")).all()
    assert [tuple(row) for row in rows] == [
        ("blocked", "rate limited by x", None, False),
        ("both", None, "x refused the credentials: again", True),
        ("flagged", None, "x refused the credentials: re-authorise", True),
        ("quiet", None, None, False),
    ]
    engine.dispose()
