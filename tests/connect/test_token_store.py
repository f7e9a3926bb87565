"""The token store: encrypted rows (never plain text, on SQLite and PostgreSQL), keys from
PROMO_SECRET_KEY with one clear error, key rotation, and an atomic refresh write."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, MetaData, select

from promo.errors import ConfigError
from promo.manage.connections import rotate_key
from promo.store import tokens
from promo.store.tokens import TokenSet
from promo.times import utcnow

ACCESS, REFRESH, PAGE = "acc-7f3e1c9a2b", "ref-55d0e4c3b1", "page-99a1c2e3f4"


def _tokens() -> TokenSet:
    return TokenSet(ACCESS, REFRESH, "bearer", ("tweet.read", "tweet.write"), utcnow() + timedelta(hours=2), 7200,
                    {"page_token": PAGE})


def _dump(engine: Engine) -> str:
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        return "\n".join(repr(tuple(row)) for table in metadata.sorted_tables
                         for row in connection.execute(select(table)))


def test_tokens_are_never_stored_in_plain_text(engine: Engine, database_url: str) -> None:
    keys = tokens.cipher({"PROMO_SECRET_KEY": Fernet.generate_key().decode()})
    with engine.begin() as connection:
        tokens.save(connection, keys, "jj-x", "x", _tokens(), utcnow())
    with engine.connect() as connection:
        stored = tokens.load(connection, "jj-x", keys)
        assert stored is not None and stored.tokens is not None
        assert (stored.tokens.access_token, stored.tokens.refresh_token) == (ACCESS, REFRESH)
        assert stored.tokens.extras["page_token"] == PAGE and stored.scopes == ("tweet.read", "tweet.write")
        assert ACCESS not in repr(stored) and ACCESS not in repr(stored.tokens)
    texts = [_dump(engine)]
    if database_url.startswith("sqlite"):
        texts.append(Path(database_url.removeprefix("sqlite:///")).read_bytes().decode("latin-1"))
    for secret in (ACCESS, REFRESH, PAGE):
        assert not any(secret in text for text in texts), secret
    assert "tweet.read" in texts[0]  # what may be shown is readable


@pytest.mark.parametrize(("value", "fragment"), [
    ("", "PROMO_SECRET_KEY is not set"),
    ("not-a-key", "PROMO_SECRET_KEY: key 1 is not a Fernet key"),
    (f"{Fernet.generate_key().decode()},short", "PROMO_SECRET_KEY: key 2 is not a Fernet key"),
], ids=["empty", "not-a-key", "second-key-short"])
def test_a_missing_or_malformed_key_is_one_clear_line(value: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as raised:
        tokens.cipher({"PROMO_SECRET_KEY": value})
    message = str(raised.value)
    assert fragment in message and "Fernet.generate_key()" in message and "\n" not in message


def test_rotating_the_key_reencrypts_every_row(engine: Engine) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with engine.begin() as connection:
        for name in ("jj-x", "jj-linkedin"):
            tokens.save(connection, tokens.cipher({"PROMO_SECRET_KEY": old}), name, "x", _tokens(), utcnow())
    before = _dump(engine)
    assert rotate_key(engine, {"PROMO_SECRET_KEY": f"{new},{old}"}) == 2
    assert _dump(engine) != before
    with engine.connect() as connection:
        found = tokens.load(connection, "jj-x", tokens.cipher({"PROMO_SECRET_KEY": new}))  # the new key alone
        assert found is not None and found.tokens is not None and found.tokens.access_token == ACCESS
        with pytest.raises(ConfigError, match="do not open with PROMO_SECRET_KEY"):
            tokens.load(connection, "jj-x", tokens.cipher({"PROMO_SECRET_KEY": old}))
    with pytest.raises(ConfigError, match="keep the old key after the new one"):
        rotate_key(engine, {"PROMO_SECRET_KEY": Fernet.generate_key().decode()})


def test_a_refresh_replaces_both_tokens_in_one_write_and_bumps_the_version(engine: Engine) -> None:
    keys = tokens.cipher({"PROMO_SECRET_KEY": Fernet.generate_key().decode()})
    now = utcnow()
    with engine.begin() as connection:
        tokens.save(connection, keys, "jj-x", "x", _tokens(), now)
        assert tokens.take_lease(connection, "jj-x", "beat-1", now, 60)
        assert not tokens.take_lease(connection, "jj-x", "beat-2", now, 60)
        assert tokens.take_lease(connection, "jj-x", "beat-2", now + timedelta(seconds=61), 60)  # lapsed
    rotated = TokenSet("acc-new", "ref-new", "bearer", ("tweet.read",), now + timedelta(hours=2), 7200)
    with engine.begin() as connection:
        tokens.save(connection, keys, "jj-x", "x", rotated, now, refreshed=True)
    with engine.connect() as connection:
        stored = tokens.load(connection, "jj-x", keys)
        assert stored is not None and stored.tokens is not None
        assert (stored.tokens.access_token, stored.tokens.refresh_token, stored.version) == ("acc-new", "ref-new", 2)
        assert stored.refreshed_at is not None and stored.connected_at == now
        assert tokens.take_lease(connection, "jj-x", "beat-3", now, 60)  # the write released the lease
