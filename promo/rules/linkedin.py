"""LinkedIn: 3,000 characters of "little text", counted as the reader sees it.

The Posts API ``commentary`` is little text: ``| { } @ [ ] ( ) < > # \\ * _ ~`` must be
backslash-escaped or the post is silently cut. ``little_text`` writes a reader's text as little
text: each ``#tag`` becomes LinkedIn's hashtag template ``{hashtag|\\#|tag}`` (so it stays a
hashtag) and every other reserved character is escaped. Preview stores and shows exactly that text
(``wire_text``), and the adapter sends it as it is. ``little_text`` leaves text that already is
little text alone, so applying it twice changes nothing. ``reader_text`` is the inverse: what
LinkedIn shows. The limit (3,000) is unverified; we count the text the reader sees in UTF-16 code
units, which is never less than what a Java/JavaScript backend counts. Media: LinkedIn takes up
to 20 images in a multi-image post, but we keep 9 images or 1 video, conservatively (sizes
unverified). A thread's later parts go out as comments on the post (``CommentRules``): text only,
1,250 characters each, counted the same way (unverified: LinkedIn's API reference names no limit).
"""

from __future__ import annotations

import regex

from promo.rules.comments import CommentRules
from promo.rules.counting import MB, MediaRules, utf16_length
from promo.rules.video import VideoRules

_RESERVED = regex.compile(r"([|{}@\[\]()<>#\\*_~])")
# a hashtag: # at the start or after a non-word character, then letters, digits or _
_HASHTAG = regex.compile(r"(?<![\w&])#([\p{L}\p{N}_]*[\p{L}_][\p{L}\p{N}_]*)")
_ESCAPED = r"(?:\\[|{}@\[\]()<>#\\*_~]|[^|{}@\[\]()<>#\\*_~])"
_TEMPLATE = r"\{hashtag\|\\#\|" + _ESCAPED + r"+\}"
_LITTLE = regex.compile(r"(?:" + _TEMPLATE + "|" + _ESCAPED + r")*", regex.DOTALL)
_READER = regex.compile(r"\{hashtag\|\\#\|(" + _ESCAPED + r"+)\}|\\(.)", regex.DOTALL)


def escape_little_text(text: str) -> str:
    """``text`` with LinkedIn's reserved characters backslash-escaped."""
    return _RESERVED.sub(r"\\\1", text)


def is_little_text(text: str) -> bool:
    """Is every reserved character of ``text`` escaped or part of a hashtag template?"""
    return _LITTLE.fullmatch(text) is not None


def little_text(text: str) -> str:
    """``text`` as LinkedIn's little text: hashtags as ``{hashtag|\\#|tag}``, the rest escaped.

    Text that already is little text is returned as it is.
    """
    if is_little_text(text):
        return text
    pieces, at = [], 0
    for match in _HASHTAG.finditer(text):
        pieces.append(escape_little_text(text[at:match.start()]))
        pieces.append("{hashtag|\\#|" + escape_little_text(match.group(1)) + "}")
        at = match.end()
    pieces.append(escape_little_text(text[at:]))
    return "".join(pieces)


def reader_text(little: str) -> str:
    """What LinkedIn shows for the little text ``little``: hashtags as ``#tag``, escapes undone."""
    def shown(match: regex.Match[str]) -> str:
        if match.group(1) is not None:
            return "#" + reader_text(match.group(1))
        return str(match.group(2))

    return _READER.sub(shown, little)


# Video limits: docs/platforms/linkedin.md#video-limits (the Videos API and LinkedIn's video specs).
VIDEO = VideoRules(min_duration_s=3, max_duration_s=30 * 60, max_bytes=500 * MB, containers=frozenset({"mp4"}),
                   min_aspect=1 / 2.4, max_aspect=2.4, min_width=256, min_height=144, max_width=4096,
                   max_height=2304, min_fps=10, max_fps=60, cover=True, cover_frame=False, captions=True,
                   caption_formats=frozenset({"srt"}))

class LinkedInRules(CommentRules):
    platform = "linkedin"
    title = "LinkedIn"
    limit = 3000
    comment_limit = 1250
    comment_source = "unverified"
    media_rules = MediaRules(9, {"image": 8 * MB, "gif": 8 * MB, "video": 500 * MB},
                             per_kind={"video": 1}, mixed=False, video=VIDEO)

    def length(self, text: str) -> int:
        return utf16_length(reader_text(little_text(text)))

    def wire_text(self, text: str) -> str:
        return little_text(text)
