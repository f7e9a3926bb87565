"""What a platform receives, and what comes back.

A ``Post`` is the exact payload for one account: its parts (the first is the post, the rest are
the thread's replies), each with text and media. Rules check a Post without I/O; adapters publish
it. ``ScheduledPost`` is a Post with its place in a campaign and its time, as preview shows it and
apply stores it.

The stored payload (the ledger's ``payload`` JSON) is known here and nowhere else:
``Post.to_payload`` / ``Post.from_payload`` convert, ``payload_text`` reads the post's own text for
lists, ``Post.differences`` names what an edit changes, and ``post_digest`` (or
``ScheduledPost.digest``) is apply's change detector.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from promo.times import iso


@dataclass(frozen=True)
class Media:
    """A local media file. ``size`` (bytes) and ``mime`` are read when the campaign is loaded."""

    path: str
    alt: str = ""
    size: int | None = None
    mime: str | None = None
    # What probing read (campaign load time; None where unknown or not probed). Issue 13.
    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    codec: str | None = None       # the video (or image) codec/format, e.g. "h264", "png"
    container: str | None = None   # e.g. "mp4", "mov", "webm"
    bitrate: int | None = None     # bits per second
    rotation: int = 0              # degrees; width/height are as displayed (after rotation)
    animated: bool = False         # an animated GIF/WebP
    cover: str | None = None       # a cover image path, or a frame time like "00:00:03.5"
    captions: str | None = None    # an SRT/VTT file path
    error: str | None = None       # why probing could not read the file (rules report it as a problem)
    # The folder relative paths are read from (the campaign file's): supplied at load and at publish
    # time, never stored, so moving a checkout changes no digest. Empty: the current folder.
    root: str = field(default="", compare=False, repr=False)

    @property
    def kind(self) -> str:
        """``image``, ``gif``, ``video`` or ``other``, from the MIME type."""
        mime = self.mime or ""
        if mime == "image/gif":
            return "gif"
        return mime.split("/", 1)[0] if mime.split("/", 1)[0] in ("image", "video") else "other"

    @property
    def cover_time(self) -> float | None:
        """The cover as a frame time in seconds, or None when the cover is an image file (or absent)."""
        return frame_time(self.cover) if self.cover else None

    def to_dict(self) -> dict[str, Any]:
        """The stored form: the four original keys always, probed fields only when set."""
        data: dict[str, Any] = {"path": self.path, "alt": self.alt, "size": self.size, "mime": self.mime}
        for key in _PROBED:
            value = getattr(self, key)
            if value not in (None, 0, False):
                data[key] = value
        return data


_PROBED = ("duration_s", "width", "height", "fps", "codec", "container", "bitrate", "rotation", "animated",
           "cover", "captions", "error")
_FRAME_TIME = re.compile(r"^(?:(?:(\d+):)?(\d{1,2}):)?(\d+(?:\.\d+)?)$")


def frame_time(value: str) -> float | None:
    """Seconds from ``"3.5"``, ``"0:03.5"`` or ``"00:00:03.5"``; None if ``value`` is not a time (a file)."""
    found = _FRAME_TIME.match(value.strip())
    if found is None:
        return None
    hours, minutes, seconds = found.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds)


@dataclass(frozen=True)
class Part:
    """One message: the post itself or one reply of its thread."""

    text: str
    media: tuple[Media, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "media": [m.to_dict() for m in self.media]}


@dataclass(frozen=True)
class Post:
    """The exact payload for one account on one platform."""

    platform: str
    account: str
    parts: tuple[Part, ...]
    idempotency_key: str = ""
    link: str | None = None

    @property
    def text(self) -> str:
        return self.parts[0].text

    @property
    def media(self) -> tuple[Media, ...]:
        return self.parts[0].media

    @property
    def thread(self) -> tuple[Part, ...]:
        return self.parts[1:]

    def to_payload(self) -> dict[str, Any]:
        """The JSON stored in the ledger; ``from_payload`` reverses it."""
        return {"parts": [p.to_dict() for p in self.parts], "link": self.link}

    @classmethod
    def from_payload(cls, platform: str, account: str, payload: Mapping[str, Any],
                     idempotency_key: str = "", *, media_root: str = "") -> Post:
        """The Post of a stored payload; ``media_root`` is the folder its relative media paths are read from."""
        parts = tuple(
            Part(p["text"], tuple(Media(**m, root=media_root) for m in p.get("media", ())))
            for p in payload["parts"]
        )
        return cls(platform, account, parts, idempotency_key, payload.get("link"))

    @classmethod
    def single(cls, platform: str, account: str, text: str, *media: Media, key: str = "") -> Post:
        return cls(platform, account, (Part(text, tuple(media)),), key)

    def differences(self, before: Post) -> list[str]:
        """What changed since ``before``, as a plan names it: ``text``, ``thread``, ``media``, ``link``."""
        found: list[str] = []
        if [p.text for p in self.parts[:1]] != [p.text for p in before.parts[:1]]:
            found.append("text")
        if [p.text for p in self.thread] != [p.text for p in before.thread]:
            found.append("thread")
        if [p.media for p in self.parts] != [p.media for p in before.parts]:
            found.append("media")
        if self.link != before.link:
            found.append("link")
        return found


def payload_text(payload: Mapping[str, Any]) -> str:
    """The post's own text (its first part) from a stored payload; empty if it has none."""
    parts = payload.get("parts") or [{}]
    return str(parts[0].get("text", ""))


def post_digest(payload: Mapping[str, Any], scheduled_at: datetime, not_before: datetime | None,
                max_lateness_s: int | None) -> str:
    """sha256 of the canonical JSON of what a post sends and when: apply's change detector."""
    document = {"payload": payload, "scheduled_at": _utc(scheduled_at),
                "not_before": _utc(not_before) if not_before else None, "max_lateness_s": max_lateness_s}
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _utc(value: datetime) -> str:
    return iso(value.astimezone(UTC))


@dataclass(frozen=True)
class Problem:
    """One broken rule, in plain words: ``X: 291/280, the link counts as 23``."""

    code: str          # machine-readable: too_long, too_many_media, media_too_large, too_many_links, ...
    message: str
    part: int = 0      # 0 is the post, 1.. the thread's replies

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "part": self.part}


@dataclass(frozen=True)
class Report:
    """The result of checking a post: the first part's length against its limit, and all problems.

    ``notes`` are what a person should know but that does not stop the post (an unaudited TikTok app
    posts privately): shown by preview, never a reason to refuse."""

    platform: str
    length: int
    limit: int
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Published:
    """What the platform answered: its id for the post (the first part) and the public URL."""

    platform_id: str
    url: str | None = None
    thread_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class NotPublished:
    """A look-up's answer: the platform certainly has no such post, so sending it again cannot double it."""

    reason: str = ""


@dataclass(frozen=True)
class CannotTell:
    """A look-up's answer: the platform cannot say whether the post went out. A person must look."""

    reason: str


# What ``Adapter.lookup`` answers: published (the platform's id and URL), not published, or cannot tell.
Lookup = Published | NotPublished | CannotTell


class Journal(Protocol):
    """Durable notes an adapter keeps mid-publish (a Threads container id, thread progress).

    The engine backs it with the ledger row, written before the next API call, so a retry after a
    crash resumes instead of posting a part twice.
    """

    def get(self, key: str) -> str | None: ...

    def record(self, key: str, value: str) -> None: ...


@dataclass
class MemoryJournal:
    """A Journal kept in memory: for previews, rehearsals and tests."""

    notes: dict[str, str] = field(default_factory=dict)

    def get(self, key: str) -> str | None:
        return self.notes.get(key)

    def record(self, key: str, value: str) -> None:
        self.notes[key] = value


@dataclass(frozen=True)
class ScheduledPost:
    """A rendered post with its campaign, announcement and time: one future ledger row."""

    campaign: str | None
    announcement: str | None
    kind: str
    post: Post
    scheduled_at: datetime               # aware
    not_before: datetime | None = None   # embargo: never publish earlier
    max_lateness: timedelta | None = None  # later than this: hold for a person

    def __post_init__(self) -> None:
        if self.scheduled_at.tzinfo is None:
            raise ValueError("scheduled_at must be timezone-aware")

    @property
    def max_lateness_s(self) -> int | None:
        """``max_lateness`` in whole seconds, as the ledger keeps it."""
        return None if self.max_lateness is None else round(self.max_lateness.total_seconds())

    @property
    def digest(self) -> str:
        """``post_digest`` of this post's payload and timing: what the ledger row's ``digest`` holds."""
        return post_digest(self.post.to_payload(), self.scheduled_at, self.not_before, self.max_lateness_s)
