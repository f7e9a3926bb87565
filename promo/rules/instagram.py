"""Instagram (Graph API content publishing): a caption of 2,200 characters, 30 hashtags, 20 mentions, and media always.

An Instagram post is media with a caption: one JPEG image, a Reel (one video), a carousel of 2 to
10 images and videos, or, for an account with ``stories = true``, a Story (one image or video, no
caption: ``wire`` sends an empty caption, and preview shows it). Text alone cannot be posted.
The caption is counted in UTF-16 code units (the stricter reading of "2,200 characters"); hashtags
are ``#word``, mentions ``@user.name`` not preceded by a letter (an e-mail address is no mention).

Figures and sources: docs/platforms/instagram.md#limits. ``publishing_limit_problems`` refuses a
campaign that alone would publish more than 100 posts to one account in 24 hours, the content
publishing limit (a carousel counts once).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

import regex

from promo.posts import Media, Part, Problem, ScheduledPost
from promo.rules.base import TextRules
from promo.rules.counting import MB, MediaRules, utf16_length
from promo.rules.video import MP4_MOV, VideoRules, duration_text

CAPTION_LIMIT = 2200
MAX_HASHTAGS = 30
MAX_MENTIONS = 20
MAX_CAROUSEL = 10
PUBLISHING_LIMIT = 100           # API-published posts per account in a moving 24 hours
PUBLISHING_WINDOW = timedelta(hours=24)
HASHTAG = regex.compile(r"(?<![\w&])#\w+")
MENTION = regex.compile(r"(?<![\w.@])@[\w](?:[\w.]{0,28}[\w])?")
JPEG = frozenset({"image/jpeg"})
HEVC_H264 = frozenset({"h264", "hevc"})

# Video limits: docs/platforms/instagram.md#video-limits (IG User Media reference, "Reels specifications").
REELS = VideoRules(min_duration_s=3, max_duration_s=15 * 60, max_bytes=300 * MB, containers=MP4_MOV, codecs=HEVC_H264,
                   min_aspect=0.01, max_aspect=10, max_width=1920, min_fps=23, max_fps=60, max_count=MAX_CAROUSEL,
                   mix_with_images=True, cover=True, captions=False)
STORY_VIDEO = VideoRules(min_duration_s=3, max_duration_s=60, max_bytes=100 * MB, containers=MP4_MOV, codecs=HEVC_H264,
                         min_aspect=0.1, max_aspect=10, max_width=1920, min_fps=23, max_fps=60, cover=False,
                         captions=False)
STORY_MEDIA = MediaRules(1, {"image": 8 * MB, "video": 100 * MB}, video=STORY_VIDEO)
CAROUSEL_VIDEO_S = 60.0          # a video inside a carousel (stricter reading; unverified)
FEED_ASPECT = (4 / 5, 1.91)      # a feed image's width / height


def is_story(options: Mapping[str, Any]) -> bool:
    return str(options.get("stories", "false")).lower() in ("true", "1", "yes")


def share_to_feed(options: Mapping[str, Any]) -> bool:
    return str(options.get("share_to_feed", "true")).lower() not in ("false", "0", "no")


class InstagramRules(TextRules):
    platform = "instagram"
    title = "Instagram"
    limit = CAPTION_LIMIT
    unit = "UTF-16 units"
    media_rules: ClassVar[MediaRules] = MediaRules(MAX_CAROUSEL, {"image": 8 * MB, "video": 300 * MB}, video=REELS)

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        if is_story(self.options):  # an instance attribute: the class's stays the feed's
            self.media_rules = STORY_MEDIA  # type: ignore[misc]  # a Story account's, on this instance only

    def length(self, text: str) -> int:
        return utf16_length(text)

    def wire_text(self, text: str) -> str:
        return "" if is_story(self.options) else text  # a Story takes no caption

    @staticmethod
    def campaign_problems(posts: Sequence[tuple[ScheduledPost, Any]], planned: Any = None) -> dict[int, Problem]:
        """Preview's campaign-wide check (``promo.campaigns.preview``): the 100 posts in 24 hours."""
        return publishing_limit_problems([
            (scheduled.post.account, max(scheduled.scheduled_at, scheduled.not_before or scheduled.scheduled_at))
            for scheduled, _ in posts])

    def part_problems(self, part: Part, index: int, length: int) -> list[Problem]:
        if not part.media:
            return [Problem("media_required", f"{self.where(index)}an Instagram post needs an image or a video; "
                                              "skip Instagram for text-only announcements", index)]
        return super().part_problems(part, index, length)

    def extra_problems(self, part: Part, index: int) -> list[Problem]:
        where = self.where(index)
        found = [(code, message) for code, message in _caption_problems(part.text)]
        for item in part.media:
            found.extend(_item_problems(item, carousel=len(part.media) > 1, story=is_story(self.options)))
        return [Problem(code, f"{where}{message}", index) for code, message in found]


def _caption_problems(text: str) -> list[tuple[str, str]]:
    found = []
    tags, mentions = len(HASHTAG.findall(text)), len(MENTION.findall(text))
    if tags > MAX_HASHTAGS:
        found.append(("too_many_hashtags", f"{tags} hashtags, at most {MAX_HASHTAGS}"))
    if mentions > MAX_MENTIONS:
        found.append(("too_many_mentions", f"{mentions} mentions, at most {MAX_MENTIONS}"))
    return found


def _item_problems(item: Media, *, carousel: bool, story: bool) -> list[tuple[str, str]]:
    name = item.path.rsplit("/", 1)[-1]
    if item.kind == "image" and item.mime not in JPEG:
        return [("media_type", f"{name} is {item.mime or 'not an image'}; Instagram takes JPEG images only "
                               "(convert it to .jpg)")]
    if item.kind == "image" and not story and item.width and item.height:
        aspect = item.width / item.height
        if not FEED_ASPECT[0] - 1e-3 <= aspect <= FEED_ASPECT[1] + 1e-3:
            return [("image_aspect", f"{name} is {item.width}x{item.height}; a feed image must be between 4:5 "
                                     "and 1.91:1")]
    if item.kind == "video" and carousel and item.duration_s and item.duration_s > CAROUSEL_VIDEO_S:
        return [("video_too_long", f"video {duration_text(item.duration_s)} is over the "
                                   f"{duration_text(CAROUSEL_VIDEO_S)} limit of a carousel item")]
    if item.kind == "video" and item.cover and item.cover_time is None \
            and not item.cover.lower().endswith((".jpg", ".jpeg")):
        return [("video_cover", "a Reel's cover must be a JPEG image (or a frame time)")]
    return []


def publishing_limit_problems(posts: Sequence[tuple[str, datetime]], limit: int = PUBLISHING_LIMIT
                              ) -> dict[int, Problem]:
    """``(account, send time)`` of a campaign's Instagram posts -> each account's first post over ``limit`` in 24 h.

    Keyed by the post's position in ``posts``, as preview's campaign-wide check wants it.
    """
    by_account: dict[str, list[tuple[datetime, int]]] = {}
    for position, (account, at) in enumerate(posts):
        by_account.setdefault(account, []).append((at, position))
    problems: dict[int, Problem] = {}
    for account, timed in sorted(by_account.items()):
        timed.sort()
        start = 0
        for end, (at, position) in enumerate(timed):
            while at - timed[start][0] >= PUBLISHING_WINDOW:
                start += 1
            if end - start + 1 > limit:
                problems[position] = Problem("publishing_limit", (
                    f"Instagram: account {account} would publish {end - start + 1} posts in the 24 hours from "
                    f"{timed[start][0].isoformat()}; Instagram allows {limit} (content_publishing_limit): "
                    "spread them out or use another account"))
                break
    return problems
