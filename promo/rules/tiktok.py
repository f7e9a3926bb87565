"""TikTok: one video (or up to 35 photos), a caption of 2,200 UTF-16 code units, and the creator's own limits.

The caption (``post_info.title`` of a direct post) is counted in UTF-16 code units, as TikTok's
JavaScript-facing API does; 2,200 is the Content Posting API's figure. Videos: MP4/WebM/MOV,
H.264/H.265/VP8/VP9, 23-60 fps, 360-4096 px a side, up to 4 GB, and no longer than the creator may
post (``creator_info``'s ``max_video_post_duration_sec``, at most 10 minutes; read before each
publish). Figures and sources: docs/platforms/tiktok.md#limits.

``creator_problems`` checks a post against what ``creator_info`` answered (pure: the adapter reads
it, then asks here): the privacy level must be one the creator allows, the video no longer than the
creator's limit, and comments, duets and stitches must not be asked for where the creator turned
them off. An unaudited app (``audited = false``, the default) may post only ``SELF_ONLY``: preview
says so as a note (``Report.notes``), not a problem. ``creator_summary`` is the one-line account of a
cached ``creator_info`` (``promo accounts check`` caches it; ``promo apply`` checks posts against it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from promo.posts import Part, Post, Problem, Report
from promo.rules.base import TextRules
from promo.rules.counting import MB, MediaRules, utf16_length
from promo.rules.video import VideoRules, duration_text

CAPTION_LIMIT = 2200
MAX_DURATION_S = 10 * 60
PRIVATE = "SELF_ONLY"
PRIVACY_LEVELS = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY")
UNAUDITED_NOTE = ("unaudited TikTok app: posts are private (SELF_ONLY) until TikTok audits it "
                  "(then set audited = true on the account)")
# creator_info's fields that may be cached and shown (no secret among them; docs/platforms/tiktok.md)
CREATOR_FIELDS = ("creator_username", "creator_nickname", "privacy_level_options", "max_video_post_duration_sec",
                  "comment_disabled", "duet_disabled", "stitch_disabled")
GB = 1000 * MB

# Video limits: docs/platforms/tiktok.md#video-limits (Content Posting API, "Media Transfer Guide").
VIDEO = VideoRules(min_duration_s=3, max_duration_s=MAX_DURATION_S, max_bytes=4 * GB,
                   containers=frozenset({"mp4", "webm", "mov"}), codecs=frozenset({"h264", "hevc", "vp8", "vp9"}),
                   min_width=360, min_height=360, max_width=4096, max_height=4096, min_fps=23, max_fps=60,
                   cover=True, cover_frame=True)  # a cover as a frame time only: ``extra_problems``


def audited(options: Mapping[str, Any]) -> bool:
    return str(options.get("audited", "false")).lower() in ("true", "1", "yes")


def privacy_of(options: Mapping[str, Any]) -> str:
    """The privacy level a post goes out with: the account's ``privacy_level``; an unaudited app's is SELF_ONLY."""
    if not audited(options):
        return PRIVATE
    return str(options.get("privacy_level") or "PUBLIC_TO_EVERYONE")


class TikTokRules(TextRules):
    platform = "tiktok"
    title = "TikTok"
    limit = CAPTION_LIMIT
    unit = "UTF-16 units"
    # A direct post is one video; a photo post (PULL_FROM_URL only) takes up to 35 images.
    media_rules = MediaRules(35, {"image": 20 * MB, "video": 4 * GB}, per_kind={"video": 1}, mixed=False, video=VIDEO)

    def length(self, text: str) -> int:
        return utf16_length(text)

    def check(self, post: Post) -> Report:
        report = super().check(post)
        return report if audited(self.options) else replace(report, notes=(*report.notes, UNAUDITED_NOTE))

    def extra_problems(self, part: Part, index: int) -> list[Problem]:
        problems = []
        if not part.media:
            problems.append(Problem("no_media", f"{self.where(index)}a TikTok post needs a video or photos", index))
        level = self.options.get("privacy_level")
        if level and str(level) not in PRIVACY_LEVELS:
            problems.append(Problem("privacy", f"{self.where(index)}privacy_level {level!r} is not one of "
                                               f"{', '.join(PRIVACY_LEVELS)}", index))
        elif level and level != PRIVATE and not audited(self.options):
            problems.append(Problem("privacy", f"{self.where(index)}an unaudited TikTok app posts only SELF_ONLY "
                                               f"(private), not {level}: set audited = true once TikTok has "
                                               "audited the app, or drop privacy_level", index))
        if any(m.kind == "video" and m.cover and m.cover_time is None for m in part.media):
            problems.append(Problem("video_cover", f"{self.where(index)}a cover here must be a frame time "
                                                   "(cover: \"00:00:01.5\"), not an image file", index))
        if any(m.kind == "image" for m in part.media) and not (self.options.get("media_base_url")
                                                               or self.options.get("media_host")):
            problems.append(Problem("media_url", f"{self.where(index)}TikTok takes photos only from a public URL: "
                                                 "set media_base_url, or media_host = true with the media host "
                                                 "configured", index))
        return problems


def creator_problems(info: Mapping[str, Any], part: Part, options: Mapping[str, Any]) -> list[str]:
    """What the creator's own settings (``creator_info``) refuse in ``part`` posted with ``options``."""
    found = []
    level = privacy_of(options)
    allowed = [str(x) for x in info.get("privacy_level_options") or ()]
    if allowed and level not in allowed:
        found.append(f"privacy level {level} is not allowed for this creator (allowed: {', '.join(allowed)})")
    longest = info.get("max_video_post_duration_sec")
    for media in part.media:
        if longest and media.duration_s and media.duration_s > float(longest):
            found.append(f"video {duration_text(media.duration_s)} is over this creator's "
                         f"{duration_text(float(longest))} limit")
    for name, flag in (("comments", "comment_disabled"), ("duets", "duet_disabled"), ("stitches", "stitch_disabled")):
        if info.get(flag) and _wants(options, name):
            found.append(f"the creator has turned {name} off, and the account asks for them (allow_{name} = true)")
    return found


def _wants(options: Mapping[str, Any], name: str) -> bool:
    """Whether the account explicitly asks for ``name`` (unset: allowed where the creator allows it)."""
    return str(options.get(f"allow_{name}", "")).lower() in ("true", "1", "yes")


def allows(options: Mapping[str, Any], info: Mapping[str, Any], name: str, flag: str) -> bool:
    """Whether ``name`` (comments, duets, stitches) is on for a post: not turned off by the account
    (``allow_<name> = false``) nor by the creator (``creator_info``'s ``<flag>``)."""
    off = str(options.get(f"allow_{name}", "true")).lower() in ("false", "0", "no")
    return not off and not info.get(flag)


def creator_summary(info: Mapping[str, Any]) -> str:
    """``@jj: privacy levels SELF_ONLY, PUBLIC_TO_EVERYONE; longest video 10:00; duets off``."""
    levels = ", ".join(str(x) for x in info.get("privacy_level_options") or ()) or "none"
    longest = info.get("max_video_post_duration_sec")
    facts = [f"privacy levels {levels}",
             f"longest video {duration_text(float(longest)) if longest else 'not given'}"]
    off = [name for name, flag in (("comments", "comment_disabled"), ("duets", "duet_disabled"),
                                   ("stitches", "stitch_disabled")) if info.get(flag)]
    if off:
        facts.append(f"{', '.join(off)} off")
    return f"@{info.get('creator_username', '?')}: {'; '.join(facts)}"
