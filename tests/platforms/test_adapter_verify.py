"""Every adapter's ``verify`` goes through its boundary: an unreachable platform is a clear promo error.

One table for all platforms: an account pointed at a closed port must fail ``verify`` with
``Retryable`` (nothing reached the platform), never with the client library's own exception, which
``promo accounts check`` would report as "internal error".
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from promo.errors import Retryable
from promo.platforms.registry import PLATFORMS
from tests.fakes.accounts import adapter, make_account
from tests.fakes.bluesky import APP_PASSWORD, HANDLE
from tests.fakes.discord import WEBHOOK_PATH as DISCORD_PATH
from tests.fakes.facebook import PAGE_ID, PAGE_TOKEN
from tests.fakes.harness import closed_port_url
from tests.fakes.instagram import IG_TOKEN, IG_USER_ID
from tests.fakes.linkedin import AUTHOR, LINKEDIN_TOKEN
from tests.fakes.mastodon import MASTODON_TOKEN
from tests.fakes.reddit import REDDIT_TOKEN, SUBREDDIT
from tests.fakes.slack import WEBHOOK_PATH as SLACK_PATH
from tests.fakes.telegram import TOKEN as TELEGRAM_TOKEN
from tests.fakes.threads import THREADS_TOKEN, USER_ID
from tests.fakes.tiktok import TIKTOK_TOKEN
from tests.fakes.x import CREDENTIALS as X_CREDENTIALS
from tests.fakes.youtube import TOKEN as YOUTUBE_TOKEN

# platform -> (credentials, options) of a working account; base_url points it at a closed port
ACCOUNTS: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    "x": (X_CREDENTIALS, {"handle": "JessicaJones"}),
    "mastodon": ({"access_token": MASTODON_TOKEN}, {}),
    "bluesky": ({"app_password": APP_PASSWORD}, {"handle": HANDLE}),
    "threads": ({"access_token": THREADS_TOKEN}, {"user_id": USER_ID}),
    "linkedin": ({"access_token": LINKEDIN_TOKEN}, {"author": AUTHOR}),
    "facebook": ({"page_token": PAGE_TOKEN}, {"page_id": PAGE_ID}),
    "telegram": ({"bot_token": TELEGRAM_TOKEN}, {"chat_id": "@jessicajones"}),
    "discord": ({"webhook_url": f"https://discord.com{DISCORD_PATH}"}, {}),
    "slack": ({"webhook_url": f"https://hooks.slack.com{SLACK_PATH}"}, {}),
    "webhook": ({"signing_secret": "webhook-secret"}, {"url": "https://example.com/promo-hook"}),
    "youtube": ({"access_token": YOUTUBE_TOKEN}, {}),
    "instagram": ({"access_token": IG_TOKEN}, {"user_id": IG_USER_ID}),
    "reddit": ({"access_token": REDDIT_TOKEN}, {"subreddit": SUBREDDIT}),
    "tiktok": ({"access_token": TIKTOK_TOKEN}, {"username": "jessicajones"}),
}


def test_the_table_covers_every_networked_platform() -> None:
    assert set(ACCOUNTS) == set(PLATFORMS) - {"outbox"}


@pytest.mark.parametrize("platform", sorted(ACCOUNTS))
def test_verify_on_a_closed_port_is_retryable(platform: str) -> None:
    credentials, options = ACCOUNTS[platform]
    account = make_account(platform, closed_port_url(), credentials, **options)
    with pytest.raises(Retryable, match="could not reach"):
        adapter(account).verify()


def test_accounts_check_reports_an_unreachable_slack_webhook(tmp_path: Path) -> None:
    (tmp_path / "promo.toml").write_text(f'[accounts.jj-slack]\nplatform = "slack"\nbase_url = "{closed_port_url()}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMO_")}
    env |= {"PROMO_ACCOUNT_JJ_SLACK_WEBHOOK_URL": ACCOUNTS["slack"][0]["webhook_url"],
            "PROMO_HOME": str(tmp_path / ".promo"), "PROMO_HTTP_TIMEOUT": "2"}
    done = subprocess.run([sys.executable, "-c", "from promo.cli import main; main()", "accounts", "check"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stdout.startswith("FAIL jj-slack (slack): slack: could not reach the platform (ConnectError")
    assert "internal error" not in done.stdout + done.stderr and "Traceback" not in done.stderr
    assert "slack-fake-secret" not in done.stdout + done.stderr
