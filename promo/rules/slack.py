"""Slack: text up to 40,000 characters; files (a video) only in bot mode (a ``channel`` and a bot token)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promo.rules.base import TextRules
from promo.rules.counting import MediaRules
from promo.rules.video import VideoRules

# Video limits: docs/platforms/slack.md#video-limits (a video is a file, uploaded by a bot token).
VIDEO = VideoRules(max_bytes=1_000_000_000, max_count=10, mix_with_images=True)

# Files need the Web API: an account with a ``channel`` option (and a bot token) uploads them.
WEBHOOK_MEDIA = MediaRules(0, {}, video=VIDEO, refusal=(
    "Slack incoming webhooks cannot upload files: add a bot token (bot_token) and a channel option"))
BOT_MEDIA = MediaRules(10, dict.fromkeys(("image", "gif", "video", "other"), 1_000_000_000), video=VIDEO)


class SlackRules(TextRules):
    platform = "slack"
    title = "Slack"
    limit = 40000
    multipart = True
    media_rules = WEBHOOK_MEDIA

    def __new__(cls, options: Mapping[str, Any] | None = None) -> SlackRules:
        """An account with a ``channel`` (bot mode) may attach files: its rules are ``SlackBotRules``."""
        if cls is SlackRules and (options or {}).get("channel"):
            return super().__new__(SlackBotRules)
        return super().__new__(cls)


class SlackBotRules(SlackRules):
    media_rules = BOT_MEDIA
