"""The seed campaign's files (``promo demo``, the repository's ``examples/``) and its featurette clip.

``featurette_clip()`` makes ``media/featurette.mp4``: four seconds of H.264 at 256x144, 24 fps, a
title card with a bar sweeping across it, about 10 KB. It is deterministic (one encoder thread,
ffmpeg's bit-exact flags, no timestamps), so the shipped file can be made again byte for byte with
the same PyAV: ``python -m promo.manage.seed`` rewrites both copies. Its size and shape fit every
platform the seed posts to (LinkedIn wants at least 3 seconds and 256x144), except TikTok, which wants at
least 360 pixels a side: ``featurette_clip(VERTICAL_SIZE)`` makes ``media/featurette-vertical.mp4``, the same
card at 360x640 for the seed's vertical cut (its TikTok, its Instagram Reel and its YouTube Short).
"""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, ImageDraw

CLIP_SECONDS = 4
CLIP_SIZE = (256, 144)
CLIP_FPS = 24
VERTICAL_SIZE = (360, 640)


def featurette_clip(size: tuple[int, int] = CLIP_SIZE) -> bytes:
    """The featurette clip's MP4 bytes (at ``size``: the vertical cut is ``VERTICAL_SIZE``)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4", container_options={"fflags": "+bitexact"}) as out:
        stream = out.add_stream("libx264", rate=CLIP_FPS)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.thread_count = 1
        stream.codec_context.flags |= av.codec.context.Flags.bitexact
        stream.options = {"preset": "veryslow", "crf": "34", "tune": "stillimage"}
        for index in range(CLIP_SECONDS * CLIP_FPS):
            frame = av.VideoFrame.from_image(_card(index / (CLIP_SECONDS * CLIP_FPS), size))
            frame.pts, frame.time_base = index, Fraction(1, CLIP_FPS)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return buffer.getvalue()


def _card(progress: float, size: tuple[int, int] = CLIP_SIZE) -> Image.Image:
    width = CLIP_SIZE[0]  # the card is drawn at the featurette's size, centred in a taller frame
    image = Image.new("RGB", size, (18, 14, 32))
    if size != CLIP_SIZE:
        image.paste(_card(progress), ((size[0] - CLIP_SIZE[0]) // 2, (size[1] - CLIP_SIZE[1]) // 2))
        return image
    draw = ImageDraw.Draw(image)
    draw.rectangle((24, 40, width - 24, 104), outline=(120, 90, 200), width=3)   # the title card
    draw.ellipse((36, 56, 68, 88), fill=(200, 40, 60))                            # a record light
    sweep = 80 + int(progress * (width - 24 - 80 - 12))
    draw.rectangle((80, 66, sweep + 12, 78), fill=(230, 200, 60))                 # the bar
    return image


def write_clips(folders: list[Path]) -> None:
    """Write ``media/featurette.mp4`` and ``media/featurette-vertical.mp4`` into each folder."""
    clips = {"featurette.mp4": featurette_clip(), "featurette-vertical.mp4": featurette_clip(VERTICAL_SIZE)}
    for folder in folders:
        (folder / "media").mkdir(parents=True, exist_ok=True)
        for name, data in clips.items():
            (folder / "media" / name).write_bytes(data)
