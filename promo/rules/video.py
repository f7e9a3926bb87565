"""Video rules as data, one ``VideoRules`` per platform (issue 13), checked without I/O.

Each platform's figures are in ``promo/rules/<platform>.py`` and cite their source in the
"Video limits" section of ``docs/platforms/<platform>.md``; ``None`` means no limit known, and
``verified=False`` marks figures no primary source confirmed. ``video_problems`` checks one probed
video (``promo.campaigns.probe`` read it at load); ``post_problems`` checks a part's media as a
whole (how many videos, videos mixed with images). Problems are in plain words:
``X: video 3:12 is over the 2:20 limit``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from promo.posts import Media, Problem


@dataclass(frozen=True)
class VideoRules:
    """What one platform accepts as a video attachment."""

    min_duration_s: float | None = None
    max_duration_s: float | None = None
    max_bytes: int | None = None
    containers: frozenset[str] = field(default_factory=frozenset)   # empty: any
    codecs: frozenset[str] = field(default_factory=frozenset)       # empty: any
    min_aspect: float | None = None    # width / height
    max_aspect: float | None = None
    min_width: int | None = None
    min_height: int | None = None
    max_width: int | None = None
    max_height: int | None = None
    max_fps: float | None = None
    max_count: int = 1                 # videos per post
    mix_with_images: bool = False
    cover: bool = False                # a custom cover/thumbnail can be sent
    captions: bool = False             # caption files (SRT/VTT) can be sent
    verified: bool = True              # False: a figure we could not confirm from the docs
    max_alt: int | None = None         # the longest alt text (description) a video may carry
    caption_formats: frozenset[str] = frozenset({"srt", "vtt"})   # caption file extensions accepted
    max_pixels: int | None = None      # width x height (Mastodon: 8,294,400, a 4K UHD frame)
    min_fps: float | None = None
    cover_frame: bool = True           # a cover may be a frame time (False: only an image file)


MP4_MOV = frozenset({"mp4", "mov", "m4v"})
H264 = frozenset({"h264"})
ANY_VIDEO = VideoRules(max_count=100, mix_with_images=True, cover=True, captions=True)


def duration_text(seconds: float) -> str:
    """``3:12``, ``0:00.5``, ``1:02:03``: a duration as people write it."""
    whole = int(seconds)
    fraction = seconds - whole
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    shown = f"{secs:02d}" if fraction < 0.05 else f"{secs + fraction:04.1f}"
    return f"{hours}:{minutes:02d}:{shown}" if hours else f"{minutes}:{shown}"


def video_problems(where: str, item: Media, rules: VideoRules, part: int = 0) -> list[Problem]:
    """One probed video against ``rules``; ``where`` is the message prefix (``"X: "``)."""
    checks = (_duration, _size, _format, _shape, _rate, _extras)
    return [Problem(code, f"{where}{message}", part) for check in checks for code, message in check(item, rules)]


def post_problems(where: str, media: Sequence[Media], rules: VideoRules, part: int = 0) -> list[Problem]:
    """How many videos, and whether they may share a post with images."""
    videos = [m for m in media if m.kind == "video"]
    problems = []
    if len(videos) > rules.max_count:
        problems.append(Problem("too_many_media", f"{where}{len(videos)} videos, at most {rules.max_count}", part))
    if videos and not rules.mix_with_images and len(videos) < len(media):
        problems.append(Problem("media_type", f"{where}a video cannot share a post with images", part))
    return problems


Found = list[tuple[str, str]]


def _duration(item: Media, rules: VideoRules) -> Found:
    seconds = item.duration_s
    if seconds is None:
        return []
    if rules.max_duration_s is not None and seconds > rules.max_duration_s:
        return [("video_too_long",
                 f"video {duration_text(seconds)} is over the {duration_text(rules.max_duration_s)} limit")]
    if rules.min_duration_s is not None and seconds < rules.min_duration_s:
        return [("video_too_short",
                 f"video {duration_text(seconds)} is under the {duration_text(rules.min_duration_s)} minimum")]
    return []


def _size(item: Media, rules: VideoRules) -> Found:
    if rules.max_bytes is None or item.size is None or item.size <= rules.max_bytes:
        return []
    return [("media_too_large", f"video is {_megabytes(item.size)}, the limit is {_megabytes(rules.max_bytes)}")]


def _format(item: Media, rules: VideoRules) -> Found:
    found = []
    if rules.containers and item.container and item.container not in rules.containers:
        found.append(("video_format", f"video container {item.container} is not accepted "
                                      f"(accepted: {', '.join(sorted(rules.containers))})"))
    if rules.codecs and item.codec and item.codec not in rules.codecs:
        found.append(("video_format", f"video codec {item.codec} is not accepted "
                                      f"(accepted: {', '.join(sorted(rules.codecs))})"))
    return found


def _shape(item: Media, rules: VideoRules) -> Found:
    width, height = item.width, item.height
    if not width or not height:
        return []
    found = []
    aspect = width / height
    if (rules.min_aspect is not None and aspect < rules.min_aspect - 1e-3) or (
            rules.max_aspect is not None and aspect > rules.max_aspect + 1e-3):
        shape = "vertical" if aspect < 1 else "wide" if aspect > 1 else "square"
        found.append(("video_aspect", f"{shape} video {width}x{height} (aspect {_ratio(aspect)}) is outside "
                                      f"the accepted {_ratio(rules.min_aspect)} to {_ratio(rules.max_aspect)}"))
    small = (rules.min_width or 0) > width or (rules.min_height or 0) > height
    large = (rules.max_width or width) < width or (rules.max_height or height) < height
    if not small and not large and rules.max_pixels is not None and width * height > rules.max_pixels:
        return [*found, ("video_resolution", f"video {width}x{height} is over the {rules.max_pixels:,}-pixel "
                                             "limit (at most 3840x2160 or the same area)")]
    if small or large:
        bound = (f"at least {rules.min_width or 1}x{rules.min_height or 1}" if small
                 else f"at most {rules.max_width or width}x{rules.max_height or height}")
        found.append(("video_resolution", f"video {width}x{height} must be {bound}"))
    return found


def _rate(item: Media, rules: VideoRules) -> Found:
    if item.fps is None:
        return []
    if rules.max_fps is not None and item.fps > rules.max_fps + 0.01:
        return [("video_frame_rate", f"video at {item.fps:g} fps is over the {rules.max_fps:g} fps limit")]
    if rules.min_fps is not None and item.fps < rules.min_fps - 0.01:
        return [("video_frame_rate", f"video at {item.fps:g} fps is under the {rules.min_fps:g} fps minimum")]
    return []


def _extras(item: Media, rules: VideoRules) -> Found:
    found = []
    if item.cover and not rules.cover:
        found.append(("video_cover", "a custom video cover cannot be sent here; remove cover: for this platform"))
    elif item.cover and item.cover_time is not None and not rules.cover_frame:
        found.append(("video_cover", "a cover here must be an image file, not a frame time"))
    if item.captions and not rules.captions:
        found.append(("video_captions", "caption files cannot be sent here; remove captions: or burn them in"))
    elif item.captions and item.captions.rsplit(".", 1)[-1].lower() not in rules.caption_formats:
        found.append(("video_captions", f"captions must be {' or '.join(sorted(rules.caption_formats)).upper()} "
                                        "here"))
    if rules.max_alt is not None and len(item.alt) > rules.max_alt:
        found.append(("alt_too_long", f"video alt text is {len(item.alt)} characters, at most {rules.max_alt}"))
    return found


def _ratio(value: float | None) -> str:
    if value is None:
        return "any"
    for name, ratio in (("9:16", 9 / 16), ("16:9", 16 / 9), ("4:5", 0.8), ("1:1", 1.0), ("1:3", 1 / 3),
                        ("3:1", 3.0), ("1:2.4", 1 / 2.4), ("2.4:1", 2.4), ("4:3", 4 / 3), ("3:4", 0.75)):
        if abs(value - ratio) < 0.005:
            return name
    return f"1:{1 / value:.3g}" if value < 1 else f"{value:.3g}:1"


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB" if size >= 100_000 else f"{size:,} bytes"
