"""Account flags that clear (issue 12, item 5): a 429 block ends by itself at its reset, a credentials
flag clears on a passing ``promo accounts check`` or a successful publish, and neither overwrites the
other. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select

from promo.engine.dispatch import dispatch
from promo.engine.publishing import publish_claimed
from promo.engine.ratelimits import block, blocked_until, clear_flag, flag
from promo.manage.accounts import verify_accounts
from promo.manage.status import engine_status
from promo.store.db import transaction
from promo.store.tables import AccountState
from promo.times import utcnow
from tests.engine.enginekit import add_post, post
from tests.fakes.accounts import make_account
from tests.fakes.mastodon import MASTODON_TOKEN, FakeMastodon
from tests.fakes.webhook import Receiver

REFUSED = "x refused the credentials: re-authorise the account"


def state(store: Engine, account: str) -> AccountState:
    with transaction(store) as session:
        row = session.scalar(select(AccountState).where(AccountState.account == account))
        assert row is not None
        session.expunge(row)
        return row


def shown(rt: Any, store: Engine, now: Any) -> dict[str, dict[str, Any]]:
    return {entry["account"]: entry for entry in engine_status(rt.settings, store, now=now).accounts}


def test_a_block_and_a_flag_never_overwrite_each_other(make_runtime: Any, store: Engine) -> None:
    rt, now = make_runtime(), utcnow()
    until = now + timedelta(seconds=30)
    with transaction(store) as session:
        block(session, "blocked-first", until, "rate limited by x")
        flag(session, "blocked-first", REFUSED, now)
        flag(session, "flagged-first", REFUSED, now)
        block(session, "flagged-first", until, "rate limited by x")
    for account in ("blocked-first", "flagged-first"):
        row = state(store, account)
        assert (row.blocked_until, row.blocked_reason, row.flagged_reason) == (until, "rate limited by x", REFUSED)
        entry = shown(rt, store, now)[account]
        assert entry["blocked_until"] and entry["blocked_reason"] == "rate limited by x"
        assert entry["flagged_reason"] == REFUSED and entry["flagged_at"]
    after_reset = until + timedelta(seconds=1)  # the block ends by itself; the flag stays
    entry = shown(rt, store, after_reset)["blocked-first"]
    assert (entry["blocked_until"], entry["blocked_reason"], entry["flagged_reason"]) == (None, "", REFUSED)
    with transaction(store) as session:
        assert clear_flag(session, "flagged-first") and not clear_flag(session, "flagged-first")
        assert blocked_until(session, "flagged-first", now) == until  # clearing the flag kept the block
    assert "flagged-first" in shown(rt, store, now) and "flagged-first" not in shown(rt, store, after_reset)


def test_an_expired_block_needs_no_writer_to_leave_status(make_runtime: Any, store: Engine) -> None:
    rt, now = make_runtime(), utcnow()
    with transaction(store) as session:
        block(session, "hook", now + timedelta(seconds=5), "rate limited by webhook")
    assert [entry["account"] for entry in engine_status(rt.settings, store, now=now).accounts] == ["hook"]
    later = engine_status(rt.settings, store, now=now + timedelta(seconds=6))
    assert later.accounts == [] and later.healthy  # 'promo status' exits 0 again
    assert state(store, "hook").blocked_until is not None  # nothing wrote: it is read as over


def test_a_successful_publish_clears_the_credentials_flag(
    make_runtime: Any, store: Engine, receiver: Receiver
) -> None:
    rt = make_runtime()
    with transaction(store) as session:
        flag(session, "hook", REFUSED, utcnow())
    post_id = add_post(store)
    claim = dispatch(rt.db, rt.settings, rt.accounts)[0]
    assert publish_claimed(rt, post_id, claim.attempt_id) == "published"
    assert post(store, post_id).status == "published" and len(receiver.calls) == 1
    row = state(store, "hook")
    assert (row.flagged_reason, row.flagged_at) == (None, None)
    assert engine_status(rt.settings, store).accounts == []


def test_a_failed_publish_keeps_the_credentials_flag(
    make_runtime: Any, store: Engine, receiver: Receiver
) -> None:
    rt = make_runtime(max_attempts=1)
    receiver.mode, receiver.times = "error", 1
    with transaction(store) as session:
        flag(session, "hook", REFUSED, utcnow())
    post_id = add_post(store)
    claim = dispatch(rt.db, rt.settings, rt.accounts)[0]
    assert publish_claimed(rt, post_id, claim.attempt_id) == "failed"
    assert state(store, "hook").flagged_reason == REFUSED


def test_a_passing_check_clears_the_flag_and_a_failing_one_keeps_it(store: Engine) -> None:
    with FakeMastodon() as mastodon:
        good = make_account("mastodon", mastodon.url, {"access_token": MASTODON_TOKEN}, "jj-mastodon")
        bad = make_account("mastodon", mastodon.url, {"access_token": "wrong"}, "jj-revoked")
        with transaction(store) as session:
            for account in ("jj-mastodon", "jj-revoked"):
                flag(session, account, REFUSED, utcnow())
                block(session, account, utcnow() + timedelta(hours=1), "rate limited by mastodon")
        results = {r["name"]: r for r in verify_accounts([good, bad], 2.0, store)}
    assert results["jj-mastodon"]["ok"] and results["jj-mastodon"]["flag_cleared"]
    assert not results["jj-revoked"]["ok"] and not results["jj-revoked"]["flag_cleared"]
    assert state(store, "jj-mastodon").flagged_reason is None
    assert state(store, "jj-mastodon").blocked_until is not None  # a check does not lift a 429 block
    assert state(store, "jj-revoked").flagged_reason == REFUSED
