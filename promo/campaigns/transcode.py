"""``overflow: transcode``: a video a platform would refuse, re-encoded with PyAV to fit (issue 13).

Only where a campaign asks (``platforms: {x: {overflow: transcode}}``), and only for what a new
encoding can fix: the container and codec (to H.264 video and AAC audio in MP4), a picture too
large (scaled down, aspect kept), a frame rate too high (frames dropped) and a file too big (a
bitrate that fits). A video too long, too short, of the wrong shape or too small is still refused:
cutting or padding a featurette is an editor's decision.

The result goes in ``.transcoded/`` beside the campaign file, named after the source's content and
the target, so preview and apply reuse it and a moved checkout makes the same bytes again (one
encoder thread, ffmpeg's bit-exact flags). Each transcode is bounded in time
(``TIME_LIMIT_S``); one that would run past it stops and the video is reported, not sent.
"""

from __future__ import annotations

import hashlib
import posixpath
import time
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from promo.campaigns.probe import Unreadable, probe_video
from promo.platforms.media import resolve
from promo.posts import Media, Part, Post
from promo.rules.video import VideoRules

FOLDER = ".transcoded"
TIME_LIMIT_S = 300.0
AUDIO_BITRATE = 128_000
_FIXABLE = ("video_format", "video_frame_rate", "media_too_large")


@dataclass(frozen=True)
class Target:
    """What the new file must be: its picture size, frame rate and (if the size is bounded) bitrate."""

    width: int
    height: int
    fps: Fraction
    bitrate: int | None
    rotation: int = 0      # the source's display rotation, kept: width and height are as displayed

    @property
    def key(self) -> str:
        return f"{self.width}x{self.height}-{self.fps}-{self.bitrate or 'crf'}"


def transcode_post(post: Post, rules: VideoRules | None, *, time_limit: float = TIME_LIMIT_S) -> Post:
    """``post`` with each video ``rules`` would refuse for a fixable reason replaced by a transcoded copy."""
    if rules is None:
        return post
    parts = tuple(Part(p.text, tuple(_fitted(m, rules, time_limit) for m in p.media)) for p in post.parts)
    return post if parts == post.parts else replace(post, parts=parts)


def target_for(media: Media, rules: VideoRules) -> Target | None:
    """The target if a transcode is needed and can help, else None."""
    if media.kind != "video" or media.error or not (media.width and media.height and media.duration_s):
        return None
    if not _needs(media, rules):
        return None
    scale = min(1.0, (rules.max_width or media.width) / media.width, (rules.max_height or media.height) / media.height)
    width, height = _even(media.width * scale), _even(media.height * scale)
    fps = Fraction(media.fps or 30).limit_denominator(1001)
    if rules.max_fps is not None and fps > rules.max_fps:
        fps = Fraction(rules.max_fps).limit_denominator(1001)
    bitrate = None
    if rules.max_bytes is not None:
        budget = int(rules.max_bytes * 8 * 0.9 / media.duration_s) - AUDIO_BITRATE
        if budget < 50_000:
            return None            # no bitrate would fit: too long for this size limit
        bitrate = min(budget, media.bitrate or budget)
    return Target(width, height, fps, bitrate, media.rotation)


def _needs(media: Media, rules: VideoRules) -> bool:
    from promo.rules.video import video_problems

    return any(p.code in _FIXABLE or (p.code == "video_resolution" and "at most" in p.message)
               for p in video_problems("", media, rules))


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def _fitted(media: Media, rules: VideoRules, time_limit: float) -> Media:
    target = target_for(media, rules)
    if target is None:
        return media
    source = resolve(media)
    digest = _content_digest(source)
    relative = posixpath.join(posixpath.dirname(media.path) if not Path(media.path).is_absolute() else "",
                              FOLDER, f"{Path(media.path).stem}-{digest[:12]}-{target.key}.mp4")
    output = resolve(media, relative)
    try:
        if not output.is_file():
            encode(source, output, target, time_limit=time_limit)
        fields = probe_video(output)
    except (Unreadable, TimeoutError, av.FFmpegError) as exc:
        return replace(media, error=f"{media.path}: transcoding failed ({exc}); export it within the limits")
    return replace(media, path=relative, size=output.stat().st_size, mime="video/mp4", **fields)


def _content_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def encode(source: Path, output: Path, target: Target, *, time_limit: float = TIME_LIMIT_S) -> None:
    """Re-encode ``source`` to H.264/AAC MP4 at ``output`` (written whole or not at all)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(".part")
    deadline = time.monotonic() + time_limit
    try:
        with av.open(str(source)) as inp, av.open(str(partial), "w", format="mp4",
                                                  container_options={"fflags": "+bitexact"}) as out:
            _copy_streams(inp, out, target, deadline)
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)


def _copy_streams(inp: Any, out: Any, target: Target, deadline: float) -> None:
    video_in = inp.streams.video[0]
    audio_in = inp.streams.audio[0] if inp.streams.audio else None
    video = _video_stream(out, target)
    audio = out.add_stream("aac", rate=48_000, layout="stereo") if audio_in is not None else None
    if audio is not None:
        audio.bit_rate = AUDIO_BITRATE
    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=48_000)
    frames = 0
    streams = [s for s in (video_in, audio_in) if s is not None]
    for packet in inp.demux(*streams):
        if time.monotonic() > deadline:
            raise TimeoutError("it would take too long")
        for frame in packet.decode():
            if packet.stream is video_in:
                frames = _video_frame(out, video, frame, target, frames)
            elif audio is not None:
                for chunk in resampler.resample(frame):  # type: ignore[arg-type]
                    chunk.pts = None
                    out.mux(audio.encode(chunk))
    out.mux(video.encode())
    if audio is not None:
        out.mux(audio.encode())


def _video_stream(out: Any, target: Target) -> Any:
    stream = out.add_stream("libx264", rate=target.fps)
    stream.width, stream.height = _stored_size(target)
    stream.pix_fmt = "yuv420p"
    if target.rotation:
        stream.set_display_rotation(target.rotation)
    stream.codec_context.thread_count = 1
    stream.codec_context.flags |= av.codec.context.Flags.bitexact
    if target.bitrate:
        stream.bit_rate = target.bitrate
        stream.options = {"preset": "medium"}
    else:
        stream.options = {"preset": "medium", "crf": "23"}
    return stream


def _stored_size(target: Target) -> tuple[int, int]:
    """The encoded picture's size: the displayed size, turned back if the video is displayed rotated."""
    turned = target.rotation in (90, 270)
    return (target.height, target.width) if turned else (target.width, target.height)


def _video_frame(out: Any, stream: Any, frame: Any, target: Target, written: int) -> int:
    """Encode ``frame`` if the target frame rate wants it; returns how many frames are written."""
    if frame.time is not None and frame.time < written / target.fps:
        return written                      # dropped: the target rate is lower
    width, height = _stored_size(target)
    picture = frame.reformat(width=width, height=height, format="yuv420p")
    picture.pts, picture.time_base = written, 1 / target.fps
    out.mux(stream.encode(picture))
    return written + 1
