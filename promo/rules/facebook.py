"""Facebook Page: 63,206 characters (UTF-16 code units); photos up to 4 MB, 10 per post.

promo posts photos only (``/{page-id}/photos``); a video is refused rather than half-supported.
"""

from __future__ import annotations

from promo.rules.base import TextRules
from promo.rules.counting import MB, MediaRules, utf16_length


class FacebookRules(TextRules):
    platform = "facebook"
    title = "Facebook"
    limit = 63206
    media_rules = MediaRules(10, {"image": 4 * MB, "gif": 4 * MB})

    def length(self, text: str) -> int:
        return utf16_length(text)
