"""Helpers for the end-to-end tests: every platform's fake running at once, a promo.toml pointing at them."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from promo.accounts import Account, env_name, load_accounts
from promo.campaigns.preview import RenderedPost
from promo.times import iso
from tests.fakes.bluesky import APP_PASSWORD, HANDLE, FakeBluesky
from tests.fakes.discord import FakeDiscord
from tests.fakes.facebook import PAGE_ID, PAGE_TOKEN, FakeFacebook
from tests.fakes.harness import FakeServer
from tests.fakes.instagram import IG_TOKEN, IG_USER_ID, FakeInstagram
from tests.fakes.linkedin import AUTHOR, LINKEDIN_TOKEN, FakeLinkedIn
from tests.fakes.mastodon import MASTODON_TOKEN, FakeMastodon
from tests.fakes.reddit import REDDIT_TOKEN, SUBREDDIT, FakeReddit
from tests.fakes.s3 import ACCESS_KEY, SECRET_KEY, FakeS3
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import TOKEN as TELEGRAM_TOKEN
from tests.fakes.telegram import FakeTelegram
from tests.fakes.threads import THREADS_TOKEN, USER_ID, FakeThreads
from tests.fakes.tiktok import TIKTOK_TOKEN, FakeTikTok
from tests.fakes.webhook import SECRET, FakeWebhookServer, Receiver
from tests.fakes.x import CREDENTIALS as X_CREDENTIALS
from tests.fakes.x import USER as X_USER
from tests.fakes.x import FakeX
from tests.fakes.youtube import TOKEN as YOUTUBE_TOKEN
from tests.fakes.youtube import FakeYouTube

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "templates"
SEED = REPO / "examples" / "jessica-jones-s3.yaml"
IMAGE = SEED.parent / "media" / "premiere.png"
IMAGE_ALT = "Jessica Jones season 3 key art: Jessica and Trish, back to back"
MEDIA_BASE_URL = "https://cdn.example.com/jj"  # Threads takes images by public URL only
TELEGRAM_CHAT = "@jessicajones"
MEDIA_BUCKET = "jj-e2e-media"  # the media host's bucket (Instagram fetches the seed's Reel from it)
PLATFORMS = ("x", "mastodon", "bluesky", "threads", "linkedin", "facebook", "telegram", "discord", "slack",
             "webhook", "outbox")

CAMPAIGN = """\
campaign: jj-e2e
name: Jessica Jones season 3, end to end
timezone: America/Los_Angeles
fields:
  show: Jessica Jones
  season: 3
  network: Netflix
  link: https://www.netflix.com/title/80002311
  hashtags: [JessicaJones]
  cast: [Krysten Ritter, Rachael Taylor, Carrie-Anne Moss]
accounts: [{accounts}]
defaults:
  platforms:              # no reply chain through these: the first part only
    linkedin: {{thread: false}}
    facebook: {{thread: false}}
    discord: {{thread: false}}
    slack: {{thread: false, media: false}}
announcements:
  - key: premiere
    kind: premiere
    at: "{at}"
    fields:
      tagline: "When Jessica crosses paths with a highly intelligent psychopath, she and Trish must team up."
    media:
      - path: media/premiere.png
        alt: "{alt}"
    thread:
      - "Starring {{{{ cast | join_names }}}}. Episode 2 is directed by Krysten Ritter."
"""


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
    youtube: FakeYouTube  # video only: not in PLATFORMS (the image premiere); the seed's featurette and Short go there
    instagram: FakeInstagram  # JPEG or video only: not in PLATFORMS either; the seed's vertical cut is its Reel
    s3: FakeS3  # the media host Instagram fetches from (moto's S3, presigned URLs)
    reddit: FakeReddit  # the seed's featurette as a video post to r/television
    tiktok: FakeTikTok  # the seed's vertical cut of the featurette

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

[accounts.jj-youtube]
platform = "youtube"
project = "jj-e2e"
upload_ahead = "1h"
video_poll_s = 0.1
base_url = "{self.youtube.url}"

[accounts.jj-instagram]
platform = "instagram"
user_id = "{IG_USER_ID}"
base_url = "{self.instagram.url}"

[accounts.jj-reddit]
platform = "reddit"
subreddit = "{SUBREDDIT}"
media_upload_url = "{self.reddit.url}"
base_url = "{self.reddit.url}"

[accounts.jj-tiktok]
platform = "tiktok"
status_poll_s = 0.1
base_url = "{self.tiktok.url}"
"""

    def credentials(self) -> dict[str, str]:
        """The ``PROMO_ACCOUNT_<NAME>_<CREDENTIAL>`` variables the worker reads."""
        return credential_env(CREDENTIALS | webhook_urls(self.discord, self.slack), self.s3)


# (account, credential) -> value: what every end-to-end kit's accounts authenticate with at the fakes.
CREDENTIALS = {("jj-x", name): value for name, value in X_CREDENTIALS.items()} | {
    ("jj-mastodon", "access_token"): MASTODON_TOKEN,
    ("jj-bluesky", "app_password"): APP_PASSWORD,
    ("jj-threads", "access_token"): THREADS_TOKEN,
    ("jj-linkedin", "access_token"): LINKEDIN_TOKEN,
    ("jj-facebook", "page_token"): PAGE_TOKEN,
    ("jj-telegram", "bot_token"): TELEGRAM_TOKEN,
    ("jj-webhook", "signing_secret"): SECRET,
    ("jj-youtube", "access_token"): YOUTUBE_TOKEN,
    ("jj-instagram", "access_token"): IG_TOKEN,
    ("jj-reddit", "access_token"): REDDIT_TOKEN,
    ("jj-tiktok", "access_token"): TIKTOK_TOKEN,
}


def webhook_urls(discord: FakeDiscord, slack: FakeSlack) -> dict[tuple[str, str], str]:
    """Discord's and Slack's webhook URLs: credentials that name their fake."""
    return {("jj-discord", "webhook_url"): discord.webhook_url, ("jj-slack", "webhook_url"): slack.webhook_url}


def credential_env(values: Mapping[tuple[str, str], str], s3: FakeS3) -> dict[str, str]:
    """``values`` as ``PROMO_ACCOUNT_<NAME>_<CREDENTIAL>`` variables, and the media host's (``s3``) settings."""
    host = {"PROMO_MEDIA_HOST_BUCKET": MEDIA_BUCKET, "PROMO_MEDIA_HOST_ENDPOINT_URL": s3.url,
            "PROMO_MEDIA_HOST_ACCESS_KEY_ID": ACCESS_KEY, "PROMO_MEDIA_HOST_SECRET_ACCESS_KEY": SECRET_KEY}
    return host | {env_name(account, name): value for (account, name), value in values.items()}


S = TypeVar("S", bound=FakeServer)


def started(stack: contextlib.ExitStack, server: S) -> S:
    """``server`` started, and stopped when ``stack`` closes."""
    stack.enter_context(server)
    return server


def media_host_s3(stack: contextlib.ExitStack) -> FakeS3:
    """The media host's S3 (moto's server) with its bucket, stopped when ``stack`` closes."""
    s3 = FakeS3().start()
    stack.callback(s3.stop)
    s3.make_bucket(MEDIA_BUCKET)
    return s3


@contextlib.contextmanager
def running_fakes() -> Iterator[Fakes]:
    """Start every platform's fake, the media host's S3 (with its bucket) and the webhook receiver; stop them
    all afterwards."""
    with contextlib.ExitStack() as stack:
        s3 = media_host_s3(stack)
        yield Fakes(
            x=started(stack, FakeX()),
            mastodon=started(stack, FakeMastodon()),
            bluesky=started(stack, FakeBluesky()),
            threads=started(stack, FakeThreads()),
            linkedin=started(stack, FakeLinkedIn()),
            facebook=started(stack, FakeFacebook()),
            telegram=started(stack, FakeTelegram()),
            discord=started(stack, FakeDiscord()),
            slack=started(stack, FakeSlack()),
            hook=stack.enter_context(FakeWebhookServer()),
            youtube=started(stack, FakeYouTube()),
            instagram=started(stack, FakeInstagram()),
            s3=s3,
            reddit=started(stack, FakeReddit()),
            tiktok=started(stack, FakeTikTok()),
        )


def write_config(folder: Path, fakes: Fakes) -> dict[str, Account]:
    """``folder/promo.toml`` with one account per platform; the accounts as the worker will read them."""
    config = folder / "promo.toml"
    config.write_text(fakes.accounts_toml(folder / "outbox.jsonl"), encoding="utf-8")
    return load_accounts(config, environ=fakes.credentials())


def write_campaign(folder: Path, at: datetime) -> Path:
    """One premiere announcement due ``at``, to every account, with an image and a one-reply thread."""
    (folder / "media").mkdir()
    shutil.copy(IMAGE, folder / "media" / IMAGE.name)
    path = folder / "campaign.yaml"
    names = ", ".join(f"jj-{platform}" for platform in PLATFORMS)
    path.write_text(CAMPAIGN.format(accounts=names, at=iso(at), alt=IMAGE_ALT), encoding="utf-8")
    return path


def render(path: Path, accounts: dict[str, Account]) -> tuple[Any, list[RenderedPost]]:
    """Load and render a campaign with the repository's templates; every post must pass its rules."""
    from promo.campaigns import load_campaign
    from promo.campaigns.preview import render_campaign

    campaign = load_campaign(path, accounts, TEMPLATES)
    rendered = render_campaign(campaign, accounts, TEMPLATES)
    broken = {r.scheduled.post.account: [p.message for p in r.report.problems] for r in rendered if not r.ok}
    assert not broken, f"previews break a platform rule: {broken}"
    return campaign, rendered
