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

from promo.posts import Part, Problem
from promo.rules.base import TextRules
from promo.rules.counting import EMOJI, MB, NEWLINES, MediaRules, blank_links, find_links, link_note
from promo.rules.video import H264, MP4_MOV, VideoRules

_HEAVY = regex.compile(r"[^\u0000-\u10FF\u2000-\u200D\u2010-\u201F\u2032-\u2037]")
_INVALID = regex.compile("[\uFFFE\uFEFF\uFFFF]")   # twitter-text's invalid characters: a post with one is invalid
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

# Video limits: docs/platforms/x.md#video-limits (the longest fits 1920x1200 wide or 1200x1900 tall).
VIDEO = VideoRules(min_duration_s=0.5, max_duration_s=140, max_bytes=512 * MB, containers=MP4_MOV, codecs=H264,
                   min_aspect=1 / 3, max_aspect=3, min_width=32, min_height=32, max_width=1920, max_height=1900,
                   max_fps=60, max_alt=1000, verified=False)


class XRules(TextRules):
    platform = "x"
    title = "X"
    limit = 280
    url_length: ClassVar[int] = 23
    threads = True
    media_rules = MediaRules(4, {"image": 5 * MB, "gif": 15 * MB, "video": 512 * MB},
                             per_kind={"gif": 1, "video": 1}, mixed=False, video=VIDEO)

    def length(self, text: str) -> int:
        return weighted_length(text, self.url_length)

    def extra_problems(self, part: Part, index: int) -> list[Problem]:
        found = sorted(set(_INVALID.findall(part.text)))
        if not found:
            return []
        names = ", ".join(f"U+{ord(c):04X}" for c in found)
        return [Problem("invalid_character", f"{self.where(index)}{names} cannot be posted (twitter-text refuses "
                                             "it; often a stray byte-order mark): remove it", index)]

    def too_long_message(self, part: Part, index: int, length: int, limit: int) -> str:
        note = link_note(len(find_links(part.text)), self.url_length)
        return f"{self.where(index)}{length}/{limit}{note}"
