"""The beat refreshes a connected account's token before it expires, on its own thread (issue 14):
a real ``promo beat`` process, a token connected through the fake authorisation server, and a
publish with the refreshed token after the first one has expired on the platform."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from promo.accounts import load_accounts
from promo.engine.runtime import Runtime
from promo.store.db import make_engine
from promo.store.migrate import upgrade
from promo.store.tables import AccountToken
from promo.store.tokens import cipher, load
from promo.times import utcnow
from tests.conftest import RedisServer
from tests.connect.connectkit import (
    KEY,
    connect,
    environment,
    leaks,
    lifetime_of,
    network,
    project,
    publish_one,
    secrets_of,
)
from tests.engine.enginekit import EngineProcess, engine_env, settings_for, wait_for

NAME = "jj-x"


def _stored_access(engine, name: str) -> str:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return load(connection, name, cipher({"PROMO_SECRET_KEY": KEY})).tokens.access_token


@pytest.mark.slow
def test_the_beat_refreshes_a_token_before_it_expires(tmp_path: Path, sqlite_url: str,
                                                      redis_server: RedisServer,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMO_SECRET_KEY", KEY)
    engine = make_engine(sqlite_url)
    upgrade(engine)
    with network("x") as net:
        settings, accounts = project(tmp_path, sqlite_url, net, NAME)
        assert connect(settings, engine, accounts[NAME])["verified"].startswith("ok")
        first = _stored_access(engine, NAME)
        with engine.begin() as connection:  # a minute left of its two hours: due (under 20% of its life)
            connection.execute(update(AccountToken).where(AccountToken.account == NAME)
                               .values(expires_at=utcnow() + timedelta(minutes=1)))
        env = engine_env(tmp_path, sqlite_url, redis_server.url, "unused", token_refresh_interval=0.5) \
            | environment(NAME)
        beat = EngineProcess(tmp_path, env, "beat")
        try:
            # the token endpoint answered, then the beat stored the new tokens (one transaction)
            wait_for(lambda: _stored_access(engine, NAME) != first, 30, what="the beat's refresh")
            wait_for(lambda: "token refresh: jj-x refreshed" in beat.output(), 10, what="the beat's event line")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- beat ---\n{beat.output()[-3000:]}") from None
        finally:
            beat.stop()
        assert net.server.refreshes >= 1
        net.server.advance(lifetime_of(net) * 1.1)  # the first token has expired on the platform
        assert net.server.verdict(first) == "expired"
        fresh = settings_for(tmp_path, sqlite_url)
        runtime = Runtime(fresh, engine, load_accounts(fresh.config_file, environ=environment(NAME)), actor="test")
        assert publish_one(runtime, engine, "Jessica Jones season 3 is streaming")[1] == "published"
        assert leaks([beat.output()], secrets_of(net)) == []
        assert "token refresh: jj-x refreshed" in beat.output()
    engine.dispose()
