"""Tiny real media for tests, generated with PyAV and Pillow and cached per session (issue 13).

Every helper writes a fresh copy into the folder it is given (usually pytest's ``tmp_path``) and
returns its path; the bytes are generated once per distinct set of arguments and kept in memory,
so a test may change or truncate its copy freely. Nothing here is committed as a binary file.

- ``tiny_video``: H.264 in MP4 (or another container), 64x36 at 10 fps for a second by default;
  ``rotation`` writes a display matrix (a phone held upright), ``audio`` adds an AAC track.
- ``vertical_video``: 36x64; ``long_video``: 200 s at 1 fps, still only a few KB.
- ``large_video``: a real tiny MP4 followed by a sparse MP4 ``free`` box, so the file is as big as
  asked (500 MB for upload memory tests) but takes no disk space and still probes as a video.
- ``corrupt_video``: a truncated MP4; ``not_a_video``: text named ``.mp4``.
- ``tiny_image`` (PNG/JPEG/WebP), ``animated_gif``; ``captions_file`` (SRT or VTT).
"""

from __future__ import annotations

import io
import struct
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image

_CACHE: dict[tuple[object, ...], bytes] = {}


def tiny_video(folder: Path, *, seconds: float = 1.0, width: int = 64, height: int = 36, fps: int = 10,
               container: str = "mp4", codec: str = "libx264", rotation: int = 0, audio: bool = False,
               name: str | None = None) -> Path:
    """A real video of ``seconds`` at ``width`` x ``height`` (as stored; ``rotation`` turns it on display)."""
    key = ("video", seconds, width, height, fps, container, codec, rotation, audio)
    if key not in _CACHE:
        _CACHE[key] = encode_video(seconds=seconds, width=width, height=height, fps=fps, container=container,
                                   codec=codec, rotation=rotation, audio=audio)
    suffix = {"matroska": "mkv"}.get(container, container)
    return _write(folder, name or f"video-{width}x{height}-{seconds:g}s.{suffix}", _CACHE[key])


def vertical_video(folder: Path, *, seconds: float = 1.0, name: str = "vertical.mp4") -> Path:
    """A 36x64 (9:16) H.264 MP4."""
    return tiny_video(folder, seconds=seconds, width=36, height=64, name=name)


def long_video(folder: Path, *, seconds: float = 200.0, name: str = "long.mp4") -> Path:
    """A long H.264 MP4 made cheaply: 1 fps, 64x36 (200 s is a few KB and a fraction of a second to make)."""
    return tiny_video(folder, seconds=seconds, fps=1, name=name)


def large_video(folder: Path, size: int, *, name: str = "large.mp4") -> Path:
    """A valid MP4 of exactly ``size`` bytes: a tiny video, then a sparse ``free`` box (no disk used)."""
    head = tiny_video(folder, name=".large-head.mp4")
    data = head.read_bytes()
    head.unlink()
    pad = size - len(data)
    if pad < 16:
        raise ValueError(f"size must be at least {len(data) + 16} bytes")
    path = folder / name
    with path.open("wb") as out:
        out.write(data)
        out.write(struct.pack(">I4sQ", 1, b"free", pad))   # size 1: a 64-bit size follows
        out.truncate(size)
    return path


def corrupt_video(folder: Path, *, name: str = "corrupt.mp4") -> Path:
    """The first third of a real MP4: a truncated download."""
    data = tiny_video(folder, name=".whole.mp4")
    whole = data.read_bytes()
    data.unlink()
    return _write(folder, name, whole[: len(whole) // 3])


def not_a_video(folder: Path, *, name: str = "notes.mp4") -> Path:
    """Plain text with a video's extension."""
    return _write(folder, name, b"these are meeting notes, not a video\n" * 4)


def tiny_image(folder: Path, *, width: int = 64, height: int = 36, format: str = "PNG",
               name: str | None = None) -> Path:
    """A real still image (PNG, JPEG or WEBP)."""
    key = ("image", width, height, format)
    if key not in _CACHE:
        buffer = io.BytesIO()
        Image.new("RGB", (width, height), (200, 30, 60)).save(buffer, format=format)
        _CACHE[key] = buffer.getvalue()
    ext = {"JPEG": "jpg"}.get(format.upper(), format.lower())
    return _write(folder, name or f"image-{width}x{height}.{ext}", _CACHE[key])


def animated_gif(folder: Path, *, frames: int = 3, width: int = 32, height: int = 32,
                 name: str = "animated.gif") -> Path:
    """A real animated GIF of ``frames`` frames."""
    key = ("gif", frames, width, height)
    if key not in _CACHE:
        buffer = io.BytesIO()
        images = [Image.new("RGB", (width, height), (40 * i % 256, 80, 160)) for i in range(frames)]
        images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
        _CACHE[key] = buffer.getvalue()
    return _write(folder, name, _CACHE[key])


def captions_file(folder: Path, *, format: str = "srt", name: str | None = None) -> Path:
    """A small valid SRT or VTT caption file."""
    cues = [("00:00:00,000", "00:00:00,500", "Krysten Ritter, directing"),
            ("00:00:00,500", "00:00:01,000", "Season 3, June 14")]
    if format == "vtt":
        text = "WEBVTT\n\n" + "".join(f"{a.replace(',', '.')} --> {b.replace(',', '.')}\n{t}\n\n" for a, b, t in cues)
    else:
        text = "".join(f"{i}\n{a} --> {b}\n{t}\n\n" for i, (a, b, t) in enumerate(cues, 1))
    return _write(folder, name or f"captions.{format}", text.encode("utf-8"))


def encode_video(*, seconds: float, width: int, height: int, fps: int, container: str = "mp4",
                 codec: str = "libx264", rotation: int = 0, audio: bool = False) -> bytes:
    """Encode a deterministic test pattern (a bar moving across a coloured field) and return the bytes."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        stream = out.add_stream(codec, rate=fps)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.thread_count = 1
        if codec == "libx264":
            stream.options = {"preset": "ultrafast"}
        if rotation:
            stream.set_display_rotation(rotation)
        sound = out.add_stream("aac", rate=8000, layout="mono") if audio else None
        for index in range(max(1, round(seconds * fps))):
            frame = av.VideoFrame.from_image(_pattern(index, width, height))
            frame.pts, frame.time_base = index, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
        if sound is not None:
            _encode_silence(out, sound, seconds)
    return buffer.getvalue()


def _encode_silence(out: av.container.OutputContainer, sound: av.AudioStream, seconds: float) -> None:
    samples = sound.codec_context.frame_size or 1024
    for index in range(max(1, round(seconds * 8000 / samples))):
        frame = av.AudioFrame(format="fltp", layout="mono", samples=samples)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate, frame.pts = 8000, index * samples
        out.mux(sound.encode(frame))
    out.mux(sound.encode())


def _pattern(index: int, width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), (20, 20, 60))
    x = index * 4 % max(1, width)
    image.paste((230, 200, 40), (x, 0, min(width, x + 4), height))
    return image


def _write(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path
