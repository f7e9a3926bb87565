"""An announcement's media list: each file found, probed, and its cover, captions and alt checked.

A media item is ``{path, alt, cover, captions}``. ``path``, ``cover`` (an image file) and
``captions`` (an SRT or WebVTT file) are relative to the campaign file and stored that way, so
moving a checkout changes no digest; ``Media.root`` carries the folder. ``cover`` may instead be a
frame time (``3.5`` or ``"00:00:03.5"``), which must fall within the video.

A mistake in the file (a missing file, a caption file that does not parse, a cover past the end)
is a ``CampaignError`` naming the line. A media file that exists but cannot be read (truncated, a
text file named ``.mp4``, a decompression bomb) is kept with ``Media.error`` set, so preview shows
it as one problem next to the others instead of stopping at the first.
"""

from __future__ import annotations

import mimetypes
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promo.campaigns.probe import Unreadable, probe, probe_image
from promo.campaigns.yamlfile import YamlList, YamlMap
from promo.errors import CampaignError
from promo.posts import Media, frame_time

MEDIA_KEYS = ("path", "alt", "cover", "captions")
MAX_CAPTIONS_BYTES = 2_000_000
_SRT_TIME = r"\d{1,2}:\d{2}:\d{2}[,.]\d{3}"
_VTT_TIME = r"(?:\d+:)?\d{2}:\d{2}\.\d{3}"
_SRT_CUE = re.compile(rf"^\s*(?:\d+\s*\n)?({_SRT_TIME})\s*-->\s*({_SRT_TIME})[^\n]*\n", re.MULTILINE)
_VTT_CUE = re.compile(rf"^(?:[^\n]*\n)?({_VTT_TIME})\s+-->\s+({_VTT_TIME})[^\n]*(?:\n|$)", re.MULTILINE)


@dataclass(frozen=True)
class MediaReader:
    """Where the media list is: the campaign file, its folder, the announcement."""

    file: str
    folder: Path
    announcement: str

    def fail(self, message: str, line: int, field: str) -> CampaignError:
        return CampaignError(message, file=self.file, line=line, field=field)


def read_media(reader: MediaReader, value: Any, line: int, field: str) -> tuple[Media, ...]:
    """The announcement's ``media:`` list as ``Media``, each probed."""
    if value is None:
        return ()
    if not isinstance(value, YamlList):
        raise reader.fail("expected a list of {path: ..., alt: ...}", line, field)
    return tuple(_one(reader, item, value.line_of(i), field) for i, item in enumerate(value))


def _one(reader: MediaReader, item: Any, line: int, field: str) -> Media:
    if not isinstance(item, YamlMap) or not isinstance(item.get("path"), str):
        raise reader.fail("expected {path: media/file.png, alt: \"what the image shows\"}", line, field)
    for key in item:
        if key not in MEDIA_KEYS:
            raise reader.fail(f"unknown key {key!r} (allowed: {', '.join(MEDIA_KEYS)})",
                              item.line_of(key), f"{field}.{key}")
    alt = item.get("alt")
    if not isinstance(alt, str) or not alt.strip():
        raise reader.fail("alt text is required: describe the image for people who cannot see it",
                          item.line_of("path"), f"{field}.alt")
    stored, path = _file(reader, item, "path", field)
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    media = Media(stored, alt.strip(), path.stat().st_size, mime, root=str(reader.folder))
    try:
        media = _with(media, probe(path, mime))
    except Unreadable as exc:
        place = CampaignError(f"{stored} {exc}: export it again or replace it", file=reader.file,
                              line=item.line_of("path"), field=f"{field}.path")
        return _with(media, {"error": str(place)})
    return _with(media, {"cover": _cover(reader, item, media, field),
                         "captions": _captions(reader, item, media, field)})


def _with(media: Media, fields: dict[str, Any]) -> Media:
    return Media(**{**media.to_dict(), **fields}, root=media.root)


def _file(reader: MediaReader, item: YamlMap, key: str, field: str) -> tuple[str, Path]:
    """(the path as stored: relative to the campaign file unless written absolute, the file on disk)."""
    written = str(item[key])
    path = reader.folder / written
    if not path.is_file():
        what = "media file" if key == "path" else f"{key} file"
        raise reader.fail(f"{what} not found: {written} (looked in {path.parent.resolve()})",
                          item.line_of(key), f"{field}.{key}")
    stored = written if Path(written).is_absolute() else posixpath.normpath(Path(written).as_posix())
    return stored, path


def _cover(reader: MediaReader, item: YamlMap, media: Media, field: str) -> str | None:
    value = item.get("cover")
    if value is None:
        return None
    line, where = item.line_of("cover"), f"{field}.cover"
    if media.kind != "video":
        raise reader.fail("a cover is for a video; this file is not one", line, where)
    seconds = float(value) if isinstance(value, int | float) else frame_time(str(value))
    if seconds is not None:
        if not 0 <= seconds <= (media.duration_s or 0):
            raise reader.fail(f"cover time {seconds:g} s is outside the video (0 to {media.duration_s:g} s)",
                              line, where)
        return f"{seconds:g}"
    stored, path = _file(reader, item, "cover", field)
    if not (mimetypes.guess_type(path.name)[0] or "").startswith("image/"):
        raise reader.fail(f"a cover is an image file or a frame time (e.g. 3.5); {stored} is neither",
                          line, where)
    try:
        probe_image(path)
    except Unreadable as exc:
        raise reader.fail(f"{stored} {exc}", line, where) from None
    return stored


def _captions(reader: MediaReader, item: YamlMap, media: Media, field: str) -> str | None:
    if item.get("captions") is None:
        return None
    line, where = item.line_of("captions"), f"{field}.captions"
    if media.kind != "video":
        raise reader.fail("captions are for a video; this file is not one", line, where)
    stored, path = _file(reader, item, "captions", field)
    problem = captions_problem(path)
    if problem:
        raise reader.fail(f"{stored}: {problem}", line, where)
    return stored


def captions_problem(path: Path) -> str | None:
    """Why ``path`` is not a usable SRT or WebVTT file, or None if it is one."""
    if path.stat().st_size > MAX_CAPTIONS_BYTES:
        return f"a caption file is at most {MAX_CAPTIONS_BYTES:,} bytes"
    try:
        text = path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError:
        return "a caption file must be UTF-8 text"
    is_vtt = text.startswith("WEBVTT")
    cues = list((_VTT_CUE if is_vtt else _SRT_CUE).finditer(text))
    if not cues:
        kind = "WebVTT" if is_vtt else "SRT (or WebVTT, starting with WEBVTT)"
        return f"no caption cue found: expected {kind} cues like 00:00:01,000 --> 00:00:02,500"
    for cue in cues:
        start, end = (_seconds(t) for t in cue.groups())
        if end < start:
            return f"the cue at {cue.group(1)} ends before it starts"
    return None


def _seconds(stamp: str) -> float:
    return frame_time(stamp.replace(",", ".")) or 0.0
