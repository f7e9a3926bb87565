"""Helpers for the video end-to-end test (issue 13): every video-capable fake, a promo.toml, a campaign.

``running_video_fakes(media)`` starts the ten platforms' fakes that take video, with what a video
needs beside them: Bluesky's video service next to its PDS, and a ``MediaHost`` serving the
campaign's media folder (Threads fetches a video from a public URL). Slack runs in bot mode (a bot
token and a channel: an incoming webhook cannot upload a file). Polling intervals are set short
through each account's own options, so the test waits on processing, not on sleep. Starting the
fakes and the media host's S3, and the credentials, are the e2e kit's (``tests.e2e.e2ekit``).

``write_video_campaign`` writes a real H.264 clip made with PyAV (``tests.media.mediakit``) and a
JPEG cover into ``folder/media`` and a campaign with one featurette announcement per cover policy:
``featurette`` with a cover image for the platforms that take a custom cover, ``featurette-clip``
(same clip, same alt text) for those that do not, so every platform gets exactly one post.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from promo.times import iso
from tests.e2e.e2ekit import CREDENTIALS, TELEGRAM_CHAT, credential_env, media_host_s3, started, webhook_urls
from tests.fakes.bluesky import HANDLE, FakeBluesky, FakeVideoService
from tests.fakes.discord import FakeDiscord
from tests.fakes.facebook import PAGE_ID, FakeFacebook
from tests.fakes.harness import MediaHost
from tests.fakes.instagram import IG_USER_ID, FakeInstagram
from tests.fakes.linkedin import AUTHOR, FakeLinkedIn
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.s3 import FakeS3
from tests.fakes.slack import BOT_TOKEN, CHANNEL, FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.fakes.threads import USER_ID, FakeThreads
from tests.fakes.webhook import FakeWebhookServer, Receiver
from tests.fakes.x import USER as X_USER
from tests.fakes.x import FakeX
from tests.media.mediakit import tiny_image, tiny_video

# The clip: LinkedIn wants at least 3 s and 256x144, Threads 23-60 fps; 72 frames of ultrafast H.264.
SECONDS, WIDTH, HEIGHT, FPS = 3.0, 256, 144, 24
CLIP_NAME = "featurette.mp4"
COVER_NAME = "cover.jpg"
VIDEO_ALT = "Krysten Ritter behind the camera on the Jessica Jones season 3 set"
POLL = 0.1  # seconds between two looks at a video still processing, where an account option sets it
# The platforms that take a custom cover image get the announcement with one; the rest the clip alone.
COVERED = ("mastodon", "facebook", "telegram", "linkedin", "webhook", "instagram")
UNCOVERED = ("x", "bluesky", "threads", "discord", "slack")
VIDEO_PLATFORMS = COVERED + UNCOVERED

CAMPAIGN = """\
campaign: jj-video-e2e
name: Jessica Jones season 3 featurette, end to end
timezone: America/Los_Angeles
fields:
  show: Jessica Jones
  season: 3
  network: Netflix
  link: https://www.netflix.com/title/80002311
  hashtags: [JessicaJones]
  cast: [Krysten Ritter, Rachael Taylor, Carrie-Anne Moss]
  title: "Krysten Ritter steps into the director's chair for the final season of Jessica Jones"
  quote: "Jessica Jones has been a big chunk of my adult life now."
  quote_by: Krysten Ritter
accounts: [{all_accounts}]
announcements:
  - key: featurette
    kind: featurette_release
    at: "{at}"
    accounts: [{covered}]
    media:
      - path: media/{clip}
        alt: "{alt}"
        cover: media/{cover}
  - key: featurette-clip
    kind: featurette_release
    at: "{at}"
    accounts: [{uncovered}]
    media:
      - path: media/{clip}
        alt: "{alt}"
"""


@dataclass
class VideoFakes:
    """One running fake per video-capable platform, Bluesky's video service, and the media host."""

    x: FakeX
    mastodon: FakeMastodon
    bluesky: FakeBluesky
    video_service: FakeVideoService
    threads: FakeThreads
    media_host: MediaHost
    linkedin: FakeLinkedIn
    facebook: FakeFacebook
    telegram: FakeTelegram
    discord: FakeDiscord
    slack: FakeSlack
    hook: Receiver
    instagram: FakeInstagram
    s3: FakeS3

    def accounts_toml(self) -> str:
        """``[accounts.jj-<platform>]`` for the ten platforms, each pointed at its fake."""
        return f"""
[accounts.jj-x]
platform = "x"
handle = "@JessicaJones"
user_id = "{X_USER["id"]}"
base_url = "{self.x.url}"

[accounts.jj-mastodon]
platform = "mastodon"
base_url = "{self.mastodon.url}"
media_poll = {POLL}

[accounts.jj-bluesky]
platform = "bluesky"
handle = "{HANDLE}"
base_url = "{self.bluesky.url}"
video_base_url = "{self.video_service.url}"
media_poll = {POLL}

[accounts.jj-threads]
platform = "threads"
user_id = "{USER_ID}"
media_base_url = "{self.media_host.url}"
base_url = "{self.threads.url}"

[accounts.jj-linkedin]
platform = "linkedin"
author = "{AUTHOR}"
base_url = "{self.linkedin.url}"
video_poll_s = {POLL}

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
channel = "{CHANNEL}"
share_poll_s = {POLL}

[accounts.jj-webhook]
platform = "webhook"
url = "{self.hook.url}"

[accounts.jj-instagram]
platform = "instagram"
user_id = "{IG_USER_ID}"
base_url = "{self.instagram.url}"
"""

    def credentials(self) -> dict[str, str]:
        """The ``PROMO_ACCOUNT_<NAME>_<CREDENTIAL>`` variables the CLI and the worker read (the e2e kit's, and
        Slack's bot token)."""
        slack_bot = {("jj-slack", "bot_token"): BOT_TOKEN}
        return credential_env(CREDENTIALS | webhook_urls(self.discord, self.slack) | slack_bot, self.s3)


@contextlib.contextmanager
def running_video_fakes(media: Path) -> Iterator[VideoFakes]:
    """Start every video-capable fake (``media`` is the folder the media host serves); stop them afterwards."""
    with contextlib.ExitStack() as stack:
        pds = started(stack, FakeBluesky())
        s3 = media_host_s3(stack)
        yield VideoFakes(
            x=started(stack, FakeX(check_after_secs=0.2, processing_polls=2)),
            mastodon=started(stack, FakeMastodon()),
            bluesky=pds,
            video_service=started(stack, FakeVideoService(pds)),
            threads=started(stack, FakeThreads()),
            media_host=started(stack, MediaHost(media)),
            linkedin=started(stack, FakeLinkedIn()),
            facebook=started(stack, FakeFacebook()),
            telegram=started(stack, FakeTelegram()),
            discord=started(stack, FakeDiscord()),
            slack=started(stack, FakeSlack()),
            hook=stack.enter_context(FakeWebhookServer()),
            instagram=started(stack, FakeInstagram()),
            s3=s3,
        )


def write_video_config(folder: Path, fakes: VideoFakes) -> Path:
    """``folder/promo.toml`` with one account per video-capable platform."""
    config = folder / "promo.toml"
    config.write_text(fakes.accounts_toml(), encoding="utf-8")
    return config


def write_video_media(media: Path) -> tuple[Path, Path]:
    """The clip (real H.264, made with PyAV) and its JPEG cover, in ``media``."""
    clip = tiny_video(media, seconds=SECONDS, width=WIDTH, height=HEIGHT, fps=FPS, name=CLIP_NAME)
    cover = tiny_image(media, width=WIDTH, height=HEIGHT, format="JPEG", name=COVER_NAME)
    return clip, cover


def write_video_campaign(folder: Path, at: datetime) -> Path:
    """The featurette announcements due ``at``; the media must be in ``folder/media`` already."""
    path = folder / "campaign.yaml"
    names = {group: ", ".join(f"jj-{p}" for p in platforms)
             for group, platforms in (("all", VIDEO_PLATFORMS), ("covered", COVERED), ("uncovered", UNCOVERED))}
    path.write_text(CAMPAIGN.format(all_accounts=names["all"], covered=names["covered"], uncovered=names["uncovered"],
                                    at=iso(at), clip=CLIP_NAME, cover=COVER_NAME, alt=VIDEO_ALT), encoding="utf-8")
    return path
