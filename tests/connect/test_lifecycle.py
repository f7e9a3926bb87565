"""For each of X, LinkedIn, Threads, Facebook and Mastodon: connect through the fake authorisation
server (its loopback redirect driven by an HTTP client playing the browser), publish, let the token
expire, refresh it (``refresh_due``, as the beat does), publish again; no secret in the logs, the
events or the database file."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from promo.engine.runtime import Runtime
from promo.manage.connections import refresh_due
from promo.store.db import make_engine
from promo.store.migrate import upgrade
from promo.store.tables import Event
from promo.store.tokens import load
from promo.times import utcnow
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

PLATFORMS = ["x", "linkedin", "threads", "facebook", "mastodon"]


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMO_SECRET_KEY", KEY)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_connect_publish_expire_refresh_publish(platform: str, tmp_path: Path, sqlite_url: str,
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    name = f"jj-{platform}"
    engine = make_engine(sqlite_url)
    upgrade(engine)
    with network(platform) as net:
        settings, accounts = project(tmp_path, sqlite_url, net, name)
        result = connect(settings, engine, accounts[name])
        assert result["verified"].startswith("ok"), result
        runtime = Runtime(settings, engine, accounts, actor="test")
        assert publish_one(runtime, engine, f"Jessica Jones returns on {platform}")[1] == "published"

        first, lifetime = _stored_access(engine, name), lifetime_of(net)
        assert refresh_due(settings, engine, accounts, owner="beat", environ=environment(name)) == []  # not due
        net.server.advance(lifetime * 0.9)  # 10% of its life left: under the 20% margin
        done = refresh_due(settings, engine, accounts, owner="beat", now=utcnow() + timedelta(seconds=lifetime * 0.9),
                           environ=environment(name))
        net.server.advance(lifetime * 0.2)  # the first token has now expired on the platform
        if platform == "mastodon":  # Mastodon tokens do not expire: nothing to refresh, it still works
            assert done == [] and net.server.verdict(first) == "valid"
        else:
            assert [(r.account, r.outcome) for r in done] == [(name, "refreshed")], done
            assert _stored_access(engine, name) != first and net.server.refreshes == 1
            assert net.server.verdict(first) == "expired"
        assert publish_one(runtime, engine, f"Season 3 is streaming on {platform}")[1] == "published"

        with engine.connect() as connection:
            events = [repr(tuple(row)) for row in connection.execute(select(Event))]
        texts = [caplog.text, repr(result), *events, Path(sqlite_url.removeprefix("sqlite:///")).read_bytes()
                 .decode("latin-1")]
        assert leaks(texts, secrets_of(net)) == []
    engine.dispose()


def _stored_access(engine, name):  # type: ignore[no-untyped-def]
    from promo.store.tokens import cipher

    with engine.connect() as connection:
        return load(connection, name, cipher({"PROMO_SECRET_KEY": KEY})).tokens.access_token
