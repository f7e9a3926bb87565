"""Bluesky: 300 graphemes and 3,000 UTF-8 bytes; links, tags and mentions as byte-offset facets.

Bluesky does not link anything by itself: each link, #tag and @mention needs a facet whose
``byteStart``/``byteEnd`` are UTF-8 byte offsets (in "Sale \u2728 now: https://..." the link
starts at byte 14, not character 12). ``facets`` detects them the way the official app does
(@atproto/api ``RichText.detectFacets``): links start with http(s):// or are a bare domain with a
known TLD, and lose a trailing ``. , ; ! ?`` and an unbalanced ``)``; handles must end in a
known TLD; tags are at most 64 characters and not only digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import regex

from promo.posts import Part, Problem
from promo.rules.base import TextRules
from promo.rules.counting import MediaRules, graphemes, utf8_length
from promo.rules.tlds import TLDS
from promo.rules.video import VideoRules

_LINK = regex.compile(
    r"(^|\s|\()((https?://\S+)|(?P<domain>[a-z][a-z0-9]*(?:\.[a-z0-9]+)+)\S*)",
    regex.IGNORECASE | regex.MULTILINE,
)
_MENTION = regex.compile(r"(^|\s|\()@([a-zA-Z0-9.\-]+)\b", regex.MULTILINE | regex.ASCII)
_TAG_STOP = r"\s\u00AD\u2060\u200A\u200B\u200C\u200D\u20e2"
_TAG = regex.compile(
    rf"(^|\s)[#＃]((?!\ufe0f)[^{_TAG_STOP}]*[^\d\p{{P}}{_TAG_STOP}]+[^{_TAG_STOP}]*)?",
    regex.MULTILINE,
)
_TRAILING_PUNCTUATION = regex.compile(r"\p{P}+$")
_LINK_END = ".,;!?"

FacetKind = Literal["link", "tag", "mention"]
_FEATURE_TYPES = {
    "link": "app.bsky.richtext.facet#link",
    "tag": "app.bsky.richtext.facet#tag",
    "mention": "app.bsky.richtext.facet#mention",
}


@dataclass(frozen=True)
class Facet:
    """One rich-text span: UTF-8 byte offsets, kind, and value (uri / tag without # / handle without @)."""

    byte_start: int
    byte_end: int
    kind: FacetKind
    value: str

    def to_record(self, did: str | None = None) -> dict[str, Any]:
        """The ``app.bsky.richtext.facet`` JSON; a mention needs the handle's resolved ``did``."""
        feature: dict[str, Any] = {"$type": _FEATURE_TYPES[self.kind]}
        if self.kind == "link":
            feature["uri"] = self.value
        elif self.kind == "tag":
            feature["tag"] = self.value
        elif did is None:
            raise ValueError(f"a mention facet needs the DID of @{self.value}")
        else:
            feature["did"] = did
        return {"index": {"byteStart": self.byte_start, "byteEnd": self.byte_end}, "features": [feature]}


def facets(text: str) -> list[Facet]:
    """Links, tags and mentions in ``text``, in order of their position."""
    spans = _links(text) + _mentions(text) + _tags(text)
    spans.sort(key=lambda span: span[0])
    return [Facet(_byte_offset(text, start), _byte_offset(text, end), kind, value)
            for start, end, kind, value in spans]


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _is_domain(name: str) -> bool:
    head, dot, tld = name.rpartition(".")
    return bool(head) and bool(dot) and tld.lower() in TLDS


def _links(text: str) -> list[tuple[int, int, FacetKind, str]]:
    found: list[tuple[int, int, FacetKind, str]] = []
    for match in _LINK.finditer(text):
        uri = match.group(2)
        if not uri.lower().startswith("http"):
            if not match.group("domain") or not _is_domain(match.group("domain")):
                continue
            uri = "https://" + uri
        start, end = match.span(2)
        if uri[-1] in _LINK_END:
            uri, end = uri[:-1], end - 1
        if uri.endswith(")") and "(" not in uri:
            uri, end = uri[:-1], end - 1
        found.append((start, end, "link", uri))
    return found


def _mentions(text: str) -> list[tuple[int, int, FacetKind, str]]:
    found: list[tuple[int, int, FacetKind, str]] = []
    for match in _MENTION.finditer(text):
        handle = match.group(2)
        if _is_domain(handle) or handle.endswith(".test"):
            found.append((match.start(2) - 1, match.end(2), "mention", handle))
    return found


def _tags(text: str) -> list[tuple[int, int, FacetKind, str]]:
    found: list[tuple[int, int, FacetKind, str]] = []
    for match in _TAG.finditer(text):
        tag = match.group(2)
        if not tag:
            continue
        tag = _TRAILING_PUNCTUATION.sub("", tag.strip())
        if 0 < len(tag) <= 64:
            start = match.start(2) - 1
            found.append((start, start + 1 + len(tag), "tag", tag))
    return found

# Video limits: docs/platforms/bluesky.md#video-limits (app.bsky.embed.video and the video service).
VIDEO = VideoRules(max_duration_s=180, max_bytes=100_000_000, containers=frozenset({"mp4", "mov", "webm"}),
                   captions=True, caption_formats=frozenset({"vtt"}), max_alt=1000, verified=False)


class BlueskyRules(TextRules):
    platform = "bluesky"
    title = "Bluesky"
    limit = 300
    max_bytes: ClassVar[int] = 3000
    unit = "graphemes"
    threads = True
    media_rules = MediaRules(4, {"image": 1_000_000, "video": 100_000_000}, alt_required=True, video=VIDEO)

    def length(self, text: str) -> int:
        return graphemes(text)

    def extra_problems(self, part: Part, index: int) -> list[Problem]:
        size = utf8_length(part.text)
        if size <= self.max_bytes:
            return []
        message = f"{self.where(index)}{size:,}/{self.max_bytes:,} UTF-8 bytes"
        return [Problem("too_long_bytes", message, index)]
