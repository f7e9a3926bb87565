"""A video's cover as a small JPEG for a platform's thumbnail field (Telegram, Mastodon).

``Media.cover`` is an image file or a frame time (``"00:00:03.5"``). An image is read with Pillow;
a frame is decoded from the video with PyAV at that time. Either is scaled to fit ``max_side`` and
saved as JPEG, lowering the quality until it fits ``max_bytes`` (Telegram: 320 px, 200 kB). A
cover that cannot be read is ``Permanent``: the post is not sent without the cover it was given.
PyAV and Pillow are imported only when a cover is made.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from promo.errors import Permanent
from promo.platforms.media import cover_path, local_path
from promo.posts import Media

if TYPE_CHECKING:
    from pathlib import Path

    from PIL import Image

QUALITIES = (85, 70, 55, 40, 25)


def cover_jpeg(platform: str, media: Media, max_side: int, max_bytes: int) -> bytes | None:
    """The cover as JPEG bytes within ``max_side`` px and ``max_bytes``; None when there is no cover."""
    if not media.cover:
        return None
    try:
        image = _frame(local_path(platform, media), media.cover_time) if media.cover_time is not None \
            else _image(cover_path(platform, media))
    except Permanent:
        raise
    except Exception as exc:  # PyAV and Pillow raise many kinds for an unreadable file
        raise Permanent(f"cannot read the cover {media.cover}: {exc}", platform=platform) from exc
    image = image.convert("RGB")
    image.thumbnail((max_side, max_side))
    for quality in QUALITIES:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=quality)
        if buffer.tell() <= max_bytes:
            return buffer.getvalue()
    raise Permanent(f"the cover {media.cover} does not fit in {max_bytes} bytes as a JPEG", platform=platform)


def _image(path: Path | None) -> Image.Image:
    from PIL import Image

    assert path is not None
    with Image.open(path) as image:
        image.load()
        return image.copy()


def _frame(path: Path, seconds: float) -> Image.Image:
    """The first frame at or after ``seconds`` (the last frame if the video is shorter)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.time_base:
            container.seek(int(seconds / stream.time_base), stream=stream, backward=True)
        last = None
        for frame in container.decode(stream):
            last = frame
            if frame.time is not None and frame.time >= seconds:
                break
        if last is None:
            raise Permanent(f"{path.name} has no frame at {seconds:g} s", platform="")
        return last.to_image()
