"""LinkedIn: 3,000 characters of "little text", counted as the reader sees it (unescaped).

The Posts API ``commentary`` is little text: ``| { } @ [ ] ( ) < > # \\ * _ ~`` must be
backslash-escaped or the post is silently cut; ``escape_little_text`` does it, and the adapter
sends the escaped form. The limit (3,000) is unverified; we count UTF-16 code units, which is
never less than what a Java/JavaScript backend counts. Media: LinkedIn takes up to 20 images in
a multi-image post, but we keep 9 images or 1 video, conservatively (sizes unverified).
"""

from __future__ import annotations

import regex

from promo.rules.base import TextRules
from promo.rules.counting import MB, MediaRules, utf16_length

_RESERVED = regex.compile(r"([|{}@\[\]()<>#\\*_~])")


def escape_little_text(text: str) -> str:
    """``text`` with LinkedIn's reserved characters backslash-escaped."""
    return _RESERVED.sub(r"\\\1", text)


class LinkedInRules(TextRules):
    platform = "linkedin"
    title = "LinkedIn"
    limit = 3000
    media_rules = MediaRules(9, {"image": 8 * MB, "gif": 8 * MB, "video": 200 * MB},
                             per_kind={"video": 1}, mixed=False)

    def length(self, text: str) -> int:
        return utf16_length(text)
