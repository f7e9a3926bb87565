"""Mastodon: graphemes over spoiler + text, 500 by default (the instance's ``max_characters``).

Every http(s) link counts ``characters_reserved_per_url`` (23) whatever its length, and a remote
mention ``@user@domain`` counts as ``@user``: the rule of ``Mastodon.get_status_length``
(Mastodon.py 2.3.3), which tests/rules cross-checks. Bare domains are not links on Mastodon.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import regex

from promo.errors import ConfigError
from promo.posts import Part
from promo.rules.base import TextRules
from promo.rules.counting import MB, MIB, MediaRules, blank_links, find_links, graphemes, link_note
from promo.rules.video import VideoRules

_REMOTE_MENTION = regex.compile(r"(^|[^/\w])@(([a-z0-9_]+)@[a-z0-9.\-]+[a-z0-9]+)", regex.IGNORECASE)

# Video limits: docs/platforms/mastodon.md#video-limits (mastodon.social's defaults; each instance
# publishes its own in GET /api/v2/instance).
VIDEO = VideoRules(max_bytes=99 * MIB, containers=frozenset({"mp4", "m4v", "mov", "webm"}),
                   max_pixels=8_294_400, max_fps=120, cover=True, max_alt=1500)


class MastodonRules(TextRules):
    platform = "mastodon"
    title = "Mastodon"
    limit = 500
    url_length: ClassVar[int] = 23
    threads = True
    # mastodon.social's defaults; each instance publishes its own in /api/v2/instance.
    media_rules = MediaRules(4, {"image": 16 * MB, "gif": 16 * MB, "video": 99 * MIB}, video=VIDEO)

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.limit = _max_characters(self.options.get("max_characters", 500))

    def length(self, text: str, spoiler: str = "") -> int:
        links = find_links(text, bare=False)
        countable = blank_links(text, links, "x" * self.url_length)
        if "@" in countable:
            countable = _REMOTE_MENTION.sub(r"\1@\3", countable)
        return graphemes(countable) + graphemes(spoiler)

    def too_long_message(self, part: Part, index: int, length: int, limit: int) -> str:
        note = link_note(len(find_links(part.text, bare=False)), self.url_length)
        return f"{self.where(index)}{length}/{limit}{note}"


def _max_characters(value: Any) -> int:
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"mastodon max_characters must be a whole number, not {value!r}") from None
    if limit <= 0 or isinstance(value, bool):
        raise ConfigError(f"mastodon max_characters must be positive, not {value!r}")
    return limit
