"""Alembic environment for promo's store.

promo builds the alembic Config in code (``promo.store.migrate``) and hands this script an open
connection in ``config.attributes["connection"]``, already inside the transaction (and, on
PostgreSQL, holding the advisory lock) that makes the upgrade safe to run from two processes.
"""

from __future__ import annotations

from alembic import context

from promo.store.tables import Base

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through promo.store.migrate.upgrade(engine)")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("promo does not generate offline SQL scripts")
run_migrations_online()
