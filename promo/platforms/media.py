"""Reading a post's media file for an upload: its name, bytes and type; a missing file is ``Permanent``."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from promo.errors import Permanent
from promo.posts import Media


def media_file(platform: str, media: Media) -> tuple[str, bytes, str]:
    """``(file name, bytes, mime)`` of a local Media file."""
    path = Path(media.path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Permanent(f"cannot read media file {media.path}: {exc.strerror}", platform=platform) from None
    mime = media.mime or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return path.name, data, mime


def local_path(platform: str, media: Media) -> Path:
    """The file to stream for an upload (uploads never read a whole video into memory).

    A missing or unreadable file is ``Permanent``. Issue 13 resolves paths relative to the campaign file.
    """
    path = Path(media.path)
    if not path.is_file():
        raise Permanent(f"cannot read media file {media.path}: not found", platform=platform)
    return path
