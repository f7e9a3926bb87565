"""Discord (webhook): content up to 2,000 characters; up to 10 files of 10 MiB each."""

from __future__ import annotations

from promo.rules.base import TextRules
from promo.rules.counting import MIB, MediaRules
from promo.rules.video import VideoRules

# Video limits: docs/platforms/discord.md#video-limits (a video is a file attachment).
VIDEO = VideoRules(max_bytes=10 * MIB, max_count=10, mix_with_images=True, verified=False)

class DiscordRules(TextRules):
    platform = "discord"
    title = "Discord"
    limit = 2000
    multipart = True
    media_rules = MediaRules(10, dict.fromkeys(("image", "gif", "video", "other"), 10 * MIB), video=VIDEO)
