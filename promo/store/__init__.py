"""The store: tables, connections, migrations and the ledger's one write primitive.

``make_engine(url)`` connects (SQLite by default, PostgreSQL by URL); ``upgrade(engine)`` brings the
schema to head; ``transaction(engine)`` is one unit of work; ``transition(...)`` is the only way a
post changes state.

The names are loaded on first use, so ``from promo.store import states`` stays free of SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from promo.store.db import is_sqlite, make_engine, transaction
    from promo.store.ledger import log, status_of, transition
    from promo.store.migrate import HEAD, current_revision, upgrade

_EXPORTS = {
    "is_sqlite": "promo.store.db",
    "make_engine": "promo.store.db",
    "transaction": "promo.store.db",
    "log": "promo.store.ledger",
    "status_of": "promo.store.ledger",
    "transition": "promo.store.ledger",
    "HEAD": "promo.store.migrate",
    "current_revision": "promo.store.migrate",
    "upgrade": "promo.store.migrate",
}

__all__ = [
    "HEAD",
    "current_revision",
    "is_sqlite",
    "log",
    "make_engine",
    "status_of",
    "transaction",
    "transition",
    "upgrade",
]


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'promo.store' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)
