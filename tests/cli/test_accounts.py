"""``promo accounts`` and ``promo accounts check`` against fake platforms; no secret in any output or log."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from promo.posts import MemoryJournal
from tests.fakes.accounts import adapter, make_account, single
from tests.fakes.bluesky import APP_PASSWORD, HANDLE, FakeBluesky
from tests.fakes.mastodon import MASTODON_TOKEN, FakeMastodon
from tests.fakes.telegram import TOKEN, FakeTelegram

SECRETS = (TOKEN, MASTODON_TOKEN, APP_PASSWORD, "wrong-secret-token")


@pytest.fixture
def fakes() -> Iterator[tuple[FakeTelegram, FakeMastodon, FakeBluesky]]:
    with FakeTelegram() as telegram, FakeMastodon() as mastodon, FakeBluesky() as bluesky:
        yield telegram, mastodon, bluesky  # type: ignore[misc]


def project(tmp_path: Path, fakes: Any) -> dict[str, str]:
    telegram, mastodon, bluesky = fakes
    (tmp_path / "promo.toml").write_text(f"""
[accounts.jj-telegram]
platform = "telegram"
chat_id = "@jessicajones"
base_url = "{telegram.url}"

[accounts.jj-mastodon]
platform = "mastodon"
base_url = "{mastodon.url}"

[accounts.jj-bluesky]
platform = "bluesky"
handle = "{HANDLE}"
base_url = "{bluesky.url}"

[accounts.jj-mastodon-revoked]
platform = "mastodon"
base_url = "{mastodon.url}"

[accounts.jj-x]
platform = "x"
handle = "JessicaJones"
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMO_")}
    env.update(
        {
            "PROMO_ACCOUNT_JJ_TELEGRAM_BOT_TOKEN": TOKEN,
            "PROMO_ACCOUNT_JJ_MASTODON_ACCESS_TOKEN": MASTODON_TOKEN,
            "PROMO_ACCOUNT_JJ_BLUESKY_APP_PASSWORD": APP_PASSWORD,
            "PROMO_ACCOUNT_JJ_MASTODON_REVOKED_ACCESS_TOKEN": "wrong-secret-token",
            "PROMO_HTTP_TIMEOUT": "2",
            "PROMO_HOME": str(tmp_path / ".promo"),
        }
    )
    return env


def promo(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from promo.cli import main; main()", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def test_accounts_lists_without_secrets(tmp_path: Path, fakes: Any) -> None:
    env = project(tmp_path, fakes)
    listed = promo(tmp_path, env, "accounts", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["jj-x"]["credentials"] == {
        "api_key": "missing",
        "api_secret": "missing",
        "access_token": "missing",
        "access_token_secret": "missing",
    }
    assert rows["jj-telegram"]["credentials"] == {"bot_token": "set"}
    assert rows["jj-bluesky"]["base_url"] == fakes[2].url
    text = promo(tmp_path, env, "accounts")
    assert "jj-mastodon  mastodon" in text.stdout
    assert_no_secret(listed.stdout, listed.stderr, text.stdout, text.stderr)


def test_accounts_check_verifies_read_only(tmp_path: Path, fakes: Any) -> None:
    telegram, mastodon, bluesky = fakes
    env = project(tmp_path, fakes)
    one = promo(tmp_path, env, "accounts", "check", "jj-telegram")
    assert (
        one.returncode == 0
        and one.stdout.strip() == "ok   jj-telegram (telegram): @promo_bot in @jessicajones"
    )
    every = promo(tmp_path, env, "accounts", "check", "--json")
    assert every.returncode == 1
    results = {r["name"]: r for r in json.loads(every.stdout)}
    assert results["jj-mastodon"]["ok"] and results["jj-bluesky"]["detail"] == f"@{HANDLE}"
    assert (
        not results["jj-mastodon-revoked"]["ok"]
        and "token refused" in results["jj-mastodon-revoked"]["detail"]
    )
    assert not results["jj-x"]["ok"] and "PROMO_ACCOUNT_JJ_X_API_KEY" in results["jj-x"]["detail"]
    assert telegram.messages == {} and mastodon.statuses == {} and bluesky.records == {}
    assert all(r.method == "GET" for r in telegram.received + mastodon.received)
    assert_no_secret(one.stdout, one.stderr, every.stdout, every.stderr)
    unknown = promo(tmp_path, env, "accounts", "check", "nope")
    assert unknown.returncode != 0 and "unknown account 'nope'" in unknown.stderr


def test_no_secret_in_logs(fakes: Any, caplog: pytest.LogCaptureFixture) -> None:
    telegram, _, _ = fakes
    caplog.set_level(logging.DEBUG)
    account = make_account("telegram", telegram.url, {"bot_token": TOKEN}, chat_id="@jessicajones")
    adapter(account).publish(single("telegram"), MemoryJournal())
    assert any("sendMessage" in r.getMessage() for r in caplog.records)  # httpx logged the URL...
    assert_no_secret(caplog.text, *(r.getMessage() for r in caplog.records))  # ...masked


def test_a_passing_check_clears_the_accounts_credentials_flag(tmp_path: Path, fakes: Any) -> None:
    from sqlalchemy import select

    from promo.engine.ratelimits import flag
    from promo.store.db import make_engine, transaction
    from promo.store.migrate import upgrade
    from promo.store.tables import AccountState
    from promo.times import utcnow

    env = project(tmp_path, fakes) | {"PROMO_DATABASE_URL": f"sqlite:///{tmp_path / 'promo.db'}"}
    store = make_engine(env["PROMO_DATABASE_URL"])
    upgrade(store)
    with transaction(store) as session:
        for name in ("jj-mastodon", "jj-mastodon-revoked"):
            flag(session, name, "mastodon refused the credentials", utcnow())
    passed = promo(tmp_path, env, "accounts", "check", "jj-mastodon")
    failed = promo(tmp_path, env, "accounts", "check", "jj-mastodon-revoked")
    assert passed.returncode == 0 and passed.stdout.rstrip().endswith("(credentials flag cleared)"), passed.stderr
    assert failed.returncode == 1 and "flag cleared" not in failed.stdout
    with transaction(store) as session:
        flags = dict(session.execute(select(AccountState.account, AccountState.flagged_reason)).tuples().all())
    store.dispose()
    assert flags == {"jj-mastodon": None, "jj-mastodon-revoked": "mastodon refused the credentials"}
