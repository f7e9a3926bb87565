"""Discord (webhook): content up to 2,000 characters; up to 10 files of 10 MiB each."""

from __future__ import annotations

from promo.rules.base import TextRules
from promo.rules.counting import MIB, MediaRules


class DiscordRules(TextRules):
    platform = "discord"
    title = "Discord"
    limit = 2000
    multipart = True
    media_rules = MediaRules(10, dict.fromkeys(("image", "gif", "video", "other"), 10 * MIB))
