"""A refused token during a publish: one refresh and one more try; a revoked one holds the account's
posts (not failed) and ``promo status`` names the account and the command; connecting again releases
them. Two refreshers at once refresh once. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import Engine, select

from promo.engine.runtime import Runtime
from promo.manage.connections import refresh_due
from promo.manage.status import engine_status
from promo.store.notifications import notifications_of
from promo.store.tables import Event
from promo.times import utcnow
from tests.connect.connectkit import KEY, connect, environment, network, project, publish_one
from tests.engine.enginekit import actions, add_post, post


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMO_SECRET_KEY", KEY)


def test_an_expired_token_is_refreshed_once_during_a_publish(tmp_path: Path, database_url: str, engine: Engine) -> None:
    with network("x") as net:
        settings, accounts = project(tmp_path, database_url, net, "jj-x")
        connect(settings, engine, accounts["jj-x"])
        runtime = Runtime(settings, engine, accounts, actor="test")
        assert publish_one(runtime, engine, "Before the token expires")[1] == "published"
        net.server.advance(7300)  # expired, and nobody refreshed it ahead of time
        _, outcome = publish_one(runtime, engine, "After the token expired")
        assert outcome == "published" and net.server.refreshes == 1
        assert len(net.api.requests_to("/2/tweets")) == 3 and len(net.api.tweets) == 2  # refused, then sent


def test_a_revoked_token_holds_the_accounts_posts_until_it_is_connected_again(
        tmp_path: Path, database_url: str, engine: Engine) -> None:
    with network("linkedin") as net:
        settings, accounts = project(tmp_path, database_url, net, "jj-linkedin")
        connect(settings, engine, accounts["jj-linkedin"])
        runtime = Runtime(settings, engine, accounts, actor="test")
        net.server.revoke_all()  # the person removed promo's access on LinkedIn
        first, outcome = publish_one(runtime, engine, "Refused, then refused again")
        assert outcome == "held" and post(engine, first).status == "held"
        assert "connect jj-linkedin" in (post(engine, first).reason or "")
        calls = len(net.api.received)
        second, outcome = publish_one(runtime, engine, "Held without a call")
        assert outcome == "held" and len(net.api.received) == calls  # no call for a marked account

        status = engine_status(settings, engine)
        flagged = {entry["account"]: entry for entry in status.accounts}
        assert "promo accounts connect jj-linkedin" in flagged["jj-linkedin"]["reason"]
        assert {p["id"] for p in status.attention if p["status"] == "held"} == {first, second}

        result = connect(settings, engine, accounts["jj-linkedin"])
        assert sorted(result["released"]) == [first, second] and result["flag_cleared"]
        assert post(engine, first).status == "scheduled" and "released" in actions(engine, first)
        assert engine_status(settings, engine).accounts == []
        assert publish_one(runtime, engine, "Connected again")[1] == "published"


def test_two_refreshers_at_once_refresh_once(tmp_path: Path, database_url: str, engine: Engine) -> None:
    with network("x") as net:
        settings, accounts = project(tmp_path, database_url, net, "jj-x")
        connect(settings, engine, accounts["jj-x"])
        later = utcnow() + timedelta(seconds=7000)
        start = threading.Barrier(2)
        results: list[list] = []

        def beat(owner: str) -> None:
            start.wait(5)
            results.append(refresh_due(settings, engine, accounts, owner=owner, now=later,
                                       environ=environment("jj-x")))

        threads = [threading.Thread(target=beat, args=(f"beat-{n}",)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        outcomes = sorted(r.outcome for found in results for r in found)
        assert net.server.refreshes == 1, outcomes
        assert outcomes.count("refreshed") == 1 and set(outcomes) <= {"refreshed", "busy", "not-due"}
        again = refresh_due(settings, engine, accounts, owner="beat-3", environ=environment("jj-x"))
        assert again == [] and net.server.refreshes == 1  # the new token is not due now


def test_a_refused_refresh_marks_the_account_and_flags_it(tmp_path: Path, database_url: str, engine: Engine) -> None:
    with network("x") as net:
        settings, accounts = project(tmp_path, database_url, net, "jj-x")
        connect(settings, engine, accounts["jj-x"])
        net.server.revoke_all()
        done = refresh_due(settings, engine, accounts, owner="beat", now=utcnow() + timedelta(seconds=7000),
                           environ=environment("jj-x"))
        assert [r.outcome for r in done] == ["needs-reconnect"]
        post_id = add_post(engine, account="jj-x", platform="x")
        assert post_id and "promo accounts connect jj-x" in engine_status(settings, engine).accounts[0]["reason"]
        with engine.connect() as connection:  # logged, so a [notify] subscription hears of it
            logged = connection.execute(select(Event).where(Event.action == "needs-reconnect")).all()
        [event] = logged
        assert event.post_id is None and event.detail["account"] == "jj-x"
        [(kind, payload)] = notifications_of(SimpleNamespace(post_id=None, action=event.action, at=event.at,
                                                             detail=event.detail))
        assert kind == "account.needs_reconnect" and payload["data"]["account"] == "jj-x"


def test_a_token_endpoint_that_fails_is_tried_again_later(tmp_path: Path, sqlite_url: str, engine: Engine) -> None:
    with network("x") as net:
        settings, accounts = project(tmp_path, sqlite_url, net, "jj-x")
        connect(settings, engine, accounts["jj-x"])
        later = utcnow() + timedelta(seconds=7000)
        assert net.oauth is not None
        net.oauth.fail_next("/oauth2/token", status=503, body={"title": "Service Unavailable"})
        failed = refresh_due(settings, engine, accounts, owner="beat", now=later, environ=environment("jj-x"))
        assert [r.outcome for r in failed] == ["failed"] and "tries again later" in failed[0].detail
        again = refresh_due(settings, engine, accounts, owner="beat", now=later, environ=environment("jj-x"))
        assert [r.outcome for r in again] == ["refreshed"]  # the lease was released, the old token kept


def test_apply_does_not_call_a_connected_accounts_credentials_missing(tmp_path: Path, sqlite_url: str,
                                                                      engine: Engine) -> None:
    from promo.manage.accounts import credential_warnings

    with network("linkedin") as net:
        settings, accounts = project(tmp_path, sqlite_url, net, "jj-linkedin")
        before = credential_warnings(accounts.values(), engine)
        assert "or 'promo accounts connect jj-linkedin'" in before[0]
        connect(settings, engine, accounts["jj-linkedin"])
        assert credential_warnings(accounts.values(), engine) == []
