"""Finding a post's media files for an upload: the video or image, its cover image and its captions.

Stored media paths are relative to the campaign file (so moving a checkout changes no digest);
``Media.root`` is that file's folder, supplied when the campaign is loaded and, at publish time, by
the engine from the campaign's stored source. An absolute path (older payloads, ``promo post``) is
used as it is. A missing or unreadable file is ``Permanent``: retrying will not make it appear.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from promo.errors import Permanent
from promo.posts import Media


def resolve(media: Media, relative: str | None = None) -> Path:
    """Where ``relative`` (default: the media file itself) is on this machine, without checking it exists."""
    path = Path(relative if relative is not None else media.path)
    return path if path.is_absolute() or not media.root else Path(media.root) / path


def media_file(platform: str, media: Media) -> tuple[str, bytes, str]:
    """``(file name, bytes, mime)`` of a local Media file (small images; stream videos with ``local_path``)."""
    path = local_path(platform, media)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Permanent(f"cannot read media file {media.path}: {exc.strerror}", platform=platform) from None
    mime = media.mime or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return path.name, data, mime


def local_path(platform: str, media: Media) -> Path:
    """The file to stream for an upload (uploads never read a whole video into memory)."""
    return _existing(platform, resolve(media), media.path)


def cover_path(platform: str, media: Media) -> Path | None:
    """The cover image file, or None when there is no cover or the cover is a frame time (``media.cover_time``)."""
    if not media.cover or media.cover_time is not None:
        return None
    return _existing(platform, resolve(media, media.cover), media.cover)


def captions_path(platform: str, media: Media) -> Path | None:
    """The SRT or VTT captions file, or None."""
    if not media.captions:
        return None
    return _existing(platform, resolve(media, media.captions), media.captions)


def _existing(platform: str, path: Path, shown: str) -> Path:
    if not path.is_file():
        raise Permanent(f"cannot read media file {shown}: not found (looked in {path.parent})", platform=platform)
    return path

