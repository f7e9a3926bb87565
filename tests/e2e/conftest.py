"""Fixtures for the end-to-end tests: every platform's fake, a promo.toml pointing at them, their credentials."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# The engine helpers (enginekit, fake_webhook) live next to the engine tests; import them under the
# same module names the engine tests use, so a whole-suite run holds one copy of each.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from fake_webhook import SECRET, FakeWebhookServer, Receiver  # noqa: E402
from fakes.bluesky import APP_PASSWORD, HANDLE, FakeBluesky  # noqa: E402
from fakes.discord import FakeDiscord  # noqa: E402
from fakes.facebook import PAGE_ID, PAGE_TOKEN, FakeFacebook  # noqa: E402
from fakes.linkedin import AUTHOR, LINKEDIN_TOKEN, FakeLinkedIn  # noqa: E402
from fakes.mastodon import MASTODON_TOKEN, FakeMastodon  # noqa: E402
from fakes.slack import FakeSlack  # noqa: E402
from fakes.telegram import TOKEN as TELEGRAM_TOKEN  # noqa: E402
from fakes.telegram import FakeTelegram  # noqa: E402
from fakes.threads import THREADS_TOKEN, USER_ID, FakeThreads  # noqa: E402
from fakes.x import CREDENTIALS as X_CREDENTIALS  # noqa: E402
from fakes.x import USER as X_USER  # noqa: E402
from fakes.x import FakeX  # noqa: E402

from promo.accounts import env_name  # noqa: E402

MEDIA_BASE_URL = "https://cdn.example.com/jj"  # Threads takes images by public URL only
TELEGRAM_CHAT = "@jessicajones"


@dataclass
class Fakes:
    """One running fake per platform, and the webhook receiver."""

    x: FakeX
    mastodon: FakeMastodon
    bluesky: FakeBluesky
    threads: FakeThreads
    linkedin: FakeLinkedIn
    facebook: FakeFacebook
    telegram: FakeTelegram
    discord: FakeDiscord
    slack: FakeSlack
    hook: Receiver

    def accounts_toml(self, outbox: Path) -> str:
        """``[accounts.jj-<platform>]`` for every platform, each pointed at its fake."""
        return f"""
[accounts.jj-x]
platform = "x"
handle = "@JessicaJones"
user_id = "{X_USER["id"]}"
base_url = "{self.x.url}"

[accounts.jj-mastodon]
platform = "mastodon"
base_url = "{self.mastodon.url}"

[accounts.jj-bluesky]
platform = "bluesky"
handle = "{HANDLE}"
base_url = "{self.bluesky.url}"

[accounts.jj-threads]
platform = "threads"
user_id = "{USER_ID}"
media_base_url = "{MEDIA_BASE_URL}"
base_url = "{self.threads.url}"

[accounts.jj-linkedin]
platform = "linkedin"
author = "{AUTHOR}"
base_url = "{self.linkedin.url}"

[accounts.jj-facebook]
platform = "facebook"
page_id = "{PAGE_ID}"
base_url = "{self.facebook.url}"

[accounts.jj-telegram]
platform = "telegram"
chat_id = "{TELEGRAM_CHAT}"
base_url = "{self.telegram.url}"

[accounts.jj-discord]
platform = "discord"
base_url = "{self.discord.url}"

[accounts.jj-slack]
platform = "slack"
base_url = "{self.slack.url}"

[accounts.jj-webhook]
platform = "webhook"
url = "{self.hook.url}"

[accounts.jj-outbox]
platform = "outbox"
path = "{outbox.as_posix()}"
"""

    def credentials(self) -> dict[str, str]:
        """The ``PROMO_ACCOUNT_<NAME>_<CREDENTIAL>`` variables the worker reads."""
        values = {("jj-x", name): value for name, value in X_CREDENTIALS.items()} | {
            ("jj-mastodon", "access_token"): MASTODON_TOKEN,
            ("jj-bluesky", "app_password"): APP_PASSWORD,
            ("jj-threads", "access_token"): THREADS_TOKEN,
            ("jj-linkedin", "access_token"): LINKEDIN_TOKEN,
            ("jj-facebook", "page_token"): PAGE_TOKEN,
            ("jj-telegram", "bot_token"): TELEGRAM_TOKEN,
            ("jj-discord", "webhook_url"): self.discord.webhook_url,
            ("jj-slack", "webhook_url"): self.slack.webhook_url,
            ("jj-webhook", "signing_secret"): SECRET,
        }
        return {env_name(account, name): value for (account, name), value in values.items()}


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(fake())  # type: ignore[abstract]
            for fake in (FakeX, FakeMastodon, FakeBluesky, FakeThreads, FakeLinkedIn, FakeFacebook,
                         FakeTelegram, FakeDiscord, FakeSlack)
        ]
        hook = stack.enter_context(FakeWebhookServer())
        yield Fakes(*servers, hook)  # type: ignore[arg-type]
