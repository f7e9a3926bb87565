"""Reading what a media file is, at campaign load: PyAV for video, Pillow for images (issue 13).

A probe reads headers and at most one decoded video frame, never the whole file: ffmpeg's
``probesize`` and ``analyzeduration`` bound what it reads while finding the streams, and the
first frame (which carries the display rotation and proves the stream decodes) must come within
``FIRST_FRAME_PACKETS`` packets. Images are opened lazily and verified; an image of more than
``MAX_IMAGE_PIXELS`` pixels (a decompression bomb) is refused before it is decoded.

``probe(path, mime)`` returns the probed ``Media`` fields as a mapping, or raises ``Unreadable``
with the reason in plain words (a truncated file, a text file named ``.mp4``).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import av
from PIL import Image, UnidentifiedImageError

PROBE_OPTIONS = {"probesize": "5000000", "analyzeduration": "5000000"}   # bytes, microseconds
FIRST_FRAME_PACKETS = 64
MAX_IMAGE_PIXELS = 50_000_000     # 50 megapixels: well above any platform's image limit
# ffmpeg's format names -> the container a platform's rules name; the file's extension picks among aliases
_CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2": ("mp4", "mov", "m4v", "3gp"), "matroska,webm": ("webm", "mkv")}


class Unreadable(Exception):
    """The file is not what its name says, or is damaged: ``str(exc)`` says why."""


def probe(path: Path, mime: str) -> dict[str, Any]:
    """The probed fields of the media file at ``path`` (see ``promo.posts.Media``); {} for other kinds."""
    kind = mime.split("/", 1)[0]
    if kind == "video":
        return probe_video(path)
    if kind == "image":
        return probe_image(path)
    return {}


def probe_video(path: Path) -> dict[str, Any]:
    """Duration, displayed size, frame rate, codec, container, bitrate and rotation of a video file."""
    try:
        with av.open(str(path), options=PROBE_OPTIONS) as container:
            if not container.streams.video:
                raise Unreadable("has no video stream")
            stream = container.streams.video[0]
            rotation = _first_frame_rotation(container, stream)
            return _video_fields(path, container, stream, rotation)
    except av.FFmpegError as exc:
        raise Unreadable(f"cannot be read as a video ({_reason(exc)})") from None


def _first_frame_rotation(container: Any, stream: Any) -> int:
    for count, packet in enumerate(container.demux(stream)):
        if count >= FIRST_FRAME_PACKETS:
            break
        for frame in packet.decode():
            return round(frame.rotation) % 360
    raise Unreadable(f"has no decodable video frame in its first {FIRST_FRAME_PACKETS} packets")


def _video_fields(path: Path, container: Any, stream: Any, rotation: int) -> dict[str, Any]:
    duration = _duration(container, stream)
    if duration is None or duration <= 0:
        raise Unreadable("has no duration that can be read")
    width, height = stream.codec_context.width, stream.codec_context.height
    if not width or not height:
        raise Unreadable("has no picture size that can be read")
    if rotation in (90, 270):
        width, height = height, width
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return {
        "duration_s": round(duration, 3), "width": width, "height": height,
        "fps": round(float(rate), 3) if rate else None, "codec": stream.codec_context.name,
        "container": _container(container.format.name, path), "bitrate": container.bit_rate or None,
        "rotation": rotation,
    }


def _duration(container: Any, stream: Any) -> float | None:
    if container.duration:
        return float(container.duration / av.time_base)
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return None


def _container(name: str, path: Path) -> str:
    aliases = _CONTAINERS.get(name) or tuple(name.split(","))
    extension = path.suffix.lower().lstrip(".")
    return extension if extension in aliases else aliases[0]


def _reason(exc: av.FFmpegError) -> str:
    return (getattr(exc, "strerror", None) or str(exc)).strip().rstrip(".").lower()


def probe_image(path: Path) -> dict[str, Any]:
    """Dimensions, format and whether it is animated (GIF, WebP, APNG) of an image file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _image_fields(path)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise Unreadable(f"is too large to decode safely (over {MAX_IMAGE_PIXELS:,} pixels)") from None
    except UnidentifiedImageError:
        raise Unreadable("is not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise Unreadable(f"cannot be read as an image ({exc})") from None


def _image_fields(path: Path) -> dict[str, Any]:
    with Image.open(path) as image:
        width, height = image.size
        if width * height > MAX_IMAGE_PIXELS:
            raise Image.DecompressionBombError(f"{width}x{height}")
        fields = {"width": width, "height": height, "codec": (image.format or "").lower() or None,
                  "animated": bool(getattr(image, "is_animated", False))}
        image.verify()
    return fields
