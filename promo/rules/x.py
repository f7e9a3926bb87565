"""X: twitter-text v3 weighted length, 280 at most; 4 images, or 1 GIF, or 1 video.

Code points 0-4351, 8192-8205, 8208-8223 and 8242-8247 weigh 1, everything else 2; an emoji, even
a ZWJ sequence of several code points, weighs 2; every link, bare ``example.com`` included,
weighs 23 (its t.co length). Text is NFC-normalised and CRLF counts as one newline first, as
twitter-text does. Cross-checked against ``twitter_text.parse_tweet`` in tests/rules.
"""

from __future__ import annotations

import unicodedata
from typing import ClassVar

import regex

from promo.posts import Part
from promo.rules.base import TextRules
from promo.rules.counting import EMOJI, MB, NEWLINES, MediaRules, blank_links, find_links, link_note

_HEAVY = regex.compile(r"[^\u0000-\u10FF\u2000-\u200D\u2010-\u201F\u2032-\u2037]")
_LIGHT_EMOJI = "\u00a9\u00ae"   # (c) and (R): weight 1 as characters, 2 as emoji


def weighted_length(text: str, url_length: int = 23) -> int:
    """X's weighted length of ``text``: what X compares with 280."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    if "\r" in text:
        text = NEWLINES.sub("\n", text)
    links = find_links(text)
    rest = blank_links(text, links)
    weight = len(rest) - len(links) + url_length * len(links)
    if rest.isascii():
        return weight
    weight += len(_HEAVY.findall(rest))
    for emoji in EMOJI.findall(rest):
        if len(emoji) > 1 or emoji in _LIGHT_EMOJI:
            weight += 2 - len(emoji) - len(_HEAVY.findall(emoji))
    return weight


class XRules(TextRules):
    platform = "x"
    title = "X"
    limit = 280
    url_length: ClassVar[int] = 23
    threads = True
    media_rules = MediaRules(4, {"image": 5 * MB, "gif": 15 * MB, "video": 512 * MB},
                             per_kind={"gif": 1, "video": 1}, mixed=False)

    def length(self, text: str) -> int:
        return weighted_length(text, self.url_length)

    def too_long_message(self, part: Part, index: int, length: int, limit: int) -> str:
        note = link_note(len(find_links(part.text)), self.url_length)
        return f"{self.where(index)}{length}/{limit}{note}"
