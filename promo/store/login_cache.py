"""``DbLoginCache``: a platform ``LoginCache`` in the database's ``meta`` table, shared by every worker.

Bluesky allows 300 logins a day per account: workers save the exported login here after logging in
and reuse it, instead of each process logging in again. Each ``set`` commits at once.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Engine

from promo.store.db import transaction
from promo.store.meta import get_meta, put_meta

PREFIX = "session:"  # the stored keys' prefix, kept from before the rename so saved logins still count
_KEY_ROOM = 64 - len(PREFIX)


class DbLoginCache:
    """``get``/``set`` small strings by key; keys longer than the column are hashed."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, key: str) -> str | None:
        with transaction(self.engine) as session:
            return get_meta(session, _column_key(key))

    def set(self, key: str, value: str) -> None:
        with transaction(self.engine) as session:
            put_meta(session, _column_key(key), value)


def _column_key(key: str) -> str:
    if len(key) <= _KEY_ROOM:
        return PREFIX + key
    return PREFIX + hashlib.sha256(key.encode()).hexdigest()[:_KEY_ROOM]
