"""Threads (Meta): 500 characters, at most 5 links, up to 10 media (a carousel).

Meta's docs say emoji count as their UTF-8 byte length, which is ambiguous (per code point? per
emoji?). We count conservatively: each code point 1, but each emoji counts all the UTF-8 bytes of
its sequence (a flag is 8, a family ZWJ sequence 18+). A post we accept may be shorter than 500
for Threads; never longer.
"""

from __future__ import annotations

from typing import ClassVar

from promo.posts import Part, Problem
from promo.rules.base import TextRules
from promo.rules.counting import EMOJI, MB, MediaRules, find_links
from promo.rules.video import MP4_MOV, VideoRules


def emoji_as_bytes_length(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text) + sum(len(e.encode("utf-8")) - len(e) for e in EMOJI.findall(text))


# Video limits: docs/platforms/threads.md#video-limits (Threads API media specifications).
VIDEO = VideoRules(max_duration_s=300, max_bytes=1000 * MB, containers=MP4_MOV, codecs=frozenset({"h264", "hevc"}),
                   min_aspect=0.01, max_aspect=10, max_width=1920, min_fps=23, max_fps=60, max_count=10,
                   mix_with_images=True)

class ThreadsRules(TextRules):
    platform = "threads"
    title = "Threads"
    limit = 500
    max_links: ClassVar[int] = 5
    threads = True
    # JPEG/PNG images 8 MB; video 1 GB per Meta's docs (unverified); no GIF.
    media_rules = MediaRules(10, {"image": 8 * MB, "video": 1000 * MB}, video=VIDEO)

    def length(self, text: str) -> int:
        return emoji_as_bytes_length(text)

    def extra_problems(self, part: Part, index: int) -> list[Problem]:
        problems = []
        count = len(find_links(part.text))
        if count > self.max_links:
            message = f"{self.where(index)}{count} links, at most {self.max_links}"
            problems.append(Problem("too_many_links", message, index))
        if part.media and not (self.options.get("media_base_url") or self.options.get("media_host")):
            # Threads fetches media from a public URL; without one the publish would be refused.
            message = (f"{self.where(index)}Threads takes media only from a public URL: set media_base_url "
                       "on the account (or media_host = true with a media host configured), or drop the media")
            problems.append(Problem("media_url", message, index))
        return problems
