"""Telegram: 4,096 for a message, 1,024 for a caption, in UTF-16 code units as Telegram counts.

A post with media goes out as a photo/video (or media group) whose text is a caption: the
common failure is a text that fits 4,096 but not 1,024. Parts go out as consecutive messages.
"""

from __future__ import annotations

from typing import ClassVar

from promo.posts import Part
from promo.rules.base import TextRules
from promo.rules.counting import MB, MediaRules, utf16_length
from promo.rules.video import VideoRules

# Video limits: docs/platforms/telegram.md#video-limits (Bot API sendVideo and sendMediaGroup).
VIDEO = VideoRules(max_bytes=50 * MB, containers=frozenset({"mp4"}), max_count=10, mix_with_images=True,
                   cover=True)

class TelegramRules(TextRules):
    platform = "telegram"
    title = "Telegram"
    limit = 4096
    caption_limit: ClassVar[int] = 1024
    multipart = True
    # photo 10 MB (sendPhoto), video/animation/document 50 MB (Bot API upload), media group 2-10.
    media_rules = MediaRules(10, {"image": 10 * MB, "gif": 50 * MB, "video": 50 * MB, "other": 50 * MB},
                             video=VIDEO)

    def length(self, text: str) -> int:
        return utf16_length(text)

    def limit_for(self, part: Part) -> int:
        return self.caption_limit if part.media else self.limit

    def too_long_message(self, part: Part, index: int, length: int, limit: int) -> str:
        if not part.media:
            return f"{self.where(index)}{length}/{limit}"
        return (f"{self.where(index)}caption {length}/{limit} "
                f"(a post with media has a {self.caption_limit:,} caption limit)")
